// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile packets through the loaded director: a deterministic corpus
 * (every truncation point of every header stack, bogus IHL, lengths,
 * offsets, doff and extension header lengths, fragments, encapsulated
 * packets, packets from the director's own addresses) and then random
 * packets, generated and mutated from a fixed seed, with the fixture's
 * services in IPIP, NAT and L2 mode in turn. Each packet is checked for:
 *
 *  - exactly one reason counter moved, by one, and never XDP_ABORTED;
 *  - XDP_PASS: the frame byte for byte untouched (a NAT reply the data
 *    path passed for want of a neighbour: the documented translation);
 *  - XDP_TX/REDIRECT only as (a) the encapsulation, L2 rewrite or NAT
 *    translation of a well-formed packet of a service (parse_ref(), the
 *    policy table of bpf/lib/parse.h written again here) to a node of
 *    that service, the rest byte-identical, (b) an ICMP too-big answer to
 *    its sender, (c) the NAT reply/ICMP translation of a flow the
 *    director translated itself;
 *  - the parse-level verdicts of parse.h's table: where the reference
 *    says malformed, the same reason; a well-formed packet never one.
 *
 * Size: HELIOS_FUZZ_PACKETS random packets (default 50000, `make fuzz`
 * runs 1000000), seed HELIOS_FUZZ_SEED. A violation prints the reason
 * and the frame in hex (the first few), and fails the suite. Needs root.
 */
#include "fixture.h"

#define SNAT4		"198.18.3.1"
#define SNAT6		"fd00::3:1"
#define DIRECTOR4	"198.18.0.1"
#define DIRECTOR6	"fd00::1"
#define SHOW_MAX	10
#define REF_TCP_UDP	(-1)	/* parse_ref(): a TCP/UDP packet */
#define EXT_MAX		6	/* bpf/lib/common.h HL_IPV6_EXT_MAX */

static int snat_fd, nat_fd;
static uint64_t n_runts, n_packets, n_violations;
static uint64_t n_verdict[5], n_reason[HL_REASON_MAX];
static uint64_t rng_state;
static uint8_t round_mode[5];	/* by service id: enum hl_fwd this round */

/* ---- random ---- */

static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, the same packets every run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint32_t rn(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(uint32_t pct)
{
	return rn(100) < pct;
}

/* ---- the reference parser (bpf/lib/parse.h's policy) ---- */

struct ref {
	int reason;		/* REF_TCP_UDP: a TCP/UDP packet */
	uint8_t family, proto;
	size_t l3, l4, ip_end;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	bool vlan;
};

static bool is_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44;
}

static struct ref parse_ref(const uint8_t *f, size_t len)
{
	struct ref r = { .reason = REF_TCP_UDP };
	size_t p = 14, hl;
	uint16_t et;

	if (len < 14)
		return r.reason = HL_REASON_DROP_MALFORMED_ETH, r;
	et = get16(f + 12);
	if (et == 0x8100 || et == 0x88a8) {
		if (len < 18)
			return r.reason = HL_REASON_DROP_MALFORMED_ETH, r;
		et = get16(f + 16);
		p = 18;
		r.vlan = true;
	}
	r.l3 = p;
	if (et == 0x0800) {
		const uint8_t *ip = f + p;

		r.family = HL_AF_INET;
		if (len < p + 20 || ip[0] >> 4 != 4 || (ip[0] & 0xf) < 5)
			return r.reason = HL_REASON_DROP_MALFORMED_IP, r;
		hl = (ip[0] & 0xf) * 4;
		if (hl > len - p)
			return r.reason = HL_REASON_DROP_MALFORMED_IP, r;
		if (get16(ip + 2) < hl || p + get16(ip + 2) > len)
			return r.reason = HL_REASON_DROP_BAD_LENGTH, r;
		if (get16(ip + 6) & 0x3fff)
			return r.reason = HL_REASON_PASS_FRAGMENT, r;
		r.ip_end = p + get16(ip + 2);
		memcpy(r.src, ip + 12, 4);
		memcpy(r.dst, ip + 16, 4);
		r.proto = ip[9];
		p += hl;
	} else if (et == 0x86dd) {
		const uint8_t *ip = f + p;
		uint8_t nh;
		int i;

		r.family = HL_AF_INET6;
		if (len < p + 40 || ip[0] >> 4 != 6)
			return r.reason = HL_REASON_DROP_MALFORMED_IP, r;
		if (p + 40 + get16(ip + 4) > len)
			return r.reason = HL_REASON_DROP_BAD_LENGTH, r;
		r.ip_end = p + 40 + get16(ip + 4);
		memcpy(r.src, ip + 8, 16);
		memcpy(r.dst, ip + 24, 16);
		nh = ip[6];
		p += 40;
		for (i = 0; i < EXT_MAX && is_ext(nh); i++) {
			size_t el;

			if (nh == 44)
				return r.reason = HL_REASON_PASS_FRAGMENT, r;
			if (len < p + 8)
				return r.reason = HL_REASON_DROP_MALFORMED_IP, r;
			el = nh == 51 ? (f[p + 1] + 2) * 4 : (f[p + 1] + 1) * 8;
			if (el > len - p)
				return r.reason = HL_REASON_DROP_MALFORMED_IP, r;
			nh = f[p];
			p += el;
		}
		if (is_ext(nh))
			return r.reason = HL_REASON_DROP_EXTHDR_CHAIN, r;
		r.proto = nh;
	} else {
		return r.reason = HL_REASON_PASS_NOT_IP, r;
	}
	r.l4 = p;
	if (r.proto != IPPROTO_TCP && r.proto != IPPROTO_UDP)
		return r.reason = HL_REASON_PASS_NOT_SERVICE, r;
	if (r.proto == IPPROTO_TCP) {
		if (len < p + 20 || len < 12 + p + 1)
			return r.reason = HL_REASON_DROP_MALFORMED_L4, r;
		hl = (f[p + 12] >> 4) * 4;
		if (hl < 20 || hl > len - p || p + hl > r.ip_end)
			return r.reason = HL_REASON_DROP_MALFORMED_L4, r;
	} else if (len < p + 8 || p + 8 > r.ip_end) {
		return r.reason = HL_REASON_DROP_MALFORMED_L4, r;
	}
	r.sport = get16(f + p);
	r.dport = get16(f + p + 2);
	return r;
}

/* The fixture service a reference-parsed packet is for, or NULL. */
static const struct svc_fix *svc_ref(const struct ref *r)
{
	__be32 vip[4];

	if (r->reason != REF_TCP_UDP)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++) {
		const struct svc_fix *s = &svcs[i];

		addr_parse(s->family, s->vip, vip);
		if (s->family == r->family && s->proto == r->proto &&
		    s->port == r->dport &&
		    !memcmp(vip, r->dst, s->family == HL_AF_INET6 ? 16 : 4))
			return s;
	}
	return NULL;
}

