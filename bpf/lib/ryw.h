/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read-your-writes without a proxy (struct hl_ryw, abi.h). Two stages:
 *   ryw_note_write: a client's TCP segment with payload to a write service
 *	that some read service names as its source: remember when.
 *   ryw_pick: a new flow of a read service from a client that wrote within
 *	the window: keep the strategy's standby only if it had replayed past
 *	that write, else take the primary.
 * Times are bpf_ktime_get_coarse_ns(): a tick's resolution (covered by
 * HL_RYW_MARGIN), and a client's entry is stored at most once per tick,
 * so a stream of data packets costs one lookup each, not a map write.
 */
#ifndef HELIOS_BPF_RYW_H
#define HELIOS_BPF_RYW_H

#include "maps.h"

static __always_inline void ryw_key(struct hl_client_key *k,
				    const struct hl_pkt *pkt, __u32 src_id)
{
	__builtin_memcpy(k->addr, pkt->key.src, sizeof(k->addr));
	k->svc_id = src_id;
	k->family = pkt->key.family;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

static __always_inline void ryw_note_write(const struct hl_pkt *pkt,
					   const struct hl_service *svc)
{
	struct hl_client_key k;
	__u64 now, *last;

	if (likely(!(svc->opts & HL_SVC_O_RYW_SRC)) || !pkt->tcp_payload)
		return;
	ryw_key(&k, pkt, svc->id);
	now = bpf_ktime_get_coarse_ns();
	last = bpf_map_lookup_elem(&ryw_clients, &k);
	if (!last) {
		bpf_map_update_elem(&ryw_clients, &k, &now, BPF_ANY);
		return;
	}
	if (*last != now)	/* a new tick: one store, no map update */
		*last = now;
}

/* Has node `n` replayed past a write at coarse time `w`? The primary has
 * it; a standby whose replay position is unknown has not. */
static __always_inline bool ryw_node_fresh(const struct hl_node *n, __u64 w)
{
	if (n->eff_role == HL_ROLE_PRIMARY)
		return true;
	return n->synced_ms &&
	       (__s32)(n->synced_ms - (__u32)(w >> 20)) > HL_RYW_MARGIN;
}

/* The node for a new flow of read service `svc` whose strategy picked
 * `node_id` (maybe HL_NODE_NONE). */
static __always_inline __u32 ryw_pick(const struct hl_service *svc,
				      const struct hl_pkt *pkt, __u32 node_id,
				      struct hl_target *t)
{
	__u32 svc_id = svc->id;
	struct hl_client_key k;
	struct hl_node *n;
	struct hl_ryw *r;
	__u64 *last, w;

	r = bpf_map_lookup_elem(&ryw, &svc_id);
	if (!r || !r->window_ms)
		return node_id;
	ryw_key(&k, pkt, r->src_id);
	last = bpf_map_lookup_elem(&ryw_clients, &k);
	if (!last)
		return node_id;
	w = *last;
	if (bpf_ktime_get_coarse_ns() - w >= (__u64)r->window_ms * 1000000)
		return node_id;
	n = bpf_map_lookup_elem(&nodes, &node_id);
	if (n && ryw_node_fresh(n, w))
		return node_id;
	/* No primary usable: the standby all the same (availability). */
	if (r->primary_id == HL_NODE_NONE)
		return node_id;
	t->fwd_reason = HL_REASON_FWD_RYW;
	return r->primary_id;
}

#endif /* HELIOS_BPF_RYW_H */
