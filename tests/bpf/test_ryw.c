// SPDX-License-Identifier: GPL-2.0
/*
 * Read-your-writes (bpf/lib/ryw.h) and fencing by generation
 * (bpf/lib/fence.h) through the XDP program. The fixture's IPv4 TCP
 * service is its own write source here (user space refuses that; the
 * data path does not care): its data packets mark the client, its new
 * flows are the reads. Frames, fixture and checks: fixture.h, pkt.h.
 * Needs root.
 */
#include <time.h>

#include "fixture.h"

#define SVC		1	/* 198.18.0.100:5432/tcp, nodes 10, 11, 12 */
#define PRIMARY		12

static int ryw_fd, clients_fd;

static __u32 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000000000ull + ts.tv_nsec) >> 20;
}

static void svc_opts(__u32 opts, __u32 gen)
{
	struct hl_svc_key k;
	struct hl_service v;

	svc_get(SVC, &k, &v);
	v.opts = opts;
	v.gen = gen;
	svc_put(&k, &v);
}

static void node_ryw(__u32 id, __u8 role, __u32 synced_ms)
{
	struct hl_node n;

	bpf_map_lookup_elem(nodes_fd, &id, &n);
	n.eff_role = role;
	n.synced_ms = synced_ms;
	bpf_map_update_elem(nodes_fd, &id, &n, BPF_ANY);
}

static void ryw_setup(__u32 window_ms)
{
	struct hl_ryw r = { .src_id = SVC, .window_ms = window_ms,
			    .primary_id = PRIMARY };
	struct hl_client_key k;
	__u32 id = SVC;

	fixture();
	while (!bpf_map_get_next_key(clients_fd, NULL, &k))
		bpf_map_delete_elem(clients_fd, &k);
	bpf_map_update_elem(ryw_fd, &id, &r, BPF_ANY);
	svc_opts(HL_SVC_O_RYW | HL_SVC_O_RYW_SRC, 0);
	node_ryw(10, HL_ROLE_STANDBY, 0);
	node_ryw(11, HL_ROLE_STANDBY, 0);
	node_ryw(PRIMARY, HL_ROLE_PRIMARY, 0);
}

static unsigned int clients(void)
{
	struct hl_client_key k, *prev = NULL;
	unsigned int n = 0;

	while (!bpf_map_get_next_key(clients_fd, prev, &k)) {
		prev = &k;
		n++;
	}
	return n;
}

/* A new flow from a source port whose table node is a standby. */
static struct spec standby_flow(uint16_t from)
{
	struct spec s = { .sport = from };

	while (table_node(s) == PRIMARY)
		s.sport++;
	return s;
}

static void test_ryw(void)
{
	struct spec data = { .sport = 41000, .tcp_flags = TCP_ACK };
	struct spec s;
	struct result r;

	ryw_setup(5000);
	/* Before any write: the strategy's node. */
	s = standby_flow(42000);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == table_node(s), "no write: the table's node");

	/* A bare ACK carries no data: nothing noted. */
	send_spec(data, &r);
	CHECK(clients() == 0, "a bare ACK noted the client");
	data.payload = 40;
	send_spec(data, &r);
	CHECK(clients() == 1, "a data packet did not note the client");

	/* Within the window, standbys of unknown position: the primary. */
	s = standby_flow(43000);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FWD_RYW);
	CHECK(out_node(&r) == PRIMARY, "read went to %lld, not the primary",
	      (long long)out_node(&r));
	CHECK(ct_node(s, NULL) == PRIMARY, "flow not kept on the primary");
	/* ... and the flow stays there (plain forwarded from now on). */
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == PRIMARY, "flow moved");

	/* A standby that had replayed only up to the write: still lagging. */
	node_ryw(10, HL_ROLE_STANDBY, now_ms());
	node_ryw(11, HL_ROLE_STANDBY, now_ms());
	s = standby_flow(44000);
	send_spec(s, &r);
	CHECK(out_node(&r) == PRIMARY, "standby replayed up to the write used");
	/* Replayed well past the write: the standby serves it. */
	node_ryw(10, HL_ROLE_STANDBY, now_ms() + 1000);
	node_ryw(11, HL_ROLE_STANDBY, now_ms() + 1000);
	s = standby_flow(45000);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == table_node(s), "fresh standby not used");

	/* Another client wrote nothing: the table's node. */
	node_ryw(10, HL_ROLE_STANDBY, 0);
	node_ryw(11, HL_ROLE_STANDBY, 0);
	s = standby_flow(46000);
	s.src = "198.18.0.222";
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);

	/* The window off: the table's node. */
	ryw_setup(0);
	data.payload = 40;
	send_spec(data, &r);
	s = standby_flow(47000);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(out_node(&r) == table_node(s), "window off but redirected");
	/* Not a write source: its data packets are not noted. */
	ryw_setup(5000);
	svc_opts(HL_SVC_O_RYW, 0);
	send_spec(data, &r);
	CHECK(clients() == 0, "noted without being a source");
}

static void test_fenced(void)
{
	struct spec s = { .sport = 41800 };
	struct result r;
	struct hl_flow f;
	struct hl_flow_key k;

	fixture();
	svc_opts(0, 5);
	send_spec(s, &r);			/* SYN under generation 5 */
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	k = flow_key(s);
	CHECK(!ct_get(ct_fd, &k, &f) && f.gen == 5,
	      "flow made under generation %u", f.gen);
	s.tcp_flags = TCP_ACK;
	s.payload = 20;
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);

	/* A new primary: generation 6. The node is still up and healthy. */
	svc_opts(0, 6);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_RESET_FENCED);
	CHECK(r.len == 14 + 20 + 20, "an RST, %u bytes", r.len);
	CHECK(ct_node(s, NULL) < 0, "fenced flow still in the table");
	/* The client starts again: a new flow of generation 6. */
	s.tcp_flags = TCP_SYN;
	s.payload = 0;
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	CHECK(!ct_get(ct_fd, &k, &f) && f.gen == 6, "gen %u", f.gen);

	/* A flow made before fencing began (0) is adopted, then fenced. */
	fixture();
	s = (struct spec){ .sport = 41900 };
	send_spec(s, &r);
	svc_opts(0, 7);
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	k = flow_key(s);
	CHECK(!ct_get(ct_fd, &k, &f) && f.gen == 7, "adopted: %u", f.gen);
	svc_opts(0, 8);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_RESET_FENCED);

	/* Fencing off (0): nothing is fenced. */
	fixture();
	s = (struct spec){ .sport = 42100 };
	svc_opts(0, 3);
	send_spec(s, &r);
	svc_opts(0, 0);
	s.tcp_flags = TCP_ACK;
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	if (skel) {	/* loaded by test_load */
		ryw_fd = bpf_map__fd(skel->maps.ryw);
		clients_fd = bpf_map__fd(skel->maps.ryw_clients);
	}
	SCENARIO(test_ryw);
	SCENARIO(test_fenced);
	helios_xdp__destroy(skel);
	return unit_done();
}
