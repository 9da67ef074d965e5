// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of the XDP director against its floors (XDP_PASS, MAC
 * swap, one connection-table insert, one lookup plus a precomputed
 * encapsulation: bench/bpf/floors.bpf.c), and how it scales with nodes,
 * services and connection-table size; new flows against table fill;
 * where the time goes (-s ablate, on the HL_BENCH_ABLATE build). Everything runs
 * through BPF_PROG_TEST_RUN (kernel-measured ns per repetition) in a private
 * network namespace; no frame leaves the machine.
 *
 *   pktcost [-r ROUNDS] [-o FILE.json] [-q] [-s SERIES] [-n DIV]
 *     (-q: skip the scaling series; -s main|ablate|fill|nat|recount:
 *      that series only; -n: every run DIV times shorter)
 *
 * A case that rewrites the frame runs under the restoring wrapper (see
 * bench/bpf/floors.bpf.c); in the same round the wrapper runs around
 * floor_pass, and the case's figure is
 *     wrap(case) - wrap(floor_pass) + floor_pass
 * i.e. the wrapper's own cost is taken out and the test-run loop's is kept,
 * as it is in the floors. Every run is checked before its figure counts:
 * the verdict, the verdict-reason counters (exactly `repeat` of the
 * expected one, no other), the flows counter and connection-table entries
 * (new flows: `repeat` inserts; established: none), and the output frame
 * (the expected IPIP/IP6IP6 encapsulation towards the flow's node).
 *
 * Full NAT (series_nat) runs on a director of its own, so that the main
 * series keeps measuring a director without NAT flows: forward and reply
 * of established flows, new flows, the pass path with NAT in use; NAT
 * frames are checked for their translation (addresses and ports from the
 * flow's entry, IPv4 header and L4 checksums as good as the input's, or
 * as bad: the bumping wrapper does not fix them). Then the expiry sweep on a full table and the
 * table's memory (series_nat_table).
 */
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>

#include "bench.h"
#include "dir.h"
#include "lib/parse.h"
#include "bench/floors.skel.h"
#include "lib/tables.h"

#define MAX_ROUNDS	15
#define REP_CHEAP	500000
#define REP_FWD		200000
#define REP_NEW		40000

static int rounds = 5;
/* -n: repetitions of every run divided by this: shorter runs, of which
 * the fastest (min) is less often disturbed on a busy machine. */
static __u32 rep_div = 1;

/*
 * VIPs 198.18.1.10 and fd00:4845:1::10. New flows come from 198.18.0.2 and
 * fd00:4845::2, whose low 16 bits the wrapper overwrites (so 198.18.0.0/16
 * and fd00:4845::/112); established flows from 198.19.254.2 and
 * fd00:4845::1:2, which no new flow can be.
 */
static __be32 client4[4], vip4[4], client6[4], vip6[4], est4[4], est6[4],
	      other4[4];

#define SVC_UDP6	39	/* after the extra cases' services */

/* Fill the connection table with `n` flows from 198.19.255.0/28 (not a
 * client address any case uses) to the first service, by batches. */
static __u64 dir_ct_prefill(struct dir *d, __u32 n)
{
	enum { CHUNK = 65536 };
	struct hl_flow_key *keys = calloc(CHUNK, sizeof(*keys));
	struct hl_flow *vals = calloc(CHUNK, sizeof(*vals));
	__u32 i = 0, j, count;

	if (!keys || !vals)
		die("out of memory");
	while (i < n) {
		for (j = 0; j < CHUNK && i < n; j++, i++) {
			keys[j].src[0] = htonl(0xc613ff00u | (i >> 16));
			keys[j].dst[0] = vip4[0];
			keys[j].sport = htons(i & 0xffff);
			keys[j].dport = htons(5432);
			keys[j].proto = IPPROTO_TCP;
			keys[j].family = HL_AF_INET;
			vals[j].node_id = i % 3;
			vals[j].hash = i;
			vals[j].flags = HL_FLOW_F_COUNTED;	/* as lc's */
		}
		count = j;
		for (j = 0; j < count; j++)
			if (bpf_map_update_elem(dir_ct_fd(d, &keys[j]), &keys[j],
						&vals[j], BPF_ANY))
				die("conntrack prefill: %s", strerror(errno));
	}
	free(keys);
	free(vals);
	return dir_ct_count(d);
}

/* ---- floors and the wrapper ---------------------------------------------- */

static struct floors *fl;

enum prog_id { P_DIR, P_PASS, P_TX, P_NEWFLOW, P_EST };
enum wrap_mode { W_NONE, W_RESTORE, W_BUMP };
enum check {
	C_FLOOR_PASS,
	C_FLOOR_TX,
	C_FLOOR_NEW,
	C_FLOOR_EST,		/* the template's encapsulation */
	C_NOT_SERVICE,
	C_FORWARD,
	C_DROP_RATE_CONN,	/* XDP_DROP by the service's conn bucket */
	C_NAT_FORWARD,		/* translated to the flow's node */
	C_NAT_REPLY,		/* translated back to the client */
	C_ABLATED,		/* XDP_TX only: the ablated work may be the
				 * counters or the checksum checked otherwise */
};

struct bcase {
	const char *key;	/* JSON name */
	const char *title;
	const char *floor;	/* key of its floor, NULL for a floor */
	enum prog_id prog;
	enum wrap_mode wrap;
	enum check check;
	bool new_flow;		/* every repetition inserts a flow */
	__u32 svc_id;
	__u32 repeat;
	struct frame f;
	bool ct_full;		/* table near capacity: LRU evicts, count inserts
				 * by the flows counter only */
	double ns[MAX_ROUNDS], raw[MAX_ROUNDS], wrap_ns[MAX_ROUNDS];
	__u64 checked;		/* repetitions whose path was verified */
};

#define CASE(k, t, fl, p, w, ch, nf, svc, rep)				\
	{ .key = (k), .title = (t), .floor = (fl), .prog = (p),		\
	  .wrap = (w), .check = (ch), .new_flow = (nf), .svc_id = (svc),	\
	  .repeat = (rep) }

static int prog_fd(struct dir *d, enum prog_id p)
{
	switch (p) {
	case P_DIR:
		return d->prog;
	case P_PASS:
		return bpf_program__fd(fl->progs.floor_pass);
	case P_TX:
		return bpf_program__fd(fl->progs.floor_tx);
	case P_NEWFLOW:
		return bpf_program__fd(fl->progs.floor_newflow);
	case P_EST:
		return bpf_program__fd(fl->progs.floor_established);
	}
	return -1;
}

static void wrap_setup(const struct bcase *c, int target)
{
	__u32 zero = 0;

	memcpy(fl->bss->orig, c->f.b, c->f.len);
	fl->bss->orig_len = c->f.len;
	fl->bss->bump_lo = c->wrap == W_BUMP ? c->f.bump_lo : 0;
	fl->bss->bump_hi = c->wrap == W_BUMP ? c->f.bump_hi : 0;
	if (bpf_map_update_elem(bpf_map__fd(fl->maps.wrap_target), &zero,
				&target, BPF_ANY))
		die("wrap_target: %s", strerror(errno));
}

struct snap {
	__u64 reasons[HL_REASON_MAX];
	__u64 flows;
	__u64 entries;		/* conntrack, or nat for the NAT cases */
};

static bool is_nat(const struct bcase *c)
{
	return c->check == C_NAT_FORWARD || c->check == C_NAT_REPLY;
}

/* Entries of the NAT table, by batches. */
static __u64 nat_count(int fd)
{
	static struct hl_flow_key keys[8192];
	static struct hl_nat vals[8192];
	__u32 batch, n;
	void *in = NULL;
	__u64 total = 0;
	int err;

	do {
		n = 8192;
		err = bpf_map_lookup_batch(fd, in, &batch, keys, vals, &n, NULL);
		if (err && errno != ENOENT)
			die("nat batch lookup: %s", strerror(errno));
		total += n;
		in = &batch;
	} while (!err);
	return total;
}

static void snapshot(struct dir *d, const struct bcase *c, struct snap *s)
{
	__u32 r;

	memset(s, 0, sizeof(*s));
	if (c->prog == P_NEWFLOW) {
		if (!c->ct_full)
			s->entries = ct_count(bpf_map__fd(fl->maps.floor_ct));
		return;
	}
	if (c->prog != P_DIR)
		return;
	for (r = 0; r < HL_REASON_MAX; r++)
		s->reasons[r] = percpu_u64(d->reasons, r);
	s->flows = percpu_flows(d->svc_stats, c->svc_id);
	if (is_nat(c))
		s->entries = nat_count(bpf_map__fd(d->skel->maps.nat));
	else if (!c->ct_full)
		s->entries = dir_ct_count(d);
}

#define FAIL(c, ...)							\
	do {								\
		fprintf(stderr, "bench: %s: ", (c)->key);		\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		exit(1);						\
	} while (0)

/* The output of a forwarded frame: outer Ethernet from the next hop, outer
 * IPv4 (or IPv6) from the director to the flow's node, the input's IP packet
 * unchanged after it. `in` is the frame the last repetition saw. */
static void check_encap(struct dir *d, const struct bcase *c,
			const struct run *r, const __u8 *in)
{
	struct hl_flow_key key;
	struct hl_flow flow;
	const struct hl_node *nd;
	const struct hl_nexthop *nh;
	const struct ethhdr *eth = (const void *)r->out;
	__u32 len = c->f.len, outer;

	frame_flow_key(in, c->f.family, &key);
	if (bpf_map_lookup_elem(dir_ct_fd(d, &key), &key, &flow))
		FAIL(c, "no connection-table entry for the last frame");
	if (flow.node_id >= d->nr_nodes)
		FAIL(c, "flow on node %u, not one of ours", flow.node_id);
	nd = &d->node[flow.node_id];
	nh = &d->nh[flow.node_id];
	if (nd->svc_id != c->svc_id)
		FAIL(c, "flow on node %u of service %u", flow.node_id, nd->svc_id);
	outer = c->f.family == HL_AF_INET ? 20 : 40;
	if (r->out_len != len + outer)
		FAIL(c, "output %u bytes, want %u", r->out_len, len + outer);
	if (memcmp(eth->h_dest, nh->dmac, ETH_ALEN) ||
	    memcmp(eth->h_source, nh->smac, ETH_ALEN))
		FAIL(c, "outer MACs are not the next hop's");
	if (c->f.family == HL_AF_INET) {
		const struct iphdr *ip = (const void *)(r->out + ETH_HLEN);

		if (eth->h_proto != htons(ETH_P_IP) || ip->version != 4 ||
		    ip->ihl != 5 || ip->protocol != IPPROTO_IPIP ||
		    ntohs(ip->tot_len) != len - ETH_HLEN + 20 ||
		    ip->saddr != nh->src[0] || ip->daddr != nd->addr[0] ||
		    ip->ttl != 64 || ip_csum(ip, 20) != 0)
			FAIL(c, "outer IPv4 header is not the expected IPIP one");
	} else {
		const struct ipv6hdr *ip6 = (const void *)(r->out + ETH_HLEN);

		if (eth->h_proto != htons(ETH_P_IPV6) || ip6->version != 6 ||
		    ip6->nexthdr != IPPROTO_IPV6 ||
		    ntohs(ip6->payload_len) != len - ETH_HLEN ||
		    memcmp(&ip6->saddr, nh->src, 16) ||
		    memcmp(&ip6->daddr, nd->addr, 16) || ip6->hop_limit != 64)
			FAIL(c, "outer IPv6 header is not the expected IP6IP6 one");
	}
	if (memcmp(r->out + ETH_HLEN + outer, in + ETH_HLEN, len - ETH_HLEN))
		FAIL(c, "inner packet changed");
}

/* What a receiver's L4 check sums to: 0 for a good checksum. Untagged
 * frames, no IPv4 options or IPv6 extension headers. */
static __u16 l4_residue(const __u8 *b)
{
	const struct ethhdr *eth = (const void *)b;
	const __u16 *a;
	const __u8 *l4;
	__u32 sum = 0, n, i, na;
	__u16 w;

	if (eth->h_proto == htons(ETH_P_IP)) {
		const struct iphdr *ip = (const void *)(eth + 1);

		a = (const void *)&ip->saddr;
		na = 4;
		n = ntohs(ip->tot_len) - ip->ihl * 4;
		sum += htons(ip->protocol);
		l4 = (const __u8 *)ip + ip->ihl * 4;
	} else {
		const struct ipv6hdr *ip6 = (const void *)(eth + 1);

		a = (const void *)&ip6->saddr;
		na = 16;
		n = ntohs(ip6->payload_len);
		sum += htons(ip6->nexthdr);
		l4 = (const __u8 *)(ip6 + 1);
	}
	for (i = 0; i < na; i++)
		sum += a[i];
	sum += htons(n);
	for (i = 0; i + 1 < n; i += 2) {
		memcpy(&w, l4 + i, 2);
		sum += w;
	}
	if (n & 1) {
		w = 0;
		memcpy(&w, l4 + n - 1, 1);
		sum += w;
	}
	return csum_fold(sum);
}

/* Give a TCP frame of frame_build() a correct checksum. */
static void frame_csum(struct frame *f)
{
	__u32 off = ETH_HLEN + (f->family == HL_AF_INET ? 20 : 40) + 16;
	__u16 c;

	memset(f->b + off, 0, 2);
	c = l4_residue(f->b);
	memcpy(f->b + off, &c, 2);
}

/* A NAT output: the flow's entry gives the new addresses and ports (and,
 * forward, the node whose next hop the MACs are; reply, the client's,
 * which series_nat put in the cache); the rest of the packet unchanged,
 * the IPv4 header and L4 checksums as good (or as bad) as the input's. */
static void check_nat(struct dir *d, const struct bcase *c,
		      const struct run *r, const __u8 *in)
{
	const struct ethhdr *eth = (const void *)r->out;
	const __u8 *dmac = mac_router, *smac = mac_dir;
	__u32 l4 = ETH_HLEN + (c->f.family == HL_AF_INET ? 20 : 40);
	struct hl_flow_key key;
	struct hl_nat e;
	__be16 ports[2];

	frame_flow_key(in, c->f.family, &key);
	if (bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.nat), &key, &e))
		FAIL(c, "no NAT entry for the last frame");
	if (e.dir != (c->check == C_NAT_REPLY ? HL_NAT_REPLY : HL_NAT_FORWARD))
		FAIL(c, "the last frame's entry is of the other direction");
	if (c->check == C_NAT_FORWARD) {
		if (e.node_id >= d->nr_nodes || d->node[e.node_id].svc_id != c->svc_id)
			FAIL(c, "flow on node %u, not one of the service's", e.node_id);
		dmac = d->nh[e.node_id].dmac;
		smac = d->nh[e.node_id].smac;
	}
	if (r->out_len != c->f.len)
		FAIL(c, "output %u bytes, want %u", r->out_len, c->f.len);
	if (memcmp(eth->h_dest, dmac, ETH_ALEN) ||
	    memcmp(eth->h_source, smac, ETH_ALEN) ||
	    eth->h_proto != ((const struct ethhdr *)in)->h_proto)
		FAIL(c, "Ethernet header is not the next hop's");
	if (c->f.family == HL_AF_INET) {
		const struct iphdr *ip = (const void *)(r->out + ETH_HLEN);

		/* the bumping wrapper leaves the input's header checksum
		 * wrong: the output's must be wrong by as much */
		if (ip->saddr != e.from[0] || ip->daddr != e.addr[0] ||
		    ip_csum(ip, 20) != ip_csum(in + ETH_HLEN, 20) ||
		    memcmp(r->out + ETH_HLEN, in + ETH_HLEN, 10))
			FAIL(c, "IPv4 header not translated as the entry says");
	} else {
		const struct ipv6hdr *ip6 = (const void *)(r->out + ETH_HLEN);

		if (memcmp(&ip6->saddr, e.from, 16) ||
		    memcmp(&ip6->daddr, e.addr, 16) ||
		    memcmp(r->out + ETH_HLEN, in + ETH_HLEN, 8))
			FAIL(c, "IPv6 header not translated as the entry says");
	}
	memcpy(ports, r->out + l4, 4);
	if (ports[0] != e.from_port || ports[1] != e.port)
		FAIL(c, "ports not translated as the entry says");
	if (memcmp(r->out + l4 + 4, in + l4 + 4, 12) ||
	    memcmp(r->out + l4 + 18, in + l4 + 18, c->f.len - l4 - 18))
		FAIL(c, "TCP header or payload changed");
	if (l4_residue(r->out) != l4_residue(in))
		FAIL(c, "L4 checksum residue %#x, the input's %#x",
		     l4_residue(r->out), l4_residue(in));
}

