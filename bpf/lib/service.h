/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stage "service": is the packet for one of our services (VIP, port,
 * protocol), and within the service's packet and byte limits? Everything
 * else is passed to the stack untouched.
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

static __always_inline struct hl_service *
service_lookup(const struct hl_pkt *pkt)
{
	struct hl_svc_key skey;

	if (no_service_on_port(pkt->key.dport))
		return NULL;
	__builtin_memcpy(skey.vip, pkt->key.dst, sizeof(skey.vip));
	skey.port = pkt->key.dport;
	skey.proto = pkt->key.proto;
	skey.family = pkt->key.family;
	return bpf_map_lookup_elem(&services, &skey);
}

static __always_inline int stage_service(const struct hl_pkt *pkt,
					 struct hl_target *t)
{
	const struct hl_service *svc = service_lookup(pkt);
	int reason;

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
