// SPDX-License-Identifier: GPL-2.0
/*
 * Full NAT (fwd nat): forward and reply translation for TCP and UDP over
 * IPv4 and IPv6, every output checksum computed here from scratch and
 * compared byte for byte; bad input checksums that stay bad; ICMP errors
 * both ways; SNAT ports (collision, exhaustion) and addresses; a full
 * table that fails closed and keeps what it has; TCP state, the active
 * counts and the breaker's counter; expiry by the sweep; malformed and
 * stale replies; the client next-hop cache (FIB, one-armed XDP_TX, no
 * neighbour yet).
 *
 * Clients (198.18.2.0/24, fd00::2:0/112) are routed in our private
 * namespace through a veth, hln0, via a gateway with a permanent
 * neighbour entry: replies are redirected there with the gateway's MAC.
 * Frames, fixture and checks: fixture.h, pkt.h. Needs root.
 */
#include "fixture.h"

static int nat_fd, snat_fd, dsts_fd, nnh_fd, nat_active_fd, node_active_fd,
	   settings_fd, sweep_fd;
static int gw_ifindex;
static uint8_t gw_smac[6];
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0x09, 0x01 };
static bool net_ok;

#define SNAT4		"198.18.3.1"
#define SNAT6		"fd00::3:1"
#define TCP_FIN		0x01
#define TCP_RST		0x04

/* ---- headers of a frame, checksums from scratch ---- */

struct hdrs {
	size_t l3, l4, end;	/* offsets; end: where the IP length ends */
	bool v6;
	uint8_t proto;
};

static struct hdrs hdrs_of(const uint8_t *f)
{
	struct hdrs h = { .l3 = l3_offset(f) };
	const uint8_t *ip = f + h.l3;

	h.v6 = (ip[0] >> 4) == 6;
	if (h.v6) {
		uint8_t nh = ip[6];

		h.l4 = h.l3 + 40;
		while (nh == 0 || nh == 60) {	/* hop-by-hop, dest opts */
			nh = f[h.l4];
			h.l4 += 8 * (f[h.l4 + 1] + 1);
		}
		h.proto = nh;
		h.end = h.l3 + 40 + get16(ip + 4);
	} else {
		h.l4 = h.l3 + (ip[0] & 0xf) * 4;
		h.proto = ip[9];
		h.end = h.l3 + get16(ip + 2);
	}
	return h;
}

/* Sum of the pseudo-header of the L4 data at f+l4 (addresses from the
 * IP header at f+l3), RFC 768/793/8200. */
static uint32_t pseudo(const uint8_t *f, size_t l3, bool v6, uint8_t proto,
		       uint32_t l4len)
{
	uint32_t sum = proto + l4len;
	int n = v6 ? 32 : 8, at = v6 ? 8 : 12;

	for (int i = 0; i < n; i += 2)
		sum += get16(f + l3 + at + i);
	return sum;
}

static size_t l4_check_off(uint8_t proto)
{
	return proto == IPPROTO_UDP ? 6 : proto == IPPROTO_TCP ? 16 : 2;
}

/* The L4 checksum the segment at f+l4..end should carry. */
static uint16_t l4_scratch(const uint8_t *f, size_t l3, size_t l4, size_t end,
			   bool v6, uint8_t proto)
{
	uint8_t buf[FRAME_MAX];
	size_t n = end - l4, co = l4_check_off(proto);
	uint16_t c;

	memcpy(buf, f + l4, n);
	put16(buf + co, 0);
	c = csum16(buf, n, proto == IPPROTO_ICMP ? 0 :
				pseudo(f, l3, v6, proto, n));
	return proto == IPPROTO_UDP && !c ? 0xffff : c;
}

/* What the receiver's check sums to: 0 for a good checksum. */
static uint16_t l4_residue(const uint8_t *f, size_t l3, size_t l4, size_t end,
			   bool v6, uint8_t proto)
{
	return csum16(f + l4, end - l4, pseudo(f, l3, v6, proto, end - l4));
}

static void l4_csum_set(uint8_t *f)
{
	struct hdrs h = hdrs_of(f);

	put16(f + h.l4 + l4_check_off(h.proto),
	      l4_scratch(f, h.l3, h.l4, h.end, h.v6, h.proto));
}

static uint16_t ip4_scratch(const uint8_t *ip)
{
	uint8_t buf[60];
	size_t hl = (ip[0] & 0xf) * 4;

	memcpy(buf, ip, hl);
	put16(buf + 10, 0);
	return csum16(buf, hl, 0);
}

static void addr_str(uint8_t family, const __be32 *a, char *buf)
{
	inet_ntop(family == HL_AF_INET6 ? AF_INET6 : AF_INET, a, buf, 64);
}

/* ---- maps ---- */

static int nat_get(const struct hl_flow_key *k, struct hl_nat *e)
{
	return bpf_map_lookup_elem(nat_fd, k, e);
}

static uint32_t nat_count_entries(void)
{
	struct hl_flow_key k, *prev = NULL;
	uint32_t n = 0;

	while (!bpf_map_get_next_key(nat_fd, prev, &k)) {
		n++;
		prev = &k;
	}
	return n;
}

static void nat_flush(void)
{
	struct hl_flow_key k;
	struct hl_nat_dsts none = {};
	uint32_t zero = 0;

	while (!bpf_map_get_next_key(nat_fd, NULL, &k))
		bpf_map_delete_elem(nat_fd, &k);
	bpf_map_update_elem(dsts_fd, &zero, &none, BPF_ANY);
}

static struct hl_flow_key peer_key(const struct hl_nat *e,
				   const struct hl_flow_key *k)
{
	struct hl_flow_key p = { .sport = e->port, .dport = e->from_port,
				 .proto = k->proto, .family = k->family };

	memcpy(p.src, e->addr, 16);
	memcpy(p.dst, e->from, 16);
	return p;
}

static int64_t active_of(int fd, uint32_t id)
{
	int64_t v = 0;

	bpf_map_lookup_elem(fd, &id, &v);
	return v;
}

static void set_active(uint32_t id, int64_t v)
{
	bpf_map_update_elem(node_active_fd, &id, &v, BPF_ANY);
	bpf_map_update_elem(nat_active_fd, &id, &v, BPF_ANY);
}

static uint64_t node_rsts(uint32_t id)
{
	struct hl_counters c[ncpus];
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(node_stats_fd, &id, c))
		return 0;
	for (int i = 0; i < ncpus; i++)
		sum += c[i].rsts;
	return sum;
}

static void set_snat(uint32_t svc_id, uint8_t family, int n, const char **a)
{
	struct hl_snat s = { .count = n };

	for (int i = 0; i < n; i++)
		addr_parse(family, a[i], s.addrs[i]);
	bpf_map_update_elem(snat_fd, &svc_id, &s, BPF_ANY);
}

static void svc_update(uint32_t svc_id, uint8_t fwd, uint32_t flags)
{
	struct hl_svc_key k;
	struct hl_service v;

	svc_get(svc_id, &k, &v);
	v.fwd = fwd;
	v.flags = flags;
	svc_put(&k, &v);
}

static void set_timeouts(const uint32_t *s)
{
	struct hl_settings cfg = {};
	uint32_t zero = 0;

	bpf_map_lookup_elem(settings_fd, &zero, &cfg);
	memset(cfg.nat_timeout_s, 0, sizeof(cfg.nat_timeout_s));
	if (s)
		memcpy(cfg.nat_timeout_s, s, sizeof(cfg.nat_timeout_s));
	bpf_map_update_elem(settings_fd, &zero, &cfg, BPF_ANY);
}

/*
 * The fixture's four services in NAT mode: 1 (v4 TCP) and 3 (v6 TCP)
 * with an SNAT address each, 2 and 4 (UDP) with none (the node's next
 * hop source: 198.18.0.1, fd00::1). No NAT entries, counts at zero.
 */
