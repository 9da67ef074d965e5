// SPDX-License-Identifier: GPL-2.0
/*
 * Selection strategies and rate limits through BPF_PROG_TEST_RUN, with the
 * tables built by the real user-space builder (strategy_build()):
 *  - per strategy, 100,000 synthetic flows over weights 2:3:5: each node's
 *    share within 2% (relative) of its weight share; a Transitioning node
 *    gets nothing; a drained node keeps its flows;
 *  - least connections with flows closing unevenly;
 *  - bounded-load Maglev: no node above the bound;
 *  - connection and packet buckets: exactly burst admitted back to back,
 *    established flows never cut by a connection limit;
 *  - the classes' shedding order against the service's bucket, exactly;
 *  - per-packet cost (kernel ns, repeat 1 averaged) of each strategy's new
 *    flow and established flow, printed as TAP comments.
 * Runs in a private network namespace; needs root.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <helios/abi.h>
#include "helios_xdp.skel.h"
#include "lib/ct.h"
#include "lib/log.h"
#include "lib/rate.h"
#include "lib/tables.h"
#include "unit.h"

#define NODES		3
#define FLOWS		100000
#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_ACK		0x10

static struct helios_xdp *skel;
static int prog_fd;
static struct hl_node *snap;	/* HL_MAX_NODES, as user space sees them */
static const __u32 ids[NODES] = { 10, 11, 12 };
static const __u16 weights[NODES] = { 200, 300, 500 };
static struct hl_svc_key key;
static struct hl_service svc;
static char dir_zone[HL_ZONE_LEN + 1];	/* hl_settings.zone, as attach sets it */

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* An untagged IPv4 TCP (flags != 0) or UDP frame, 198.18.0.100:5432. */
static size_t frame(uint8_t *b, uint32_t src, uint16_t sport, uint8_t proto,
		    uint8_t flags)
{
	size_t l4 = proto == IPPROTO_TCP ? 20 : 8, len = 14 + 20 + l4;
	uint32_t sum = 0;

	memset(b, 0, len);
	memcpy(b, "\x02\0\0\0\0\xfe\x02\0\0\0\0\xc1\x08\x00", 14);
	b[14] = 0x45;
	b[16] = (20 + l4) >> 8;
	b[17] = 20 + l4;
	b[22] = 64;
	b[23] = proto;
	src = htonl(src);
	memcpy(b + 26, &src, 4);
	memcpy(b + 30, "\xc6\x12\x00\x64", 4);
	for (int i = 14; i < 34; i += 2)
		sum += b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	b[24] = ~sum >> 8;
	b[25] = ~sum;
	b[34] = sport >> 8;
	b[35] = sport;
	b[36] = 5432 >> 8;
	b[37] = 5432 & 0xff;
	if (proto == IPPROTO_TCP) {
		b[46] = 5 << 4;
		b[47] = flags;
	} else {
		b[39] = 8;
	}
	return len;
}

struct res {
	uint32_t ret;
	uint32_t ns;
	int node;		/* last byte of the outer destination, -1 */
};

