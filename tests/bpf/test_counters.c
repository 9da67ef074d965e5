// SPDX-License-Identifier: GPL-2.0
/*
 * The counters the data path keeps besides the reasons: per service and
 * node packets, bytes and flows, and the trouble signs (SYNs again,
 * client RSTs) the agent's circuit breakers read.
 * Frames, fixture and checks: fixture.h, pkt.h. Needs root.
 */
#include "fixture.h"

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

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	SCENARIO(test_trouble_counters);
	SCENARIO(test_counters);
	helios_xdp__destroy(skel);
	return unit_done();
}