static void nat_fixture(void)
{
	const char *s4[] = { SNAT4 }, *s6[] = { SNAT6 };

	fixture();
	nat_flush();
	set_timeouts(NULL);
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++) {
		svc_update(svcs[i].id, HL_FWD_NAT, 0);
		for (uint32_t k = 0; k < NPER; k++)
			set_active(svcs[i].base + k, 0);
	}
	/* every service NAT: their ports skip the connection table, as
	 * svc_ports_sync() marks them (a test that makes one IPIP again
	 * clears its port through svc_put) */
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++)
		nat_port_mark(svcs[i].port, true);
	set_snat(1, HL_AF_INET, 1, s4);
	set_snat(2, HL_AF_INET, 0, NULL);
	set_snat(3, HL_AF_INET6, 1, s6);
	set_snat(4, HL_AF_INET6, 0, NULL);
}

/* The SNAT address the fixture gives a flow of spec `s`. */
static void snat_of(struct spec s, __be32 a[4])
{
	s = defaults(s);
	if (s.proto == IPPROTO_TCP)
		addr_parse(s.family, s.family == HL_AF_INET6 ? SNAT6 : SNAT4, a);
	else
		addr_parse(s.family, s.family == HL_AF_INET6 ? "fd00::1" :
							       "198.18.0.1", a);
}

/* ---- frames ---- */

/* A client packet of spec `s` with a correct L4 checksum. */
static size_t build_c(uint8_t *b, struct spec s)
{
	size_t len = build(b, s);

	l4_csum_set(b);
	return len;
}

/* The node's answer to the flow of forward entry `e` (spec `s`). */
static size_t build_reply(uint8_t *b, struct spec s, const struct hl_nat *e,
			  uint8_t flags, uint16_t payload)
{
	char src[64], dst[64];
	struct spec r;

	s = defaults(s);
	addr_str(s.family, e->addr, src);
	addr_str(s.family, e->from, dst);
	r = (struct spec){ .family = s.family, .proto = s.proto, .src = src,
			   .dst = dst, .sport = ntohs(e->port),
			   .dport = ntohs(e->from_port), .tcp_flags = flags,
			   .payload = payload };
	return build_c(b, r);
}

/*
 * The frame the director should send for `in`: untagged Ethernet to
 * dmac from smac, addresses src -> dst, ports sport -> dport, and every
 * checksum computed here from scratch (an input UDP checksum 0 stays 0).
 */
static size_t expect_xlate(uint8_t *o, const uint8_t *in, size_t len,
			   const uint8_t *dmac, const uint8_t *smac,
			   const __be32 *src, const __be32 *dst,
			   __be16 sport, __be16 dport)
{
	struct hdrs h = hdrs_of(in), oh;
	size_t olen = 14 + len - h.l3;
	uint8_t *ip = o + 14;
	bool udp0;

	memcpy(o, dmac, 6);
	memcpy(o + 6, smac, 6);
	put16(o + 12, h.v6 ? 0x86dd : 0x0800);
	memcpy(ip, in + h.l3, len - h.l3);
	oh = hdrs_of(o);
	if (oh.v6) {
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, ip4_scratch(ip));
	}
	memcpy(o + oh.l4, &sport, 2);
	memcpy(o + oh.l4 + 2, &dport, 2);
	udp0 = oh.proto == IPPROTO_UDP && !get16(o + oh.l4 + 6);
	if (!udp0)
		put16(o + oh.l4 + l4_check_off(oh.proto),
		      l4_scratch(o, oh.l3, oh.l4, oh.end, oh.v6, oh.proto));
	return olen;
}

/* ---- the client next hop (hln0 and its gateway) ---- */

/* Clients behind a gateway on hln0; 198.18.7.0/24 behind one that has
 * no neighbour entry. */
static void test_net_setup(void)
{
	if (system("ip link add hln0 type veth peer name hln1 2>/dev/null"))
		SKIP("cannot create a veth pair (no veth support)");
	if (sh("ip link set hln0 up && ip link set hln1 up && "
	       "ip addr add 198.18.9.254/24 dev hln0 && "
	       "ip -6 addr add fd00::9:fffe/112 dev hln0 nodad && "
	       "ip neigh replace 198.18.9.1 lladdr 02:00:00:00:09:01 dev hln0 nud permanent && "
	       "ip -6 neigh replace fd00::9:1 lladdr 02:00:00:00:09:01 dev hln0 nud permanent && "
	       "ip route add 198.18.2.0/24 via 198.18.9.1 && "
	       "ip route add 198.18.7.0/24 via 198.18.9.2 && "
	       "ip -6 route add fd00::2:0/112 via fd00::9:1") ||
	    write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1") ||
	    write_sysctl("/proc/sys/net/ipv4/conf/lo/forwarding", "1") ||
	    write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")) {
		CHECK(0, "namespace setup failed");
		return;
	}
	gw_ifindex = if_nametoindex("hln0");
	get_mac("hln0", gw_smac);
	net_ok = gw_ifindex > 0;
}

/* What the loader does once: the expiry walks go to a kworker. */
static int run_setup(struct helios_xdp *s)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.nat_sweep_setup), &o))
		return -errno;
	return o.retval;
}

static void test_load_nat(void)
{
	if (load_failed)
		SKIP("program did not load");
	nat_fd = bpf_map__fd(skel->maps.nat);
	snat_fd = bpf_map__fd(skel->maps.snat_addrs);
	dsts_fd = bpf_map__fd(skel->maps.nat_dsts);
	nnh_fd = bpf_map__fd(skel->maps.nat_nexthops);
	nat_active_fd = bpf_map__fd(skel->maps.nat_active);
	node_active_fd = bpf_map__fd(skel->maps.node_active);
	settings_fd = bpf_map__fd(skel->maps.settings);
	sweep_fd = bpf_program__fd(skel->progs.nat_sweep_now);
	CHECK(!run_setup(skel), "nat_sweep_setup failed");
	CHECK(bpf_map__type(skel->maps.nat) == BPF_MAP_TYPE_HASH,
	      "nat is not a plain hash");
	CHECK(bpf_map__max_entries(skel->maps.nat) == 2 * HL_NAT_FLOWS,
	      "nat holds %u entries", bpf_map__max_entries(skel->maps.nat));
}

/* ---- running ---- */

static int sweep_now(void)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (bpf_prog_test_run_opts(sweep_fd, &o))
		return -errno;
	return o.retval;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Send the client packet `s` (a valid checksum) and check it came out
 * translated to its node: byte for byte against our own frame, the two
 * entries in place. *fe gets the forward entry.
 */
static void forward_ok(struct spec s, struct hl_nat *fe, uint16_t nport)
{
	struct hl_flow_key k = flow_key(s), rk;
	uint8_t in[FRAME_MAX], want[FRAME_MAX];
	uint32_t id = table_node(s);
	struct hl_nexthop nh = nh_for(id, defaults(s).family);
	struct hl_nat re;
	__be32 node[4], snat[4];
	struct result r;
	size_t len, wlen;

	s = defaults(s);
	len = build_c(in, s);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	memset(fe, 0, sizeof(*fe));
	CHECK(!nat_get(&k, fe), "no forward entry");
	node_addr(id, s.family, node);
	snat_of(s, snat);
	CHECK(fe->dir == HL_NAT_FORWARD && fe->node_id == id,
	      "forward entry: dir %u node %u, want node %u", fe->dir,
	      fe->node_id, id);
	CHECK(!memcmp(fe->addr, node, 16) && ntohs(fe->port) == nport,
	      "forward entry: not to the node's address and port %u", nport);
	CHECK(!memcmp(fe->from, snat, 16), "forward entry: not from the SNAT address");
	CHECK(ntohs(fe->from_port) >= HL_SNAT_PORT_MIN,
	      "SNAT port %u", ntohs(fe->from_port));
	rk = peer_key(fe, &k);
	CHECK(!nat_get(&rk, &re), "no reply entry");
	CHECK(re.dir == HL_NAT_REPLY && !memcmp(re.addr, k.src, 16) &&
	      re.port == k.sport && !memcmp(re.from, k.dst, 16) &&
	      re.from_port == k.dport, "reply entry does not lead back");
	wlen = expect_xlate(want, in, len, nh.dmac, nh.smac, fe->from,
			    fe->addr, fe->from_port, fe->port);
	check_bytes(r.out, r.len, want, wlen);
}