static struct res run(uint32_t src, uint16_t sport, uint8_t proto,
		      uint8_t flags)
{
	uint8_t in[128], out[256];
	struct res r = { .node = -1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	o.data_size_in = frame(in, src, sport, proto, flags);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return r;
	r.ret = o.retval;
	r.ns = o.duration;
	if (r.ret == XDP_TX && out[12] == 0x08 && out[14 + 9] == 4)
		r.node = out[14 + 19];
	return r;
}

/* Flow i: client 198.19.x.y, even source ports as Linux picks them. */
static uint32_t flow_src(uint32_t i)
{
	return 0xc6130000u | (1 + i / 30000);
}

static uint16_t flow_sport(uint32_t i)
{
	return 1024 + 2 * (i % 30000);
}

static int map_fd(const char *name)
{
	return bpf_map__fd(bpf_object__find_map_by_name(skel->obj, name));
}

/* The service entry and its copy by id, as user/lib/services.c writes
 * them; 0 or -1 with errno. */
static int svc_write(void)
{
	struct hl_svc_slot s = { .svc = svc, .key = key };

	if (bpf_map_update_elem(map_fd("services"), &key, &svc, BPF_ANY))
		return -1;
	return bpf_map_update_elem(map_fd("svc_by_id"), &svc.id, &s, BPF_ANY);
}

/* Keys first, then deletes: get_next_key(NULL) after each delete would
 * rescan the buckets every time (quadratic). */
static void ct_flush(void)
{
	static struct hl_flow_key keys[2 * FLOWS + 4096];

	for (__u32 shard = 0; shard < HL_CT_SHARDS; shard++) {
		int fd = ct_shard_fd(map_fd("conntrack"), shard);
		size_t n = 0;

		if (fd < 0)
			continue;
		while (n < sizeof(keys) / sizeof(*keys) &&
		       !bpf_map_get_next_key(fd, n ? &keys[n - 1] : NULL,
					     &keys[n]))
			n++;
		for (size_t i = 0; i < n; i++)
			bpf_map_delete_elem(fd, &keys[i]);
		close(fd);
	}
}

/* Up to n entries gone as an eviction would take them: no FIN, no RST. */
static int ct_evict(int n)
{
	struct hl_flow_key k;
	int gone = 0;

	for (__u32 shard = 0; shard < HL_CT_SHARDS && gone < n; shard++) {
		int fd = ct_shard_fd(map_fd("conntrack"), shard);

		while (fd >= 0 && gone < n && !bpf_map_get_next_key(fd, NULL, &k) &&
		       !bpf_map_delete_elem(fd, &k))
			gone++;
		if (fd >= 0)
			close(fd);
	}
	return gone;
}

/* What svc_rebuild() does, against the skeleton's maps. */
static int rebuild(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .map_flags = HL_SLOTS_INNER_FLAGS);
	struct strat_tables t;
	__u32 id = svc.id, slots_key = hl_slots_key(svc.id, svc.table);
	int fd, err;

	err = strategy_build(&svc, snap, dir_zone, &t);
	if (err)
		return err;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_ring", 4, 4, t.len, &opts);
	for (__u32 s = 0; fd >= 0 && s < t.len; s++)
		bpf_map_update_elem(fd, &s, &t.table[s], BPF_ANY);
	svc.slots = t.len;
	if (fd < 0 ||
	    bpf_map_update_elem(map_fd("node_lists"), &id, &t.list, BPF_ANY) ||
	    bpf_map_update_elem(map_fd("slots"), &slots_key, &fd, BPF_ANY) ||
	    svc_write())
		err = -errno;
	if (fd >= 0)
		close(fd);
	strategy_tables_free(&t);
	return err;
}

static void set_node(int k, __u16 weight, __u32 flags)
{
	__u32 id = ids[k];

	snap[id].weight = weight;
	snap[id].flags = HL_NODE_F_EXISTS | flags;
	bpf_map_update_elem(map_fd("nodes"), &id, &snap[id], BPF_ANY);
}

static void zero_active(void)
{
	__s64 z = 0;

	/* as node_add() does: the shards' counts first, node_active their
	 * sum (bpf/lib/sweep.h) */
	for (int k = 0; k < NODES; k++) {
		ct_counts_zero(map_fd("ct_counts"), ids[k]);
		bpf_map_update_elem(map_fd("node_active"), &ids[k], &z, BPF_ANY);
	}
	bpf_map_update_elem(map_fd("svc_active"), &svc.id, &z, BPF_ANY);
}

/* A fresh service with `strategy`, all nodes active at 2:3:5, no flows. */
static int setup(__u8 proto, __u8 strategy, __u16 bounded)
{
	struct hl_limits nolim = {};

	ct_flush();
	memset(&key, 0, sizeof(key));
	key.vip[0] = htonl(0xc6120064);
	key.port = htons(5432);
	key.proto = proto;
	key.family = HL_AF_INET;
	memset(&svc, 0, sizeof(svc));
	svc.id = 1;
	svc.ring_size = 65537;
	svc.strategy = strategy;
	svc.bounded_load = bounded;
	if (strategy == HL_STRAT_LC || strategy == HL_STRAT_P2C || bounded)
		svc.opts |= HL_SVC_O_COUNT_ACTIVE;
	bpf_map_update_elem(map_fd("limits"), &svc.id, &nolim, BPF_ANY);
	for (int k = 0; k < NODES; k++) {
		struct hl_nexthop nh = {
			.dmac = { 2, 0, 0, 0, 1, ids[k] },
			.smac = { 2, 0, 0, 0, 0, 0xfe },
			.ifindex = 1, .mtu = 1500, .flags = HL_NH_F_VALID,
		};
		__u32 id = ids[k];

		memset(&snap[id], 0, sizeof(snap[id]));
		snap[id].svc_id = svc.id;
		snap[id].family = HL_AF_INET;
		snap[id].addr[0] = htonl(0xc6120100 | id);
		set_node(k, weights[k], 0);
		nh.src[0] = htonl(0xc6120001);
		bpf_map_update_elem(map_fd("nexthops"), &id, &nh, BPF_ANY);
	}
	zero_active();
	return rebuild();
}