/* The established floor's output: the template, its length fields set
 * (and a valid IPv4 checksum), then the input's IP packet unchanged. */
static void check_floor_est(const struct bcase *c, const struct run *r,
			    const __u8 *in)
{
	__u32 outer = c->f.family == HL_AF_INET ? 20 : 40;
	const __u8 *hdr = c->f.family == HL_AF_INET ? fl->bss->est_hdr4 :
						      fl->bss->est_hdr6;
	__u8 want[ETH_HLEN + 40];

	if (r->retval != XDP_TX || r->out_len != c->f.len + outer)
		FAIL(c, "verdict %u, %u bytes, want XDP_TX, %u", r->retval,
		     r->out_len, c->f.len + outer);
	memcpy(want, hdr, ETH_HLEN + outer);
	if (c->f.family == HL_AF_INET) {
		struct iphdr *ip = (void *)(want + ETH_HLEN);

		ip->tot_len = htons(c->f.len - ETH_HLEN + 20);
		ip->check = ip_csum(ip, 20);
	} else {
		struct ipv6hdr *ip6 = (void *)(want + ETH_HLEN);

		ip6->payload_len = htons(c->f.len - ETH_HLEN);
	}
	if (memcmp(r->out, want, ETH_HLEN + outer))
		FAIL(c, "outer headers are not the template's");
	if (memcmp(r->out + ETH_HLEN + outer, in + ETH_HLEN, c->f.len - ETH_HLEN))
		FAIL(c, "inner packet changed");
}

static void check_run(struct dir *d, const struct bcase *c, const struct run *r,
		      const struct snap *b, const struct snap *a)
{
	__u8 in[BENCH_PKT_MAX];
	__u64 n = c->repeat;
	__u32 i;

	/* The frame of the last repetition. */
	if (c->wrap == W_BUMP)
		frame_bumped(&c->f, fl->bss->counter - 1, in);
	else
		memcpy(in, c->f.b, c->f.len);

	switch (c->check) {
	case C_FLOOR_PASS:
		if (r->retval != XDP_PASS)
			FAIL(c, "verdict %u, want XDP_PASS", r->retval);
		return;
	case C_FLOOR_TX:
		if (r->retval != XDP_TX || r->out_len != c->f.len)
			FAIL(c, "verdict %u, want XDP_TX", r->retval);
		return;
	case C_FLOOR_EST:
		check_floor_est(c, r, in);
		return;
	case C_ABLATED:
		if (r->retval != XDP_TX)
			FAIL(c, "verdict %u, want XDP_TX", r->retval);
		return;
	case C_FLOOR_NEW:
		if (r->retval != XDP_TX || r->out_len != c->f.len)
			FAIL(c, "verdict %u, want XDP_TX", r->retval);
		if (memcmp(r->out, in + ETH_ALEN, ETH_ALEN) ||
		    memcmp(r->out + 2 * ETH_ALEN, in + 2 * ETH_ALEN,
			   c->f.len - 2 * ETH_ALEN))
			FAIL(c, "output is not the last flow's frame, MACs swapped");
		if (!c->ct_full && a->entries - b->entries != n)
			FAIL(c, "%llu entries inserted, want %llu",
			     (unsigned long long)(a->entries - b->entries),
			     (unsigned long long)n);
		return;
	case C_NOT_SERVICE:
	case C_FORWARD:
	case C_DROP_RATE_CONN:
	case C_NAT_FORWARD:
	case C_NAT_REPLY:
		break;
	}

	for (i = 0; i < HL_REASON_MAX; i++) {
		__u64 want = 0, got = a->reasons[i] - b->reasons[i];

		if ((c->check == C_NOT_SERVICE && i == HL_REASON_PASS_NOT_SERVICE) ||
		    (c->check == C_FORWARD && i == HL_REASON_FORWARDED) ||
		    (c->check == C_NAT_FORWARD && i == HL_REASON_FORWARDED) ||
		    (c->check == C_NAT_REPLY && i == HL_REASON_FWD_NAT_REPLY) ||
		    (c->check == C_DROP_RATE_CONN &&
		     i == HL_REASON_DROP_RATE_CONN))
			want = n;
		if (got != want)
			FAIL(c, "reason %u counted %llu times, want %llu", i,
			     (unsigned long long)got, (unsigned long long)want);
	}
	if (c->check == C_NOT_SERVICE) {
		if (r->retval != XDP_PASS || r->out_len != c->f.len ||
		    memcmp(r->out, c->f.b, c->f.len))
			FAIL(c, "verdict %u, want XDP_PASS, frame untouched",
			     r->retval);
		return;
	}
	if (c->check == C_DROP_RATE_CONN) {
		if (r->retval != XDP_DROP)
			FAIL(c, "verdict %u, want XDP_DROP", r->retval);
		if (a->flows != b->flows || a->entries != b->entries)
			FAIL(c, "a dropped SYN made a flow");
		return;
	}
	if (r->retval != XDP_TX)
		FAIL(c, "verdict %u, want XDP_TX", r->retval);
	if (a->flows - b->flows != (c->new_flow ? n : 0))
		FAIL(c, "flows counter +%llu, want +%llu",
		     (unsigned long long)(a->flows - b->flows),
		     (unsigned long long)(c->new_flow ? n : 0));
	/* a new NAT flow is two entries */
	if (!c->ct_full &&
	    a->entries - b->entries != (c->new_flow ? n : 0) * (is_nat(c) ? 2 : 1))
		FAIL(c, "%s +%llu entries, want +%llu",
		     is_nat(c) ? "NAT table" : "connection table",
		     (unsigned long long)(a->entries - b->entries),
		     (unsigned long long)(c->new_flow ? n : 0) * (is_nat(c) ? 2 : 1));
	if (is_nat(c))
		check_nat(d, c, r, in);
	else
		check_encap(d, c, r, in);
}

