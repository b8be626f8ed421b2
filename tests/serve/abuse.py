#!/usr/bin/python3
"""Abusive clients of `zhuyi serve` (Python 3 standard library only).

1. Slow-loris: --slowloris connections trickle a request a byte at a time (half of them
   the header lines, half a body under a Content-Length) for --slow-seconds; meanwhile
   /health on a fresh connection must answer 200 every time it is asked.
2. Idle connections: --idle TCP connections are opened and left silent for --hold
   seconds. Below the server's --connections (--limit) /health on a fresh connection must
   still answer; at or beyond it the server may not take more, so the script reports what
   /health did while they were open and requires only that it answers again once they are
   closed. With --timeout S (the server's --timeout) not above --hold, the server must
   have closed the idle connections itself by the end of the hold.
3. Afterwards the server must be healthy, its open connections (zhuyi_connections in
   /metrics) back to one (the one asking), its thread count back to where it was, and its
   resident memory (VmRSS of --pid) within --rss-mib MiB of what it was before (0: the
   RSS is reported, not checked; for AddressSanitizer builds).

Every wait is bounded; exit status 1 on any failure.

  /usr/bin/python3 tests/serve/abuse.py --url http://127.0.0.1:PORT --pid PID \\
      --limit 1100 [--idle 1000] [--timeout S] [--api-key KEY]
"""
import argparse
import http.client
import socket
import sys
import threading
import time
import urllib.parse

fails = []


def ok(what):
    print("ok   " + what)


def bad(what):
    fails.append(what)
    print("FAIL " + what)


