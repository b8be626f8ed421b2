#!/bin/sh
# Issue 17: a synthetic spoken corpus for a small CTC speech recogniser. There is no
# recorded speech corpus in Debian, so this one is spoken by a synthesiser, Debian's
# espeak-ng, and mixed with noise by sox (both installed by scripts/deps.sh speech). It is
# synthetic speech, not recorded: a model trained on it says little about real voices.
#
# Usage: scripts/speech_corpus.sh [OUT]   (default build/data/speech-synth; or env OUT)
#   env: N_TRAIN (6000), N_VALID (300), N_TEST (500), SEED (17), JOBS (2: parallel workers)
#
# Writes, into OUT:
#   wav/{train,valid,test}/NNNNNN.wav   16 kHz mono 16-bit PCM
#   train.jsonl valid.jsonl test.jsonl  one object a line: {"audio": "wav/train/000000.wav",
#       "text": "three one four", "voice": "en-us+m3", "rate": 160, "pitch": 50,
#       "noise": "pink", "snr_db": 18, "duration": 1.93} (audio relative to the manifest;
#       "noise": "none" and "snr_db": null when clean)
#   README.txt (how it was made, the voices of each split), params.txt (the parameters)
#
# Texts, lowercase words from a closed vocabulary (about 250 words):
#   40%  digit strings of 2 to 7 digits, spoken as words ("three one four")
#   60%  short phrases from a grammar of 28 templates with slots (rooms, devices, colours,
#        things, names, numbers, days, food, places, ...): "turn the kitchen light on"
#   A text is a test text iff hash(text) % 10 == 0: no test transcript is in train/valid.
# Voices: espeak-ng accent voice + variant ("en-us+m3"). Test uses only variants never
#   heard in train/valid, half of it also with accents never heard in train/valid;
#   valid is drawn from the training voices (same distribution as train).
# Per utterance: speaking rate 130-200 wpm, pitch 30-70, peak level -1 to -12 dBFS;
#   25% clean, else white, pink or brown noise (sox synth) at an SNR of 10-30 dB
#   (speech RMS over the whole utterance / noise RMS).
# Deterministic: each utterance's draws come from its own generator seeded by
#   (SEED, split, index) (a Park-Miller generator in awk, the same under mawk and gawk),
#   so a smaller N gives a prefix of the larger corpus; sox runs with -R (repeatable) -D.
# Idempotent: OUT with complete manifests and the same params.txt is left as it is.
# The default size (6,800 utterances: 3.57 hours, 0.6-3.7 s each, 406 MB, 226 words)
# takes about 3.5 minutes with 2 jobs.
set -e

OUT=${1:-${OUT:-${DATA_DIR:-build/data}/speech-synth}}
N_TRAIN=${N_TRAIN:-6000}
N_VALID=${N_VALID:-300}
N_TEST=${N_TEST:-500}
SEED=${SEED:-17}
JOBS=${JOBS:-2}
VERSION=2 # of this generator: bump when the corpus it writes changes

die() { echo "scripts/speech_corpus.sh: $*" >&2; exit 1; }
say() { echo "speech_corpus: $*"; }

for v in N_TRAIN N_VALID N_TEST SEED JOBS; do
    x=""
    eval "x=\$$v"
    case "$x" in '' | *[!0-9]*) die "$v must be a non-negative integer (got '$x')" ;; esac
done
[ "$JOBS" -ge 1 ] || die "JOBS must be at least 1"

# Accent voices (espeak-ng --voices=en, eSpeak's own voices; the mbrola ones need mbrola
# data Debian does not install) and variants (espeak-ng --voices=variant; the robotic,
# whispering and joke variants left out).
TRAIN_ACCENTS="en-gb en-us en-us-nyc en-gb-x-rp en-gb-x-gbclan en-gb-x-gbcwmd"
TEST_ACCENTS="en-gb-scotland en-029"
TRAIN_VARIANTS="none m1 m2 m3 m4 m5 m6 f1 f2 f3 f4 klatt klatt2 klatt3 Alex Andy Annie adam \
benjamin david edward john linda max Michael paul quincy rob steph steph2 travis aunty \
grandpa norbert anika"
TEST_VARIANTS="m7 m8 f5 klatt4 Alicia Andrea robert victor grandma steph3 Lee Mike"

if ! command -v espeak-ng >/dev/null 2>&1 || ! command -v sox >/dev/null 2>&1; then
    "$(dirname "$0")/deps.sh" speech || die "could not install espeak-ng and sox (scripts/deps.sh speech)"
