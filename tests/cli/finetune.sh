#!/bin/sh
# CLI tests of `zhuyi finetune classify|tag|qa`, `zhuyi eval` (evaluate) on the results and
# `zhuyi predict`: a tiny BERT pretrained here, then converted with --init into each task
# head (the new head reported, the pretraining heads left out); each run's files, its
# metrics in metrics.jsonl, the best evaluation kept in DIR, eval --json agreeing with the
# run's best validation, predictions as JSON lines (one per example, atomically written
# with --output), --freeze-body training the head only, --resume bit-exact, a GPT-2
# sequence classifier, multi-label and regression; and bad input (an unknown label in the
# validation file, a tag file whose columns disagree, a QA answer not in its context, an
# empty file, a GPT-2 asked to tag) failing with a message naming file and line; eval
# --decode of a classifier refused. Makes its own data; no network, no timing.
# Usage: tests/cli/finetune.sh [path/to/zhuyi]   (default build/zhuyi)
. "$(dirname "$0")/lib.sh"
cli_start finetune "$@"
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export ZY_THREADS=${ZY_THREADS:-2}

# Sentences with a sentiment word, tagged sentences with names and places, and questions
# whose answer is a name in the context; deterministic (seeded).
$PY - <<'EOF'
import json, random
random.seed(7)
pos = ["good", "great", "fine", "lovely"]; neg = ["bad", "awful", "poor", "dull"]
fill = ["the", "film", "was", "really", "quite", "a", "story", "with", "acting", "and"]
def review():
    lab = random.random() < 0.5
    w = [random.choice(fill) for _ in range(random.randint(3, 7))]
    w.insert(random.randint(0, len(w)), random.choice(pos if lab else neg))
    return " ".join(w), "pos" if lab else "neg"
for name, n in [("cls_train.tsv", 160), ("cls_val.tsv", 40)]:
    with open(name, "w") as f:
        f.write("text\tlabel\n")
        for _ in range(n):
            f.write("%s\t%s\n" % review())
names = {"John": "PER", "Mary": "PER", "Paris": "LOC", "Rome": "LOC"}
verbs = ["went", "to", "saw", "met", "in", "the", "city", "and"]
def tagged():
    out = []
    for _ in range(random.randint(4, 8)):
        if random.random() < 0.3:
            n = random.choice(list(names)); out.append((n, "B-" + names[n]))
        else:
            out.append((random.choice(verbs), "O"))
    return out
for name, n in [("tag_train.txt", 120), ("tag_val.txt", 30)]:
    with open(name, "w") as f:
        for _ in range(n):
            f.write(" ".join("%s/%s" % p for p in tagged()) + "\n")
def qa(i):
    a, b = random.choice(list(names)), random.choice(list(names))
    ctx = "in the city of %s %s met the king and went home ." % (a, b)
    return {"id": "q%d" % i, "context": ctx, "question": "who met the king ?",
            "answers": {"text": [b], "answer_start": [ctx.index(" %s met" % b) + 1]}}
for name, n in [("qa_train.jsonl", 120), ("qa_val.jsonl", 30)]:
    with open(name, "w") as f:
        for i in range(n):
            f.write(json.dumps(qa(i)) + "\n")
with open("corpus.txt", "w") as f:
    for _ in range(300):
        f.write(review()[0] + " . " + " ".join(w for w, _ in tagged()) + " .\n")
EOF
cat >tiny.json <<'EOF'
{"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 32,
 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
 "max_position_embeddings": 64, "vocab_size": 2}
EOF
"$Z" pretrain bert --data corpus.txt --config tiny.json --tokenizer wordpiece:200 --no-nsp \
    --val-fraction 0 --batch 8 --seq 32 --steps 20 --out bert >out 2>err &&
    ok "a tiny BERT pretrained (BertForMaskedLM)" || bad "pretrain bert"
FT="--init bert --epochs 4 --batch 8 --lr 2e-3 --seq 32"

# ---- help ---------------------------------------------------------------------------------
for k in classify tag qa; do
    "$Z" finetune $k --help >help 2>err || bad "finetune $k --help"
    missing=""
    for f in --train --val --init --config --tokenizer --epochs --freeze-body --best-metric \
        --patience --skip-bad-rows --format; do
        grep -q -- "$f" help || missing="$missing $f"
    done
    case $k in
    classify) flags="--text-column --text-pair-column --label-column --problem --label-separator" ;;
    tag) flags="--tokens-key --tags-key" ;;
    qa) flags="--doc-stride --max-answer-len" ;;
    esac
    for f in $flags; do grep -q -- "$f" help || missing="$missing $f"; done
    [ -z "$missing" ] && ok "finetune $k --help lists its flags" || bad "finetune $k --help misses$missing"