def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class Server:
    def __init__(self, url, pid, api_key):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.pid = u.hostname, u.port or 80, pid
        self.hdr = {"Authorization": "Bearer " + api_key} if api_key else {}

    def get(self, path, timeout=5.0):
        """(status, body) of GET path on a fresh connection, or (None, error)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            c.request("GET", path, headers=self.hdr)
            r = c.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            return None, "%s: %s" % (type(e).__name__, e)
        finally:
            c.close()

    def health(self, timeout=5.0):
        t0 = time.monotonic()
        st, body = self.get("/health", timeout)
        return st == 200 and b'"ok"' in body, time.monotonic() - t0, st, body

    def connections(self):
        st, body = self.get("/metrics")
        if st != 200:
            return None
        for line in body.decode("utf-8", "replace").split("\n"):
            if line.startswith("zhuyi_connections "):
                return int(float(line.split()[1]))
        return None

    def rss(self):
        return proc_status(self.pid, "VmRSS") if self.pid else None

    def threads(self):
        return proc_status(self.pid, "Threads") if self.pid else None


def probe_health(srv, stop, every, results):
    """/health on a fresh connection every `every` seconds until stop is set."""
    while not stop.wait(every):
        results.append(srv.health())


def slowloris(srv, a):
    host = "%s:%d" % (srv.host, srv.port)
    heads = ("POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "X-Padding: %s\r\n" % (host, "a" * 200)).encode()
    body = b'{"model": "tiny", "prompt": "' + b"x" * 500 + b'", "max_tokens": 1}'
    with_body = ("POST /v1/tokenize HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n" % (host, len(body))).encode()
    socks = []
    for i in range(a.slowloris):
        s = socket.create_connection((srv.host, srv.port), timeout=5)
        if i % 2:
            s.sendall(with_body)
            socks.append([s, body, 0])  # trickles the body
        else:
            socks.append([s, heads, 0])  # trickles the headers (never ends them)
    stop = threading.Event()
    res = []
    prober = threading.Thread(target=probe_health, args=(srv, stop, 0.5, res), daemon=True)
    prober.start()
    t_end = time.monotonic() + a.slow_seconds
    sent = closed = 0
    while time.monotonic() < t_end:
        for e in socks:
            s, data, k = e
            if s is None or k >= len(data):
                continue
            try:
                s.send(data[k:k + 1])
                e[2] += 1
                sent += 1
            except OSError:
                s.close()
                e[0] = None
                closed += 1
        time.sleep(a.trickle)
    stop.set()
    prober.join(10)
    for s, _, _ in socks:
        if s:
            s.close()
    good = [r for r in res if r[0]]
    worst = max((r[1] for r in res), default=0)
    msg = ("slow-loris: %d connections trickled %d bytes over %.0f s (%d closed by the server);"
           " /health on a fresh connection %d/%d times, slowest %.0f ms"
           % (a.slowloris, sent, a.slow_seconds, closed, len(good), len(res), 1e3 * worst))
    (ok if res and len(good) == len(res) else bad)(msg)


def idle(srv, a):
    c0 = srv.connections()
    socks, refused = [], 0
    t0 = time.monotonic()
    for i in range(a.idle):
        try:
            socks.append(socket.create_connection((srv.host, srv.port), timeout=5))
        except OSError:
            refused += 1
        if time.monotonic() - t0 > 60:
            break
    time.sleep(1.0)
    hit = a.limit and len(socks) + 1 >= a.limit
    h = srv.health(timeout=5.0)
    conns = srv.connections()
    what = ("%d idle connections open (%d refused at connect), server's --connections %s: "
            % (len(socks), refused, a.limit or "?"))
    if not hit:
        (ok if h[0] else bad)(what + "/health on a fresh connection answered in %.0f ms, "
                              "zhuyi_connections %s" % (1e3 * h[1], conns) if h[0] else
                              what + "/health on a fresh connection failed: %s %r" % (h[2], h[3]))
    else:
        ok(what + "the limit is reached; while they are open /health on a fresh connection "
           + ("answered in %.0f ms" % (1e3 * h[1]) if h[0] else
              "did not answer (%s %r)" % (h[2], str(h[3])[:80])))
    # held; a server --timeout within the hold closes them itself
    hold_end = t0 + a.hold
    while time.monotonic() < hold_end:
        time.sleep(0.2)
    if a.timeout and a.timeout + 1 < a.hold:
        closed = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                closed += s.recv(1) == b""
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        accepted = min(len(socks), (a.limit - 1) if a.limit else len(socks))
        (ok if closed >= accepted else bad)(
            "idle: %.0f s after opening them, with --timeout %d s, the server has closed %d of the "
            "%d idle connections (it holds %d at a time)"
            % (a.hold, a.timeout, closed, len(socks), accepted))
    for s in socks:
        s.close()
    # /health answers again once they are closed
    t1 = time.monotonic()
    while True:
        h = srv.health(timeout=2.0)
        if h[0] or time.monotonic() - t1 > 20:
            break
        time.sleep(0.2)
    (ok if h[0] else bad)("idle connections closed: /health answers again after %.1f s"
                          % (time.monotonic() - t1) if h[0] else
                          "/health does not answer 20 s after the idle connections closed")
    return c0


def settle(srv, a, rss0, thr0):
    """Open connections back to one, threads and RSS back near where they were."""
    t1 = time.monotonic()
    while True:
        c = srv.connections()
        th = srv.threads()
        if (c == 1 and (thr0 is None or th is None or th <= thr0)) or time.monotonic() - t1 > 30:
            break
        time.sleep(0.25)
    (ok if c == 1 else bad)("afterwards zhuyi_connections is %s (the one asking) after %.1f s"
                            % (c, time.monotonic() - t1))
    if thr0 is not None:
        th = srv.threads()
        (ok if th is not None and th <= thr0 else bad)(
            "server threads %s before, %s after" % (thr0, th))
    h = srv.health()
    (ok if h[0] else bad)("healthy afterwards (/health %s)" % h[2])
    if rss0 is not None:
        rss1 = srv.rss()
        g = (rss1 - rss0) / 1024.0 if rss1 is not None else float("inf")
        (ok if g < a.rss_mib or a.rss_mib <= 0 else bad)(
            "server RSS %.1f MiB before, %.1f MiB after: %+.1f MiB (%s)"
            % (rss0 / 1024.0, (rss1 or 0) / 1024.0, g, "bound %.0f MiB" % a.rss_mib
               if a.rss_mib > 0 else "not checked: --rss-mib 0"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--slowloris", type=int, default=8, help="slow connections")
    ap.add_argument("--slow-seconds", type=float, default=10.0)
    ap.add_argument("--trickle", type=float, default=0.25, help="seconds between bytes")
    ap.add_argument("--idle", type=int, default=1000, help="idle connections")
    ap.add_argument("--hold", type=float, default=5.0, help="seconds to hold them")
    ap.add_argument("--limit", type=int, default=0, help="the server's --connections")
    ap.add_argument("--timeout", type=int, default=0, help="the server's --timeout")
    ap.add_argument("--rss-mib", type=float, default=16.0)
    ap.add_argument("--api-key", default="", help="the server's --api-key (for /metrics)")
    a = ap.parse_args()
    srv = Server(a.url, a.pid, a.api_key)
    h = srv.health()
    if not h[0]:
        bad("the server is not healthy to begin with: %s %r" % (h[2], h[3]))
        return 1
    # warm-up: a few connections, so that RSS counts what any connection costs once
    for _ in range(20):
        srv.health()
    time.sleep(0.5)
    rss0, thr0 = srv.rss(), srv.threads()
    if a.slowloris:
        slowloris(srv, a)
    if a.idle:
        idle(srv, a)
    settle(srv, a, rss0, thr0)
    print("abuse: %s" % ("ok" if not fails else "FAIL (%d)" % len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