/* ---- NAT flows the director translated (for replies and checks) ---- */

struct natrec {
	bool used;
	uint8_t family, proto;
	uint8_t client[16], vip[16], node[16], snat[16];
	uint16_t cport, vport, nport, sport;	/* host order */
};

#define NATREC_MAX	4096
static struct natrec natrecs[NATREC_MAX];
static unsigned int natrec_next;

static void natrec_add(const struct natrec *n)
{
	natrecs[natrec_next++ % NATREC_MAX] = *n;
}

/* ---- checks ---- */

static size_t alen(uint8_t family)
{
	return family == HL_AF_INET6 ? 16 : 4;
}

/* Offsets of the addresses of an IP header at f+l3. */
static size_t src_off(uint8_t family)
{
	return family == HL_AF_INET6 ? 8 : 12;
}

static size_t dst_off(uint8_t family)
{
	return family == HL_AF_INET6 ? 24 : 16;
}

/* The node of service `s` whose address is `a`, or -1. */
static int64_t node_of(const struct svc_fix *s, const uint8_t *a)
{
	__be32 n[4];

	for (uint32_t k = 0; k < NPER; k++) {
		node_addr(s->base + k, s->family, n);
		if (!memcmp(n, a, alen(s->family)))
			return s->base + k;
	}
	return -1;
}

/* RFC 1071 residue of the L4 segment with its pseudo header. */
static uint16_t l4_residue(const uint8_t *f, const struct ref *r)
{
	size_t n = r->ip_end - r->l4;
	uint32_t sum = r->proto + n;
	size_t a = alen(r->family);

	for (size_t i = 0; i < 2 * a; i += 2)
		sum += get16(f + r->l3 + src_off(r->family) + i);
	return csum16(f + r->l4, n, sum);
}

/*
 * `out` is `in` translated to src:sport -> dst:dport with the MACs of
 * the next hop: the same bytes from L3 on (VLAN tag removed) but for the
 * addresses, ports and checksums, and checksums as good (or as bad) as
 * they were.
 */
static const char *check_xlate(const uint8_t *in, size_t len,
			       const struct ref *ri, const uint8_t *out,
			       size_t olen, bool passed, const uint8_t *src,
			       const uint8_t *dst, uint16_t sport,
			       uint16_t dport)
{
	struct ref ro;
	size_t a = alen(ri->family), d = passed ? 0 : 14 - ri->l3, co;
	size_t ol3 = ri->l3 + d;

	if (olen != len + d)
		return "NAT: output length is not the input's";
	if (passed ? memcmp(out, in, ri->l3) :
		     get16(out + 12) != get16(in + ri->l3 - 2))
		return "NAT: Ethernet header changed";
	ro = parse_ref(out, olen);
	if (ro.reason != REF_TCP_UDP || ro.l4 != ri->l4 + d)
		return "NAT: output does not parse as the input did";
	if (memcmp(out + ol3 + src_off(ri->family), src, a) ||
	    memcmp(out + ol3 + dst_off(ri->family), dst, a) ||
	    ro.sport != sport || ro.dport != dport)
		return "NAT: not the documented addresses and ports";
	co = ri->proto == IPPROTO_TCP ? 16 : 6;
	for (size_t i = ri->l3; i < len; i++) {
		size_t o = i - ri->l3;

		if (o >= src_off(ri->family) &&
		    o < dst_off(ri->family) + a)
			continue;
		if (ri->family == HL_AF_INET && (o == 10 || o == 11))
			continue;
		if (i >= ri->l4 && i < ri->l4 + 4)
			continue;
		if (i == ri->l4 + co || i == ri->l4 + co + 1)
			continue;
		if (in[i] != out[i + d])
			return "NAT: a byte changed that the translation does not change";
	}
	if (ri->family == HL_AF_INET &&
	    csum16(in + ri->l3, (in[ri->l3] & 0xf) * 4, 0) !=
	    csum16(out + ol3, (out[ol3] & 0xf) * 4, 0))
		return "NAT: IPv4 header checksum residue changed";
	/* UDP checksum 0: none in IPv4, invalid in IPv6; either way the
	 * translation leaves it 0 (the receiver's verdict is unchanged) */
	if (ri->proto == IPPROTO_UDP && !get16(in + ri->l4 + 6)) {
		if (get16(out + ro.l4 + 6))
			return "NAT: UDP checksum 0 did not stay 0";
	} else if (l4_residue(in, ri) != l4_residue(out, &ro)) {
		return "NAT: L4 checksum residue changed";
	}
	return NULL;
}