/* One timed, verified run of a case; returns its net ns per packet.
 * pass_ns: floor_pass measured in this round (0 for floor_pass itself). */
static double measure(struct dir *d, struct bcase *c, int round, double pass_ns)
{
	struct snap before, after;
	struct run r, rw;
	int fd = prog_fd(d, c->prog);

	if (round == 0 && rep_div > 1 && c->repeat >= 1000 * rep_div)
		c->repeat /= rep_div;	/* once: the first round */

	if (c->prog == P_DIR && c->new_flow)
		dir_nh_push(d, 0, d->nr_nodes);
	snapshot(d, c, &before);
	if (c->wrap == W_NONE) {
		prog_run(fd, c->f.b, c->f.len, c->repeat, &r);
	} else {
		wrap_setup(c, fd);
		prog_run(bpf_program__fd(fl->progs.wrap), c->f.b, c->f.len,
			 c->repeat, &r);
	}
	snapshot(d, c, &after);
	check_run(d, c, &r, &before, &after);
	c->checked += c->repeat;
	c->raw[round] = r.ns;
	if (c->wrap == W_NONE) {
		c->ns[round] = r.ns;
		return r.ns;
	}
	/* The wrapper alone, same frame, same bumping. */
	wrap_setup(c, prog_fd(d, P_PASS));
	prog_run(bpf_program__fd(fl->progs.wrap), c->f.b, c->f.len, c->repeat,
		 &rw);
	if (rw.retval != XDP_PASS)
		FAIL(c, "wrapper around floor_pass: verdict %u", rw.retval);
	c->wrap_ns[round] = rw.ns;
	c->ns[round] = (double)r.ns - rw.ns + pass_ns;
	return c->ns[round];
}

static struct json_object *case_json(const struct bcase *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "title", json_object_new_string(c->title));
	if (c->floor)
		json_object_object_add(o, "floor", json_object_new_string(c->floor));
	json_object_object_add(o, "repeat", json_object_new_int64(c->repeat));
	json_object_object_add(o, "wrapped", json_object_new_boolean(c->wrap != W_NONE));
	json_object_object_add(o, "ns", jsummary(c->ns, rounds));
	if (c->wrap != W_NONE) {
		json_object_object_add(o, "raw_ns", jsummary(c->raw, rounds));
		json_object_object_add(o, "wrapper_ns", jsummary(c->wrap_ns, rounds));
	}
	json_object_object_add(o, "verified_packets",
			       json_object_new_int64(c->checked));
	return o;
}

/* ---- the series ----------------------------------------------------------- */

/* Floors first: every wrapped case needs this round's floor_pass. */
static struct bcase floors_tpl[] = {
	CASE("pass", "XDP_PASS", NULL, P_PASS, W_NONE, C_FLOOR_PASS, false, 0, REP_CHEAP),
	CASE("tx", "MAC swap + XDP_TX", NULL, P_TX, W_NONE, C_FLOOR_TX, false, 0, REP_CHEAP),
	CASE("newflow", "LRU insert (1M-entry conntrack type) + MAC swap + XDP_TX",
	  NULL, P_NEWFLOW, W_BUMP, C_FLOOR_NEW, true, 0, REP_NEW),
	CASE("established", "LRU lookup (1M-entry conntrack type) + IPIP from a "
	  "precomputed header + XDP_TX, IPv4", NULL, P_EST, W_RESTORE, C_FLOOR_EST,
	  false, 0, REP_FWD),
	CASE("established6", "the same, IPv6 (IP6IP6)", NULL, P_EST, W_RESTORE,
	  C_FLOOR_EST, false, 0, REP_FWD),
};
#define NR_FLOORS	(int)(sizeof(floors_tpl) / sizeof(floors_tpl[0]))

/*
 * The established floor's flows and headers: the frame's 5-tuple in its
 * table, the outer headers of node `node` (template with length 0, and
 * for IPv4 the sum of its words, checksum field 0).
 */
static void floor_est_setup(struct dir *d, struct bcase *c, __u32 node)
{
	const struct hl_nexthop *nh = &d->nh[node];
	struct hl_flow_key key;
	struct hl_flow val = { .node_id = node };
	__u8 *h;

	frame_flow_key(c->f.b, c->f.family, &key);
	if (bpf_map_update_elem(bpf_map__fd(fl->maps.floor_ct), &key, &val, BPF_ANY))
		die("floor_ct: %s", strerror(errno));
	h = c->f.family == HL_AF_INET ? fl->bss->est_hdr4 : fl->bss->est_hdr6;
	memcpy(h, nh->dmac, ETH_ALEN);
	memcpy(h + ETH_ALEN, nh->smac, ETH_ALEN);
	if (c->f.family == HL_AF_INET) {
		struct iphdr *ip = (void *)(h + ETH_HLEN);
		__u16 w[10];
		__u32 sum = 0;

		h[12] = 0x08, h[13] = 0x00;
		memset(ip, 0, 20);
		ip->version = 4;
		ip->ihl = 5;
		ip->frag_off = htons(0x4000);
		ip->ttl = 64;
		ip->protocol = IPPROTO_IPIP;
		ip->saddr = nh->src[0];
		ip->daddr = d->node[node].addr[0];
		memcpy(w, ip, 20);
		for (int i = 0; i < 10; i++)
			sum += w[i];
		fl->bss->est_sum4 = sum;
	} else {
		struct ipv6hdr *ip6 = (void *)(h + ETH_HLEN);

		h[12] = 0x86, h[13] = 0xdd;
		memset(ip6, 0, 40);
		ip6->version = 6;
		ip6->nexthdr = IPPROTO_IPV6;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, nh->src, 16);
		memcpy(&ip6->daddr, d->node[node].addr, 16);
	}
}

/* A SYN (new flow, source to be bumped) or an ACK (established flow). */
static void frame_tcp4(struct frame *f, __u16 sport, __u16 dport, bool syn)
{
	frame_build(f, HL_AF_INET, syn ? client4 : est4, vip4, sport, dport,
		    IPPROTO_TCP, syn ? 0x02 : 0x10, 64);
}

static void frame_tcp6(struct frame *f, __u16 sport, bool syn)
{
	frame_build(f, HL_AF_INET6, syn ? client6 : est6, vip6, sport, 5432,
		    IPPROTO_TCP, syn ? 0x02 : 0x10, 84);
}

/* The established cases need their flow in the table: one packet first. */
static void establish(struct dir *d, struct bcase *c)
{
	struct run r;

	prog_run(d->prog, c->f.b, c->f.len, 1, &r);
	if (r.retval != XDP_TX)
		FAIL(c, "first packet: verdict %u, want XDP_TX", r.retval);
}

/*
 * Service `svc_id` (added by dir_service) switched to `strategy`, its
 * tables built by the agent's strategy_build() and put in place as
 * user/store.c does. Node roles: the first node primary, the others
 * replicas (primary and replica then have nodes; the rest ignore roles).
 */
static void dir_strategy(struct dir *d, const __be32 *vip, __u16 port,
			 __u8 strategy, __u16 bounded, __u32 opts,
			 const struct hl_limits *lim, __u32 svc_id)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = HL_SLOTS_INNER_FLAGS);
	struct hl_svc_key key = { .port = htons(port), .proto = IPPROTO_TCP,
				  .family = HL_AF_INET };
	struct hl_limits none = {};
	struct hl_service svc;
	struct strat_tables t;
	__u32 i, first = HL_NODE_NONE, slots_key, *keys;
	int fd, err;

	memcpy(key.vip, vip, 16);
	if (bpf_map_lookup_elem(d->services, &key, &svc))
		die("service %u: %s", svc_id, strerror(errno));
	for (i = 0; i < d->nr_nodes; i++) {
		if (d->node[i].svc_id != svc_id)
			continue;
		d->node[i].role = first == HL_NODE_NONE ? HL_ROLE_PRIMARY :
							 HL_ROLE_REPLICA;
		if (first == HL_NODE_NONE)
			first = i;
		bpf_map_update_elem(d->nodes, &i, &d->node[i], BPF_ANY);
	}
	svc.strategy = strategy;
	svc.bounded_load = bounded;
	svc.opts = opts;
	if (strategy == HL_STRAT_LC || strategy == HL_STRAT_P2C || bounded)
		svc.opts |= HL_SVC_O_COUNT_ACTIVE;
	err = strategy_build(&svc, d->node, "", &t);
	if (err)
		die("strategy_build(%s): %s", hl_strategy_name(strategy),
		    strerror(-err));
	keys = malloc(t.len * sizeof(*keys));
	if (!keys)
		die("out of memory");
	for (i = 0; i < t.len; i++)
		keys[i] = i;
	i = t.len;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "hl_ring", 4, 4, t.len, &mo);
	svc.slots = t.len;
	slots_key = hl_slots_key(svc_id, svc.table);
	if (fd < 0 || bpf_map_update_batch(fd, keys, t.table, &i, NULL) ||
	    bpf_map_update_elem(d->slots, &slots_key, &fd, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(d->skel->maps.node_lists), &svc_id,
				&t.list, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(d->skel->maps.limits), &svc_id,
				lim ? lim : &none, BPF_ANY) ||
	    dir_svc_put(d, &key, &svc, BPF_ANY))
		die("strategy tables: %s", strerror(errno));
	close(fd);
	free(keys);
	strategy_tables_free(&t);
}

