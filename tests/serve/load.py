#!/usr/bin/python3
"""A load client for `zhuyi serve` (Python 3 standard library only).

CLIENTS threads, each with its own keep-alive http.client connection, send REQUESTS
requests in all, a fixed mix of valid and malformed ones, and check every answer: its
status for its kind, the OpenAI error shape {"error": {"message", "type", "param",
"code"}} on errors (and the param at fault where it is known), and well-formed success
bodies (completions, streams read to "data: [DONE]", tokenize, models, health); some
streams are dropped after their first chunk. Greedy
completions (temperature 0) must be repeatable: every answer for the same prompt and
max_tokens, streamed or not, must be the same text.

It reports requests/s, p50/p99/max latency per kind and overall, counts by kind and status,
the unexpected results (which must be none), the server's gauges once the run is over
(/metrics: no slot busy, nothing queued, one connection, within 15 s), and the server's
resident memory (VmRSS of
--pid) at the start, after a warm-up (WARMUP requests of the same mix, not counted) and
after the run. Exit status 1 on any unexpected result, on an RSS growth after the warm-up
of --rss-mib MiB or more and --rss-pct percent or more (both bounds exceeded), or when the
run does not end within --time-limit seconds; 2 on bad usage. --rss-mib 0 reports the RSS
without checking it (under AddressSanitizer, whose quarantine holds up to 256 MiB of freed
memory, growth says nothing; LeakSanitizer's report at exit stands in for it).

The server is expected to serve a byte-level causal LM under --model (its context
--context positions) with --max-body --max-body; --api-key KEY when it was started with one
(then requests with a wrong or missing key are part of the mix and must get 401).

  /usr/bin/python3 tests/serve/load.py --url http://127.0.0.1:PORT --pid PID \\
      --model tiny --context 64 --max-body 65536 [--api-key KEY]
"""
import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

# ---- the mix -------------------------------------------------------------------------------
# kind -> weight. The valid kinds are most of the traffic.
MIX = [
    ("completion", 22), ("stream", 14), ("stream_hangup", 2), ("chat", 6), ("tokenize", 8), ("detokenize", 3),
    ("models", 5), ("model_one", 2), ("health", 5), ("metrics", 1),
    ("bad_json", 3), ("not_object", 1), ("empty_body", 1), ("wrong_type", 4),
    ("missing_field", 3), ("negative_max_tokens", 2), ("huge_max_tokens", 2),
    ("max_tokens_past_context", 2), ("unknown_model", 3), ("too_big", 2), ("bad_utf8", 3),
    ("long_prompt", 3), ("unknown_path", 1), ("wrong_method", 1), ("bad_token_id", 1),
    ("wrong_key", 3),
]
PROMPTS = ["The", "The cat", "In the", "café", "The cat sat on", "注意", "a", "word;",
           "In the beginning was", "naïve 中文"]