static const char *check_forward(const uint8_t *in, size_t len,
				 const struct ref *ri,
				 const struct result *r)
{
	const struct svc_fix *s = svc_ref(ri);
	uint8_t want[FRAME_MAX];
	struct hl_nexthop nh;
	const uint8_t *ip = r->out + 14;
	size_t a, wlen;
	int64_t id;

	if (!s)
		return "forwarded a packet that is not a well-formed service packet";
	a = alen(s->family);
	switch (round_mode[s->id]) {
	case HL_FWD_IPIP:
		if (r->len < 14 + 48)
			return "IPIP: output too short";
		id = node_of(s, ip + dst_off(s->family));
		if (id < 0)
			return "IPIP: outer destination is not a node of the service";
		bpf_map_lookup_elem(nexthops_fd, &id, &nh);
		wlen = expect_encap(want, in, len, s->family, id,
				    s->family == HL_AF_INET6 ?
				    get32(ip) & 0xfffff : 0, &nh);
		if (r->len != wlen || memcmp(r->out, want, wlen))
			return "IPIP: not the encapsulation of the input";
		return NULL;
	case HL_FWD_L2:
		id = r->out[5];
		if (id < s->base || id >= s->base + NPER)
			return "L2: destination MAC is not a node of the service";
		bpf_map_lookup_elem(nexthops_fd, &id, &nh);
		memcpy(want, nh.dmac, 6);
		memcpy(want + 6, nh.smac, 6);
		memcpy(want + 12, in + ri->l3 - 2, len - ri->l3 + 2);
		wlen = 14 + len - ri->l3;
		if (r->len != wlen || memcmp(r->out, want, wlen))
			return "L2: not the MAC rewrite of the input";
		return NULL;
	case HL_FWD_NAT: {
		__be32 snat[4];
		struct natrec n = { .used = true, .family = s->family,
				    .proto = s->proto };
		const char *why;

		if (r->len < 14 + 28)
			return "NAT: output too short";
		id = node_of(s, ip + dst_off(s->family));
		if (id < 0)
			return "NAT: destination is not a node of the service";
		bpf_map_lookup_elem(nexthops_fd, &id, &nh);
		if (memcmp(r->out, nh.dmac, 6) || memcmp(r->out + 6, nh.smac, 6))
			return "NAT: not the node's next-hop MACs";
		addr_parse(s->family, s->family == HL_AF_INET6 ? SNAT6 : SNAT4,
			   snat);
		why = check_xlate(in, len, ri, r->out, r->len, false,
				  (uint8_t *)snat,
				  ip + dst_off(s->family),
				  get16(r->out + 14 + ri->l4 - ri->l3),
				  s->port);
		if (why)
			return why;
		memcpy(n.client, ri->src, a);
		memcpy(n.vip, ri->dst, a);
		memcpy(n.node, ip + dst_off(s->family), a);
		memcpy(n.snat, snat, a);
		n.cport = ri->sport;
		n.vport = ri->dport;
		n.nport = s->port;
		n.sport = get16(r->out + 14 + ri->l4 - ri->l3);
		if (n.sport < HL_SNAT_PORT_MIN)
			return "NAT: SNAT port below the range";
		natrec_add(&n);
		return NULL;
	}
	}
	return "forwarded by a service in an unknown mode";
}

/* The flow key of a reference-parsed packet (network order). */
static struct hl_flow_key key_of(const struct ref *ri)
{
	struct hl_flow_key k = { .sport = htons(ri->sport),
				 .dport = htons(ri->dport),
				 .proto = ri->proto, .family = ri->family };

	memcpy(k.src, ri->src, alen(ri->family));
	memcpy(k.dst, ri->dst, alen(ri->family));
	return k;
}

/* The NAT entry of the input's flow, read before the run. */
static struct hl_nat reply_e;
static bool reply_found;

/* A NAT reply: on a reply entry whose forward twin is the flow the
 * director translated from client to node, translated to VIP -> client. */
static const char *check_nat_reply(const uint8_t *in, size_t len,
				   const struct ref *ri,
				   const struct result *r)
{
	const struct hl_nat *e = &reply_e;
	struct hl_flow_key fk = { .sport = e->port, .dport = e->from_port,
				  .proto = ri->proto, .family = ri->family };
	size_t a = alen(ri->family);
	struct hl_nat f;

	if (!reply_found || e->dir != HL_NAT_REPLY)
		return "NAT reply translation without a reply entry";
	memcpy(fk.src, e->addr, 16);
	memcpy(fk.dst, e->from, 16);
	if (bpf_map_lookup_elem(nat_fd, &fk, &f) || f.dir != HL_NAT_FORWARD ||
	    memcmp(f.addr, ri->src, a) || memcmp(f.from, ri->dst, a) ||
	    ntohs(f.port) != ri->sport || ntohs(f.from_port) != ri->dport)
		return "NAT reply: the entry's forward twin is not this flow";
	return check_xlate(in, len, ri, r->out, r->len, r->ret == XDP_PASS,
			   (const uint8_t *)e->from, (const uint8_t *)e->addr,
			   ntohs(e->from_port), ntohs(e->port));
}

/* An ICMP error about a recorded NAT flow, its outer header translated
 * (test_nat.c checks the quote byte for byte): from the VIP to the
 * client, or from the SNAT address to the node. */
static const char *check_nat_icmp(const uint8_t *in, size_t len,
				  const struct ref *ri,
				  const struct result *r)
{
	size_t a = alen(ri->family), d, ol3;
	bool passed = r->ret == XDP_PASS;

	if (ri->reason != HL_REASON_PASS_NOT_SERVICE ||
	    ri->proto != (ri->family == HL_AF_INET6 ? 58 : 1))
		return "NAT ICMP: the input is not ICMP";
	d = passed ? 0 : 14 - ri->l3;
	ol3 = ri->l3 + d;
	if (r->len != len + d || (passed && memcmp(r->out, in, ri->l3)) ||
	    memcmp(r->out + ri->l4 + d, in + ri->l4, 2))
		return "NAT ICMP: not the input's length, L2 header or type";
	for (int i = 0; i < NATREC_MAX; i++) {
		const struct natrec *n = &natrecs[i];
		const uint8_t *s = r->out + ol3 + src_off(ri->family);
		const uint8_t *t = r->out + ol3 + dst_off(ri->family);

		if (n->used && n->family == ri->family &&
		    ((!memcmp(s, n->vip, a) && !memcmp(t, n->client, a)) ||
		     (!memcmp(s, n->snat, a) && !memcmp(t, n->node, a))))
			return NULL;
	}
	return "NAT ICMP: translated to addresses of no recorded flow";
}

