// SPDX-License-Identifier: GPL-2.0
/*
 * Data-path tests: tables of {input frame, map setup, expected verdict,
 * expected output frame, expected reason} run through BPF_PROG_TEST_RUN,
 * plus scenarios that need several packets (flow stickiness, drains,
 * next-hop refresh), a hash distribution check and the TC decap program.
 *
 * Expected frames are built here from the input bytes, with our own
 * checksum and jhash code, never by asking the BPF side.
 *
 * Everything runs in a private network namespace (unshare): test packets
 * arrive on its loopback (ifindex 1, so "same device" means XDP_TX), FIB
 * lookups see only what a test sets up there, and nothing touches the
 * machine's interfaces. Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <helios/abi.h>
#include "helios_xdp.skel.h"
#include "helios_decap.skel.h"
#include "unit.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define RING		251	/* prime, small: fast to rebuild per case */
#define NPER		3	/* nodes per service in the fixture */
#define LO_IFINDEX	1
#define MTU		1500
#define FRAME_MAX	4096

static struct helios_xdp *skel;
static int prog_fd, services_fd, nodes_fd, nexthops_fd, maglev_fd, ct_fd,
	   svc_stats_fd, node_stats_fd, reasons_fd;
static int ncpus;
static bool load_failed;

static const char *const reason_names[] = {
#define REASON_NAME(name, nr, str) [nr] = str,
	HL_REASONS(REASON_NAME)
#undef REASON_NAME
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char buf[1024];

	if (level == LIBBPF_DEBUG && !getenv("HELIOS_VERBOSE"))
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* TAP: diagnostics are comments */
	return fprintf(stderr, "# %s", buf);
}

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

/* ---- fixture: four services, three nodes each ---- */

struct svc_fix {
	const char *vip;
	uint16_t port;
	uint8_t proto;
	uint8_t family;
	uint32_t id;
	uint32_t base;		/* node ids base..base+NPER-1 */
};

static const struct svc_fix svcs[] = {
	{ "198.18.0.100", 5432, IPPROTO_TCP, HL_AF_INET,  1, 10 },
	{ "198.18.0.100", 5353, IPPROTO_UDP, HL_AF_INET,  2, 20 },
	{ "fd00::100",    5432, IPPROTO_TCP, HL_AF_INET6, 3, 30 },
	{ "fd00::100",    5353, IPPROTO_UDP, HL_AF_INET6, 4, 40 },
};

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

static struct hl_node node_for(uint32_t id, const struct svc_fix *s)
{
	struct hl_node n = {
		.svc_id = s->id,
		.flags = HL_NODE_F_EXISTS,
		.weight = 100,
		.family = s->family,
	};

	node_addr(id, s->family, n.addr);
	return n;
}

static struct hl_nexthop nh_for(uint32_t id, uint8_t family)
{
	struct hl_nexthop nh = {
		.dmac = { 0x02, 0, 0, 0, 0x01, id },
		.smac = { 0x02, 0, 0, 0, 0, 0xfe },
		.ifindex = LO_IFINDEX,
		.mtu = MTU,
		.flags = HL_NH_F_VALID,
	};

	addr_parse(family, family == HL_AF_INET6 ? "fd00::1" : "198.18.0.1",
		   nh.src);
	return nh;
}

static const struct svc_fix *svc_by_id(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++)
		if (svcs[i].id == id)
			return &svcs[i];
	return NULL;
}

/* Slot s holds ids[s % n]; n == 0: an empty table. */
static int set_table(uint32_t svc_id, uint32_t ring, const uint32_t *ids,
		     int n)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_ring", 4, 4, ring, &opts);
	if (fd < 0)
		return -errno;
	for (uint32_t s = 0; s < ring && !err; s++) {
		uint32_t v = n ? ids[s % n] : HL_NODE_NONE;

		err = bpf_map_update_elem(fd, &s, &v, BPF_ANY);
	}
	if (!err)
		err = bpf_map_update_elem(maglev_fd, &svc_id, &fd, BPF_ANY);
	close(fd);	/* the outer map holds the table now */
	return err ? -errno : 0;
}

static void set_service(const struct svc_fix *s, uint32_t ring)
{
	struct hl_svc_key k = { .proto = s->proto, .family = s->family,
				.port = htons(s->port) };
	struct hl_service v = { .id = s->id, .ring_size = ring };

	addr_parse(s->family, s->vip, k.vip);
	if (bpf_map_update_elem(services_fd, &k, &v, BPF_ANY))
		fprintf(stderr, "# services update: %s\n", strerror(errno));
}

