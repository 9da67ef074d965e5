// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark programs, none of them part of Helios:
 *
 *   floor_pass     XDP_PASS and nothing else: what any XDP program costs.
 *   floor_tx       swap the MACs and XDP_TX: the least a forwarder does.
 *   floor_newflow  one insert into an LRU hash of the director's connection
 *                  table type and size (key from the packet's 5-tuple), then
 *                  the MAC swap: the least a director does for a new flow.
 *   floor_established  one lookup of the packet's 5-tuple in that table,
 *                  then IPIP (IP6IP6) encapsulation from a precomputed
 *                  header and XDP_TX: the least a director does for a
 *                  packet of a known flow.
 *   wrap           the restoring wrapper (below).
 *   gen, sink      live-frames generator and the counting drop on its veth.
 *
 * BPF_PROG_TEST_RUN with repeat > 1 runs the program again and again on one
 * buffer: a program that encapsulates sees its own output from the second
 * repetition on. `wrap` puts the original frame back (head and bytes) before
 * every repetition and tail-calls the program under test; its own cost is
 * measured around floor_pass and subtracted by the harness. With `bump_lo`/
 * `bump_hi` set it also writes a counter into the frame (source port and low
 * half of the source address), so every repetition is a flow never seen.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <helios/abi.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_ALEN	6
#define BENCH_PKT_MAX	128

SEC("xdp")
int floor_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Word accesses, not memcpy: clang copies bytewise to and from a packet
 * pointer of unknown alignment, and the director writes words (its
 * bpf/lib/common.h says why). A floor is the least the work can cost. */
static __always_inline int swap_macs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *w = data, tmp[3];

	if (data + 14 > data_end)
		return -1;
	tmp[0] = w[0], tmp[1] = w[1], tmp[2] = w[2];
	w[0] = w[3], w[1] = w[4], w[2] = w[5];
	w[3] = tmp[0], w[4] = tmp[1], w[5] = tmp[2];
	return 0;
}

/* `len` bytes (a multiple of 2) of an 8-aligned template into the frame. */
static __always_inline void copy_hdr(void *data, const void *hdr, int len)
{
	int i;

#pragma unroll
	for (i = 0; i + 4 <= len; i += 4)
		*(__u32 *)(data + i) = *(const __u32 *)(hdr + i);
	if (i < len)
		*(__u16 *)(data + i) = *(const __u16 *)(hdr + i);
}

SEC("xdp")
int floor_tx(struct xdp_md *ctx)
{
	if (swap_macs(ctx))
		return XDP_DROP;
	return XDP_TX;
}

/* Same type, key, value and capacity as the director's `conntrack`. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct hl_flow_key);
	__type(value, struct hl_flow);
	__uint(max_entries, HL_CT_ENTRIES);
} floor_ct SEC(".maps");

/* Untagged IPv4 with a 20-byte header, or IPv6 without extension headers:
 * the key is read from fixed offsets, no real parsing. Returns the IP
 * packet's length (IPv4 total length, IPv6 payload + 40), 0 if too short. */
static __always_inline __u32 floor_key(struct xdp_md *ctx,
				       struct hl_flow_key *key)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__be16 *ports;
	__u32 len;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(0x0800)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) + 4 > data_end)
			return 0;
		key->src[0] = ip->saddr;
		key->dst[0] = ip->daddr;
		key->proto = ip->protocol;
		key->family = HL_AF_INET;
		ports = (void *)(ip + 1);
		len = bpf_ntohs(ip->tot_len);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) + 4 > data_end)
			return 0;
		__builtin_memcpy(key->src, &ip6->saddr, 16);
		__builtin_memcpy(key->dst, &ip6->daddr, 16);
		key->proto = ip6->nexthdr;
		key->family = HL_AF_INET6;
		ports = (void *)(ip6 + 1);
		len = bpf_ntohs(ip6->payload_len) + 40;
	}
	key->sport = ports[0];
	key->dport = ports[1];
	return len;
}

SEC("xdp")
int floor_newflow(struct xdp_md *ctx)
{
	struct hl_flow_key key = {};
	struct hl_flow val = { .node_id = 1 };

	if (!floor_key(ctx, &key))
		return XDP_DROP;
	if (bpf_map_update_elem(&floor_ct, &key, &val, BPF_ANY))
		return XDP_DROP;
	if (swap_macs(ctx))
		return XDP_DROP;
	return XDP_TX;
}

