/* SPDX-License-Identifier: GPL-2.0 */
/* Per-CPU counters: one reason per verdict, packets/bytes/flows per service
 * and per node. Per-CPU values need no atomics. */
#ifndef HELIOS_BPF_STATS_H
#define HELIOS_BPF_STATS_H

#include "maps.h"

static __always_inline int hl_verdict(__u32 reason, int action)
{
	__u64 *cnt = bpf_map_lookup_elem(&reasons, &reason);

	if (cnt)
		*cnt += 1;
	return action;
}

static __always_inline void hl_count_flow(__u32 svc_id, __u32 node_id)
{
	struct hl_counters *c;

	c = bpf_map_lookup_elem(&svc_stats, &svc_id);
	if (c)
		c->flows++;
	c = bpf_map_lookup_elem(&node_stats, &node_id);
	if (c)
		c->flows++;
}

static __always_inline void hl_count_packet(__u32 svc_id, __u32 node_id,
					    __u32 bytes)
{
	struct hl_counters *c;

	c = bpf_map_lookup_elem(&svc_stats, &svc_id);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	c = bpf_map_lookup_elem(&node_stats, &node_id);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Signs of a node in trouble, as the director sees them (it never sees the
 * replies, in DSR): a SYN again on a known flow means the node did not
 * answer the first; a client RST on a known flow means it gave up. The
 * agent feeds both to the node's circuit breaker. */
static __always_inline void hl_count_tcp_trouble(__u32 node_id, __u8 flags)
{
	struct hl_counters *c;

	if (likely(!(flags & (HL_TCP_SYN | HL_TCP_RST))))
		return;
	c = bpf_map_lookup_elem(&node_stats, &node_id);
	if (!c)
		return;
	if ((flags & (HL_TCP_SYN | HL_TCP_ACK)) == HL_TCP_SYN)
		c->syn_retrans++;
	if (flags & HL_TCP_RST)
		c->rsts++;
}

#endif /* HELIOS_BPF_STATS_H */