/* Collect the keys first: get_next_key(NULL) restarts the scan of all
 * buckets every time, which is quadratic after the distribution test. */
static void ct_flush(void)
{
	struct hl_flow_key *keys, *prev = NULL;
	size_t n = 0, cap = 1024;

	keys = malloc(cap * sizeof(*keys));
	while (keys && !bpf_map_get_next_key(ct_fd, prev, &keys[n])) {
		prev = &keys[n++];
		if (n == cap) {
			struct hl_flow_key *k;

			k = realloc(keys, 2 * cap * sizeof(*keys));
			if (!k)
				break;
			keys = k;
			cap *= 2;
			prev = &keys[n - 1];
		}
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(ct_fd, &keys[i]);
	free(keys);
}

static void zero_percpu(int fd, uint32_t key, size_t vsize)
{
	uint8_t buf[vsize * ncpus];

	memset(buf, 0, sizeof(buf));
	bpf_map_update_elem(fd, &key, buf, BPF_ANY);
}

/* Back to the known state: all services, nodes, next hops, 1:1:1 tables,
 * no flows, zero service/node counters. */
static void fixture(void)
{
	ct_flush();
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++) {
		const struct svc_fix *s = &svcs[i];
		uint32_t ids[NPER];

		set_service(s, RING);
		zero_percpu(svc_stats_fd, s->id, sizeof(struct hl_counters));
		for (uint32_t k = 0; k < NPER; k++) {
			uint32_t id = s->base + k;
			struct hl_node n = node_for(id, s);
			struct hl_nexthop nh = nh_for(id, s->family);

			ids[k] = id;
			bpf_map_update_elem(nodes_fd, &id, &n, BPF_ANY);
			bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
			zero_percpu(node_stats_fd, id,
				    sizeof(struct hl_counters));
		}
		if (set_table(s->id, RING, ids, NPER))
			fprintf(stderr, "# set_table: %s\n", strerror(errno));
	}
}

static void node_update(uint32_t id, uint32_t set, uint32_t clear)
{
	struct hl_node n;

	if (bpf_map_lookup_elem(nodes_fd, &id, &n))
		return;
	n.flags = (n.flags | set) & ~clear;
	bpf_map_update_elem(nodes_fd, &id, &n, BPF_ANY);
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

static const struct svc_fix *svc_of(struct spec s)
{
	s = defaults(s);
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++)
		if (svcs[i].family == s.family && svcs[i].proto == s.proto &&
		    svcs[i].port == s.dport)
			return &svcs[i];
	return NULL;
}

/* The node the fixture's 1:1:1 table gives a flow. */
static uint32_t table_node(struct spec s)
{
	return svc_of(s)->base + flow_hash(s) % RING % NPER;
}

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

/* ---- running ---- */

struct result {
	int err;
	uint32_t ret;
	uint8_t out[FRAME_MAX];
	uint32_t len;
	int64_t delta[HL_REASON_MAX];
};

static void read_reasons(uint64_t *sum)
{
	uint64_t v[ncpus];

	for (uint32_t r = 0; r < HL_REASON_MAX; r++) {
		sum[r] = 0;
		if (bpf_map_lookup_elem(reasons_fd, &r, v))
			continue;
		for (int c = 0; c < ncpus; c++)
			sum[r] += v[c];
	}
}

static void run_xdp(const uint8_t *in, size_t len, struct result *r)
{
	uint64_t before[HL_REASON_MAX], after[HL_REASON_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = len,
		.data_out = r->out,
		.data_size_out = sizeof(r->out),
		.repeat = 1,
	);

	read_reasons(before);
	r->err = bpf_prog_test_run_opts(prog_fd, &o) ? -errno : 0;
	r->ret = o.retval;
	r->len = o.data_size_out;
	read_reasons(after);
	for (int i = 0; i < HL_REASON_MAX; i++)
		r->delta[i] = after[i] - before[i];
}

static void send_spec(struct spec s, struct result *r)
{
	uint8_t in[FRAME_MAX];

	run_xdp(in, build(in, s), r);
}

static const char *verdict_name(uint32_t v)
{
	static const char *const n[] = { "ABORTED", "DROP", "PASS", "TX",
					 "REDIRECT" };

	return v < ARRAY_SIZE(n) ? n[v] : "?";
}