fi
command -v espeak-ng >/dev/null 2>&1 || die "espeak-ng is missing (apt-get install espeak-ng)"
command -v sox >/dev/null 2>&1 || die "sox is missing (apt-get install sox)"
ESPEAK_VERSION=$(espeak-ng --version | sed -n 's/.*text-to-speech: *\([^ ]*\).*/\1/p')
SOX_VERSION=$(sox --version | sed -n 's/.*SoX v*//p')

PARAMS="generator=scripts/speech_corpus.sh v$VERSION
seed=$SEED
n_train=$N_TRAIN
n_valid=$N_VALID
n_test=$N_TEST
espeak-ng=$ESPEAK_VERSION
sox=$SOX_VERSION
train_accents=$TRAIN_ACCENTS
test_accents=$TEST_ACCENTS
train_variants=$TRAIN_VARIANTS
test_variants=$TEST_VARIANTS"

lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo -1; fi; }
if [ -f "$OUT/params.txt" ] && [ "$(cat "$OUT/params.txt")" = "$PARAMS" ] &&
    [ "$(lines "$OUT/train.jsonl")" = "$N_TRAIN" ] &&
    [ "$(lines "$OUT/valid.jsonl")" = "$N_VALID" ] &&
    [ "$(lines "$OUT/test.jsonl")" = "$N_TEST" ]; then
    say "$OUT is already complete for these parameters (seed $SEED, $N_TRAIN/$N_VALID/$N_TEST); nothing to do"
    exit 0
fi

# Check the voices exist: espeak-ng falls back silently on an unknown variant.
vdir=$(espeak-ng --version | sed -n 's/.*Data at: *//p')
for v in $TRAIN_VARIANTS $TEST_VARIANTS; do
    [ "$v" = none ] || [ -f "$vdir/voices/!v/$v" ] || die "espeak-ng has no variant '$v' ($vdir/voices/!v/)"
done
for a in $TRAIN_ACCENTS $TEST_ACCENTS; do
    espeak-ng --voices=en | awk -v a="$a" '$2 == a { f = 1 } END { exit !f }' ||
        die "espeak-ng has no voice '$a' (espeak-ng --voices=en)"
done

# Starting over: remove what an earlier run (other parameters, or stopped) left.
start=$(date +%s)
say "writing $N_TRAIN train, $N_VALID valid, $N_TEST test utterances (seed $SEED, $JOBS jobs) -> $OUT/"
mkdir -p "$OUT"
rm -rf "$OUT/wav" "$OUT/.work" "$OUT/params.txt" "$OUT/train.jsonl" "$OUT/valid.jsonl" \
    "$OUT/test.jsonl" "$OUT/README.txt"
W="$OUT/.work"
mkdir -p "$W" "$OUT/wav/train" "$OUT/wav/valid" "$OUT/wav/test"

# The RMS amplitude of each noise colour at sox synth's gain 1, over 60 s (fixed by
# sox -R); measured at gain 0.1 (vol 0.1), times 10: at gain 1 the noise clips.
noise_rms() { # COLOUR
    r=$(sox -V1 -R -D -n -r 16000 -c 1 -e floating-point -b 32 -t wav - synth 60 "$1noise" vol 0.1 |
        sox -V1 -t wav - -n stat 2>&1 | awk '/^RMS +amplitude:/ { print $3 * 10 }')
    [ -n "$r" ] || die "sox could not measure $1 noise"
    echo "$r"
}
RMS_white=$(noise_rms white)
RMS_pink=$(noise_rms pink)
RMS_brown=$(noise_rms brown)

# The plan: one line per utterance, tab-separated:
# split index text voice rate pitch noise snr_db noise_offset peak_db
awk -v seed="$SEED" -v ntrain="$N_TRAIN" -v nvalid="$N_VALID" -v ntest="$N_TEST" \
    -v train_acc="$TRAIN_ACCENTS" -v test_acc="$TEST_ACCENTS" \
    -v train_var="$TRAIN_VARIANTS" -v test_var="$TEST_VARIANTS" '
