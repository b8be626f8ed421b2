#!/bin/sh
# Run every benchmark binary (build/bench/*) and the PyTorch side of each comparison, then
# the GPT-2 step and generation beside a baseline build, quiet and on a busy machine, then
# LoRA against full fine-tuning of GPT-2 124M through the CLI (bench/lora_step.sh).
# Figures go to stdout; copy them with the date into docs/BENCHMARKS.md.
set -e
B=${BUILD:-build}
echo "zhuyi benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
# OpenBLAS settings inherited from the environment would hold every peer to them: some
# machines export OPENBLAS_CORETYPE=Haswell (AVX2 kernels on an AVX-512 CPU) or a small
# OPENBLAS_L2_SIZE. The peers pick their own best (bench_gemm, bench/torch_peer.py);
# ZY_PEER_CORES names the cores PyTorch is tried with.
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
    if val=$(printenv "$v"); then
        echo "bench: $v=$val from the environment is unset (ZY_PEER_CORES chooses PyTorch's cores)"
        unset "$v"
    fi
done
for b in "$B"/bench/*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b"
done
# PyTorch side of the side-by-side comparisons (same machine, same run). Each script runs
# itself under every OPENBLAS_CORETYPE and thread setting worth trying and reports the best
# (bench/torch_peer.py).
for p in bench/bench_*.py; do
    [ -f "$p" ] || continue
    echo "== $(basename "$p") (PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
    /usr/bin/python3 "$p"
done
# Issue 14's table: zhuyi's bf16 GEMM against PyTorch's bf16 matmul, the two alternated in
# the same run, with the ratio per shape (bench/gemm_bf16_vs_torch.py).
echo "== gemm_bf16_vs_torch.py: bf16 GEMM, zhuyi and PyTorch alternated"
/usr/bin/python3 bench/gemm_bf16_vs_torch.py 1024 2
# Before and after, quiet and busy: the GPT-2 step and generation of this tree against the
# baseline commit, alternated, then while a competing single-threaded process (`yes`)
# holds a core, at 1 and 2 threads (scripts/bench_baseline.sh).
echo "== bench_gpt: this tree and the baseline, quiet and busy"
scripts/bench_baseline.sh "$B"
# Fine-tuning GPT-2 124M through the CLI, LoRA (r 8 on c_attn) against full, at B=4, T=256:
# step time, tokens/s and peak RSS (bench/lora_step.sh; status 3 while `zhuyi finetune lm`
# with --lora-r is not built: it prints the commands it would run).
echo "== lora_step: zhuyi finetune lm, LoRA against full fine-tuning"
ZY="$B/zhuyi" bench/lora_step.sh || [ $? -eq 3 ]