/* Exactly one reason counter moved, by one. */
static void check_verdict(const struct result *r, uint32_t verdict, int reason)
{
	CHECK(!r->err, "test_run: %s", strerror(-r->err));
	CHECK(r->ret == verdict, "verdict %s, want %s", verdict_name(r->ret),
	      verdict_name(verdict));
	for (int i = 0; i < HL_REASON_MAX; i++)
		CHECK(r->delta[i] == (i == reason),
		      "reason %s moved by %lld", reason_names[i],
		      (long long)r->delta[i]);
}

static void check_bytes(const uint8_t *got, size_t glen, const uint8_t *want,
			size_t wlen)
{
	CHECK(glen == wlen, "output %zu bytes, want %zu", glen, wlen);
	for (size_t i = 0; i < glen && i < wlen; i++)
		if (got[i] != want[i]) {
			CHECK(got[i] == want[i], "byte %zu is %02x, want %02x",
			      i, got[i], want[i]);
			break;
		}
}

/* Node a forwarded frame went to: the last byte(s) of the outer dst. */
static int64_t out_node(const struct result *r)
{
	uint16_t et = get16(r->out + 12);

	if (r->ret != XDP_TX && r->ret != XDP_REDIRECT)
		return -1;
	if (et == 0x0800)
		return r->out[14 + 19];
	if (et == 0x86dd)
		return get16(r->out + 14 + 38);
	return -1;
}

static int64_t ct_node(struct spec s, uint32_t *hash)
{
	struct hl_flow_key k = flow_key(s);
	struct hl_flow f;

	if (bpf_map_lookup_elem(ct_fd, &k, &f))
		return -1;
	if (hash)
		*hash = f.hash;
	return f.node_id;
}

/* Forwarded to `id` with exactly the frame we build ourselves, and the
 * flow recorded on `id` with the same hash we computed. */
static void check_forwarded(const uint8_t *in, size_t len, struct spec s,
			    const struct result *r, uint32_t id,
			    uint32_t verdict)
{
	struct hl_nexthop nh;
	uint8_t want[FRAME_MAX];
	uint32_t hash = flow_hash(s), ct_hash = 0;
	size_t wlen;

	s = defaults(s);
	check_verdict(r, verdict, HL_REASON_FORWARDED);
	if (bpf_map_lookup_elem(nexthops_fd, &id, &nh))
		memset(&nh, 0, sizeof(nh));
	wlen = expect_encap(want, in, len, s.family, id, hash, &nh);
	check_bytes(r->out, r->len, want, wlen);
	CHECK(ct_node(s, &ct_hash) == id, "conntrack node %lld, want %u",
	      (long long)ct_node(s, NULL), id);
	CHECK(ct_hash == hash, "conntrack hash %08x, want %08x", ct_hash,
	      hash);
}

/* An ICMP(v6) too-big reply to `in`, checked field by field. */
static void check_too_big(const uint8_t *in, size_t len, struct spec s,
			  const struct result *r, uint32_t mtu)
{
	size_t l2 = l3_offset(in);
	const uint8_t *iip = in + l2, *ip = r->out + l2, *icmp;

	s = defaults(s);
	check_verdict(r, XDP_TX, HL_REASON_TOO_BIG);
	CHECK(!memcmp(r->out, in + 6, 6) && !memcmp(r->out + 6, in, 6),
	      "MACs not swapped");
	if (l2 == 18)
		CHECK(!memcmp(r->out + 12, in + 12, 4), "VLAN tag not kept");
	if (s.family == HL_AF_INET) {
		size_t quote = (iip[0] & 0xf) * 4 + 8;

		CHECK(get16(r->out + l2 - 2) == 0x0800, "ethertype");
		CHECK(r->len == l2 + 28 + quote, "reply %u bytes, want %zu",
		      r->len, l2 + 28 + quote);
		if (r->len != l2 + 28 + quote)
			return;
		icmp = ip + 20;
		CHECK(ip[0] == 0x45 && ip[9] == 1, "not IPv4/ICMP");
		CHECK(get16(ip + 2) == 28 + quote, "IP tot_len %u",
		      get16(ip + 2));
		CHECK(!memcmp(ip + 12, iip + 16, 4) &&
		      !memcmp(ip + 16, iip + 12, 4), "addresses not swapped");
		CHECK(csum16(ip, 20, 0) == 0, "bad IP checksum");
		CHECK(icmp[0] == 3 && icmp[1] == 4, "ICMP %u/%u, want 3/4",
		      icmp[0], icmp[1]);
		CHECK(get16(icmp + 6) == mtu - 20, "next-hop MTU %u, want %u",
		      get16(icmp + 6), mtu - 20);
		CHECK(csum16(icmp, 8 + quote, 0) == 0, "bad ICMP checksum");
		CHECK(!memcmp(icmp + 8, iip, quote), "quote differs");
	} else {
		uint32_t want_mtu = mtu - 40 > 1280 ? mtu - 40 : 1280;
		uint32_t pseudo = 0;

		CHECK(get16(r->out + l2 - 2) == 0x86dd, "ethertype");
		CHECK(r->len == l2 + 40 + 8 + 48, "reply %u bytes", r->len);
		if (r->len != l2 + 96)
			return;
		icmp = ip + 40;
		CHECK(ip[0] >> 4 == 6 && ip[6] == 58, "not IPv6/ICMPv6");
		CHECK(get16(ip + 4) == 56, "payload length %u", get16(ip + 4));
		CHECK(!memcmp(ip + 8, iip + 24, 16) &&
		      !memcmp(ip + 24, iip + 8, 16), "addresses not swapped");
		CHECK(icmp[0] == 2 && icmp[1] == 0, "ICMPv6 %u/%u, want 2/0",
		      icmp[0], icmp[1]);
		CHECK(get32(icmp + 4) == want_mtu, "MTU %u, want %u",
		      get32(icmp + 4), want_mtu);
		for (int i = 0; i < 32; i += 2)
			pseudo += get16(ip + 8 + i);
		pseudo += 56 + 58;
		CHECK(csum16(icmp, 56, pseudo) == 0, "bad ICMPv6 checksum");
		CHECK(!memcmp(icmp + 8, iip, 48), "quote differs");
	}
}

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