/*
 * The outer headers of the established floor, written by the harness:
 * Ethernet + IPv4 (tot_len and check 0) with `est_sum4`, the sum of its
 * 16-bit words, and Ethernet + IPv6 (payload_len 0). The program adds
 * the length and folds: what a director with per-node header templates
 * would do at the least.
 */
__u8 est_hdr4[14 + 20] __attribute__((aligned(8)));
__u32 est_sum4;
__u8 est_hdr6[14 + 40] __attribute__((aligned(8)));

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int floor_established(struct xdp_md *ctx)
{
	struct hl_flow_key key = {};
	void *data, *data_end;
	__u32 len;

	len = floor_key(ctx, &key);
	if (!len || !bpf_map_lookup_elem(&floor_ct, &key))
		return XDP_DROP;
	if (key.family == HL_AF_INET) {
		struct iphdr *ip;

		if (bpf_xdp_adjust_head(ctx, -20))
			return XDP_DROP;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + sizeof(est_hdr4) > data_end)
			return XDP_DROP;
		copy_hdr(data, est_hdr4, sizeof(est_hdr4));
		ip = data + 14;
		ip->tot_len = bpf_htons(len + 20);
		ip->check = fold(est_sum4 + ip->tot_len);
	} else {
		struct ipv6hdr *ip6;

		if (bpf_xdp_adjust_head(ctx, -40))
			return XDP_DROP;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + sizeof(est_hdr6) > data_end)
			return XDP_DROP;
		copy_hdr(data, est_hdr6, sizeof(est_hdr6));
		ip6 = data + 14;
		ip6->payload_len = bpf_htons(len);
	}
	return XDP_TX;
}

/* ---- the restoring wrapper ---------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wrap_target SEC(".maps");

/* Written by the harness through the skeleton's .bss. */
__u8 orig[BENCH_PKT_MAX];
__u32 orig_len;
__u32 bump_lo;		/* offset of a __be16 set to counter & 0xffff, 0 = off */
__u32 bump_hi;		/* offset of a __be16 set to counter >> 16, 0 = off */
__u32 counter;		/* flows made so far; kept across runs */

/* Put the original frame back, and the flow counter in it if bumping. */
static __always_inline int restore(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = orig_len, lo = bump_lo, hi = bump_hi, c;
	__be16 *p;

	if (len < 1 || len > BENCH_PKT_MAX)
		return -1;
	/* The programs under test only move the head: undo that. Called
	 * even with delta 0, so that the cost subtracted is the same. */
	if (bpf_xdp_adjust_head(ctx, (int)(data_end - data) - (int)len))
		return -1;
	if (bpf_xdp_store_bytes(ctx, 0, orig, len))
		return -1;
	if (lo) {
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		c = counter++;
		lo &= BENCH_PKT_MAX - 1;
		hi &= BENCH_PKT_MAX - 1;
		p = data + lo;
		if ((void *)(p + 1) > data_end)
			return -1;
		*p = bpf_htons(c & 0xffff);
		p = data + hi;
		if ((void *)(p + 1) > data_end)
			return -1;
		*p = bpf_htons(c >> 16);
	}
	return 0;
}

SEC("xdp")
int wrap(struct xdp_md *ctx)
{
	if (restore(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &wrap_target, 0);
	return XDP_ABORTED;
}

/* ---- live traffic --------------------------------------------------------- */

__u32 gen_ifindex;	/* veth the generated frames leave by */
__u64 sink_packets;	/* frames that came back */
__u64 sink_ipip;	/* of which IPv4-in-IPv4 */

/* Run by BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: each repetition is
 * a frame sent out of gen_ifindex (a new flow each when bumping). */
SEC("xdp")
int gen(struct xdp_md *ctx)
{
	/* Live frames are recycled pages: the device under test may have
	 * encapsulated this one. Start every frame from `orig` again. */
	if (restore(ctx))
		return XDP_ABORTED;
	return bpf_redirect(gen_ifindex, 0);
}

/* On the generator's veth: count what the device under test sent back and
 * drop it. Also the native XDP program that makes XDP_TX to it deliverable. */
SEC("xdp")
int sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	__sync_fetch_and_add(&sink_packets, 1);
	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(0x0800) &&
	    ip->protocol == IPPROTO_IPIP)
		__sync_fetch_and_add(&sink_ipip, 1);
	return XDP_DROP;
}