/* Per strategy (new flow, established flow) and rate-limited packets: one
 * TCP service each on VIP:6000+i, 3 nodes. */
#define STRAT_CASES	(2 * (HL_STRAT_MAX + 1))
#define RATE_CASES	3
#define RYW_CASES	1
#define EXTRA_CASES	(STRAT_CASES + RATE_CASES + RYW_CASES)
#define SVC_EXTRA	3	/* first service id of these */

static char extra_names[EXTRA_CASES][2][64];

static void extra_setup(struct dir *d, struct bcase *x)
{
	struct hl_limits lim;
	__u32 n = 0, sid = SVC_EXTRA, st;
	__u16 port = 6000;

	for (st = 0; st <= HL_STRAT_MAX; st++, sid++, port++) {
		/* HL_STRAT_MAX: maglev with bounded-load 1.25 */
		const char *name = st < HL_STRAT_MAX ? hl_strategy_name(st) :
						       "bounded-load";
		__u8 strat = st < HL_STRAT_MAX ? st : HL_STRAT_MAGLEV;

		dir_service(d, sid, HL_AF_INET, vip4, port, IPPROTO_TCP, 3,
			    HL_RING_DEFAULT);
		dir_strategy(d, vip4, port, strat, st < HL_STRAT_MAX ? 0 : 125,
			     0, NULL, sid);
		snprintf(extra_names[n][0], 64, "strategy_%s_new", name);
		snprintf(extra_names[n][1], 64, "strategy %s: new TCP flow (SYN), IPv4", name);
		x[n] = (struct bcase)CASE(extra_names[n][0], extra_names[n][1],
			"newflow", P_DIR, W_BUMP, C_FORWARD, true, sid, REP_NEW);
		frame_build(&x[n].f, HL_AF_INET, client4, vip4, 0, port,
			    IPPROTO_TCP, 0x02, 64);
		n++;
		snprintf(extra_names[n][0], 64, "strategy_%s_established", name);
		snprintf(extra_names[n][1], 64, "strategy %s: established TCP flow, IPv4", name);
		x[n] = (struct bcase)CASE(extra_names[n][0], extra_names[n][1],
			"established", P_DIR, W_RESTORE, C_FORWARD, false, sid, REP_FWD);
		frame_build(&x[n].f, HL_AF_INET, est4, vip4, 41000 + st, port,
			    IPPROTO_TCP, 0x10, 64);
		establish(d, &x[n]);
		n++;
	}

	/* rate conn, never short of tokens: every SYN admitted. */
	memset(&lim, 0, sizeof(lim));
	lim.conn.cost = 1;
	lim.conn.tolerance = 1ull << 62;
	dir_service(d, sid, HL_AF_INET, vip4, port, IPPROTO_TCP, 3, HL_RING_DEFAULT);
	dir_strategy(d, vip4, port, HL_STRAT_MAGLEV, 0, HL_SVC_O_LIMIT_CONN,
		     &lim, sid);
	x[n] = (struct bcase)CASE("rate_conn_admitted",
		"rate conn: new TCP flow (SYN) admitted by the bucket, IPv4",
		"newflow", P_DIR, W_BUMP, C_FORWARD, true, sid, REP_NEW);
	frame_build(&x[n].f, HL_AF_INET, client4, vip4, 0, port, IPPROTO_TCP,
		    0x02, 64);
	n++, sid++, port++;

	/* rate conn with an empty bucket (one token per 1000 s, no burst):
	 * every SYN dropped; the frame is not rewritten, no wrapper. */
	lim.conn.cost = 1000 * HL_TB_NS;
	lim.conn.tolerance = 0;
	dir_service(d, sid, HL_AF_INET, vip4, port, IPPROTO_TCP, 3, HL_RING_DEFAULT);
	dir_strategy(d, vip4, port, HL_STRAT_MAGLEV, 0, HL_SVC_O_LIMIT_CONN,
		     &lim, sid);
	x[n] = (struct bcase)CASE("rate_conn_dropped",
		"rate conn: SYN dropped by the bucket, IPv4", "pass", P_DIR,
		W_NONE, C_DROP_RATE_CONN, false, sid, REP_FWD);
	frame_build(&x[n].f, HL_AF_INET, client4, vip4, 40999, port,
		    IPPROTO_TCP, 0x02, 64);
	n++, sid++, port++;

	/* rate pkt, never short of tokens: an established flow's packet
	 * takes from the service's packet bucket. */
	memset(&lim, 0, sizeof(lim));
	lim.pkt.cost = 1;
	lim.pkt.tolerance = 1ull << 62;
	dir_service(d, sid, HL_AF_INET, vip4, port, IPPROTO_TCP, 3, HL_RING_DEFAULT);
	dir_strategy(d, vip4, port, HL_STRAT_MAGLEV, 0, HL_SVC_O_LIMIT_TRAFFIC,
		     &lim, sid);
	x[n] = (struct bcase)CASE("rate_pkt_admitted",
		"rate pkt: established TCP flow admitted by the bucket, IPv4",
		"established", P_DIR, W_RESTORE, C_FORWARD, false, sid, REP_FWD);
	frame_build(&x[n].f, HL_AF_INET, est4, vip4, 40998, port, IPPROTO_TCP,
		    0x10, 64);
	establish(d, &x[n]);
	n++, sid++, port++;

	/* A write service that a read service follows (read-your-writes):
	 * every data packet looks its client up in ryw_clients, and stores
	 * the time once per clock tick. Against strategy_maglev_established. */
	dir_service(d, sid, HL_AF_INET, vip4, port, IPPROTO_TCP, 3, HL_RING_DEFAULT);
	dir_strategy(d, vip4, port, HL_STRAT_MAGLEV, 0, HL_SVC_O_RYW_SRC, NULL,
		     sid);
	x[n] = (struct bcase)CASE("ryw_note_established",
		"read-your-writes source: established TCP flow with data, IPv4",
		"established", P_DIR, W_RESTORE, C_FORWARD, false, sid, REP_FWD);
	frame_build(&x[n].f, HL_AF_INET, est4, vip4, 40997, port, IPPROTO_TCP,
		    0x10, 64);
	establish(d, &x[n]);
	n++;
}

/* Delete the flows the bumping wrapper made (sources 198.18.0.0/16 and
 * fd00:4845::/112), keeping the established ones: the extra new-flow
 * cases insert 40000 flows each per round, which would otherwise fill the
 * LRU table until it evicts (and the entry checks fail). */
static void ct_drop_bumped_shard(int fd)
{
	enum { CHUNK = 8192 };
	static struct hl_flow_key keys[CHUNK], del[CHUNK];
	static struct hl_flow vals[CHUNK];
	__u32 batch = 0, count, i, nd;
	bool more = true, first = true;
	int err;

	while (more) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		count = CHUNK;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch,
					   keys, vals, &count, &bo);
		first = false;
		if (err && errno != ENOENT)
			die("conntrack batch lookup: %s", strerror(errno));
		more = !err;
		for (i = nd = 0; i < count; i++) {
			const struct hl_flow_key *k = &keys[i];

			if ((k->family == HL_AF_INET &&
			     ntohl(k->src[0]) >> 16 == 0xc612) ||
			    (k->family == HL_AF_INET6 && k->src[0] == client6[0] &&
			     !k->src[1] && !k->src[2] && !(ntohl(k->src[3]) >> 16)))
				del[nd++] = *k;
		}
		for (i = 0; i < nd; i++)
			bpf_map_delete_elem(fd, &del[i]);
	}
}

static void ct_drop_bumped(struct dir *d)
{
	for (__u32 s = 0; s < HL_CT_SHARDS; s++)
		ct_drop_bumped_shard(d->ct_shard[s]);
}