#define V6 .family = HL_AF_INET6
#define UDP .proto = IPPROTO_UDP

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
	bpf_map_update_elem(ct_fd, &k, &f, BPF_ANY);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == table_node(s), "went to %lld, want %u",
	      (long long)out_node(&r), table_node(s));
}

static void test_no_backend(void)
{
	uint32_t svc = 2;
	struct result r;

	fixture();
	set_table(1, RING, NULL, 0);		/* empty table */
	send_spec((struct spec){ .sport = 41600 }, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_BACKEND);
	CHECK(ct_node((struct spec){ .sport = 41600 }, NULL) < 0,
	      "conntrack entry for a dropped flow");

	bpf_map_delete_elem(maglev_fd, &svc);	/* no table at all */
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
	bpf_map_update_elem(services_fd, &k, &v, BPF_ANY);
	a.tcp_flags = TCP_ACK;
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	send_spec(b, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_HELD);
	CHECK(ct_node(b, NULL) < 0, "held flow got a conntrack entry");
}

/* Set or clear a flag of the service of spec `s`. */
static void svc_flags(uint32_t svc_id, uint32_t flags)
{
	const struct svc_fix *f = svc_by_id(svc_id);
	struct hl_svc_key k = { .proto = f->proto, .family = f->family,
				.port = htons(f->port) };
	struct hl_service v;

	addr_parse(f->family, f->vip, k.vip);
	CHECK(!bpf_map_lookup_elem(services_fd, &k, &v), "service lookup");
	v.flags = flags;
	CHECK(!bpf_map_update_elem(services_fd, &k, &v, BPF_EXIST), "service update");
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

	fixture();
	send_spec(s, &r);
	first = out_node(&r);
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

/* Service 1 with SYN second chance: delay, budget per cent, minimum. */
static void syn_retry_on(__u16 delay_ms, __u8 pct, __u8 min)
{
	const struct svc_fix *f = svc_by_id(1);
	struct hl_svc_key k = { .proto = f->proto, .family = f->family,
				.port = htons(f->port) };
	struct hl_limits lim = { .retry_delay_ms = delay_ms, .retry_pct = pct,
				 .retry_min = min };
	struct hl_retry_window w[ncpus];
	struct hl_service v;
	__u32 id = 1;

	addr_parse(f->family, f->vip, k.vip);
	CHECK(!bpf_map_lookup_elem(services_fd, &k, &v), "service lookup");
	v.opts |= HL_SVC_O_SYN_RETRY;
	CHECK(!bpf_map_update_elem(services_fd, &k, &v, BPF_EXIST), "service update");
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

/* Retransmitted SYNs and client RSTs on known flows, per node: the agent's
 * circuit-breaker input. */
static void test_trouble_counters(void)
{
	struct spec s = { .sport = 41800 };
	struct hl_counters c[ncpus];
	uint64_t syns = 0, rsts = 0;
	struct result r;
	uint32_t id;

	fixture();
	send_spec(s, &r);		/* first SYN: a new flow */
	id = out_node(&r);
	send_spec(s, &r);		/* the same SYN again */
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);		/* no trouble */
	s.tcp_flags = TCP_ACK | 0x04;
	send_spec(s, &r);		/* the client resets */
	CHECK(!bpf_map_lookup_elem(node_stats_fd, &id, c), "lookup");
	for (int i = 0; i < ncpus; i++) {
		syns += c[i].syn_retrans;
		rsts += c[i].rsts;
	}
	CHECK(syns == 1 && rsts == 1, "syn_retrans %llu rsts %llu",
	      (unsigned long long)syns, (unsigned long long)rsts);
}

static void test_redirect_other_device(void)
{
	struct spec s = { V6, UDP, .sport = 41700 };
	uint32_t id = table_node(s);
	struct hl_nexthop nh = nh_for(id, HL_AF_INET6);
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	fixture();
	nh.ifindex = 7;
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	len = build(in, s);
	run_xdp(in, len, &r);
	check_forwarded(in, len, s, &r, id, XDP_REDIRECT);
}

/* No valid next hop and the FIB knows no route (empty namespace). */
static void test_no_route(void)
{
	struct spec s = { .sport = 41800 };
	uint32_t id = table_node(s);
	struct hl_nexthop nh = nh_for(id, HL_AF_INET);
	struct result r;

	fixture();
	nh.flags = 0;
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	send_spec(s, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_ROUTE);
}

/* Too big against a smaller MTU from the next-hop entry; IPv6 never
 * advertises below 1280. */
static void test_too_big_small_mtu(void)
{
	struct spec s4 = { UDP, .payload = 600, .sport = 41900 };
	struct spec s6 = { V6, UDP, .payload = 1300, .sport = 41900 };
	uint32_t id4 = table_node(s4), id6 = table_node(s6);
	struct hl_nexthop nh4 = nh_for(id4, HL_AF_INET);
	struct hl_nexthop nh6 = nh_for(id6, HL_AF_INET6);
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	fixture();
	nh4.mtu = 576;
	nh6.mtu = 1280;
	bpf_map_update_elem(nexthops_fd, &id4, &nh4, BPF_ANY);
	bpf_map_update_elem(nexthops_fd, &id6, &nh6, BPF_ANY);
	len = build(in, s4);
	run_xdp(in, len, &r);
	check_too_big(in, len, s4, &r, 576);
	len = build(in, s6);
	run_xdp(in, len, &r);
	check_too_big(in, len, s6, &r, 1280);
}

/* ---- fwd l2: the node's MAC, nothing else ---- */

/* Service `svc_id` forwards in mode `fwd` (enum hl_fwd). */
static void svc_fwd(uint32_t svc_id, uint8_t fwd)
{
	const struct svc_fix *f = svc_by_id(svc_id);
	struct hl_svc_key k = { .proto = f->proto, .family = f->family,
				.port = htons(f->port) };
	struct hl_service v;

	addr_parse(f->family, f->vip, k.vip);
	CHECK(!bpf_map_lookup_elem(services_fd, &k, &v), "service lookup");
	v.fwd = fwd;
	CHECK(!bpf_map_update_elem(services_fd, &k, &v, BPF_EXIST),
	      "service update");
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

/* Per-service and per-node counters: flows once, packets and bytes as
 * received for every forwarded packet. */
static void test_counters(void)
{
	struct spec s = { .sport = 42000, .payload = 10 };
	uint32_t id = table_node(s), svc = 1;
	struct hl_counters c[ncpus], sum;
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	fixture();
	len = build(in, s);
	run_xdp(in, len, &r);
	s.tcp_flags = TCP_ACK;
	len = build(in, s);
	run_xdp(in, len, &r);
	for (int m = 0; m < 2; m++) {
		int fd = m ? node_stats_fd : svc_stats_fd;
		uint32_t key = m ? id : svc;

		memset(&sum, 0, sizeof(sum));
		CHECK(!bpf_map_lookup_elem(fd, &key, c), "lookup");
		for (int i = 0; i < ncpus; i++) {
			sum.packets += c[i].packets;
			sum.bytes += c[i].bytes;
			sum.flows += c[i].flows;
		}
		CHECK(sum.packets == 2 && sum.flows == 1 &&
		      sum.bytes == 2 * len,
		      "%s: packets %llu bytes %llu flows %llu",
		      m ? "node" : "service", (unsigned long long)sum.packets,
		      (unsigned long long)sum.bytes,
		      (unsigned long long)sum.flows);
	}
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

/* ---- next-hop refresh through the FIB ---- */

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		printf("#   '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

static void get_mac(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd >= 0 && !ioctl(fd, SIOCGIFHWADDR, &ifr))
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (fd >= 0)
		close(fd);
}

static struct hl_nexthop read_nh(uint32_t id)
{
	struct hl_nexthop nh = {};

	bpf_map_lookup_elem(nexthops_fd, &id, &nh);
	return nh;
}

/*
 * A veth in our private namespace with a route and a permanent neighbour
 * for node 10 (198.18.5.10). An empty next-hop entry is filled from the
 * FIB by the first packet; a stale one is refreshed by new flows only; a
 * failed lookup leaves a valid entry in use.
 */
static void test_nexthop_refresh(void)
{
	const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0x05, 0x0a };
	const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0x05, 0x0b };
	const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0x05, 0x0c };
	struct hl_nexthop nh = {};
	struct hl_node node;
	uint32_t id = 10, ids[1] = { 10 }, ifindex;
	uint8_t smac[6] = { 0 };
	struct spec s = { .sport = 42100 };
	struct result r;
	__be32 src;

	fixture();
	if (system("ip link add hlt0 type veth peer name hlt1 2>/dev/null"))
		SKIP("cannot create a veth pair (no veth support)");
	if (sh("ip link set hlt0 up && ip link set hlt1 up && "
	       "ip addr add 198.18.5.1/24 dev hlt0 && "
	       "ip neigh replace 198.18.5.10 lladdr 02:00:00:00:05:0a "
	       "dev hlt0 nud permanent") ||
	    write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1") ||
	    write_sysctl("/proc/sys/net/ipv4/conf/lo/forwarding", "1")) {
		CHECK(0, "namespace setup failed");
		goto out;
	}
	ifindex = if_nametoindex("hlt0");
	get_mac("hlt0", smac);

	bpf_map_lookup_elem(nodes_fd, &id, &node);
	node.addr[0] = inet_addr("198.18.5.10");
	bpf_map_update_elem(nodes_fd, &id, &node, BPF_ANY);
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);	/* empty */
	set_table(1, RING, ids, 1);

	send_spec(s, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FORWARDED);
	nh = read_nh(id);
	src = inet_addr("198.18.5.1");
	CHECK(nh.flags & HL_NH_F_VALID, "not valid after the FIB fill");
	CHECK(nh.ifindex == ifindex, "ifindex %u, want %u", nh.ifindex,
	      ifindex);
	CHECK(!memcmp(nh.dmac, mac_a, 6), "dmac not the neighbour's");
	CHECK(!memcmp(nh.smac, smac, 6), "smac not hlt0's");
	CHECK(nh.src[0] == src, "src not the route's source");
	CHECK(nh.mtu == 1500, "mtu %u, want the device's 1500", nh.mtu);
	CHECK(nh.updated_ns != 0, "updated_ns not set");
	CHECK(!memcmp(r.out, mac_a, 6) && !memcmp(r.out + 6, smac, 6),
	      "frame MACs not from the FIB");
	CHECK(!memcmp(r.out + 14 + 12, &src, 4), "outer source");

	/* stale cache, neighbour moved: an established flow keeps the
	 * cache and calls no helper; a new flow refreshes */
	nh.updated_ns = 1;
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	sh("ip neigh replace 198.18.5.10 lladdr 02:00:00:00:05:0b dev hlt0 "
	   "nud permanent");
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FORWARDED);
	nh = read_nh(id);
	CHECK(nh.updated_ns == 1, "established flow refreshed the next hop");
	CHECK(!memcmp(r.out, mac_a, 6), "established flow left the cache");

	s.sport = 42102;
	s.tcp_flags = TCP_SYN;
	send_spec(s, &r);
	nh = read_nh(id);
	CHECK(nh.updated_ns > 1, "new flow did not refresh a stale entry");
	CHECK(!memcmp(r.out, mac_b, 6), "new flow not sent to the new MAC");

	/* forwarding off: the kernel refuses FIB lookups from XDP; a valid
	 * cache stays in use */
	write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "0");
	write_sysctl("/proc/sys/net/ipv4/conf/lo/forwarding", "0");
	sh("ip neigh replace 198.18.5.10 lladdr 02:00:00:00:05:0c dev hlt0 "
	   "nud permanent");
	nh = read_nh(id);
	nh.updated_ns = 1;
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	s.sport = 42104;
	send_spec(s, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FORWARDED);
	CHECK(!memcmp(r.out, mac_b, 6), "cache not used when the FIB fails");
	CHECK(read_nh(id).updated_ns == 1, "failed refresh touched the entry");

	/* forwarding on again: the next new flow picks up the change */
	write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	write_sysctl("/proc/sys/net/ipv4/conf/lo/forwarding", "1");
	s.sport = 42106;
	send_spec(s, &r);
	CHECK(!memcmp(r.out, mac_c, 6), "no refresh after forwarding on");

	/* no route at all and no valid entry: dropped-no-route */
	sh("ip addr flush dev hlt0");
	nh = read_nh(id);
	nh.flags = 0;
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	s.sport = 42108;
	send_spec(s, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_ROUTE);
