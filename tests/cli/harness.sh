#!/bin/sh
# The test runner's skip reporting, seen from outside: with ZY_SIMD=scalar every SIMD path
# above scalar is skipped, so a test that compares vector paths with scalar and nothing else is
# reported "skip NAME (why)" and counted as skipped (not passed), while a test that also
# ran the scalar path passes and lists what it skipped. The counts end with "N skipped"
# then "N passed, N failed". Uses build/zhuyi-tests (beside the zhuyi binary).
# Usage: tests/cli/harness.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
Z=${1:-${ZHUYI:-build/zhuyi}}
case "$Z" in /*) ;; *) Z="$PWD/$Z" ;; esac
R="$(dirname "$Z")/zhuyi-tests"
[ -x "$R" ] || { echo "tests/cli/harness.sh: $R is not built" >&2; exit 1; }
T=$(mktemp -d /tmp/zy_cli_harness.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -s "$T/out" ] && sed 's/^/     | /' "$T/out" | tail -8; }

# Only the vector paths are compared: with ZY_SIMD=scalar nothing runs.
if ZY_SIMD=scalar "$R" layers_gelu_simd_matches_scalar >"$T/out" 2>&1 &&
    grep -q '^skip layers_gelu_simd_matches_scalar (simd avx2: .*simd avx512: ' "$T/out" &&
    ! grep -q '^ok ' "$T/out" &&
    [ "$(tail -n 2 "$T/out" | head -n 1)" = "1 skipped" ] &&
    [ "$(tail -n 1 "$T/out")" = "0 passed, 0 failed" ]; then
    ok "a test whose every path is skipped says skip (with the reason) and is not counted as passed"
else
    bad "all-skipped test"
fi

# Scalar runs, AVX2 and AVX-512 are skipped: passes and lists both.
if ZY_SIMD=scalar "$R" layers_activation_gradcheck >"$T/out" 2>&1 &&
    grep -q '^ok   layers_activation_gradcheck$' "$T/out" &&
    grep -q '^    skipped: simd avx2: ' "$T/out" &&
    grep -q '^    skipped: simd avx512: ' "$T/out" &&
    [ "$(tail -n 2 "$T/out" | head -n 1)" = "0 skipped" ] &&
    [ "$(tail -n 1 "$T/out")" = "1 passed, 0 failed" ]; then
    ok "a test that ran some paths passes and lists the skipped ones"
else
    bad "partly skipped test"
fi

# The same filter without a cap: whatever this CPU has, the total adds up.
if "$R" layers_activation_gradcheck layers_gelu_simd_matches_scalar >"$T/out" 2>&1; then
    s=$(tail -n 2 "$T/out" | head -n 1)
    s=${s%% *}
    p=$(tail -n 1 "$T/out")
    p=${p%% *}
    if [ $((s + p)) -eq 2 ]; then
        ok "uncapped: $p passed + $s skipped = 2 tests"
    else
        bad "uncapped counts ($s skipped, $p passed)"
    fi
else
    bad "uncapped run"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
