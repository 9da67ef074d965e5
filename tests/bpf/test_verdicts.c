// SPDX-License-Identifier: GPL-2.0
/*
 * The verdict of every class of packet, as a table of {input frame,
 * expected verdict, expected output frame, expected reason}: forwarded
 * (families, protocols, VLAN tags, extension headers, MTU edges), too
 * big, passed untouched (not ours, fragments) and dropped (malformed);
 * and the free-port shortcut.
 * Frames, fixture and checks: fixture.h, pkt.h. Needs root.
 */
#include "fixture.h"

/* ---- the table ---- */

enum out_kind { OUT_SAME, OUT_ENCAP, OUT_TOO_BIG };

struct xcase {
	const char *name;
	struct spec in;
	void (*mutate)(uint8_t *b, size_t *len);	/* untagged frames */
	uint32_t verdict;
	int reason;
	enum out_kind out;
};

#define L3 14
static void m_trunc_vlan(uint8_t *b, size_t *len)
{
	*len = 16;
}
static void m_trunc_ip4(uint8_t *b, size_t *len)
{
	*len = L3 + 12;
}
static void m_trunc_ip6(uint8_t *b, size_t *len)
{
	*len = L3 + 30;
}
static void m_ihl4(uint8_t *b, size_t *len)
{
	b[L3] = 0x44;
}
static void m_ver(uint8_t *b, size_t *len)
{
	b[L3] = 0x65;
}
static void m_ver6(uint8_t *b, size_t *len)
{
	b[L3] = 0x40 | (b[L3] & 0xf);
}
static void m_opts_beyond(uint8_t *b, size_t *len)
{
	b[L3] = 0x4f;
	*len = L3 + 40;
}
static void m_totlen_big(uint8_t *b, size_t *len)
{
	put16(b + L3 + 2, get16(b + L3 + 2) + 100);
}
static void m_totlen_small(uint8_t *b, size_t *len)
{
	put16(b + L3 + 2, 16);
}
static void m_plen_big(uint8_t *b, size_t *len)
{
	put16(b + L3 + 4, get16(b + L3 + 4) + 1);
}
static void m_mf(uint8_t *b, size_t *len)
{
	put16(b + L3 + 6, 0x2000);
}
static void m_offset(uint8_t *b, size_t *len)
{
	put16(b + L3 + 6, 0x0010);
}
static void m_trunc_tcp(uint8_t *b, size_t *len)
{
	*len = L3 + 30;
	put16(b + L3 + 2, 30);
}
static void m_trunc_tcp6(uint8_t *b, size_t *len)
{
	*len = L3 + 50;
	put16(b + L3 + 4, 10);
}
static void m_doff4(uint8_t *b, size_t *len)
{
	b[L3 + 20 + 12] = 4 << 4;
}
static void m_doff_beyond(uint8_t *b, size_t *len)
{
	b[L3 + 20 + 12] = 15 << 4;
}
static void m_trunc_udp(uint8_t *b, size_t *len)
{
	*len = L3 + 24;
	put16(b + L3 + 2, 24);
}
static void m_l4_past_iplen(uint8_t *b, size_t *len)
{
	put16(b + L3 + 2, 24);
}
static void m_arp(uint8_t *b, size_t *len)
{
	put16(b + 12, 0x0806);
}
static void m_icmp(uint8_t *b, size_t *len)
{
	b[L3 + 9] = 1;
}
static void m_pad60(uint8_t *b, size_t *len)
{
	memset(b + *len, 0, 60 - *len);
	*len = 60;
}