out:
	system("ip link del hlt0 2>/dev/null");
}

/* ---- TC decap ---- */

static size_t build_tunnel(uint8_t *b, uint8_t family, const char *inner_dst,
			   uint8_t outer_proto, bool options)
{
	uint8_t inner[FRAME_MAX];
	size_t ilen, l3, ol;
	struct spec s = { .family = family, .proto = IPPROTO_UDP,
			  .dst = inner_dst, .payload = 16 };
	__be32 a[4];

	ilen = build(inner, s) - 14;
	memcpy(b, inner, 14);
	l3 = 14;
	if (family == HL_AF_INET6) {
		ol = 40;
		put32(b + l3, 6u << 28);
		put16(b + l3 + 4, ilen);
		b[l3 + 6] = outer_proto;
		b[l3 + 7] = 64;
		addr_parse(family, "fd00::1", a);
		memcpy(b + l3 + 8, a, 16);
		addr_parse(family, "fd00::1:1e", a);
		memcpy(b + l3 + 24, a, 16);
	} else {
		ol = options ? 24 : 20;
		memset(b + l3, 0, ol);
		b[l3] = 0x40 | ol / 4;
		put16(b + l3 + 2, ilen + ol);
		b[l3 + 8] = 64;
		b[l3 + 9] = outer_proto;
		*(__be32 *)(b + l3 + 12) = inet_addr("198.18.0.1");
		*(__be32 *)(b + l3 + 16) = inet_addr("198.18.1.10");
		if (options)
			memset(b + l3 + 20, 1, 4);
		put16(b + l3 + 10, csum16(b + l3, ol, 0));
	}
	memcpy(b + l3 + ol, inner + 14, ilen);
	return l3 + ol + ilen;
}

