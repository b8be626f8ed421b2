# What the CLI tests that run zhuyi in a scratch directory share; sourced, not a test
# (scripts/test.sh runs every other tests/cli/*.sh). At the top of a test:
#   . "$(dirname "$0")/lib.sh"
#   cli_start NAME "$@"
# sets Z to the zhuyi binary as an absolute path ($1, else $ZHUYI, else build/zhuyi; exits
# 1 if it is not built), ROOT to the repository, T to a new directory
# /tmp/zy_cli_NAME.XXXXXX removed at exit (a test with more to clean sets its own EXIT
# trap, removing "$T" too), and makes T the working directory. Then:
#   ok WHAT / bad WHAT        count a check and print it (bad also shows the end of ./err)
#   check_help CMD FLAG...    `zhuyi CMD --help` succeeds and names every FLAG
#   expect_fail WHAT PATTERN CMD...
#                             CMD (e.g. "$Z" finetune ...) must fail: a non-zero exit,
#                             nothing on stdout (./out), a line "zhuyi: ...PATTERN..."
#                             in ./err (PATTERN: a grep regex, "" for any message), no
#                             ./out_bad (removed first: a refused run's --out goes there)
#   serve_start NAME ARGS...  zhuyi serve on a free port (U, PID; below)
#   cli_finish                "N passed, N failed" as the last line; its status is the
#                             test's (non-zero if any failed)

cli_start() {
    Z=${2:-${ZHUYI:-build/zhuyi}}
    case "$Z" in /*) ;; *) Z="$PWD/$Z" ;; esac
    [ -x "$Z" ] || { echo "tests/cli/$1.sh: $Z is not built" >&2; exit 1; }
    ROOT=$(cd "$(dirname "$0")/../.." && pwd)
    T=$(mktemp -d "/tmp/zy_cli_$1.XXXXXX") || exit 1
    trap 'rm -rf "$T"' EXIT
    cd "$T" || exit 1
    pass=0
    fail=0
}

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -s err ] && sed 's/^/     | /' err | tail -5; }

check_help() {
    cmd=$1
    shift
    if "$Z" "$cmd" --help >help 2>err; then
        missing=""
        for f in "$@"; do grep -q -- "$f" help || missing="$missing $f"; done
        [ -z "$missing" ] && ok "$cmd --help lists every flag" || bad "$cmd --help misses$missing"
    else
        bad "$cmd --help"
    fi
}

expect_fail() {
    ef_what=$1 ef_pat=$2
    shift 2
    rm -rf out_bad
    if "$@" >out 2>err; then
        bad "$ef_what: exit 0"
    elif [ -s out ]; then
        bad "$ef_what: printed on stdout"
    elif ! grep -q "^zhuyi: .*$ef_pat" err; then
        bad "$ef_what: no 'zhuyi: ' message with '$ef_pat'"
    elif [ -e out_bad ]; then
        bad "$ef_what: out_bad was created"
    else
        ok "$ef_what: $(grep -v '^zhuyi: note:' err | head -n 1 | cut -c1-110)"
    fi
}

cli_finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# serve_start NAME ARGS...: `$Z serve --port 0 ARGS` in the background (stderr in NAME.err);
# sets U (its URL) and PID and adds PID to PIDS (the caller's EXIT trap kills them).
# 0 once it listens (at most 60 s), 1 if it exits or never does.
serve_start() {
    name=$1
    shift
    "$Z" serve --port 0 "$@" 2>"$name.err" &
    PID=$!
    PIDS="$PIDS $PID"
    k=0
    while [ $k -lt 600 ]; do
        port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$name.err")
        [ -n "$port" ] && { U=http://127.0.0.1:$port; return 0; }
        kill -0 $PID 2>/dev/null || return 1
        sleep 0.1
        k=$((k + 1))
    done
    return 1
}