done
check_help predict --input --output --seq --batch --threads
"$Z" finetune bogus --train x >out 2>err
grep -q "unknown task 'bogus' (classify, tag, qa, lm, image-classify, speech)" err && ok "unknown task named" || bad "unknown task"

# ---- classify -----------------------------------------------------------------------------
if "$Z" finetune classify $FT --train cls_train.tsv --val cls_val.tsv --out cls >out 2>err; then
    ok "finetune classify exits 0"
else
    bad "finetune classify"
fi
grep -q "new\|initialised" err && grep -q "not used" err &&
    ok "the new classifier head and the unused pretraining heads are reported" ||
    bad "head report"
grep -q '"BertForSequenceClassification"' cls/config.json && grep -q '"id2label"' cls/config.json &&
    grep -q '"neg"' cls/config.json && grep -q '"single_label_classification"' cls/config.json &&
    ok "config.json: BertForSequenceClassification, id2label, problem_type" || bad "config.json"
nval=$(grep -c '"val_accuracy"' cls/metrics.jsonl)
[ "$nval" = 4 ] && ok "validated once per epoch (4 val lines with accuracy)" || bad "val lines: $nval"
best=$(sed -n 's/.*the best model: val accuracy \([0-9.]*\) at step \([0-9]*\).*/\1/p' out)
got=$("$Z" eval cls --data cls_val.tsv --json 2>err)
acc=$(echo "$got" | sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p')
if [ -n "$best" ] && awk -v a="$acc" -v b="$best" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'; then
    ok "eval --json accuracy $acc = the run's best validation accuracy"
else
    bad "eval accuracy '$acc' vs best '$best'"
fi
"$Z" evaluate cls --data cls_val.tsv --confusion-svg conf.svg >report 2>err &&
    grep -q "macro avg" report && grep -q "confusion matrix" report &&
    grep -q 'class="cell"' conf.svg && ok "evaluate: classification report, confusion matrix, SVG" ||
    bad "evaluate report"
printf 'text\nthe film was awful\nwhat a lovely story\nquite good acting\n' >new.tsv
"$Z" predict cls --input new.tsv >pred 2>err
n=$(grep -cE '^\{"line":[0-9]+,"label":"(pos|neg)","score":[0-9.]+\}$' pred)
[ "$n" = 3 ] && ok "predict: one JSON line per example" || bad "predict lines ($n)"
"$Z" predict cls --input new.tsv --output pred.jsonl >out 2>err && cmp -s pred pred.jsonl &&
    ok "predict --output writes the same lines" || bad "predict --output"

# --resume continues bit-exactly: 2 epochs in one go against a stop at step 10 + resume.
"$Z" finetune classify $FT --epochs 2 --train cls_train.tsv --val cls_val.tsv --out ra >/dev/null 2>&1
"$Z" finetune classify $FT --epochs 2 --train cls_train.tsv --val cls_val.tsv --stop-at 10 \
    --out rb >/dev/null 2>&1
"$Z" finetune classify --out rb --resume >/dev/null 2>err
cmp -s ra/checkpoint/model.safetensors rb/checkpoint/model.safetensors &&
    cmp -s ra/model.safetensors rb/model.safetensors &&
    ok "--resume: the same weights as one run (newest and best)" || bad "--resume differs"

# --freeze-body: the body's weights stay as pretrained.
"$Z" finetune classify $FT --epochs 1 --freeze-body --train cls_train.tsv --val cls_val.tsv \
    --out frozen >out 2>err
$PY - bert/model.safetensors frozen/checkpoint/model.safetensors <<'EOF' >cmp.txt 2>&1
import json, struct, sys
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]
            for k, v in h.items() if k != "__metadata__"}
a, b = load(sys.argv[1]), load(sys.argv[2])
body = [k for k in b if not k.startswith("classifier") and "pooler" not in k]
same = [k for k in body if a.get(k) == b[k] or a.get(k.replace("bert.", "")) == b[k]]
print(len(body), len(same), any(a.get(k) == b[k] for k in b if k.startswith("classifier")))
EOF
set -- $(cat cmp.txt)
[ "$1" -gt 10 ] && [ "$1" = "$2" ] && [ "$3" = False ] &&
    ok "--freeze-body: $2 body tensors unchanged, the head (and pooler) trained" || bad "--freeze-body: $(cat cmp.txt)"

# ---- tag ----------------------------------------------------------------------------------
if "$Z" finetune tag $FT --train tag_train.txt --val tag_val.txt --out tag >out 2>err &&
    grep -q '"BertForTokenClassification"' tag/config.json && grep -q '"B-PER"' tag/config.json &&
    grep -q '"val_f1"' tag/metrics.jsonl; then
    ok "finetune tag: BertForTokenClassification, BIO tags, entity f1 per evaluation"
