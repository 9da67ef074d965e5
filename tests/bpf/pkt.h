/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frames for the data-path suites, built byte by byte: the input packets
 * (struct spec), the frame the director should emit for one of them
 * (expect_encap()), and the checksum and jhash code that needs, written
 * again on this side: expected frames never come from the BPF side.
 * Nothing here touches a map.
 */
#ifndef HELIOS_TEST_PKT_H
#define HELIOS_TEST_PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <helios/abi.h>

/* Every suite uses some of these helpers: no warning for the rest. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define FRAME_MAX	4096

/* ---- bytes ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* RFC 1071 over big-endian 16-bit words, with a starting sum for pseudo
 * headers; over data that holds its own checksum the result is 0. */
static uint16_t csum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* lookup3 jhash2, written out again on this side. */
static uint32_t rol(uint32_t w, int s)
{
	return (w << s) | (w >> (32 - s));
}

static uint32_t test_jhash2(const uint32_t *k, uint32_t len, uint32_t seed)
{
	uint32_t a, b, c;

	a = b = c = 0xdeadbeef + (len << 2) + seed;
	while (len > 3) {
		a += k[0]; b += k[1]; c += k[2];
		a -= c; a ^= rol(c, 4); c += b;
		b -= a; b ^= rol(a, 6); a += c;
		c -= b; c ^= rol(b, 8); b += a;
		a -= c; a ^= rol(c, 16); c += b;
		b -= a; b ^= rol(a, 19); a += c;
		c -= b; c ^= rol(b, 4); b += a;
		len -= 3;
		k += 3;
	}
	switch (len) {
	case 3: c += k[2]; /* fallthrough */
	case 2: b += k[1]; /* fallthrough */
	case 1: a += k[0];
		c ^= b; c -= rol(b, 14);
		a ^= c; a -= rol(c, 11);
		b ^= a; b -= rol(a, 25);
		c ^= b; c -= rol(b, 16);
		a ^= c; a -= rol(c, 4);
		b ^= a; b -= rol(a, 14);
		c ^= b; c -= rol(b, 24);
	}
	return c;
}

#define TEST_HASH_SEED	0x48454c53u	/* must match bpf/lib/common.h */

static const uint8_t director_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };
static const uint8_t client_mac[6] = { 0x02, 0, 0, 0, 0, 0xc1 };

static void addr_parse(uint8_t family, const char *s, __be32 out[4])
{
	memset(out, 0, 16);
	if (inet_pton(family == HL_AF_INET6 ? AF_INET6 : AF_INET, s, out) != 1)
		fprintf(stderr, "# bad address %s\n", s);
}

/* Node n is 198.18.1.n or fd00::1:n. */
static void node_addr(uint32_t id, uint8_t family, __be32 a[4])
{
	memset(a, 0, 16);
	if (family == HL_AF_INET6) {
		a[0] = htonl(0xfd000000);
		a[3] = htonl(0x00010000 | id);
	} else {
		a[0] = htonl(0xc6120100 | id);
	}
}

/* ---- frames ---- */

struct spec {
	uint8_t family;		/* HL_AF_INET (default) or HL_AF_INET6 */
	uint8_t proto;		/* default TCP */
	const char *src, *dst;	/* default client / the VIP */
	uint16_t sport, dport;	/* default 40000 / 5432 */
	uint8_t tcp_flags;	/* default SYN */
	uint16_t vlan_tpid;	/* 0: untagged */
	uint16_t vlan_tci;
	uint16_t payload;
	uint8_t tos;
	bool df;
	uint8_t ip_opts;	/* IPv4 option bytes, multiple of 4 */
	uint8_t v6_ext;		/* IPv6: number of 8-byte extension headers */
	uint8_t v6_ext_type;	/* their type (0: destination options) */
};

#define TCP_SYN	0x02
#define TCP_ACK	0x10

static struct spec defaults(struct spec s)
{
	if (!s.family)
		s.family = HL_AF_INET;
	if (!s.proto)
		s.proto = IPPROTO_TCP;
	if (!s.src)
		s.src = s.family == HL_AF_INET6 ? "fd00::2:1" : "198.18.2.1";
	if (!s.dst)
		s.dst = s.family == HL_AF_INET6 ? "fd00::100" : "198.18.0.100";
	if (!s.sport)
		s.sport = 40000;
	if (!s.dport)
		s.dport = s.proto == IPPROTO_UDP ? 5353 : 5432;
	if (!s.tcp_flags && s.proto == IPPROTO_TCP)
		s.tcp_flags = TCP_SYN;
	if (!s.v6_ext_type)
		s.v6_ext_type = 60;
	return s;
}

