// SPDX-License-Identifier: GPL-2.0
/*
 * Where flows go over several packets: stickiness while the table
 * changes, re-selection when a node is deleted, unhealthy or reused,
 * drains, transitioning nodes, no backend, hold, the SYN second chance,
 * and the hash distribution of 100k flows.
 * Frames, fixture and checks: fixture.h, pkt.h. Needs root.
 */
#include "fixture.h"

/* ---- scenarios ---- */

static const uint32_t v4t_ids[] = { 10, 11, 12 };

/* A flow stays on its node when the table changes under it; a new flow
 * follows the new table. */
static void test_sticky_after_table_change(void)
{
	struct spec syn = { .sport = 41000 }, ack = syn, other = syn;
	uint8_t in[FRAME_MAX];
	struct result r;
	uint32_t first, moved[1];
	size_t len;

	fixture();
	send_spec(syn, &r);
	first = out_node(&r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);

	moved[0] = first == 10 ? 11 : 10;
	CHECK(!set_table(1, RING, moved, 1), "set_table");
	ack.tcp_flags = TCP_ACK;
	len = build(in, ack);
	run_xdp(in, len, &r);
	check_forwarded(in, len, ack, &r, first, XDP_TX);

	other.sport = 41002;
	send_spec(other, &r);
	CHECK(out_node(&r) == moved[0], "new flow on %lld, want %u",
	      (long long)out_node(&r), moved[0]);
}

/* A deleted node loses its flows to the table's choice. */
static void test_reselect_deleted(void)
{
	struct spec s = { .sport = 41100, .tcp_flags = TCP_ACK };
	uint32_t first, other[1];
	struct result r;

	fixture();
	send_spec(s, &r);
	first = out_node(&r);
	node_update(first, 0, HL_NODE_F_EXISTS);
	other[0] = first == 10 ? 12 : 10;
	set_table(1, RING, other, 1);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == other[0], "went to %lld, want %u",
	      (long long)out_node(&r), other[0]);
	CHECK(ct_node(s, NULL) == other[0], "conntrack not rewritten");
}

/* Unhealthy: not even existing flows. Taken out of the table, the flow
 * moves; still in the table, nothing is sent to it at all. */
static void test_reselect_unhealthy(void)
{
	struct spec s = { .sport = 41200 };
	uint32_t first, other[1], all[1];
	struct result r;

	fixture();
	send_spec(s, &r);
	first = out_node(&r);
	node_update(first, HL_NODE_F_UNHEALTHY, 0);
	all[0] = first;
	set_table(1, RING, all, 1);
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_BACKEND);

	other[0] = first == 11 ? 12 : 11;
	set_table(1, RING, other, 1);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == other[0], "went to %lld, want %u",
	      (long long)out_node(&r), other[0]);
}

/* Drained (still exists, no longer in the table) and transitioning nodes
 * keep their flows; degraded nodes keep taking new ones. */
static void test_drain_keeps_flows(void)
{
	struct spec a = { .sport = 41300 }, b = { .sport = 41302 };
	uint32_t na, rest[2];
	struct result r;
	int k = 0;

	fixture();
	send_spec(a, &r);
	na = out_node(&r);
	for (int i = 0; i < NPER; i++)
		if (v4t_ids[i] != na)
			rest[k++] = v4t_ids[i];
	set_table(1, RING, rest, 2);		/* drain: out of the table */
	node_update(na, HL_NODE_F_TRANSITIONING | HL_NODE_F_DEGRADED, 0);
	a.tcp_flags = TCP_ACK;
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == na, "drained flow moved to %lld, want %u",
	      (long long)out_node(&r), na);

	/* new flows: the drained node is not in the table, and a degraded
	 * node in it still takes them */
	node_update(rest[0], HL_NODE_F_DEGRADED, 0);
	node_update(rest[1], HL_NODE_F_DEGRADED, 0);
	send_spec(b, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == rest[0] || out_node(&r) == rest[1],
	      "new flow on %lld", (long long)out_node(&r));
}

/* A transitioning node in the table takes no new flows. */
static void test_transitioning_no_new_flows(void)
{
	uint32_t ids[1] = { 10 };
	struct result r;

	fixture();
	set_table(1, RING, ids, 1);
	node_update(10, HL_NODE_F_TRANSITIONING, 0);
	send_spec((struct spec){ .sport = 41400 }, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_BACKEND);
}

