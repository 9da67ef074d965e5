/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Full NAT (`service ... fwd nat`): the node sees the flow come from one
 * of the director's SNAT addresses and answers it there; the director
 * translates both ways. Two stages:
 *
 *   stage_nat    a packet to a NAT service (after stage_service), instead
 *                of the IPIP stages: the forward entry in `nat` (one
 *                lookup) or, for a new flow, the strategy's pick, a SNAT
 *                port and the two entries; then src = SNAT addr:port,
 *                dst = node:port, out to the node's next hop.
 *   stage_reply  before the service lookup: a packet from a node to a
 *                SNAT address:port of ours becomes VIP:port -> client and
 *                goes out to the client's next hop (nat_xlate.h's cache).
 *
 * SNAT port: the reply entry (node:port -> SNAT addr:port) is inserted
 * with BPF_NOEXIST for up to HL_SNAT_PROBES ports (hl_snat_port(), abi.h),
 * so the map itself is the port allocator, per (SNAT address, node, node
 * port, protocol); then the forward entry, and if that fails the reply
 * entry is taken back. A full table drops the new flow (fail closed;
 * nothing established is ever evicted).
 *
 * The reply stage must cost the other traffic (almost) nothing: a packet
 * is looked up only if its destination is a SNAT address in use
 * (`nat_dsts`, a few compares; on a director that never made a NAT flow,
 * one load and a branch) and its port could be a SNAT port.
 */
#ifndef HELIOS_BPF_NAT_H
#define HELIOS_BPF_NAT_H

#include "maps.h"
#include "jhash.h"
#include "stats.h"
#include "select.h"
#include "new_flow.h"
#include "nexthop.h"
#include "icmp.h"
#include "reset.h"
#include "fence.h"
#include "switchover.h"
#include "nat_state.h"
#include "nat_xlate.h"
#include "nat_sweep.h"

/* bpf_map_update_elem()'s "key exists" (vmlinux.h carries no errno) */
#define NAT_EEXIST		17

/* ---- the reply stage's address filter (nat_dsts) ---- */

static __always_inline bool nat_dst_in_use(const struct hl_pkt *pkt)
{
	struct hl_nat_dsts *d;
	__u32 zero = 0, n, i;

	d = bpf_map_lookup_elem(&nat_dsts, &zero);
	if (!d)
		return false;
	if (pkt->key.family == HL_AF_INET) {
		n = d->n4;
		if (likely(!n))
			return false;
		if (n > HL_NAT_DSTS)
			return true;
		for (i = 0; i < HL_NAT_DSTS && i < n; i++)
			if (d->addr4[i] == pkt->key.dst[0])
				return true;
		return false;
	}
	n = d->n6;
	if (likely(!n))
		return false;
	if (n > HL_NAT_DSTS)
		return true;
	for (i = 0; i < HL_NAT_DSTS && i < n; i++)
		if (addr_eq(d->addr6[i], pkt->key.dst))
			return true;
	return false;
}

/* A new flow's SNAT address joins the filter, if it is not in it yet. A
 * reader may see a claimed slot still empty: only before this flow's
 * first packet is out, so before any reply to it can come. */
static __always_inline void nat_dst_note(const __be32 *addr, __u8 family)
{
	struct hl_nat_dsts *d;
	__u32 zero = 0, n, i;

	d = bpf_map_lookup_elem(&nat_dsts, &zero);
	if (!d)
		return;
	if (family == HL_AF_INET) {
		n = d->n4;
		if (n > HL_NAT_DSTS)
			return;
		for (i = 0; i < HL_NAT_DSTS && i < n; i++)
			if (d->addr4[i] == addr[0])
				return;
		i = __sync_fetch_and_add(&d->n4, 1);
		if (i < HL_NAT_DSTS)
			d->addr4[i] = addr[0];
		return;
	}
	n = d->n6;
	if (n > HL_NAT_DSTS)
		return;
	for (i = 0; i < HL_NAT_DSTS && i < n; i++)
		if (addr_eq(d->addr6[i], addr))
			return;
	i = __sync_fetch_and_add(&d->n6, 1);
	if (i < HL_NAT_DSTS)
		__builtin_memcpy(d->addr6[i], addr, 16);
}

/* ---- new flows ---- */

/* The SNAT address of a new flow: one of the service's, by the flow
 * hash, or with none configured the node's next-hop source. NULL: none. */
