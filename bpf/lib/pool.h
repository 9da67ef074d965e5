/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage "pool": the node pool a client's class is given on a read service
 * (`class pool NAME SVC sync|async`): analytics on async standbys, OLTP
 * on sync ones. Only services with HL_SVC_O_POOLS come here (one test of
 * a word the new-flow path has loaded anyway for the others). A class
 * without a pool on the service gets the service's own pick; a class
 * whose pool has no usable node falls back as the service's `fallback`
 * says: the primary, or nothing.
 */
#ifndef HELIOS_BPF_POOL_H
#define HELIOS_BPF_POOL_H

#include "maps.h"
#include "ratelimit.h"

/* HL_CONTINUE: no pool here (pick as usual); HL_REASON_FORWARDED with
 * *node_id set; else a drop's reason. */
static __always_inline int pool_pick(const struct hl_service *svc,
				     const struct hl_pkt *pkt, __u32 hash,
				     __u32 *node_id)
{
	struct hl_class_pool_key k = { .svc_id = svc->id };
	const struct hl_node_list *list;
	__u32 *class_id, idx, i;
	__u8 *pool;

	class_id = client_class(pkt);
	if (!class_id)
		return HL_CONTINUE;
	k.class_id = *class_id;
	pool = bpf_map_lookup_elem(&class_pools, &k);
	if (!pool || *pool == HL_POOL_ANY || *pool >= HL_POOL_LISTS)
		return HL_CONTINUE;
	idx = svc->id * HL_POOL_LISTS + *pool - 1;
	list = bpf_map_lookup_elem(&pool_lists, &idx);
	if (list && list->count) {
		i = hash % list->count;
		if (i >= HL_SEL_MAX)
			return HL_REASON_DROP_NO_BACKEND;
		*node_id = list->ids[i];
		return HL_REASON_FORWARDED;
	}
	if (!(svc->opts & HL_SVC_O_FALLBACK_PRIMARY))
		return HL_REASON_DROP_NO_BACKEND;
	idx = svc->id * HL_POOL_LISTS + HL_POOL_LISTS - 1;
	list = bpf_map_lookup_elem(&pool_lists, &idx);
	if (!list || !list->count)
		return HL_REASON_DROP_NO_BACKEND;
	*node_id = list->ids[0];
	return HL_REASON_FORWARDED;
}

#endif /* HELIOS_BPF_POOL_H */