static void test_decap(void)
{
	struct helios_decap *d;
	struct hl_vip_key k4 = { .family = HL_AF_INET };
	struct hl_vip_key k6 = { .family = HL_AF_INET6 };
	uint64_t zero = 0, cnt = 0;
	struct {
		const char *name;
		uint8_t family;
		const char *dst;
		uint8_t proto;
		bool options;
		bool decap;
	} dc[] = {
		{ "IPIP to a VIP", HL_AF_INET, "198.18.0.100", 4, false, true },
		{ "IPIP to another address", HL_AF_INET, "198.18.0.101", 4,
		  false, false },
		{ "IPIP with outer options", HL_AF_INET, "198.18.0.100", 4,
		  true, false },
		{ "IPv4 GRE, not IPIP", HL_AF_INET, "198.18.0.100", 47, false,
		  false },
		{ "6in6 to a VIP", HL_AF_INET6, "fd00::100", 41, false, true },
		{ "6in6 to another address", HL_AF_INET6, "fd00::101", 41,
		  false, false },
	};
	int fd;

	d = helios_decap__open_and_load();
	if (!d) {
		RUN_CASE("decap program loads", CHECK(0, "load: %s",
						       strerror(errno)));
		return;
	}
	addr_parse(HL_AF_INET, "198.18.0.100", k4.addr);
	addr_parse(HL_AF_INET6, "fd00::100", k6.addr);
	bpf_map_update_elem(bpf_map__fd(d->maps.decap_vips), &k4, &zero, 0);
	bpf_map_update_elem(bpf_map__fd(d->maps.decap_vips), &k6, &zero, 0);
	fd = bpf_program__fd(d->progs.helios_decap);

	for (size_t i = 0; i < ARRAY_SIZE(dc); i++) {
		uint8_t in[FRAME_MAX], out[FRAME_MAX];
		size_t len = build_tunnel(in, dc[i].family, dc[i].dst,
					  dc[i].proto, dc[i].options);
		size_t ol = dc[i].family == HL_AF_INET6 ? 40 : 20;
		char name[96];
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = in,
			.data_size_in = len,
			.data_out = out,
			.data_size_out = sizeof(out),
			.repeat = 1,
		);
		int err = bpf_prog_test_run_opts(fd, &o);

		snprintf(name, sizeof(name), "decap: %s", dc[i].name);
		RUN_CASE(name, {
			CHECK(!err, "test_run: %s", strerror(errno));
			CHECK(o.retval == 0, "verdict %u, want TC_ACT_OK",
			      o.retval);
			if (dc[i].decap) {
				uint8_t want[FRAME_MAX];

				memcpy(want, in, 14);
				memcpy(want + 14, in + 14 + ol, len - 14 - ol);
				check_bytes(out, o.data_size_out, want,
					    len - ol);
			} else {
				check_bytes(out, o.data_size_out, in, len);
			}
		});
	}
	bpf_map_lookup_elem(bpf_map__fd(d->maps.decap_vips), &k4, &cnt);
	RUN_CASE("decap: VIP packet counter", CHECK(cnt == 1, "count %llu",
						   (unsigned long long)cnt));
	helios_decap__destroy(d);
}

