/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage "service": is the packet for one of our services (VIP, port,
 * protocol), and within the service's packet and byte limits? Everything
 * else is passed to the stack untouched. A packet of a known flow gets
 * its service from the flow's node and `svc_by_id` (array loads) when
 * that slot's key is the packet's; others, and a flow whose node moved
 * to another service, look the service up by its key (a hash lookup).
 */
#ifndef HELIOS_BPF_SERVICE_H
#define HELIOS_BPF_SERVICE_H

#include "maps.h"
#include "ratelimit.h"

/* Cheap first test for traffic that is no service's: one array word. */
static __always_inline bool no_service_on_port(__be16 dport)
{
	__u32 port = bpf_ntohs(dport), word = port / 64;
	__u64 *bits = bpf_map_lookup_elem(&free_ports, &word);

	return bits && (*bits & (1ull << (port % 64)));
}

/* The service of `flow`'s node, if it is the packet's (ids are reused). */
static __always_inline const struct hl_service *
flow_service(const struct hl_flow *flow, const struct hl_pkt *pkt)
{
	__u32 node_id = flow->node_id, svc_id;
	const struct hl_svc_slot *s;
	const struct hl_node *node;

	node = bpf_map_lookup_elem(&nodes, &node_id);
	if (!node)
		return NULL;
	svc_id = node->svc_id;
	s = bpf_map_lookup_elem(&svc_by_id, &svc_id);
	if (!s || s->svc.id != svc_id ||
	    s->key.port != pkt->key.dport || s->key.proto != pkt->key.proto ||
	    s->key.family != pkt->key.family ||
	    s->key.vip[0] != pkt->key.dst[0] || s->key.vip[1] != pkt->key.dst[1] ||
	    s->key.vip[2] != pkt->key.dst[2] || s->key.vip[3] != pkt->key.dst[3])
		return NULL;
	return &s->svc;
}

/* A port whose services all forward by NAT: no connection-table entry. */
static __always_inline bool nat_port(__be16 dport)
{
	__u32 port = bpf_ntohs(dport), word = port / 64;
	__u64 *bits = bpf_map_lookup_elem(&nat_ports, &word);

	return bits && (*bits & (1ull << (port % 64)));
}

/* And for traffic to an address that is no VIP: one array word too. */
static __always_inline bool no_service_at_addr(const __be32 *dst)
{
	__u32 b = hl_vip_bucket(dst), word = b / 64;
	__u64 *bits = bpf_map_lookup_elem(&free_vips, &word);

	return bits && (*bits & (1ull << (b % 64)));
}

static __always_inline struct hl_service *
service_lookup(const struct hl_pkt *pkt)
{
	struct hl_svc_key skey;

	__builtin_memcpy(skey.vip, pkt->key.dst, sizeof(skey.vip));
	skey.port = pkt->key.dport;
	skey.proto = pkt->key.proto;
	skey.family = pkt->key.family;
	return bpf_map_lookup_elem(&services, &skey);
}

/* `flow`: the packet's connection-table entry, or NULL. */
static __always_inline int stage_service(const struct hl_pkt *pkt,
					 const struct hl_flow *flow,
					 struct hl_target *t)
{
	const struct hl_service *svc = NULL;
	int reason;

	if (flow)
		svc = flow_service(flow, pkt);
	if (!svc)
		svc = service_lookup(pkt);
	if (!svc) {
		t->action = XDP_PASS;
		return HL_REASON_PASS_NOT_SERVICE;
	}
	t->svc = svc;
	/* Packet and byte limits hold for every packet of the service. */
	if (unlikely(svc->opts & HL_SVC_O_LIMIT_TRAFFIC)) {
		reason = rl_traffic(svc, pkt->frame_len);
		if (reason != HL_REASON_FORWARDED)
			return reason;
	}
	return HL_CONTINUE;
}

#endif /* HELIOS_BPF_SERVICE_H */
