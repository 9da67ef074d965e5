#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Lab backend: greet every TCP connection with this backend's name, then echo.

    tcp_server.py --name b1 --addr 198.18.1.10 --addr fd00:4845:1::10 \
                  --port 5432 --port 9999 [--lifetime 600] [--idle 60]
                  [--pidfile F]

Each accepted connection gets "<name>\\n" at once; every byte received after
that is sent back unchanged until the peer closes. A test can therefore ask
"which backend answered?" by reading one line, hold a flow open and prove it
is still served by the same backend by echoing a token (a flow that moved to
another backend would be reset: that backend has no socket for it), and push
a large transfer through the director.

A connection idle for --idle seconds is closed.
The process exits on SIGTERM/SIGINT or after --lifetime seconds, whichever
comes first, so a leaked server cannot outlive a lab for long.
"""
import argparse
import os
import signal
import socket
import sys
import threading


def serve_conn(conn, name, idle):
    try:
        conn.settimeout(idle)
        conn.sendall(name.encode() + b"\n")
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def accept_loop(lsock, name, idle):
    while True:
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        threading.Thread(target=serve_conn, args=(conn, name, idle),
                         daemon=True).start()


def listener(addr, port):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(1024)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--addr", action="append", required=True)
    ap.add_argument("--port", action="append", type=int, required=True)
    ap.add_argument("--lifetime", type=float, default=600)
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--pidfile")
    args = ap.parse_args()

    socks = [listener(a, p) for a in args.addr for p in args.port]
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    for s in socks:
        threading.Thread(target=accept_loop, args=(s, args.name, args.idle),
                         daemon=True).start()

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