/* ---- setup ---- */

static void test_load(void)
{
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) <= 0 ||
	    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL) <= 0 ||
	    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, NULL) <= 0) {
		load_failed = true;
		SKIP("kernel lacks XDP, map-in-map or LRU hash maps");
	}
	skel = helios_xdp__open_and_load();
	if (!skel) {
		load_failed = true;
		CHECK(0, "helios_xdp__open_and_load: %s%s", strerror(errno),
		      errno == EPERM ? " (run as root)" : "");
		return;
	}
	prog_fd = bpf_program__fd(skel->progs.helios_xdp);
	services_fd = bpf_map__fd(skel->maps.services);
	nodes_fd = bpf_map__fd(skel->maps.nodes);
	nexthops_fd = bpf_map__fd(skel->maps.nexthops);
	maglev_fd = bpf_map__fd(skel->maps.maglev);
	ct_fd = bpf_map__fd(skel->maps.conntrack);
	svc_stats_fd = bpf_map__fd(skel->maps.svc_stats);
	node_stats_fd = bpf_map__fd(skel->maps.node_stats);
	reasons_fd = bpf_map__fd(skel->maps.reasons);
	CHECK(bpf_map__fd(skel->maps.settings) >= 0, "no settings map");
}

static void not_loaded(void)
{
	SKIP("program did not load");
}

