/* SPDX-License-Identifier: GPL-2.0 */
/* Next-hop resolution from the kernel's routes and neighbours (rtnetlink). */
#ifndef HELIOS_NEXTHOP_H
#define HELIOS_NEXTHOP_H

#include <helios/abi.h>

#include "lib/parse.h"

/*
 * Fill `nh` for packets to `dst`: egress device, its MAC and MTU, the outer
 * source (cfg's src for the family, else the route's preferred source) and
 * the next hop's MAC. A missing neighbour entry is requested from the kernel
 * and waited for (bounded, about a second). Returns 0 with HL_NH_F_VALID set,
 * -EHOSTUNREACH when the neighbour did not answer (nh filled but for the
 * MAC), or another -errno when there is no route.
 */
int nexthop_resolve(const struct ip_addr *dst, const struct hl_settings *cfg,
		    struct hl_nexthop *nh);

#endif /* HELIOS_NEXTHOP_H */