static const struct xcase cases[] = {
	/* forwarded: family x protocol, SYN and not, VLANs, edges */
	{ "v4 TCP SYN", { 0 }, NULL, XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v4 TCP ACK without entry: table, then inserted",
	  { .tcp_flags = TCP_ACK, .payload = 100 }, NULL, XDP_TX,
	  HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v4 TCP tos+DF copied", { .tos = 0xb8, .df = true, .payload = 10 },
	  NULL, XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v4 TCP with IP options", { .ip_opts = 12, .sport = 40002 }, NULL,
	  XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v4 UDP", { UDP, .payload = 64 }, NULL, XDP_TX,
	  HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v4 UDP padded to 60 bytes", { UDP, .sport = 40004 }, m_pad60,
	  XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v6 TCP SYN", { V6 }, NULL, XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v6 TCP ACK, traffic class", { V6, .tcp_flags = TCP_ACK,
	  .tos = 0x2e, .payload = 200 }, NULL, XDP_TX, HL_REASON_FORWARDED,
	  OUT_ENCAP },
	{ "v6 UDP", { V6, UDP, .payload = 32 }, NULL, XDP_TX,
	  HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v6 UDP behind 6 extension headers",
	  { V6, UDP, .v6_ext = 6, .sport = 40010 }, NULL, XDP_TX,
	  HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v6 TCP behind hop-by-hop", { V6, .v6_ext = 1, .v6_ext_type = 0 },
	  NULL, XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v4 TCP 802.1Q tagged", { .vlan_tpid = 0x8100, .vlan_tci = 42,
	  .sport = 40020 }, NULL, XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v6 UDP 802.1ad tagged", { V6, UDP, .vlan_tpid = 0x88a8,
	  .vlan_tci = 7 }, NULL, XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v4 TCP exactly the MTU once encapsulated", { .payload = 1460 - 20,
	  .df = true }, NULL, XDP_TX, HL_REASON_FORWARDED, OUT_ENCAP },
	{ "v6 TCP exactly the MTU once encapsulated", { V6,
	  .payload = 1460 - 40 - 20 }, NULL, XDP_TX, HL_REASON_FORWARDED,
	  OUT_ENCAP },

	/* too big: answered, never dropped silently */
	{ "v4 too big by one byte", { .payload = 1461 - 20, .df = true },
	  NULL, XDP_TX, HL_REASON_TOO_BIG, OUT_TOO_BIG },
	{ "v4 too big with IP options", { UDP, .ip_opts = 8, .payload = 2000 },
	  NULL, XDP_TX, HL_REASON_TOO_BIG, OUT_TOO_BIG },
	{ "v4 too big, VLAN kept", { .vlan_tpid = 0x8100, .vlan_tci = 42,
	  .payload = 1600 }, NULL, XDP_TX, HL_REASON_TOO_BIG, OUT_TOO_BIG },
	{ "v6 too big by one byte", { V6, .payload = 1461 - 40 - 20 }, NULL,
	  XDP_TX, HL_REASON_TOO_BIG, OUT_TOO_BIG },
	{ "v6 UDP too big, 802.1ad kept", { V6, UDP, .vlan_tpid = 0x88a8,
	  .vlan_tci = 9, .payload = 3000 }, NULL, XDP_TX, HL_REASON_TOO_BIG,
	  OUT_TOO_BIG },

	/* not ours: passed byte for byte */
	{ "v4 other VIP", { .dst = "198.18.0.101" }, NULL, XDP_PASS,
	  HL_REASON_PASS_NOT_SERVICE, OUT_SAME },
	{ "v4 other port", { .dport = 22 }, NULL, XDP_PASS,
	  HL_REASON_PASS_NOT_SERVICE, OUT_SAME },
	{ "v4 UDP to the TCP port", { UDP, .dport = 5432 }, NULL, XDP_PASS,
	  HL_REASON_PASS_NOT_SERVICE, OUT_SAME },
	{ "v6 other VIP", { V6, .dst = "fd00::101" }, NULL, XDP_PASS,
	  HL_REASON_PASS_NOT_SERVICE, OUT_SAME },
	{ "v4 ICMP to the VIP", { .payload = 8 }, m_icmp, XDP_PASS,
	  HL_REASON_PASS_NOT_SERVICE, OUT_SAME },
	{ "ARP", { 0 }, m_arp, XDP_PASS, HL_REASON_PASS_NOT_IP, OUT_SAME },
	{ "v4 fragment (MF)", { UDP, .payload = 64 }, m_mf, XDP_PASS,
	  HL_REASON_PASS_FRAGMENT, OUT_SAME },
	{ "v4 fragment (offset)", { UDP, .payload = 64 }, m_offset, XDP_PASS,
	  HL_REASON_PASS_FRAGMENT, OUT_SAME },
	{ "v6 fragment header", { V6, UDP, .v6_ext = 1, .v6_ext_type = 44 },
	  NULL, XDP_PASS, HL_REASON_PASS_FRAGMENT, OUT_SAME },

	/* malformed: dropped, counted */
	{ "truncated VLAN tag", { .vlan_tpid = 0x8100 }, m_trunc_vlan,
	  XDP_DROP, HL_REASON_DROP_MALFORMED_ETH, OUT_SAME },
	{ "truncated IPv4 header", { 0 }, m_trunc_ip4, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_IP, OUT_SAME },
	{ "truncated IPv6 header", { V6 }, m_trunc_ip6, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_IP, OUT_SAME },
	{ "IPv4 IHL 4", { 0 }, m_ihl4, XDP_DROP, HL_REASON_DROP_MALFORMED_IP,
	  OUT_SAME },
	{ "IPv4 ethertype, version 6", { 0 }, m_ver, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_IP, OUT_SAME },
	{ "IPv6 ethertype, version 4", { V6 }, m_ver6, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_IP, OUT_SAME },
	{ "IPv4 options beyond the frame", { UDP }, m_opts_beyond, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_IP, OUT_SAME },
	{ "IPv4 tot_len beyond the frame", { 0 }, m_totlen_big, XDP_DROP,
	  HL_REASON_DROP_BAD_LENGTH, OUT_SAME },
	{ "IPv4 tot_len below the header", { 0 }, m_totlen_small, XDP_DROP,
	  HL_REASON_DROP_BAD_LENGTH, OUT_SAME },
	{ "IPv6 payload length beyond the frame", { V6 }, m_plen_big,
	  XDP_DROP, HL_REASON_DROP_BAD_LENGTH, OUT_SAME },
	{ "IPv6 7 extension headers", { V6, UDP, .v6_ext = 7 }, NULL,
	  XDP_DROP, HL_REASON_DROP_EXTHDR_CHAIN, OUT_SAME },
	{ "truncated TCP header", { 0 }, m_trunc_tcp, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_L4, OUT_SAME },
	{ "truncated TCP header (v6)", { V6 }, m_trunc_tcp6, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_L4, OUT_SAME },
	{ "TCP doff 4", { 0 }, m_doff4, XDP_DROP, HL_REASON_DROP_MALFORMED_L4,
	  OUT_SAME },
	{ "TCP options beyond the frame", { 0 }, m_doff_beyond, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_L4, OUT_SAME },
	{ "truncated UDP header", { UDP }, m_trunc_udp, XDP_DROP,
	  HL_REASON_DROP_MALFORMED_L4, OUT_SAME },
	{ "UDP header past the IP length", { UDP, .payload = 20 },
	  m_l4_past_iplen, XDP_DROP, HL_REASON_DROP_MALFORMED_L4, OUT_SAME },
	{ "malformed to a non-service address", { .dst = "198.18.9.9" },
	  m_doff4, XDP_DROP, HL_REASON_DROP_MALFORMED_L4, OUT_SAME },
};