class Unexpected(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Unexpected(what)


def check_error(status, body, want_status, param=None, code=None):
    """An OpenAI-shaped error with this status (and param / code when given)."""
    check(status == want_status, "status %d, expected %d" % (status, want_status))
    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Unexpected("error body is not JSON: %r" % body[:200])
    check(isinstance(d, dict) and set(d) == {"error"}, "error body has keys %r" % list(d))
    e = d["error"]
    check(isinstance(e, dict) and set(e) == {"message", "type", "param", "code"},
          "error object has keys %r" % (list(e) if isinstance(e, dict) else e))
    check(isinstance(e["message"], str) and e["message"], "error message %r" % e["message"])
    check(isinstance(e["type"], str) and e["type"], "error type %r" % e["type"])
    check(e["param"] is None or isinstance(e["param"], str), "error param %r" % e["param"])
    check(e["code"] is None or isinstance(e["code"], str), "error code %r" % e["code"])
    if param is not None:
        check(e["param"] == param, "error param %r, expected %r" % (e["param"], param))
    if code is not None:
        check(e["code"] == code, "error code %r, expected %r" % (e["code"], code))


def json_body(body):
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Unexpected("body is not JSON: %r" % body[:200])


class Runner:
    def __init__(self, a):
        self.a = a
        u = urllib.parse.urlsplit(a.url)
        self.host, self.port = u.hostname, u.port or 80
        self.lock = threading.Lock()
        self.greedy = {}            # (prompt, max_tokens) -> text (non-stream and stream)
        self.lat = {}               # kind -> [seconds]
        self.counts = {}            # (kind, status) -> n
        self.unexpected = []        # (kind, what)
        self.n_unexpected = 0
        self.reconnects = 0
        self.deadline = 0.0
        self.next_i = 0
        self.total = 0
        self.done = 0
        self.record = True
        self.timed_out = False

    # ---- requests ----
    def headers(self, key=True):
        h = {"Content-Type": "application/json"}
        if key and self.a.api_key:
            h["Authorization"] = "Bearer " + self.a.api_key
        return h

    def greedy_same(self, prompt, max_tokens, text, what):
        k = (prompt, max_tokens)
        with self.lock:
            prev = self.greedy.setdefault(k, text)
        check(prev == text, "%s: greedy text for %r/%d differs: %r vs %r"
              % (what, prompt, max_tokens, text, prev))

    def one(self, con, kind, rnd, got):
        """Send one request of this kind on con and check the answer; got[0] = the status."""
        a = self.a
        m = a.model
        method, path, body, hdr = "POST", "/v1/completions", None, self.headers()
        param = None  # the field an error must name
        prompt = rnd.choice(PROMPTS)
        mt = rnd.randint(1, 8)
        if kind == "stream_hangup":  # read the first chunk, then drop the connection
            body = {"model": m, "prompt": prompt, "max_tokens": 50, "stream": True}
        elif kind in ("completion", "stream"):
            body = {"model": m, "prompt": prompt, "max_tokens": mt, "temperature": 0}
            if kind == "stream":
                body["stream"] = True
                if rnd.random() < 0.5:
                    body["stream_options"] = {"include_usage": True}
        elif kind == "chat":
            path = "/v1/chat/completions"
            body = {"model": m, "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": mt, "temperature": 0}
        elif kind == "tokenize":
            path, body = "/v1/tokenize", {"model": m, "input": prompt}
        elif kind == "detokenize":
            path = "/v1/detokenize"
            body = {"model": m, "tokens": list(prompt.encode("utf-8"))}
        elif kind in ("models", "model_one", "health", "metrics"):
            method = "GET"
            path = {"models": "/v1/models", "model_one": "/v1/models/" + m,
                    "health": "/health", "metrics": "/metrics"}[kind]
        elif kind == "bad_json":
            body = rnd.choice([b'{"model": "%s", "prompt": "x"' % m.encode(), b"{,}",
                               b'{"model": tiny}', b"nul", b'{"a": 1} trailing', b"\x00\x01"])
        elif kind == "not_object":
            body = rnd.choice([b"[1, 2]", b'"text"', b"42", b"null"])
        elif kind == "empty_body":
            body = b""
        elif kind == "wrong_type":
            field, val = rnd.choice([("max_tokens", "5"), ("temperature", [0]), ("n", "2"),
                                     ("stream", "yes"), ("prompt", 3.5), ("top_p", {}),
                                     ("model", 7), ("seed", "1")])
            body = {"model": m, "prompt": "x", "max_tokens": 1}
            body[field] = val
            param = field
        elif kind == "missing_field":
            if rnd.random() < 0.5:
                param, body = "prompt", {"model": m, "max_tokens": 1}
            else:
                param, path = "messages", "/v1/chat/completions"
                body = {"model": m, "max_tokens": 1}
        elif kind == "negative_max_tokens":
            body = {"model": m, "prompt": "x", "max_tokens": rnd.choice([-1, -1000, -2 ** 31])}
        elif kind == "huge_max_tokens":
            body = {"model": m, "prompt": "x", "max_tokens": rnd.choice([2 ** 31, 2 ** 40, 1e300])}
        elif kind == "max_tokens_past_context":
            body = {"model": m, "prompt": "The", "max_tokens": rnd.choice([10 ** 6, 2 ** 30 - 1]),
                    "temperature": 0}
        elif kind == "unknown_model":
            body = {"model": "no-such-model-%d" % rnd.randint(0, 99), "prompt": "x"}
        elif kind == "too_big":
            body = b'{"model": "%s", "prompt": "' % m.encode() + b"x" * (a.max_body + 1) + b'"}'
        elif kind == "bad_utf8":
            body = rnd.choice([b'{"model": "%s", "prompt": "\xff\xfe abc", "max_tokens": 1}',
                               b'{"model": "%s", "prompt": "ab\xc3", "max_tokens": 1}',
                               b'{"model": "%s", "prompt": "\xed\xa0\x80", "max_tokens": 1}',
                               b'{"model": "%s", "prompt": "\xc0\xaf", "max_tokens": 1}'])
            body = body.replace(b"%s", m.encode())
        elif kind == "long_prompt":
            body = {"model": m, "prompt": "x" * (a.context + rnd.randint(1, 100)), "max_tokens": 1}
        elif kind == "unknown_path":
            path, body = "/v1/nowhere", {}
        elif kind == "wrong_method":
            method = "GET"
        elif kind == "bad_token_id":
            body = {"model": m, "prompt": [5, 100000], "max_tokens": 1}
        elif kind == "wrong_key":
            hdr = self.headers(key=False)
            if rnd.random() < 0.5:
                hdr["Authorization"] = "Bearer wrong-" + a.api_key
            body = {"model": m, "prompt": "x", "max_tokens": 1}
        else:
            raise AssertionError(kind)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        con.request(method, path, body=body, headers=hdr)
        r = con.getresponse()
        st = got[0] = r.status
        if kind == "stream" and st == 200:
            self.check_stream(r, body, prompt, mt)
            return st, r
        if kind == "stream_hangup" and st == 200:
            line = r.readline(1 << 20)
            check(line.startswith(b"data: {"), "first stream line %r" % line[:100])
            json_body(line[6:].strip())
            r.will_close = True  # the caller closes the connection: the hang-up
            return st, r
        data = r.read()
        self.check_answer(kind, st, data, r, prompt, mt, param)
        return st, r

    def check_stream(self, r, body, prompt, mt):
        check(r.getheader("Content-Type", "").startswith("text/event-stream"),
              "stream content type %r" % r.getheader("Content-Type"))
        want_usage = b"include_usage" in body
        text, fin, usage, done, n = [], [], None, False, 0
        while True:
            line = r.readline(1 << 20)
            check(line, "stream ended without data: [DONE]")
            n += 1
            check(n < 10000, "stream longer than 10000 lines")
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            check(line.startswith(b"data: "), "stream line %r" % line[:100])
            ev = line[6:]
            if ev == b"[DONE]":
                done = True
                break
            c = json_body(ev)
            check(c.get("object") == "text_completion", "chunk object %r" % c.get("object"))
            if c.get("usage"):
                usage = c["usage"]
            for ch in c["choices"]:
                check(isinstance(ch["text"], str), "chunk text %r" % ch)
                text.append(ch["text"])
                if ch.get("finish_reason"):
                    fin.append(ch["finish_reason"])
        check(done, "no [DONE]")
        rest = r.read()
        check(rest.strip() == b"", "bytes after [DONE]: %r" % rest[:100])
        check(len(fin) == 1 and fin[0] in ("length", "stop"), "stream finish_reason %r" % fin)
        if want_usage:
            check(usage and 1 <= usage["completion_tokens"] <= mt, "stream usage %r" % usage)
        self.greedy_same(prompt, mt, "".join(text), "stream")

    def check_answer(self, kind, st, data, r, prompt, mt, param):
        m = self.a.model
        if kind == "completion":
            check(st == 200, "status %d: %r" % (st, data[:200]))
            d = json_body(data)
            check(d["object"] == "text_completion" and d["model"] == m and len(d["choices"]) == 1,
                  "completion %r" % d)
            c = d["choices"][0]
            check(c["index"] == 0 and c["finish_reason"] in ("length", "stop"), "choice %r" % c)
            u = d["usage"]
            check(1 <= u["completion_tokens"] <= mt and u["prompt_tokens"] == len(prompt.encode())
                  and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"],
                  "usage %r" % u)
            self.greedy_same(prompt, mt, c["text"], "completion")
        elif kind in ("stream", "stream_hangup"):
            check_error(st, data, 200)  # not 200: fails with the status in the message
        elif kind == "chat":
            check(st == 200, "status %d: %r" % (st, data[:200]))
            d = json_body(data)
            c = d["choices"][0]
            check(d["object"] == "chat.completion" and c["message"]["role"] == "assistant"
                  and isinstance(c["message"]["content"], str)
                  and c["finish_reason"] in ("length", "stop")
                  and 0 <= d["usage"]["completion_tokens"] <= mt, "chat %r" % d)
        elif kind == "tokenize":
            check(st == 200, "status %d: %r" % (st, data[:200]))
            d = json_body(data)
            check(d["tokens"] == list(prompt.encode("utf-8")), "tokens %r for %r" % (d, prompt))
        elif kind == "detokenize":
            check(st == 200, "status %d: %r" % (st, data[:200]))
            check(json_body(data)["text"] == prompt, "detokenize %r" % data[:200])
        elif kind == "models":
            check(st == 200, "status %d" % st)
            d = json_body(data)
            check(d["object"] == "list" and any(x["id"] == m for x in d["data"]), "models %r" % d)
        elif kind == "model_one":
            check(st == 200, "status %d" % st)
            d = json_body(data)
            check(d["id"] == m and d["object"] == "model", "model %r" % d)
        elif kind == "health":
            check(st == 200 and json_body(data) == {"status": "ok"}, "health %d %r" % (st, data))
        elif kind == "metrics":
            check(st == 200 and b"zhuyi_requests_total" in data, "metrics %d" % st)
        elif kind in ("bad_json", "not_object", "empty_body"):
            check_error(st, data, 400)
        elif kind in ("wrong_type", "missing_field"):
            check_error(st, data, 400, param=param)
        elif kind in ("negative_max_tokens", "huge_max_tokens"):
            check_error(st, data, 400, param="max_tokens")
        elif kind == "max_tokens_past_context":
            # accepted: generates up to the end of the context
            check(st == 200, "status %d: %r" % (st, data[:200]))
            d = json_body(data)
            u = d["usage"]
            check(d["choices"][0]["finish_reason"] in ("length", "stop") and
                  1 <= u["completion_tokens"] <= self.a.context - u["prompt_tokens"],
                  "past context: %r" % u)
        elif kind == "unknown_model":
            check_error(st, data, 404, param="model", code="model_not_found")
        elif kind == "too_big":
            check_error(st, data, 413)
        elif kind == "bad_utf8":
            check(400 <= st < 500, "invalid UTF-8 in the body: status %d (a 4xx expected): %r"
                  % (st, data[:200]))
            check_error(st, data, st)
        elif kind == "long_prompt":
            check_error(st, data, 400, param="prompt")
        elif kind == "unknown_path":
            check_error(st, data, 404)
        elif kind == "wrong_method":
            check_error(st, data, 405)
        elif kind == "bad_token_id":
            check_error(st, data, 400, param="prompt")
        elif kind == "wrong_key":
            check_error(st, data, 401, code="invalid_api_key")
            check(r.getheader("WWW-Authenticate", "").startswith("Bearer"), "401 without WWW-Authenticate")

    # ---- a client thread ----
    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=self.a.request_timeout)

    def client(self, tid, kinds, weights):
        rnd = random.Random(self.a.seed * 1000 + tid)
        con = self.connect()
        try:
            while True:
                with self.lock:
                    if self.next_i >= self.total:
                        return
                    self.next_i += 1
                if time.monotonic() > self.deadline:
                    with self.lock:
                        self.timed_out = True
                    return
                kind = rnd.choices(kinds, weights)[0]
                t0 = time.monotonic()
                err, got = None, ["no answer"]
                try:
                    st, r = self.one(con, kind, rnd, got)
                    if r.will_close:  # closed after this answer (or hung up): a new connection
                        con.close()
                        con = self.connect()
                        if kind != "stream_hangup":
                            with self.lock:
                                self.reconnects += 1
                except Unexpected as e:
                    err = str(e)
                except (OSError, http.client.HTTPException) as e:
                    err = "%s: %s" % (type(e).__name__, e)
                if err is not None:
                    con.close()
                    con = self.connect()
                    with self.lock:
                        self.reconnects += 1
                dt = time.monotonic() - t0
                status = got[0]
                with self.lock:
                    self.done += 1
                    if not self.record:
                        if err is not None:
                            self.n_unexpected += 1
                            if sum(k == "warm-up " + kind for k, _ in self.unexpected) < 3:
                                self.unexpected.append(("warm-up " + kind, err))
                        continue
                    self.lat.setdefault(kind, []).append(dt)
                    self.counts[(kind, status)] = self.counts.get((kind, status), 0) + 1
                    if err is not None:
                        self.n_unexpected += 1
                        if sum(k == kind for k, _ in self.unexpected) < 3:
                            self.unexpected.append((kind, "status %s: %s" % (status, err)))
        finally:
            con.close()

    def run(self, n, record):
        kinds = [k for k, _ in MIX if k != "wrong_key" or self.a.api_key]
        weights = [w for k, w in MIX if k != "wrong_key" or self.a.api_key]
        self.total, self.next_i, self.done, self.record = n, 0, 0, record
        ths = [threading.Thread(target=self.client, args=(t, kinds, weights), daemon=True)
               for t in range(self.a.clients)]
        t0 = time.monotonic()
        for t in ths:
            t.start()
        for t in ths:
            t.join(max(0.0, self.deadline + self.a.request_timeout + 5 - time.monotonic()))
        alive = sum(t.is_alive() for t in ths)
        if alive:
            self.timed_out = True
        return time.monotonic() - t0, alive


