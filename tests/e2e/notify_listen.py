#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The systemd side of sd_notify: listen on an AF_UNIX datagram socket and
append every message the agent sends (READY=1, RELOADING=1, ...) to a file,
one a line, until --lifetime seconds have passed."""
import argparse, os, socket, time

ap = argparse.ArgumentParser()
ap.add_argument("--socket", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--lifetime", type=float, default=120)
a = ap.parse_args()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(a.socket)
end = time.monotonic() + a.lifetime
with open(a.out, "a", buffering=1) as f:
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        f.write(msg.replace("\n", " ") + "\n")
os.unlink(a.socket)