static void series_main(struct json_object *root, struct bcase *fls)
{
	struct bcase x[EXTRA_CASES];
	struct bcase cases[] = {
		CASE("not_service", "non-service packet (TCP to VIP:9999)", "pass",
		  P_DIR, W_NONE, C_NOT_SERVICE, false, 0, REP_CHEAP),
		CASE("not_service_addr", "non-service packet (TCP to 198.18.1.99:5432, "
		  "a service's port on another address)", "pass",
		  P_DIR, W_NONE, C_NOT_SERVICE, false, 0, REP_CHEAP),
		CASE("established_tcp4", "established TCP flow, IPv4", "established",
		  P_DIR, W_RESTORE, C_FORWARD, false, 0, REP_FWD),
		CASE("new_tcp4", "new TCP flow (SYN), IPv4", "newflow",
		  P_DIR, W_BUMP, C_FORWARD, true, 0, REP_NEW),
		CASE("established_udp4", "UDP flow (established), IPv4", "established",
		  P_DIR, W_RESTORE, C_FORWARD, false, 1, REP_FWD),
		CASE("established_tcp6", "established TCP flow, IPv6", "established6",
		  P_DIR, W_RESTORE, C_FORWARD, false, 2, REP_FWD),
		CASE("established_udp6", "UDP flow (established), IPv6", "established6",
		  P_DIR, W_RESTORE, C_FORWARD, false, SVC_UDP6, REP_FWD),
		CASE("new_tcp6", "new TCP flow (SYN), IPv6", "newflow",
		  P_DIR, W_BUMP, C_FORWARD, true, 2, REP_NEW),
	};
	int nc = sizeof(cases) / sizeof(cases[0]), i, k;
	struct json_object *o = json_object_new_object(), *jc, *jf;
	struct dir *d = dir_load();

	dir_service(d, 0, HL_AF_INET, vip4, 5432, IPPROTO_TCP, 3, HL_RING_DEFAULT);
	dir_service(d, 1, HL_AF_INET, vip4, 5432, IPPROTO_UDP, 3, HL_RING_DEFAULT);
	dir_service(d, 2, HL_AF_INET6, vip6, 5432, IPPROTO_TCP, 3, HL_RING_DEFAULT);
	dir_service(d, SVC_UDP6, HL_AF_INET6, vip6, 5432, IPPROTO_UDP, 3,
		    HL_RING_DEFAULT);

	frame_tcp4(&fls[0].f, 40000, 5432, false);
	frame_tcp4(&fls[1].f, 40000, 5432, false);
	frame_tcp4(&fls[2].f, 0, 5432, true);
	frame_tcp4(&fls[3].f, 40001, 5432, false);
	frame_tcp6(&fls[4].f, 40003, false);
	frame_tcp4(&cases[0].f, 40000, 9999, false);
	frame_build(&cases[1].f, HL_AF_INET, est4, other4, 40000, 5432,
		    IPPROTO_TCP, 0x10, 64);
	frame_tcp4(&cases[2].f, 40001, 5432, false);
	frame_tcp4(&cases[3].f, 0, 5432, true);
	frame_build(&cases[4].f, HL_AF_INET, est4, vip4, 40002, 5432,
		    IPPROTO_UDP, 0, 64);
	frame_tcp6(&cases[5].f, 40003, false);
	frame_build(&cases[6].f, HL_AF_INET6, est6, vip6, 40004, 5432,
		    IPPROTO_UDP, 0, 84);
	frame_tcp6(&cases[7].f, 0, true);
	establish(d, &cases[2]);
	establish(d, &cases[4]);
	establish(d, &cases[5]);
	establish(d, &cases[6]);
	floor_est_setup(d, &fls[3], 0);
	floor_est_setup(d, &fls[4], 6);		/* service 2's first node */
	extra_setup(d, x);

	for (k = 0; k < rounds; k++) {
		double pass = measure(d, &fls[0], k, 0);

		for (i = 1; i < NR_FLOORS; i++)
			measure(d, &fls[i], k, pass);
		for (i = 0; i < nc; i++)
			measure(d, &cases[i], k, pass);
		for (i = 0; i < EXTRA_CASES; i++) {
			measure(d, &x[i], k, pass);
			if (x[i].new_flow)
				ct_drop_bumped(d);
		}
		fprintf(stderr, "  round %d: pass %.0f tx %.0f newflow %.0f est %.0f est6 %.0f |",
			k + 1, fls[0].ns[k], fls[1].ns[k], fls[2].ns[k],
			fls[3].ns[k], fls[4].ns[k]);
		for (i = 0; i < nc; i++)
			fprintf(stderr, " %.0f", cases[i].ns[k]);
		fprintf(stderr, " | extra");
		for (i = 0; i < EXTRA_CASES; i++)
			fprintf(stderr, " %.0f", x[i].ns[k]);
		fprintf(stderr, "\n");
	}

	jf = json_object_new_object();
	for (i = 0; i < NR_FLOORS; i++)
		json_object_object_add(jf, fls[i].key, case_json(&fls[i]));
	jc = json_object_new_object();
	for (i = 0; i < nc; i++)
		json_object_object_add(jc, cases[i].key, case_json(&cases[i]));
	for (i = 0; i < EXTRA_CASES; i++)
		json_object_object_add(jc, x[i].key, case_json(&x[i]));
	json_object_object_add(o, "rounds", json_object_new_int(rounds));
	json_object_object_add(o, "floors", jf);
	json_object_object_add(o, "cases", jc);
	json_object_object_add(o, "conntrack_entries_after",
			       json_object_new_int64(dir_ct_count(d)));
	json_object_object_add(root, "per_packet", o);
	dir_free(d);
}

/* ---- ablation -------------------------------------------------------------- */

/*
 * Where the time goes: the director built with HL_BENCH_ABLATE (bench only,
 * make's variant `ablate`), one copy per row, each skipping the work of its
 * hl_ablate bits; every round measures the full copy and each ablated one
 * side by side (established and new TCP flows over IPv4, one service of 3
 * nodes), in an order that rotates from round to round, and a row's
 * figure is the full copy's time minus its own, per round, median. Ablated copies are checked for XDP_TX only (what they
 * skip may be what the full checks look at).
 */
static const struct { const char *key, *what; __u32 bits; } ablations[] = {
	{ "reply", "NAT reply stage (SNAT address test)", HL_AB_REPLY },
	{ "ryw", "read-your-writes note", HL_AB_RYW },
	{ "flow", "flow checks: closed-SYN, fencing, FIN/RST, TCP trouble, SYN retry", HL_AB_FLOW },
	{ "counters", "service and node counters (packets, bytes, flows)", HL_AB_COUNTERS },
	{ "verdict", "verdict-reason counter and monitor events", HL_AB_VERDICT },
	{ "csum", "outer IPv4 header checksum", HL_AB_CSUM },
	{ "admit", "new flow: hold, connection limits, pools, ryw pick", HL_AB_ADMIT },
	{ "strategy", "new flow: strategy pick (Maglev slot lookup)", HL_AB_STRATEGY },
	{ "time", "new flow: next-hop age check (clock read)", HL_AB_TIME },
	{ "insert", "new flow: connection-table insert", HL_AB_INSERT },
	{ "all_established", "all of reply, ryw, flow, counters, verdict, csum",
	  HL_AB_REPLY | HL_AB_RYW | HL_AB_FLOW | HL_AB_COUNTERS | HL_AB_VERDICT |
	  HL_AB_CSUM },
};
#define NR_ABL	(int)(sizeof(ablations) / sizeof(ablations[0]))

static void series_ablate(struct json_object *root, struct bcase *fls)
{
	struct bcase est[NR_ABL + 1], nw[NR_ABL + 1];
	struct dir *d[NR_ABL + 1];
	struct json_object *o = json_object_new_object(), *jr;
	double dest[MAX_ROUNDS], dnew[MAX_ROUNDS];
	int i, k;

	frame_tcp4(&fls[0].f, 40000, 5432, false);
	for (i = 0; i <= NR_ABL; i++) {
		__u32 bits = i ? ablations[i - 1].bits : 0;
		enum check ch = i ? C_ABLATED : C_FORWARD;

		d[i] = dir_load_ablated(bits);
		dir_service(d[i], 0, HL_AF_INET, vip4, 5432, IPPROTO_TCP, 3,
			    HL_RING_DEFAULT);
		est[i] = (struct bcase)CASE("established_tcp4", "established TCP flow, IPv4",
			"established", P_DIR, W_RESTORE, ch, false, 0, REP_FWD);
		nw[i] = (struct bcase)CASE("new_tcp4", "new TCP flow (SYN), IPv4",
			"newflow", P_DIR, W_BUMP, ch, true, 0, REP_NEW);
		frame_tcp4(&est[i].f, 40001, 5432, false);
		frame_tcp4(&nw[i].f, 0, 5432, true);
		establish(d[i], &est[i]);
		if (bits & HL_AB_INSERT) {	/* the flow as the full copy has it */
			struct hl_flow_key fk;
			struct hl_flow fv;

			frame_flow_key(est[i].f.b, HL_AF_INET, &fk);
			if (bpf_map_lookup_elem(dir_ct_fd(d[0], &fk), &fk, &fv) ||
			    bpf_map_update_elem(dir_ct_fd(d[i], &fk), &fk, &fv, BPF_ANY))
				die("ablation: established flow: %s", strerror(errno));
		}
	}
	for (k = 0; k < rounds; k++) {
		double p = measure(d[0], &fls[0], k, 0);

		/* a different copy first each round: no place in the order
		 * is one copy's alone */
		for (int j = 0; j <= NR_ABL; j++) {
			i = (j + k) % (NR_ABL + 1);
			measure(d[i], &est[i], k, p);
			measure(d[i], &nw[i], k, p);
		}
		fprintf(stderr, "  ablation round %d: full %.0f / %.0f |", k + 1,
			est[0].ns[k], nw[0].ns[k]);
		for (i = 1; i <= NR_ABL; i++)
			fprintf(stderr, " %s %.0f/%.0f", ablations[i - 1].key,
				est[0].ns[k] - est[i].ns[k], nw[0].ns[k] - nw[i].ns[k]);
		fprintf(stderr, "\n");
	}
	json_object_object_add(o, "rounds", json_object_new_int(rounds));
	json_object_object_add(o, "established_ns", jsummary(est[0].ns, rounds));
	json_object_object_add(o, "new_flow_ns", jsummary(nw[0].ns, rounds));
	jr = json_object_new_array();
	for (i = 1; i <= NR_ABL; i++) {
		struct json_object *r = json_object_new_object();

		for (k = 0; k < rounds; k++) {
			dest[k] = est[0].ns[k] - est[i].ns[k];
			dnew[k] = nw[0].ns[k] - nw[i].ns[k];
		}
		json_object_object_add(r, "key", json_object_new_string(ablations[i - 1].key));
		json_object_object_add(r, "what", json_object_new_string(ablations[i - 1].what));
		json_object_object_add(r, "established_saved_ns", jsummary(dest, rounds));
		json_object_object_add(r, "new_flow_saved_ns", jsummary(dnew, rounds));
		json_object_array_add(jr, r);
	}
	json_object_object_add(o, "rows", jr);
	json_object_object_add(root, "ablation", o);
	for (i = 0; i <= NR_ABL; i++)
		dir_free(d[i]);
}

/* ---- new flows against table fill ---------------------------------------------- */

/* Delete the flows case `c` made with wrapper counters [from, to). */
static void ct_drop_counters(struct dir *d, const struct bcase *c, __u32 from,
			     __u32 to)
{
	__u8 b[BENCH_PKT_MAX];
	struct hl_flow_key key;

	for (__u32 n = from; n < to; n++) {
		frame_bumped(&c->f, n, b);
		frame_flow_key(b, c->f.family, &key);
		bpf_map_delete_elem(dir_ct_fd(d, &key), &key);
	}
}

/*
 * New TCP flows (IPv4) into an empty connection table and into one 90 %
 * full (prefilled as the scaling series does), two directors side by
 * side, the order alternating; after each round the flows it made are
 * deleted again, so every run starts at the same fill.
 */
