#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Lab client for the backends of tcp_server.py. Every mode is bounded in
connection count and in time, and prints one JSON object on stdout.

  burst ADDR PORT --count N --sport-base P [--parallel K] [--timeout S]
        N short connections from source ports P..P+N-1 (explicit, so a test
        never reuses a 5-tuple the director may still have in its connection
        table); each reads the greeting and closes.
        -> {"total", "ok", "errors", "counts": {backend: n}, "error_kinds"}

  echo ADDR PORT --bytes N --sport P [--timeout S]
        one connection that pushes N random bytes and checks they come back.
        -> {"backend", "bytes", "ok", "seconds", "error"}; exit 1 unless ok

  pingpong ADDR PORT --seconds S --sport P [--timeout S]
        one connection that sends a small message and waits for its echo,
        again and again for S seconds (many small packets both ways, like
        a database client's queries).
        -> {"backend", "round_trips", "ok", "seconds", "error"}; exit 1
        unless ok

  hold ADDR PORT --count N --sport-base P --ctl SOCK [--lifetime S]
        opens N connections and keeps them open; answers commands on the unix
        socket SOCK (created once the N connections are up):
          status   -> {"conns": [{"id", "sport", "backend", "alive"}]}
                      (alive: a fresh token is echoed on that very connection,
                      which only its original backend can do)
          open K   -> opens K more (next source ports), then as status
          quit     -> {"quit": true} and exit
  ctl SOCK CMD...
        sends one command to a hold process and prints its answer.

  flood ADDR PORT --src SRC=RATE ... --seconds S --sport-base P [--timeout S]
        [--seed N]
        paced new connections for S seconds: RATE per second from each
        source address SRC (one schedule each, on one selector loop); each
        reads the greeting and closes. A connection not answered within
        --timeout (default 0.8 s, under the 1 s initial SYN RTO, so no SYN
        is ever retransmitted) is abandoned. Source ports P, P+1, ...
        -> {"seconds", "sources": {SRC: {"offered", "ok", "span"}},
            "counts": {backend: n}}
        (span: seconds from the first to the last connection attempt)
"""
import argparse
import concurrent.futures
import json
import os
import random
import selectors
import socket
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def connect(addr, port, sport, timeout):
    fam = family_of(addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(timeout)
        if sport:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
        s.connect((addr, port))
        return s
    except BaseException:
        s.close()
        raise


def read_line(s, limit=256):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            raise ConnectionError("closed before greeting")
        buf += chunk
        if len(buf) > limit:
            raise ValueError("greeting too long")
    return buf.decode().strip()


def one_greeting(addr, port, sport, timeout):
    s = connect(addr, port, sport, timeout)
    try:
        return read_line(s)
    finally:
        s.close()


def cmd_burst(a):
    counts, kinds = {}, {}
    ok = 0

    def tally(kind):
        kinds[kind] = kinds.get(kind, 0) + 1

    with concurrent.futures.ThreadPoolExecutor(a.parallel) as ex:
        futs = [ex.submit(one_greeting, a.addr, a.port, a.sport_base + i,
                          a.timeout) for i in range(a.count)]
        done, late = concurrent.futures.wait(futs, timeout=a.deadline)
        for f in late:
            f.cancel()
            tally("deadline")
        for f in done:
            e = f.exception()
            if e is None:
                name = f.result()
                counts[name] = counts.get(name, 0) + 1
                ok += 1
            else:
                tally(type(e).__name__)
    print(json.dumps({"total": a.count, "ok": ok, "errors": a.count - ok,
                      "counts": counts, "error_kinds": kinds}))
    return 0


def cmd_echo(a):
    t0 = time.monotonic()
    res = {"backend": None, "bytes": a.bytes, "ok": False, "seconds": 0,
           "error": None}
    try:
        s = connect(a.addr, a.port, a.sport, a.timeout)
        res["backend"] = read_line(s)
        payload = os.urandom(a.bytes)
        got = bytearray()
        sent = 0
        s.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        deadline = t0 + a.timeout
        while len(got) < len(payload):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("echoed %d of %d bytes" %
                                   (len(got), len(payload)))
            for key, ev in sel.select(min(left, 1.0)):
                if ev & selectors.EVENT_WRITE and sent < len(payload):
                    try:
                        sent += s.send(payload[sent:sent + 65536])
                    except BlockingIOError:
                        pass
                    if sent == len(payload):
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    try:
                        chunk = s.recv(65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise ConnectionError("closed after %d bytes" %
                                              len(got))
                    got += chunk
        s.close()
        res["ok"] = bytes(got) == payload
        if not res["ok"]:
            res["error"] = "echoed bytes differ"
    except Exception as e:  # noqa: BLE001 - reported in the JSON
        res["error"] = "%s: %s" % (type(e).__name__, e)
    res["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(res))
    return 0 if res["ok"] else 1


def cmd_pingpong(a):
    t0 = time.monotonic()
    res = {"backend": None, "round_trips": 0, "ok": False, "seconds": 0,
           "error": None}
    try:
        s = connect(a.addr, a.port, a.sport, a.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        res["backend"] = read_line(s)
        end = t0 + a.seconds
        n = 0
        while time.monotonic() < end:
            msg = b"q%08d" % n
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    raise ConnectionError("closed after %d round trips" % n)
                got += chunk
            if got != msg:
                raise ValueError("bad echo after %d round trips" % n)
            n += 1
        res["round_trips"] = n
        s.close()
        res["ok"] = True
    except Exception as e:  # noqa: BLE001 - reported in the JSON
        res["error"] = "%s: %s" % (type(e).__name__, e)
    res["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(res))
    return 0 if res["ok"] else 1


class Holder:
    def __init__(self, a):
        self.a = a
        self.conns = []       # dicts: id, sport, backend, alive, sock
        self.next_sport = a.sport_base

    def open(self, n):
        for _ in range(n):
            c = {"id": len(self.conns), "sport": self.next_sport,
                 "backend": None, "alive": False, "sock": None}
            self.next_sport += 1
            try:
                s = connect(self.a.addr, self.a.port, c["sport"],
                            self.a.timeout)
                c["backend"] = read_line(s)
                c["sock"], c["alive"] = s, True
            except Exception as e:  # noqa: BLE001 - shown as not alive
                c["error"] = type(e).__name__
            self.conns.append(c)

    def probe(self, c):
        if not c["alive"]:
            return
        token = ("ping-%d-%d\n" % (c["id"], time.monotonic_ns())).encode()
        s = c["sock"]
        try:
            s.settimeout(self.a.timeout)
            s.sendall(token)
            got = b""
            while len(got) < len(token):
                chunk = s.recv(len(token) - len(got))
                if not chunk:
                    raise ConnectionError("closed")
                got += chunk
            if got != token:
                raise ValueError("bad echo")
        except Exception as e:  # noqa: BLE001 - the flow is dead
            c["alive"], c["error"] = False, type(e).__name__
            s.close()
            c["sock"] = None

    def status(self):
        for c in self.conns:
            self.probe(c)
        return {"conns": [{k: v for k, v in c.items() if k != "sock"}
                          for c in self.conns]}


def cmd_hold(a):
    h = Holder(a)
    h.open(a.count)
    try:
        os.unlink(a.ctl)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(a.ctl + ".tmp")
    srv.listen(4)
    os.rename(a.ctl + ".tmp", a.ctl)   # appears only once ready
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        srv.settimeout(max(0.1, end - time.monotonic()))
        try:
            cs, _ = srv.accept()
        except socket.timeout:
            break
        with cs:
            cs.settimeout(5)
            line = b""
            while not line.endswith(b"\n"):
                chunk = cs.recv(256)
                if not chunk:
                    break
                line += chunk
            words = line.decode().split()
            if not words:
                continue
            if words[0] == "quit":
                cs.sendall(b'{"quit": true}\n')
                break
            if words[0] == "open" and len(words) == 2:
                h.open(min(int(words[1]), 1000))
            if words[0] in ("status", "open"):
                out = h.status()
            else:
                out = {"error": "unknown command"}
            cs.sendall(json.dumps(out).encode() + b"\n")
    srv.close()
    os.unlink(a.ctl)
    return 0


def cmd_flood(a):
    sel = selectors.DefaultSelector()
    srcs = []
    for i, spec in enumerate(a.src):
        addr, _, rate = spec.partition("=")
        # Phases spread so that equal schedules interleave, and each
        # attempt jittered by up to ±0.4 of its interval (the mean rate
        # stays exact): lockstep sources against a refilling bucket would
        # otherwise hand its tokens to whichever comes first each time.
        srcs.append({"addr": addr, "rate": float(rate), "offered": 0,
                     "phase": i / len(a.src), "ok": 0, "first": None,
                     "last": None})
    rnd = random.Random(a.seed)
    for x in srcs:
        x["jit"] = rnd.uniform(-0.4, 0.4)
    counts = {}
    sport = a.sport_base
    t0 = time.monotonic()
    end = t0 + a.seconds
    live = {}   # sock -> [src, deadline, buf]

    def finish(s):
        sel.unregister(s)
        s.close()
        del live[s]

    while True:
        now = time.monotonic()
        if now >= end and not live:
            break
        for src in srcs:
            # Attempts due by now on this source's schedule.
            while now < end:
                due = t0 + (src["offered"] + src["phase"] +
                            src["jit"]) / src["rate"]
                if due > now:
                    break
                fam = family_of(a.addr)
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setblocking(False)
                s.bind((src["addr"], sport))
                sport += 1
                s.connect_ex((a.addr, a.port))
                src["offered"] += 1
                src["jit"] = rnd.uniform(-0.4, 0.4)
                src["first"] = src["first"] or now
                src["last"] = now
                live[s] = [src, now + a.timeout, b""]
                sel.register(s, selectors.EVENT_READ)
        dues = [t0 + (x["offered"] + x["phase"] + x["jit"]) / x["rate"]
                for x in srcs]
        nxt = min([d for d in dues if d < end] +
                  [v[1] for v in live.values()] + [end + 1])
        for key, _ in sel.select(max(0.0, min(nxt - time.monotonic(), 0.05))):
            s = key.fileobj
            st = live[s]
            try:
                chunk = s.recv(256)
            except OSError:
                chunk = b""
            st[2] += chunk
            if st[2].endswith(b"\n"):
                name = st[2].decode().strip()
                counts[name] = counts.get(name, 0) + 1
                st[0]["ok"] += 1
                finish(s)
            elif not chunk:
                finish(s)
        now = time.monotonic()
        for s in [s for s, v in live.items() if v[1] <= now]:
            finish(s)
    print(json.dumps({
        "seconds": a.seconds, "counts": counts,
        "sources": {x["addr"]: {"offered": x["offered"], "ok": x["ok"],
                                "span": round((x["last"] or 0) -
                                              (x["first"] or 0), 4)}
                    for x in srcs}}))
    return 0


def cmd_ctl(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.connect(a.ctl)
    s.sendall(" ".join(a.words).encode() + b"\n")
    out = b""
    while not out.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    sys.stdout.write(out.decode())
    return 0 if out else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)

    def target(p):
        p.add_argument("addr")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=3.0)

    p = sub.add_parser("burst")
    target(p)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--sport-base", type=int, required=True)
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--deadline", type=float, default=60.0)
    p.set_defaults(fn=cmd_burst)

    p = sub.add_parser("echo")
    target(p)
    p.add_argument("--bytes", type=int, default=200000)
    p.add_argument("--sport", type=int, default=0)
    p.set_defaults(fn=cmd_echo)

    p = sub.add_parser("pingpong")
    target(p)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--sport", type=int, default=0)
    p.set_defaults(fn=cmd_pingpong)

    p = sub.add_parser("hold")
    target(p)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--sport-base", type=int, required=True)
    p.add_argument("--ctl", required=True)
    p.add_argument("--lifetime", type=float, default=300.0)
    p.set_defaults(fn=cmd_hold)

    p = sub.add_parser("flood")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--src", action="append", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--sport-base", type=int, required=True)
    p.add_argument("--timeout", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(fn=cmd_flood)

    p = sub.add_parser("ctl")
    p.add_argument("ctl")
    p.add_argument("words", nargs="+")
    p.add_argument("--timeout", type=float, default=30.0)
    p.set_defaults(fn=cmd_ctl)

    a = ap.parse_args()
    if getattr(a, "count", 1) > 20000:
        ap.error("count is bounded at 20000")
    if a.mode == "pingpong" and not 0 < a.seconds <= 60:
        ap.error("pingpong: 0 < seconds <= 60")
    if a.mode == "flood" and (a.seconds > 60 or a.seconds <= 0 or
                              any(float(x.partition("=")[2] or 0) <= 0 or
                                  float(x.partition("=")[2]) > 1000
                                  for x in a.src)):
        ap.error("flood: 0 < seconds <= 60, 0 < RATE <= 1000 per source")
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