static const char *check_too_big_reply(const uint8_t *in, size_t len,
				 const struct ref *ri,
				 const struct result *r)
{
	const uint8_t *ip = r->out + ri->l3;
	size_t a = alen(ri->family);

	if (!svc_ref(ri))
		return "too-big answer to a packet that is no service's";
	if (r->len < ri->l3 + 48 || memcmp(r->out, in + 6, 6) ||
	    memcmp(r->out + 6, in, 6))
		return "too-big: MACs not swapped";
	if (memcmp(ip + dst_off(ri->family), ri->src, a) ||
	    memcmp(ip + src_off(ri->family), ri->dst, a))
		return "too-big: not from the VIP to the sender";
	if (ri->family == HL_AF_INET ? ip[9] != 1 || ip[20] != 3 ||
				       ip[21] != 4 :
				       ip[6] != 58 || ip[40] != 2)
		return "too-big: not ICMP frag-needed / packet-too-big";
	return NULL;
}

/* A verdict of parse.h's policy table (a malformed or foreign packet). */
static bool parse_reason(int reason)
{
	switch (reason) {
	case HL_REASON_PASS_NOT_IP:
	case HL_REASON_PASS_FRAGMENT:
	case HL_REASON_DROP_MALFORMED_ETH:
	case HL_REASON_DROP_MALFORMED_IP:
	case HL_REASON_DROP_BAD_LENGTH:
	case HL_REASON_DROP_MALFORMED_L4:
	case HL_REASON_DROP_EXTHDR_CHAIN:
		return true;
	}
	return false;
}

/* May `reason` come with `verdict` (README's table)? */
static bool reason_action(int reason, uint32_t verdict)
{
	switch (reason) {
	case HL_REASON_PASS_NOT_IP:
	case HL_REASON_PASS_NOT_SERVICE:
	case HL_REASON_PASS_FRAGMENT:
		return verdict == XDP_PASS;
	case HL_REASON_FWD_NAT_REPLY:
	case HL_REASON_FWD_NAT_ICMP:
		return verdict != XDP_DROP;
	case HL_REASON_FORWARDED:
	case HL_REASON_SYN_RETRY:
	case HL_REASON_TOO_BIG:
	case HL_REASON_RESET_NODE_DOWN:
		return verdict == XDP_TX || verdict == XDP_REDIRECT;
	default:
		return verdict == XDP_DROP;
	}
}

static void hexdump(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i % 32 ? "" : "\n#     ", p[i]);
	printf("\n");
}

/* One packet through the program, every invariant checked. */
static void fuzz_one(const uint8_t *in, size_t len)
{
	struct ref ri = parse_ref(in, len);
	struct result r;
	int moved = 0, reason = -1;
	const char *why = NULL;

	reply_found = false;
	if (ri.reason == REF_TCP_UDP) {
		struct hl_flow_key k = key_of(&ri);

		reply_found = !bpf_map_lookup_elem(nat_fd, &k, &reply_e);
	}
	run_xdp(in, len, &r);
	if (len < 14 && r.err == -EINVAL) {
		n_runts++;	/* test runs refuse them, as NICs do */
		return;
	}
	n_packets++;
	for (int i = 0; i < HL_REASON_MAX; i++) {
		if (r.delta[i] == 1 && reason < 0)
			reason = i;
		moved += r.delta[i] != 0;
	}
	if (r.err)
		why = "test run failed";
	else if (moved != 1 || reason < 0)
		why = "not exactly one reason counter moved by one";
	else if (r.ret > XDP_REDIRECT || r.ret == XDP_ABORTED)
		why = "XDP_ABORTED or an unknown verdict";
	if (!why) {
		n_verdict[r.ret]++;
		n_reason[reason]++;
	}
	if (!why && ri.reason != REF_TCP_UDP &&
	    ri.reason != HL_REASON_PASS_NOT_SERVICE && reason != ri.reason)
		why = "parse verdict differs from parse.h's policy table";
	if (!why && (ri.reason == REF_TCP_UDP ||
		     ri.reason == HL_REASON_PASS_NOT_SERVICE) &&
	    reason >= 0 && parse_reason(reason))
		why = "a well-formed packet given a parse verdict";
	if (!why && !reason_action(reason, r.ret))
		why = "the verdict is not the reason's (README's table)";
	if (!why && r.ret == XDP_PASS) {
		if (reason == HL_REASON_FWD_NAT_REPLY)
			why = check_nat_reply(in, len, &ri, &r);
		else if (reason == HL_REASON_FWD_NAT_ICMP)
			why = check_nat_icmp(in, len, &ri, &r);
		else if (r.len != len || memcmp(r.out, in, len))
			why = "XDP_PASS changed the frame";
	} else if (!why && r.ret != XDP_DROP) {	/* TX, REDIRECT */
		switch (reason) {
		case HL_REASON_FORWARDED:
		case HL_REASON_SYN_RETRY:
			why = check_forward(in, len, &ri, &r);
			break;
		case HL_REASON_TOO_BIG:
			why = check_too_big_reply(in, len, &ri, &r);
			break;
		case HL_REASON_FWD_NAT_REPLY:
			why = check_nat_reply(in, len, &ri, &r);
			break;
		case HL_REASON_FWD_NAT_ICMP:
			why = check_nat_icmp(in, len, &ri, &r);
			break;
		default:
			why = "TX/REDIRECT with a reason that sends nothing here";
		}
	}
	if (!why)
		return;
	if (n_violations++ < SHOW_MAX || getenv("HELIOS_FUZZ_ALL")) {
		printf("#   violation: %s (verdict %s, reason %s, reference %s)\n#   in:",
		       why, verdict_name(r.ret),
		       reason >= 0 ? reason_names[reason] : "none",
		       ri.reason == REF_TCP_UDP ? "tcp/udp" :
		       reason_names[ri.reason]);
		hexdump(in, len);
		printf("#   out:");
		hexdump(r.out, r.len);
	}
}

