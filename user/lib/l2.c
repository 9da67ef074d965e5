// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/l2.h"
#include "lib/log.h"
#include "lib/nexthop.h"
#include "lib/parse.h"

#define L2_NEEDS	"fwd l2 needs nodes on a segment of the director's (a connected route, no gateway)"

int l2_node_direct(const struct hl_node *node, char *why, size_t len)
{
	struct ip_addr dst = { .family = node->family };
	char gw[ADDR_STRLEN];
	struct nexthop_route r;
	int err;

	memcpy(dst.w, node->addr, sizeof(dst.w));
	err = nexthop_route(&dst, &r);
	if (err == -ENETUNREACH) {
		snprintf(why, len, "has no route");
	} else if (err) {
		snprintf(why, len, "has no usable route (%s)", strerror(-err));
	} else if (r.local) {
		snprintf(why, len, "is an address of the director itself");
	} else if (r.has_gateway) {
		snprintf(why, len, "is routed via %s, not directly connected",
			 format_addr(r.gateway.family, r.gateway.w, gw,
				     sizeof(gw)));
	} else {
		return 0;
	}
	return -EINVAL;
}

int l2_node_check(const struct hl_node *node)
{
	char addr[ADDR_STRLEN], why[96];
	int err;

	err = l2_node_direct(node, why, sizeof(why));
	if (err)
		hl_err("node %s %s: " L2_NEEDS,
		       format_addr(node->family, node->addr, addr, sizeof(addr)),
		       why);
	return err;
}

int l2_service_check(struct store *st, __u32 svc_id, const char *svc_name)
{
	char addr[ADDR_STRLEN], why[96];
	__u32 i;
	int err;

	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc_id)
			continue;
		err = l2_node_direct(n, why, sizeof(why));
		if (err) {
			hl_err("service %s cannot forward l2: node %s %s; " L2_NEEDS,
			       svc_name, format_addr(n->family, n->addr, addr,
						     sizeof(addr)), why);
			return err;
		}
	}
	return 0;
}
