/* SPDX-License-Identifier: GPL-2.0 */
/* Next-hop resolution from the kernel's routes and neighbours (rtnetlink). */
#ifndef HELIOS_NEXTHOP_H
#define HELIOS_NEXTHOP_H

#include <stdbool.h>
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

/* The kernel's route to an address, as far as forwarding modes care. */
struct nexthop_route {
	__u32 oif;		/* egress device */
	bool local;		/* an address of this host (RTN_LOCAL) */
	bool has_gateway;	/* through a router: `gateway` */
	struct ip_addr gateway;	/* RTA_GATEWAY, or RTA_VIA */
};

/*
 * Look up the route to `dst` (RTM_GETROUTE, as `ip route get`): 0 with `r`
 * filled, -ENETUNREACH when there is none (or it is unreachable), another
 * -errno when the lookup failed. No gateway and not local: `dst` is on a
 * segment the egress device reaches directly.
 */
int nexthop_route(const struct ip_addr *dst, struct nexthop_route *r);

#endif /* HELIOS_NEXTHOP_H */
