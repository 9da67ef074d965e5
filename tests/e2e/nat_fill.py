#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fill the director's pinned `nat` map with synthetic established flows.

    nat_fill.py fill MAP --vip ADDR:PORT --node ADDR:PORT --svc-id N
                --node-id N [--leave FLOWS] [--max FLOWS] [--snat ADDR]
    nat_fill.py delete MAP --vip ADDR:PORT --node ADDR:PORT [--max FLOWS]
                [--snat ADDR]
    nat_fill.py info MAP

The NAT table is sized at build time (HL_NAT_FLOWS flows, two entries
each); a test cannot open a quarter of a million real connections to fill
it. `fill` inserts flows (forward + reply entry, include/helios/abi.h's
struct hl_flow_key / struct hl_nat, both directions SYN+ACK seen, the
forward entry REPLIED, last packet now: established, so the data path's sweep leaves them for hours)
with BPF_MAP_UPDATE_BATCH until the kernel refuses one
(E2BIG: the map is full) or --max flows, then deletes --leave of them
again, so exactly that many flows still fit. Real entries are never
touched (no synthetic key can be a real one). The synthetic clients are 198.19.0.0/17 (never a lab host), their
SNAT addresses 198.19.255.0/24; `delete` removes every key `fill` can make
with the same --vip and --node.
Prints one JSON object: {"max_entries", "inserted", "left_free", ...}.
"""
import argparse
import ctypes
import errno
import ipaddress
import json
import os
import platform
import struct
import sys
import time

NR_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
BPF_OBJ_GET = 7
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_MAP_DELETE_BATCH = 27
BPF_MAP_UPDATE_BATCH = 26
KEY_SIZE, VALUE_SIZE = 40, 80
SEEN_SYN, SEEN_ACK = 1, 2
F_REPLIED = 4			# HL_NAT_F_REPLIED: the node has answered
TCP, AF_INET = 6, 4		# enum hl_family: HL_AF_INET = 4
PORTS = 31744			# SNAT ports an address: HL_SNAT_PORT_MIN..MAX
CHUNK = 8192			# entries per batch call

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return r, (ctypes.get_errno() if r < 0 else 0)


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    attr = (ctypes.c_uint64 * 3)(ctypes.addressof(p), 0, 0)
    fd, err = bpf(BPF_OBJ_GET, attr)
    if fd < 0:
        sys.exit("nat_fill: %s: %s" % (path, os.strerror(err)))
    return fd


def map_info(fd):
    info = (ctypes.c_uint32 * 32)()
    attr = (ctypes.c_uint32 * 4)(fd, ctypes.sizeof(info), 0, 0)
    ctypes.memmove(ctypes.addressof(attr) + 8,
                   ctypes.byref(ctypes.c_uint64(ctypes.addressof(info))), 8)
    r, err = bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    if r < 0:
        sys.exit("nat_fill: map info: %s" % os.strerror(err))
    return {"type": info[0], "key_size": info[2], "value_size": info[3],
            "max_entries": info[4]}


class Batch(ctypes.Structure):
    # union bpf_attr's batch
    _fields_ = [("in_batch", ctypes.c_uint64), ("out_batch", ctypes.c_uint64),
                ("keys", ctypes.c_uint64), ("values", ctypes.c_uint64),
                ("count", ctypes.c_uint32), ("map_fd", ctypes.c_uint32),
                ("elem_flags", ctypes.c_uint64), ("flags", ctypes.c_uint64)]


def endpoint(s):
    host, _, port = s.rpartition(":")
    a = ipaddress.ip_address(host.strip("[]"))
    if a.version != 4:
        raise argparse.ArgumentTypeError("IPv4 only: %s" % s)
    return a.packed + bytes(12), int(port)


def addr4(n):
    return ipaddress.IPv4Address(n).packed + bytes(12)


def flow(i, a, now):
    """The forward and the reply entry of synthetic flow i."""
    client = addr4((198 << 24) | (19 << 16) | (i & 0x7fff))
    cport = 1024 + (i >> 15)
    snat = (a.snat if getattr(a, "snat", None) else
            addr4((198 << 24) | (19 << 16) | (255 << 8) | (1 + i // PORTS)))
    sport = 1024 + i % PORTS
    vip, vport = a.vip
    node, nport = a.node

    def key(src, dst, sp, dp):
        return src + dst + struct.pack("!HH", sp, dp) + struct.pack("BBH", TCP, AF_INET, 0)

    def value(to, tport, frm, fport, d):
        flags = F_REPLIED if d == 0 else 0
        return (to + frm + struct.pack("!HH", tport, fport) +
                struct.pack("=BBHIIQQQQ", d, SEEN_SYN | SEEN_ACK, flags,
                            getattr(a, "node_id", 0), getattr(a, "svc_id", 0),
                            now, now, 1, 60))

    return (key(client, vip, cport, vport), value(node, nport, snat, sport, 0),
            key(node, snat, nport, sport), value(client, cport, vip, vport, 1))


def batch(fd, cmd, keys, values, flags):
    n = len(keys)
    kb = ctypes.create_string_buffer(b"".join(keys), n * KEY_SIZE)
    vb = ctypes.create_string_buffer(b"".join(values), n * VALUE_SIZE) if values else None
    attr = Batch(0, 0, ctypes.addressof(kb), ctypes.addressof(vb) if vb else 0,
                 n, fd, flags, 0)
    r, err = bpf(cmd, attr)
    return attr.count if r < 0 else n, err


def delete_keys(fd, keys):
    """Delete keys; missing ones are skipped. Returns how many went."""
    # DELETE_BATCH stops at the first missing key: then one at a time.
    n, err = batch(fd, BPF_MAP_DELETE_BATCH, keys, None, 0)
    if not err:
        return n
    if err != errno.ENOENT:
        sys.exit("nat_fill: batch delete: %s" % os.strerror(err))
    gone = n
    for k in keys[n + 1:]:
        m, err = batch(fd, BPF_MAP_DELETE_BATCH, [k], None, 0)
        if err not in (0, errno.ENOENT):
            sys.exit("nat_fill: delete: %s" % os.strerror(err))
        gone += m if not err else 0
    return gone


def flow_keys(a, first, last):
    keys = []
    for i in range(first, last):
        fk, _, rk, _ = flow(i, a, 0)
        keys += [fk, rk]
    return keys


def cmd_fill(a, fd, info):
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    limit = a.max or info["max_entries"] // 2 + 1	# one more than fits
    inserted, err, i = 0, 0, 0
    while i < limit and not err:
        keys, values = [], []
        for j in range(i, min(i + CHUNK // 2, limit)):
            fk, fv, rk, rv = flow(j, a, now)
            keys += [fk, rk]
            values += [fv, rv]
        n, err = batch(fd, BPF_MAP_UPDATE_BATCH, keys, values, 0)
        if n % 2:		# a forward entry without its reply
            fk = keys[n - 1]
            batch(fd, BPF_MAP_DELETE_BATCH, [fk], None, 0)
            n -= 1
        inserted += n // 2
        i += n // 2
        if err and err not in (errno.E2BIG, errno.ENOMEM, errno.ENOSPC):
            sys.exit("nat_fill: batch update: %s" % os.strerror(err))
    full = bool(err)
    left = 0
    if a.leave:
        left = min(a.leave, inserted)
        delete_keys(fd, flow_keys(a, inserted - left, inserted))
        inserted -= left
    print(json.dumps({"max_entries": info["max_entries"], "inserted": inserted,
                      "full": full, "left_free": left if full else None,
                      "error": os.strerror(err) if err else None}))


def cmd_delete(a, fd, info):
    limit = a.max or info["max_entries"] // 2 + 1	# one more than fits
    gone = 0
    for i in range(0, limit, CHUNK // 2):
        gone += delete_keys(fd, flow_keys(a, i, min(i + CHUNK // 2, limit)))
    print(json.dumps({"deleted_entries": gone}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("fill")
    p.add_argument("map")
    p.add_argument("--vip", type=endpoint, required=True)
    p.add_argument("--node", type=endpoint, required=True)
    p.add_argument("--svc-id", type=int, required=True)
    p.add_argument("--node-id", type=int, required=True)
    p.add_argument("--leave", type=int, default=0)
    p.add_argument("--max", type=int, default=0)
    p.add_argument("--snat", type=lambda s: endpoint(s + ":0")[0], default=None,
                   help="every flow's SNAT address (default: 198.19.255.N)")
    p = sub.add_parser("delete")
    p.add_argument("map")
    p.add_argument("--vip", type=endpoint, required=True)
    p.add_argument("--node", type=endpoint, required=True)
    p.add_argument("--max", type=int, default=0)
    p.add_argument("--snat", type=lambda s: endpoint(s + ":0")[0], default=None)
    p = sub.add_parser("info")
    p.add_argument("map")
    a = ap.parse_args()
    fd = obj_get(a.map)
    info = map_info(fd)
    if a.cmd == "info":
        print(json.dumps(info))
        return 0
    if (info["key_size"], info["value_size"]) != (KEY_SIZE, VALUE_SIZE):
        sys.exit("nat_fill: %s: key/value %d/%d bytes, want %d/%d (abi.h changed?)" %
                 (a.map, info["key_size"], info["value_size"], KEY_SIZE, VALUE_SIZE))
    if info["max_entries"] // 2 > (0x7fff + 1) * 64:
        sys.exit("nat_fill: more flows than synthetic 5-tuples")
    {"fill": cmd_fill, "delete": cmd_delete}[a.cmd](a, fd, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