function rnd() { X = (X * 48271) % 2147483647; return X / 2147483647 }
function pick(a, n) { return a[int(rnd() * n) + 1] }
function between(lo, hi) { return lo + int(rnd() * (hi - lo + 1)) }
function seed_for(sn, i,   k) {
    X = (seed % 2147483646) + 1
    X = (X * 48271 + sn) % 2147483647
    X = (X * 48271 + i + 1) % 2147483647
    if (X == 0) X = 1
    for (k = 0; k < 8; k++) rnd()
}
function hash(s,   h, i) {
    h = 7
    for (i = 1; i <= length(s); i++) h = (h * 131 + index(ALPHA, substr(s, i, 1))) % 2147483647
    return h
}
function digits(   n, s, i) {
    n = between(2, 7); s = ""
    for (i = 0; i < n; i++) s = s (i ? " " : "") D[int(rnd() * 10) + 1]
    return s
}
function phrase(   t, out, slot, j) {
    t = T[int(rnd() * NT) + 1]; out = ""
    while ((j = index(t, "{")) > 0) {
        out = out substr(t, 1, j - 1); t = substr(t, j + 1)
        j = index(t, "}"); slot = substr(t, 1, j - 1); t = substr(t, j + 1)
        out = out pick_slot(slot)
    }
    out = out t
    gsub(/_/, " ", out); gsub(/  +/, " ", out); sub(/^ /, "", out); sub(/ $/, "", out)
    return out
}
function pick_slot(name,   n, a) {
    n = split(S[name], a, " ")
    if (n == 0) { print "speech_corpus: unknown slot " name > "/dev/stderr"; exit 1 }
    return a[int(rnd() * n) + 1]
}
# A text of the split: test texts are those with hash % 10 == 0, the others train/valid.
function text(is_test,   s) {
    do s = rnd() < 0.4 ? digits() : phrase()
    while ((hash(s) % 10 == 0) != is_test)
    return s
}
function utterance(sn, sname, i, is_test,   t, acc, var, v, noise, snr, off, peak, r) {
    seed_for(sn, i)
    t = text(is_test)
    if (is_test) {
        var = pick(TV, NTV)
        acc = rnd() < 0.5 ? pick(XA, NXA) : pick(TA, NTA)
    } else {
        var = pick(RV, NRV)
        acc = pick(TA, NTA)
    }
    v = var == "none" ? acc : acc "+" var
    r = rnd()
    if (r < 0.25) { noise = "none"; snr = "null" }
    else { noise = r < 0.5 ? "white" : r < 0.75 ? "pink" : "brown"; snr = between(10, 30) }
    off = sprintf("%.2f", rnd() * 10)
    printf "%s\t%06d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\n", sname, i, t, v, between(130, 200),
        between(30, 70), noise, snr, off, between(1, 12)
}
BEGIN {
    ALPHA = "abcdefghijklmnopqrstuvwxyz'\'' "
    split("zero one two three four five six seven eight nine", D, " ")
    NTA = split(train_acc, TA, " "); NXA = split(test_acc, XA, " ")
    NRV = split(train_var, RV, " "); NTV = split(test_var, TV, " ")
    # Slots: words a space apart, "_" joins the words of one entry.
    S["room"] = "kitchen bedroom bathroom living_room hallway garage office garden basement attic dining_room"
    S["device"] = "light lamp fan heater radio television oven kettle music alarm"
    S["onoff"] = "on off"
    S["colour"] = "red blue green yellow black white orange purple brown grey pink"
    S["thing"] = "car house dog cat bird ball box book chair door boat hat cup bike kite coat"
    S["things"] = "cars houses dogs cats birds balls boxes books chairs boats hats cups bikes kites coats"
    S["adj"] = "fast slow big small old new clean heavy quiet loud warm cold bright dark happy tall short soft"
    S["name"] = "mom dad anna peter maria john lucy david sarah tom emma james grandma the_doctor"
    S["num"] = "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty"
    S["hour"] = "one two three four five six seven eight nine ten eleven twelve noon midnight"
    S["ampm"] = "_ in_the_morning in_the_afternoon in_the_evening tonight"
    S["day"] = "monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight"
    S["open"] = "open close lock unlock"
    S["opening"] = "door window gate garage_door front_door back_door"
    S["unit"] = "seconds minutes hours"
    S["food"] = "apples bread milk eggs rice coffee tea cheese butter tomatoes onions bananas sugar"
    S["place"] = "park station school market library beach airport hospital bank"
    S["genre"] = "jazz rock classical pop folk quiet"
    S["side"] = "left right"
    S["level"] = "volume temperature brightness"
    S["updown"] = "up down"
    S["weather"] = "sunny rainy windy cloudy cold warm"
    NT = split("turn the {room} {device} {onoff}|turn {onoff} the {device} in the {room}|" \
        "set a timer for {num} {unit}|set an alarm for {hour} {ampm}|call {name} at {hour}|" \
        "call {name} {day}|the {colour} {thing} is {adj}|the {thing} in the {room} is {colour}|" \
        "{open} the {opening}|please {open} the {opening}|add {food} to the shopping list|" \
        "buy {num} {things}|play some {genre} music in the {room}|" \
        "what is the weather like {day}|will it be {weather} {day}|" \
        "remind me to call {name} {day}|how long does it take to walk to the {place}|" \
        "turn the {level} {updown}|move {num} steps to the {side}|is the {room} {device} {onoff}|" \
        "meet {name} at the {place} at {hour}|the {place} opens at {hour} {ampm}|" \
        "{name} has {num} {colour} {things}|put the {colour} {thing} in the {room}|" \
        "don'\''t forget the {food}|it'\''s {adj} in the {room}|where is my {colour} {thing}|" \
        "dim the {room} lights to {num} percent", T, "|")
    for (i = 0; i < ntrain; i++) utterance(1, "train", i, 0)
    for (i = 0; i < nvalid; i++) utterance(2, "valid", i, 0)
    for (i = 0; i < ntest; i++) utterance(3, "test", i, 1)
}' >"$W/plan.tsv" || die "writing the plan failed"

