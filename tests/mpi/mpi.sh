#!/bin/sh
# Data-parallel training over Open MPI (`make test-mpi`; tools/zhuyi/dist.c): N ranks of
# batch B against one process of batch N*B (or of N accumulated batches) on the same data,
# seed and schedule: the same losses and, to float rounding, the same weights (the
# gradients are summed in a fixed order: reduced to rank 0, then broadcast, and divided
# by the global count of targets) for GPT pretraining, BERT's masked LM and fine-tuned
# tagging (whose counts differ from rank to rank), the translation trainer's token-count
# batches, a ViT on augmented images and a CTC speech model with SpecAugment; only rank 0 writes --out; a run resumed with
# another number of ranks continues from the checkpoint; a signal to one rank stops all
# at the same step, saved; a rank killed with -9 ends the job. Loopback only,
# --oversubscribe.
#   sh tests/mpi/mpi.sh [build/mpi/zhuyi]
. "$(dirname "$0")/../cli/lib.sh"
cli_start mpi "$@"
command -v mpirun >/dev/null || { echo "tests/mpi/mpi.sh: mpirun is missing (scripts/deps.sh mpi)"; exit 1; }
PY=/usr/bin/python3
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
export OMPI_MCA_btl_vader_single_copy_mechanism=none # containers without ptrace rights

"$Z" info | grep -q "^mpi: *Open MPI" && ok "zhuyi info: $("$Z" info | sed -n 's/^mpi: *//p')" \
    || { bad "$Z has no MPI (build it with make mpi)"; cli_finish; exit 1; }
sh "$ROOT/tests/toy_sentences.sh" 5 600 >data.txt
# train OUT NP BATCH [more flags]: a tiny GPT, 12 steps, no dropout, fp32 (bf16 rounding
# would depend on the batch's shape)
train() {
    out=$1 np=$2 b=$3
    shift 3
    if [ "$np" = 0 ]; then
        "$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer byte --batch "$b" \
            --seq 32 --steps 12 --lr 3e-3 --dropout 0 --precision fp32 --eval-every 0 \
            --val-fraction 0 --threads 1 --out "$out" "$@" >"$out.log" 2>&1
    else
        timeout 300 $MPIRUN -np "$np" "$Z" pretrain gpt --data data.txt --config gpt-nano \
            --tokenizer byte --batch "$b" --seq 32 --steps 12 --lr 3e-3 --dropout 0 \
            --precision fp32 --eval-every 0 --val-fraction 0 --threads 1 --out "$out" "$@" \
            >"$out.log" 2>&1
    fi
}
# same A B [STEPS]: losses equal to 1e-5, weights to 1e-4 over STEPS (12) AdamW steps
same() {
    $PY - "$1" "$2" "${3:-12}" <<'PYEOF'
import json, struct, sys
def load(p):
    b = open(p + '/model.safetensors', 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n]); d = b[8 + n:]
    return {k: struct.unpack('<%df' % ((v['data_offsets'][1] - v['data_offsets'][0]) // 4),
                             d[v['data_offsets'][0]:v['data_offsets'][1]])
            for k, v in h.items() if k != '__metadata__'}
def losses(p):
    return [json.loads(l)['loss'] for l in open(p + '/metrics.jsonl') if '"loss"' in l]
a, b = load(sys.argv[1]), load(sys.argv[2])
w = max(abs(x - y) for k in a for x, y in zip(a[k], b[k]))
la, lb = losses(sys.argv[1]), losses(sys.argv[2])
l = max(abs(x - y) for x, y in zip(la, lb))
print('losses differ by at most %.2g over %d steps, weights by %.2g' % (l, len(la), w))
sys.exit(0 if len(la) == len(lb) == int(sys.argv[3]) and l <= 1e-5 and w <= 1e-4 else 1)
PYEOF
}

