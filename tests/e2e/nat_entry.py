#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the two `nat` map entries of one NAT flow as bpftool arguments.

    nat_entry.py --client ADDR:PORT --vip ADDR:PORT --node ADDR:PORT
                 --snat ADDR:PORT --svc-id N --node-id N [--proto tcp|udp]
                 [--fwd-seen syn,ack,fin,rst] [--reply-seen ...]
                 [--fwd PACKETS:BYTES] [--reply PACKETS:BYTES]
                 [--age S] [--idle S]

Two lines, the forward entry's then the reply entry's, each
"key hex .. value hex ..", for `bpftool map update pinned DIR/nat $line`.
IPv6 addresses with a port in brackets: [fd00::11]:6432. The layouts are
include/helios/abi.h's struct hl_flow_key and struct hl_nat; times are
CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns().

For tests of the CLI's own behaviour (conn list, conn flush, a mode change
refused) while the NAT data path is not there to create real entries.
"""
import argparse
import ipaddress
import struct
import time

SEEN = {"syn": 1, "ack": 2, "fin": 4, "rst": 8}
PROTO = {"tcp": 6, "udp": 17}


def endpoint(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    a = ipaddress.ip_address(host)
    raw = a.packed if a.version == 6 else a.packed + bytes(12)
    return a.version, raw, int(port)


def seen(s):
    v = 0
    for f in filter(None, s.split(",")):
        v |= SEEN[f]
    return v


def counts(s):
    p, b = s.split(":")
    return int(p), int(b)


def key(src, dst, proto, family):
    # hl_flow_key: src[4], dst[4] (be32 words), sport, dport (be16),
    # proto, family, pad
    return (src[1] + dst[1] + struct.pack("!HH", src[2], dst[2]) +
            struct.pack("BBH", proto, family, 0))


def value(to, frm, direction, seen_flags, node_id, svc_id, created, last,
          pkts, nbytes):
    # hl_nat: addr[4], from[4], port, from_port (be16), dir, seen, pad,
    # node_id, svc_id, created_ns, last_ns, packets, bytes
    return (to[1] + frm[1] + struct.pack("!HH", to[2], frm[2]) +
            struct.pack("=BBHIIQQQQ", direction, seen_flags, 0, node_id,
                        svc_id, created, last, pkts, nbytes))


def hexargs(k, v):
    return "key hex " + " ".join("%02x" % b for b in k) + \
        " value hex " + " ".join("%02x" % b for b in v)


def main():
    ap = argparse.ArgumentParser()
    for a in ("--client", "--vip", "--node", "--snat"):
        ap.add_argument(a, required=True, type=endpoint)
    ap.add_argument("--svc-id", type=int, required=True)
    ap.add_argument("--node-id", type=int, required=True)
    ap.add_argument("--proto", choices=PROTO, default="tcp")
    ap.add_argument("--fwd-seen", type=seen, default=seen("syn,ack"))
    ap.add_argument("--reply-seen", type=seen, default=seen("syn,ack"))
    ap.add_argument("--fwd", type=counts, default=(1, 60))
    ap.add_argument("--reply", type=counts, default=(1, 60))
    ap.add_argument("--age", type=float, default=5)
    ap.add_argument("--idle", type=float, default=0)
    o = ap.parse_args()

    family = 6 if o.client[0] == 6 else 4
    proto = PROTO[o.proto]
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    created = now - int(o.age * 1e9)
    last = now - int(o.idle * 1e9)
    # forward: client -> VIP, becomes SNAT -> node
    fk = key(o.client, o.vip, proto, family)
    fv = value(o.node, o.snat, 0, o.fwd_seen, o.node_id, o.svc_id, created,
               last, *o.fwd)
    # reply: node -> SNAT, becomes VIP -> client
    rk = key(o.node, o.snat, proto, family)
    rv = value(o.client, o.vip, 1, o.reply_seen, o.node_id, o.svc_id, created,
               last, *o.reply)
    print(hexargs(fk, fv))
    print(hexargs(rk, rv))


if __name__ == "__main__":
    main()
