"""Test data of tests/cli/speech.sh and serve_speech.sh: spoken "tones" a tiny speech model
learns in seconds. Each of "a", "b", "c" is a tone of its own pitch (400, 1200, 2800 Hz,
+-5 %), 0.12-0.2 s long, with gaps of 0.05-0.1 s and noise; a transcript is the tones as
upper-case words ("A B"), which the vocabulary lower-cases. Seeded: the same files every run.

Writes into the current directory: train.jsonl and val.jsonl (N_TRAIN and N_VAL rows of
1-3 tones; every fourth file at 8 kHz stereo, the rest 16 kHz mono, 16-bit PCM) with
wav/*.wav; abc.wav (the three tones, 16 kHz); long.wav (2 s); alaw.wav (an A-law WAV:
not PCM); notext.jsonl (a row without "text") and alaw.jsonl.
Usage: python3 tests/cli/tones.py N_TRAIN N_VAL
"""
import sys
import json, math, os, random, struct, wave
random.seed(7)
FREQ = {"a": 400.0, "b": 1200.0, "c": 2800.0}
def samples(syms, rate):
    s = [0.0] * int(0.1 * rate)
    for c in syms:
        f = FREQ[c] * random.uniform(0.95, 1.05)
        s += [0.5 * math.sin(2 * math.pi * f * i / rate)
              for i in range(int(random.uniform(0.12, 0.2) * rate))]
        s += [0.0] * int(random.uniform(0.05, 0.1) * rate)
    s += [0.0] * int(0.1 * rate)
    return [max(-1.0, min(1.0, v + random.gauss(0, 0.02))) for v in s]
def write(path, s, rate=16000, channels=1):
    with wave.open(path, "wb") as w:
        w.setnchannels(channels); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(v * 32767)) * channels for v in s))
os.makedirs("wav", exist_ok=True)
for split, n in [("train", int(sys.argv[1])), ("val", int(sys.argv[2]))]:
    with open(split + ".jsonl", "w") as f:
        for i in range(n):
            syms = [random.choice("abc") for _ in range(random.randint(1, 3))]
            p = "wav/%s%03d.wav" % (split, i)
            rate, ch = (8000, 2) if i % 4 == 3 else (16000, 1)
            write(p, samples(syms, rate), rate, ch)
            f.write(json.dumps({"audio": p, "text": " ".join(syms).upper()}) + "\n")
write("abc.wav", samples("abc", 16000))
write("long.wav", [0.1] * 32000)                     # 2 s
# A-law (format 6): a WAV that is not PCM
data = bytes(8000)
with open("alaw.wav", "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 4 + 26 + 8 + len(data)) + b"WAVE")
    f.write(b"fmt " + struct.pack("<IHHIIHHH", 18, 6, 1, 8000, 8000, 1, 8, 0))
    f.write(b"data" + struct.pack("<I", len(data)) + data)
with open("notext.jsonl", "w") as f:
    f.write('{"audio": "abc.wav", "text": "a b c"}\n{"audio": "abc.wav"}\n')
with open("alaw.jsonl", "w") as f:
    f.write('{"audio": "alaw.wav", "text": "a"}\n')
