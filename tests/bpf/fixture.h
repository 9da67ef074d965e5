/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data-path suites' fixture, after tests/bpf/pkt.h's frames: the XDP
 * program loaded from its skeleton, four services with three nodes each
 * (fixture() puts them back before every test), BPF_PROG_TEST_RUN of one
 * frame with the reason counters read around it, and the checks of a
 * verdict, a forwarded frame and a too-big answer.
 *
 * Everything runs in a private network namespace (unshare, in
 * fixture_init()): test packets arrive on its loopback (ifindex 1, so
 * "same device" means XDP_TX), FIB lookups see only what a test sets up
 * there, and nothing touches the machine's interfaces. Needs root.
 */
#ifndef HELIOS_TEST_FIXTURE_H
#define HELIOS_TEST_FIXTURE_H

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
#include "lib/ct.h"
#include "unit.h"
#include "pkt.h"

/* Every suite uses some of these helpers: no warning for the rest. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#define RING		251	/* prime, small: fast to rebuild per case */
#define NPER		3	/* nodes per service in the fixture */
#define LO_IFINDEX	1
#define MTU		1500

static struct helios_xdp *skel;
static int prog_fd, services_fd, nodes_fd, nexthops_fd, slots_fd, ct_fd,
	   svc_stats_fd, node_stats_fd, reasons_fd, svc_by_id_fd, nat_ports_fd;
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

/* Fixture service `svc_id`'s key and entry, to change and svc_put(). */
static void svc_get(uint32_t svc_id, struct hl_svc_key *k,
		    struct hl_service *v)
{
	const struct svc_fix *f = svc_by_id(svc_id);

	*k = (struct hl_svc_key){ .proto = f->proto, .family = f->family,
				  .port = htons(f->port) };
	addr_parse(f->family, f->vip, k->vip);
	CHECK(!bpf_map_lookup_elem(services_fd, k, v), "service %u lookup",
	      svc_id);
}

/* Set (clear) port's bit in nat_ports. */
static void nat_port_mark(uint16_t port, bool nat)
{
	uint32_t word = port / 64;
	__u64 bits = 0;

	bpf_map_lookup_elem(nat_ports_fd, &word, &bits);
	if (nat)
		bits |= 1ull << (port % 64);
	else
		bits &= ~(1ull << (port % 64));
	bpf_map_update_elem(nat_ports_fd, &word, &bits, BPF_ANY);
}

/* A service entry and its copy by id, as user/lib/services.c writes
 * them (a service not NAT clears its port in nat_ports first); 0 or -1
 * with errno. */
static int services_write(const struct hl_svc_key *k,
			  const struct hl_service *v, __u64 flags)
{
	struct hl_svc_slot s = { .svc = *v, .key = *k };

	if (v->fwd != HL_FWD_NAT)
		nat_port_mark(ntohs(k->port), false);
	if (bpf_map_update_elem(services_fd, k, v, flags))
		return -1;
	return bpf_map_update_elem(svc_by_id_fd, &v->id, &s, BPF_ANY);
}

static void svc_put(const struct hl_svc_key *k, const struct hl_service *v)
{
	CHECK(!services_write(k, v, BPF_EXIST), "service update");
}

/* Slot s holds ids[s % n]; n == 0: an empty table. */
static int set_table(uint32_t svc_id, uint32_t ring, const uint32_t *ids,
		     int n)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .map_flags = HL_SLOTS_INNER_FLAGS);
	uint32_t key = hl_slots_key(svc_id, 0);
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_ring", 4, 4, ring, &opts);
	if (fd < 0)
		return -errno;
	for (uint32_t s = 0; s < ring && !err; s++) {
		uint32_t v = n ? ids[s % n] : HL_NODE_NONE;

		err = bpf_map_update_elem(fd, &s, &v, BPF_ANY);
	}
	if (!err)
		err = bpf_map_update_elem(slots_fd, &key, &fd, BPF_ANY);
	close(fd);	/* the outer map holds the table now */
	return err ? -errno : 0;
}

static void set_service(const struct svc_fix *s, uint32_t ring)
{
	struct hl_svc_key k = { .proto = s->proto, .family = s->family,
				.port = htons(s->port) };
	struct hl_service v = { .id = s->id, .ring_size = ring };

	addr_parse(s->family, s->vip, k.vip);
	if (services_write(&k, &v, BPF_ANY))
		fprintf(stderr, "# services update: %s\n", strerror(errno));
}

/* Collect the keys first: get_next_key(NULL) restarts the scan of all
 * buckets every time, which is quadratic after the distribution test. */
static void ct_flush_shard(int fd)
{
	struct hl_flow_key *keys, *prev = NULL;
	size_t n = 0, cap = 1024;

	keys = malloc(cap * sizeof(*keys));
	while (keys && !bpf_map_get_next_key(fd, prev, &keys[n])) {
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
		bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
}

static void ct_flush(void)
{
	for (__u32 shard = 0; shard < HL_CT_SHARDS; shard++) {
		int fd = ct_shard_fd(ct_fd, shard);

		if (fd >= 0) {
			ct_flush_shard(fd);
			close(fd);
		}
	}
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

/* A test run as if the frame came in on `ifindex` (0: the test-run
 * default, lo), with the reason counters' deltas. */
static void run_xdp_on(const uint8_t *in, size_t len, uint32_t ifindex,
		       struct result *r)
{
	uint64_t before[HL_REASON_MAX], after[HL_REASON_MAX];
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = len,
		.data_out = r->out,
		.data_size_out = sizeof(r->out),
		.ctx_in = ifindex ? &ctx : NULL,
		.ctx_size_in = ifindex ? sizeof(ctx) : 0,
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

static void run_xdp(const uint8_t *in, size_t len, struct result *r)
{
	run_xdp_on(in, len, 0, r);
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

	if (ct_get(ct_fd, &k, &f))
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
	svc_by_id_fd = bpf_map__fd(skel->maps.svc_by_id);
	nat_ports_fd = bpf_map__fd(skel->maps.nat_ports);
	nodes_fd = bpf_map__fd(skel->maps.nodes);
	nexthops_fd = bpf_map__fd(skel->maps.nexthops);
	slots_fd = bpf_map__fd(skel->maps.slots);
	ct_fd = bpf_map__fd(skel->maps.conntrack);
	CHECK(!ct_shards_create(ct_fd, HL_CT_SHARD_ENTRIES,
				sizeof(struct hl_flow)), "conntrack shards");
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

/* Every suite's start: libbpf's messages as TAP comments, and a private
 * network namespace with lo up. Non-zero (a TAP failure printed) when
 * there is none. */
static int fixture_init(void)
{
	libbpf_set_print(libbpf_print);
	ncpus = libbpf_num_possible_cpus();
	if (unshare(CLONE_NEWNET)) {
		printf("not ok 1 - private network namespace: %s%s\n1..1\n",
		       strerror(errno), errno == EPERM ? " (run as root)" : "");
		return 1;
	}
	system("ip link set lo up 2>/dev/null");
	return 0;
}

/* ---- the private namespace's devices (next-hop tests) ---- */

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

#pragma GCC diagnostic pop

#endif /* HELIOS_TEST_FIXTURE_H */