static void series_fill(struct json_object *root, struct bcase *fls)
{
	struct json_object *o = json_object_new_object();
	struct bcase pass = fls[0], nw[2];
	struct dir *d[2];
	__u32 fill = HL_CT_ENTRIES / 10 * 9;
	__u64 entries;
	int i, k;

	frame_tcp4(&pass.f, 40000, 5432, false);
	for (i = 0; i < 2; i++) {
		d[i] = dir_load();
		dir_service(d[i], 0, HL_AF_INET, vip4, 5432, IPPROTO_TCP, 3,
			    HL_RING_DEFAULT);
		nw[i] = (struct bcase)CASE(i ? "new_tcp4_90" : "new_tcp4_empty",
			i ? "new TCP flow (SYN), IPv4, table 90 % full" :
			    "new TCP flow (SYN), IPv4, empty table",
			"newflow", P_DIR, W_BUMP, C_FORWARD, true, 0, REP_NEW);
		frame_tcp4(&nw[i].f, 0, 5432, true);
	}
	entries = dir_ct_prefill(d[1], fill);
	nw[1].ct_full = true;	/* counted by the flows counter: no walk of 1M */
	for (k = 0; k < rounds; k++) {
		double p = measure(d[0], &pass, k, 0);

		for (int j = 0; j < 2; j++) {
			__u32 c0;

			i = (j + k) % 2;
			c0 = fl->bss->counter;
			measure(d[i], &nw[i], k, p);
			ct_drop_counters(d[i], &nw[i], c0, fl->bss->counter);
		}
	}
	fprintf(stderr, "  new flows: empty table %.0f ns, %u entries (90 %%) %.0f ns (median)\n",
		summarize(nw[0].ns, rounds).med, fill, summarize(nw[1].ns, rounds).med);
	json_object_object_add(o, "capacity", json_object_new_int64(HL_CT_ENTRIES));
	json_object_object_add(o, "prefill", json_object_new_int64(fill));
	json_object_object_add(o, "entries_after_prefill", json_object_new_int64(entries));
	json_object_object_add(o, "empty", case_json(&nw[0]));
	json_object_object_add(o, "full90", case_json(&nw[1]));
	json_object_object_add(o, "pass_ns", jsummary(pass.ns, rounds));
	json_object_object_add(root, "fill", o);
	for (i = 0; i < 2; i++)
		dir_free(d[i]);
}

/* ---- full NAT ------------------------------------------------------------- */

#define SVC_NAT4	40	/* service ids of the NAT director */
#define SVC_NAT6	41
#define SVC_NAT_IPIP	42
#define NAT_PORT	7000

/* Mark `port` as NAT services' only (nat_ports), as svc_ports_sync() does. */
static int dir_nat_port(struct dir *d, __u16 port)
{
	int fd = bpf_map__fd(d->skel->maps.nat_ports);
	__u32 word = port / 64;
	__u64 bits = 0;

	bpf_map_lookup_elem(fd, &word, &bits);
	bits |= 1ull << (port % 64);
	return bpf_map_update_elem(fd, &word, &bits, BPF_ANY);
}

/* Service `svc_id` (VIP:port, TCP) forwarded by NAT from `snat`. */
static void dir_nat(struct dir *d, __u32 svc_id, int family, const __be32 *vip,
		    const __be32 *snat)
{
	struct hl_svc_key key = { .port = htons(NAT_PORT), .proto = IPPROTO_TCP,
				  .family = family };
	struct hl_snat sn = { .count = 1 };
	struct hl_service svc;

	dir_service(d, svc_id, family, vip, NAT_PORT, IPPROTO_TCP, 3,
		    HL_RING_DEFAULT);
	memcpy(key.vip, vip, 16);
	memcpy(sn.addrs[0], snat, 16);
	if (bpf_map_lookup_elem(d->services, &key, &svc))
		die("NAT service: %s", strerror(errno));
	svc.fwd = HL_FWD_NAT;
	if (dir_svc_put(d, &key, &svc, BPF_EXIST) ||
	    dir_nat_port(d, NAT_PORT) ||
	    bpf_map_update_elem(bpf_map__fd(d->skel->maps.snat_addrs), &svc_id,
				&sn, BPF_ANY))
		die("NAT service: %s", strerror(errno));
}

/* The reply path's next hop towards `client`, put in its cache: the
 * router's MAC out of lo (ifindex 1), so the reply is an XDP_TX. In this
 * namespace the FIB has no route; the entry stays in use when the
 * lookup a second later fails, as it would with a route that vanished. */
static void dir_client_nh(struct dir *d, int family, const __be32 *client)
{
	struct hl_nat_nh nh = { .ifindex = 1, .family = family,
				.flags = HL_NH_F_VALID, .updated_ns = now_ns() };
	__u32 slot = hl_nat_nh_slot(client);

	memcpy(nh.addr, client, 16);
	memcpy(nh.dmac, mac_router, ETH_ALEN);
	memcpy(nh.smac, mac_dir, ETH_ALEN);
	if (bpf_map_update_elem(bpf_map__fd(d->skel->maps.nat_nexthops), &slot,
				&nh, BPF_ANY))
		die("nat_nexthops: %s", strerror(errno));
}

/* The node's frame answering the established flow of `fwd_frame`. */
static void frame_nat_reply(struct dir *d, const struct bcase *c,
			    const struct frame *fwd_frame, struct frame *f)
{
	struct hl_flow_key key;
	struct hl_nat e;

	frame_flow_key(fwd_frame->b, fwd_frame->family, &key);
	if (bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.nat), &key, &e))
		FAIL(c, "no NAT flow to answer");
	frame_build(f, fwd_frame->family, e.addr, e.from, ntohs(e.port),
		    ntohs(e.from_port), IPPROTO_TCP, 0x10, fwd_frame->len);
	frame_csum(f);
}

/* Delete the NAT flows the bumping wrapper made (clients in
 * 198.18.0.0/16 and fd00:4845::/112), both entries, keeping the
 * established ones: each round makes REP_NEW of them. */
static void nat_drop_bumped(struct dir *d)
{
	enum { CHUNK = 8192 };
	static struct hl_flow_key keys[CHUNK], del[2 * CHUNK];
	static struct hl_nat vals[CHUNK];
	int fd = bpf_map__fd(d->skel->maps.nat);
	__u32 batch, count, i, nd;
	bool more = true, first = true;
	int err;

	while (more) {
		count = CHUNK;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch,
					   keys, vals, &count, NULL);
		first = false;
		if (err && errno != ENOENT)
			die("nat batch lookup: %s", strerror(errno));
		more = !err;
		for (i = nd = 0; i < count; i++) {
			const __be32 *cl = vals[i].dir == HL_NAT_FORWARD ?
					   keys[i].src : vals[i].addr;

			if ((keys[i].family == HL_AF_INET &&
			     ntohl(cl[0]) >> 16 == 0xc612) ||
			    (keys[i].family == HL_AF_INET6 && cl[0] == client6[0] &&
			     !cl[1] && !cl[2] && !(ntohl(cl[3]) >> 16)))
				del[nd++] = keys[i];
		}
		for (i = 0; i < nd; i++)
			bpf_map_delete_elem(fd, &del[i]);
	}
}

static void series_nat(struct json_object *root, struct bcase *fls)
{
	struct bcase cases[] = {
		CASE("nat_not_service", "NAT in use: non-service packet (TCP to VIP:9999)",
		  "pass", P_DIR, W_NONE, C_NOT_SERVICE, false, 0, REP_CHEAP),
		CASE("nat_snat_no_flow", "NAT in use: TCP to the SNAT address:40000, no flow",
		  "pass", P_DIR, W_NONE, C_NOT_SERVICE, false, 0, REP_CHEAP),
		CASE("nat_ipip_established_tcp4", "NAT in use: established IPIP TCP flow, IPv4",
		  "established", P_DIR, W_RESTORE, C_FORWARD, false, SVC_NAT_IPIP, REP_FWD),
		CASE("nat_established_tcp4", "NAT: established TCP flow, client to node, IPv4",
		  "established", P_DIR, W_RESTORE, C_NAT_FORWARD, false, SVC_NAT4, REP_FWD),
		CASE("nat_reply_tcp4", "NAT: reply of an established TCP flow, node to client, IPv4",
		  "established", P_DIR, W_RESTORE, C_NAT_REPLY, false, SVC_NAT4, REP_FWD),
		CASE("nat_new_tcp4", "NAT: new TCP flow (SYN), SNAT port and two entries, IPv4",
		  "newflow", P_DIR, W_BUMP, C_NAT_FORWARD, true, SVC_NAT4, REP_NEW),
		CASE("nat_established_tcp6", "NAT: established TCP flow, client to node, IPv6",
		  "established", P_DIR, W_RESTORE, C_NAT_FORWARD, false, SVC_NAT6, REP_FWD),
		CASE("nat_reply_tcp6", "NAT: reply of an established TCP flow, node to client, IPv6",
		  "established", P_DIR, W_RESTORE, C_NAT_REPLY, false, SVC_NAT6, REP_FWD),
	};
	int nc = sizeof(cases) / sizeof(cases[0]), i, k;
	struct json_object *o = json_object_new_object(), *jc;
	struct dir *d = dir_load();
	__be32 snat4[4] = { htonl(0xc6120501) }, snat6[4];
	__be32 vip_ipip[4] = { htonl(0xc612010b) };
	struct bcase pass = fls[0];

	addr6(snat6, 0x00050000, 1);
	dir_nat(d, SVC_NAT4, HL_AF_INET, vip4, snat4);
	dir_nat(d, SVC_NAT6, HL_AF_INET6, vip6, snat6);
	dir_service(d, SVC_NAT_IPIP, HL_AF_INET, vip_ipip, 5432, IPPROTO_TCP, 3,
		    HL_RING_DEFAULT);
	dir_client_nh(d, HL_AF_INET, est4);
	dir_client_nh(d, HL_AF_INET6, est6);

	frame_tcp4(&cases[0].f, 40000, 9999, false);
	frame_build(&cases[1].f, HL_AF_INET, est4, snat4, 40000, 40000,
		    IPPROTO_TCP, 0x10, 64);
	frame_build(&cases[2].f, HL_AF_INET, est4, vip_ipip, 40001, 5432,
		    IPPROTO_TCP, 0x10, 64);
	frame_tcp4(&cases[3].f, 40002, NAT_PORT, false);
	frame_tcp4(&cases[5].f, 0, NAT_PORT, true);
	frame_build(&cases[6].f, HL_AF_INET6, est6, vip6, 40003, NAT_PORT,
		    IPPROTO_TCP, 0x10, 84);
	for (i = 0; i < nc; i++)
		if (cases[i].f.len)
			frame_csum(&cases[i].f);
	establish(d, &cases[2]);
	establish(d, &cases[3]);
	establish(d, &cases[6]);
	frame_nat_reply(d, &cases[4], &cases[3].f, &cases[4].f);
	frame_nat_reply(d, &cases[7], &cases[6].f, &cases[7].f);

	for (k = 0; k < rounds; k++) {
		double p = measure(d, &pass, k, 0);

		for (i = 0; i < nc; i++) {
			measure(d, &cases[i], k, p);
			if (cases[i].new_flow)
				nat_drop_bumped(d);
		}
		fprintf(stderr, "  nat round %d: pass %.0f |", k + 1, pass.ns[k]);
		for (i = 0; i < nc; i++)
			fprintf(stderr, " %.0f", cases[i].ns[k]);
		fprintf(stderr, "\n");
	}
	jc = json_object_new_object();
	for (i = 0; i < nc; i++)
		json_object_object_add(jc, cases[i].key, case_json(&cases[i]));
	json_object_object_add(o, "rounds", json_object_new_int(rounds));
	json_object_object_add(o, "pass_ns", jsummary(pass.ns, rounds));
	json_object_object_add(o, "cases", jc);
	json_object_object_add(root, "nat", o);
	dir_free(d);
}