/* The node's answer `flags` to the flow of forward entry `fe`, checked
 * byte for byte on its way to the client's gateway. */
static void reply_ok(struct spec s, const struct hl_nat *fe, uint8_t flags)
{
	struct hl_flow_key k = flow_key(s);
	uint8_t in[FRAME_MAX], want[FRAME_MAX];
	struct result r;
	size_t len, wlen;

	len = build_reply(in, s, fe, flags, 40);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FWD_NAT_REPLY);
	wlen = expect_xlate(want, in, len, gw_mac, gw_smac, k.dst, k.src,
			    k.dport, k.sport);
	check_bytes(r.out, r.len, want, wlen);
}

/* ---- forward and reply ---- */

static void check_flow(struct spec s)
{
	struct hl_flow_key k;
	struct hl_nat fe, e;
	bool tcp;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	s = defaults(s);
	tcp = s.proto == IPPROTO_TCP;
	k = flow_key(s);
	forward_ok(s, &fe, s.dport);
	CHECK(ntohs(fe.from_port) == hl_snat_port(flow_hash(s), 0),
	      "SNAT port %u, want the first try %u", ntohs(fe.from_port),
	      hl_snat_port(flow_hash(s), 0));
	reply_ok(s, &fe, TCP_SYN | TCP_ACK);
	/* established: the same translation both ways, one entry each */
	s.tcp_flags = TCP_ACK;
	s.payload = 100;
	forward_ok(s, &e, s.dport);
	CHECK(e.from_port == fe.from_port, "SNAT port changed");
	reply_ok(s, &fe, TCP_ACK);
	CHECK(nat_count_entries() == 2, "%u entries, want 2",
	      nat_count_entries());
	nat_get(&k, &e);
	CHECK(e.packets == 2 && e.last_ns >= e.created_ns,
	      "forward counters: %llu packets", (unsigned long long)e.packets);
	CHECK(hl_nat_state(&e, s.proto) ==
	      (tcp ? HL_NAT_ESTABLISHED : HL_NAT_UDP), "state %u",
	      hl_nat_state(&e, s.proto));
}

static void test_v4_tcp(void) { check_flow((struct spec){ .sport = 43000 }); }
static void test_v4_udp(void)
{
	check_flow((struct spec){ UDP, .sport = 43002, .payload = 30 });
}
static void test_v6_tcp(void) { check_flow((struct spec){ V6, .sport = 43004 }); }
static void test_v6_udp(void)
{
	check_flow((struct spec){ V6, UDP, .sport = 43006, .payload = 30 });
}

/* IPv4 options and IPv6 extension headers before L4, a VLAN tag (gone
 * on the way out), a node port of its own. */
static void test_headers_and_node_port(void)
{
	struct spec s4 = { .sport = 43010, .ip_opts = 8, .vlan_tpid = 0x8100,
			   .vlan_tci = 5 };
	struct spec s6 = { V6, UDP, .sport = 43012, .v6_ext = 2,
			   .payload = 9 };
	uint32_t id = table_node(s4);
	struct hl_node n;
	struct hl_nat fe;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	bpf_map_lookup_elem(nodes_fd, &id, &n);
	n.port = htons(6432);
	bpf_map_update_elem(nodes_fd, &id, &n, BPF_ANY);
	forward_ok(s4, &fe, 6432);
	reply_ok(s4, &fe, TCP_SYN | TCP_ACK);
	forward_ok(s6, &fe, 5353);
	reply_ok(s6, &fe, 0);
}

/* A UDP checksum of 0 (none) stays 0; IPv4 header and L4 checksums that
 * are wrong stay wrong, by exactly as much. */
static void test_bad_checksums(void)
{
	struct spec s = { .sport = 43020, .payload = 20 };
	struct spec u = { UDP, .sport = 43022, .payload = 20 };
	uint8_t in[FRAME_MAX];
	struct hdrs h, oh;
	struct result r;
	uint16_t rin, rout;
	size_t len;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();

	len = build(in, u);	/* pkt.h leaves the UDP checksum 0 */
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	oh = hdrs_of(r.out);
	CHECK(get16(r.out + oh.l4 + 6) == 0, "UDP checksum 0 became %#x",
	      get16(r.out + oh.l4 + 6));

	len = build_c(in, s);
	h = hdrs_of(in);
	put16(in + h.l4 + 16, get16(in + h.l4 + 16) + 0x0101);
	put16(in + h.l3 + 10, get16(in + h.l3 + 10) ^ 0x0400);
	rin = l4_residue(in, h.l3, h.l4, h.end, false, IPPROTO_TCP);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	oh = hdrs_of(r.out);
	rout = l4_residue(r.out, oh.l3, oh.l4, oh.end, false, IPPROTO_TCP);
	CHECK(rin != 0 && rout == rin, "TCP residue %#x, want %#x", rout, rin);
	CHECK(csum16(r.out + oh.l3, 20, 0) == csum16(in + h.l3, 20, 0) &&
	      csum16(r.out + oh.l3, 20, 0) != 0,
	      "IPv4 header residue %#x, want %#x",
	      csum16(r.out + oh.l3, 20, 0), csum16(in + h.l3, 20, 0));
	CHECK(get16(r.out + oh.l4 + 16) !=
	      l4_scratch(r.out, oh.l3, oh.l4, oh.end, false, IPPROTO_TCP),
	      "a bad TCP checksum was made good");
}

/* Too big for the node's MTU: answered with the MTU itself (no outer
 * header in NAT), nothing made. */
static void test_too_big(void)
{
	struct spec s = { .sport = 43030, .payload = 1461 };
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	nat_fixture();
	len = build_c(in, s);
	run_xdp(in, len, &r);
	check_too_big(in, len, s, &r, MTU + 20);
	CHECK(nat_count_entries() == 0, "entries made for a too-big packet");
	s.payload = 1460;
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
}

/* ---- SNAT addresses and ports ---- */

static void test_snat_address_choice(void)
{
	const char *two[] = { "198.18.3.1", "198.18.3.2" };
	struct spec s = { .sport = 43040 };
	struct hl_flow_key k;
	struct hl_nexthop nh;
	struct hl_nat fe;
	struct result r;
	__be32 want[4];
	uint32_t id;

	nat_fixture();
	set_snat(1, HL_AF_INET, 2, two);
	for (int i = 0; i < 4; i++, s.sport += 2) {
		send_spec(s, &r);
		check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
		k = flow_key(s);
		nat_get(&k, &fe);
		addr_parse(HL_AF_INET, two[flow_hash(s) % 2], want);
		CHECK(fe.from[0] == want[0], "flow %u: SNAT address by hash",
		      s.sport);
	}

	/* none configured and no next-hop source: nothing to NAT from */
	set_snat(1, HL_AF_INET, 0, NULL);
	s.sport = 43050;
	id = table_node(s);
	nh = nh_for(id, HL_AF_INET);
	memset(nh.src, 0, sizeof(nh.src));
	nh.updated_ns = mono_ns();	/* fresh: no FIB refresh */
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	send_spec(s, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_NO_SNAT);
	CHECK(nat_count_entries() == 8, "%u entries", nat_count_entries());
}

/*
 * Two clients whose first SNAT port is the same, to the same node: the
 * second gets its second try. A flow whose every try is taken: dropped,
 * dropped-nat-no-port, nothing left behind.
 */
