/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fencing by generation: a write service's hl_service.gen changes when the
 * agent confirms another primary, or the primary's timeline advances. A
 * connection-table entry carries the generation it was created under; a
 * packet of an older one is answered with an RST from the VIP (counted as
 * reset-fenced), even when its node is still up and believes it is the
 * primary: a demoted or returning old primary gets no more writes through
 * the director. Entries of generation 0 (made before fencing began) are
 * adopted by the first generation, not reset.
 */
#ifndef HELIOS_BPF_FENCE_H
#define HELIOS_BPF_FENCE_H

#include "maps.h"

static __always_inline bool flow_fenced(const struct hl_service *svc,
					const struct hl_flow *flow)
{
	return svc->gen && flow->gen && flow->gen != svc->gen;
}

/* NAT flows carry no generation; their creation time tells the same: a
 * flow created up to the moment the current generation took over is of an
 * older one. `<=`: a flow of the same clock tick is fenced too (one
 * reconnect too many is safe; one write to an old primary is not). */
static __always_inline bool nat_flow_fenced(const struct hl_service *svc,
					    const struct hl_nat *e)
{
	return svc->gen_ns && e->created_ns <= svc->gen_ns;
}

#endif /* HELIOS_BPF_FENCE_H */
