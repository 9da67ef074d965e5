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

#endif /* HELIOS_BPF_STATS_H */