#define SCENARIO(fn)							\
	do {								\
		if (load_failed)					\
			RUN_CASE(#fn, not_loaded());			\
		else							\
			RUN(fn);					\
	} while (0)

int main(void)
{
	libbpf_set_print(libbpf_print);
	ncpus = libbpf_num_possible_cpus();
	if (unshare(CLONE_NEWNET)) {
		printf("not ok 1 - private network namespace: %s%s\n1..1\n",
		       strerror(errno), errno == EPERM ? " (run as root)" : "");
		return 1;
	}
	system("ip link set lo up 2>/dev/null");

	RUN_ALWAYS(test_load);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		RUN_CASE(cases[i].name, run_case(&cases[i]));
	SCENARIO(test_sticky_after_table_change);
	SCENARIO(test_reselect_deleted);
	SCENARIO(test_reselect_unhealthy);
	SCENARIO(test_drain_keeps_flows);
	SCENARIO(test_transitioning_no_new_flows);
	SCENARIO(test_reselect_node_other_service);
	SCENARIO(test_no_backend);
	SCENARIO(test_hold);
	SCENARIO(test_reset_v4);
	SCENARIO(test_reset_v6);
	SCENARIO(test_trouble_counters);
	SCENARIO(test_free_ports);
	SCENARIO(test_syn_second_chance);
	SCENARIO(test_redirect_other_device);
	SCENARIO(test_no_route);
	SCENARIO(test_too_big_small_mtu);
	SCENARIO(test_l2_v4);
	SCENARIO(test_l2_v6);
	SCENARIO(test_l2_redirect);
	SCENARIO(test_l2_vlan);
	SCENARIO(test_l2_mtu);
	SCENARIO(test_l2_back_to_ipip);
	SCENARIO(test_counters);
	SCENARIO(test_nexthop_refresh);
	SCENARIO(test_distribution);
	test_decap();
	helios_xdp__destroy(skel);
	return unit_done();
}