train one 0 12 && ok "one process, batch 12" || bad "one process: $(tail -n 3 one.log)"
for np in 1 2 3; do
    b=$((12 / np))
    if train "r$np" $np $b; then
        d=$(same one "r$np") && ok "$np rank(s) x batch $b = one process x batch 12: $d" \
            || bad "$np ranks x batch $b: $d"
    else
        bad "mpirun -np $np: $(tail -n 5 r$np.log)"
    fi
done
# --allreduce bf16: half the bytes on the wire, losses within 1e-3 of the fp32 exchange
if train r2b 2 6 --allreduce bf16; then
    d=$($PY - <<'PYEOF'
import json
def losses(p):
    return [json.loads(l)['loss'] for l in open(p + '/metrics.jsonl') if '"loss"' in l]
a, b = losses('r2'), losses('r2b')
l = max(abs(x - y) for x, y in zip(a, b))
print('losses differ from the fp32 exchange by at most %.2g over %d steps' % (l, len(b)))
raise SystemExit(0 if len(a) == len(b) == 12 and l <= 1e-3 else 1)
PYEOF
) && grep -q "all-reduce (0.2 MB)" r2b.log && grep -q "all-reduce (0.4 MB)" r2.log &&
        ok "--allreduce bf16 (0.2 MB a step, against 0.4): $d" || bad "--allreduce bf16: $d; $(grep all-reduce r2.log r2b.log)"
else
    bad "--allreduce bf16: $(tail -n 3 r2b.log)"
fi
# only rank 0 writes: the output is one run's
[ -f r3/model.safetensors ] && [ "$(grep -c '"loss"' r3/metrics.jsonl)" = 12 ] &&
    ok "only rank 0 wrote --out" || bad "rank output: $(grep -c '"loss"' r3/metrics.jsonl) loss lines"
grep -q "saved r2" r2.log && [ "$(grep -c 'saved' r2.log)" = 1 ] && ok "one final line, from rank 0" \
    || bad "final lines: $(grep saved r2.log)"

# resume with another number of ranks: 2 ranks stop at step 6, 1 and 3 ranks finish
if train half 2 6 --stop-at 6 && [ -d half/checkpoint-6 ]; then
    cp -r half half3
    if timeout 300 $MPIRUN -np 3 "$Z" pretrain gpt --out half3 --resume --threads 1 >half3.log 2>&1 &&
        grep -q "step 12/12" half3.log; then
        ok "a 2-rank run stopped at step 6 resumed on 3 ranks to step 12"
    else
        bad "resume on 3 ranks: $(tail -n 3 half3.log)"
    fi
    if "$Z" pretrain gpt --out half --resume --threads 1 >half1.log 2>&1 && grep -q "step 12/12" half1.log; then
        ok "the same run resumed on 1 process to step 12"
    else
        bad "resume on 1 process: $(tail -n 3 half1.log)"
    fi
else
    bad "2 ranks with --stop-at 6: $(tail -n 3 half.log)"
fi

# Counts that differ from rank to rank: every micro-batch is weighted by its count of
# targets (masked tokens, tagged words, target tokens), so the ranks' sum over the global
# count is one process's mean. Dropout off: masks are drawn per micro-batch.
$PY - <<'EOF'
import random
random.seed(7)
names = {"John": "PER", "Mary": "PER", "Paris": "LOC", "Rome": "LOC"}
verbs = ["went", "to", "saw", "met", "in", "the", "city", "and"]
def tagged():
    return [(n, "B-" + names[n]) if random.random() < 0.3 else (random.choice(verbs), "O")
            for n in [random.choice(list(names)) for _ in range(random.randint(2, 9))]]
with open("tag.txt", "w") as f:
    f.writelines(" ".join("%s/%s" % p for p in tagged()) + "\n" for _ in range(96))
with open("corpus.txt", "w") as f:
    f.writelines(" ".join(w for w, _ in tagged()) + " .\n" for _ in range(200))
