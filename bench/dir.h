/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The director under test, loaded from its skeleton (not pinned) and set up
 * through its maps the way helios-agent would: services, nodes, next hops
 * and Maglev tables built by the agent's own maglev_build().
 */
#ifndef HELIOS_BENCH_DIR_H
#define HELIOS_BENCH_DIR_H

#include "bench.h"
#include "helios_xdp.skel.h"
#include "lib/ct.h"
#include "lib/log.h"
#include "lib/maglev.h"

struct dir {
	struct helios_xdp *skel;
	int prog, services, nodes, nexthops, slots, ct, svc_stats, reasons,
	    free_ports, svc_by_id, free_vips;
	int ct_shard[HL_CT_SHARDS];	/* the shards of `ct` (lib/ct.h) */
	struct hl_node node[HL_MAX_NODES];
	struct hl_nexthop nh[HL_MAX_NODES];
	__u32 nr_nodes;		/* ids 0..nr_nodes-1 in use */
	/* Next hop of every node added; by default the test-run case: frames
	 * arrive on lo (ifindex 1), so egress lo means XDP_TX. */
	__u32 nh_ifindex;
	__u8 nh_dmac[ETH_ALEN], nh_smac[ETH_ALEN];
};

static inline void addr6(__be32 *a, __u32 w1, __u32 w3)
{
	a[0] = htonl(0xfd004845);
	a[1] = htonl(w1);
	a[2] = 0;
	a[3] = htonl(w3);
}

/* Node addresses: 198.19.0.0/16 and fd00:4845:2::/64, by node id. */
static inline void node_addr(int family, __u32 id, __be32 *a)
{
	memset(a, 0, 16);
	if (family == HL_AF_INET)
		a[0] = htonl(0xc6130000u | (id + 1));
	else
		addr6(a, 0x00020000, id + 1);
}

/* `ablate`: enum hl_ablate bits, for a director built with
 * HL_BENCH_ABLATE only (0 otherwise). */
static inline struct dir *dir_load_ablated(__u32 ablate)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (!d)
		die("out of memory");
	d->skel = helios_xdp__open();
	if (!d->skel)
		die("cannot open helios_xdp: %s", strerror(errno));
#ifdef HL_BENCH_ABLATE
	d->skel->rodata->hl_ablate = ablate;
#else
	if (ablate)
		die("ablation needs a director built with HL_BENCH_ABLATE");
#endif
	if (helios_xdp__load(d->skel))
		die("cannot load helios_xdp: %s", strerror(errno));
	d->prog = bpf_program__fd(d->skel->progs.helios_xdp);
	d->services = bpf_map__fd(d->skel->maps.services);
	d->svc_by_id = bpf_map__fd(d->skel->maps.svc_by_id);
	d->nodes = bpf_map__fd(d->skel->maps.nodes);
	d->nexthops = bpf_map__fd(d->skel->maps.nexthops);
	d->slots = bpf_map__fd(d->skel->maps.slots);
	d->ct = bpf_map__fd(d->skel->maps.conntrack);
	if (ct_shards_create(d->ct, HL_CT_SHARD_ENTRIES, sizeof(struct hl_flow)))
		die("conntrack shards: %s", hl_errmsg());
	for (__u32 s = 0; s < HL_CT_SHARDS; s++) {
		d->ct_shard[s] = ct_shard_fd(d->ct, s);
		if (d->ct_shard[s] < 0)
			die("conntrack shard %u: %s", s, strerror(-d->ct_shard[s]));
	}
	d->svc_stats = bpf_map__fd(d->skel->maps.svc_stats);
	d->reasons = bpf_map__fd(d->skel->maps.reasons);
	d->free_ports = bpf_map__fd(d->skel->maps.free_ports);
	d->free_vips = bpf_map__fd(d->skel->maps.free_vips);
	/* Every port and address bucket free until a service takes it, as
	 * user space keeps them. */
	for (__u32 w = 0; w < 65536 / 64; w++) {
		__u64 all = ~0ull;

		bpf_map_update_elem(d->free_ports, &w, &all, BPF_ANY);
		bpf_map_update_elem(d->free_vips, &w, &all, BPF_ANY);
	}
	d->nh_ifindex = 1;
	memcpy(d->nh_dmac, mac_router, ETH_ALEN);
	memcpy(d->nh_smac, mac_dir, ETH_ALEN);
	return d;
}

static inline struct dir *dir_load(void)
{
	return dir_load_ablated(0);
}

/* The shard of `key`'s flow. */
static inline int dir_ct_fd(const struct dir *d, const struct hl_flow_key *key)
{
	return d->ct_shard[hl_ct_shard(key)];
}

static inline __u64 dir_ct_count(const struct dir *d)
{
	__u64 n = 0;

	for (__u32 s = 0; s < HL_CT_SHARDS; s++)
		n += ct_count(d->ct_shard[s]);
	return n;
}

static inline void dir_free(struct dir *d)
{
	for (__u32 s = 0; s < HL_CT_SHARDS; s++)
		close(d->ct_shard[s]);
	helios_xdp__destroy(d->skel);
	free(d);
}

/* The Maglev table of a service, built by the agent's builder and put in
 * place the way user/store.c does: a fresh inner array, then one update. */