static void run_case(const struct xcase *c)
{
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	if (load_failed)
		SKIP("program did not load");
	fixture();
	len = build(in, c->in);
	if (c->mutate)
		c->mutate(in, &len);
	run_xdp(in, len, &r);
	switch (c->out) {
	case OUT_SAME:
		check_verdict(&r, c->verdict, c->reason);
		check_bytes(r.out, r.len, in, len);
		CHECK(ct_node(c->in, NULL) < 0, "a conntrack entry was made");
		break;
	case OUT_ENCAP:
		check_forwarded(in, len, c->in, &r, table_node(c->in),
				c->verdict);
		break;
	case OUT_TOO_BIG:
		check_too_big(in, len, c->in, &r, MTU);
		break;
	}
}

/* free_ports: a set bit passes the port's traffic before the service
 * lookup; a clear one (the default) looks it up. */
static void test_free_ports(void)
{
	int fd = bpf_map__fd(skel->maps.free_ports);
	struct spec svc_port = { .sport = 41900 }, other = { .sport = 41902, .dport = 9999 };
	__u64 bits;
	__u32 word;
	struct result r;

	fixture();
	word = 9999 / 64;
	bits = 1ull << (9999 % 64);
	CHECK(!bpf_map_update_elem(fd, &word, &bits, BPF_ANY), "set 9999 free");
	send_spec(other, &r);
	check_verdict(&r, XDP_PASS, HL_REASON_PASS_NOT_SERVICE);
	send_spec(svc_port, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);

	/* A service port marked free by mistake would be passed: the bit
	 * is what decides, so user space must keep it exact. */
	word = 5432 / 64;
	bits = 1ull << (5432 % 64);
	bpf_map_update_elem(fd, &word, &bits, BPF_ANY);
	svc_port.sport = 41904;
	send_spec(svc_port, &r);
	check_verdict(&r, XDP_PASS, HL_REASON_PASS_NOT_SERVICE);
	bits = 0;
	bpf_map_update_elem(fd, &word, &bits, BPF_ANY);
	word = 9999 / 64;
	bpf_map_update_elem(fd, &word, &bits, BPF_ANY);
}