/* ---- packets ---- */

enum l2_kind { L2_NONE, L2_8021Q, L2_8021AD, L2_QINQ, L2_OTHER, L2_MAX };
enum l4_kind { L4_TCP, L4_UDP, L4_ICMP, L4_ICMP_ERR, L4_IPIP, L4_GRE,
	       L4_MAX };

struct gen {
	uint8_t l2, family, l4;
	uint8_t ip_opts;		/* IPv4 option bytes (multiple of 4) */
	uint8_t ext[8], next;		/* IPv6 extension header types */
	uint8_t tcp_opts;		/* option bytes (multiple of 4) */
	uint8_t tcp_flags;
	uint16_t payload;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	const struct natrec *quote;	/* L4_ICMP_ERR: about this flow */
};

/* The internet checksum of the L4 segment at b+l4..end into b+at. */
static void l4_csum(uint8_t *b, size_t l3, size_t l4, size_t end, bool v6,
		    uint8_t proto, size_t at)
{
	uint32_t sum = 0;
	size_t a = v6 ? 16 : 4;

	put16(b + at, 0);
	if (proto != IPPROTO_ICMP) {
		sum = proto + (end - l4);
		for (size_t i = 0; i < 2 * a; i += 2)
			sum += get16(b + l3 + src_off(v6 ? HL_AF_INET6 :
							   HL_AF_INET) + i);
	}
	put16(b + at, csum16(b + l4, end - l4, sum));
}

/* A TCP or UDP header at b: ports, flags, options. Returns its length. */
static size_t put_l4(uint8_t *b, uint8_t proto, uint16_t sport,
		     uint16_t dport, uint8_t flags, uint8_t opts,
		     uint16_t ulen)
{
	put16(b, sport);
	put16(b + 2, dport);
	if (proto == IPPROTO_UDP) {
		put16(b + 4, ulen);
		put16(b + 6, 0);
		return 8;
	}
	memset(b + 4, 0, 16);
	put32(b + 4, rnd());
	put32(b + 8, flags & TCP_ACK ? rnd() : 0);
	b[12] = (20 + opts) / 4 << 4;
	b[13] = flags;
	put16(b + 14, 65535);
	for (size_t i = 0; i < opts; i++)	/* MSS, SACK-ok, TS, NOPs */
		b[20 + i] = i < 4 ? (uint8_t[]){ 2, 4, 5, 0xb4 }[i] :
			    i < 6 ? (uint8_t[]){ 4, 2 }[i - 4] :
			    i < 16 ? (i == 6 ? 8 : i == 7 ? 10 : rnd()) : 1;
	return 20 + opts;
}

/* A well-formed frame of `g` (checksums right). Returns its length. */
static size_t gen_build(uint8_t *b, const struct gen *g)
{
	bool v6 = g->family == HL_AF_INET6;
	size_t p = 12, l3, l4, hl, end;
	uint8_t proto;

	memcpy(b, director_mac, 6);
	memcpy(b + 6, client_mac, 6);
	if (g->l2 == L2_8021Q || g->l2 == L2_8021AD || g->l2 == L2_QINQ) {
		put16(b + p, g->l2 == L2_8021Q ? 0x8100 : 0x88a8);
		put16(b + p + 2, rn(4096));
		p += 4;
	}
	if (g->l2 == L2_QINQ) {
		put16(b + p, 0x8100);
		put16(b + p + 2, rn(4096));
		p += 4;
	}
	put16(b + p, g->l2 == L2_OTHER ? (uint16_t[]){ 0x0806, 0x88cc,
		0x8847, 0x9100, 0x0000 }[rn(5)] : v6 ? 0x86dd : 0x0800);
	l3 = p + 2;
	proto = (uint8_t[]){ IPPROTO_TCP, IPPROTO_UDP, v6 ? 58 : 1,
			     v6 ? 58 : 1, v6 ? 41 : 4, 47 }[g->l4];
	if (v6) {
		put32(b + l3, 6u << 28 | rn(1 << 28));
		b[l3 + 7] = 64;
		memcpy(b + l3 + 8, g->src, 16);
		memcpy(b + l3 + 24, g->dst, 16);
		p = l3 + 40;
		b[l3 + 6] = g->next ? g->ext[0] : proto;
		for (int i = 0; i < g->next; i++) {
			uint8_t t = g->ext[i];
			size_t el = t == 51 ? 16 : 8;

			memset(b + p, 0, el);
			b[p] = i + 1 < g->next ? g->ext[i + 1] : proto;
			b[p + 1] = t == 51 ? 2 : 0;
			if (t == 43) {		/* routing: type 4, 0 left */
				b[p + 2] = 4;
			} else if (t != 51 && t != 44) {
				b[p + 2] = 1;	/* PadN */
				b[p + 3] = 4;
			}
			p += el;
		}
		l4 = p;
	} else {
		hl = 20 + g->ip_opts;
		b[l3] = 0x40 | hl / 4;
		b[l3 + 1] = rn(256);
		put16(b + l3 + 4, rn(65536));
		put16(b + l3 + 6, chance(50) ? 0x4000 : 0);
		b[l3 + 8] = 1 + rn(255);
		b[l3 + 9] = proto;
		memcpy(b + l3 + 12, g->src, 4);
		memcpy(b + l3 + 16, g->dst, 4);
		for (size_t i = 0; i < g->ip_opts; i++)	/* NOPs, EOL */
			b[l3 + 20 + i] = i + 1 == g->ip_opts ? 0 : 1;
		l4 = l3 + hl;
	}
	p = l4;
	switch (g->l4) {
	case L4_TCP:
	case L4_UDP:
		p += put_l4(b + p, proto, g->sport, g->dport, g->tcp_flags,
			    g->tcp_opts, 8 + g->payload);
		break;
	case L4_ICMP:		/* echo request */
		b[p] = v6 ? 128 : 8;
		b[p + 1] = 0;
		put32(b + p + 4, rnd());
		p += 8;
		break;
	case L4_ICMP_ERR: {	/* unreachable about a flow, quoted */
		const struct natrec *n = g->quote;
		size_t q;

		b[p] = v6 ? 1 : 3;
		b[p + 1] = v6 ? 4 : 3;
		put32(b + p + 4, 0);
		p += 8;
		q = p;
		if (v6) {
			put32(b + q, 6u << 28);
			put16(b + q + 4, 20);
			b[q + 6] = n ? n->proto : IPPROTO_TCP;
			b[q + 7] = 64;
			memcpy(b + q + 8, n ? n->snat : g->dst, 16);
			memcpy(b + q + 24, n ? n->node : g->src, 16);
			p += 40;
		} else {
			b[q] = 0x45;
			b[q + 1] = 0;
			put16(b + q + 2, 40);
			put32(b + q + 4, 0);
			b[q + 8] = 64;
			b[q + 9] = n ? n->proto : IPPROTO_TCP;
			memcpy(b + q + 12, n ? n->snat : g->dst, 4);
			memcpy(b + q + 16, n ? n->node : g->src, 4);
			put16(b + q + 10, 0);
			put16(b + q + 10, csum16(b + q, 20, 0));
			p += 20;
		}
		p += put_l4(b + p, n ? n->proto : IPPROTO_TCP,
			    n ? n->sport : g->dport, n ? n->nport : g->sport,
			    TCP_SYN, 0, 8);
		break;
	}
	case L4_IPIP: {		/* a packet to the VIP, encapsulated */
		struct gen in = *g;

		in.l2 = L2_NONE;
		in.l4 = L4_TCP;
		in.next = 0;
		in.ip_opts = 0;
		in.payload = 0;
		p += gen_build(b + p - 14, &in) - 14;
		break;
	}
	default:		/* GRE header, no payload */
		put32(b + p, 0x0800);
		p += 4;
		break;
	}
	for (int i = 0; i < g->payload; i++)
		b[p++] = rnd();
	end = p;
	if (v6) {
		put16(b + l3 + 4, end - l3 - 40);
	} else {
		put16(b + l3 + 2, end - l3);
		put16(b + l3 + 10, 0);
		put16(b + l3 + 10, csum16(b + l3, l4 - l3, 0));
	}
	if (g->l4 == L4_TCP || g->l4 == L4_UDP)
		l4_csum(b, l3, l4, end, v6, proto,
			l4 + (proto == IPPROTO_TCP ? 16 : 6));
	else if (g->l4 == L4_ICMP || g->l4 == L4_ICMP_ERR)
		l4_csum(b, l3, l4, end, v6, proto, l4 + 2);
	return end;
}