static int node_index(int node)
{
	for (int k = 0; k < NODES; k++)
		if ((int)ids[k] == node)
			return k;
	return -1;
}

/* n new flows from `first` on; counts per node; mean ns per packet. */
static double spread(uint32_t first, uint32_t n, uint8_t proto,
		     uint32_t count[NODES])
{
	uint64_t ns = 0;

	memset(count, 0, NODES * sizeof(*count));
	for (uint32_t i = first; i < first + n; i++) {
		struct res r = run(flow_src(i), flow_sport(i), proto,
				   proto == IPPROTO_TCP ? TCP_SYN : 0);
		int k = node_index(r.node);

		ns += r.ns;
		if (k >= 0)
			count[k]++;
	}
	return (double)ns / n;
}

static void check_shares(const char *what, const uint32_t count[NODES],
			 const double want[NODES], double tol)
{
	uint32_t total = 0;

	for (int k = 0; k < NODES; k++)
		total += count[k];
	for (int k = 0; k < NODES; k++) {
		double share = total ? (double)count[k] / total : 0;

		printf("#   %s: node %u %u flows, %.2f%% (want %.2f%%)\n", what,
		       ids[k], count[k], share * 100, want[k] * 100);
		if (want[k] == 0)
			CHECK(count[k] == 0, "%s: unusable node %u got %u flows",
			      what, ids[k], count[k]);
		else
			CHECK(share > want[k] * (1 - tol) &&
			      share < want[k] * (1 + tol),
			      "%s: node %u share %.4f, want %.4f", what, ids[k],
			      share, want[k]);
	}
}

/* ---- per strategy: distribution, unusable node, drained node ---- */


static void test_strategy(__u8 strategy)
{
	const double w[NODES] = { 0.2, 0.3, 0.5 }, w_unusable[NODES] = {
		2.0 / 7, 0, 5.0 / 7 };
	uint32_t count[NODES], before[1000];
	uint64_t est_ns = 0;
	double new_ns;
	const char *name = hl_strategy_name(strategy);

	CHECK(!setup(IPPROTO_UDP, strategy, 0), "setup %s", name);
	new_ns = spread(0, FLOWS, IPPROTO_UDP, count);
	check_shares(name, count, w, 0.02);

	/* The same flows again: established, same nodes, and their cost. */
	for (uint32_t i = 0; i < 1000; i++) {
		struct res r = run(flow_src(i), flow_sport(i), IPPROTO_UDP, 0);

		before[i] = r.node;
		est_ns += r.ns;
	}
	printf("#   %s: new flow %.0f ns, established %.0f ns (repeat 1 mean, test-run overhead included)\n",
	       name, new_ns, est_ns / 1000.0);

	/* Drain node 10: its flows stay, new ones avoid it. */
	set_node(0, 0, 0);
	CHECK(!rebuild(), "rebuild");
	for (uint32_t i = 0; i < 1000; i++) {
		struct res r = run(flow_src(i), flow_sport(i), IPPROTO_UDP, 0);

		CHECK(r.node == (int)before[i], "%s: drained: flow %u moved %u -> %d",
		      name, i, before[i], r.node);
		if (r.node != (int)before[i])
			break;
	}
	set_node(0, weights[0], 0);

	/* Node 11 transitioning: nothing new for it. */
	set_node(1, weights[1], HL_NODE_F_TRANSITIONING);
	CHECK(!rebuild(), "rebuild");
	zero_active();
	ct_flush();
	spread(FLOWS, FLOWS, IPPROTO_UDP, count);
	check_shares(name, count, w_unusable, 0.03);
	ct_flush();
}

#define STRATEGY_TEST(s)						\
	static void test_##s(void) { test_strategy(HL_STRAT_##s); }
STRATEGY_TEST(MAGLEV)
STRATEGY_TEST(RENDEZVOUS)
STRATEGY_TEST(WRR)
STRATEGY_TEST(RANDOM)
STRATEGY_TEST(LC)
STRATEGY_TEST(P2C)