static void test_port_collision(void)
{
	static uint16_t seen[HL_SNAT_PORT_MAX + 1][NPER];
	struct spec a = { .src = "198.18.2.1" }, b = { .src = "198.18.2.2" };
	struct hl_nat fa, fb;
	struct hl_flow_key k;
	uint32_t found = 0;
	struct result r;

	if (!net_ok)
		SKIP("no client route");
	memset(seen, 0, sizeof(seen));
	/* a client port of a and one of b that start on one SNAT port */
	for (uint32_t p = 1024; p < 65536 && !found; p++) {
		uint16_t port, node;

		a.sport = p;
		port = hl_snat_port(flow_hash(a), 0);
		node = table_node(a) - 10;
		seen[port][node] = p;
		b.sport = p;
		port = hl_snat_port(flow_hash(b), 0);
		node = table_node(b) - 10;
		if (seen[port][node]) {
			a.sport = seen[port][node];
			found = p;
		}
	}
	if (!found)
		SKIP("no colliding pair found");
	nat_fixture();
	CHECK(hl_snat_port(flow_hash(a), 0) == hl_snat_port(flow_hash(b), 0) &&
	      table_node(a) == table_node(b), "the pair does not collide");
	forward_ok(a, &fa, 5432);
	forward_ok(b, &fb, 5432);
	CHECK(fa.from_port != fb.from_port, "both on SNAT port %u",
	      ntohs(fa.from_port));
	CHECK(ntohs(fb.from_port) == hl_snat_port(flow_hash(b), 1),
	      "second flow on %u, want its second try %u", ntohs(fb.from_port),
	      hl_snat_port(flow_hash(b), 1));
	reply_ok(a, &fa, TCP_SYN | TCP_ACK);
	reply_ok(b, &fb, TCP_SYN | TCP_ACK);

	/* every try of a third flow taken (by reply entries of our own) */
	b.sport = found == 65535 ? 1024 : found + 1;
	b.src = "198.18.2.3";
	k = flow_key(b);
	for (uint32_t i = 0; i < HL_SNAT_PROBES; i++) {
		struct hl_flow_key rk = { .sport = htons(5432),
					  .proto = IPPROTO_TCP,
					  .family = HL_AF_INET };
		struct hl_nat v = { .dir = HL_NAT_REPLY };

		node_addr(table_node(b), HL_AF_INET, rk.src);
		addr_parse(HL_AF_INET, SNAT4, rk.dst);
		rk.dport = htons(hl_snat_port(flow_hash(b), i));
		bpf_map_update_elem(nat_fd, &rk, &v, BPF_NOEXIST);
	}
	send_spec(b, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_PORTS);
	CHECK(nat_get(&k, &fa), "a forward entry without a port");
}

/* ---- a full table ---- */

static struct helios_xdp *small;

/* Point the fixture at another loaded copy of the program. */
static void use_skel(struct helios_xdp *s)
{
	prog_fd = bpf_program__fd(s->progs.helios_xdp);
	services_fd = bpf_map__fd(s->maps.services);
	svc_by_id_fd = bpf_map__fd(s->maps.svc_by_id);
	nat_ports_fd = bpf_map__fd(s->maps.nat_ports);
	nodes_fd = bpf_map__fd(s->maps.nodes);
	nexthops_fd = bpf_map__fd(s->maps.nexthops);
	slots_fd = bpf_map__fd(s->maps.slots);
	ct_fd = bpf_map__fd(s->maps.conntrack);
	/* small shards for the small instances (the fixture made the main one's) */
	CHECK(!ct_shards_create(ct_fd, 64, sizeof(struct hl_flow)),
	      "conntrack shards");
	svc_stats_fd = bpf_map__fd(s->maps.svc_stats);
	node_stats_fd = bpf_map__fd(s->maps.node_stats);
	reasons_fd = bpf_map__fd(s->maps.reasons);
	nat_fd = bpf_map__fd(s->maps.nat);
	snat_fd = bpf_map__fd(s->maps.snat_addrs);
	dsts_fd = bpf_map__fd(s->maps.nat_dsts);
	nnh_fd = bpf_map__fd(s->maps.nat_nexthops);
	nat_active_fd = bpf_map__fd(s->maps.nat_active);
	node_active_fd = bpf_map__fd(s->maps.node_active);
	settings_fd = bpf_map__fd(s->maps.settings);
	sweep_fd = bpf_program__fd(s->progs.nat_sweep_now);
}

/*
 * A table of 5 entries (two flows and a half): the third flow gets its
 * reply entry, not its forward one, and gives the reply entry back;
 * dropped-nat-table-full, and the two flows go on as before.
 */
static void test_table_full(void)
{
	struct spec f[3] = { { .sport = 43100 }, { .sport = 43102 },
			     { .sport = 43104 } };
	struct hl_nat fe[3];
	struct result r;

	if (!net_ok)
		SKIP("no client route");
	small = helios_xdp__open();
	if (!small) {
		CHECK(0, "open: %s", strerror(errno));
		return;
	}
	bpf_map__set_max_entries(small->maps.nat, 5);
	if (helios_xdp__load(small)) {
		CHECK(0, "load with a 5-entry table: %s", strerror(errno));
		helios_xdp__destroy(small);
		small = NULL;
		return;
	}
	use_skel(small);
	nat_fixture();
	forward_ok(f[0], &fe[0], 5432);
	forward_ok(f[1], &fe[1], 5432);
	send_spec(f[2], &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_FULL);
	CHECK(nat_count_entries() == 4, "%u entries, want the 4 of the flows",
	      nat_count_entries());
	f[0].tcp_flags = f[1].tcp_flags = TCP_ACK;
	forward_ok(f[0], &fe[2], 5432);
	CHECK(fe[2].from_port == fe[0].from_port, "flow 1 moved");
	reply_ok(f[1], &fe[1], TCP_ACK);
	send_spec(f[2], &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_FULL);
	/* every entry taken: the reply entry itself fails */
	{
		struct hl_flow_key k = { .sport = htons(1), .proto = IPPROTO_TCP,
					 .family = HL_AF_INET };
		struct hl_nat v = { .dir = HL_NAT_REPLY };

		CHECK(!bpf_map_update_elem(nat_fd, &k, &v, BPF_NOEXIST),
		      "the fifth entry");
		send_spec(f[2], &r);
		check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_FULL);
		CHECK(nat_count_entries() == 5, "%u entries",
		      nat_count_entries());
		/* room again: the flow is made */
		bpf_map_delete_elem(nat_fd, &k);
		k = flow_key(f[0]);
		bpf_map_delete_elem(nat_fd, &k);
		k = peer_key(&fe[0], &k);
		bpf_map_delete_elem(nat_fd, &k);
		forward_ok(f[2], &fe[2], 5432);
	}
	use_skel(skel);
	helios_xdp__destroy(small);
	small = NULL;
}

/* ---- TCP state, counts, breaker ---- */

static uint8_t state_of(struct spec s)
{
	struct hl_flow_key k = flow_key(s);
	struct hl_nat e;

	if (nat_get(&k, &e))
		return 0xff;
	return hl_nat_state(&e, defaults(s).proto);
}

/* SYN, SYN-ACK, ACK, FIN from the client, FIN from the node: SYN_SENT,
 * ESTABLISHED, FIN, CLOSED; the node's active count +1 then -1, once. */