/* Addresses a hostile sender would use: the VIP, the director's own,
 * the SNAT address, nodes, clients, broadcast and multicast. */
static void pick_addr(uint8_t family, bool dst, uint8_t *a)
{
	static const char *const v4[] = { "198.18.0.100", DIRECTOR4, SNAT4,
		"198.18.1.10", "198.18.1.20", "198.18.2.1", "198.18.2.77",
		"255.255.255.255", "224.0.0.1", "0.0.0.0", "127.0.0.1" };
	static const char *const v6[] = { "fd00::100", DIRECTOR6, SNAT6,
		"fd00::1:1e", "fd00::1:28", "fd00::2:1", "fd00::2:4d",
		"ff02::1", "::", "::1", "fe80::1" };
	uint32_t i = dst ? (chance(75) ? 0 : rn(ARRAY_SIZE(v4))) :
			   (chance(60) ? 5 + rn(2) : rn(ARRAY_SIZE(v4)));

	addr_parse(family, family == HL_AF_INET6 ? v6[i] : v4[i],
		   (__be32 *)a);
	if (!dst && i == 5)	/* clients: many of them */
		a[alen(family) - 1] = rn(256);
}

/* the chain's kinds first (parse.h walks them), then ESP, no next
 * header, mobility, HIP, shim6, experimental: ends of the chain */
static const uint8_t ext_types[] = { 0, 43, 60, 51, 44, 50, 59, 135, 139,
				     140, 253 };

static void gen_random(struct gen *g)
{
	memset(g, 0, sizeof(*g));
	g->l2 = chance(70) ? L2_NONE : rn(L2_MAX);
	g->family = chance(50) ? HL_AF_INET : HL_AF_INET6;
	g->l4 = chance(80) ? rn(2) : rn(L4_MAX);
	if (g->family == HL_AF_INET && chance(20))
		g->ip_opts = 4 * rn(11);
	if (g->family == HL_AF_INET6 && chance(25)) {
		g->next = 1 + rn(8);
		for (int i = 0; i < g->next; i++)
			g->ext[i] = chance(80) ? ext_types[rn(4)] :
				    ext_types[rn(ARRAY_SIZE(ext_types))];
	}
	if (g->l4 == L4_TCP && chance(30))
		g->tcp_opts = 4 * rn(11);
	g->tcp_flags = chance(60) ? TCP_SYN : chance(50) ? TCP_ACK : rn(256);
	g->payload = chance(95) ? rn(200) : rn(1500);
	pick_addr(g->family, false, g->src);
	pick_addr(g->family, true, g->dst);
	g->sport = chance(80) ? 40000 + rn(64) : rn(65536);
	g->dport = chance(80) ? (g->l4 == L4_UDP ? 5353 : 5432) : rn(65536);
}

