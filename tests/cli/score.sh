#!/bin/sh
# CLI tests of `zhuyi score` (BLEU and chrF as SacreBLEU 2.x computes them by default):
# --help lists every flag; SacreBLEU's README example (two reference files) prints its
# published figures (BLEU = 48.53 82.4/50.0/45.5/37.5 ..., chrF2 = 59.73) and the
# signatures; --hyp - reads standard input; --metrics picks one; --json is one object whose
# numbers agree with the text; --width; --metrics wer,cer (jiwer's word and character error
# rates of the same files, in the text and in --json, one reference only); refusals (line counts that differ, naming the
# files and counts; invalid UTF-8 naming the file and line; missing flags and files; bad
# values) exit non-zero with a "zhuyi:" message and print nothing on stdout.
# Usage: tests/cli/score.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start score "$@"
check() { # name, expected, actual
    if [ "$2" = "$3" ]; then ok "$1"; else printf '     | got:\n%s\n     | expected:\n%s\n' "$3" "$2" >err; bad "$1"; fi
}

check_help score --ref --hyp --metrics --json --width

printf 'The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n' >r1
printf 'The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n' >r2
printf "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n" >hyp
V=$("$Z" --version | sed 's/^zhuyi //')

check "README example: BLEU, chrF and signatures" \
"BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)
BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:zhuyi-$V
chrF2 = 59.73
chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:zhuyi-$V" \
    "$("$Z" score --ref r1 --ref r2 --hyp hyp 2>err)"

check "--hyp - reads standard input (a last line without newline counts)" \
    "$("$Z" score --ref r1 --ref r2 --hyp hyp 2>err)" \
    "$(printf "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him." |
        "$Z" score --ref r1 --ref r2 --hyp - 2>err)"

check "--metrics chrf --width 1" \
"chrF2 = 59.7
chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:zhuyi-$V" \
    "$("$Z" score --metrics chrf --width 1 --ref r1 --ref r2 --hyp hyp 2>err)"

check "--metrics bleu, one reference" \
"BLEU = 45.07 70.6/42.9/36.4/37.5 (BP = 1.000 ratio = 1.000 hyp_len = 17 ref_len = 17)
BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:zhuyi-$V" \
    "$("$Z" score --metrics bleu --ref r1 --hyp hyp 2>err)"

if "$Z" score --ref r1 --ref r2 --hyp hyp --json >out 2>err &&
    [ "$(wc -l <out)" -eq 1 ] &&
    python3 - out <<'PY' 2>>err
import json, sys
d = json.load(open(sys.argv[1]))
b, c = d["bleu"], d["chrf"]
assert "%.2f" % b["score"] == "48.53", b
assert [round(p, 1) for p in b["precisions"]] == [82.4, 50.0, 45.5, 37.5], b
assert b["hyp_len"] == 17 and b["ref_len"] == 18 and len(b["counts"]) == 4
assert b["signature"].startswith("BLEU|nrefs:2|")
assert "%.2f" % c["score"] == "59.73" and len(c["match"]) == 6, c
PY
then ok "--json: one line, one object with both metrics"; else bad "--json"; fi

# The same texts by words and characters (tests/ref_wer.py's rules): 5 substitutions, 1
# deletion, 1 insertion in 14 words; 28 edits in 64 characters.
check "--metrics wer,cer" \
"WER = 50.00 % (hits = 8 substitutions = 5 deletions = 1 insertions = 1 ref_len = 14 hyp_len = 14)
CER = 43.75 % (hits = 46 substitutions = 13 deletions = 5 insertions = 10 ref_len = 64 hyp_len = 69)" \
    "$("$Z" score --metrics wer,cer --ref r1 --hyp hyp 2>err)"

if "$Z" score --metrics cer,wer,bleu --ref r1 --hyp hyp --json >out 2>err &&
    python3 - out <<'PY' 2>>err
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(d) == ["bleu", "cer", "wer"], d
w, c = d["wer"], d["cer"]
assert w["rate"] == 0.5 and (w["hits"], w["substitutions"], w["deletions"], w["insertions"]) == (8, 5, 1, 1), w
assert c["rate"] == 0.4375 and c["ref_len"] == 64 and c["hyp_len"] == 69, c
PY
then ok "--json with wer and cer"; else bad "--json with wer and cer"; fi

: >empty_h
: >empty_r
check "empty files: zero segments score 0" "BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 1.000 ratio = 0.000 hyp_len = 0 ref_len = 0)" \
    "$("$Z" score --metrics bleu --ref empty_r --hyp empty_h 2>err | head -n 1)"

printf 'one\ntwo\n' >short
expect_fail "line counts differ" "short has 2 lines but hyp has 3" "$Z" score --ref r1 --ref short --hyp hyp
printf 'ok\ncaf\303\n' >badutf
expect_fail "invalid UTF-8 names file and line" "badutf line 2 is not valid UTF-8" "$Z" score --ref short --hyp badutf
expect_fail "no --hyp" "--hyp is required" "$Z" score --ref r1
expect_fail "no --ref" "at least one --ref" "$Z" score --hyp hyp
expect_fail "missing file" "cannot open nothere" "$Z" score --ref nothere --hyp hyp
expect_fail "bad --metrics" "expected bleu, chrf, wer or cer" "$Z" score --metrics ter --ref r1 --hyp hyp
expect_fail "bad --metrics (empty item)" "expected bleu, chrf, wer or cer" "$Z" score --metrics wer, --ref r1 --hyp hyp
expect_fail "wer with two references" "wer and cer take one reference file (2 given)" \
    "$Z" score --metrics wer --ref r1 --ref r2 --hyp hyp
expect_fail "bad --width" "--width" "$Z" score --width x --ref r1 --hyp hyp
expect_fail "--ref -" "references must be files" "$Z" score --ref - --hyp hyp
expect_fail "unknown argument" "unknown argument '--bogus'" "$Z" score --bogus --ref r1 --hyp hyp

cli_finish
