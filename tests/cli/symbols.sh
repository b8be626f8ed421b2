#!/bin/sh
# The shared library exports the public API and nothing else: every dynamic symbol that
# libzhuyi.so (beside the zhuyi binary) defines is named zy_ but not zy__ (internal
# helpers), and every exported function is declared in a public header include/zhuyi/*.h.
# The headers are read now (preprocessed, so comments do not count), so new headers are
# covered without edits here. Also: the soname is libzhuyi.so.MAJOR (ZY_VERSION_MAJOR) and
# libzhuyi.so -> libzhuyi.so.MAJOR -> libzhuyi.so.MAJOR.MINOR.PATCH.
# Usage: tests/cli/symbols.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
Z=${1:-${ZHUYI:-build/zhuyi}}
B=$(dirname "$Z")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
L="$B/libzhuyi.so"
[ -e "$L" ] || { echo "tests/cli/symbols.sh: $L is not built" >&2; exit 1; }
T=$(mktemp -d /tmp/zy_cli_symbols.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -s "$T/list" ] && sed 's/^/     | /' "$T/list" | head -20; }

# Exported symbols: "TYPE NAME", version suffixes (name@@VER) dropped.
nm -D --defined-only "$L" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $2, $3 }' | sort -u >"$T/syms"
# Functions the public headers declare: identifiers zy_... followed by "(".
for h in "$ROOT"/include/zhuyi/*.h; do
    ${CC:-cc} -E -P -I"$ROOT/include" "$h" || echo "cannot preprocess $h" >&2
done 2>"$T/cpp_err" | tr -s ' \t\n' '   ' | grep -o 'zy_[A-Za-z0-9_]* *(' |
    sed 's/ *($//' | sort -u >"$T/decl"
# Every identifier in the headers (for data symbols, if any are ever exported).
for h in "$ROOT"/include/zhuyi/*.h; do ${CC:-cc} -E -P -I"$ROOT/include" "$h"; done 2>/dev/null |
    grep -o 'zy_[A-Za-z0-9_]*' | sort -u >"$T/idents"

n=$(wc -l <"$T/syms")
nd=$(wc -l <"$T/decl")
if [ -s "$T/cpp_err" ] || [ "$nd" -lt 50 ]; then
    cp "$T/cpp_err" "$T/list"
    bad "read the public headers ($nd function declarations found)"
elif grep -q ' zy_version$' "$T/syms" && [ "$n" -ge 50 ]; then
    ok "libzhuyi.so exports $n symbols; the headers declare $nd functions"
else
    : >"$T/list"
    bad "libzhuyi.so exports $n symbols (zy_version among them?)"
fi

awk '$2 !~ /^zy_/ || $2 ~ /^zy__/ { print $1, $2 }' "$T/syms" >"$T/list"
if [ ! -s "$T/list" ]; then
    ok "every exported symbol is named zy_, none zy__ (internal)"
else
    bad "$(wc -l <"$T/list") exported symbols are not public API names"
fi

: >"$T/list"
while read -r type name; do
    case "$type" in
    T | W | i) grep -qx "$name" "$T/decl" || echo "$type $name: function not declared in include/zhuyi/*.h" ;;
    *) grep -qx "$name" "$T/idents" || echo "$type $name: not named in include/zhuyi/*.h" ;;
    esac
done <"$T/syms" >"$T/list"
if [ ! -s "$T/list" ]; then
    ok "every exported function is declared in a public header"
else
    bad "$(wc -l <"$T/list") exported symbols are not in the public headers (make them static, or name them zy__ if other files need them)"
fi

# Internal helpers exist (in the static library) but are not exported.
: >"$T/list"
if nm "$B/libzhuyi.a" 2>/dev/null | grep -q ' T zy__error$' && ! grep -q ' zy__error$' "$T/syms"; then
    ok "internal helpers (zy__error) are in libzhuyi.a but hidden in libzhuyi.so"
else
    bad "zy__error: in libzhuyi.a and hidden in libzhuyi.so"
fi

major=$(sed -n 's/^#define ZY_VERSION_MAJOR *\([0-9]*\).*/\1/p' "$ROOT/include/zhuyi/core.h")
version=$major.$(sed -n 's/^#define ZY_VERSION_MINOR *\([0-9]*\).*/\1/p' "$ROOT/include/zhuyi/core.h")
version=$version.$(sed -n 's/^#define ZY_VERSION_PATCH *\([0-9]*\).*/\1/p' "$ROOT/include/zhuyi/core.h")
readelf -d "$L" >"$T/list" 2>&1
if grep -q "Library soname: \[libzhuyi.so.$major\]" "$T/list" &&
    [ "$(readlink "$L")" = "libzhuyi.so.$major" ] &&
    [ "$(readlink "$B/libzhuyi.so.$major")" = "libzhuyi.so.$version" ] &&
    [ -f "$B/libzhuyi.so.$version" ] && [ ! -L "$B/libzhuyi.so.$version" ]; then
    ok "soname libzhuyi.so.$major; libzhuyi.so -> libzhuyi.so.$major -> libzhuyi.so.$version"
else
    ls -l "$B"/libzhuyi.so* >>"$T/list" 2>&1
    bad "soname libzhuyi.so.$major and the links to libzhuyi.so.$version"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