/* srchash: every connection of a client on one node. */
static void test_srchash_affinity(void)
{
	uint32_t count[NODES];

	CHECK(!setup(IPPROTO_UDP, HL_STRAT_SRCHASH, 0), "setup");
	svc.hash = HL_HASH_SRC;
	CHECK(!rebuild(), "rebuild");
	for (uint32_t c = 0; c < 50; c++) {
		int first = -1;

		for (uint16_t p = 0; p < 20; p++) {
			struct res r = run(0xc6140000u | c, 2000 + 2 * p,
					   IPPROTO_UDP, 0);

			if (first < 0)
				first = r.node;
			CHECK(r.node == first && first >= 0,
			      "client %u: port %u on node %d, first %d", c, p,
			      r.node, first);
		}
	}
	spread(0, 1, IPPROTO_UDP, count);
	ct_flush();
}

/* Least connections with uneven closes: equal weights, 300 flows (100 a
 * node); 60 of node 10's and 10 of node 11's close; the next 50 new flows
 * all go to node 10, then the next 3 to one node each. */
static void test_lc_uneven_closes(void)
{
	uint32_t count[NODES] = { 0 }, closed[NODES] = { 0 };
	int node_of[300];

	CHECK(!setup(IPPROTO_TCP, HL_STRAT_LC, 0), "setup");
	for (int k = 0; k < NODES; k++)
		set_node(k, 100, 0);
	CHECK(!rebuild(), "rebuild");
	for (uint32_t i = 0; i < 300; i++) {
		node_of[i] = run(flow_src(i), flow_sport(i), IPPROTO_TCP,
				 TCP_SYN).node;
		if (node_index(node_of[i]) >= 0)
			count[node_index(node_of[i])]++;
	}
	CHECK(count[0] == 100 && count[1] == 100 && count[2] == 100,
	      "opening: %u %u %u", count[0], count[1], count[2]);
	for (uint32_t i = 0; i < 300; i++) {
		int k = node_index(node_of[i]);

		if (k < 0 || closed[k] >= (k == 0 ? 60u : k == 1 ? 10u : 0u))
			continue;
		closed[k]++;
		/* FIN, then its retransmission and an RST: counted once */
		run(flow_src(i), flow_sport(i), IPPROTO_TCP, TCP_FIN | TCP_ACK);
		run(flow_src(i), flow_sport(i), IPPROTO_TCP, TCP_FIN | TCP_ACK);
		run(flow_src(i), flow_sport(i), IPPROTO_TCP, 0x04);
	}
	spread(1000, 50, IPPROTO_TCP, count);
	CHECK(count[0] == 50, "after closes: %u %u %u, want all 50 on node 10",
	      count[0], count[1], count[2]);
	/* now 90 / 90 / 100 active: 10 more each to nodes 10 and 11 */
	spread(2000, 20, IPPROTO_TCP, count);
	CHECK(count[0] == 10 && count[1] == 10 && count[2] == 0,
	      "levelling: %u %u %u, want 10 10 0", count[0], count[1], count[2]);
	ct_flush();
}

/* Bounded-load Maglev, weights 8:1:1 and bound 1.25: the heavy node
 * holds at most 1.25 x the average (+1) at any time. */
static void test_bounded_load(void)
{
	uint32_t count[NODES];
	uint32_t n = 30000;
	double cap;

	CHECK(!setup(IPPROTO_UDP, HL_STRAT_MAGLEV, 125), "setup");
	set_node(0, 800, 0);
	set_node(1, 100, 0);
	set_node(2, 100, 0);
	CHECK(!rebuild(), "rebuild");
	spread(0, n, IPPROTO_UDP, count);
	cap = 1.25 * n / NODES + 1;
	for (int k = 0; k < NODES; k++) {
		printf("#   bounded-load: node %u %u flows (bound %.0f)\n", ids[k],
		       count[k], cap);
		CHECK(count[k] <= cap, "node %u: %u flows over the bound %.0f",
		      ids[k], count[k], cap);
	}
	CHECK(count[0] > n / 3, "the heavy node should fill up to its bound: %u",
	      count[0]);
	ct_flush();
}

/* ---- rate limits ---- */

static void set_limits(const struct hl_limits *lim, __u32 opts)
{
	bpf_map_update_elem(map_fd("limits"), &svc.id, lim, BPF_ANY);
	svc.opts = opts;
	svc_write();
}

/* rate conn 1/s burst 20: 20 SYNs get in back to back, the rest are
 * dropped and counted; an established flow's packets all pass. */
