// SPDX-License-Identifier: GPL-2.0
/*
 * The data path's part of a planned switchover (bpf/lib/switchover.h): a
 * service with HL_SVC_F_SWITCHOVER and a running lease holds new flows
 * and keeps established ones; a lease past its deadline holds nothing;
 * HL_SWO_F_RESET answers established flows with an RST. And a SYN on a
 * tuple whose flow the client closed is a new connection (held too, not
 * a retransmission). Frames, fixture and checks: fixture.h, pkt.h.
 */
#include <time.h>

#include "fixture.h"

#define TCP_FIN		0x01
#define TCP_RST		0x04

static int swo_fd;

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Service 1 in switchover until now + `in_ns` (negative: a lapsed lease). */
static void switchover(long long in_ns, __u32 flags)
{
	struct hl_switchover so = { .until_ns = mono_ns() + in_ns, .flags = flags };
	struct hl_svc_key k;
	struct hl_service v;
	__u32 id = 1;

	CHECK(!bpf_map_update_elem(swo_fd, &id, &so, BPF_ANY), "switchover map");
	svc_get(1, &k, &v);
	v.flags |= HL_SVC_F_SWITCHOVER;
	svc_put(&k, &v);
}

static __u64 syn_retrans(uint32_t id)
{
	struct hl_counters c[ncpus];
	__u64 n = 0;

	CHECK(!bpf_map_lookup_elem(node_stats_fd, &id, c), "node stats");
	for (int i = 0; i < ncpus; i++)
		n += c[i].syn_retrans;
	return n;
}

/* Held: established flows go on, new ones wait and get no entry. */
static void test_hold(void)
{
	struct spec a = { .sport = 42000 }, b = { .sport = 42002 };
	struct result r;
	int64_t node;

	fixture();
	send_spec(a, &r);
	node = out_node(&r);
	switchover(10000000000ll, 0);
	a.tcp_flags = TCP_ACK;
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == node, "established flow moved");
	send_spec(b, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_HELD_SWITCHOVER);
	CHECK(ct_node(b, NULL) < 0, "held flow got a conntrack entry");
}

/* A lease past its deadline holds nothing: a dead command's hold ends. */
static void test_lapsed_lease(void)
{
	struct result r;

	fixture();
	switchover(-1, HL_SWO_F_RESET);
	send_spec((struct spec){ .sport = 42100 }, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
}

/* Drain time over: an established flow's next segment gets an RST from
 * the VIP and its entry goes; a SYN is still held, never reset. */
static void test_reset(void)
{
	struct spec a = { .sport = 42200 };
	struct result r;

	fixture();
	send_spec(a, &r);
	switchover(10000000000ll, HL_SWO_F_RESET);
	a.tcp_flags = TCP_ACK;
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_RESET_SWITCHOVER);
	CHECK(r.len >= 14 + 20 + 20 && (r.out[14 + 20 + 13] & TCP_RST),
	      "not an RST");
	CHECK(ct_node(a, NULL) < 0, "reset flow kept its entry");
	a.tcp_flags = TCP_SYN;
	send_spec(a, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_HELD_SWITCHOVER);
}

/* A SYN on a tuple whose flow the client closed (FIN) is a new
 * connection: held during a switchover, and never counted as a
 * retransmitted SYN (which feeds the agent's circuit breaker). */
static void test_reused_tuple(void)
{
	struct spec a = { .sport = 42300 };
	struct result r;
	int64_t node;

	fixture();
	send_spec(a, &r);
	node = out_node(&r);
	a.tcp_flags = TCP_ACK | TCP_FIN;
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	a.tcp_flags = TCP_SYN;
	switchover(10000000000ll, 0);
	send_spec(a, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_HELD_SWITCHOVER);
	switchover(-1, 0);
	send_spec(a, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(syn_retrans(node) == 0 && syn_retrans(out_node(&r)) == 0,
	      "a new connection counted as a SYN retransmission");
	/* and its entry is a live flow again */
	a.tcp_flags = TCP_SYN;
	send_spec(a, &r);
	CHECK(syn_retrans(out_node(&r)) == 1, "a real retransmission not counted");
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	if (!load_failed)
		swo_fd = bpf_map__fd(skel->maps.switchover);
	SCENARIO(test_hold);
	SCENARIO(test_lapsed_lease);
	SCENARIO(test_reset);
	SCENARIO(test_reused_tuple);
	helios_xdp__destroy(skel);
	return unit_done();
}
