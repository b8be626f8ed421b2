#!/bin/sh
# Data-parallel training over Open MPI (`make test-mpi`; tools/zhuyi/dist.c): N ranks of
# batch B against one process of batch N*B on the same data, seed and schedule: the same
# losses and, to float rounding, the same weights (the gradients are summed in a fixed
# order: reduced to rank 0, then broadcast); only rank 0 writes --out; a run resumed with
# another number of ranks continues from the checkpoint. Loopback only, --oversubscribe.
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
# same A B: losses equal to 1e-5, weights to 1e-4 (12 AdamW steps at lr 3e-3)
same() {
    $PY - "$1" "$2" <<'PYEOF'
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
sys.exit(0 if len(la) == len(lb) == 12 and l <= 1e-5 and w <= 1e-4 else 1)
PYEOF
}

scratch_before=$(ls /tmp | grep -c '^zhuyi-rank')
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
# only rank 0 writes: no scratch directory is left, the output is one run's
[ "$(ls /tmp | grep -c '^zhuyi-rank')" = "$scratch_before" ] && [ -f r3/model.safetensors ] &&
    [ "$(grep -c '"loss"' r3/metrics.jsonl)" = 12 ] && ok "only rank 0 wrote --out; the others' scratch removed" \
    || bad "rank output: $(ls /tmp | grep zhuyi-rank)"
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
# (the killed rank could not remove its scratch directory)
for d in /tmp/zhuyi-rank1.*; do [ -d "$d" ] && [ -f "$d/config.json" -o -d "$d/checkpoint" ] && rm -rf "$d"; done
step=${last#checkpoint-}
if [ -n "$step" ] && timeout 300 $MPIRUN -np 2 "$Z" pretrain gpt --out killed --resume \
    --steps $((step + 20)) --threads 1 >resumed.log 2>&1 && grep -q "step $((step + 20))/$((step + 20))" resumed.log; then
    ok "--resume from $last on 2 ranks: to step $((step + 20))"
else
    bad "--resume after the kill: $(tail -n 3 resumed.log)"
fi

cli_finish
