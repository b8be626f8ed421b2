#!/bin/sh
# `zhuyi serve` under load and abuse, over loopback: a tiny byte-level GPT (built here, as
# tests/cli/serve.sh builds it) served with an API key; tests/serve/load.py sends it 10,000
# mixed requests from 32 keep-alive clients (valid and malformed, every answer checked, the
# server's RSS flat after a warm-up); tests/serve/abuse.py trickles requests (slow-loris)
# and holds ~1000 idle connections, once below the server's --connections and once beyond
# the default 256 with a short --timeout, and slow-loris connections filling a small
# --connections, cut at the request deadline (--timeout). Each server is then stopped with
# SIGTERM and must exit 0 with nothing from a sanitizer on stderr (run with
# build/san/zhuyi, the AddressSanitizer build, LeakSanitizer reports leaks at exit).
#   sh tests/serve/load.sh [ZHUYI]       (default build/zhuyi; `make load-serve`)
# Environment: LOAD_REQUESTS (10000), LOAD_CLIENTS (32), LOAD_IDLE (1000), LOAD_RSS_MIB
# (the bound on RSS growth after load.py's warm-up, 10 MiB, and after abuse.py, 16 MiB).
# Under AddressSanitizer the RSS is reported, not checked: its quarantine holds up to 256
# MiB of freed memory, so growth says nothing there; LeakSanitizer's report at exit does.
. "$(dirname "$0")/../cli/lib.sh"
cli_start load "$@"
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null; done; rm -rf "$T"' EXIT
PY=/usr/bin/python3
HERE=$ROOT/tests/serve
REQUESTS=${LOAD_REQUESTS:-10000}
CLIENTS=${LOAD_CLIENTS:-32}
IDLE=${LOAD_IDLE:-1000}
# sanitizers: leaks reported at exit, the first error fatal
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
if ldd "$Z" 2>/dev/null | grep -q libasan || nm "$Z" 2>/dev/null | grep -q __asan_init; then
    RSS_MIB=0 RSS_ABUSE=0 LIMIT=2400
else
    RSS_MIB=${LOAD_RSS_MIB:-10} RSS_ABUSE=16 LIMIT=900
fi
[ "$(ulimit -n)" -ge $((IDLE + 200)) ] 2>/dev/null || ulimit -n $((IDLE + 200)) 2>/dev/null ||
    { echo "tests/serve/load.sh: needs $((IDLE + 200)) open files (ulimit -n is $(ulimit -n))"; exit 1; }

i=0
while [ $i -lt 40 ]; do
    echo "The cat sat on the mat, café au lait — naïve 中文字符 line $i."
    echo "In the beginning was the word; and the word was good. 注意 attention!"
    i=$((i + 1))
done >data.txt
"$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer byte --batch 4 --seq 32 \
    --steps 10 --warmup 2 --lr 3e-3 --eval-every 0 --eval-batches 0 --out tiny >/dev/null 2>err \
    && ok "a tiny GPT to serve (64 positions, byte tokens)" || { bad "pretrain a tiny GPT"; cli_finish; exit 1; }
rm -f err

# stop NAME: SIGTERM, at most 60 s to exit; it must exit 0 with no sanitizer report
stop() {
    kill -TERM $PID 2>/dev/null
    k=0
    while [ $k -lt 600 ] && kill -0 $PID 2>/dev/null && ! grep -q 'serve: stopped' "$1.err"; do
        sleep 0.1
        k=$((k + 1))
    done
    k=0
    while [ $k -lt 600 ] && [ -d /proc/$PID ] && ! grep -q '^State:.*zombie' /proc/$PID/status 2>/dev/null; do
        sleep 0.1
        k=$((k + 1))
    done
    if [ -d /proc/$PID ] && ! grep -q '^State:.*zombie' /proc/$PID/status 2>/dev/null; then
        kill -9 $PID
        wait $PID 2>/dev/null
        bad "$1: SIGTERM: still running after 120 s (killed)"
        return
    fi
    wait $PID
    rc=$?
    if [ $rc = 0 ] && ! grep -q 'Sanitizer\|runtime error' "$1.err"; then
        ok "$1: SIGTERM: exit 0, nothing from a sanitizer"
    else
        cp "$1.err" err
        bad "$1: SIGTERM: exit $rc$(grep -m1 'Sanitizer\|runtime error' "$1.err" | sed 's/^/: /')"
        sed -n '/Sanitizer\|runtime error/,+30p' "$1.err" | head -40
    fi
}

# ---- load, then abuse below the connection limit ------------------------------------------
if serve_start s1 --model tiny=tiny --threads 1 --api-key load-key --max-body 65536 \
    --connections $((IDLE + 100)) --timeout 30; then
    ok "s1: serve listens (--connections $((IDLE + 100)), --max-body 65536, an API key)"
    $PY "$HERE/load.py" --url "$U" --pid $PID --model tiny --context 64 --max-body 65536 \
        --api-key load-key --clients "$CLIENTS" --requests "$REQUESTS" --time-limit $LIMIT \
        --rss-mib "$RSS_MIB" >load.txt 2>&1
    rc=$?
    cat load.txt
    [ $rc = 0 ] && ok "load: $(sed -n 's/^load: \([0-9]* clients.*requests\/s\).*/\1/p' load.txt), no unexpected result" \
        || bad "load.py (exit $rc): $(grep -m1 '^unexpected\|FAIL' load.txt)"
    $PY "$HERE/abuse.py" --url "$U" --pid $PID --api-key load-key --limit $((IDLE + 100)) \
        --idle "$IDLE" --timeout 30 --slow-seconds 10 --hold 5 --rss-mib $RSS_ABUSE >abuse.txt 2>&1
    rc=$?
    cat abuse.txt
    [ $rc = 0 ] && ok "abuse below the connection limit" || bad "abuse.py below the limit (exit $rc)"
    stop s1
else
    bad "s1: serve starts"
    sed 's/^/     | /' s1.err | tail -5
fi

# ---- abuse beyond the default connection limit (256), idle connections timed out ---------
if serve_start s2 --model tiny=tiny --threads 1 --timeout 3; then
    ok "s2: serve listens (--connections 256 by default, --timeout 3)"
    $PY "$HERE/abuse.py" --url "$U" --pid $PID --limit 256 --idle "$IDLE" --timeout 3 \
        --slow-seconds 6 --hold 8 --rss-mib $RSS_ABUSE >abuse2.txt 2>&1
    rc=$?
    cat abuse2.txt
    [ $rc = 0 ] && ok "abuse beyond the connection limit" || bad "abuse.py beyond the limit (exit $rc)"
    stop s2
else
    bad "s2: serve starts"
    sed 's/^/     | /' s2.err | tail -5
fi

# ---- slow-loris filling every connection: cut at the request deadline (--timeout) ----------
if serve_start s3 --model tiny=tiny --threads 1 --connections 16 --timeout 5; then
    ok "s3: serve listens (--connections 16, --timeout 5)"
    $PY "$HERE/abuse.py" --url "$U" --pid $PID --limit 16 --slowloris 16 --idle 0 \
        --slow-seconds 12 --trickle 1 --rss-mib $RSS_ABUSE >abuse3.txt 2>&1
    rc=$?
    cat abuse3.txt
    [ $rc = 0 ] && grep -q "(16 closed by the server)" abuse3.txt &&
        ok "16 slow-loris connections at the limit: closed at the deadline, /health answered" ||
        bad "slow-loris at the connection limit (exit $rc)"
    stop s3
else
    bad "s3: serve starts"
    sed 's/^/     | /' s3.err | tail -5
fi

cli_finish