static void test_conn_limit(void)
{
	struct hl_limits lim = {};
	uint32_t admitted = 0;
	uint64_t ns = 0;

	CHECK(!setup(IPPROTO_TCP, HL_STRAT_MAGLEV, 0), "setup");
	run(0xc6150001, 999, IPPROTO_TCP, TCP_SYN);	/* established */
	CHECK(!bucket_set(&lim.conn, "conn", 1, 20, 1), "bucket");
	set_limits(&lim, HL_SVC_O_LIMIT_CONN);
	for (uint32_t i = 0; i < 100; i++) {
		struct res r = run(flow_src(i), flow_sport(i), IPPROTO_TCP,
				   TCP_SYN);

		admitted += r.ret == XDP_TX;
		if (r.ret != XDP_TX)
			ns += r.ns;
		CHECK(run(0xc6150001, 999, IPPROTO_TCP, TCP_ACK).ret == XDP_TX,
		      "established flow cut");
	}
	CHECK(admitted == 20, "admitted %u, want the burst of 20", admitted);
	printf("#   rate-limited SYN (dropped): %.0f ns (repeat 1 mean, test-run overhead included)\n",
	       ns / 80.0);
	ct_flush();
}

/* rate pkt 1/s burst 5 applies to every packet, established or not. */
static void test_pkt_limit(void)
{
	struct hl_limits lim = {};
	uint32_t admitted = 0;

	CHECK(!setup(IPPROTO_UDP, HL_STRAT_MAGLEV, 0), "setup");
	CHECK(!bucket_set(&lim.pkt, "pkt", 1, 5, 1), "bucket");
	set_limits(&lim, HL_SVC_O_LIMIT_TRAFFIC);
	for (uint32_t i = 0; i < 20; i++)
		admitted += run(0xc6150002, 999, IPPROTO_UDP, 0).ret == XDP_TX;
	CHECK(admitted == 5, "admitted %u packets, want 5", admitted);
	ct_flush();
}

/* Per-client buckets: a noisy client's drops leave a quiet one alone. */
static void test_client_limit(void)
{
	struct hl_limits lim = {};
	struct hl_bucket b;
	uint32_t noisy = 0, quiet = 0;

	CHECK(!setup(IPPROTO_TCP, HL_STRAT_MAGLEV, 0), "setup");
	CHECK(!bucket_set(&b, "client", 1, 3, 1), "bucket");
	lim.client_cost = b.cost;
	lim.client_tolerance = b.tolerance;
	lim.client_plen4 = 32;
	set_limits(&lim, HL_SVC_O_LIMIT_CONN);
	for (uint16_t p = 0; p < 30; p++)
		noisy += run(0xc6160001, 2000 + 2 * p, IPPROTO_TCP,
			     TCP_SYN).ret == XDP_TX;
	for (uint16_t p = 0; p < 3; p++)
		quiet += run(0xc6160002, 2000 + 2 * p, IPPROTO_TCP,
			     TCP_SYN).ret == XDP_TX;
	CHECK(noisy == 3 && quiet == 3, "noisy %u (want 3), quiet %u (want 3)",
	      noisy, quiet);
	ct_flush();
}

/*
 * The shedding order (bpf/lib/ratelimit.h shed_reserve()): the service's
 * `rate conn 1/s burst 17` leaves 16 tokens beyond one to rank, 2 per
 * shed level. Class A (analytics, shed order 6) may take tokens while 12
 * stay, so it gets 5 of a full bucket; class B (order 2) while 4 stay:
 * 13 in all; clients of no class down to empty: 17. A class with no shed
 * order keeps its own lane (its bucket only). Exact counts, both ways
 * round: what a lower order took, a higher one cannot take back.
 */
#define SHED_A		0xc6170001	/* 198.23.0.1: class 1, order 6 */
#define SHED_B		0xc6170002	/* class 2, order 2 */
#define SHED_C		0xc6170003	/* no class */
#define SHED_D		0xc6170004	/* class 3, no order: its own lane */

static void shed_class(__u32 id, uint32_t src, __u8 order)
{
	struct hl_class_key k = { .prefixlen = 32 + 32, .family = HL_AF_INET };
	struct hl_class c = { .flags = HL_CLASS_F_USED, .shed_order = order };
	struct hl_limit_stats zero[libbpf_num_possible_cpus()];

	k.addr[0] = htonl(src);
	CHECK(!bucket_set(&c.conn, "class", 1000, 1000, 1), "class bucket");
	memset(zero, 0, sizeof(zero));
	CHECK(!bpf_map_update_elem(map_fd("classes"), &id, &c, BPF_ANY) &&
	      !bpf_map_update_elem(map_fd("class_stats"), &id, zero, BPF_ANY) &&
	      !bpf_map_update_elem(map_fd("class_prefixes"), &k, &id, BPF_ANY),
	      "class %u", id);
}