static void test_tcp_states(void)
{
	struct spec s = { .sport = 43200 };
	uint32_t id = table_node(s);
	uint8_t in[FRAME_MAX];
	struct hl_nat fe, re;
	struct hl_flow_key k = flow_key(s), rk;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	forward_ok(s, &fe, 5432);
	CHECK(state_of(s) == HL_NAT_SYN_SENT, "state %u after the SYN",
	      state_of(s));
	CHECK(active_of(node_active_fd, id) == 1 &&
	      active_of(nat_active_fd, id) == 1, "active %lld/%lld after the SYN",
	      (long long)active_of(node_active_fd, id),
	      (long long)active_of(nat_active_fd, id));
	reply_ok(s, &fe, TCP_SYN | TCP_ACK);
	CHECK(state_of(s) == HL_NAT_ESTABLISHED, "state %u after the SYN-ACK",
	      state_of(s));
	s.tcp_flags = TCP_ACK;
	forward_ok(s, &fe, 5432);
	s.tcp_flags = TCP_FIN | TCP_ACK;
	forward_ok(s, &fe, 5432);
	CHECK(state_of(s) == HL_NAT_FIN, "state %u after one FIN", state_of(s));
	CHECK(active_of(node_active_fd, id) == 1, "uncounted at one FIN");
	reply_ok(s, &fe, TCP_FIN | TCP_ACK);
	CHECK(state_of(s) == HL_NAT_CLOSED, "state %u after both FINs",
	      state_of(s));
	CHECK(active_of(node_active_fd, id) == 0 &&
	      active_of(nat_active_fd, id) == 0, "active %lld after the close",
	      (long long)active_of(node_active_fd, id));
	/* retransmitted FINs, the last ACK: nothing more taken off */
	reply_ok(s, &fe, TCP_FIN | TCP_ACK);
	s.tcp_flags = TCP_ACK;
	forward_ok(s, &fe, 5432);
	CHECK(active_of(node_active_fd, id) == 0, "taken off twice: %lld",
	      (long long)active_of(node_active_fd, id));
	nat_get(&k, &fe);
	rk = peer_key(&fe, &k);
	nat_get(&rk, &re);
	CHECK((fe.seen & (HL_NAT_SEEN_SYN | HL_NAT_SEEN_ACK | HL_NAT_SEEN_FIN)) ==
	      (HL_NAT_SEEN_SYN | HL_NAT_SEEN_ACK | HL_NAT_SEEN_FIN) &&
	      (re.seen & (HL_NAT_SEEN_SYN | HL_NAT_SEEN_ACK | HL_NAT_SEEN_FIN)) ==
	      (HL_NAT_SEEN_SYN | HL_NAT_SEEN_ACK | HL_NAT_SEEN_FIN),
	      "seen %#x / %#x", fe.seen, re.seen);
	CHECK(fe.packets == 4 && re.packets == 3, "packets %llu / %llu",
	      (unsigned long long)fe.packets, (unsigned long long)re.packets);

	/* a SYN on the closed flow starts a new one (counted again) */
	s.tcp_flags = TCP_SYN;
	build_c(in, s);
	forward_ok(s, &fe, 5432);
	CHECK(state_of(s) == HL_NAT_SYN_SENT, "state %u after a new SYN",
	      state_of(s));
	CHECK(active_of(node_active_fd, id) == 1, "new flow not counted");
	CHECK(nat_count_entries() == 2, "%u entries", nat_count_entries());
}

/* The node answers the SYN with an RST: CLOSED, uncounted, and one RST
 * for its breaker. The client resets another flow: what the node still
 * sends is dropped as stale, its own RST is not. */
static void test_tcp_resets(void)
{
	struct spec s = { .sport = 43300 }, c = { .sport = 43302 };
	uint32_t id = table_node(s), idc = table_node(c);
	uint64_t rsts;
	uint8_t in[FRAME_MAX];
	struct hl_nat fe, fc;
	struct result r;
	size_t len;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	rsts = node_rsts(id);
	forward_ok(s, &fe, 5432);
	reply_ok(s, &fe, TCP_RST | TCP_ACK);
	CHECK(state_of(s) == HL_NAT_CLOSED, "state %u after the node's RST",
	      state_of(s));
	CHECK(node_rsts(id) == rsts + 1, "node RSTs %llu, want %llu",
	      (unsigned long long)node_rsts(id), (unsigned long long)rsts + 1);
	CHECK(active_of(node_active_fd, id) == 0, "active %lld after the RST",
	      (long long)active_of(node_active_fd, id));
	reply_ok(s, &fe, TCP_RST | TCP_ACK);
	CHECK(node_rsts(id) == rsts + 1, "a second RST counted");

	forward_ok(c, &fc, 5432);
	reply_ok(c, &fc, TCP_SYN | TCP_ACK);
	c.tcp_flags = TCP_RST;
	forward_ok(c, &fc, 5432);
	CHECK(state_of(c) == HL_NAT_CLOSED, "state %u after the client's RST",
	      state_of(c));
	CHECK(active_of(node_active_fd, idc) == 0,
	      "active %lld after the client's RST",
	      (long long)active_of(node_active_fd, idc));
	len = build_reply(in, c, &fc, TCP_ACK, 100);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_STALE);
	reply_ok(c, &fc, TCP_RST);
}

/* A flow whose node is gone: ended (uncounted, both entries), and the
 * packet starts a new flow on another node, or is answered with an RST
 * when the service asks for that. */
static void test_node_gone(void)
{
	struct spec s = { .sport = 43400, .tcp_flags = TCP_ACK };
	uint32_t id = table_node(s), other[1];
	struct hl_nat fe, fe2;
	struct result r;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	forward_ok(s, &fe, 5432);
	node_update(id, HL_NODE_F_UNHEALTHY, 0);
	other[0] = id == 10 ? 11 : 10;
	set_table(1, RING, other, 1);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	{
		struct hl_flow_key k = flow_key(s);

		nat_get(&k, &fe2);
	}
	CHECK(fe2.node_id == other[0], "flow on %u, want %u", fe2.node_id,
	      other[0]);
	CHECK(active_of(node_active_fd, id) == 0 &&
	      active_of(node_active_fd, other[0]) == 1, "counts %lld/%lld",
	      (long long)active_of(node_active_fd, id),
	      (long long)active_of(node_active_fd, other[0]));
	CHECK(nat_count_entries() == 2, "%u entries", nat_count_entries());

	svc_update(1, HL_FWD_NAT, HL_SVC_F_RESET);
	node_update(other[0], HL_NODE_F_UNHEALTHY, 0);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_RESET_NODE_DOWN);
	CHECK(nat_count_entries() == 0, "%u entries after the reset",
	      nat_count_entries());
}

/* Fencing (fence.h): a flow created up to the moment the write service's
 * current generation took over is reset, its node healthy or not; one
 * created after it goes on. */
static void test_fenced(void)
{
	struct spec s = { .sport = 43450, .tcp_flags = TCP_ACK };
	struct hl_svc_key k;
	struct hl_service v;
	struct hl_nat fe;
	struct result r;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	forward_ok(s, &fe, 5432);
	svc_get(1, &k, &v);
	v.gen = 2;
	v.gen_ns = fe.created_ns;	/* took over in the flow's own tick */
	svc_put(&k, &v);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_RESET_FENCED);
	CHECK(nat_count_entries() == 0, "%u entries after the reset",
	      nat_count_entries());

	/* A flow made after the take-over: forwarded, and again. */
	v.gen_ns = fe.created_ns - 1;
	svc_put(&k, &v);
	s.sport = 43451;
	forward_ok(s, &fe, 5432);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	/* A SYN of a fenced flow is no reset: it starts a new flow. */
	v.gen_ns = fe.created_ns;
	svc_put(&k, &v);
	s.tcp_flags = TCP_SYN;
	send_spec(s, &r);
	CHECK(r.delta[HL_REASON_RESET_FENCED] == 0, "SYN answered with a reset");
}

/* A switchover past its drain time (switchover.h): a NAT flow still open
 * gets an RST from the VIP on its next segment and both its entries go,
 * as a conntrack flow does; a SYN is held, never reset. Before the drain
 * is over the flow goes on. */
static void test_switchover_reset(void)
{
	struct spec s = { .sport = 43460, .tcp_flags = TCP_ACK };
	struct hl_switchover so = { .until_ns = mono_ns() + 10000000000ull };
	int swo_fd = bpf_map__fd(skel->maps.switchover);
	struct hl_svc_key k;
	struct hl_service v;
	struct hl_nat fe;
	struct result r;
	__u32 id = 1;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	forward_ok(s, &fe, 5432);
	CHECK(!bpf_map_update_elem(swo_fd, &id, &so, BPF_ANY), "switchover map");
	svc_get(1, &k, &v);
	v.flags |= HL_SVC_F_SWITCHOVER;
	svc_put(&k, &v);
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);	/* draining */

	so.flags = HL_SWO_F_RESET;
	CHECK(!bpf_map_update_elem(swo_fd, &id, &so, BPF_ANY), "switchover map");
	send_spec(s, &r);
	check_verdict(&r, XDP_TX, HL_REASON_RESET_SWITCHOVER);
	CHECK(r.len >= 14 + 20 + 20 && (r.out[14 + 20 + 13] & TCP_RST),
	      "not an RST");
	CHECK(nat_count_entries() == 0, "%u entries after the reset",
	      nat_count_entries());
	s.tcp_flags = TCP_SYN;
	send_spec(s, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_HELD_SWITCHOVER);
	CHECK(nat_count_entries() == 0, "a held SYN made entries");

	so.until_ns = 0;	/* lapsed: the next test's service is free */
	bpf_map_update_elem(swo_fd, &id, &so, BPF_ANY);
	v.flags &= ~HL_SVC_F_SWITCHOVER;
	svc_put(&k, &v);
}