en = "the cat dog bird sees eats a red big small fish mat".split()
with open("pairs.tsv", "w") as f:
    for _ in range(300):
        s = [random.choice(en) for _ in range(random.randint(2, 9))]
        f.write(" ".join(s) + "\t" + " ".join(w[::-1] + "o" for w in s) + "\n")
EOF
cat >bert.json <<'EOF'
{"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 32,
 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
 "max_position_embeddings": 64, "vocab_size": 2}
EOF
cat >marian.json <<'EOF'
{"model_type": "marian", "d_model": 32, "encoder_layers": 1, "decoder_layers": 1,
 "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 64,
 "decoder_ffn_dim": 64, "max_position_embeddings": 32, "vocab_size": 0,
 "pad_token_id": 0, "eos_token_id": 0, "activation_function": "relu",
 "scale_embedding": true}
EOF
# both NAME "ONE-PROCESS FLAGS" NP "RANK FLAGS" WHAT COMMAND...: one process against NP ranks
both() {
    name=$1 one=$2 np=$3 ranks=$4 what=$5
    shift 5
    # shellcheck disable=SC2086
    if "$Z" "$@" $one --out "${name}1" >"${name}1.log" 2>&1 &&
        timeout 300 $MPIRUN -np "$np" "$Z" "$@" $ranks --out "${name}$np" >"${name}$np.log" 2>&1; then
        d=$(same "${name}1" "${name}$np" 8) && ok "$what: $d" || bad "$what: $d"
    else
        bad "$what: $(tail -n 3 "${name}1.log" "${name}$np.log")"
    fi
}
# fp32: with bf16 matmuls (the default where the CPU has AMX or AVX512-BF16) the rounding
# would depend on the batch's shape, as for train() above.
COMMON="--steps 8 --dropout 0 --eval-every 0 --val-fraction 0 --threads 1 --precision fp32"
# shellcheck disable=SC2086
both mlm "--batch 8" 2 "--batch 4" "BERT masked LM: 2 ranks x batch 4 = one process x batch 8" \
    pretrain bert --data corpus.txt --config bert.json --tokenizer wordpiece:200 --no-nsp \
    --seq 32 $COMMON
# shellcheck disable=SC2086
[ -f mlm1/model.safetensors ] &&
    both tag "--batch 8" 2 "--batch 4" "finetune tag: 2 ranks x batch 4 = one process x batch 8" \
        finetune tag --init mlm1 --train tag.txt --seq 32 --lr 2e-3 $COMMON
for np in 2 3; do
    # shellcheck disable=SC2086
    both "s2s$np-" "--grad-accum $np" $np "" \
        "pretrain seq2seq (batches of 256 tokens): $np ranks = one process, --grad-accum $np" \
        pretrain seq2seq --pairs pairs.tsv --config marian.json --tokenizer bpe:300 \
        --max-tokens 256 $COMMON
done

# images: a tiny ViT on two patterns, with random crops and flips (drawn per image)
$PY - <<'EOF'
import os, random
random.seed(5)
for kind in ["stripes", "bars"]:
    os.makedirs("img/" + kind, exist_ok=True)
    for i in range(32):
        px = [max(0, min(255, (200 if ((y % 2 == 0) if kind == "stripes" else (x % 2 == 0))
                               else 40) + random.randint(-30, 30)))
              for y in range(8) for x in range(8)]
        with open("img/%s/%03d.pgm" % (kind, i), "wb") as f:
            f.write(b"P5\n8 8\n255\n" + bytes(px))
EOF
cat >vit.json <<'EOF'
{"model_type": "vit", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 32, "image_size": 8, "patch_size": 4, "num_channels": 1}
EOF
# shellcheck disable=SC2086
both vit "--batch 16" 2 "--batch 8" "finetune image-classify (crops, flips): 2 ranks x batch 8 = one process x batch 16" \
    finetune image-classify --train img --config vit.json --lr 3e-3 --crop-padding 1 --flip $COMMON

