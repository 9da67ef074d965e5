/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rate limits, enforced before a packet costs anything more.
 *
 * Buckets are GCRA cells (struct hl_bucket in abi.h): one 64-bit theoretical
 * arrival time per bucket, advanced with compare-and-swap. Why not per-CPU
 * shares: a share per CPU needs rebalancing (a flow's packets all land on
 * one CPU under RSS, so a static split sheds one CPU's clients while the
 * others' tokens go unused) and is only right on average; the CAS keeps the
 * rate exact on any number of CPUs, at the price of one contended cache
 * line per bucket. A CAS that keeps losing (HL_TB_TRIES times) means other
 * CPUs are admitting from the same bucket right now: we drop (fail closed).
 *
 *  - per service, every packet: `rate pkt` and `rate bytes`
 *  - per service, new connections only (a TCP SYN without ACK, or a UDP
 *    packet without a connection-table entry): the client's own bucket
 *    (`client-rate`, an LRU hash by source prefix), then the bucket of the
 *    client's priority class if it has one, else the service's `rate conn`;
 *    a class with a shed order both (its own, then the service's with a
 *    reserve: the shedding order under overload, shed_reserve()).
 *    Packets of established flows never meet a connection limit.
 * Each check counts admitted or dropped per limit and per service.
 */
#ifndef HELIOS_BPF_RATELIMIT_H
#define HELIOS_BPF_RATELIMIT_H

#include "maps.h"

#define HL_TB_TRIES		4

static __always_inline __u64 tb_now(void)
{
	return bpf_ktime_get_ns() << HL_TB_SHIFT;
}

/*
 * Take `units` from the cell at *tat, leaving `reserve` (in time, as
 * tolerance) untouched; true when they conform. A tat more than `tolerance`
 * ahead of now cannot be a real one (it never gets there): the clock
 * wrapped or the bucket was reconfigured; start afresh.
 */
static __always_inline bool tb_take_above(__u64 *tat, __u64 cost,
					  __u64 tolerance, __u64 reserve,
					  __u64 units, __u64 now)
{
	__u64 old, base, next, inc = cost * units;
	int i;

	for (i = 0; i < HL_TB_TRIES; i++) {
		old = *(volatile __u64 *)tat;
		base = old;
		if ((__s64)(old - now) < 0 || (__s64)(old - now) > (__s64)tolerance)
			base = now;
		next = base + inc;
		if ((__s64)(next - now) > (__s64)(tolerance - reserve))
			return false;
		if (__sync_val_compare_and_swap(tat, old, next) == old)
			return true;
	}
	return false;
}

static __always_inline bool tb_take(__u64 *tat, __u64 cost, __u64 tolerance,
				    __u64 units, __u64 now)
{
	return tb_take_above(tat, cost, tolerance, 0, units, now);
}

/*
 * What a class of shed order `order` must leave in the service's bucket:
 * order / HL_SHED_LEVELS of the burst beyond the one token it takes, so
 * order 7 gets in only while the bucket is nearly full, order 1 until it
 * is nearly empty, and a burst of 1 leaves nothing to rank.
 */
static __always_inline __u64 shed_reserve(const struct hl_bucket *b,
					  __u8 order)
{
	if (order > HL_SHED_ORDER_MAX || b->tolerance < b->cost)
		return 0;
	return (b->tolerance - b->cost) / HL_SHED_LEVELS * order;
}

static __always_inline void limit_count(__u32 svc_id, int limit, bool ok)
{
	struct hl_limit_stats *s = bpf_map_lookup_elem(&limit_stats, &svc_id);

	if (!s || limit < 0 || limit >= HL_LIMIT_MAX)
		return;
	if (ok)
		s->admitted[limit]++;
	else
		s->dropped[limit]++;
}

/* Packet and byte limits, for every packet of a limited service. Returns
 * HL_REASON_FORWARDED when the packet may go on, else the drop reason. */
static __always_inline int rl_traffic(const struct hl_service *svc,
				      __u32 frame_len)
{
	__u32 svc_id = svc->id;
	struct hl_limits *lim;
	__u64 now;
	bool ok;

	lim = bpf_map_lookup_elem(&limits, &svc_id);
	if (!lim)
		return HL_REASON_FORWARDED;
	now = tb_now();
	if (lim->pkt.cost) {
		ok = tb_take(&lim->pkt.tat, lim->pkt.cost, lim->pkt.tolerance,
			     1, now);
		limit_count(svc_id, HL_LIMIT_PKT, ok);
		if (!ok)
			return HL_REASON_DROP_RATE_PKT;
	}
	if (lim->bytes.cost) {
		ok = tb_take(&lim->bytes.tat, lim->bytes.cost,
			     lim->bytes.tolerance, frame_len, now);
		limit_count(svc_id, HL_LIMIT_BYTES, ok);
		if (!ok)
			return HL_REASON_DROP_RATE_BYTES;
	}
	return HL_REASON_FORWARDED;
}

/* A new connection: TCP SYN (not SYN-ACK), or UDP (the caller calls us on
 * a connection-table miss only). A non-SYN TCP miss is an established flow
 * whose entry was lost (restart, eviction): never limited. */
static __always_inline bool rl_conn_start(const struct hl_pkt *pkt)
{
	return pkt->key.proto != IPPROTO_TCP ||
	       (pkt->tcp_flags & (HL_TCP_SYN | HL_TCP_ACK)) == HL_TCP_SYN;
}

static __always_inline void prefix_mask(__be32 addr[4], __u8 family,
					__u32 plen)
{
	__u32 words = family == HL_AF_INET6 ? 4 : 1, i;

	for (i = 0; i < 4; i++) {
		__u32 bits = plen > 32 * i ? plen - 32 * i : 0;

		if (i >= words || !bits)
			addr[i] = 0;
		else if (bits < 32)
			addr[i] &= bpf_htonl(~0u << (32 - bits));
	}
}

static __always_inline bool rl_client(__u32 svc_id,
				      const struct hl_limits *lim,
				      const struct hl_pkt *pkt, __u64 now)
{
	struct hl_client_key k = { .svc_id = svc_id, .family = pkt->key.family };
	__u32 plen;
	__u64 *tat, fresh;

	__builtin_memcpy(k.addr, pkt->key.src, sizeof(k.addr));
	plen = pkt->key.family == HL_AF_INET6 ? lim->client_plen6 :
						 lim->client_plen4;
	prefix_mask(k.addr, k.family, plen);
	tat = bpf_map_lookup_elem(&clients, &k);
	if (tat)
		return tb_take(tat, lim->client_cost, lim->client_tolerance, 1,
			       now);
	/* First connection of this client (or it was evicted): a full
	 * bucket. Two CPUs may both insert; the later insert wins, which
	 * admits at most one connection extra. */
	fresh = now + lim->client_cost;
	bpf_map_update_elem(&clients, &k, &fresh, BPF_ANY);
	return lim->client_cost <= lim->client_tolerance;
}

/* The client's priority class (class_prefixes), or NULL. */
static __always_inline __u32 *client_class(const struct hl_pkt *pkt)
{
	struct hl_class_key ck = { .family = pkt->key.family };

	ck.prefixlen = 32 + (pkt->key.family == HL_AF_INET6 ? 128 : 32);
	__builtin_memcpy(ck.addr, pkt->key.src, sizeof(ck.addr));
	return bpf_map_lookup_elem(&class_prefixes, &ck);
}

/* Connection limits for a new connection; returns a reason as above. */
static __always_inline int rl_conn(const struct hl_service *svc,
				   const struct hl_pkt *pkt)
{
	__u32 svc_id = svc->id, *class_id;
	struct hl_limit_stats *cs;
	struct hl_limits *lim;
	struct hl_class *cls;
	__u8 shed = 0;
	__u64 now;
	bool ok;

	lim = bpf_map_lookup_elem(&limits, &svc_id);
	if (!lim)
		return HL_REASON_FORWARDED;
	now = tb_now();
	if (lim->client_cost) {
		ok = rl_client(svc_id, lim, pkt, now);
		limit_count(svc_id, HL_LIMIT_CLIENT, ok);
		if (!ok)
			return HL_REASON_DROP_RATE_CLIENT;
	}
	class_id = client_class(pkt);
	cls = class_id ? bpf_map_lookup_elem(&classes, class_id) : NULL;
	cs = class_id ? bpf_map_lookup_elem(&class_stats, class_id) : NULL;
	if (cls && cls->conn.cost) {
		ok = tb_take(&cls->conn.tat, cls->conn.cost,
			     cls->conn.tolerance, 1, now);
		limit_count(svc_id, HL_LIMIT_CLASS, ok);
		if (cs && ok)
			cs->admitted[HL_LIMIT_CLASS]++;
		else if (cs)
			cs->dropped[HL_LIMIT_CLASS]++;
		if (!ok)
			return HL_REASON_DROP_RATE_CLASS;
		if (!cls->shed_order)
			return HL_REASON_FORWARDED;	/* its own lane */
		shed = cls->shed_order;
	}
	if (lim->conn.cost) {
		ok = tb_take_above(&lim->conn.tat, lim->conn.cost,
				   lim->conn.tolerance,
				   shed_reserve(&lim->conn, shed), 1, now);
		limit_count(svc_id, HL_LIMIT_CONN, ok);
		/* A ranked class's own count of what the service shed. */
		if (cs && shed && !ok)
			cs->dropped[HL_LIMIT_CONN]++;
		if (!ok)
			return HL_REASON_DROP_RATE_CONN;
	}
	return HL_REASON_FORWARDED;
}

#endif /* HELIOS_BPF_RATELIMIT_H */