/* A node id reused by another service is not this flow's node any more. */
static void test_reselect_node_other_service(void)
{
	struct spec s = { .sport = 41500 };
	struct hl_flow_key k = flow_key(s);
	struct hl_flow f = { .node_id = 20, .hash = 1 };	/* UDP svc's */
	struct result r;

	fixture();
	ct_put(ct_fd, &k, &f, BPF_ANY);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == table_node(s), "went to %lld, want %u",
	      (long long)out_node(&r), table_node(s));
}

/*
 * An established packet reads its service from the copy by id
 * (svc_by_id) that its flow's node leads to, when that copy's key is the
 * packet's; without one, or with another service's key there, from the
 * services hash. The copy is made L2 here (no outer header) to see which
 * one the packet followed.
 */
static void test_service_copy(void)
{
	struct spec s = { .sport = 41550 };
	struct hl_svc_slot slot, other;
	struct hl_svc_key k;
	struct hl_service v;
	struct result r, first;
	int64_t node;
	uint32_t id = 1, other_id = 2;

	fixture();
	svc_get(1, &k, &v);
	send_spec(s, &first);
	check_verdict(&first, XDP_TX, HL_REASON_FORWARDED);
	node = out_node(&first);
	s.tcp_flags = TCP_ACK;

	/* no copy: the hash, the same node */
	CHECK(!bpf_map_lookup_elem(svc_by_id_fd, &id, &slot), "no copy of service 1");
	memset(&other, 0, sizeof(other));
	bpf_map_update_elem(svc_by_id_fd, &id, &other, BPF_ANY);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(r.len == first.len && out_node(&r) == node,
	      "without its copy: %u bytes to node %lld, want %u to %lld", r.len,
	      (long long)out_node(&r), first.len, (long long)node);

	/* the copy, made L2: followed (the frame keeps its length) */
	slot.svc.fwd = HL_FWD_L2;
	bpf_map_update_elem(svc_by_id_fd, &id, &slot, BPF_ANY);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(r.len < first.len, "the copy by id was not followed (%u bytes)", r.len);

	/* that copy under another service's key: not the packet's, the hash */
	CHECK(!bpf_map_lookup_elem(svc_by_id_fd, &other_id, &other), "no copy of service 2");
	slot.key = other.key;
	bpf_map_update_elem(svc_by_id_fd, &id, &slot, BPF_ANY);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(r.len == first.len && out_node(&r) == node,
	      "a copy with another key was followed: %u bytes to node %lld",
	      r.len, (long long)out_node(&r));
}

static void test_no_backend(void)
{
	uint32_t udp_table = hl_slots_key(2, 0);
	struct result r;

	fixture();
	set_table(1, RING, NULL, 0);		/* empty table */
	send_spec((struct spec){ .sport = 41600 }, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_BACKEND);
	CHECK(ct_node((struct spec){ .sport = 41600 }, NULL) < 0,
	      "conntrack entry for a dropped flow");

	bpf_map_delete_elem(slots_fd, &udp_table);	/* no table at all */
	send_spec((struct spec){ UDP, .sport = 41600 }, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_BACKEND);
}

/* Hold (no single primary): established flows go on, new ones wait. */
static void test_hold(void)
{
	struct spec a = { .sport = 41650 }, b = { .sport = 41652 };
	const struct svc_fix *s = svc_by_id(1);
	struct hl_svc_key k = { .proto = s->proto, .family = s->family,
				.port = htons(s->port) };
	struct hl_service v = { .id = s->id, .ring_size = RING,
				.flags = HL_SVC_F_HOLD };
	struct result r;

	fixture();
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	addr_parse(s->family, s->vip, k.vip);
	services_write(&k, &v, BPF_ANY);
	a.tcp_flags = TCP_ACK;
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	send_spec(b, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_HELD);
	CHECK(ct_node(b, NULL) < 0, "held flow got a conntrack entry");
}

