// SPDX-License-Identifier: GPL-2.0
/*
 * Helios XDP director: a packet to a service (VIP, port, protocol) is sent
 * to one of the service's nodes, IP-in-IP encapsulated; everything else
 * goes to the stack untouched. The flow of a packet is below; each step
 * lives in bpf/lib/.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/jhash.h"
#include "lib/stats.h"
#include "lib/conntrack.h"
#include "lib/select.h"
#include "lib/strategy.h"
#include "lib/ratelimit.h"
#include "lib/nexthop.h"
#include "lib/icmp.h"
#include "lib/encap.h"
#include "lib/reset.h"
#include "lib/retry.h"
#include "lib/sweep.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int helios_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hl_pkt pkt = {};
	struct hl_svc_key skey;
	struct hl_service *svc;
	struct hl_nexthop *nh;
	struct hl_node *node = NULL;
	struct hl_flow *flow;
	bool new_flow = false;
	__u32 node_id, hash, outer, fflags, other, created;
	__u32 fwd = HL_REASON_FORWARDED;
	int reason, err;

	reason = hl_parse(data, data_end, &pkt);
	if (reason != HL_PARSE_OK)
		return hl_verdict(reason, hl_parse_action(reason));

	if (port_is_free(pkt.key.dport))
		return hl_verdict(HL_REASON_PASS_NOT_SERVICE, XDP_PASS);
	__builtin_memcpy(skey.vip, pkt.key.dst, sizeof(skey.vip));
	skey.port = pkt.key.dport;
	skey.proto = pkt.key.proto;
	skey.family = pkt.key.family;
	svc = bpf_map_lookup_elem(&services, &skey);
	if (!svc)
		return hl_verdict(HL_REASON_PASS_NOT_SERVICE, XDP_PASS);

	/* Packet and byte limits hold for every packet of the service. */
	if (unlikely(svc->opts & HL_SVC_O_LIMIT_TRAFFIC)) {
		reason = rl_traffic(svc, pkt.frame_len);
		if (reason != HL_REASON_FORWARDED)
			return hl_verdict(reason, XDP_DROP);
	}

	/* Established: stay on the node unless it went away or bad. */
	flow = ct_lookup(&pkt.key);
	if (flow) {
		node_id = flow->node_id;
		hash = flow->hash;
		node = bpf_map_lookup_elem(&nodes, &node_id);
		if (node && node_keeps_flow(node, svc, pkt.key.family)) {
			hl_count_tcp_trouble(node_id, pkt.tcp_flags);
			if (unlikely(svc->opts & HL_SVC_O_COUNT_ACTIVE))
				active_close(svc, flow, pkt.tcp_flags);
			if (unlikely(svc->opts & HL_SVC_O_SYN_RETRY)) {
				other = syn_second_chance(svc, flow, &pkt,
							  pkt.key.family);
				node = other == HL_NODE_NONE ? node :
				       bpf_map_lookup_elem(&nodes, &other);
				if (!node)
					return hl_verdict(HL_REASON_DROP_NO_BACKEND,
							  XDP_DROP);
				if (other != HL_NODE_NONE) {
					if (flow->flags & HL_FLOW_F_COUNTED) {
						active_add(svc->id, node_id, -1);
						active_add(svc->id, other, 1);
					}
					flow->node_id = node_id = other;
					flow->flags |= HL_FLOW_F_RETRIED;
					fwd = HL_REASON_SYN_RETRY;
				}
			}
		} else {
			node = NULL;
			/* Its old node no longer holds it. */
			active_close(svc, flow, HL_TCP_RST);
			if (reset_wanted(svc, &pkt))
				goto reset;
		}
	}

	/*
	 * New flow, or one whose node is gone: any TCP packet, not only a SYN,
	 * goes by the Maglev table, so a restarted director (empty table)
	 * sends an established connection where the old one did.
	 */
	if (!node) {
		/* Hold (the agent sees no single primary): existing flows
		 * stay, new ones wait; the client retransmits its SYN. */
		if (svc->flags & HL_SVC_F_HOLD)
			return hl_verdict(HL_REASON_HELD, XDP_DROP);
		/* Connection limits: new connections only, never a packet
		 * of an established flow (even one whose entry was lost). */
		if (unlikely(svc->opts & HL_SVC_O_LIMIT_CONN) &&
		    rl_conn_start(&pkt)) {
			reason = rl_conn(svc, &pkt);
			if (reason != HL_REASON_FORWARDED)
				return hl_verdict(reason, XDP_DROP);
		}
		new_flow = true;
		hash = hl_select_hash(&pkt.key, svc->hash);
		node_id = select_node(svc, hash);
		node = bpf_map_lookup_elem(&nodes, &node_id);
		if (!node || !node_takes_flow(node, svc, pkt.key.family))
			return hl_verdict(HL_REASON_DROP_NO_BACKEND, XDP_DROP);
		fflags = svc->opts & HL_SVC_O_COUNT_ACTIVE ? HL_FLOW_F_COUNTED : 0;
		created = 0;
		if (unlikely(svc->opts & HL_SVC_O_SYN_RETRY)) {
			created = retry_now_ms();
			retry_note_flow(svc->id);
		}
		if (!ct_insert(&pkt.key, node_id, hash, fflags, created)) {
			hl_count_flow(svc->id, node_id);
			if (fflags) {
				active_add(svc->id, node_id, 1);
				sweep_arm();
			}
		}
	}

	nh = bpf_map_lookup_elem(&nexthops, &node_id);
	if (!nh || !nh_resolve(ctx, nh, node, new_flow))
		return hl_verdict(HL_REASON_DROP_NO_ROUTE, XDP_DROP);

	outer = pkt.key.family == HL_AF_INET6 ? HL_IPV6_HLEN : HL_IPV4_HLEN;
	if (unlikely(nh->mtu && pkt.ip_len + outer > nh->mtu)) {
		if (pkt.key.family == HL_AF_INET6)
			err = icmp6_too_big(ctx, &pkt, nh->mtu);
		else
			err = icmp4_too_big(ctx, &pkt, nh->mtu);
		if (err)
			return hl_verdict(HL_REASON_DROP_ENCAP, XDP_DROP);
		return hl_verdict(HL_REASON_TOO_BIG, XDP_TX);
	}

	if (pkt.key.family == HL_AF_INET6)
		err = encap_ipv6(ctx, &pkt, node, nh, hash);
	else
		err = encap_ipv4(ctx, &pkt, node, nh);
	if (err)
		return hl_verdict(HL_REASON_DROP_ENCAP, XDP_DROP);

	hl_count_packet(svc->id, node_id, pkt.frame_len);
	if (nh->ifindex == ctx->ingress_ifindex)
		return hl_verdict(fwd, XDP_TX);
	return hl_verdict(fwd, bpf_redirect(nh->ifindex, 0));

reset:
	/* The flow is over: a later SYN on the same tuple starts afresh. */
	bpf_map_delete_elem(&conntrack, &pkt.key);
	if (pkt.key.family == HL_AF_INET6)
		err = tcp_reset6(ctx, &pkt);
	else
		err = tcp_reset4(ctx, &pkt);
	if (err)
		return hl_verdict(HL_REASON_DROP_ENCAP, XDP_DROP);
	return hl_verdict(HL_REASON_RESET_NODE_DOWN, XDP_TX);
}
