#!/usr/bin/python3
"""Streaming generation throughput of `zhuyi serve` (Python 3 standard library only).

A GPT-2 124M-sized model (12 layers, 12 heads, 768 wide, 1024 positions, GPT-2's 50257
tokens; weights from a 1-step `zhuyi pretrain gpt` run, saved once into --model: speed does
not depend on them) is served with --parallel 16. For 1, 4 and 16 concurrent clients, each
streams --per-client completions of --max-tokens tokens (temperature 0, a prompt of ~16
tokens) one after another over a keep-alive connection. Reported per level: the aggregate
generated tokens/s (all completion tokens over the level's wall time), and per request the
time to the first token and the total time, p50 and p99. The baseline is one `zhuyi
generate` with the same prompt, threads and max tokens: its decode rate (127 tokens over the
time of a 128-token run minus a 1-token run, which leaves out loading and the prompt) and
its whole rate.

  scripts/data.sh gpt2-tokenizer && make && /usr/bin/python3 bench/serve_bench.py

Loopback only; every wait is bounded (--request-timeout per request, --time-limit in all).
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

PROMPT = "The quick brown fox jumps over the lazy dog while the cat sat on the warm mat."


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else float("nan")


def ensure_model(a):
    if os.path.exists(os.path.join(a.model, "model.safetensors")):
        return
    tok = os.path.join(a.root, "build/data/gpt2")
    if not os.path.exists(os.path.join(tok, "encoder.json")):
        sys.exit("bench/serve_bench.py: %s is missing (scripts/data.sh gpt2-tokenizer)" % tok)
    os.makedirs(os.path.dirname(os.path.abspath(a.model)), exist_ok=True)
    base = os.path.abspath(a.model)
    cfg, text = base + ".json", base + ".txt"
    with open(cfg, "w") as f:
        json.dump({"model_type": "gpt2", "n_layer": 12, "n_head": 12, "n_embd": 768,
                   "n_positions": 1024}, f)
    words = ("the of and to in a is that for it as was with be by on not he this are or his "
             "from at which but have an they you were her she there one all we").split()
    with open(text, "w") as f:
        for i in range(400):
            f.write(" ".join(words[(i * 7 + j * 13) % len(words)] for j in range(20)) + ".\n")
    print("saving a GPT-2 124M-sized model (1 step, lr 0) -> %s" % a.model, flush=True)
    r = subprocess.run([a.zhuyi, "pretrain", "gpt", "--data", text, "--config", cfg,
                        "--tokenizer", tok, "--steps", "1", "--lr", "0", "--warmup", "0",
                        "--val-fraction", "0", "--batch", "1", "--seq", "16", "--save-every",
                        "0", "--out", a.model], capture_output=True, text=True, timeout=600)
    if r.returncode:
        sys.exit("pretrain failed:\n" + r.stderr[-2000:])


def generate_time(a, n):
    t0 = time.monotonic()
    r = subprocess.run([a.zhuyi, "generate", a.model, "--prompt", PROMPT, "--max-tokens",
                        str(n), "--temperature", "0", "--threads", str(a.threads), "--ids"],
                       capture_output=True, text=True, timeout=a.request_timeout)
    dt = time.monotonic() - t0
    if r.returncode:
        sys.exit("zhuyi generate failed: " + r.stderr[-1000:])
    return dt, len(r.stdout.split())


def start_server(a):
    p = subprocess.Popen([a.zhuyi, "serve", "--model", "gpt2=" + a.model, "--port", "0",
                          "--parallel", str(a.parallel), "--threads", str(a.threads),
                          "--timeout", "600"],
                         stderr=subprocess.PIPE, text=True)
    t_end = time.monotonic() + 120
    log = []
    while time.monotonic() < t_end:
        line = p.stderr.readline()
        if not line:
            break
        log.append(line)
        if "listening on http://127.0.0.1:" in line:
            port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, port
    p.kill()
    sys.exit("zhuyi serve did not start:\n" + "".join(log[-10:]))


def stream_one(con, a, i):
    """One streamed completion: (ttft, total, completion tokens, prompt tokens)."""
    body = json.dumps({"model": "gpt2", "prompt": PROMPT, "max_tokens": a.max_tokens,
                       "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}})
    t0 = time.monotonic()
    con.request("POST", "/v1/completions", body=body,
                headers={"Content-Type": "application/json"})
    r = con.getresponse()
    if r.status != 200:
        raise RuntimeError("status %d: %r" % (r.status, r.read()[:300]))
    ttft, usage = None, None
    for _ in range(100000):
        line = r.readline()
        if not line:
            raise RuntimeError("stream ended without [DONE]")
        if not line.startswith(b"data: "):
            continue
        if line.strip() == b"data: [DONE]":
            break
        c = json.loads(line[6:])
        if ttft is None and c["choices"] and c["choices"][0]["text"]:
            ttft = time.monotonic() - t0
        if c.get("usage"):
            usage = c["usage"]
    r.read()
    total = time.monotonic() - t0
    return ttft if ttft is not None else total, total, usage["completion_tokens"], usage["prompt_tokens"]


def level(a, port, clients):
    res, errs, lock = [], [], threading.Lock()

    def client(k):
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=a.request_timeout)
        try:
            for i in range(a.per_client):
                x = stream_one(con, a, i)
                with lock:
                    res.append(x)
        except Exception as e:  # reported, and the run fails
            with lock:
                errs.append("%s: %s" % (type(e).__name__, e))
        finally:
            con.close()

    ths = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    t0 = time.monotonic()
    for t in ths:
        t.start()
    for t in ths:
        t.join(max(1.0, a.deadline - time.monotonic()))
    wall = time.monotonic() - t0
    if any(t.is_alive() for t in ths):
        errs.append("the level did not finish within --time-limit")
    return res, errs, wall


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zhuyi", default=os.path.join(root, "build/zhuyi"))
    ap.add_argument("--model", default=os.path.join(root, "build/bench-serve/gpt2"))
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("ZY_THREADS", "0"))
                    or os.cpu_count())
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--per-client", type=int, default=2, help="requests per client")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--request-timeout", type=float, default=900.0)
    ap.add_argument("--time-limit", type=float, default=1800.0)
    a = ap.parse_args()
    a.root = root
    a.deadline = time.monotonic() + a.time_limit
    ensure_model(a)
    info = subprocess.run([a.zhuyi, "info"], capture_output=True, text=True).stdout
    cpu = next((l.split(":", 1)[1].strip() for l in info.split("\n") if l.startswith("cpu:")), "?")
    print("zhuyi serve streaming throughput, %s, %d threads, --parallel %d, %d tokens a "
          "request, temperature 0" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                       a.threads, a.parallel, a.max_tokens))
    print("cpu: %s; load average at start: %s" % (cpu, open("/proc/loadavg").read().split()[0]))
    t1, n1 = generate_time(a, 1)
    tn, nn = generate_time(a, a.max_tokens)
    dec = (nn - n1) / (tn - t1) if tn > t1 else float("nan")
    print("baseline zhuyi generate: %d tokens in %.2f s (1 token: %.2f s): decode %.1f tokens/s, "
          "%.1f tokens/s whole" % (nn, tn, t1, dec, nn / tn))
    p, port = start_server(a)
    ok = True
    try:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=a.request_timeout)
        body = json.dumps({"model": "gpt2", "prompt": PROMPT, "max_tokens": 4, "temperature": 0})
        con.request("POST", "/v1/completions", body=body)  # warm-up
        r = con.getresponse()
        r.read()
        con.request("POST", "/v1/tokenize", body=json.dumps({"model": "gpt2", "input": PROMPT}))
        ptoks = len(json.loads(con.getresponse().read())["tokens"])
        con.close()
        print("prompt: %d tokens" % ptoks)
        print("| clients | requests | tokens | wall s | aggregate tok/s | vs generate decode |"
              " TTFT p50 / p99 ms | total p50 / p99 s |")
        print("|---:|---:|---:|---:|---:|---:|---|---|")
        for c in [int(x) for x in a.clients.split(",")]:
            res, errs, wall = level(a, port, c)
            if errs:
                ok = False
                print("clients %d: %d errors: %s" % (c, len(errs), errs[0]))
            if not res:
                continue
            toks = sum(x[2] for x in res)
            ttft = [x[0] for x in res]
            tot = [x[1] for x in res]
            print("| %d | %d | %d | %.1f | %.1f | %.2f× | %.0f / %.0f | %.2f / %.2f |"
                  % (c, len(res), toks, wall, toks / wall, toks / wall / dec, 1e3 * pct(ttft, 50),
                     1e3 * pct(ttft, 99), pct(tot, 50), pct(tot, 99)), flush=True)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(120)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "killed"
        if rc != 0:
            print("zhuyi serve exited %s after SIGTERM" % rc)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
