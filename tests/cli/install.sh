#!/bin/sh
# `make install` / `make uninstall` and using the installed library: installs the build
# the zhuyi binary belongs to into a temporary PREFIX, checks the layout and the soname,
# builds every examples/*.c with `cc ... $(pkg-config --cflags --libs zhuyi)` and runs it
# against the installed shared library (LD_LIBRARY_PATH) on a tiny model trained here by
# the installed zhuyi; the generate example must print exactly what `zhuyi generate` does
# with the same settings, linked dynamically and statically (pkg-config --static). Then a
# staged install (DESTDIR + PREFIX) and uninstall of both. Needs no network, no root.
# Usage: tests/cli/install.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
Z=${1:-${ZHUYI:-build/zhuyi}}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "$(dirname "$Z")" 2>/dev/null && pwd) || { echo "tests/cli/install.sh: no $Z" >&2; exit 1; }
case "$B" in "$ROOT"/*) B=${B#"$ROOT"/} ;; esac # as the Makefile names it (build, build/san)
[ -e "$ROOT/$B/libzhuyi.so" ] || [ -e "$B/libzhuyi.so" ] ||
    { echo "tests/cli/install.sh: $B/libzhuyi.so is not built" >&2; exit 1; }
T=$(mktemp -d /tmp/zy_cli_install.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
export ZY_THREADS=${ZY_THREADS:-2}
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -s "$T/err" ] && sed 's/^/     | /' "$T/err" | tail -8; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
# Only files already built are copied: never rebuild here (a sanitizer build would be
# relinked without its flags).
mk() { make -s --no-print-directory -C "$ROOT" BUILD="$B" "$@" >"$T/err" 2>&1; }
core="$ROOT/include/zhuyi/core.h"
major=$(sed -n 's/^#define ZY_VERSION_MAJOR *\([0-9]*\).*/\1/p' "$core")
version=$(sed -n 's/^#define ZY_VERSION_STRING *"\(.*\)".*/\1/p' "$core")
command -v pkg-config >/dev/null || { echo "FAIL pkg-config is not installed (scripts/deps.sh test)"; fail=1; finish; }

# ---- make install PREFIX=... ----------------------------------------------------------------
P="$T/prefix"
if mk PREFIX="$P" install; then ok "make install PREFIX=$P"; else bad "make install"; finish; fi
missing=""
for f in bin/zhuyi lib/libzhuyi.a "lib/libzhuyi.so.$version" lib/pkgconfig/zhuyi.pc; do
    [ -f "$P/$f" ] || missing="$missing $f"