/* memlock of a map, as the kernel accounts it (/proc/self/fdinfo). */
static __u64 map_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* The connection table's shards together. */
static __u64 ct_memlock(const struct dir *d)
{
	__u64 sum = 0;

	for (__u32 s = 0; s < HL_CT_SHARDS; s++)
		sum += map_memlock(d->ct_shard[s]);
	return sum;
}

/* Fill `nat` with `flows` flows (both entries), last packet `age_ns` ago,
 * established (answered) or not: clients 198.18.128.0/17 on ports from
 * 40000 up, SNAT addresses 198.18.6.0/24 so that every reply key differs. */
#define SNAT_PORTS	(HL_SNAT_PORT_MAX - HL_SNAT_PORT_MIN + 1)

static void nat_fill(int fd, __u32 flows, __u64 age_ns, bool answered)
{
	enum { CHUNK = 32768 };
	static struct hl_flow_key keys[2 * CHUNK];
	static struct hl_nat vals[2 * CHUNK];
	__u64 now = now_ns();
	__u32 i = 0, j, count;

	while (i < flows) {
		for (j = 0; j < 2 * CHUNK && i < flows; j += 2, i++) {
			struct hl_flow_key *f = &keys[j], *r = &keys[j + 1];
			struct hl_nat *fv = &vals[j], *rv = &vals[j + 1];
			__u16 sport = HL_SNAT_PORT_MIN + i % SNAT_PORTS;

			memset(f, 0, 2 * sizeof(*f));
			memset(fv, 0, 2 * sizeof(*fv));
			f->src[0] = htonl(0xc6128000 | (i & 0x7fff));
			f->dst[0] = vip4[0];
			f->sport = htons(40000 + (i >> 15));
			f->dport = htons(NAT_PORT);
			f->proto = r->proto = IPPROTO_TCP;
			f->family = r->family = HL_AF_INET;
			r->src[0] = htonl(0xc6130001);		/* node 0 */
			r->dst[0] = htonl(0xc6120600 | (i / SNAT_PORTS));
			r->sport = htons(NAT_PORT);
			r->dport = htons(sport);
			fv->dir = HL_NAT_FORWARD;
			fv->seen = HL_NAT_SEEN_SYN | HL_NAT_SEEN_ACK;
			fv->flags = answered ? HL_NAT_F_REPLIED : 0;
			memcpy(fv->addr, r->src, 16);
			memcpy(fv->from, r->dst, 16);
			fv->port = r->sport;
			fv->from_port = r->dport;
			rv->dir = HL_NAT_REPLY;
			rv->seen = HL_NAT_SEEN_SYN | HL_NAT_SEEN_ACK;
			memcpy(rv->addr, f->src, 16);
			memcpy(rv->from, f->dst, 16);
			rv->port = f->sport;
			rv->from_port = f->dport;
			fv->created_ns = rv->created_ns = now - age_ns;
			fv->last_ns = rv->last_ns = now - age_ns;
			fv->packets = rv->packets = 1;
		}
		count = j;
		if (bpf_map_update_batch(fd, keys, vals, &count, NULL))
			die("nat fill: %s", strerror(errno));
	}
}

static double sweep_run(struct dir *d, __u64 *visited, __u64 *ended)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (bpf_prog_test_run_opts(bpf_program__fd(d->skel->progs.nat_sweep_now), &o))
		die("nat_sweep_now: %s", strerror(errno));
	*visited = d->skel->bss->nat_sweep_visited;
	*ended = d->skel->bss->nat_sweep_ended;
	return d->skel->bss->nat_sweep_ns;
}

/*
 * The expiry sweep on a full table (HL_NAT_FLOWS flows, every entry in
 * use): a walk that ends nothing (all flows established and busy), then
 * walks over a table of flows all past their timeout, each ending at
 * most HL_NAT_SWEEP_BUDGET of them, until the table is empty. And the
 * table's memory: the director's map, and one of 1M flows made here.
 */
static void series_nat_table(struct json_object *root)
{
	struct json_object *o = json_object_new_object(), *a;
	struct dir *d = dir_load();
	int fd = bpf_map__fd(d->skel->maps.nat), big;
	double idle[MAX_ROUNDS], walk_ns, total = 0, worst = 0;
	__u64 visited = 0, ended = 0, mem, mem_full, entries = 2ull * HL_NAT_FLOWS;
	__u32 walks = 0, most = 0;
	int k;

	mem = map_memlock(fd);
	nat_fill(fd, HL_NAT_FLOWS, 0, true);
	if (nat_count(fd) != entries)
		die("nat fill: %llu entries", (unsigned long long)nat_count(fd));
	mem_full = map_memlock(fd);
	for (k = 0; k < rounds; k++) {
		idle[k] = sweep_run(d, &visited, &ended);
		if (ended || visited != entries)
			die("busy table: walk ended %llu, visited %llu",
			    (unsigned long long)ended, (unsigned long long)visited);
	}
	fprintf(stderr, "  nat sweep, full table of %llu entries, nothing due: %.2f ms (median)\n",
		(unsigned long long)entries, summarize(idle, rounds).med / 1e6);
	json_object_object_add(o, "entries", json_object_new_int64(entries));
	json_object_object_add(o, "walk_nothing_due_ns", jsummary(idle, rounds));

	/* every flow unanswered for a minute: past SYN_SENT's 30 s (older
	 * ages could wrap on a machine up for less than they are) */
	nat_fill(fd, HL_NAT_FLOWS, 60ull * 1000000000, false);
	a = json_object_new_array();
	do {
		walk_ns = sweep_run(d, &visited, &ended);
		json_object_array_add(a, jdouble(walk_ns));
		total += walk_ns;
		if (walk_ns > worst)
			worst = walk_ns;
		if (ended > most)
			most = ended;
		walks++;
	} while (ended && walks < 1000);
	if (nat_count(fd))
		die("expired table not emptied: %llu entries left",
		    (unsigned long long)nat_count(fd));
	fprintf(stderr, "  nat sweep, full table all expired: %u walks of at most %u flows, worst %.2f ms, total %.1f ms\n",
		walks, most, worst / 1e6, total / 1e6);
	json_object_object_add(o, "expire_walks", json_object_new_int64(walks));
	json_object_object_add(o, "expire_most_flows_a_walk", json_object_new_int64(most));
	json_object_object_add(o, "expire_walk_ns", a);
	json_object_object_add(o, "expire_worst_walk_ns", jdouble(worst));
	json_object_object_add(o, "expire_total_ns", jdouble(total));

	/*
	 * Memory, as the kernel accounts it: the director's table empty (at
	 * load) and full, and a table of the same type and flags for 1M
	 * flows (2M entries). A preallocated table is all there at load; the
	 * connection table beside it, for scale.
	 */
	big = bpf_map_create(BPF_MAP_TYPE_HASH, "nat_1m", sizeof(struct hl_flow_key),
			     sizeof(struct hl_nat), 2 * 1048576,
			     &(struct bpf_map_create_opts){
				.sz = sizeof(struct bpf_map_create_opts),
				.map_flags = bpf_map__map_flags(d->skel->maps.nat) });
	if (big < 0)
		die("1M-flow table: %s", strerror(errno));
	fprintf(stderr, "  nat memory: %.1f MiB at load, %.1f MiB with %d flows (%.0f B a flow); "
		"a 1M-flow table %.1f MiB at creation; conntrack %.1f MiB\n",
		mem / 1048576.0, mem_full / 1048576.0, HL_NAT_FLOWS,
		(double)mem_full / HL_NAT_FLOWS, map_memlock(big) / 1048576.0,
		ct_memlock(d) / 1048576.0);
	json_object_object_add(o, "map_flags",
			       json_object_new_int64(bpf_map__map_flags(d->skel->maps.nat)));
	json_object_object_add(o, "memlock_bytes_at_load", json_object_new_int64(mem));
	json_object_object_add(o, "memlock_bytes_full", json_object_new_int64(mem_full));
	json_object_object_add(o, "flows", json_object_new_int64(HL_NAT_FLOWS));
	json_object_object_add(o, "bytes_a_flow_full",
			       jdouble((double)mem_full / HL_NAT_FLOWS));
	json_object_object_add(o, "memlock_bytes_1m_flows_at_creation",
			       json_object_new_int64(map_memlock(big)));
	json_object_object_add(o, "conntrack_memlock_bytes",
			       json_object_new_int64(ct_memlock(d)));
	close(big);
	json_object_object_add(root, "nat_table", o);
	dir_free(d);
}

/*
 * The data path's active-flow recount (sweep.h) on a full connection
 * table (HL_CT_ENTRIES flows, all counted). The timer recounts one shard
 * a tick in softirq (recount_shard runs the same): every tick of a round,
 * the worst one reported, and a whole round at once (recount_now).
 */
static void series_recount(struct json_object *root)
{
	struct json_object *o = json_object_new_object();
	struct dir *d = dir_load();
	double walk[MAX_ROUNDS], worst[MAX_ROUNDS], med[MAX_ROUNDS], least[MAX_ROUNDS];
	double tick_ns;
	static double ticks[HL_CT_SHARDS];
	__u64 entries, t0;
	__u32 s;
	int k;

	entries = dir_ct_prefill(d, HL_CT_ENTRIES);
	for (k = 0; k < rounds; k++) {
		LIBBPF_OPTS(bpf_test_run_opts, opt);

		t0 = now_ns();
		if (bpf_prog_test_run_opts(bpf_program__fd(d->skel->progs.recount_now),
					   &opt))
			die("recount_now: %s", strerror(errno));
		walk[k] = now_ns() - t0;
		worst[k] = 0;
		for (s = 0; s < HL_CT_SHARDS; s++) {
			LIBBPF_OPTS(bpf_test_run_opts, one, .ctx_in = &s,
				    .ctx_size_in = sizeof(s));

			t0 = now_ns();
			if (bpf_prog_test_run_opts(bpf_program__fd(d->skel->progs.recount_shard),
						   &one) || one.retval)
				die("recount_shard %u: %s", s, strerror(errno));
			tick_ns = now_ns() - t0;
			ticks[s] = tick_ns;
			if (tick_ns > worst[k])
				worst[k] = tick_ns;
		}
		med[k] = summarize(ticks, HL_CT_SHARDS).med;
		least[k] = summarize(ticks, HL_CT_SHARDS).min;
	}
	fprintf(stderr, "  active-flow recount, full table of %llu flows in %u shards: a tick %.3f ms "
		"(least %.3f, worst %.3f); a whole round %.1f ms (medians over rounds)\n",
		(unsigned long long)entries, HL_CT_SHARDS,
		summarize(med, rounds).med / 1e6, summarize(least, rounds).med / 1e6,
		summarize(worst, rounds).med / 1e6, summarize(walk, rounds).med / 1e6);
	json_object_object_add(o, "entries", json_object_new_int64(entries));
	json_object_object_add(o, "shards", json_object_new_int64(HL_CT_SHARDS));
	json_object_object_add(o, "tick_ns", jsummary(med, rounds));
	json_object_object_add(o, "least_tick_ns", jsummary(least, rounds));
	json_object_object_add(o, "worst_tick_ns", jsummary(worst, rounds));
	json_object_object_add(o, "walk_ns", jsummary(walk, rounds));
	json_object_object_add(root, "recount", o);
	dir_free(d);
}

