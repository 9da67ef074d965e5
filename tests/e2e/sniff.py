#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Capture IP-in-IP packets arriving on a device and print their headers.

    sniff.py DEV [--count N] [--timeout S] [--ready FILE]
    sniff.py DEV --src ADDR [--stop-port P] [--count N] [--timeout S] [--ready FILE]

Listens with an AF_PACKET socket (which sees a frame before TC ingress, so a
backend's decap program has not stripped it yet) for up to --count IPv4-in-
IPv4 (protocol 4) or IPv6-in-IPv6 (next header 41) packets, or --timeout
seconds, and prints one JSON list:
  [{"outer_src", "outer_dst", "outer_ttl", "outer_df", "inner_src",
    "inner_dst", "inner_proto", "len"}]
--ready FILE is created once the socket is bound, so a caller can start
traffic without sleeping.

With --src, any IPv4/IPv6 packet whose source address is ADDR is captured
instead (IPIP ones too), with its MACs:
  [{"src_mac", "dst_mac", "src", "dst", "proto", "sport", "dport", "len"}]
(ports 0 unless TCP/UDP right after the IP header). --stop-port P ends the
capture after a UDP datagram to port P (included): a sentinel a caller sends
after its traffic, so that everything before it has been seen.
"""
import argparse
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def ip4(b):
    return socket.inet_ntop(socket.AF_INET, b)


def ip6(b):
    return socket.inet_ntop(socket.AF_INET6, b)


def parse(frame):
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    p = frame[14:]
    if etype == 0x0800 and len(p) >= 40 and p[9] == 4:
        ihl = (p[0] & 0x0f) * 4
        inner = p[ihl:]
        return {"outer_src": ip4(p[12:16]), "outer_dst": ip4(p[16:20]),
                "outer_ttl": p[8],
                "outer_df": bool(struct.unpack("!H", p[6:8])[0] & 0x4000),
                "inner_src": ip4(inner[12:16]), "inner_dst": ip4(inner[16:20]),
                "inner_proto": inner[9], "len": len(p)}
    if etype == 0x86dd and len(p) >= 80 and p[6] == 41:
        inner = p[40:]
        return {"outer_src": ip6(p[8:24]), "outer_dst": ip6(p[24:40]),
                "outer_ttl": p[7], "outer_df": None,
                "inner_src": ip6(inner[8:24]), "inner_dst": ip6(inner[24:40]),
                "inner_proto": inner[6], "len": len(p)}
    return None


def mac(b):
    return ":".join("%02x" % x for x in b)


def parse_from(frame, src):
    """Any IP packet from `src` (text form), or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    p = frame[14:]
    if etype == 0x0800 and len(p) >= 20:
        s, d, proto, l4 = ip4(p[12:16]), ip4(p[16:20]), p[9], (p[0] & 0x0f) * 4
    elif etype == 0x86dd and len(p) >= 40:
        s, d, proto, l4 = ip6(p[8:24]), ip6(p[24:40]), p[6], 40
    else:
        return None
    if s != src:
        return None
    sport = dport = 0
    if proto in (6, 17) and len(p) >= l4 + 4:
        sport, dport = struct.unpack("!HH", p[l4:l4 + 4])
    return {"src_mac": mac(frame[6:12]), "dst_mac": mac(frame[0:6]),
            "src": s, "dst": d, "proto": proto, "sport": sport,
            "dport": dport, "len": len(p)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dev")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--ready")
    ap.add_argument("--src")
    ap.add_argument("--stop-port", type=int)
    a = ap.parse_args()
    if a.src:
        # the text form inet_ntop gives, whatever form the caller used
        fam = socket.AF_INET6 if ":" in a.src else socket.AF_INET
        a.src = socket.inet_ntop(fam, socket.inet_pton(fam, a.src))

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    s.bind((a.dev, 0))
    if a.ready:
        open(a.ready, "w").close()
    out = []
    end = time.monotonic() + a.timeout
    while len(out) < min(a.count, 10000):
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            break
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        h = parse_from(frame, a.src) if a.src else parse(frame)
        if h:
            out.append(h)
            if (a.stop_port is not None and h.get("proto") == 17 and
                    h.get("dport") == a.stop_port):
                break
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