done
for h in "$ROOT"/include/zhuyi/*.h; do
    cmp -s "$h" "$P/include/zhuyi/${h##*/}" || missing="$missing include/zhuyi/${h##*/}"
done
[ "$(readlink "$P/lib/libzhuyi.so.$major")" = "libzhuyi.so.$version" ] || missing="$missing lib/libzhuyi.so.$major"
[ "$(readlink "$P/lib/libzhuyi.so")" = "libzhuyi.so.$major" ] || missing="$missing lib/libzhuyi.so"
[ -z "$missing" ] && ok "layout: bin/zhuyi, include/zhuyi/*.h, lib/libzhuyi.a, libzhuyi.so -> .so.$major -> .so.$version, lib/pkgconfig/zhuyi.pc" ||
    bad "installed files missing or wrong:$missing"
if readelf -d "$P/lib/libzhuyi.so.$version" 2>"$T/err" | grep -q "Library soname: \[libzhuyi.so.$major\]" &&
    objdump -p "$P/lib/libzhuyi.so.$version" 2>>"$T/err" | grep -q "SONAME *libzhuyi.so.$major$"; then
    ok "installed library's soname is libzhuyi.so.$major (readelf, objdump)"
else
    bad "soname of the installed library"
fi

export PKG_CONFIG_PATH="$P/lib/pkgconfig"
cflags=$(pkg-config --cflags zhuyi 2>"$T/err") && libs=$(pkg-config --libs zhuyi 2>>"$T/err") &&
    slibs=$(pkg-config --static --libs zhuyi 2>>"$T/err")
if [ "$(pkg-config --modversion zhuyi 2>>"$T/err")" = "$version" ] &&
    echo " $cflags " | grep -q -- " -I$P/include " && echo " $libs " | grep -q -- " -L$P/lib -lzhuyi " &&
    echo " $slibs " | grep -q -- " -lcjson " && echo " $slibs " | grep -q -- " -lutf8proc " &&
    echo " $slibs " | grep -q -- " -lm "; then
    ok "pkg-config: version $version, cflags '$cflags', libs '$libs'"
else
    bad "pkg-config zhuyi (version/cflags/libs: '$cflags' '$libs' '$slibs')"
fi

# ---- the examples against the installed library --------------------------------------------
# A sanitizer build's library needs the sanitizer runtime first in the program too.
san=""
readelf -d "$P/lib/libzhuyi.so.$version" | grep -q 'libasan' && san="-fsanitize=address,undefined"
i=0
while [ $i -lt 30 ]; do
    echo "The cat sat on the mat. The dog sat on the log. A cat and a dog, line $i."
    i=$((i + 1))
done >"$T/data.txt"
if "$P/bin/zhuyi" pretrain gpt --data "$T/data.txt" --config gpt-nano --tokenizer byte \
    --batch 4 --seq 32 --steps 20 --warmup 4 --lr 3e-3 --eval-every 0 --val-fraction 0 \
    --out "$T/model" >/dev/null 2>"$T/err"; then
    ok "the installed zhuyi trains a tiny model (gpt-nano, byte tokenizer, 20 steps)"
else
    bad "installed zhuyi pretrain"
    finish
fi
"$P/bin/zhuyi" generate "$T/model" --prompt "The cat" --max-tokens 40 --temperature 0.8 \
    --top-k 40 --seed 1 >"$T/want" 2>"$T/err" && echo >>"$T/want"

for src in "$ROOT"/examples/*.c; do
    [ -f "$src" ] || continue
    name=${src##*/}
    name=${name%.c}
    exe="$T/ex_$name"
    # shellcheck disable=SC2086 # word splitting of the flags is meant
    if cc -std=c11 -O2 -Wall -Wextra -Werror $san -o "$exe" "$src" $cflags $libs 2>"$T/err"; then
        ok "examples/$name.c builds with \$(pkg-config --cflags --libs zhuyi)"
    else
        bad "examples/$name.c: cc with pkg-config flags"
        continue
    fi
    readelf -d "$exe" >"$T/err" 2>&1
    grep -q "NEEDED.*\[libzhuyi.so.$major\]" "$T/err" && ok "  ... linked to libzhuyi.so.$major" ||
        bad "  ... not linked to libzhuyi.so.$major"
    # shellcheck disable=SC2086
    static_libs=$(for w in $slibs; do [ "$w" = -lzhuyi ] && w="$P/lib/libzhuyi.a"; printf '%s ' "$w"; done)
    case $name in
    generate)
        if LD_LIBRARY_PATH="$P/lib" "$exe" "$T/model" "The cat" 40 >"$T/got" 2>"$T/err" &&
            [ "$(wc -c <"$T/got")" -gt 1 ] && cmp -s "$T/got" "$T/want"; then
            ok "  ... prints what zhuyi generate prints ($(($(wc -c <"$T/got") - 1)) bytes)"
        else
            echo "want: $(head -c 200 "$T/want")" >>"$T/err"
            echo "got:  $(head -c 200 "$T/got")" >>"$T/err"
            bad "  ... run against the installed libzhuyi.so"
        fi
        # The same program linked statically against libzhuyi.a: pkg-config --static must
        # name everything libzhuyi.a needs.
        # shellcheck disable=SC2086
        if cc -std=c11 -O2 $san -o "$exe.static" "$src" $cflags $static_libs 2>"$T/err" &&
            ! readelf -d "$exe.static" | grep -q 'libzhuyi' &&
            "$exe.static" "$T/model" "The cat" 40 >"$T/got" 2>"$T/err" && cmp -s "$T/got" "$T/want"; then
            ok "  ... linked statically with pkg-config --static, same text"
        else
            bad "  ... static link (libs: $static_libs)"
        fi
        ;;
    *) ok "  ... (no run check for $name yet)" ;;
    esac
done

# ---- staged install: DESTDIR + PREFIX ------------------------------------------------------
S="$T/stage"
if mk DESTDIR="$S" PREFIX=/opt/zhuyi install && [ -f "$S/opt/zhuyi/lib/libzhuyi.so.$version" ] &&
    [ -f "$S/opt/zhuyi/include/zhuyi/zhuyi.h" ] && [ -x "$S/opt/zhuyi/bin/zhuyi" ] &&
    grep -qx 'prefix=/opt/zhuyi' "$S/opt/zhuyi/lib/pkgconfig/zhuyi.pc" &&
    grep -qx 'libdir=${prefix}/lib' "$S/opt/zhuyi/lib/pkgconfig/zhuyi.pc" &&
    [ "$(find "$T/stage" -path "$T/stage/opt" -prune -o -print | wc -l)" -eq 1 ]; then
    ok "make install DESTDIR=$S PREFIX=/opt/zhuyi: files under DESTDIR, zhuyi.pc says /opt/zhuyi"
else
    bad "staged install"
fi
# With the stage as sysroot, pkg-config finds the staged headers and library.
flags=$(PKG_CONFIG_SYSROOT_DIR="$S" PKG_CONFIG_PATH="$S/opt/zhuyi/lib/pkgconfig" \
    pkg-config --cflags --libs zhuyi 2>"$T/err")
# shellcheck disable=SC2086 # word splitting of the flags is meant
if [ -n "$flags" ] && cc -std=c11 $san -o "$T/ex_staged" "$ROOT/examples/generate.c" $flags 2>"$T/err" &&
    LD_LIBRARY_PATH="$S/opt/zhuyi/lib" "$T/ex_staged" "$T/model" "The cat" 40 >"$T/got" 2>"$T/err" &&
    cmp -s "$T/got" "$T/want"; then
    ok "the staged install builds and runs the example (PKG_CONFIG_SYSROOT_DIR)"
else
    bad "example against the staged install"
fi

# ---- make uninstall ------------------------------------------------------------------------
if mk PREFIX="$P" uninstall && mk DESTDIR="$S" PREFIX=/opt/zhuyi uninstall; then
    find "$P" "$S" ! -type d >"$T/err"
    [ -s "$T/err" ] && bad "make uninstall left files" || ok "make uninstall removes every installed file (both installs)"
else
    bad "make uninstall"
fi

finish
