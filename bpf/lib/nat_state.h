/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A NAT flow's state, kept in its two entries of `nat` (abi.h): per
 * direction the packets, bytes, last packet and TCP flags seen; in the
 * forward entry also what the node side did (HL_NAT_F_PEER_FIN/RST,
 * REPLIED). The two directions of a flow are hashed to CPUs by different
 * 5-tuples, so they may run at once on two CPUs: each writes its own
 * counters plainly, and everything the other side reads (seen, flags)
 * changes only by an atomic OR of the entry's dir/seen/flags word. The
 * forward entry's word decides, with the old value an OR returns, the one
 * moment a flow stops being counted in node_active: its close (RST either
 * side, FIN both) or, for flows that never close (UDP, or silent), the
 * sweep's expiry (HL_NAT_F_UNCOUNTED). Whichever CPU's OR makes that
 * change takes the count off; no one else does.
 */
#ifndef HELIOS_BPF_NAT_STATE_H
#define HELIOS_BPF_NAT_STATE_H

#include "maps.h"
#include "strategy.h"

/* seen and flags inside the entry's word at &dir (abi.h asserts that it is
 * one aligned word: BPF atomics are 32 or 64 bits wide). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NAT_W_SEEN(x)		((__u32)(x) << 8)
#define NAT_W_FLAGS(x)		((__u32)(x) << 16)
#define NAT_SEEN_OF(w)		((__u8)((w) >> 8))
#define NAT_FLAGS_OF(w)		((__u16)((w) >> 16))
#else
#define NAT_W_SEEN(x)		((__u32)(x) << 16)
#define NAT_W_FLAGS(x)		((__u32)(x))
#define NAT_SEEN_OF(w)		((__u8)((w) >> 16))
#define NAT_FLAGS_OF(w)		((__u16)(w))
#endif

static __always_inline __u32 nat_word_or(struct hl_nat *e, __u32 bits)
{
	return __sync_fetch_and_or((__u32 *)&e->dir, bits);
}

/* Is the flow of this forward-entry word still in the active counts? */
static __always_inline bool nat_counted(__u32 w)
{
	__u8 seen = NAT_SEEN_OF(w);
	__u16 f = NAT_FLAGS_OF(w);

	if (f & (HL_NAT_F_UNCOUNTED | HL_NAT_F_PEER_RST))
		return false;
	if (seen & HL_NAT_SEEN_RST)
		return false;
	return !((seen & HL_NAT_SEEN_FIN) && (f & HL_NAT_F_PEER_FIN));
}

static __always_inline void nat_count(__u32 svc_id, __u32 node_id, __s64 d)
{
	__s64 *n = bpf_map_lookup_elem(&nat_active, &node_id);

	if (n)
		__sync_fetch_and_add(n, d);
	active_add(svc_id, node_id, d);
}

/* OR `bits` into a forward entry's word; if that ends the flow's count,
 * take it off (exactly once: see above). */
static __always_inline void nat_fwd_or(struct hl_nat *fwd, __u32 bits)
{
	__u32 old = nat_word_or(fwd, bits);

	if (nat_counted(old) && !nat_counted(old | bits))
		nat_count(fwd->svc_id, fwd->node_id, -1);
}

/* The key of the other direction's entry: the entry holds the addresses
 * and ports that direction's packets arrive with, swapped. */
static __always_inline void nat_peer_key(struct hl_flow_key *pk,
					 const struct hl_nat *e,
					 const struct hl_flow_key *k)
{
	__builtin_memcpy(pk->src, e->addr, sizeof(pk->src));
	__builtin_memcpy(pk->dst, e->from, sizeof(pk->dst));
	pk->sport = e->port;
	pk->dport = e->from_port;
	pk->proto = k->proto;
	pk->family = k->family;
	pk->pad = 0;
}

static __always_inline __u8 nat_seen_bits(const struct hl_pkt *pkt)
{
	__u8 f = pkt->tcp_flags, bits = 0;

	if (pkt->key.proto != IPPROTO_TCP)
		return 0;
	if (f & HL_TCP_SYN)
		bits |= HL_NAT_SEEN_SYN;
	if (f & HL_TCP_ACK)
		bits |= HL_NAT_SEEN_ACK;
	if (f & HL_TCP_FIN)
		bits |= HL_NAT_SEEN_FIN;
	if (f & HL_TCP_RST)
		bits |= HL_NAT_SEEN_RST;
	return bits;
}

/*
 * A packet of an existing entry's direction: its counters, and for TCP
 * the flags it carries. A FIN or RST new to this direction, and the
 * first packet of the reply direction, are also written into the other
 * direction's entry (one lookup, for those packets only).
 */
static __always_inline void nat_note(struct hl_nat *e, const struct hl_pkt *pkt,
				     __u64 now)
{
	bool reply = e->dir == HL_NAT_REPLY, first = reply && !e->packets;
	__u8 bits = nat_seen_bits(pkt), fresh = bits & ~e->seen;
	struct hl_flow_key pk;
	struct hl_nat *peer;
	__u16 pf = 0;

	e->last_ns = now;
	e->packets++;
	e->bytes += pkt->frame_len;
	if (likely(!fresh && !first))
		return;
	if (fresh) {
		if (reply)
			nat_word_or(e, NAT_W_SEEN(fresh));
		else
			nat_fwd_or(e, NAT_W_SEEN(fresh));
	}
	if (fresh & HL_NAT_SEEN_FIN)
		pf |= HL_NAT_F_PEER_FIN;
	if (fresh & HL_NAT_SEEN_RST)
		pf |= HL_NAT_F_PEER_RST;
	if (first)
		pf |= HL_NAT_F_REPLIED;
	if (!pf)
		return;
	nat_peer_key(&pk, e, &pkt->key);
	peer = bpf_map_lookup_elem(&nat, &pk);
	if (!peer)
		return;
	if (reply)
		nat_fwd_or(peer, NAT_W_FLAGS(pf));
	else
		nat_word_or(peer, NAT_W_FLAGS(pf));
}

/* End a flow now, from its forward entry (its node is gone, or its client
 * starts over): out of the counts if it still was, both entries deleted. */
static __always_inline void nat_end(struct hl_nat *fwd,
				    const struct hl_flow_key *key)
{
	struct hl_flow_key pk;

	nat_fwd_or(fwd, NAT_W_FLAGS(HL_NAT_F_UNCOUNTED));
	nat_peer_key(&pk, fwd, key);
	bpf_map_delete_elem(&nat, &pk);
	bpf_map_delete_elem(&nat, key);
}

#endif /* HELIOS_BPF_NAT_STATE_H */