/* free_vips: the same by destination address bucket (hl_vip_bucket()):
 * a set bit passes a packet to a service's port on an address that is no
 * VIP before any hash lookup; the VIP's own bucket is looked up. */
static void test_free_vips(void)
{
	int fd = bpf_map__fd(skel->maps.free_vips);
	struct spec vip = { .sport = 41910 };
	struct spec other = { .sport = 41912, .dst = "198.18.0.99" };
	__be32 a[4] = { 0 }, v[4] = { 0 };
	__u64 all = ~0ull, none = 0;
	__u32 word, b;
	struct result r;

	fixture();
	inet_pton(AF_INET, other.dst, a);
	inet_pton(AF_INET, svcs[0].vip, v);
	b = hl_vip_bucket(a);
	CHECK(b != hl_vip_bucket(v), "test addresses share a bucket");
	word = b / 64;
	CHECK(!bpf_map_update_elem(fd, &word, &all, BPF_ANY), "set free");
	send_spec(other, &r);
	check_verdict(&r, XDP_PASS, HL_REASON_PASS_NOT_SERVICE);
	CHECK(r.delta[HL_REASON_PASS_NOT_SERVICE] == 1, "not counted");
	if (hl_vip_bucket(v) / 64 != word) {
		send_spec(vip, &r);
		check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	}
	/* the VIP's own bucket set by mistake: passed (user space keeps it) */
	word = hl_vip_bucket(v) / 64;
	CHECK(!bpf_map_update_elem(fd, &word, &all, BPF_ANY), "set VIP free");
	vip.sport = 41914;
	send_spec(vip, &r);
	check_verdict(&r, XDP_PASS, HL_REASON_PASS_NOT_SERVICE);
	for (word = 0; word < HL_VIP_BUCKETS / 64; word++)
		bpf_map_update_elem(fd, &word, &none, BPF_ANY);
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		RUN_CASE(cases[i].name, run_case(&cases[i]));
	SCENARIO(test_free_ports);
	SCENARIO(test_free_vips);
	helios_xdp__destroy(skel);
	return unit_done();
}