def server_gauges(R):
    """The server's gauges from /metrics: {name: value}, or {} when it does not answer."""
    con = R.connect()
    try:
        con.request("GET", "/metrics", headers=R.headers())
        r = con.getresponse()
        text = r.read().decode("utf-8", "replace")
        if r.status != 200:
            return {}
    except (OSError, http.client.HTTPException):
        return {}
    finally:
        con.close()
    g = {}
    for line in text.split("\n"):
        if line.startswith(("zhuyi_slots_busy ", "zhuyi_queue_depth ", "zhuyi_connections ")):
            k, v = line.split()
            g[k] = int(float(v))
    return g


def rss_kib(pid):
    if not pid:
        return None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, default=0, help="the server's PID (for VmRSS)")
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--context", type=int, default=64, help="the model's positions")
    ap.add_argument("--max-body", type=int, default=65536, help="the server's --max-body")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--request-timeout", type=float, default=60.0)
    ap.add_argument("--time-limit", type=float, default=900.0, help="seconds for the whole run")
    ap.add_argument("--rss-mib", type=float, default=10.0)
    ap.add_argument("--rss-pct", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.clients < 1 or a.requests < 1 or a.max_body < 1:
        ap.error("--clients, --requests and --max-body must be positive")
    R = Runner(a)
    R.deadline = time.monotonic() + a.time_limit
    rss0 = rss_kib(a.pid)
    R.run(a.warmup, record=False)
    warm_bad = R.n_unexpected
    rss1 = rss_kib(a.pid)
    secs, alive = R.run(a.requests, record=True)
    # the server settles: no slot busy, nothing queued, no connection but the one asking
    # (a hung-up stream frees its slot at the engine's next step)
    t_settle = time.monotonic()
    while True:
        gauges = server_gauges(R)
        settled = gauges == {"zhuyi_slots_busy": 0, "zhuyi_queue_depth": 0, "zhuyi_connections": 1}
        if settled or time.monotonic() - t_settle > 15:
            break
        time.sleep(0.2)
    t_settle = time.monotonic() - t_settle
    rss2 = rss_kib(a.pid)

    n = sum(R.counts.values())
    print("load: %d clients, %d requests (+%d warm-up) in %.1f s: %.0f requests/s%s"
          % (a.clients, n, a.warmup, secs, n / secs if secs else 0,
             ", %d reconnects" % R.reconnects if R.reconnects else ""))
    allat = [x for v in R.lat.values() for x in v]
    print("%-24s %6s %9s %9s %9s   %s" % ("kind", "n", "p50 ms", "p99 ms", "max ms", "statuses"))
    for k, _ in MIX:
        if k not in R.lat:
            continue
        st = sorted(((s, c) for (kk, s), c in R.counts.items() if kk == k), key=str)
        v = R.lat[k]
        print("%-24s %6d %9.1f %9.1f %9.1f   %s" % (k, len(v), 1e3 * pct(v, 50), 1e3 * pct(v, 99),
              1e3 * max(v), " ".join("%s:%d" % sc for sc in st)))
    print("%-24s %6d %9.1f %9.1f %9.1f" % ("all", len(allat), 1e3 * pct(allat, 50),
          1e3 * pct(allat, 99), 1e3 * max(allat) if allat else 0))
    ok = settled
    print("afterwards (%.1f s): %s%s" % (t_settle, " ".join("%s %d" % kv for kv in sorted(gauges.items())),
          "" if settled else ": FAIL: not settled (slots busy 0, queue 0, connections 1 expected)"))
    print("unexpected results: %d (warm-up %d)" % (R.n_unexpected, warm_bad))
    for k, e in R.unexpected[:40]:
        print("  %s: %s" % (k, e[:300]))
    if R.n_unexpected:
        ok = False
    if R.timed_out or alive:
        print("load: FAIL: the run did not finish within --time-limit %.0f s (%d clients still "
              "running, %d of %d requests done)" % (a.time_limit, alive, R.done, a.requests))
        ok = False
    elif n != a.requests:
        print("load: FAIL: %d requests answered of %d" % (n, a.requests))
        ok = False
    if a.pid:
        if None in (rss0, rss1, rss2):
            print("load: FAIL: cannot read VmRSS of pid %d" % a.pid)
            ok = False
        else:
            g = rss2 - rss1
            bound_k = max(a.rss_mib * 1024, a.rss_pct / 100.0 * rss1)
            flat = g < bound_k or a.rss_mib <= 0
            print("server RSS: %.1f MiB at start, %.1f MiB after warm-up, %.1f MiB after the run:"
                  " %+.1f MiB (%+.1f%%) since the warm-up, %s"
                  % (rss0 / 1024, rss1 / 1024, rss2 / 1024, g / 1024, 100.0 * g / rss1,
                     "not checked (--rss-mib 0)" if a.rss_mib <= 0 else
                     "bound %.1f MiB (%s)" % (bound_k / 1024, "flat" if flat else "GROWS")))
            ok = ok and flat
    print("load: %s" % ("ok" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