/* Service 1 with SYN second chance: delay, budget per cent, minimum. */
static void syn_retry_on(__u16 delay_ms, __u8 pct, __u8 min)
{
	struct hl_svc_key k;
	struct hl_limits lim = { .retry_delay_ms = delay_ms, .retry_pct = pct,
				 .retry_min = min };
	struct hl_retry_window w[ncpus];
	struct hl_service v;
	__u32 id = 1;

	svc_get(1, &k, &v);
	v.opts |= HL_SVC_O_SYN_RETRY;
	svc_put(&k, &v);
	CHECK(!bpf_map_update_elem(bpf_map__fd(skel->maps.limits), &id, &lim,
				   BPF_ANY), "limits update");
	memset(w, 0, sizeof(w));
	bpf_map_update_elem(bpf_map__fd(skel->maps.retry_window), &id, w, BPF_ANY);
}

/* A SYN again on a known flow goes once to another node, within budget. */
static void test_syn_second_chance(void)
{
	struct spec s = { .sport = 42100 };
	struct result r;
	int64_t first, second;

	fixture();
	syn_retry_on(0, 100, 1);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	first = out_node(&r);
	CHECK(ct_node(s, NULL) == first, "first SYN: flow on %lld", (long long)ct_node(s, NULL));
	send_spec(s, &r);		/* the client's retransmission */
	check_verdict(&r, XDP_TX, HL_REASON_SYN_RETRY);
	second = out_node(&r);
	CHECK(second >= 0 && second != first, "second chance went to %lld, first %lld",
	      (long long)second, (long long)first);
	CHECK(ct_node(s, NULL) == second, "flow not moved to the second node");
	send_spec(s, &r);		/* once only */
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == second, "a third SYN moved again");
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);
	CHECK(out_node(&r) == second, "the flow's ACK went elsewhere");

	/* No budget (0 %, minimum 0): the SYN stays where it went. */
	fixture();
	syn_retry_on(0, 0, 0);
	s.sport = 42102;
	s.tcp_flags = TCP_SYN;
	send_spec(s, &r);
	first = out_node(&r);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == first, "moved without budget");

	/* Too early: a SYN again within the delay is a duplicate. */
	fixture();
	syn_retry_on(60000, 100, 5);
	s.sport = 42104;
	send_spec(s, &r);
	first = out_node(&r);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == first, "moved before the delay");
}

/* 100k flows with consecutive even source ports (what Linux picks) over a
 * 1:1:1 table of 65537 slots: each node within 3% of a third. */
static void test_distribution(void)
{
	const uint32_t n = 100000, ring = 65537, ids[NPER] = { 20, 21, 22 };
	uint32_t count[NPER] = { 0 };
	uint8_t in[FRAME_MAX];
	struct result r;
	char src[32];
	size_t len;

	fixture();
	set_service(svc_by_id(2), ring);
	CHECK(!set_table(2, ring, ids, NPER), "set_table");
	for (uint32_t i = 0; i < n; i++) {
		struct spec s = { UDP, .src = src,
				  .sport = 1024 + 2 * (i % 32000) };

		snprintf(src, sizeof(src), "198.18.3.%u", 1 + i / 32000);
		len = build(in, s);
		run_xdp(in, len, &r);
		if (r.err || r.ret != XDP_TX)
			break;
		for (int k = 0; k < NPER; k++)
			count[k] += out_node(&r) == ids[k];
	}
	for (int k = 0; k < NPER; k++) {
		double share = count[k] * 3.0 / n;

		printf("#   node %u: %u flows (%.1f%% of a fair third)\n",
		       ids[k], count[k], share * 100);
		CHECK(share > 0.97 && share < 1.03, "node %u: %u of %u",
		      ids[k], count[k], n);
	}
	ct_flush();
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	SCENARIO(test_sticky_after_table_change);
	SCENARIO(test_reselect_deleted);
	SCENARIO(test_reselect_unhealthy);
	SCENARIO(test_drain_keeps_flows);
	SCENARIO(test_transitioning_no_new_flows);
	SCENARIO(test_reselect_node_other_service);
	SCENARIO(test_service_copy);
	SCENARIO(test_no_backend);
	SCENARIO(test_hold);
	SCENARIO(test_syn_second_chance);
	SCENARIO(test_distribution);
	helios_xdp__destroy(skel);
	return unit_done();
}
