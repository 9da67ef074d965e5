/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Next hop of a node: egress device, MACs and MTU, cached in `nexthops`.
 *
 * bpf_fib_lookup() costs ~110 ns here, four times a whole XDP_TX, so it is
 * never called for an established flow with a valid cache. It runs when
 *   - the entry is not HL_NH_F_VALID (any packet), or
 *   - a new flow finds the entry older than HL_NH_REFRESH_NS, so routes and
 *     neighbours that change are picked up within a second of new traffic.
 * The kernel answers BPF_FIB_LKUP_RET_FWD_DISABLED unless forwarding is
 * enabled on the ingress device (net.ipv{4,6}.conf.DEV.forwarding, checked
 * even for BPF_FIB_LOOKUP_OUTPUT), so without it only user space fills
 * next hops and the data path just keeps using what it finds.
 * A successful lookup rewrites dmac, smac, ifindex, mtu and updated_ns and
 * sets VALID. The MTU is the egress device's (bpf_check_mtu() with a zero
 * length reports it), refreshed together with the ifindex it belongs to;
 * user space writes the same quantity (SIOCGIFMTU) at `node add`, and mtu 0
 * means "unknown": no too-big check. The outer source (src) belongs to user
 * space; only when it is all-zero do we ask the FIB for one
 * (BPF_FIB_LOOKUP_SRC). A failed lookup leaves a valid cache in use (a
 * neighbour entry that expired must not cut established traffic) and
 * leaves an invalid one invalid: the packet is dropped-no-route.
 */
#ifndef HELIOS_BPF_NEXTHOP_H
#define HELIOS_BPF_NEXTHOP_H

#include "common.h"

static __always_inline bool addr_is_zero(const __be32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static __always_inline void nh_fib_refresh(struct xdp_md *ctx,
					   struct hl_nexthop *nh,
					   const struct hl_node *node,
					   __u64 now)
{
	struct bpf_fib_lookup fib = {};
	bool want_src = addr_is_zero(nh->src);
	__u32 mtu = 0;
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	if (node->family == HL_AF_INET6) {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_dst, node->addr, 16);
		__builtin_memcpy(fib.ipv6_src, nh->src, 16);
	} else {
		fib.family = AF_INET;
		fib.ipv4_dst = node->addr[0];
		fib.ipv4_src = nh->src[0];
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib),
			    want_src ? BPF_FIB_LOOKUP_SRC : 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return;
	if (want_src) {
		if (node->family == HL_AF_INET6)
			__builtin_memcpy(nh->src, fib.ipv6_src, 16);
		else
			nh->src[0] = fib.ipv4_src;
		if (addr_is_zero(nh->src))
			return;
	}
	if (bpf_check_mtu(ctx, fib.ifindex, &mtu, 0, 0) < 0)
		mtu = 0;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	nh->ifindex = fib.ifindex;
	nh->mtu = mtu;
	nh->updated_ns = now;
	nh->flags |= HL_NH_F_VALID;
}

/* Make `nh` usable; false means no route to the node. */
static __always_inline bool nh_resolve(struct xdp_md *ctx,
				       struct hl_nexthop *nh,
				       const struct hl_node *node,
				       bool new_flow)
{
	__u64 now;

	/* The coarse clock (a load, not a clock read, on every new flow):
	 * a tick's error on a one-second age. User space stamps with the
	 * fine one, up to a tick ahead: signed, that is fresh. */
	if (likely(nh->flags & HL_NH_F_VALID)) {
		if (likely(!new_flow))
			return true;
		now = bpf_ktime_get_coarse_ns();
		if ((__s64)(now - nh->updated_ns) <= (__s64)HL_NH_REFRESH_NS)
			return true;
	} else {
		now = bpf_ktime_get_coarse_ns();
	}
	nh_fib_refresh(ctx, nh, node, now);
	return nh->flags & HL_NH_F_VALID;
}

#endif /* HELIOS_BPF_NEXTHOP_H */