# speech: a tiny CTC model on tones (tests/cli/tones.py), with SpecAugment masks (drawn
# per utterance)
$PY "$ROOT/tests/cli/tones.py" 64 4
cat >sp.json <<'EOF'
{"model_type": "speech_ctc", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 32}
EOF
# shellcheck disable=SC2086
both asr "--batch 16" 2 "--batch 8" "finetune speech (SpecAugment): 2 ranks x batch 8 = one process x batch 16" \
    finetune speech --train train.jsonl --config sp.json --lr 3e-3 $COMMON

# a signal to one rank (SIGTERM, as a batch system sends): every rank stops at the same
# step, rank 0 saves it, the job exits 130, --resume goes on from it
timeout 300 $MPIRUN -np 2 "$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer byte \
    --batch 4 --seq 32 --steps 1000000 --save-every 100000 --eval-every 0 --val-fraction 0 \
    --threads 1 --out signalled >signalled.log 2>&1 &
job=$!
k=0
while [ $k -lt 300 ] && ! grep -q '"step":50,' signalled/metrics.jsonl 2>/dev/null; do sleep 0.1; k=$((k + 1)); done
victim=""
for p in $(pgrep -f "out signalled"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
done
[ -n "$victim" ] && kill -TERM "$victim"
wait $job
rc=$?
at=$(sed -n 's/^zhuyi: interrupted at step \([0-9]*\);.*/\1/p' signalled.log)
if [ -n "$victim" ] && [ $rc = 130 ] && [ -n "$at" ] && [ "$(readlink signalled/checkpoint)" = "checkpoint-$at" ] &&
    timeout 300 $MPIRUN -np 2 "$Z" pretrain gpt --out signalled --resume --steps $((at + 10)) \
        --threads 1 >signalled2.log 2>&1 && grep -q "step $((at + 10))/$((at + 10))" signalled2.log; then
    ok "SIGTERM to rank 1: all ranks stopped at step $at (exit 130), saved; --resume went on"
else
    bad "SIGTERM to rank 1: victim '$victim', exit $rc, step '$at', checkpoint $(readlink signalled/checkpoint): $(tail -n 3 signalled.log)"
fi

# a rank killed mid-run (kill -9): the job ends non-zero, the last checkpoint is whole and
# --resume goes on from it
timeout 300 $MPIRUN -np 2 "$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer byte \
    --batch 4 --seq 32 --steps 1000000 --save-every 100 --eval-every 0 --val-fraction 0 \
    --threads 1 --out killed >killed.log 2>&1 &
job=$!
k=0
while [ $k -lt 300 ] && [ ! -d killed/checkpoint-200 ]; do sleep 0.1; k=$((k + 1)); done
victim=""
for p in $(pgrep -f "pretrain gpt --data data.txt --config gpt-nano --tokenizer byte --batch 4 --seq 32 --steps 1000000"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
done
[ -n "$victim" ] && kill -9 "$victim"
wait $job
rc=$?
last=$(readlink killed/checkpoint)
if [ -n "$victim" ] && [ $rc != 0 ] && grep -q "exited on signal 9" killed.log && [ -n "$last" ]; then
    ok "rank 1 killed (kill -9): the job ended (exit $rc, mpirun names the rank); the last checkpoint is $last"
else
    bad "kill a rank: victim '$victim', exit $rc, checkpoint '$last': $(tail -n 4 killed.log)"
fi
step=${last#checkpoint-}
if [ -n "$step" ] && timeout 300 $MPIRUN -np 2 "$Z" pretrain gpt --out killed --resume \
    --steps $((step + 20)) --threads 1 >resumed.log 2>&1 && grep -q "step $((step + 20))/$((step + 20))" resumed.log; then
    ok "--resume from $last on 2 ranks: to step $((step + 20))"
else
    bad "--resume after the kill: $(tail -n 3 resumed.log)"
fi

cli_finish