static size_t build(uint8_t *b, struct spec s)
{
	size_t off, l3, l4, l4len, iplen;
	__be32 src[4], dst[4];

	s = defaults(s);
	addr_parse(s.family, s.src, src);
	addr_parse(s.family, s.dst, dst);
	memcpy(b, director_mac, 6);
	memcpy(b + 6, client_mac, 6);
	off = 12;
	if (s.vlan_tpid) {
		put16(b + off, s.vlan_tpid);
		put16(b + off + 2, s.vlan_tci);
		off += 4;
	}
	put16(b + off, s.family == HL_AF_INET6 ? 0x86dd : 0x0800);
	l3 = off + 2;
	l4len = s.proto == IPPROTO_TCP ? 20 : 8;

	if (s.family == HL_AF_INET6) {
		size_t p = l3 + 40;

		l4 = p + 8 * s.v6_ext;
		iplen = l4 - l3 + l4len + s.payload;
		put32(b + l3, 6u << 28 | (uint32_t)s.tos << 20 | 0x12345);
		put16(b + l3 + 4, iplen - 40);
		b[l3 + 6] = s.v6_ext ? s.v6_ext_type : s.proto;
		b[l3 + 7] = 64;
		memcpy(b + l3 + 8, src, 16);
		memcpy(b + l3 + 24, dst, 16);
		for (int i = 0; i < s.v6_ext; i++, p += 8) {
			memset(b + p, 0, 8);
			b[p] = i == s.v6_ext - 1 ? s.proto : s.v6_ext_type;
			b[p + 1] = 0;		/* 8 bytes */
			b[p + 2] = 1;		/* PadN, 4 bytes of padding */
			b[p + 3] = 4;
		}
	} else {
		size_t hl = 20 + s.ip_opts;

		l4 = l3 + hl;
		iplen = hl + l4len + s.payload;
		b[l3] = 0x40 | hl / 4;
		b[l3 + 1] = s.tos;
		put16(b + l3 + 2, iplen);
		put16(b + l3 + 4, 0x1234);
		put16(b + l3 + 6, s.df ? 0x4000 : 0);
		b[l3 + 8] = 64;
		b[l3 + 9] = s.proto;
		put16(b + l3 + 10, 0);
		memcpy(b + l3 + 12, src, 4);
		memcpy(b + l3 + 16, dst, 4);
		memset(b + l3 + 20, 1, s.ip_opts);	/* NOPs */
		put16(b + l3 + 10, csum16(b + l3, hl, 0));
	}

	put16(b + l4, s.sport);
	put16(b + l4 + 2, s.dport);
	if (s.proto == IPPROTO_TCP) {
		memset(b + l4 + 4, 0, 16);
		put32(b + l4 + 4, 1000);
		b[l4 + 12] = 5 << 4;
		b[l4 + 13] = s.tcp_flags;
		put16(b + l4 + 14, 65535);
	} else {
		put16(b + l4 + 4, 8 + s.payload);
		put16(b + l4 + 6, 0);
	}
	for (int i = 0; i < s.payload; i++)
		b[l4 + l4len + i] = i;
	return l3 + iplen;
}

static struct hl_flow_key flow_key(struct spec s)
{
	struct hl_flow_key k = {};

	s = defaults(s);
	addr_parse(s.family, s.src, k.src);
	addr_parse(s.family, s.dst, k.dst);
	k.sport = htons(s.sport);
	k.dport = htons(s.dport);
	k.proto = s.proto;
	k.family = s.family;
	return k;
}

static uint32_t flow_hash(struct spec s)
{
	struct hl_flow_key k = flow_key(s);

	return test_jhash2((const uint32_t *)&k, sizeof(k) / 4,
			   TEST_HASH_SEED);
}

#define V6 .family = HL_AF_INET6
#define UDP .proto = IPPROTO_UDP

static size_t l3_offset(const uint8_t *f)
{
	uint16_t et = get16(f + 12);

	return et == 0x8100 || et == 0x88a8 ? 18 : 14;
}

/* The frame the director should emit for `in` sent to node `id`. */
static size_t expect_encap(uint8_t *o, const uint8_t *in, size_t len,
			   uint8_t family, uint32_t id, uint32_t hash,
			   const struct hl_nexthop *nh)
{
	size_t l3 = l3_offset(in), outer;
	const uint8_t *inner = in + l3;
	__be32 daddr[4];

	node_addr(id, family, daddr);
	memcpy(o, nh->dmac, 6);
	memcpy(o + 6, nh->smac, 6);
	if (family == HL_AF_INET6) {
		uint8_t *ip6 = o + 14;
		uint32_t tc = get32(inner) >> 20 & 0xff;

		outer = 40;
		put16(o + 12, 0x86dd);
		put32(ip6, 6u << 28 | tc << 20 | (hash & 0xfffff));
		put16(ip6 + 4, get16(inner + 4) + 40);
		ip6[6] = 41;
		ip6[7] = 64;
		memcpy(ip6 + 8, nh->src, 16);
		memcpy(ip6 + 24, daddr, 16);
	} else {
		uint8_t *ip = o + 14;

		outer = 20;
		put16(o + 12, 0x0800);
		ip[0] = 0x45;
		ip[1] = inner[1];
		put16(ip + 2, get16(inner + 2) + 20);
		put16(ip + 4, 0);
		put16(ip + 6, get16(inner + 6) & 0x4000);
		ip[8] = 64;
		ip[9] = 4;
		put16(ip + 10, 0);
		memcpy(ip + 12, nh->src, 4);
		memcpy(ip + 16, daddr, 4);
		put16(ip + 10, csum16(ip, 20, 0));
	}
	memcpy(o + 14 + outer, inner, len - l3);
	return 14 + outer + len - l3;
}

#pragma GCC diagnostic pop

#endif /* HELIOS_TEST_PKT_H */