# Deal the plan out to the workers, a line each in turn.
awk -v jobs="$JOBS" -v w="$W" '{ print > (w "/plan." (NR - 1) % jobs) }' "$W/plan.tsv"

# A worker: synthesise, resample, mix, for each line of its plan; writes
# "split<TAB>index<TAB>duration" lines to $W/done.J.
worker() { # J
    w=$1
    total=$(wc -l <"$W/plan.$w" | tr -d ' ')
    k=0
    w22="$W/w$w.22k.wav" c16="$W/w$w.16k.wav"
    while IFS='	' read -r split idx text voice rate pitch noise snr off peak; do
        out="$OUT/wav/$split/$idx.wav"
        espeak-ng -v "$voice" -s "$rate" -p "$pitch" -w "$w22" "$text" ||
            die "espeak-ng -v $voice failed on '$text'"
        if [ "$noise" = none ]; then
            st=$(sox -V1 -R -D "$w22" -b 16 "$out" vol 0.5 rate 16k gain -n "-$peak" stat 2>&1 >/dev/null) ||
                die "sox failed on $w22 ($split/$idx)"
            dur=$(printf '%s\n' "$st" | sed -n 's/^Length (seconds): *//p')
        else
            st=$(sox -V1 -R -D "$w22" -e floating-point -b 32 "$c16" vol 0.5 rate 16k stat 2>&1 >/dev/null) ||
                die "sox failed on $w22 ($split/$idx)"
            case "$noise" in white) nrms=$RMS_white ;; pink) nrms=$RMS_pink ;; *) nrms=$RMS_brown ;; esac
            # The duration, the noise to synthesise (offset + duration + 0.1 s: the noise
            # is cut from a point of one repeatable stream) and its gain, speech RMS /
            # noise RMS / 10^(snr/20).
            # shellcheck disable=SC2046 # three numbers
            set -- $(printf '%s\n' "$st" | awk -v snr="$snr" -v nrms="$nrms" -v off="$off" '
                /^Length \(seconds\):/ { len = $3 }
                /^RMS +amplitude:/ { rms = $3 }
                END { printf "%s %.3f %.6g\n", len, off + len + 0.1, rms / nrms / exp(log(10) * snr / 20) }')
            dur=$1
            sox -V1 -R -D -m -v 0.5 "$c16" -v 0.5 "|sox -V1 -R -D -n -r 16000 -c 1 -e floating-point -b 32 -t wav - synth $2 ${noise}noise trim $off $dur vol $3" \
                -b 16 "$out" gain -n "-$peak" || die "mixing noise failed ($split/$idx)"
        fi
        [ -n "$dur" ] || die "no duration for $out"
        printf '%s\t%s\t%s\n' "$split" "$idx" "$dur" >>"$W/done.$w"
        k=$((k + 1))
        [ $((k % 500)) -ne 0 ] || say "worker $w: $k/$total"
    done <"$W/plan.$w"
}

pids=""
j=0
while [ "$j" -lt "$JOBS" ]; do
    if [ -s "$W/plan.$j" ]; then
        (worker "$j") &
        pids="$pids $!"
    fi
    j=$((j + 1))
done
failed=0
for p in $pids; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || die "a worker failed; $OUT is incomplete (run again to start over)"