static inline void dir_table(struct dir *d, __u32 svc_id, __u32 first, __u32 n,
		      __u32 ring)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = HL_SLOTS_INNER_FLAGS);
	struct maglev_node *mn = calloc(n, sizeof(*mn));
	__u32 *table = malloc(ring * sizeof(*table));
	__u32 *keys = malloc(ring * sizeof(*keys));
	__u32 i, count = ring, slots_key = hl_slots_key(svc_id, 0);
	int fd, err;

	if (!mn || !table || !keys)
		die("out of memory");
	for (i = 0; i < n; i++) {
		mn[i].id = first + i;
		mn[i].weight = HL_WEIGHT_DEFAULT;
		mn[i].family = d->node[first + i].family;
		memcpy(mn[i].addr, d->node[first + i].addr, 16);
	}
	err = maglev_build(mn, n, ring, table);
	if (err)
		die("maglev_build(%u nodes, ring %u): %s", n, ring, strerror(-err));
	for (i = 0; i < ring; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "hl_ring", 4, 4, ring, &opts);
	if (fd < 0 || bpf_map_update_batch(fd, keys, table, &count, NULL) ||
	    bpf_map_update_elem(d->slots, &slots_key, &fd, BPF_ANY))
		die("maglev table: %s", strerror(errno));
	close(fd);
	free(keys);
	free(table);
	free(mn);
}

/* A service entry and its copy by id, as user/lib/services.c writes them;
 * 0 or -1 with errno. */
static inline int dir_svc_put(struct dir *d, const struct hl_svc_key *key,
			      const struct hl_service *svc, __u64 flags)
{
	struct hl_svc_slot s = { .svc = *svc, .key = *key };

	if (bpf_map_update_elem(d->services, key, svc, flags))
		return -1;
	return bpf_map_update_elem(d->svc_by_id, &svc->id, &s, BPF_ANY);
}

/* Push nexthops[first..first+n) with a fresh timestamp: a new flow refreshes
 * a next hop older than HL_NH_REFRESH_NS from the FIB, which in this private
 * namespace has no route and would fail on every packet. Every run starts
 * with fresh entries and lasts well under a second. */
static inline void dir_nh_push(struct dir *d, __u32 first, __u32 n)
{
	__u32 *keys = malloc(n * sizeof(*keys)), i, count = n;
	__u64 now = now_ns();

	if (!keys)
		die("out of memory");
	for (i = 0; i < n; i++) {
		keys[i] = first + i;
		d->nh[first + i].updated_ns = now;
	}
	if (bpf_map_update_batch(d->nexthops, keys, &d->nh[first], &count, NULL))
		die("nexthops: %s", strerror(errno));
	free(keys);
}

/* A service of n fresh nodes (ids allocated in order), weight 100 each. */
static inline void dir_service(struct dir *d, __u32 svc_id, int family,
			const __be32 *vip, __u16 port, __u8 proto, __u32 n,
			__u32 ring)
{
	struct hl_svc_key key = { .port = htons(port), .proto = proto,
				  .family = family };
	struct hl_service svc = { .id = svc_id, .ring_size = ring };
	__u32 first = d->nr_nodes, i, count = n, *keys;

	if (first + n > HL_MAX_NODES)
		die("too many nodes");
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		die("out of memory");
	for (i = 0; i < n; i++) {
		struct hl_node *nd = &d->node[first + i];
		struct hl_nexthop *nh = &d->nh[first + i];

		keys[i] = first + i;
		node_addr(family, first + i, nd->addr);
		nd->svc_id = svc_id;
		nd->flags = HL_NODE_F_EXISTS;
		nd->weight = HL_WEIGHT_DEFAULT;
		nd->family = family;
		if (family == HL_AF_INET)
			nh->src[0] = htonl(0xc6120003);	/* 198.18.0.3 */
		else
			addr6(nh->src, 0, 3);
		memcpy(nh->dmac, d->nh_dmac, ETH_ALEN);
		memcpy(nh->smac, d->nh_smac, ETH_ALEN);
		nh->ifindex = d->nh_ifindex;
		nh->mtu = 1500;
		nh->flags = HL_NH_F_VALID;
	}
	d->nr_nodes += n;
	if (bpf_map_update_batch(d->nodes, keys, &d->node[first], &count, NULL))
		die("nodes: %s", strerror(errno));
	dir_nh_push(d, first, n);
	dir_table(d, svc_id, first, n, ring);
	memcpy(key.vip, vip, 16);
	if (dir_svc_put(d, &key, &svc, BPF_NOEXIST))
		die("services: %s", strerror(errno));
	{
		__u32 w = port / 64, b;
		__u64 bits;

		if (!bpf_map_lookup_elem(d->free_ports, &w, &bits)) {
			bits &= ~(1ull << (port % 64));
			bpf_map_update_elem(d->free_ports, &w, &bits, BPF_ANY);
		}
		b = hl_vip_bucket(vip);
		w = b / 64;
		if (!bpf_map_lookup_elem(d->free_vips, &w, &bits)) {
			bits &= ~(1ull << (b % 64));
			bpf_map_update_elem(d->free_vips, &w, &bits, BPF_ANY);
		}
	}
	free(keys);
}

#endif /* HELIOS_BENCH_DIR_H */
