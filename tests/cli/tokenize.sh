#!/bin/sh
# CLI tests of `zhuyi tokenize` and `zhuyi tokenizer train` with WordPiece (and BPE beside
# it): --help lists every flag; bert-base-uncased's vocab.txt (a file or its directory)
# encodes "Hello world! unaffable" to BERT's ids, --add-special wraps in [CLS] [SEP],
# --special finds [MASK] in the text, --cased keeps case, --jsonl works line by line and
# decode joins "##" pieces; train --type wordpiece is deterministic and its tokenizer.json
# round-trips; bad inputs exit non-zero with a "zhuyi:" message naming the file.
# Needs build/data/bert-base-uncased/vocab.txt (scripts/data.sh bert-vocab; make test
# fetches it) and build/data/gpt2 (scripts/data.sh gpt2-tokenizer).
# Usage: tests/cli/tokenize.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start tokenize "$@"
V="$ROOT/build/data/bert-base-uncased/vocab.txt"
G="$ROOT/build/data/gpt2"
check() { # name, expected, actual
    if [ "$2" = "$3" ]; then ok "$1"; else echo "     | got '$3', expected '$2'" >err; bad "$1"; fi
}
[ -s "$V" ] || { echo "FAIL $V missing (run: scripts/data.sh bert-vocab)"; echo "0 passed, 1 failed"; exit 1; }

if "$Z" tokenize --help >help 2>err; then
    missing=""
    for f in --tokenizer --jsonl --special --add-special --cased; do
        grep -q -- "$f" help || missing="$missing $f"
    done
    [ -z "$missing" ] && ok "tokenize --help lists every flag" || bad "tokenize --help misses$missing"
else
    bad "tokenize --help"
fi
"$Z" tokenizer --help >help 2>err && grep -q -- "--type bpe|wordpiece" help && grep -q -- "--cased" help &&
    ok "tokenizer --help lists the WordPiece type" || bad "tokenizer --help"

check "encode with vocab.txt" "7592 2088 999 14477 20961 3468" \
    "$(printf 'Hello world! unaffable' | "$Z" tokenize encode --tokenizer "$V" 2>err)"
check "encode with the directory, --add-special" "101 7592 2088 102" \
    "$(printf 'Hello world' | "$Z" tokenize encode --add-special --tokenizer "$(dirname "$V")" 2>err)"
check "--special finds [MASK]; without it, it is text" "7592 103|7592 1031 7308 1033" \
    "$(printf 'hello [MASK]' | "$Z" tokenize encode --special --tokenizer "$V" 2>err)|$(printf 'hello [MASK]' | "$Z" tokenize encode --tokenizer "$V" 2>err)"
check "--cased keeps case (Hello is not in the uncased vocabulary as is)" "100" \
    "$(printf 'Hello' | "$Z" tokenize encode --cased --tokenizer "$V" 2>err)"
check "decode joins ## pieces and cleans ' !'" "[CLS] hello world! unaffable [SEP]" \
    "$(echo 101 7592 2088 999 14477 20961 3468 102 | "$Z" tokenize decode --tokenizer "$V" 2>err)"
printf '"Hello world!"\n\n"Caf\\u00e9 \\u4e2d\\u6587"\n' >in.jsonl
check "--jsonl encode with --add-special" "[101,7592,2088,999,102]
[101,7668,1746,1861,102]" "$("$Z" tokenize encode --jsonl --add-special --tokenizer "$V" <in.jsonl 2>err)"
check "--jsonl decode" '"hello world!"' "$(echo '[7592,2088,999]' | "$Z" tokenize decode --jsonl --tokenizer "$V" 2>err)"
if [ -s "$G/encoder.json" ]; then
    check "BPE unchanged: GPT-2 'Hello world'" "15496 995" \
        "$(printf 'Hello world' | "$Z" tokenize encode --tokenizer "$G" 2>err)"
    check "BPE --add-special adds nothing (GPT-2 has no template)" "15496 995" \
        "$(printf 'Hello world' | "$Z" tokenize encode --add-special --tokenizer "$G" 2>err)"
    if printf 'x' | "$Z" tokenize encode --cased --tokenizer "$G" >out 2>err; then
        bad "--cased with a BPE tokenizer is refused"
    else
        grep -q "zhuyi:.*WordPiece" err && ok "--cased with a BPE tokenizer is refused" || bad "--cased message"
    fi
fi

# Training.
i=0
while [ $i -lt 60 ]; do
    echo "In the beginning God created the heaven and the earth. Café naïve $i"
    echo "And the earth was without form, and void; and darkness was upon the deep."
    i=$((i + 1))
done >data.txt
if "$Z" tokenizer train --type wordpiece --vocab-size 150 --data data.txt --out a.json 2>err &&
    "$Z" tokenizer train --type wordpiece --vocab-size 150 --data data.txt --out b.json 2>>err &&
    cmp -s a.json b.json && grep -q '"type":	"WordPiece"' a.json; then
    ok "train --type wordpiece: tokenizer.json, byte-identical twice"
else
    bad "train --type wordpiece"
fi
check "a trained tokenizer round-trips its text" "and the earth was without form, and void ; and darkness was upon the deep." \
    "$(printf 'And the earth was without form, and void; and darkness was upon the deep.' |
        "$Z" tokenize encode --tokenizer a.json 2>err | "$Z" tokenize decode --tokenizer a.json 2>>err)"
"$Z" tokenizer train --type wordpiece --cased --vocab-size 150 --data data.txt --out c.json 2>err &&
    grep -q '"lowercase":	false' c.json && ok "train --cased" || bad "train --cased"

# Errors: non-zero exit, a message naming the file and the line.
printf '[PAD]\nhello\n' >nounk.txt
expect_fail "a vocab.txt without [UNK]" "nounk.txt.*\[UNK\]" sh -c \
    "echo hi | '$Z' tokenize encode --tokenizer nounk.txt"
printf '[UNK]\nhello\nhello\n' >dup.txt
expect_fail "a duplicate token names its line" "dup.txt line 3" sh -c \
    "echo hi | '$Z' tokenize encode --tokenizer dup.txt"
printf '[UNK]\nhello\n' >nocls.txt
expect_fail "--add-special without [CLS]" "nocls.txt.*\[CLS\]" sh -c \
    "echo hi | '$Z' tokenize encode --add-special --tokenizer nocls.txt"
expect_fail "train --type wordpiece with a vocabulary smaller than the alphabet" "alphabet" \
    "$Z" tokenizer train --type wordpiece --vocab-size 10 --data data.txt --out x.json
expect_fail "train --type unknown" "--type" "$Z" tokenizer train --type unigram \
    --vocab-size 10 --data data.txt --out x.json

cli_finish