static __always_inline const __be32 *nat_snat_addr(__u32 svc_id,
						   const struct hl_nexthop *nh,
						   __u32 hash)
{
	struct hl_snat *s = bpf_map_lookup_elem(&snat_addrs, &svc_id);
	const __be32 *a = nh->src;
	__u32 n, i;

	if (s && s->count) {
		n = s->count < HL_SNAT_MAX ? s->count : HL_SNAT_MAX;
		i = hash % n;
		/* clang knows i < n <= 8 and drops the test; the verifier
		 * (which does not follow a modulo) needs it */
		barrier_var(i);
		if (i >= HL_SNAT_MAX)
			return NULL;
		a = s->addrs[i];
	}
	return addr_is_zero(a) ? NULL : a;
}

/*
 * The two entries of a new flow to t->node from `snat`, built in this
 * CPU's nat_scratch. HL_CONTINUE with *tr pointing at the translation:
 * the new forward entry's value, or the forward entry itself when
 * another CPU made the same flow first; else the drop's reason.
 */
static __always_inline int nat_create(const struct hl_pkt *pkt,
				      const struct hl_target *t,
				      const __be32 *snat, __u32 hash,
				      __u64 now, struct hl_nat **tr)
{
	const struct hl_node *node = t->node;
	__be16 nport = node->port ? node->port : pkt->key.dport;
	struct hl_nat_scratch *sc;
	struct hl_nat *rep, *fwd;
	int err = -NAT_EEXIST;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!sc)
		return HL_REASON_DROP_NAT_FULL;
	rep = &sc->rep;
	fwd = &sc->fwd;
	__builtin_memset(sc, 0, sizeof(*sc));
	__builtin_memcpy(sc->rkey.src, node->addr, 16);
	__builtin_memcpy(sc->rkey.dst, snat, 16);
	sc->rkey.sport = nport;
	sc->rkey.proto = pkt->key.proto;
	sc->rkey.family = pkt->key.family;

	__builtin_memcpy(rep->addr, pkt->key.src, 16);
	__builtin_memcpy(rep->from, pkt->key.dst, 16);
	rep->port = pkt->key.sport;
	rep->from_port = pkt->key.dport;
	rep->dir = HL_NAT_REPLY;
	rep->node_id = t->node_id;
	rep->svc_id = t->svc->id;
	rep->created_ns = now;

	for (__u32 i = 0; i < HL_SNAT_PROBES; i++) {
		sc->rkey.dport = bpf_htons(hl_snat_port(hash, i));
		err = bpf_map_update_elem(&nat, &sc->rkey, rep, BPF_NOEXIST);
		if (err != -NAT_EEXIST)
			break;
	}
	if (err == -NAT_EEXIST)
		return HL_REASON_DROP_NAT_PORTS;
	/* -E2BIG: the table is full; -ENOMEM, -EBUSY (the bucket held by
	 * what we interrupted) are as final for this packet: fail closed */
	if (err)
		return HL_REASON_DROP_NAT_FULL;

	__builtin_memcpy(fwd->addr, node->addr, 16);
	__builtin_memcpy(fwd->from, snat, 16);
	fwd->port = nport;
	fwd->from_port = sc->rkey.dport;
	fwd->dir = HL_NAT_FORWARD;
	fwd->seen = nat_seen_bits(pkt);
	fwd->node_id = t->node_id;
	fwd->svc_id = t->svc->id;
	fwd->created_ns = now;
	fwd->last_ns = now;
	fwd->packets = 1;
	fwd->bytes = pkt->frame_len;
	err = bpf_map_update_elem(&nat, &pkt->key, fwd, BPF_NOEXIST);
	if (err) {
		bpf_map_delete_elem(&nat, &sc->rkey);
		if (err != -NAT_EEXIST)
			return HL_REASON_DROP_NAT_FULL;
		*tr = bpf_map_lookup_elem(&nat, &pkt->key);
		if (!*tr)
			return HL_REASON_DROP_NAT_FULL;
		nat_note(*tr, pkt, now);
		return HL_CONTINUE;
	}
	*tr = fwd;
	hl_count_flow(t->svc->id, t->node_id);
	/* a flow born with an RST is closed from the start: never counted */
	if (!(fwd->seen & HL_NAT_SEEN_RST))
		nat_count(t->svc->id, t->node_id, 1);
	nat_dst_note(snat, pkt->key.family);
	nat_sweep_arm();
	return HL_CONTINUE;
}

/* ---- stage "nat": a packet to a NAT service ---- */