# The manifests: the plan and the measured durations, in plan order.
cat "$W"/done.* >"$W/done.tsv"
awk -F '\t' -v w="$W" -v out="$OUT" '
function jstr(s) {
    gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s)
    return "\"" s "\""
}
FNR == NR { dur[$1 "/" $2] = $3; next }
{
    key = $1 "/" $2
    if (!(key in dur)) { print "speech_corpus: no audio for " key > "/dev/stderr"; bad = 1; exit 1 }
    printf "{\"audio\": %s, \"text\": %s, \"voice\": %s, \"rate\": %d, \"pitch\": %d, " \
        "\"noise\": %s, \"snr_db\": %s, \"duration\": %.3f}\n", jstr("wav/" key ".wav"),
        jstr($3), jstr($4), $5, $6, jstr($7), $8, dur[key] > (w "/" $1 ".jsonl")
    n[$1]++; secs[$1] += dur[key]
    if (!($1 in lo) || dur[key] < lo[$1]) lo[$1] = dur[key]
    if (dur[key] > hi[$1]) hi[$1] = dur[key]
}
END {
    if (bad) exit 1
    for (s in n) printf "%s\t%d\t%.1f\t%.2f\t%.2f\n", s, n[s], secs[s], lo[s], hi[s] > (w "/stats.tsv")
}' "$W/done.tsv" "$W/plan.tsv" || die "writing the manifests failed"

secs=$(($(date +%s) - start))
{
    echo "A synthetic spoken corpus for training a small CTC speech recogniser (zhuyi issue 17)."
    echo
    echo "SYNTHETIC SPEECH, NOT RECORDED: every utterance is spoken by the espeak-ng formant"
    echo "synthesiser (Debian's espeak-ng $ESPEAK_VERSION) and mixed with synthetic noise by sox"
    echo "$SOX_VERSION. A recogniser trained on it learns espeak-ng's voices; its error rates"
    echo "say little about real speech."
    echo
    echo "Made by scripts/speech_corpus.sh (generator v$VERSION) in ${secs} s:"
    echo "  N_TRAIN=$N_TRAIN N_VALID=$N_VALID N_TEST=$N_TEST SEED=$SEED scripts/speech_corpus.sh $OUT"
    echo
    echo "split  utterances  hours  shortest (s)  longest (s)"
    for s in train valid test; do
        awk -F '\t' -v s="$s" '$1 == s { printf "%-6s %10d %6.2f %13.2f %12.2f\n", s, $2, $3 / 3600, $4, $5 }' "$W/stats.tsv"
    done
    echo
    echo "Audio: wav/{train,valid,test}/NNNNNN.wav, 16 kHz mono 16-bit PCM (espeak-ng's 22,050 Hz"
    echo "resampled by sox 'rate 16k'), peak-normalised to a level drawn from -1 to -12 dBFS."
    echo "Manifests: train.jsonl, valid.jsonl, test.jsonl, one JSON object a line with audio (the"
    echo "path relative to this directory), text, voice (espeak-ng -v), rate (-s, words a"
    echo "minute, 130-200), pitch (-p, 30-70), noise (none, white, pink, brown), snr_db (10-30,"
    echo "null when clean: speech RMS over the whole utterance against noise RMS) and duration"
    echo "(seconds)."
    echo
    echo "Texts: lowercase words from a closed vocabulary; 40% digit strings of 2-7 digits as"
    echo "words (\"three one four\"), 60% phrases from a grammar of 28 templates (\"turn the"
    echo "kitchen light on\", \"set a timer for ten minutes\"). A text is a test text iff a hash"
    echo "of it is 0 mod 10, so no test transcript occurs in train or valid."
    echo
    echo "Voices: an espeak-ng English voice plus a variant (\"en-us+m3\"; \"none\" is the voice"
    echo "alone)."
    echo "  train and valid accents: $TRAIN_ACCENTS"
    echo "  train and valid variants: $TRAIN_VARIANTS"
    echo "  test variants (never in train or valid): $TEST_VARIANTS"
    echo "  test accents: half the test utterances use a training accent, half one never in"
    echo "  train or valid: $TEST_ACCENTS"
    echo "Every test voice (accent + variant) is therefore unseen in training; valid is drawn"
    echo "from the training voices and texts (an in-distribution check, different utterances)."
} >"$W/README.txt"

for s in train valid test; do
    [ -f "$W/$s.jsonl" ] || : >"$W/$s.jsonl"
    mv "$W/$s.jsonl" "$OUT/$s.jsonl"
done
mv "$W/README.txt" "$OUT/README.txt"
rm -rf "$W"
echo "$PARAMS" >"$OUT/params.txt"
say "done in ${secs} s:"
sed -n '/^split/,/^$/p' "$OUT/README.txt"
