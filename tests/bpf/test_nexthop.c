// SPDX-License-Identifier: GPL-2.0
/*
 * What a node's next hop decides: XDP_TX or a redirect by its device,
 * dropped-no-route without one, too-big by its MTU, and its refresh
 * from the FIB (a veth in the private namespace).
 * Frames, fixture and checks: fixture.h, pkt.h. Needs root.
 */
#include "fixture.h"

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

/* ---- next-hop refresh through the FIB ---- */

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

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	SCENARIO(test_redirect_other_device);
	SCENARIO(test_no_route);
	SCENARIO(test_too_big_small_mtu);
	SCENARIO(test_nexthop_refresh);
	helios_xdp__destroy(skel);
	return unit_done();
}
