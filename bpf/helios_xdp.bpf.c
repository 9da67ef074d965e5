// SPDX-License-Identifier: GPL-2.0
/*
 * Helios XDP director: a packet to a service (VIP, port, protocol) is sent
 * to one of the service's nodes, IP-in-IP encapsulated; everything else
 * goes to the stack untouched. The flow of a packet is below, one stage
 * after the other; each stage lives in bpf/lib/ and returns HL_CONTINUE or
 * the reason of the packet's verdict.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/service.h"
#include "lib/ryw.h"
#include "lib/established.h"
#include "lib/new_flow.h"
#include "lib/forward.h"
#include "lib/nat.h"
#include "lib/nat_icmp.h"
#include "lib/events.h"

char LICENSE[] SEC("license") = "GPL";

#ifdef HL_BUILD_TAG
/* Test builds of the same maps with another program (make variants). */
const volatile __u32 hl_build_tag = HL_BUILD_TAG;
#endif

SEC("xdp")
int helios_xdp(struct xdp_md *ctx)
{
	struct hl_target t = { .fwd_reason = HL_REASON_FORWARDED,
			       .action = XDP_DROP };
	struct hl_pkt pkt = {};
	struct hl_flow *flow;
	int reason;

	/* parse: a TCP/UDP packet over IPv4/IPv6, or its verdict */
	reason = hl_parse((void *)(long)ctx->data,
			  (void *)(long)ctx->data_end, &pkt);
	if (reason != HL_CONTINUE) {
		/* ICMP errors about NAT flows are translated (nat_icmp.h) */
		if (reason == HL_REASON_PASS_NOT_SERVICE) {
			reason = stage_nat_icmp(ctx, &pkt, &t);
			if (reason != HL_CONTINUE)
				return hl_verdict_ev(reason, t.action, &pkt,
						     &t);
			reason = HL_REASON_PASS_NOT_SERVICE;
		}
		return hl_verdict_ev(reason, hl_parse_action(reason), &pkt, &t);
	}

	/*
	 * reply: the NAT return path (node -> client). Its packets are
	 * addressed to the director, no service: they must be matched before
	 * the service lookup, whose free-port shortcut would pass them.
	 */
	reason = hl_skip(HL_AB_REPLY) ? HL_CONTINUE : stage_reply(ctx, &pkt, &t);
	if (reason != HL_CONTINUE)
		return hl_verdict_ev(reason, t.action, &pkt, &t);

	/* Most traffic that is no service's stops at an array word or two. */
	if (no_service_on_port(pkt.key.dport) || no_service_at_addr(pkt.key.dst))
		return hl_verdict_ev(HL_REASON_PASS_NOT_SERVICE, XDP_PASS,
				     &pkt, &t);

	/* The flow first: a known one leads to its service (service.h).
	 * NAT services keep theirs in another table (nat.h). */
	flow = nat_port(pkt.key.dport) ? NULL : ct_lookup(&pkt.key);

	/* service: ours, and within its packet and byte limits */
	reason = stage_service(&pkt, flow, &t);
	if (reason != HL_CONTINUE)
		return hl_verdict_ev(reason, t.action, &pkt, &t);

	/* a write service's client sent data: read-your-writes (ryw.h) */
	if (!hl_skip(HL_AB_RYW))
		ryw_note_write(&pkt, t.svc);

	/* NAT services: their own table and translation, no IPIP (nat.h) */
	if (t.svc->fwd == HL_FWD_NAT) {
		reason = stage_nat(ctx, &pkt, &t);	/* sets t.action */
		return hl_verdict_ev(reason, t.action, &pkt, &t);
	}

	/* established: stay on the flow's node, or reset the flow */
	reason = stage_established(ctx, &pkt, flow, &t);
	if (reason != HL_CONTINUE)
		return hl_verdict_ev(reason, t.action, &pkt, &t);

	/* new flow (or one whose node is gone): pick a node, remember it */
	if (!t.node) {
		reason = stage_new_flow(&pkt, &t);
		if (reason != HL_CONTINUE)
			return hl_verdict_ev(reason, t.action, &pkt, &t);
	}

	/* forward: to the node's next hop, or answer too-big */
	reason = stage_forward(ctx, &pkt, &t);
	return hl_verdict_ev(reason, t.action, &pkt, &t);
}

/* The active-flow recount's whole round on demand (sweep.h): for tests
 * and benchmarks. */
SEC("syscall")
int recount_now(void *ctx)
{
	sweep_walk();
	return 0;
}

/* The counts made anew from the table (sweep.h), by user/lib/upgrade.c. */
SEC("syscall")
int recount_reset(void *ctx)
{
	sweep_reset();
	return 0;
}

/* One tick of it, the shard's number in ctx_in (benchmarks). */
SEC("syscall")
int recount_shard(__u32 *shard)
{
	if (*shard >= HL_CT_SHARDS)
		return -1;
	sweep_shard(*shard);
	return 0;
}

/* Run once by the loader: the NAT expiry walks then run in a kworker,
 * not in the timer's softirq (nat_sweep.h). 0 on success. */
SEC("syscall")
int nat_sweep_setup(void *ctx)
{
	return nat_sweep_setup_wq();
}

/* The NAT expiry walk on demand (nat_sweep.h): returns the flows ended;
 * nat_sweep_* have the walk's figures. For tests and benchmarks, and
 * for user space that wants the table swept now. */
SEC("syscall")
int nat_sweep_now(void *ctx)
{
	return nat_sweep();
}