else
    bad "finetune tag"
fi
"$Z" eval tag --data tag_val.txt >report 2>err && grep -q "token accuracy" report &&
    grep -q "micro avg" report && ok "eval: token accuracy and seqeval's entity report" ||
    bad "eval tag report"
sed 's|/[A-Z-]*||g' tag_val.txt | head -3 >words.txt
"$Z" predict tag --input words.txt --format word-tag >pred 2>err
# an unlabelled word/TAG file is read as words: (the format's tags are optional here)
n=$($PY -c "
import json,sys
ls=[json.loads(l) for l in open('pred')]
print(sum(len(l['tokens'])==len(l['tags']) for l in ls))")
[ "$n" = 3 ] && ok "predict: a tag per word" || { bad "predict tag ($n)"; head -3 err; }

# ---- qa -----------------------------------------------------------------------------------
if "$Z" finetune qa $FT --train qa_train.jsonl --val qa_val.jsonl --out qa >out 2>err &&
    grep -q '"BertForQuestionAnswering"' qa/config.json && grep -q '"val_exact_match"' qa/metrics.jsonl; then
    ok "finetune qa: BertForQuestionAnswering, exact match and f1 per evaluation"
else
    bad "finetune qa"
fi
# Windows: a --seq shorter than question + context splits contexts (doc stride).
"$Z" finetune qa $FT --epochs 1 --seq 16 --doc-stride 4 --train qa_train.jsonl --val qa_val.jsonl \
    --out qaw >out 2>err && ok "finetune qa with windows of 16 tokens, stride 4" || bad "qa windows"
"$Z" predict qa --input qa_val.jsonl >pred 2>err
$PY -c "
import json
for l, q in zip(open('pred'), open('qa_val.jsonl')):
    p, q = json.loads(l), json.loads(q)
    assert p['id'] == q['id'] and q['context'][p['start']:p['end']] == p['answer'], (p, q)
print('ok')" >chk 2>&1 && ok "predict qa: answers are the context's characters [start, end)" ||
    bad "predict qa: $(tail -1 chk)"

# ---- from scratch, and from another task's directory --------------------------------------
sed 's/BertForMaskedLM/BertForSequenceClassification/' tiny.json >tiny_cls.json
"$Z" finetune classify --config tiny_cls.json --train cls_train.tsv --val cls_val.tsv --epochs 1 \
    --batch 8 --seq 32 --out new >out 2>err && grep -q "WordPiece" err &&
    ok "from scratch: a WordPiece learnt from --train (the default tokenizer)" || bad "from scratch"
# The vocabulary is learnt from the texts alone: no label ("pos" is in 80 rows), no header.
grep -qx film new/vocab.txt && ! grep -qx pos new/vocab.txt && ! grep -qx label new/vocab.txt &&
    ok "from scratch: the WordPiece is learnt from the texts, not the labels or the header" ||
    bad "from scratch: vocabulary of the labels: $(grep -x 'pos\|neg\|label' new/vocab.txt)"
"$Z" finetune tag --config tiny_cls.json --tokenizer wordpiece-cased:60 --train tag_train.txt \
    --epochs 1 --batch 8 --seq 32 --out newtag >out 2>err && grep -qx John newtag/vocab.txt &&
    ! grep -qx john newtag/vocab.txt && ! grep -qx PER newtag/vocab.txt &&
    ok "from scratch: wordpiece-cased:N keeps capitals; the tags are not in the vocabulary" ||
    bad "from scratch: tag, wordpiece-cased: $(tail -1 err)"
"$Z" finetune qa --init cls --epochs 1 --batch 8 --seq 32 --train qa_train.jsonl --out cls2qa \
    >out 2>err && ! grep -q problem_type cls2qa/config.json &&
    ok "a classifier's directory becomes a QA model (its label fields dropped)" || bad "classifier -> qa"
# A classifier of two labels fine-tuned on three: its head is replaced, not an error.
awk -F'\t' 'NR > 1 && NR % 3 == 0 { $2 = "mid" } { print }' OFS='\t' cls_train.tsv >cls3.tsv
"$Z" finetune classify --init cls --epochs 1 --batch 8 --seq 32 --train cls3.tsv --out cls3 \
    >out 2>err && grep -q "classifier.weight' is another head's in the file" err &&
    grep -q '"mid"' cls3/config.json &&
    ok "--init a classifier of other labels: a new head, said so" || bad "2 -> 3 labels: $(tail -1 err)"
# A sequence classifier's head is no token classifier's, even of as many labels (2 here):
# another architecture's heads are new, said so; the same architecture's are kept.
sed 's#/B-[A-Z]*#/B-X#g' tag_train.txt >tag2.txt
"$Z" finetune tag --init cls --epochs 1 --batch 8 --seq 32 --train tag2.txt --out cls2tag \
    >out 2>err && grep -q "classifier.weight' is another head's in the file" err &&
    grep -q "classifier.bias' is another head's in the file" err &&
    ok "--init a sequence classifier as a tagger of 2 tags: its classifier is new, said so" ||
    bad "classifier -> tagger, same shape: $(grep -i 'classifier\|error' err | tail -2)"
"$Z" finetune classify --init cls --epochs 1 --batch 8 --seq 32 --train cls_train.tsv \
    --out cls_again >out 2>err && ! grep -q "classifier.*initialised" err &&
    ok "--init a classifier to train on: its head is kept" || bad "classifier kept: $(tail -2 err)"

# ---- other heads --------------------------------------------------------------------------
"$Z" pretrain gpt --data corpus.txt --config gpt-nano --tokenizer byte --steps 5 --batch 2 \
    --seq 32 --val-fraction 0 --out gpt >/dev/null 2>&1
if "$Z" finetune classify --init gpt --epochs 1 --batch 8 --seq 32 --train cls_train.tsv \
    --val cls_val.tsv --out gcls >out 2>err &&
    grep -q '"GPT2ForSequenceClassification"' gcls/config.json &&
    "$Z" predict gcls --input new.tsv | grep -c '"label"' | grep -q 3; then
    ok "a GPT-2 becomes GPT2ForSequenceClassification, and predicts"
else
    bad "GPT-2 classifier"
fi
$PY -c "
import random; random.seed(3)
print('text,tags,score')
for i in range(60):
    k = random.randint(0, 4)
    print('\"%s\",\"%s\",%d' % (' '.join(['good'] * k + ['film'] * (5 - k)), 'a,b' if k > 2 else 'b', k))
" >multi.csv
"$Z" finetune classify $FT --epochs 1 --problem multi --label-column tags --train multi.csv \
    --val multi.csv --out ml >out 2>err && grep -q '"multi_label_classification"' ml/config.json &&
    "$Z" predict ml --input multi.csv | head -1 | grep -q '"labels":\[' &&
    ok "multi-label: labels split at ',' and predicted as a set" || bad "multi-label"
"$Z" finetune classify $FT --epochs 1 --problem regression --label-column score --train multi.csv \
    --val multi.csv --out rg >out 2>err && grep -q '"regression"' rg/config.json &&
    grep -q "best model: val mse" out && "$Z" predict rg --input multi.csv | head -1 | grep -q '"value":' &&
    ok "regression: MSE, the best model by the lowest mse" || bad "regression"

# ---- bad input: clear errors naming file and line, nothing written ------------------------
# finetune ARGS --out out_bad: a refused run (expect_fail checks out_bad is not made)
finetune_bad() { "$Z" finetune "$@" --out out_bad; }
{ head -5 cls_val.tsv; printf 'a wonderful film\tneutral\n'; } >unknown.tsv
expect_fail "unknown label in validation data" "unknown.tsv:6" finetune_bad classify $FT \
    --train cls_train.tsv --val unknown.tsv
printf 'John B-PER\nwent O\n\nMary B-PER x\n' >cols.conll
expect_fail "tag file whose columns disagree" "cols.conll:4" finetune_bad tag $FT \
    --train cols.conll
printf '{"id":"1","context":"John met the king","question":"who?","answers":{"text":["Mary"],"answer_start":[0]}}\n' >noans.jsonl
expect_fail "QA answer not in its context" "noans.jsonl:1" finetune_bad qa $FT \
    --train noans.jsonl
: >empty.tsv
expect_fail "empty file" "empty.tsv" finetune_bad classify $FT --train empty.tsv
expect_fail "GPT-2 asked to tag" "token classification" finetune_bad tag --init gpt \
    --train tag_train.txt
expect_fail "--val-fraction for examples" "--val FILE" finetune_bad classify $FT \
    --train cls_train.tsv --val-fraction 0.1
expect_fail "eval --decode of a BERT classifier" "causal language models" \
    "$Z" eval cls --data cls_val.tsv --decode
expect_fail "eval --decode of a GPT-2 classifier" "GPT2ForSequenceClassification" \
    "$Z" eval gcls --data cls_val.tsv --decode
"$Z" predict bert --input new.tsv >out 2>err
grep -q "fine-tuned" err && ok "predict on a pretraining model says what it runs" || bad "predict on bert"
"$Z" finetune classify $FT --train cls_train.tsv --val cls_val.tsv --skip-bad-rows --out skip \
    >/dev/null 2>err && ok "--skip-bad-rows on clean data" || bad "--skip-bad-rows"

cli_finish
