// SPDX-License-Identifier: GPL-2.0
/*
 * Workload pools in the data path (bpf/lib/pool.h): on a read service with
 * pools, class A's new flows land only on the async standbys, class B's
 * only on the sync one, a client of no class by the service's own table;
 * a class whose pool is empty falls back to the primary with `fallback
 * primary`, and is dropped without it. Frames, fixture and checks:
 * fixture.h, pkt.h.
 */
#include "fixture.h"

#define FLOWS		64
#define CLASS_A		1	/* analytics: async */
#define CLASS_B		2	/* OLTP: sync */
#define SYNC_NODE	10
#define PRIMARY_NODE	13	/* not in the table: the fallback list only */

static const char *const client_a = "198.18.2.10", *const client_b = "198.18.2.11",
		  *const client_c = "198.18.2.12";

static void class_prefix(const char *addr, __u32 id)
{
	struct hl_class_key k = { .prefixlen = 32 + 32, .family = HL_AF_INET };

	addr_parse(HL_AF_INET, addr, k.addr);
	CHECK(!bpf_map_update_elem(bpf_map__fd(skel->maps.class_prefixes), &k, &id,
				   BPF_ANY), "class prefix");
}

static void class_pool(__u32 class_id, __u8 pool)
{
	struct hl_class_pool_key k = { .svc_id = 1, .class_id = class_id };

	CHECK(!bpf_map_update_elem(bpf_map__fd(skel->maps.class_pools), &k, &pool,
				   BPF_ANY), "class pool");
}

static void pool_list(__u32 list, const __u32 *ids, __u32 count)
{
	struct hl_node_list l = { .count = count, .usable = count };
	__u32 idx = 1 * HL_POOL_LISTS + list;

	for (__u32 i = 0; i < count; i++) {
		l.ids[i] = ids[i];
		l.weights[i] = 1;
	}
	CHECK(!bpf_map_update_elem(bpf_map__fd(skel->maps.pool_lists), &idx, &l,
				   BPF_ANY), "pool list");
}

/* Service 1 (nodes 10, 11, 12) with pools: 10 sync, 11 and 12 async; the
 * primary 13 exists for the fallback only. */
static void pools_fixture(bool fallback)
{
	static const __u32 sync_ids[] = { SYNC_NODE }, async_ids[] = { 11, 12 },
			   primary[] = { PRIMARY_NODE };
	const struct svc_fix *f = svc_by_id(1);
	struct hl_node n = node_for(PRIMARY_NODE, f);
	struct hl_nexthop nh = nh_for(PRIMARY_NODE, HL_AF_INET);
	__u32 id = PRIMARY_NODE;
	struct hl_svc_key k;
	struct hl_service v;

	fixture();
	bpf_map_update_elem(nodes_fd, &id, &n, BPF_ANY);
	bpf_map_update_elem(nexthops_fd, &id, &nh, BPF_ANY);
	svc_get(1, &k, &v);
	v.opts |= HL_SVC_O_POOLS | (fallback ? HL_SVC_O_FALLBACK_PRIMARY : 0);
	svc_put(&k, &v);
	class_prefix(client_a, CLASS_A);
	class_prefix(client_b, CLASS_B);
	class_pool(CLASS_A, HL_POOL_ASYNC);
	class_pool(CLASS_B, HL_POOL_SYNC);
	pool_list(HL_POOL_SYNC - 1, sync_ids, 1);
	pool_list(HL_POOL_ASYNC - 1, async_ids, 2);
	pool_list(HL_POOL_LISTS - 1, primary, 1);
}

/* FLOWS new flows of `src`: how many landed on each node id (0..15). */
static void spread(const char *src, unsigned int count[16], int *other)
{
	struct result r;

	memset(count, 0, 16 * sizeof(*count));
	*other = 0;
	for (int i = 0; i < FLOWS; i++) {
		send_spec((struct spec){ .src = src, .sport = 43000 + 2 * i }, &r);
		if (r.ret == XDP_TX && out_node(&r) >= 0 && out_node(&r) < 16)
			count[out_node(&r)]++;
		else
			(*other)++;
	}
}

static void test_classes_to_pools(void)
{
	unsigned int c[16];
	int other;

	pools_fixture(false);
	spread(client_a, c, &other);
	CHECK(!other && c[11] + c[12] == FLOWS && c[11] && c[12],
	      "class A: async 11 %u, 12 %u, sync %u, other %d", c[11], c[12],
	      c[SYNC_NODE], other);
	spread(client_b, c, &other);
	CHECK(!other && c[SYNC_NODE] == FLOWS, "class B: sync %u of %d, other %d",
	      c[SYNC_NODE], FLOWS, other);
	spread(client_c, c, &other);
	CHECK(!other && c[10] && c[11] && c[12] && !c[PRIMARY_NODE],
	      "no class: the service's table (10 %u, 11 %u, 12 %u)", c[10], c[11], c[12]);
}

static void test_empty_pool(void)
{
	unsigned int c[16];
	struct result r;
	int other;

	pools_fixture(true);
	pool_list(HL_POOL_SYNC - 1, NULL, 0);
	spread(client_b, c, &other);
	CHECK(!other && c[PRIMARY_NODE] == FLOWS,
	      "fallback primary: %u of %d on the primary", c[PRIMARY_NODE], FLOWS);

	pools_fixture(false);
	pool_list(HL_POOL_SYNC - 1, NULL, 0);
	send_spec((struct spec){ .src = client_b, .sport = 43500 }, &r);
	check_verdict(&r, XDP_DROP, HL_REASON_DROP_NO_BACKEND);
	spread(client_a, c, &other);
	CHECK(!other && c[11] + c[12] == FLOWS, "class A unaffected");
}

/* Without HL_SVC_O_POOLS the pools are not even looked at. */
static void test_no_pools_option(void)
{
	unsigned int c[16];
	struct hl_svc_key k;
	struct hl_service v;
	int other;

	pools_fixture(false);
	svc_get(1, &k, &v);
	v.opts &= ~HL_SVC_O_POOLS;
	svc_put(&k, &v);
	spread(client_b, c, &other);
	CHECK(!other && c[10] && c[11] && c[12], "class B by the table: %u %u %u",
	      c[10], c[11], c[12]);
}

int main(void)
{
	if (fixture_init())
		return 1;
	RUN_ALWAYS(test_load);
	SCENARIO(test_classes_to_pools);
	SCENARIO(test_empty_pool);
	SCENARIO(test_no_pools_option);
	helios_xdp__destroy(skel);
	return unit_done();
}