/* What a packet to a NAT service makes of the entry its 5-tuple finds. */
enum nat_fate {
	NAT_KEEP,	/* the flow goes on */
	NAT_GONE,	/* its node no longer keeps it */
	NAT_AGAIN,	/* a SYN on a closed flow: it starts over */
	NAT_FOREIGN,	/* a reply entry: the key of a node's packets */
	NAT_FENCED,	/* made under an older generation (fence.h) */
	NAT_SWITCHOVER,	/* open past a switchover's drain (switchover.h) */
};

static __always_inline enum nat_fate nat_fate(const struct hl_nat *e,
					      const struct hl_service *svc,
					      const struct hl_pkt *pkt,
					      struct hl_node **node)
{
	__u32 id = e->node_id;

	if (e->dir != HL_NAT_FORWARD)
		return NAT_FOREIGN;
	if (unlikely(nat_flow_fenced(svc, e)))
		return NAT_FENCED;
	if (unlikely(svc->flags & HL_SVC_F_SWITCHOVER) &&
	    switchover_resets(svc, pkt))
		return NAT_SWITCHOVER;
	*node = bpf_map_lookup_elem(&nodes, &id);
	if (!*node || !node_keeps_flow(*node, svc, pkt->key.family))
		return NAT_GONE;
	if ((pkt->tcp_flags & (HL_TCP_SYN | HL_TCP_ACK)) == HL_TCP_SYN &&
	    hl_nat_state(e, pkt->key.proto) == HL_NAT_CLOSED)
		return NAT_AGAIN;
	return NAT_KEEP;
}

/* Always a verdict: its reason, the action in t->action. */
static __always_inline int stage_nat(struct xdp_md *ctx,
				     const struct hl_pkt *pkt,
				     struct hl_target *t)
{
	const struct hl_service *svc = t->svc;
	struct hl_nat *e, *tr;
	struct hl_node *node = NULL;
	struct hl_nexthop *nh;
	const __be32 *snat;
	__u32 node_id, hash;
	__u64 now = bpf_ktime_get_coarse_ns();
	int reason;

	e = bpf_map_lookup_elem(&nat, &pkt->key);
	if (e) {
		switch (nat_fate(e, svc, pkt, &node)) {
		case NAT_KEEP:
			break;
		case NAT_FOREIGN:
			/* a node's packet to a SNAT address that is also
			 * this VIP, not translated by stage_reply (it was
			 * malformed or stale there): never a client's */
			return HL_REASON_DROP_NAT_STALE;
		case NAT_GONE:
			nat_end(e, &pkt->key);
			if (reset_wanted(svc, pkt))
				goto reset;
			e = NULL;
			break;
		case NAT_AGAIN:
			nat_end(e, &pkt->key);
			e = NULL;
			break;
		case NAT_FENCED:
			nat_end(e, &pkt->key);
			if (reset_possible(pkt)) {
				reason = HL_REASON_RESET_FENCED;
				goto reset_as;
			}
			e = NULL;
			break;
		case NAT_SWITCHOVER:
			nat_end(e, &pkt->key);
			reason = HL_REASON_RESET_SWITCHOVER;
			goto reset_as;
		}
	}
	if (e) {
		t->node = node;
		t->node_id = e->node_id;
		hl_count_tcp_trouble(t->node_id, pkt->tcp_flags);
		nat_note(e, pkt, now);
		tr = e;
	} else {
		reason = new_flow_pick(pkt, t);
		if (reason != HL_CONTINUE)
			return reason;
	}

	node_id = t->node_id;
	nh = bpf_map_lookup_elem(&nexthops, &node_id);
	if (!nh || !t->node || !nh_resolve(ctx, nh, t->node, !e))
		return HL_REASON_DROP_NO_ROUTE;
	/* no outer header: the packet must fit the egress MTU as it is */
	reason = too_big_bare(ctx, pkt, nh->mtu, &t->action);
	if (reason != HL_CONTINUE)
		return reason;

	if (!e) {
		hash = svc->hash == HL_HASH_5TUPLE ? t->hash :
						     hl_flow_hash(&pkt->key);
		snat = nat_snat_addr(svc->id, nh, hash);
		if (!snat)
			return HL_REASON_DROP_NAT_NO_SNAT;
		reason = nat_create(pkt, t, snat, hash, now, &tr);
		if (reason != HL_CONTINUE)
			return reason;
		/* another CPU made this flow first, on another node (lc,
		 * p2c, random): out to that node's next hop */
		if (unlikely(tr->node_id != node_id)) {
			node_id = tr->node_id;
			nh = bpf_map_lookup_elem(&nexthops, &node_id);
			if (!nh || !(nh->flags & HL_NH_F_VALID))
				return HL_REASON_DROP_NO_ROUTE;
		}
	}