/* SYNs from `src` until `n` were sent: how many got in. */
static uint32_t shed_syns(uint32_t src, uint32_t n, uint16_t *sport)
{
	uint32_t in = 0;

	for (uint32_t i = 0; i < n; i++, *sport += 2)
		in += run(src, *sport, IPPROTO_TCP, TCP_SYN).ret == XDP_TX;
	return in;
}

static uint64_t class_shed(__u32 id)
{
	struct hl_limit_stats st[libbpf_num_possible_cpus()];
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(map_fd("class_stats"), &id, st))
		return ~0ull;
	for (int c = 0; c < libbpf_num_possible_cpus(); c++)
		sum += st[c].dropped[HL_LIMIT_CONN];
	return sum;
}

static void test_shed_order(void)
{
	struct hl_limits lim = {};
	uint16_t sport = 3000;
	uint32_t a, b, c, d;

	CHECK(!setup(IPPROTO_TCP, HL_STRAT_MAGLEV, 0), "setup");
	shed_class(1, SHED_A, 6);
	shed_class(2, SHED_B, 2);
	shed_class(3, SHED_D, 0);

	/* Lowest priority first: A, then B, then no class. */
	CHECK(!bucket_set(&lim.conn, "conn", 1, 17, 1), "bucket");
	set_limits(&lim, HL_SVC_O_LIMIT_CONN);
	a = shed_syns(SHED_A, 20, &sport);
	b = shed_syns(SHED_B, 20, &sport);
	c = shed_syns(SHED_C, 20, &sport);
	CHECK(a == 5 && b == 8 && c == 4,
	      "A then B then C: admitted %u %u %u, want 5 8 4", a, b, c);
	CHECK(class_shed(1) == 15 && class_shed(2) == 12,
	      "shed counts A %llu (want 15), B %llu (want 12)",
	      (unsigned long long)class_shed(1), (unsigned long long)class_shed(2));
	d = shed_syns(SHED_D, 20, &sport);
	CHECK(d == 20, "no shed order: its own lane while the service is empty: %u of 20", d);

	/* The other way round: what B and C take, A cannot. */
	lim.conn.tat = 0;
	set_limits(&lim, HL_SVC_O_LIMIT_CONN);
	b = shed_syns(SHED_B, 20, &sport);
	a = shed_syns(SHED_A, 20, &sport);
	c = shed_syns(SHED_C, 20, &sport);
	CHECK(b == 13 && a == 0 && c == 4,
	      "B then A then C: admitted %u %u %u, want 13 0 4", b, a, c);
	lim.conn.tat = 0;
	set_limits(&lim, HL_SVC_O_LIMIT_CONN);
	c = shed_syns(SHED_C, 20, &sport);
	a = shed_syns(SHED_A, 5, &sport);
	b = shed_syns(SHED_B, 5, &sport);
	CHECK(c == 17 && !a && !b, "C first: admitted %u, then A %u and B %u", c, a, b);

	for (__u32 id = 1; id <= 3; id++) {
		struct hl_class gone = {};

		bpf_map_update_elem(map_fd("classes"), &id, &gone, BPF_ANY);
	}
	ct_flush();
}

/*
 * prefer-zone: a director in zone "a" sends new flows to the usable nodes
 * of zone a only (10 and 12, by weight 2:5); when none of them is usable,
 * to the others (11); once one is back, to zone a again. Without a zone
 * (attach without `zone`), to every node by weight.
 */
static void set_zone(int k, const char *zone)
{
	__u32 id = ids[k];

	memset(snap[id].zone, 0, sizeof(snap[id].zone));
	strncpy(snap[id].zone, zone, HL_ZONE_LEN - 1);
	bpf_map_update_elem(map_fd("nodes"), &id, &snap[id], BPF_ANY);
}