/* ---- expiry ---- */

/* Age both entries of the flow of `s` by `ns`. */
static void age(struct spec s, uint64_t ns)
{
	struct hl_flow_key k = flow_key(s), rk;
	struct hl_nat e;
	uint64_t now = mono_ns();

	if (nat_get(&k, &e))
		return;
	rk = peer_key(&e, &k);
	e.last_ns = now - ns;
	e.created_ns = now - ns;
	bpf_map_update_elem(nat_fd, &k, &e, BPF_EXIST);
	if (nat_get(&rk, &e))
		return;
	if (e.last_ns)
		e.last_ns = now - ns;
	e.created_ns = now - ns;
	bpf_map_update_elem(nat_fd, &rk, &e, BPF_EXIST);
}

static bool alive(struct spec s)
{
	struct hl_flow_key k = flow_key(s);
	struct hl_nat e;

	return !nat_get(&k, &e);
}

/*
 * Idle past their state's timeout: gone, both entries, and uncounted if
 * they still were; younger ones stay. A timeout from the settings
 * replaces the default.
 */
static void test_expiry(void)
{
	struct spec est = { .sport = 43500 }, young = { .sport = 43502 },
		    syn = { .sport = 43504 }, closed = { .sport = 43506 },
		    udp = { UDP, .sport = 43508 }, udp_young = { UDP, .sport = 43510 };
	uint32_t tmo[5] = { 0 };
	struct hl_nat fe;
	int ended;

	if (!net_ok)
		SKIP("no client route");
	if (mono_ns() < 250000000000ull)
		SKIP("the monotonic clock is below the ages this test sets");
	nat_fixture();
	forward_ok(est, &fe, 5432);
	reply_ok(est, &fe, TCP_SYN | TCP_ACK);
	forward_ok(young, &fe, 5432);
	reply_ok(young, &fe, TCP_SYN | TCP_ACK);
	forward_ok(syn, &fe, 5432);
	forward_ok(closed, &fe, 5432);
	reply_ok(closed, &fe, TCP_RST | TCP_ACK);
	forward_ok(udp, &fe, 5353);
	forward_ok(udp_young, &fe, 5353);
	CHECK(nat_count_entries() == 12, "%u entries", nat_count_entries());

	/* ESTABLISHED by the settings (2 h would need a machine up for
	 * longer than that), the rest by the defaults */
	tmo[HL_NAT_ESTABLISHED] = 200;
	set_timeouts(tmo);
	age(est, 201000000000ull);
	age(young, 150000000000ull);
	age(syn, HL_NAT_SYN_SENT_NS + 1000000000ull);
	age(closed, HL_NAT_CLOSED_NS + 1000000000ull);
	age(udp, HL_NAT_UDP_NS + 1000000000ull);
	age(udp_young, HL_NAT_UDP_NS - 10000000000ull);
	ended = sweep_now();
	CHECK(ended == 4, "the sweep ended %d flows, want 4", ended);
	CHECK(!alive(est) && !alive(syn) && !alive(closed) && !alive(udp),
	      "an expired flow is still there");
	CHECK(alive(young) && alive(udp_young), "a live flow was ended");
	CHECK(nat_count_entries() == 4, "%u entries left, want 4",
	      nat_count_entries());
	for (uint32_t id = 10; id < 10 + NPER; id++)
		CHECK(active_of(node_active_fd, id) ==
		      active_of(nat_active_fd, id), "node %u: counts differ", id);
	{
		int64_t sum = 0;

		for (uint32_t id = 10; id < 10 + NPER; id++)
			sum += active_of(node_active_fd, id);
		CHECK(sum == 1, "TCP nodes count %lld flows, want 1 (young)",
		      (long long)sum);
		sum = 0;
		for (uint32_t id = 20; id < 20 + NPER; id++)
			sum += active_of(node_active_fd, id);
		CHECK(sum == 1, "UDP nodes count %lld flows, want 1",
		      (long long)sum);
	}

	/* ESTABLISHED after 5 s */
	tmo[HL_NAT_ESTABLISHED] = 5;
	set_timeouts(tmo);
	age(young, 6000000000ull);
	age(udp_young, 6000000000ull);
	ended = sweep_now();
	CHECK(ended == 1 && !alive(young) && alive(udp_young),
	      "settings timeout: ended %d", ended);
	set_timeouts(NULL);
	/* a packet after the walk's start (another CPU, while it walks):
	 * not idle, though now - last wraps around */
	{
		struct hl_flow_key k = flow_key(udp_young);
		struct hl_nat e;

		nat_get(&k, &e);
		e.last_ns = mono_ns() + 10000000000ull;
		bpf_map_update_elem(nat_fd, &k, &e, BPF_EXIST);
		k = peer_key(&e, &k);
		nat_get(&k, &e);
		e.last_ns = 0;
		bpf_map_update_elem(nat_fd, &k, &e, BPF_EXIST);
		CHECK(sweep_now() == 0 && alive(udp_young),
		      "a flow younger than the walk was ended");
	}
	/* the reply side alone keeps a flow alive */
	{
		struct hl_flow_key k = flow_key(udp_young);
		struct hl_nat e;

		age(udp_young, HL_NAT_UDP_NS + 1000000000ull);
		nat_get(&k, &e);
		k = peer_key(&e, &k);
		nat_get(&k, &e);
		e.last_ns = mono_ns();
		bpf_map_update_elem(nat_fd, &k, &e, BPF_EXIST);
		CHECK(sweep_now() == 0 && alive(udp_young),
		      "ended with a busy reply side");
	}
}

/*
 * The timer: armed by the first NAT flow, it expires flows by itself,
 * with the walk in the work item once nat_sweep_setup ran, in the timer
 * (softirq) before. A copy of the program with a 50 ms interval.
 */
static void check_sweep_timer(bool wq)
{
	struct spec s = { .sport = 43550 }, t = { .sport = 43552 };
	uint32_t tmo[5] = { 1, 0, 0, 0, 0 };	/* SYN_SENT after 1 s */
	struct helios_xdp *x;
	struct hl_nat fe;

	if (!net_ok)
		SKIP("no client route");
	x = helios_xdp__open();
	if (!x) {
		CHECK(0, "open: %s", strerror(errno));
		return;
	}
	x->rodata->hl_nat_sweep_ns = 50000000;
	bpf_map__set_max_entries(x->maps.nat, 64);
	if (helios_xdp__load(x)) {
		CHECK(0, "load: %s", strerror(errno));
		helios_xdp__destroy(x);
		return;
	}
	if (wq)
		CHECK(!run_setup(x), "nat_sweep_setup failed");
	use_skel(x);
	nat_fixture();
	set_timeouts(tmo);
	forward_ok(s, &fe, 5432);
	forward_ok(t, &fe, 5432);
	age(s, 2000000000ull);
	usleep(300000);
	CHECK(!alive(s) && alive(t), "the timer did not expire the aged flow");
	CHECK(x->bss->nat_sweep_walks >= 2, "%llu walks in 300 ms",
	      (unsigned long long)x->bss->nat_sweep_walks);
	if (wq)
		CHECK(x->bss->nat_sweep_wq_walks >= 2 &&
		      x->bss->nat_sweep_wq_walks + 1 >= x->bss->nat_sweep_walks,
		      "%llu of %llu walks in the work item",
		      (unsigned long long)x->bss->nat_sweep_wq_walks,
		      (unsigned long long)x->bss->nat_sweep_walks);
	else
		CHECK(x->bss->nat_sweep_wq_walks == 0, "a work item without setup");
	use_skel(skel);
	helios_xdp__destroy(x);
}