/* A reply (or an ICMP error about it) from a recorded NAT flow's node. */
static bool gen_reply(struct gen *g)
{
	const struct natrec *n = &natrecs[rn(NATREC_MAX)];

	if (!n->used)
		return false;
	memset(g, 0, sizeof(*g));
	g->family = n->family;
	g->l4 = chance(80) ? (n->proto == IPPROTO_TCP ? L4_TCP : L4_UDP) :
			     L4_ICMP_ERR;
	g->l2 = chance(85) ? L2_NONE : L2_8021Q;
	memcpy(g->src, n->node, 16);
	memcpy(g->dst, n->snat, 16);
	g->sport = n->nport;
	g->dport = n->sport;
	g->tcp_flags = (uint8_t[]){ 0x12, 0x10, 0x18, 0x11, 0x04, 0x02,
				    0xff }[rn(7)];
	g->payload = rn(100);
	g->quote = n;
	return true;
}

/* Damage: truncate, flip bytes, or set one field to a bogus value. */
static size_t mutate(uint8_t *b, size_t len)
{
	struct ref r = parse_ref(b, len);
	size_t l3 = r.l3 ? r.l3 : 14, at;

	switch (rn(8)) {
	case 0:
		return rn(len + 1);
	case 1:
		for (int i = 1 + rn(4); i > 0; i--)
			b[rn(len)] = rnd();
		return len;
	case 2:		/* IHL / version */
		if (len > l3)
			b[l3] = rnd();
		return len;
	case 3:		/* IPv4 total length, IPv6 payload length */
		at = l3 + (r.family == HL_AF_INET6 ? 4 : 2);
		if (len > at + 1)
			put16(b + at, chance(50) ? (uint16_t)rnd() :
				      (uint16_t)(get16(b + at) + rn(9) - 4));
		return len;
	case 4:		/* fragment offset and flags */
		if (r.family == HL_AF_INET && len > l3 + 7)
			put16(b + l3 + 6, rnd());
		return len;
	case 5:		/* TCP doff, UDP length */
		if (r.l4 && len > r.l4 + 12)
			b[r.l4 + (r.proto == IPPROTO_UDP ? 5 : 12)] = rnd();
		return len;
	case 6:		/* an extension header's length or next header */
		if (r.family == HL_AF_INET6 && len > l3 + 42)
			b[l3 + 40 + rn(2)] = rnd();
		return len;
	default:	/* trailing bytes (Ethernet padding, or junk) */
		at = rn(64);
		if (len + at > FRAME_MAX)
			return len;
		for (size_t i = 0; i < at; i++)
			b[len + i] = chance(50) ? 0 : rnd();
		return len + at;
	}
}

/* ---- rounds: the fixture's services in each mode ---- */

static void set_snat(uint32_t svc_id, uint8_t family, const char *a)
{
	struct hl_snat s = { .count = 1 };

	addr_parse(family, a, s.addrs[0]);
	bpf_map_update_elem(snat_fd, &svc_id, &s, BPF_ANY);
}

/* Round `r`: service i in mode (i + r) % 3, every one with an SNAT
 * address, no flows. */
static void fuzz_round(int r)
{
	struct hl_flow_key k;

	fixture();
	while (!bpf_map_get_next_key(nat_fd, NULL, &k))
		bpf_map_delete_elem(nat_fd, &k);
	memset(natrecs, 0, sizeof(natrecs));
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++) {
		struct hl_svc_key key;
		struct hl_service v;

		svc_get(svcs[i].id, &key, &v);
		v.fwd = (i + r) % 3;
		round_mode[svcs[i].id] = v.fwd;
		svc_put(&key, &v);
		set_snat(svcs[i].id, svcs[i].family,
			 svcs[i].family == HL_AF_INET6 ? SNAT6 : SNAT4);
	}
}

/* ---- the corpus ---- */

/* Every prefix of the frame of `g`, and `g` whole. */
static void truncations(const struct gen *g)
{
	uint8_t b[FRAME_MAX];
	size_t len = gen_build(b, g);

	for (size_t n = 0; n <= len; n++)
		fuzz_one(b, n);
}

/* The frame of `g` with the 16-bit (or 8-bit, byte) field at offset
 * `at` set to each of `vals`. */
static void field_sweep(const struct gen *g, size_t at, bool byte,
			const uint32_t *vals, size_t n)
{
	uint8_t b[FRAME_MAX];
	size_t len = gen_build(b, g);

	for (size_t i = 0; i < n; i++) {
		uint8_t c[FRAME_MAX];

		memcpy(c, b, len);
		if (byte)
			c[at] = vals[i];
		else
			put16(c + at, vals[i]);
		fuzz_one(c, len);
	}
}

static void corpus_gen(struct gen *g, uint8_t l2, uint8_t family, uint8_t l4)
{
	memset(g, 0, sizeof(*g));
	g->l2 = l2;
	g->family = family;
	g->l4 = l4;
	g->tcp_flags = TCP_SYN;
	g->payload = 16;
	pick_addr(family, false, g->src);
	addr_parse(family, family == HL_AF_INET6 ? "fd00::100" :
		   "198.18.0.100", (__be32 *)g->dst);
	g->sport = 40000;
	g->dport = l4 == L4_UDP ? 5353 : 5432;
}