struct scale {
	const char *series;
	__u32 value;		/* nodes, services or table entries */
	__u32 nodes, services, ring, prefill;
	__u8 strategy;		/* enum hl_strategy; maglev by default */
};

/* Established and new-flow cost of one configuration, 5 rounds. */
static struct json_object *scale_run(const struct scale *s, struct bcase *fls)
{
	struct bcase est = CASE("established_tcp4", "established TCP flow, IPv4",
			     "established", P_DIR, W_RESTORE, C_FORWARD, false, 0, REP_FWD);
	struct bcase nw = CASE("new_tcp4", "new TCP flow (SYN), IPv4", "newflow",
			    P_DIR, W_BUMP, C_FORWARD, true, 0, REP_NEW);
	struct json_object *o = json_object_new_object();
	struct bcase pass = fls[0];
	__be32 vip[4] = { vip4[0] };
	struct dir *d = dir_load();
	__u64 entries = 0;
	__u32 i;
	int k;
	__u64 t0 = now_ns();

	for (i = 0; i < s->services; i++) {
		if (s->services > 1)	/* 198.18.128.0/17, one VIP each */
			vip[0] = htonl(0xc6128000u + i);
		dir_service(d, i, HL_AF_INET, vip, 5432, IPPROTO_TCP, s->nodes,
			    s->ring);
		if (s->strategy != HL_STRAT_MAGLEV)
			dir_strategy(d, vip, 5432, s->strategy, 0, 0, NULL, i);
	}
	/* The packets go to the last service added. */
	est.svc_id = nw.svc_id = s->services - 1;
	frame_build(&est.f, HL_AF_INET, est4, vip, 40001, 5432, IPPROTO_TCP,
		    0x10, 64);
	frame_build(&nw.f, HL_AF_INET, client4, vip, 0, 5432, IPPROTO_TCP,
		    0x02, 64);
	if (s->prefill)
		entries = dir_ct_prefill(d, s->prefill);
	/* Near capacity the LRU evicts as it inserts: count inserts by the
	 * flows counter, not by entries. */
	est.ct_full = nw.ct_full = s->prefill + rounds * REP_NEW >
				   HL_CT_ENTRIES * 9ull / 10;
	establish(d, &est);
	for (k = 0; k < rounds; k++) {
		double p = measure(d, &pass, k, 0);

		measure(d, &est, k, p);
		measure(d, &nw, k, p);
	}
	fprintf(stderr, "  %-10s %-9s %7u: established %.0f new %.0f ns (median; setup+run %.1f s)\n",
		hl_strategy_name(s->strategy), s->series, s->value, summarize(est.ns, rounds).med,
		summarize(nw.ns, rounds).med, (now_ns() - t0) / 1e9);
	json_object_object_add(o, s->series, json_object_new_int64(s->value));
	json_object_object_add(o, "strategy",
			       json_object_new_string(hl_strategy_name(s->strategy)));
	json_object_object_add(o, "nodes_per_service", json_object_new_int64(s->nodes));
	json_object_object_add(o, "services", json_object_new_int64(s->services));
	json_object_object_add(o, "ring", json_object_new_int64(s->ring));
	json_object_object_add(o, "ring_is_prime", json_object_new_boolean(is_prime(s->ring)));
	if (s->prefill) {
		json_object_object_add(o, "prefill", json_object_new_int64(s->prefill));
		json_object_object_add(o, "entries_after_prefill",
				       json_object_new_int64(entries));
		json_object_object_add(o, "entries_counted_by",
				       json_object_new_string(est.ct_full ?
				       "flows counter (LRU evicting)" : "table entries"));
	}
	json_object_object_add(o, "established", case_json(&est));
	json_object_object_add(o, "new_flow", case_json(&nw));
	json_object_object_add(o, "pass_ns", jsummary(pass.ns, rounds));
	dir_free(d);
	return o;
}

static void series_scale(struct json_object *root, struct bcase *fls)
{
	static const __u32 nodes[] = { 3, 100, 1000, 4096 };
	static const __u32 svcs[] = { 1, 100, 1000 };
	static const __u32 entries[] = { 1000, 100000, 1000000 };
	struct json_object *o = json_object_new_object(), *a;
	unsigned int i;

	a = json_object_new_array();
	for (i = 0; i < 4; i++) {
		struct scale s = { "nodes", nodes[i], nodes[i], 1,
				   ring_for_nodes(nodes[i]), 0, HL_STRAT_MAGLEV };

		json_object_array_add(a, scale_run(&s, fls));
	}
	json_object_object_add(o, "nodes", a);
	a = json_object_new_array();
	for (i = 0; i < 3; i++) {
		/* 3 nodes each, ring 307 (prime >= 100 per node) */
		struct scale s = { "services", svcs[i], 3, svcs[i], 307, 0,
				   HL_STRAT_MAGLEV };

		json_object_array_add(a, scale_run(&s, fls));
	}
	json_object_object_add(o, "services", a);
	a = json_object_new_array();
	for (i = 0; i < 3; i++) {
		struct scale s = { "conntrack", entries[i], 3, 1,
				   HL_RING_DEFAULT, entries[i], HL_STRAT_MAGLEV };

		json_object_array_add(a, scale_run(&s, fls));
	}
	json_object_object_add(o, "conntrack", a);

	/* Every other strategy against node count; rendezvous and lc walk
	 * their node list (at most HL_SEL_MAX nodes), the rest are O(1). */
	{
		static const __u8 strats[] = { HL_STRAT_WRR, HL_STRAT_RANDOM,
					       HL_STRAT_P2C, HL_STRAT_RENDEZVOUS,
					       HL_STRAT_LC };
		static const __u32 few[] = { 3, 16, HL_SEL_MAX };
		struct json_object *by = json_object_new_object();

		for (unsigned int k = 0; k < sizeof(strats); k++) {
			bool list = strats[k] == HL_STRAT_RENDEZVOUS ||
				    strats[k] == HL_STRAT_LC;
			const __u32 *counts = list ? few : nodes;
			unsigned int nc = list ? 3 : 4;

			a = json_object_new_array();
			for (i = 0; i < nc; i++) {
				struct scale sc = { "nodes", counts[i], counts[i], 1,
						    ring_for_nodes(counts[i]), 0,
						    strats[k] };

				json_object_array_add(a, scale_run(&sc, fls));
			}
			json_object_object_add(by, hl_strategy_name(strats[k]), a);
		}
		json_object_object_add(o, "strategy_nodes", by);
	}
	json_object_object_add(root, "scaling", o);
}

int main(int argc, char **argv)
{
	const char *out = "pktcost.json";
	struct json_object *root;
	const char *only = NULL;	/* -s: one series (recount, main, ablate) */
	bool quick = false;
	int opt;

	while ((opt = getopt(argc, argv, "r:o:qs:n:")) != -1) {
		switch (opt) {
		case 'n':
			rep_div = atoi(optarg);
			if (rep_div < 1 || rep_div > 100)
				die("-n: 1..100");
			break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS)
				die("rounds: 1..%d", MAX_ROUNDS);
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quick = true;
			break;
		case 's':
			only = optarg;
			break;
		default:
			fprintf(stderr, "usage: pktcost [-r ROUNDS] [-o FILE] [-q] [-s recount|main|ablate|fill|nat] [-n DIV]\n");
			return 2;
		}
	}
	/* Test runs arrive on lo of our namespace, and a next-hop refresh
	 * would consult its FIB: use a private, empty one. */
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): %s (run as root)", strerror(errno));
	client4[0] = htonl(0xc6120002);
	vip4[0] = htonl(0xc612010a);
	other4[0] = htonl(0xc6120163);
	est4[0] = htonl(0xc613fe02);
	addr6(client6, 0, 2);
	addr6(est6, 0, 0x00010002);
	addr6(vip6, 0x00010000, 0x10);

	fl = floors__open_and_load();
	if (!fl)
		die("cannot load the floor programs: %s", strerror(errno));

	root = json_object_new_object();
	if (only && !strcmp(only, "recount")) {
		series_recount(root);
		goto out;
	}
	if (only && !strcmp(only, "nat")) {	/* the NAT director's table */
		frame_tcp4(&floors_tpl[0].f, 40000, 5432, false);
		series_nat(root, floors_tpl);
		goto out;
	}
	if (only && !strcmp(only, "main")) {	/* the per-packet table only */
		series_main(root, floors_tpl);
		goto out;
	}
	if (only && !strcmp(only, "fill")) {
		series_fill(root, floors_tpl);
		goto out;
	}
	if (only && !strcmp(only, "ablate")) {	/* an HL_BENCH_ABLATE build */
		fprintf(stderr, "ablation (ns saved, established / new flow)\n");
		series_ablate(root, floors_tpl);
		goto out;
	}
	fprintf(stderr, "per-packet cost (ns, %d rounds)\n", rounds);
	series_main(root, floors_tpl);
	fprintf(stderr, "full NAT\n");
	series_nat(root, floors_tpl);
	series_nat_table(root);
	series_recount(root);
	fprintf(stderr, "new flows against table fill\n");
	series_fill(root, floors_tpl);
	if (!quick) {
		fprintf(stderr, "scaling\n");
		series_scale(root, floors_tpl);
	}
out:
	json_write(root, out);
	json_object_put(root);
	floors__destroy(fl);
	return 0;
}