static void test_sweep_timer_wq(void) { check_sweep_timer(true); }
static void test_sweep_timer_softirq(void) { check_sweep_timer(false); }

/* ---- malformed replies, traffic that is not ours ---- */

static void test_reply_malformed(void)
{
	struct spec s = { .sport = 43600 }, u = { UDP, .sport = 43602 };
	uint8_t in[FRAME_MAX];
	struct hl_nat fe, fu, e;
	struct hl_flow_key k;
	struct hdrs h;
	struct result r;
	size_t len;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	forward_ok(s, &fe, 5432);
	forward_ok(u, &fu, 5353);

	len = build_reply(in, s, &fe, TCP_SYN | TCP_FIN | TCP_ACK, 0);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_MALFORMED);
	check_bytes(r.out, r.len, in, len);
	len = build_reply(in, s, &fe, 0, 0);	/* no flags at all */
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_MALFORMED);

	len = build_reply(in, u, &fu, 0, 20);
	h = hdrs_of(in);
	put16(in + h.l4 + 4, 7);		/* UDP length below its header */
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_MALFORMED);
	check_bytes(r.out, r.len, in, len);
	put16(in + h.l4 + 4, 8 + 21);		/* beyond the IP length */
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NAT_MALFORMED);
	k = flow_key(u);
	k = peer_key(&fu, &k);
	nat_get(&k, &e);
	CHECK(e.packets == 0, "a malformed reply was counted in the flow");

	/* to the SNAT address, no entry: not ours, passed untouched */
	fe.from_port = htons(ntohs(fe.from_port) ^ 1);
	len = build_reply(in, s, &fe, TCP_SYN | TCP_ACK, 0);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_PASS, HL_REASON_PASS_NOT_SERVICE);
	check_bytes(r.out, r.len, in, len);
}

/* ---- the client next hop ---- */

static void test_client_nexthop(void)
{
	struct spec s = { .sport = 43700 }, far = { .sport = 43702,
						     .src = "198.18.7.1" };
	struct hl_flow_key k = flow_key(s);
	uint8_t in[FRAME_MAX], want[FRAME_MAX];
	struct hl_nat_nh c[2];
	struct hl_nat fe;
	struct result r;
	uint32_t slot;
	size_t len, wlen;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	for (uint32_t i = 0; i < HL_NAT_NH_SLOTS; i++) {
		struct hl_nat_nh none = {};

		bpf_map_update_elem(nnh_fd, &i, &none, BPF_ANY);
	}
	forward_ok(s, &fe, 5432);
	reply_ok(s, &fe, TCP_SYN | TCP_ACK);
	slot = hl_nat_nh_slot(k.src);
	bpf_map_lookup_elem(nnh_fd, &slot, &c[0]);
	CHECK((c[0].flags & HL_NH_F_VALID) && !memcmp(c[0].addr, k.src, 16) &&
	      c[0].ifindex == (uint32_t)gw_ifindex &&
	      !memcmp(c[0].dmac, gw_mac, 6), "cache entry not filled");

	/* the neighbour moves: a fresh entry is kept, a stale one looked up
	 * again */
	sh("ip neigh replace 198.18.9.1 lladdr 02:00:00:00:09:02 dev hln0 nud permanent");
	reply_ok(s, &fe, TCP_ACK);
	c[0].updated_ns = 1;
	bpf_map_update_elem(nnh_fd, &slot, &c[0], BPF_ANY);
	len = build_reply(in, s, &fe, TCP_ACK, 10);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FWD_NAT_REPLY);
	CHECK(r.out[5] == 0x02, "stale entry not looked up again");
	bpf_map_lookup_elem(nnh_fd, &slot, &c[1]);
	CHECK(c[1].updated_ns > 1, "refresh not recorded");
	sh("ip neigh replace 198.18.9.1 lladdr 02:00:00:00:09:01 dev hln0 nud permanent");
	c[0].updated_ns = mono_ns();
	bpf_map_update_elem(nnh_fd, &slot, &c[0], BPF_ANY);

	/* one-armed: the client is out the device the reply came in on */
	len = build_reply(in, s, &fe, TCP_ACK, 10);
	c[0].updated_ns = 1;	/* looked up again, from hln0 */
	bpf_map_update_elem(nnh_fd, &slot, &c[0], BPF_ANY);
	run_xdp_on(in, len, gw_ifindex, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FWD_NAT_REPLY);
	wlen = expect_xlate(want, in, len, gw_mac, gw_smac, k.dst, k.src,
			    k.dport, k.sport);
	check_bytes(r.out, r.len, want, wlen);

	/* no neighbour for the gateway yet: translated, to the stack */
	forward_ok(far, &fe, 5432);
	len = build_reply(in, far, &fe, TCP_SYN | TCP_ACK, 0);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_PASS, HL_REASON_FWD_NAT_REPLY);
	k = flow_key(far);
	CHECK(r.len == len && !memcmp(r.out + 14 + 16, k.src, 4) &&
	      !memcmp(r.out + 14 + 12, k.dst, 4), "not translated for the stack");
}

/* ---- ICMP errors ---- */

/* An ICMP(v6) error from src to dst quoting `q` (an IP packet), every
 * checksum from scratch; returns the frame's length. */
static size_t build_icmp(uint8_t *b, uint8_t family, const __be32 *src,
			 const __be32 *dst, uint8_t type, uint8_t code,
			 uint32_t word, const uint8_t *q, size_t qlen)
{
	bool v6 = family == HL_AF_INET6;
	size_t l3 = 14, hl = v6 ? 40 : 20, l4 = l3 + hl, mlen = 8 + qlen;
	uint8_t *ip = b + l3, *icmp = b + l4;

	memcpy(b, director_mac, 6);
	memcpy(b + 6, client_mac, 6);
	put16(b + 12, v6 ? 0x86dd : 0x0800);
	memset(ip, 0, hl);
	if (v6) {
		put32(ip, 6u << 28);
		put16(ip + 4, mlen);
		ip[6] = 58;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, hl + mlen);
		ip[8] = 64;
		ip[9] = 1;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum16(ip, 20, 0));
	}
	icmp[0] = type;
	icmp[1] = code;
	put16(icmp + 2, 0);
	put32(icmp + 4, word);
	memcpy(icmp + 8, q, qlen);
	put16(icmp + 2, csum16(icmp, mlen,
			       v6 ? pseudo(b, l3, true, 58, mlen) : 0));
	return l4 + mlen;
}

/* The quoted packet `q` rewritten to src:sport -> dst:dport with its own
 * checksums from scratch (the L4 one when it is all there). */
static void requote(uint8_t *q, size_t qlen, const __be32 *src,
		    const __be32 *dst, __be16 sport, __be16 dport)
{
	bool v6 = (q[0] >> 4) == 6;
	size_t hl = v6 ? 40 : (q[0] & 0xf) * 4;
	uint8_t proto = v6 ? q[6] : q[9];
	size_t end = v6 ? 40 + get16(q + 4) : get16(q + 2);

	memcpy(q + (v6 ? 8 : 12), src, v6 ? 16 : 4);
	memcpy(q + (v6 ? 24 : 16), dst, v6 ? 16 : 4);
	if (!v6)
		put16(q + 10, ip4_scratch(q));
	memcpy(q + hl, &sport, 2);
	memcpy(q + hl + 2, &dport, 2);
	if (end <= qlen && !(proto == IPPROTO_UDP && !get16(q + hl + 6)))
		put16(q + hl + l4_check_off(proto),
		      l4_scratch(q, 0, hl, end, v6, proto));
}

