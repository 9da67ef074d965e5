// SPDX-License-Identifier: GPL-2.0
/*
 * On-down reset: the RST a flow whose node went down gets from the VIP,
 * IPv4 and IPv6, checked field by field, and counted for that node.
 * Frames, fixture and checks: fixture.h, pkt.h. Needs root.
 */
#include "fixture.h"

/* Set or clear a flag of the service of spec `s`. */
static void svc_flags(uint32_t svc_id, uint32_t flags)
{
	struct hl_svc_key k;
	struct hl_service v;

	svc_get(svc_id, &k, &v);
	v.flags = flags;
	svc_put(&k, &v);
}

static uint64_t node_reason(uint32_t node_id, uint32_t reason)
{
	struct hl_node_reasons v[ncpus];
	uint64_t sum = 0;

	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.node_reasons), &node_id, v))
		for (int c = 0; c < ncpus; c++)
			sum += v[c].count[reason];
	return sum;
}

/* On-down reset: the next client segment of a flow whose node went down
 * gets a TCP RST from the VIP (SEQ = its ACK), and the flow is forgotten. */
static void check_reset(uint8_t family, uint32_t svc_id)
{
	struct spec s = { .family = family, .sport = 41700 };
	uint8_t in[FRAME_MAX];
	const uint8_t *ip, *th;
	struct result r;
	size_t len, l3 = 14, iphl = family == HL_AF_INET6 ? 40 : 20;
	uint32_t first, sum = 0;
	uint64_t resets;

	fixture();
	send_spec(s, &r);
	first = out_node(&r);
	resets = node_reason(first, HL_REASON_RESET_NODE_DOWN);
	svc_flags(svc_id, HL_SVC_F_RESET);
	node_update(first, HL_NODE_F_UNHEALTHY, 0);
	s.tcp_flags = TCP_ACK;
	s.payload = 100;
	len = build(in, s);
	put32(in + l3 + iphl + 8, 0x11223344);	/* the client's ACK */
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_TX, HL_REASON_RESET_NODE_DOWN);
	CHECK(r.len == l3 + iphl + 20, "reset frame of %u bytes", r.len);
	CHECK(!memcmp(r.out, in + 6, 6) && !memcmp(r.out + 6, in, 6), "MACs swapped");
	ip = r.out + l3;
	th = ip + iphl;
	if (family == HL_AF_INET6) {
		CHECK(!memcmp(ip + 8, in + l3 + 24, 16) && !memcmp(ip + 24, in + l3 + 8, 16),
		      "addresses swapped");
		CHECK(ip[6] == IPPROTO_TCP && get16(ip + 4) == 20, "IPv6 header");
		for (int i = 8; i < 40; i += 2)
			sum += get16(ip + i);
		sum += 20 + IPPROTO_TCP;
	} else {
		CHECK(!memcmp(ip + 12, in + l3 + 16, 4) && !memcmp(ip + 16, in + l3 + 12, 4),
		      "addresses swapped");
		CHECK(ip[9] == IPPROTO_TCP && get16(ip + 2) == 40, "IPv4 header");
		CHECK(csum16(ip, 20, 0) == 0, "IPv4 header checksum");
		for (int i = 12; i < 20; i += 2)
			sum += get16(ip + i);
		sum += 20 + IPPROTO_TCP;
	}
	s = defaults(s);
	CHECK(get16(th) == s.dport && get16(th + 2) == s.sport, "ports swapped");
	CHECK(get32(th + 4) == 0x11223344, "SEQ = the client's ACK");
	CHECK(th[13] == 0x04 && (th[12] >> 4) == 5, "bare RST, flags %#x", th[13]);
	CHECK(csum16(th, 20, sum) == 0, "TCP checksum");
	CHECK(ct_node(s, NULL) < 0, "reset flow still in the connection table");
	CHECK(node_reason(first, HL_REASON_RESET_NODE_DOWN) == resets + 1,
	      "reset not counted for its node");

	/* Without the service's reset flag the flow is re-selected instead. */
	fixture();
	s.tcp_flags = TCP_SYN;
	send_spec(s, &r);
	node_update(out_node(&r), HL_NODE_F_UNHEALTHY, 0);
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);
	CHECK(r.ret != XDP_TX || r.delta[HL_REASON_RESET_NODE_DOWN] == 0,
	      "reset without the flag");
}

static void test_reset_v4(void) { check_reset(HL_AF_INET, 1); }

static void test_reset_v6(void)
{
	const struct svc_fix *f;

	for (f = svcs; f < svcs + ARRAY_SIZE(svcs); f++)
		if (f->family == HL_AF_INET6 && f->proto == IPPROTO_TCP)
			return check_reset(HL_AF_INET6, f->id);
	SKIP("no IPv6 TCP service in the fixture");
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	SCENARIO(test_reset_v4);
	SCENARIO(test_reset_v6);
	helios_xdp__destroy(skel);
	return unit_done();
}