	if (nat_rewrite(ctx, pkt, tr->from, tr->addr, tr->from_port, tr->port))
		return HL_REASON_DROP_MALFORMED_L4;
	if (nat_xmit(ctx, pkt, nh->dmac, nh->ifindex, &t->action))
		return HL_REASON_DROP_ENCAP;
	hl_count_packet(svc->id, node_id, pkt->frame_len);
	return t->fwd_reason;

reset:
	reason = HL_REASON_RESET_NODE_DOWN;
reset_as:
	if (reply_reset(ctx, pkt))
		return HL_REASON_DROP_REPLY;
	t->action = XDP_TX;
	return reason;
}

/* ---- stage "reply": node -> SNAT address:port ---- */

/*
 * What a reply must look like to be translated: a UDP length that is
 * its IP payload's (no less than its header), TCP flags a server sends
 * (an ACK or an RST; never SYN with FIN or RST).
 */
static __always_inline bool nat_reply_malformed(struct xdp_md *ctx,
						const struct hl_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 f = pkt->tcp_flags;
	struct udphdr *uh;
	__u32 off = pkt->l4_off, len;

	if (pkt->key.proto == IPPROTO_TCP)
		return !(f & (HL_TCP_ACK | HL_TCP_RST)) ||
		       ((f & HL_TCP_SYN) && (f & (HL_TCP_FIN | HL_TCP_RST)));
	if (off > NAT_L4_OFF_MAX)
		return true;
	uh = data + nat_off(off, NAT_L4_OFF_MAX);
	if ((void *)(uh + 1) > data_end)
		return true;
	len = bpf_ntohs(uh->len);
	return len < sizeof(*uh) || len != pkt->l3_off + pkt->ip_len - off;
}

static __always_inline void nat_count_refused(__u32 node_id)
{
	struct hl_counters *c = bpf_map_lookup_elem(&node_stats, &node_id);

	if (c)
		c->rsts++;
}

/* HL_CONTINUE for a packet that is no NAT reply, else the verdict's
 * reason with the action in t->action. */
static __always_inline int stage_reply(struct xdp_md *ctx,
				       const struct hl_pkt *pkt,
				       struct hl_target *t)
{
	struct hl_nat_nh *c;
	struct hl_nat *e;
	__u64 now;
	bool first;
	int rc;

	if (likely(!nat_dst_in_use(pkt)))
		return HL_CONTINUE;
	if (bpf_ntohs(pkt->key.dport) < HL_SNAT_PORT_MIN)
		return HL_CONTINUE;
	e = bpf_map_lookup_elem(&nat, &pkt->key);
	if (!e || e->dir != HL_NAT_REPLY)
		return HL_CONTINUE;

	t->action = XDP_DROP;
	if (nat_reply_malformed(ctx, pkt))
		return HL_REASON_DROP_NAT_MALFORMED;
	/* the client reset the flow: what the node still sends is for no
	 * one (its own RST goes through) */
	if ((e->flags & HL_NAT_F_PEER_RST) && !(pkt->tcp_flags & HL_TCP_RST))
		return HL_REASON_DROP_NAT_STALE;

	now = bpf_ktime_get_coarse_ns();
	first = !e->packets;
	nat_note(e, pkt, now);
	/* a node that answers the SYN with an RST refused the connection:
	 * a trouble sign for its breaker, as a client's RST is in DSR */
	if (first && (pkt->tcp_flags & HL_TCP_RST))
		nat_count_refused(e->node_id);

	c = nat_client_nh(ctx, e->addr, e->from, pkt->key.family, now, &rc);
	if (nat_rewrite(ctx, pkt, e->from, e->addr, e->from_port, e->port))
		return HL_REASON_DROP_NAT_MALFORMED;
	if (!c) {
		/* the kernel has no neighbour entry yet: it resolves one
		 * while it forwards this packet, the next finds it */
		if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
			t->action = XDP_PASS;
			return HL_REASON_FWD_NAT_REPLY;
		}
		return HL_REASON_DROP_NO_ROUTE;
	}
	if (nat_xmit(ctx, pkt, c->dmac, c->ifindex, &t->action))
		return HL_REASON_DROP_ENCAP;
	return HL_REASON_FWD_NAT_REPLY;
}

#endif /* HELIOS_BPF_NAT_H */