static void test_prefer_zone(void)
{
	const double in_zone[NODES] = { 2.0 / 7, 0, 5.0 / 7 },
		     other[NODES] = { 0, 1, 0 },
		     back[NODES] = { 0, 0, 1 },
		     all[NODES] = { 0.2, 0.3, 0.5 };
	uint32_t count[NODES];

	CHECK(!setup(IPPROTO_UDP, HL_STRAT_PREFER_ZONE, 0), "setup");
	set_zone(0, "a");
	set_zone(1, "b");
	set_zone(2, "a");
	strcpy(dir_zone, "a");
	CHECK(!rebuild(), "rebuild");
	spread(0, FLOWS, IPPROTO_UDP, count);
	check_shares("zone a", count, in_zone, 0.02);

	/* No usable node in zone a (one down, one transitioning). */
	set_node(0, weights[0], HL_NODE_F_UNHEALTHY);
	set_node(2, weights[2], HL_NODE_F_TRANSITIONING);
	CHECK(!rebuild(), "rebuild");
	ct_flush();
	spread(FLOWS, 20000, IPPROTO_UDP, count);
	check_shares("zone a unusable", count, other, 0.001);

	/* Node 12 usable again: back to the director's zone. */
	set_node(2, weights[2], 0);
	CHECK(!rebuild(), "rebuild");
	ct_flush();
	spread(2 * FLOWS, 20000, IPPROTO_UDP, count);
	check_shares("zone a back", count, back, 0.001);

	/* A director without a zone: every usable node by weight. */
	set_node(0, weights[0], 0);
	dir_zone[0] = 0;
	CHECK(!rebuild(), "rebuild");
	ct_flush();
	spread(0, FLOWS, IPPROTO_UDP, count);
	check_shares("no zone", count, all, 0.02);
	for (int k = 0; k < NODES; k++)
		set_zone(k, "");
	ct_flush();
}

static __s64 active_total(void)
{
	__s64 a, sum = 0;

	for (int k = 0; k < NODES; k++)
		if (!bpf_map_lookup_elem(map_fd("node_active"), &ids[k], &a))
			sum += a;
	return sum;
}

/* A second instance with its own recount round, made the current one
 * (the caller puts skel and prog_fd back); NULL after a failed check. */
static struct helios_xdp *own_load(__u64 sweep_ns)
{
	struct helios_xdp *own = helios_xdp__open();

	if (!own) {
		CHECK(0, "cannot open a second instance: %s", strerror(errno));
		return NULL;
	}
	own->rodata->hl_sweep_ns = sweep_ns;
	if (helios_xdp__load(own) ||
	    ct_shards_create(bpf_map__fd(own->maps.conntrack),
			     HL_CT_SHARD_ENTRIES, sizeof(struct hl_flow))) {
		CHECK(0, "load with a sweep of %llu ns: %s",
		      (unsigned long long)sweep_ns, strerror(errno));
		helios_xdp__destroy(own);
		return NULL;
	}
	skel = own;
	prog_fd = bpf_program__fd(own->progs.helios_xdp);
	return own;
}

/* Flows that end without FIN/RST (evicted, UDP) leave the active counts by
 * the data path's own periodic recount, with no agent running. */
static void test_sweep_recount(void)
{
	struct helios_xdp *saved = skel, *own;
	int saved_fd = prog_fd, i, deleted = 0;
	__s64 svc_total = -1;

	own = own_load(20000000);	/* a round in 20 ms */
	if (!own)
		return;
	CHECK(!setup(IPPROTO_UDP, HL_STRAT_LC, 0), "setup");
	for (i = 0; i < 30; i++)
		run(flow_src(i), flow_sport(i), IPPROTO_UDP, 0);
	CHECK(active_total() == 30, "30 flows counted, %lld", (long long)active_total());
	/* Ten entries vanish as an eviction would: no FIN, no RST. */
	deleted = ct_evict(10);
	CHECK(deleted == 10, "%d entries deleted, want 10", deleted);
	for (i = 0; i < 200 && active_total() != 20; i++)
		usleep(10000);	/* bounded poll of the recount, 2 s at most */
	CHECK(active_total() == 20, "after the recount %lld, want 20",
	      (long long)active_total());
	bpf_map_lookup_elem(map_fd("svc_active"), &svc.id, &svc_total);
	CHECK(svc_total == 20, "service count %lld", (long long)svc_total);
	skel = saved;
	prog_fd = saved_fd;
	helios_xdp__destroy(own);
}

/* Evict one entry of the first shard from `from` on that has one; its
 * number, or -1. */
static int evict_one(__u32 from)
{
	struct hl_flow_key k;

	for (__u32 shard = from; shard < HL_CT_SHARDS; shard++) {
		int fd = ct_shard_fd(map_fd("conntrack"), shard), ok;

		if (fd < 0)
			continue;
		ok = !bpf_map_get_next_key(fd, NULL, &k) &&
		     !bpf_map_delete_elem(fd, &k);
		close(fd);
		if (ok)
			return (int)shard;
	}
	return -1;
}