static void fuzz_corpus(void)
{
	uint32_t vals[300];
	struct gen g;
	size_t l3;

	for (uint8_t l2 = 0; l2 < L2_MAX; l2++)
		for (int v6 = 0; v6 < 2; v6++)
			for (uint8_t l4 = 0; l4 < L4_MAX; l4++) {
				corpus_gen(&g, l2, v6 ? HL_AF_INET6 :
					   HL_AF_INET, l4);
				truncations(&g);
				g.tcp_opts = 40;	/* full options */
				g.ip_opts = 40;
				truncations(&g);
			}
	/* every extension header type, alone and in chains of 1..8 */
	for (size_t t = 0; t < ARRAY_SIZE(ext_types); t++)
		for (int n = 1; n <= 8; n++) {
			corpus_gen(&g, L2_NONE, HL_AF_INET6, n % 2);
			g.next = n;
			for (int i = 0; i < n; i++)
				g.ext[i] = ext_types[i ? (t + i) % 4 : t];
			truncations(&g);
			if (n > 2)
				continue;
			/* the first header's next header and length */
			for (uint32_t v = 0; v < 256; v++)
				vals[v] = v;
			field_sweep(&g, 14 + 40 + 1, true, vals, 256);
			field_sweep(&g, 14 + 40, true, vals, 256);
		}
	/* IHL and version, doff, every fragment bit, the lengths */
	for (int v6 = 0; v6 < 2; v6++)
		for (uint8_t l4 = L4_TCP; l4 <= L4_UDP; l4++) {
			uint8_t b[FRAME_MAX];
			size_t len, at;

			corpus_gen(&g, L2_8021Q, v6 ? HL_AF_INET6 : HL_AF_INET,
				   l4);
			len = gen_build(b, &g);
			l3 = 18;
			for (uint32_t v = 0; v < 256; v++)
				vals[v] = v;
			field_sweep(&g, l3, true, vals, 256);
			at = l3 + (v6 ? 40 : 20) + (l4 == L4_TCP ? 12 : 4);
			field_sweep(&g, at, l4 == L4_TCP, vals, 256);
			for (uint32_t v = 0; v < 16; v++)
				vals[v] = 1u << v;
			if (!v6)
				field_sweep(&g, l3 + 6, false, vals, 16);
			for (int i = 0; i < 64; i++)
				vals[i] = len - l3 - 64 + 2 * i;
			vals[64] = 0;
			vals[65] = 0xffff;
			field_sweep(&g, l3 + (v6 ? 4 : 2), false, vals, 66);
		}
	/* from the director's own addresses, and to them */
	for (int v6 = 0; v6 < 2; v6++)
		for (int i = 0; i < 4; i++) {
			const char *own = i & 1 ? (v6 ? SNAT6 : SNAT4) :
						  (v6 ? DIRECTOR6 : DIRECTOR4);

			corpus_gen(&g, L2_NONE, v6 ? HL_AF_INET6 : HL_AF_INET,
				   L4_TCP);
			addr_parse(g.family, own,
				   (__be32 *)(i & 2 ? g.dst : g.src));
			truncations(&g);
		}
}

/* ---- tests ---- */

static void show_counts(void)
{
	printf("# %llu frames < 14 bytes (refused by test runs), "
	       "%llu packets: PASS %llu DROP %llu TX %llu REDIRECT %llu\n",
	       (unsigned long long)n_runts, (unsigned long long)n_packets,
	       (unsigned long long)n_verdict[XDP_PASS],
	       (unsigned long long)n_verdict[XDP_DROP],
	       (unsigned long long)n_verdict[XDP_TX],
	       (unsigned long long)n_verdict[XDP_REDIRECT]);
	for (int i = 0; i < HL_REASON_MAX; i++)
		if (n_reason[i])
			printf("#   %-28s %llu\n", reason_names[i],
			       (unsigned long long)n_reason[i]);
}

static void test_fuzz_corpus(void)
{
	uint64_t before = n_violations;

	for (int r = 0; r < 3; r++) {
		fuzz_round(r);
		fuzz_corpus();
	}
	show_counts();
	CHECK(n_violations == before, "%llu invariant violations",
	      (unsigned long long)(n_violations - before));
}

static void test_fuzz_random(void)
{
	const char *e = getenv("HELIOS_FUZZ_PACKETS");
	uint64_t total = 50000, before;
	uint8_t b[FRAME_MAX];
	struct gen g;

	if (e)
		total = strtoull(e, NULL, 0);
	e = getenv("HELIOS_FUZZ_SEED");
	rng_state = e ? strtoull(e, NULL, 0) | 1 : 0x48454c494f53ull;
	memset(n_verdict, 0, sizeof(n_verdict));
	memset(n_reason, 0, sizeof(n_reason));
	n_packets = n_runts = 0;
	before = n_violations;
	for (uint64_t i = 0; i < total; i++) {
		size_t len;

		if (i % (total / 3 + 1) == 0)
			fuzz_round(i / (total / 3 + 1));
		if (!(chance(10) && gen_reply(&g)))
			gen_random(&g);
		len = gen_build(b, &g);
		if (chance(60))
			len = mutate(b, len);
		fuzz_one(b, len);
	}
	show_counts();
	CHECK(n_violations == before, "%llu invariant violations in %llu packets",
	      (unsigned long long)(n_violations - before),
	      (unsigned long long)total);
}

/*
 * NAT replies go to clients: 198.18.2.0/25 and fd00::2:0/113 through a
 * veth to a gateway with a neighbour entry (redirected), the upper
 * halves through one without (passed, translated, for the kernel to
 * resolve). All in the suite's private namespace.
 */
static void test_load_fuzz(void)
{
	if (load_failed)
		SKIP("program did not load");
	snat_fd = bpf_map__fd(skel->maps.snat_addrs);
	nat_fd = bpf_map__fd(skel->maps.nat);
	if (system("ip link add hlf0 type veth peer name hlf1 2>/dev/null"))
		SKIP("cannot create a veth pair: NAT replies not routed");
	CHECK(!sh("ip link set hlf0 up && ip link set hlf1 up && "
		  "ip addr add 198.18.9.254/24 dev hlf0 && "
		  "ip -6 addr add fd00::9:fffe/112 dev hlf0 nodad && "
		  "ip neigh replace 198.18.9.1 lladdr 02:00:00:00:09:01 dev hlf0 nud permanent && "
		  "ip -6 neigh replace fd00::9:1 lladdr 02:00:00:00:09:01 dev hlf0 nud permanent && "
		  "ip route add 198.18.2.0/25 via 198.18.9.1 && "
		  "ip route add 198.18.2.128/25 via 198.18.9.2 && "
		  "ip -6 route add fd00::2:0/113 via fd00::9:1 && "
		  "ip -6 route add fd00::2:8000/113 via fd00::9:2") &&
	      !write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1") &&
	      !write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1"),
	      "namespace setup failed");
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	RUN_ALWAYS(test_load_fuzz);
	SCENARIO(test_fuzz_corpus);
	SCENARIO(test_fuzz_random);
	return unit_done();
}
