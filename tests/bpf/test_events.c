// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/lib/events.h: with no monitor nothing reaches the ring buffer (and
 * the per-service reason count still rises); with the lease, a dropped
 * packet becomes one event that says what happened to which flow of which
 * service; forwarded packets never do; 1-in-N sampling and the per-second
 * budget skip what they should, counted; a full ring buffer counts its
 * losses; an expired lease is off; a verdict after the pick counts for
 * its node as well. Needs root.
 */
#include "fixture.h"

static int monitor_fd, mon_cpu_fd, svc_reasons_fd, node_reasons_fd;
static struct ring_buffer *rb;
static struct hl_event got[8];
static unsigned int ngot;

static int on_event(void *ctx, void *data, size_t len)
{
	if (ngot < ARRAY_SIZE(got) && len >= sizeof(got[0]))
		memcpy(&got[ngot], data, sizeof(got[0]));
	ngot++;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* until: 0 off, else a lease from now (negative: already over). */
static void set_monitor(int64_t lease_ms, uint32_t sample, uint32_t budget)
{
	struct hl_monitor m = { .sample = sample, .budget = budget };
	uint32_t zero = 0;

	if (lease_ms)
		m.until_ns = now_ns() + lease_ms * 1000000;
	bpf_map_update_elem(monitor_fd, &zero, &m, BPF_ANY);
}

static struct hl_mon_cpu mon_counts(void)
{
	struct hl_mon_cpu v[ncpus], sum = {};
	uint32_t zero = 0;

	if (!bpf_map_lookup_elem(mon_cpu_fd, &zero, v))
		for (int c = 0; c < ncpus; c++) {
			sum.seen += v[c].seen;
			sum.emitted += v[c].emitted;
			sum.lost += v[c].lost;
			sum.sampled_out += v[c].sampled_out;
			sum.over_budget += v[c].over_budget;
		}
	return sum;
}

static void reset(void)
{
	uint32_t zero = 0;

	fixture();
	set_monitor(0, 0, 0);
	zero_percpu(mon_cpu_fd, zero, sizeof(struct hl_mon_cpu));
	ring_buffer__consume(rb);
	ngot = 0;
	memset(got, 0, sizeof(got));
}

static uint64_t svc_reason(uint32_t svc_id, uint32_t reason)
{
	uint32_t k = svc_id * HL_REASON_MAX + reason;
	uint64_t v[ncpus], sum = 0;

	if (!bpf_map_lookup_elem(svc_reasons_fd, &k, v))
		for (int c = 0; c < ncpus; c++)
			sum += v[c];
	return sum;
}

static uint64_t node_reason(uint32_t node_id, uint32_t reason)
{
	struct hl_node_reasons v[ncpus];
	uint64_t sum = 0;

	if (!bpf_map_lookup_elem(node_reasons_fd, &node_id, v))
		for (int c = 0; c < ncpus; c++)
			sum += v[c].count[reason];
	return sum;
}

/* Service 1 (198.18.0.100:5432/tcp) with an empty table: a SYN to it
 * is dropped-no-backend. */
static void run_drops(unsigned int n)
{
	struct spec s = { .sport = 41000 };
	struct result r;

	set_table(1, RING, NULL, 0);
	for (unsigned int i = 0; i < n; i++) {
		send_spec(s, &r);
		CHECK(r.delta[HL_REASON_DROP_NO_BACKEND] == 1, "not dropped-no-backend");
	}
}

static void test_off(void)
{
	uint64_t before;

	reset();
	before = svc_reason(1, HL_REASON_DROP_NO_BACKEND);
	run_drops(5);
	ring_buffer__consume(rb);
	CHECK(ngot == 0, "%u events with no monitor", ngot);
	CHECK(mon_counts().seen == 0, "the emitter went past the switch");
	CHECK(svc_reason(1, HL_REASON_DROP_NO_BACKEND) - before == 5,
	      "per-service reason count: +%llu",
	      (unsigned long long)(svc_reason(1, HL_REASON_DROP_NO_BACKEND) - before));
}

static void test_drop_event(void)
{
	struct hl_flow_key want = {};
	struct spec s = { .sport = 41000 };

	reset();
	set_monitor(5000, 1, 0);
	run_drops(1);
	ring_buffer__consume(rb);
	CHECK(ngot == 1, "%u events", ngot);
	CHECK(got[0].reason == HL_REASON_DROP_NO_BACKEND, "reason %u", got[0].reason);
	CHECK(got[0].svc_id == 1, "service %u", got[0].svc_id);
	CHECK(got[0].node_id == HL_EVENT_NONE, "node %u", got[0].node_id);
	CHECK(got[0].tcp_flags == TCP_SYN, "flags %#x", got[0].tcp_flags);
	CHECK(got[0].frame_len > 0 && got[0].ts_ns > 0, "len %u ts %llu",
	      got[0].frame_len, (unsigned long long)got[0].ts_ns);
	s = defaults(s);
	addr_parse(HL_AF_INET, s.src, want.src);
	addr_parse(HL_AF_INET, s.dst, want.dst);
	CHECK(!memcmp(got[0].key.src, want.src, 16) &&
	      !memcmp(got[0].key.dst, want.dst, 16) &&
	      got[0].key.sport == htons(41000) && got[0].key.dport == htons(5432) &&
	      got[0].key.proto == IPPROTO_TCP && got[0].key.family == HL_AF_INET,
	      "the flow");
	CHECK(mon_counts().emitted == 1, "emitted %llu",
	      (unsigned long long)mon_counts().emitted);
}

static void test_forwarded_no_event(void)
{
	struct result r;

	reset();
	set_monitor(5000, 1, 0);
	send_spec((struct spec){ .sport = 41001 }, &r);
	CHECK(r.delta[HL_REASON_FORWARDED] == 1, "not forwarded");
	ring_buffer__consume(rb);
	CHECK(ngot == 0 && mon_counts().seen == 0, "%u events", ngot);
}

static void test_sampling(void)
{
	struct hl_mon_cpu c;

	reset();
	set_monitor(5000, 3, 0);
	run_drops(9);
	ring_buffer__consume(rb);
	c = mon_counts();
	CHECK(ngot == 3 && c.emitted == 3 && c.sampled_out == 6 && c.seen == 9,
	      "1 in 3 of 9: %u events, emitted %llu, sampled out %llu", ngot,
	      (unsigned long long)c.emitted, (unsigned long long)c.sampled_out);
}

/* All test runs in one second on one CPU (the test run stays on the
 * calling CPU): a budget of 2 lets 2 through. */
static void test_budget(void)
{
	struct hl_mon_cpu c;

	reset();
	set_monitor(5000, 1, 2);
	run_drops(6);
	ring_buffer__consume(rb);
	c = mon_counts();
	CHECK(c.emitted + c.over_budget == 6, "emitted %llu + over %llu",
	      (unsigned long long)c.emitted, (unsigned long long)c.over_budget);
	CHECK(c.emitted >= 2 && c.emitted < 6 && ngot == c.emitted,
	      "budget 2: %llu emitted, %u read", (unsigned long long)c.emitted, ngot);
}

static void test_expired(void)
{
	reset();
	set_monitor(-1000, 1, 0);
	run_drops(3);
	ring_buffer__consume(rb);
	CHECK(ngot == 0 && mon_counts().seen == 0, "%u events after the lease", ngot);
}

/* Too big for the picked node's path (a verdict after the pick): counted
 * for that node and no other; a drop before any pick (no backend) for no
 * node. */
static void test_node_reasons(void)
{
	struct spec s = { .sport = 41002, .payload = 1600 };
	uint32_t pick = table_node(s), base = svc_of(s)->base;
	uint64_t before[NPER], nb[NPER];
	struct result r;

	reset();
	for (uint32_t k = 0; k < NPER; k++) {
		before[k] = node_reason(base + k, HL_REASON_TOO_BIG);
		nb[k] = node_reason(base + k, HL_REASON_DROP_NO_BACKEND);
	}
	for (int i = 0; i < 3; i++) {
		send_spec(s, &r);
		CHECK(r.delta[HL_REASON_TOO_BIG] == 1, "not too-big");
	}
	for (uint32_t k = 0; k < NPER; k++)
		CHECK(node_reason(base + k, HL_REASON_TOO_BIG) - before[k] ==
		      (base + k == pick ? 3 : 0), "node %u: too-big +%llu",
		      base + k, (unsigned long long)(node_reason(base + k,
		      HL_REASON_TOO_BIG) - before[k]));
	run_drops(2);
	for (uint32_t k = 0; k < NPER; k++)
		CHECK(node_reason(base + k, HL_REASON_DROP_NO_BACKEND) == nb[k],
		      "node %u counted a drop before the pick", base + k);
}

/* Nobody reads: the ring buffer fills, and what does not fit is counted. */
static void test_full(void)
{
	unsigned int cap = HL_EVENT_RING_BYTES / (sizeof(struct hl_event) + 8);
	struct spec s = { .sport = 41000 };
	uint8_t in[FRAME_MAX], out[FRAME_MAX];
	struct hl_mon_cpu c;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = cap + 100);

	reset();
	set_table(1, RING, NULL, 0);
	o.data_size_in = build(in, s);
	set_monitor(5000, 1, 0);
	CHECK(!bpf_prog_test_run_opts(prog_fd, &o), "test run: %s", strerror(errno));
	c = mon_counts();
	CHECK(c.lost >= 100 && c.emitted + c.lost == cap + 100,
	      "emitted %llu, lost %llu of %u", (unsigned long long)c.emitted,
	      (unsigned long long)c.lost, cap + 100);
	ring_buffer__consume(rb);
	CHECK(ngot == c.emitted, "read %u of %llu", ngot, (unsigned long long)c.emitted);
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	if (!load_failed) {
		monitor_fd = bpf_map__fd(skel->maps.monitor);
		mon_cpu_fd = bpf_map__fd(skel->maps.mon_cpu);
		svc_reasons_fd = bpf_map__fd(skel->maps.svc_reasons);
		node_reasons_fd = bpf_map__fd(skel->maps.node_reasons);
		rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
		if (!rb)
			load_failed = true;
	}
	SCENARIO(test_off);
	SCENARIO(test_drop_event);
	SCENARIO(test_forwarded_no_event);
	SCENARIO(test_sampling);
	SCENARIO(test_budget);
	SCENARIO(test_expired);
	SCENARIO(test_node_reasons);
	SCENARIO(test_full);
	ring_buffer__free(rb);
	helios_xdp__destroy(skel);
	return unit_done();
}