/*
 * A flow of spec `s`, then: the node side's error about our forwarded
 * packet goes to the client as the VIP's error about the client's packet;
 * the client side's error about our reply goes to the node as the SNAT
 * address's error about the node's packet. Byte for byte, every checksum
 * from scratch.
 */
static void check_icmp(struct spec s, uint8_t ntype, uint8_t ncode,
		       uint8_t ctype, uint8_t ccode)
{
	uint8_t fwd[FRAME_MAX], rep[FRAME_MAX], in[FRAME_MAX], want[FRAME_MAX];
	uint8_t q[FRAME_MAX];
	struct hl_flow_key k;
	struct hl_nat fe;
	struct hl_nexthop nh;
	struct result r;
	__be32 router[4];
	size_t flen, rlen, len, wlen, qlen;
	uint32_t id;
	bool v6;

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	s = defaults(s);
	v6 = s.family == HL_AF_INET6;
	k = flow_key(s);
	id = table_node(s);
	nh = nh_for(id, s.family);
	flen = build_c(in, s);
	run_xdp(in, flen, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	memcpy(fwd, r.out, r.len);
	flen = r.len;
	nat_get(&k, &fe);
	rlen = build_reply(in, s, &fe, s.proto == IPPROTO_TCP ?
			   TCP_SYN | TCP_ACK : 0, 12);
	run_xdp(in, rlen, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FWD_NAT_REPLY);
	memcpy(rep, r.out, r.len);
	rlen = r.len;

	/* node side: a router between us and the node, about our packet */
	addr_parse(s.family, v6 ? "fd00::1:fe" : "198.18.1.254", router);
	len = build_icmp(in, s.family, router, fe.from, ntype, ncode,
			 v6 ? 1400 : 1400, fwd + 14, flen - 14);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FWD_NAT_ICMP);
	qlen = flen - 14;
	memcpy(q, fwd + 14, qlen);
	requote(q, qlen, k.src, k.dst, k.sport, k.dport);
	wlen = build_icmp(want, s.family, k.dst, k.src, ntype, ncode, 1400,
			  q, qlen);
	memcpy(want, gw_mac, 6);
	memcpy(want + 6, gw_smac, 6);
	check_bytes(r.out, r.len, want, wlen);

	/* the same quoting only the first 8 bytes of L4 (RFC 792) */
	qlen = (v6 ? 40 : 20) + 8;
	len = build_icmp(in, s.family, fe.addr, fe.from, ntype, ncode, 0,
			 fwd + 14, qlen);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_REDIRECT, HL_REASON_FWD_NAT_ICMP);
	memcpy(q, fwd + 14, qlen);
	requote(q, qlen, k.src, k.dst, k.sport, k.dport);
	if (s.proto == IPPROTO_UDP) {	/* its checksum is in the 8 bytes */
		uint8_t full[FRAME_MAX];

		memcpy(full, fwd + 14, flen - 14);
		requote(full, flen - 14, k.src, k.dst, k.sport, k.dport);
		memcpy(q + qlen - 2, full + qlen - 2, 2);
	}
	wlen = build_icmp(want, s.family, k.dst, k.src, ntype, ncode, 0,
			  q, qlen);
	memcpy(want, gw_mac, 6);
	memcpy(want + 6, gw_smac, 6);
	check_bytes(r.out, r.len, want, wlen);

	/* client side: the client about our reply */
	qlen = rlen - 14;
	len = build_icmp(in, s.family, k.src, k.dst, ctype, ccode, 0,
			 rep + 14, qlen);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FWD_NAT_ICMP);
	memcpy(q, rep + 14, qlen);
	requote(q, qlen, fe.addr, fe.from, fe.port, fe.from_port);
	wlen = build_icmp(want, s.family, fe.from, fe.addr, ctype, ccode, 0,
			  q, qlen);
	memcpy(want, nh.dmac, 6);
	memcpy(want + 6, nh.smac, 6);
	check_bytes(r.out, r.len, want, wlen);

	/* about a packet of no flow (another port): passed untouched */
	qlen = rlen - 14;
	memcpy(q, rep + 14, qlen);
	q[(v6 ? 40 : 20) + 1] ^= 0x55;
	len = build_icmp(in, s.family, k.src, k.dst, ctype, ccode, 0, q, qlen);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_PASS, HL_REASON_PASS_NOT_SERVICE);
	check_bytes(r.out, r.len, in, len);
}

static void test_icmp_v4_tcp(void)
{
	check_icmp((struct spec){ .sport = 43800, .payload = 16 }, 3, 4, 3, 3);
}
static void test_icmp_v4_udp(void)
{
	check_icmp((struct spec){ UDP, .sport = 43802, .payload = 16 }, 11, 0,
		   3, 3);
}
static void test_icmp_v6_tcp(void)
{
	check_icmp((struct spec){ V6, .sport = 43804, .payload = 16 }, 2, 0,
		   1, 4);
}
static void test_icmp_v6_udp(void)
{
	check_icmp((struct spec){ V6, UDP, .sport = 43806, .payload = 16 }, 3,
		   0, 1, 4);
}

/* A client's error about a flow whose node has no route: dropped, and
 * counted as that, not as forwarded. */
static void test_icmp_no_route(void)
{
	struct spec s = { .sport = 43808 };
	uint8_t in[FRAME_MAX], rep[FRAME_MAX];
	struct hl_flow_key k = flow_key(s);
	struct hl_nexthop nh;
	struct hl_nat fe;
	struct result r;
	size_t len, rlen;
	uint32_t id = table_node(s);

	if (!net_ok)
		SKIP("no client route");
	nat_fixture();
	forward_ok(s, &fe, 5432);
	rlen = build_reply(in, s, &fe, TCP_SYN | TCP_ACK, 0);
	run_xdp(in, rlen, &r);
	memcpy(rep, r.out, r.len);
	rlen = r.len;
	nh = nh_for(id, HL_AF_INET);
	nh.flags = 0;
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	len = build_icmp(in, HL_AF_INET, k.src, k.dst, 3, 3, 0, rep + 14,
			 rlen - 14);
	run_xdp(in, len, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_ROUTE);
}

/* ---- IPIP services are untouched by NAT flows ---- */

static void test_ipip_beside_nat(void)
{
	struct spec n = { .sport = 43900 }, i = { V6, .sport = 43902 };
	uint8_t in[FRAME_MAX];
	struct result r;
	size_t len;

	nat_fixture();
	svc_update(3, HL_FWD_IPIP, 0);
	send_spec(n, &r);
	check_verdict(&r, XDP_TX, HL_REASON_FORWARDED);
	len = build(in, i);
	run_xdp(in, len, &r);
	check_forwarded(in, len, i, &r, table_node(i), XDP_TX);
	CHECK(nat_count_entries() == 2, "%u entries", nat_count_entries());
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	RUN_ALWAYS(test_load_nat);
	RUN_ALWAYS(test_net_setup);
	SCENARIO(test_v4_tcp);
	SCENARIO(test_v4_udp);
	SCENARIO(test_v6_tcp);
	SCENARIO(test_v6_udp);
	SCENARIO(test_headers_and_node_port);
	SCENARIO(test_bad_checksums);
	SCENARIO(test_too_big);
	SCENARIO(test_snat_address_choice);
	SCENARIO(test_port_collision);
	SCENARIO(test_table_full);
	SCENARIO(test_tcp_states);
	SCENARIO(test_tcp_resets);
	SCENARIO(test_node_gone);
	SCENARIO(test_fenced);
	SCENARIO(test_switchover_reset);
	SCENARIO(test_expiry);
	SCENARIO(test_sweep_timer_wq);
	SCENARIO(test_sweep_timer_softirq);
	SCENARIO(test_reply_malformed);
	SCENARIO(test_client_nexthop);
	SCENARIO(test_icmp_v4_tcp);
	SCENARIO(test_icmp_v4_udp);
	SCENARIO(test_icmp_v6_tcp);
	SCENARIO(test_icmp_v6_udp);
	SCENARIO(test_icmp_no_route);
	SCENARIO(test_ipip_beside_nat);
	helios_xdp__destroy(skel);
	return unit_done();
}
