// SPDX-License-Identifier: GPL-2.0
/*
 * fwd l2: the node's MAC as destination, the egress device's as source,
 * nothing else changed; XDP_TX or a redirect by the node's device, the
 * MTU without an outer header. Frames, fixture and checks: fixture.h,
 * pkt.h. Needs root.
 */
#include "fixture.h"

/* Service `svc_id` forwards in mode `fwd` (enum hl_fwd). */
static void svc_fwd(uint32_t svc_id, uint8_t fwd)
{
	struct hl_svc_key k;
	struct hl_service v;

	svc_get(svc_id, &k, &v);
	v.fwd = fwd;
	svc_put(&k, &v);
}

/* The frame an l2 service should emit for `in` to node `id`: the same
 * bytes but for the MACs, and without the VLAN tag if it had one. */
static size_t expect_l2(uint8_t *o, const uint8_t *in, size_t len,
			const struct hl_nexthop *nh)
{
	size_t l3 = l3_offset(in);

	memcpy(o, nh->dmac, 6);
	memcpy(o + 6, nh->smac, 6);
	memcpy(o + 12, in + l3 - 2, len - l3 + 2);
	return 14 + len - l3;
}

/* `s` sent to its table node `id` through service `svc_id` in mode l2:
 * `verdict`, one forwarded count, the frame of expect_l2(), the flow on
 * `id`, and one packet of len bytes on the node's counters. */
static void check_l2(struct spec s, uint32_t verdict)
{
	uint32_t id = table_node(s);
	uint8_t in[FRAME_MAX], want[FRAME_MAX];
	struct hl_counters c[ncpus];
	uint64_t packets = 0, bytes = 0;
	struct hl_nexthop nh;
	struct result r;
	size_t len, wlen;

	len = build(in, s);
	run_xdp(in, len, &r);
	check_verdict(&r, verdict, HL_REASON_FORWARDED);
	CHECK(!bpf_map_lookup_elem(nexthops_fd, &id, &nh), "next hop %u", id);
	wlen = expect_l2(want, in, len, &nh);
	check_bytes(r.out, r.len, want, wlen);
	CHECK(ct_node(s, NULL) == id, "conntrack node %lld, want %u",
	      (long long)ct_node(s, NULL), id);
	CHECK(!bpf_map_lookup_elem(node_stats_fd, &id, c), "node stats");
	for (int i = 0; i < ncpus; i++) {
		packets += c[i].packets;
		bytes += c[i].bytes;
	}
	CHECK(packets == 1 && bytes == len, "node %u: %llu packets %llu bytes",
	      id, (unsigned long long)packets, (unsigned long long)bytes);
}

/* TCP SYN with data, IPv4 (and IPv6): XDP_TX, only the MACs differ. */
static void test_l2_v4(void)
{
	struct spec s = { .sport = 42100, .payload = 100, .tos = 0x10,
			  .df = true };

	fixture();
	svc_fwd(1, HL_FWD_L2);
	check_l2(s, XDP_TX);
	/* the next packet of the flow: same node, same treatment */
	fixture();
	svc_fwd(1, HL_FWD_L2);
	check_l2(s, XDP_TX);
	s.tcp_flags = TCP_ACK;
	zero_percpu(node_stats_fd, table_node(s), sizeof(struct hl_counters));
	check_l2(s, XDP_TX);
}

static void test_l2_v6(void)
{
	struct spec s = { V6, .sport = 42100, .payload = 77, .v6_ext = 1 };

	fixture();
	svc_fwd(3, HL_FWD_L2);
	check_l2(s, XDP_TX);
}

/* Node out another device: a redirect, the same frame. */
static void test_l2_redirect(void)
{
	struct spec s = { V6, UDP, .sport = 42200, .payload = 20 };
	uint32_t id = table_node(s);
	struct hl_nexthop nh = nh_for(id, HL_AF_INET6);

	fixture();
	svc_fwd(4, HL_FWD_L2);
	nh.ifindex = 7;
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	check_l2(s, XDP_REDIRECT);
}

/* A VLAN-tagged frame leaves untagged, as encapsulated ones do. */
static void test_l2_vlan(void)
{
	struct spec s = { UDP, .sport = 42300, .vlan_tpid = 0x8100,
			  .vlan_tci = 42, .payload = 9 };

	fixture();
	svc_fwd(2, HL_FWD_L2);
	check_l2(s, XDP_TX);
}

/* No outer header: a packet of exactly the MTU goes (it would be too big
 * encapsulated), one byte more gets a too-big advertising the MTU. */
static void test_l2_mtu(void)
{
	struct spec s4 = { UDP, .sport = 42400, .payload = 600 - 28 };
	struct spec s6 = { V6, UDP, .sport = 42400, .payload = 1300 - 48 };
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	fixture();
	svc_fwd(2, HL_FWD_L2);
	svc_fwd(4, HL_FWD_L2);
	for (uint32_t k = 0; k < NPER; k++) {
		uint32_t id4 = svc_by_id(2)->base + k, id6 = svc_by_id(4)->base + k;
		struct hl_nexthop nh4 = nh_for(id4, HL_AF_INET);
		struct hl_nexthop nh6 = nh_for(id6, HL_AF_INET6);

		nh4.mtu = 600;
		nh6.mtu = 1300;
		bpf_map_update_elem(nexthops_fd, &id4, &nh4, BPF_ANY);
		bpf_map_update_elem(nexthops_fd, &id6, &nh6, BPF_ANY);
	}
	check_l2(s4, XDP_TX);
	check_l2(s6, XDP_TX);

	s4.payload++;
	s6.payload++;
	s4.sport = s6.sport = 42401;
	/* check_too_big() wants the MTU with the outer header it assumes */
	len = build(in, s4);
	run_xdp(in, len, &r);
	check_too_big(in, len, s4, &r, 600 + 20);
	len = build(in, s6);
	run_xdp(in, len, &r);
	check_too_big(in, len, s6, &r, 1300 + 40);
}

/* The same flow after the service went back to ipip: encapsulated. */
static void test_l2_back_to_ipip(void)
{
	struct spec s = { .sport = 42500, .payload = 10 };
	uint32_t id = table_node(s);
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	fixture();
	svc_fwd(1, HL_FWD_L2);
	check_l2(s, XDP_TX);
	svc_fwd(1, HL_FWD_IPIP);
	s.tcp_flags = TCP_ACK;
	len = build(in, s);
	run_xdp(in, len, &r);
	check_forwarded(in, len, s, &r, id, XDP_TX);
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	SCENARIO(test_l2_v4);
	SCENARIO(test_l2_v6);
	SCENARIO(test_l2_redirect);
	SCENARIO(test_l2_vlan);
	SCENARIO(test_l2_mtu);
	SCENARIO(test_l2_back_to_ipip);
	helios_xdp__destroy(skel);
	return unit_done();
}