static int run_syscall(const char *prog, __u32 *arg)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = arg,
		    .ctx_size_in = arg ? sizeof(*arg) : 0);
	struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, prog);

	if (!p || bpf_prog_test_run_opts(bpf_program__fd(p), &o))
		return -1;
	return (int)o.retval;
}

/* A timer tick recounts one shard only (bpf/lib/sweep.h); recount_reset
 * (after an upgrade) makes every count anew from the table. No timer
 * here: its round is set to outlast the test. */
static void test_recount_ticks(void)
{
	struct helios_xdp *saved = skel, *own;
	int saved_fd = prog_fd, i, s1, s2;
	__s64 total = -1, wrong = 1000;
	__u32 shard;

	own = own_load(1ull << 62);
	if (!own)
		return;
	CHECK(!setup(IPPROTO_UDP, HL_STRAT_LC, 0), "setup");
	for (i = 0; i < 60; i++)
		run(flow_src(i), flow_sport(i), IPPROTO_UDP, 0);
	CHECK(active_total() == 60, "60 flows counted, %lld", (long long)active_total());
	s1 = evict_one(0);
	s2 = s1 >= 0 ? evict_one((__u32)s1 + 1) : -1;
	CHECK(s1 >= 0 && s2 > s1, "no two shards with flows: %d %d", s1, s2);
	shard = (__u32)s2;
	CHECK(!run_syscall("recount_shard", &shard), "recount_shard %u", shard);
	CHECK(active_total() == 59, "after shard %d's tick %lld, want 59 (one shard)",
	      s2, (long long)active_total());
	shard = (__u32)s1;
	CHECK(!run_syscall("recount_shard", &shard), "recount_shard %u", shard);
	CHECK(active_total() == 58, "after shard %d's tick %lld, want 58",
	      s1, (long long)active_total());
	shard = HL_CT_SHARDS;
	CHECK(run_syscall("recount_shard", &shard) == -1, "shard %u accepted", shard);
	/* counts that no longer match the shards', as after an upgrade */
	for (int k = 0; k < NODES; k++) {
		bpf_map_update_elem(map_fd("node_active"), &ids[k], &wrong, BPF_ANY);
		ct_counts_zero(map_fd("ct_counts"), ids[k]);
	}
	CHECK(!run_syscall("recount_reset", NULL), "recount_reset");
	CHECK(active_total() == 58, "after recount_reset %lld, want 58",
	      (long long)active_total());
	bpf_map_lookup_elem(map_fd("svc_active"), &svc.id, &total);
	CHECK(total == 58, "service count %lld, want 58", (long long)total);
	skel = saved;
	prog_fd = saved_fd;
	helios_xdp__destroy(own);
}

static void test_load(void)
{
	skel = helios_xdp__open_and_load();
	CHECK(skel, "load: %s", strerror(errno));
	if (skel)
		prog_fd = bpf_program__fd(skel->progs.helios_xdp);
	if (skel)
		CHECK(!ct_shards_create(bpf_map__fd(skel->maps.conntrack),
					HL_CT_SHARD_ENTRIES, sizeof(struct hl_flow)),
		      "conntrack shards");
}

int main(void)
{
	libbpf_set_print(libbpf_print);
	if (unshare(CLONE_NEWNET)) {
		printf("not ok 1 - private network namespace: %s\n1..1\n",
		       strerror(errno));
		return 1;
	}
	system("ip link set lo up 2>/dev/null");
	snap = calloc(HL_MAX_NODES, sizeof(*snap));
	RUN_ALWAYS(test_load);
	if (!skel)
		return unit_done();
	RUN(test_MAGLEV);
	RUN(test_RENDEZVOUS);
	RUN(test_WRR);
	RUN(test_RANDOM);
	RUN(test_LC);
	RUN(test_sweep_recount);
	RUN(test_recount_ticks);
	RUN(test_P2C);
	RUN(test_srchash_affinity);
	RUN(test_prefer_zone);
	RUN(test_lc_uneven_closes);
	RUN(test_bounded_load);
	RUN(test_conn_limit);
	RUN(test_pkt_limit);
	RUN(test_client_limit);
	RUN(test_shed_order);
	helios_xdp__destroy(skel);
	free(snap);
	return unit_done();
}
