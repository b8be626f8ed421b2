#!/bin/sh
# Fault tests of `zhuyi pretrain gpt` checkpoints: kill -9 at many points of a run (inside
# and between saves), then --resume until done: the result is byte-identical to an
# uninterrupted run; a disk that fills up during a save (a small tmpfs, when this user may
# mount one): a clear error, the previous checkpoint intact, and --resume on a larger disk
# finishes identical too; --resume from another working directory with relative paths.
# The kill points vary from run to run; what must hold does not depend on them.
# Usage: tests/cli/faults.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start faults "$@"
cleanup() {
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export ZY_THREADS=${ZY_THREADS:-2}
skip=0

i=0
while [ $i -lt 80 ]; do
    echo "And the Lord spake unto Moses, saying, Speak unto the children of Israel $i."
    echo "In the beginning God created the heaven and the earth; and it was good."
    i=$((i + 1))
done >data.txt

# Saves of a 0.8M-parameter model at every step: most of the run's time is spent saving,
# so kills land inside saves as well as between them.
A="--data data.txt --config gpt-micro --tokenizer byte --batch 2 --seq 16 --steps 16
   --save-every 1 --eval-every 4 --eval-batches 2 --dropout 0.1"
same() { # dir: model and training state identical to the uninterrupted run's
    cmp -s ref/model.safetensors "$1/model.safetensors" &&
        cmp -s ref/checkpoint/training_state.safetensors "$1/checkpoint/training_state.safetensors"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

t0=$(now_ms)
if "$Z" pretrain gpt $A --out ref >/dev/null 2>err; then
    ok "uninterrupted run"
else
    bad "uninterrupted run"
fi
ms=$(($(now_ms) - t0))

# ---- kill -9 --------------------------------------------------------------------------------
# Each round starts the run (--resume once a checkpoint exists) and kills it after a
# random share of a sixth of the uninterrupted run's time, so most rounds are killed
# and together they get through the run; the last resume finishes it.
kills=0
saves_hit=0
round=0
steps=""
awk -v seed="$(date +%N)" 'BEGIN { srand(seed); for (i = 0; i < 12; i++) print rand() }' >delays
for frac in $(cat delays); do
    round=$((round + 1))
    if [ -L run/checkpoint ]; then
        "$Z" pretrain gpt --out run --resume >/dev/null 2>err &
    else
        rm -rf run
        "$Z" pretrain gpt $A --out run >/dev/null 2>err &
    fi
    pid=$!
    sleep "$(awk -v f="$frac" -v ms="$ms" 'BEGIN { printf "%.3f", f * ms / 6000 }')"
    if kill -9 $pid 2>/dev/null; then
        kills=$((kills + 1))
        # A kill inside a save leaves its temporary files or a checkpoint the link does
        # not name yet.
        n=$(ls run 2>/dev/null | grep -c -e '\.tmp' -e '^checkpoint-')
        [ "$n" -gt 1 ] && saves_hit=$((saves_hit + 1))
    fi
    steps="$steps $(readlink run/checkpoint 2>/dev/null | sed 's/checkpoint-//')"
    wait $pid 2>/dev/null
done
if [ -L run/checkpoint ]; then
    "$Z" pretrain gpt --out run --resume >/dev/null 2>err
else
    rm -rf run
    "$Z" pretrain gpt $A --out run >/dev/null 2>err
fi
rc=$?
if [ $rc = 0 ] && same run; then
    ok "$kills kills -9 ($saves_hit inside a save), then --resume: identical to the uninterrupted run"
    echo "     (saved steps after each kill:$steps; the whole run takes $ms ms)"
else
    bad "kill -9 then --resume (exit $rc, $kills kills)"
fi
if ! ls run | grep -q -e '\.tmp' && [ "$(ls -d run/checkpoint-* | wc -l)" = 1 ]; then
    ok "no temporary file and one checkpoint left after the finished run"
else
    bad "leftovers: $(ls run | tr '\n' ' ')"
fi

# ---- a full disk --------------------------------------------------------------------------
# 3.4 MB of weights + 6.8 MB of moments per checkpoint, and DIR's links to it: a 14 MB
# disk holds one checkpoint but not a second beside it.
MNT="$T/disk"
mkdir -p "$MNT"
if mount -t tmpfs -o size=14m tmpfs "$MNT" 2>/dev/null; then
    B="--data data.txt --config gpt-micro --tokenizer byte --batch 2 --seq 16 --steps 6
       --save-every 2 --eval-every 0 --val-fraction 0"
    "$Z" pretrain gpt $B --out ref_disk >/dev/null 2>err
    if "$Z" pretrain gpt $B --out "$MNT/run" >out 2>err; then
        bad "a full disk: exit 0"
    elif ! grep -q "saving step 4" err || ! grep -qi "no space" err; then
        bad "a full disk: the message does not say which save and why"
    elif [ "$(readlink "$MNT/run/checkpoint")" != checkpoint-2 ]; then
        bad "a full disk: the checkpoint link is $(readlink "$MNT/run/checkpoint")"
    else
        ok "a full disk at the second save: $(grep saving err | cut -c1-100)"
    fi
    mount -o remount,size=64m "$MNT" &&
        "$Z" pretrain gpt --out "$MNT/run" --resume >/dev/null 2>err &&
        cmp -s ref_disk/model.safetensors "$MNT/run/model.safetensors" &&
        ok "after the disk grew: --resume from step 2 finishes identical" ||
        bad "--resume after a full disk"
else
    skip=$((skip + 1))
    echo "skip full-disk (cannot mount a tmpfs here: not root, or no permission)"
fi

# ---- --resume from elsewhere ----------------------------------------------------------------
mkdir -p a b
cp data.txt a/
(cd a && "$Z" pretrain gpt --data data.txt --config gpt-nano --batch 2 --seq 16 --steps 4 \
    --stop-at 2 --out ../rel >/dev/null 2>"$T/err") &&
    (cd b && "$Z" pretrain gpt --out ../rel --resume >/dev/null 2>"$T/err") &&
    ok "--resume from another directory finds the relative --data (stored absolute)" ||
    bad "--resume from another directory"

echo "$skip skipped"
cli_finish
