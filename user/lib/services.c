// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/conns.h"
#include "lib/counters.h"
#include "lib/l2.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/parse.h"
#include "lib/services.h"
#include "lib/tables.h"

/* The opts bits that follow from other admin state, never set directly:
 * from the limits, and from the read-your-writes settings. */
#define SVC_O_LIMITS	(HL_SVC_O_LIMIT_CONN | HL_SVC_O_LIMIT_TRAFFIC | \
			 HL_SVC_O_SYN_RETRY)
#define SVC_O_DERIVED	(SVC_O_LIMITS | HL_SVC_O_RYW | HL_SVC_O_RYW_SRC)

static const char *ring_check(const void *field)
{
	return is_prime(*(const __u32 *)field) ? NULL : "must be a prime";
}

static const char *ryw_of_check(const void *field)
{
	struct hl_svc_key key;

	return parse_svc(field, &key) ? "must be a service, VIP:PORT/tcp" :
	       key.proto != IPPROTO_TCP ? "must be a TCP service" : NULL;
}

static const struct opt_choice fallback_choices[] = {
	{ "none", SVC_FALLBACK_NONE },
	{ "primary", SVC_FALLBACK_PRIMARY },
	{ NULL }
};

static const struct opt_choice fwd_choices[] = {
	{ "ipip", HL_FWD_IPIP },
	{ "nat", HL_FWD_NAT },
	{ "l2", HL_FWD_L2 },
	{ NULL }
};

const struct opt svc_admin_opts[] = {
	{ .name = "ring", .type = OPT_UINT, .where = OPT_BOTH, .arg = "N",
	  OPT_FIELD(struct svc_admin, svc.ring_size),
	  .min = HL_RING_MIN_PER_NODE, .max = HL_RING_MAX, .check = ring_check,
	  .def = OPT_STR(HL_RING_DEFAULT),
	  .help = "slots of the lookup table, a prime, at least " OPT_STR(HL_RING_MIN_PER_NODE) " per node" },
	{ .name = "strategy", .type = OPT_ENUM, .where = OPT_BOTH, .arg = "NAME",
	  OPT_FIELD(struct svc_admin, svc.strategy), .choices = strategy_choices,
	  .def = "maglev", .help = "how a new flow's node is picked" },
	{ .name = "bounded-load", .type = OPT_SCALED, .where = OPT_BOTH, .arg = "F",
	  OPT_FIELD(struct svc_admin, svc.bounded_load), .min = 1.01,
	  .max = 655.35, .scale = 100, .takes_off = true, .def = "off",
	  .help = "hashed strategies: a node holding more than F x the average active flows passes new flows on" },
	{ .name = "hash", .type = OPT_ENUM, .where = OPT_BOTH, .arg = "MODE",
	  OPT_FIELD(struct svc_admin, svc.hash), .choices = hash_choices,
	  .def = "5tuple (src for srchash)", .help = "what the flow hash covers" },
	{ .name = "fallback", .type = OPT_ENUM, .where = OPT_BOTH, .arg = "WHO",
	  OPT_FIELD(struct svc_admin, fallback), .choices = fallback_choices,
	  .def = "none", .help = "replica: send reads to the primary when no standby is usable" },
	{ .name = "fwd", .type = OPT_ENUM, .where = OPT_BOTH, .arg = "MODE",
	  OPT_FIELD(struct svc_admin, svc.fwd), .choices = fwd_choices,
	  .def = "ipip", .help = "how packets reach a node: ipip (tunnel, decap on the node), nat (replies through the director) or l2 (the node's MAC, one L2 segment)" },
	{ .name = "ryw-of", .type = OPT_STRING, .where = OPT_BOTH, .arg = "SVC",
	  OPT_FIELD(struct svc_admin, ryw_of), .check = ryw_of_check,
	  .def = "-", .help = "read-your-writes: the write service whose clients' writes this read service follows" },
	{ .name = "ryw-window", .type = OPT_SCALED, .where = OPT_BOTH, .arg = "S",
	  OPT_FIELD(struct svc_admin, ryw_window_ms), .min = 0.001, .max = 60,
	  .scale = 1000, .takes_off = true, .def = "off",
	  .help = "read-your-writes: for S seconds after a client's last data packet to the ryw-of service, its new connections here go to a standby that has replayed past it, else the primary" },
	{ .name = "scaleout", .type = OPT_BOOL, .where = OPT_BOTH, .arg = "on|off",
	  OPT_FIELD(struct svc_admin, scaleout), .def = "off",
	  .help = "several directors serve the VIP behind ECMP: warns about strategies that cannot keep a moved flow on its node" },
	{ .name = "announce", .type = OPT_BOOL, .where = OPT_BOTH, .arg = "on|off",
	  OPT_FIELD(struct svc_admin, announce), .def = "on",
	  .help = "the agent announces the VIP by BGP (with a bgp group) while a node is usable; off withdraws it" },
	{ NULL }
};

const char *svc_scaleout_problem(const struct hl_service *svc)
{
	switch (svc->strategy) {
	case HL_STRAT_WRR:
		return "a per-director cursor";
	case HL_STRAT_RANDOM:
		return "random draws";
	case HL_STRAT_LC:
	case HL_STRAT_P2C:
		return "per-director active counts";
	case HL_STRAT_PREFER_ZONE:
		return "the director's own zone";
	}
	return svc->bounded_load ? "per-director active counts (bounded-load)" :
				   NULL;
}

const char *svc_fwd_name(__u8 fwd)
{
	const struct opt_choice *c;

	for (c = fwd_choices; c->name; c++)
		if (c->value == fwd)
			return c->name;
	return "?";
}

int svc_admin_apply(const struct svc_admin *in, opt_seen_t seen,
		    struct hl_service *svc)
{
	const struct opt *o = svc_admin_opts;

	if (seen & OPT_SEEN(o, "ring"))
		svc->ring_size = in->svc.ring_size;
	if (seen & OPT_SEEN(o, "strategy")) {
		svc->strategy = in->svc.strategy;
		/* srchash means affinity by client unless told otherwise */
		if (svc->strategy == HL_STRAT_SRCHASH &&
		    !(seen & OPT_SEEN(o, "hash")))
			svc->hash = HL_HASH_SRC;
	}
	if (seen & OPT_SEEN(o, "hash"))
		svc->hash = in->svc.hash;
	if (seen & OPT_SEEN(o, "bounded-load"))
		svc->bounded_load = in->svc.bounded_load;
	if (seen & OPT_SEEN(o, "fwd"))
		svc->fwd = in->svc.fwd;
	if (seen & OPT_SEEN(o, "fallback"))
		svc->opts = in->fallback == SVC_FALLBACK_PRIMARY ?
			svc->opts | HL_SVC_O_FALLBACK_PRIMARY :
			svc->opts & ~HL_SVC_O_FALLBACK_PRIMARY;
	if (seen & OPT_SEEN(o, "scaleout"))
		svc->opts = in->scaleout ? svc->opts | HL_SVC_O_SCALEOUT :
			svc->opts & ~HL_SVC_O_SCALEOUT;
	if (seen & OPT_SEEN(o, "announce"))
		svc->opts = in->announce ? svc->opts & ~HL_SVC_O_NO_ANNOUNCE :
			svc->opts | HL_SVC_O_NO_ANNOUNCE;
	if (svc->bounded_load && !strategy_hashes(svc->strategy)) {
		hl_err("bounded-load applies to maglev, srchash, primary, replica and prefer-zone, not %s",
		       hl_strategy_name(svc->strategy));
		return -EINVAL;
	}
	if ((seen & OPT_SEEN(o, "fallback")) &&
	    svc->strategy != HL_STRAT_REPLICA) {
		hl_err("fallback applies to the replica strategy only");
		return -EINVAL;
	}
	if ((svc->opts & HL_SVC_O_SCALEOUT) && svc_scaleout_problem(svc))
		hl_warn("scaleout with strategy %s: its pick depends on %s, so a flow that moves to another director (ECMP) may reach another node; maglev, rendezvous, srchash, primary and replica do not",
			hl_strategy_name(svc->strategy),
			svc_scaleout_problem(svc));
	/* Active counts: kept while the strategy needs them. */
	if (svc->strategy == HL_STRAT_LC || svc->strategy == HL_STRAT_P2C ||
	    svc->bounded_load)
		svc->opts |= HL_SVC_O_COUNT_ACTIVE;
	else
		svc->opts &= ~HL_SVC_O_COUNT_ACTIVE;
	return 0;
}

static int ryw_forget(struct store *st, __u32 id);

/*
 * Every write of a service entry: `services` by key, then its copy by id
 * in `svc_by_id` (struct hl_svc_slot, abi.h), which established packets
 * read instead. 0, or -1 with errno, as bpf_map_update_elem().
 */
static int svc_put(struct store *st, const struct hl_svc_key *key,
		   const struct hl_service *svc, __u64 flags)
{
	struct hl_svc_slot s = { .svc = *svc, .key = *key };
	__u16 port = ntohs(key->port);
	__u32 word = port / 64;
	__u64 bits;

	/* A service that is not NAT: its port's packets look their flows
	 * up from now on (nat_ports, abi.h; svc_ports_sync() sets bits). */
	if (svc->fwd != HL_FWD_NAT &&
	    !bpf_map_lookup_elem(st->fds[MAP_NAT_PORTS], &word, &bits) &&
	    (bits & (1ull << (port % 64)))) {
		bits &= ~(1ull << (port % 64));
		if (bpf_map_update_elem(st->fds[MAP_NAT_PORTS], &word, &bits,
					BPF_ANY))
			return -1;
	}
	if (bpf_map_update_elem(st->fds[MAP_SERVICES], key, svc, flags))
		return -1;
	return bpf_map_update_elem(st->fds[MAP_SVC_BY_ID], &svc->id, &s,
				   BPF_ANY);
}

int svc_find(struct store *st, const struct hl_svc_key *key,
	     struct hl_service *svc)
{
	return bpf_map_lookup_elem(st->fds[MAP_SERVICES], key, svc) ? -ENOENT : 0;
}

int svc_copies_sync(struct store *st)
{
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc))
			continue;	/* deleted meanwhile */
		if (svc_put(st, &k, &svc, BPF_EXIST))
			return -errno;
	}
	return 0;
}

int svc_find_id(struct store *st, __u32 id, struct hl_svc_key *key,
		struct hl_service *svc)
{
	struct hl_svc_key *prev = NULL;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, key)) {
		if (!bpf_map_lookup_elem(st->fds[MAP_SERVICES], key, svc) &&
		    svc->id == id)
			return 0;
		prev = key;
	}
	return -ENOENT;
}

struct svc_entry {
	struct hl_svc_key key;
	struct hl_service svc;
};

static int svc_entry_cmp(const void *a, const void *b)
{
	const struct svc_entry *x = a, *y = b;

	return (x->svc.id > y->svc.id) - (x->svc.id < y->svc.id);
}

int svc_for_each(struct store *st, svc_iter_fn fn, void *data)
{
	struct hl_svc_key k, *prev = NULL;
	struct svc_entry *all;
	unsigned int n = 0, i;
	int err = 0;

	all = calloc(HL_MAX_SERVICES, sizeof(*all));
	if (!all)
		return -ENOMEM;
	while (n < HL_MAX_SERVICES &&
	       !bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &all[n].svc))
			continue;
		all[n++].key = k;
	}
	/* By id: the order services were added in, stable across runs. */
	qsort(all, n, sizeof(*all), svc_entry_cmp);
	for (i = 0; i < n && !err; i++)
		err = fn(st, &all[i].key, &all[i].svc, data);
	free(all);
	return err;
}

int svc_ports_sync(struct store *st)
{
	static __u64 bits[65536 / 64], vips[HL_VIP_BUCKETS / 64],
		     nat[65536 / 64], other[65536 / 64];
	__u32 keys[65536 / 64], count = 65536 / 64, i;
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;

	_Static_assert(HL_VIP_BUCKETS == 65536, "one key array for all maps");
	memset(bits, 0xff, sizeof(bits));
	memset(vips, 0xff, sizeof(vips));
	memset(nat, 0, sizeof(nat));
	memset(other, 0, sizeof(other));
	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		__u16 port = ntohs(k.port);
		__u32 b = hl_vip_bucket(k.vip);
		bool is_nat = !bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) &&
			      svc.fwd == HL_FWD_NAT;

		bits[port / 64] &= ~(1ull << (port % 64));
		vips[b / 64] &= ~(1ull << (b % 64));
		(is_nat ? nat : other)[port / 64] |= 1ull << (port % 64);
		prev = &k;
	}
	for (i = 0; i < count; i++) {
		keys[i] = i;
		nat[i] &= ~other[i];
	}
	if (bpf_map_update_batch(st->fds[MAP_FREE_VIPS], keys, vips, &count, NULL))
		return -errno;
	count = 65536 / 64;
	if (bpf_map_update_batch(st->fds[MAP_NAT_PORTS], keys, nat, &count, NULL))
		return -errno;
	count = 65536 / 64;
	return bpf_map_update_batch(st->fds[MAP_FREE_PORTS], keys, bits, &count,
				    NULL) ? -errno : 0;
}

/*
 * Build the tables of `svc`'s strategy (lib/tables.h) and swap them in:
 * the node list first, then the slot table, then the service's slot count
 * (written back under `key`, unless the service is still being added).
 * Between the table swap and the service write a packet may index the new
 * table with the old count: it reads a node of the new table, or no slot
 * (HL_NODE_NONE, dropped like an empty table), nothing else.
 */
/* The read service's node that is the primary (usable for new flows), or
 * HL_NODE_NONE: where read-your-writes sends a client's reads. */
static __u32 ryw_primary(struct store *st, __u32 svc_id)
{
	__u32 i;

	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];
		__u8 role = n->eff_role != HL_ROLE_ANY ? n->eff_role : n->role;

		if (n->svc_id == svc_id && node_usable_for_new(n) &&
		    role == HL_ROLE_PRIMARY)
			return i;
	}
	return HL_NODE_NONE;
}

static int ryw_primary_update(struct store *st, __u32 svc_id)
{
	__u32 id = ryw_primary(st, svc_id);
	struct hl_ryw r;

	if (bpf_map_lookup_elem(st->fds[MAP_RYW], &svc_id, &r))
		return -errno;
	if (r.primary_id == id)
		return 0;
	r.primary_id = id;
	return bpf_map_update_elem(st->fds[MAP_RYW], &svc_id, &r, BPF_ANY) ?
		-errno : 0;
}

static int rebuild(struct store *st, const struct hl_svc_key *key,
		   struct hl_service *svc, bool write_back)
{
	int err;

	if (!st->nodes) {
		err = nodes_load(st);
		if (err)
			return err;
	}
	if (svc->opts & HL_SVC_O_RYW) {
		err = ryw_primary_update(st, svc->id);
		if (err)
			return err;
	}
	err = tables_swap(st, svc);
	if (!err && write_back &&
	    svc_put(st, key, svc, BPF_EXIST))
		err = -errno;
	return err;
}

int svc_rebuild(struct store *st, __u32 id)
{
	struct hl_service svc;
	struct hl_svc_key key;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find_id(st, id, &key, &svc);
	if (!err)
		err = rebuild(st, &key, &svc, true);
	store_unlock(st);
	return err;
}

int svc_add(struct store *st, const struct hl_svc_key *key,
	    const struct hl_service *tpl)
{
	bool used[HL_MAX_SERVICES] = { false };
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc = *tpl, s;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	if (!svc_find(st, key, &s)) {
		hl_err("the service already exists");
		err = -EEXIST;
		goto out;
	}
	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		if (!bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &s) &&
		    s.id < HL_MAX_SERVICES)
			used[s.id] = true;
		prev = &k;
	}
	svc.id = 0;
	svc.flags = 0;
	svc.opts &= ~(HL_SVC_O_RYW | HL_SVC_O_RYW_SRC);
	svc.gen = svc.gen_node = svc.gen_tli = 0;
	svc.gen_ns = 0;
	while (svc.id < HL_MAX_SERVICES && used[svc.id])
		svc.id++;
	if (svc.id == HL_MAX_SERVICES) {
		hl_err("too many services (at most %d)", HL_MAX_SERVICES);
		err = -ENOSPC;
		goto out;
	}

	/* Counters, limits and tables first: the service appears last. */
	err = percpu_zero(st->fds[MAP_SVC_STATS], svc.id,
			  sizeof(struct hl_counters), true);
	if (!err)
		err = percpu_zero(st->fds[MAP_LIMIT_STATS], svc.id,
				  sizeof(struct hl_limit_stats), true);
	if (!err)
		err = percpu_zero(st->fds[MAP_LIMITS], svc.id,
				  sizeof(struct hl_limits), false);
	if (!err)
		err = percpu_zero(st->fds[MAP_SVC_ACTIVE], svc.id, sizeof(__s64),
				  false);
	if (!err)	/* none: a service before it under this id had some */
		err = percpu_zero(st->fds[MAP_SNAT_ADDRS], svc.id,
				  sizeof(struct hl_snat), false);
	if (!err)
		err = percpu_zero(st->fds[MAP_RYW], svc.id, sizeof(struct hl_ryw),
				  false);
	if (!err)
		err = rebuild(st, key, &svc, false);
	if (!err && svc_put(st, key, &svc, BPF_NOEXIST))
		err = -errno;
	if (!err)
		err = svc_ports_sync(st);
	if (err && err != -ENOSPC)
		hl_err("cannot add the service: %s", strerror(-err));
out:
	store_unlock(st);
	return err;
}

/* A service with nodes becomes l2: all of them directly connected. */
static int fwd_l2_check(struct store *st, const struct hl_svc_key *key,
			const struct hl_service *svc)
{
	char name[SVC_STRLEN];
	int err;

	err = st->nodes ? 0 : nodes_load(st);
	if (!err)
		err = l2_service_check(st, svc->id,
				       format_svc(key, name, sizeof(name)));
	return err;
}

int svc_snat_get(struct store *st, __u32 id, struct hl_snat *snat)
{
	if (bpf_map_lookup_elem(st->fds[MAP_SNAT_ADDRS], &id, snat)) {
		memset(snat, 0, sizeof(*snat));
		return -errno;
	}
	return 0;
}

/*
 * Without SNAT addresses of its own a nat service uses the director's
 * address, which the host's own connections to the nodes (health probes)
 * use too, on kernel-chosen ports: those must not be SNAT ports, or a
 * node's answer to the host could be taken for a NAT flow's (abi.h).
 */
static void ephemeral_ports_check(void)
{
	static bool warned;
	unsigned int lo, hi;
	FILE *f;

	if (warned)
		return;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (!f)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= HL_SNAT_PORT_MAX &&
	    hi >= HL_SNAT_PORT_MIN) {
		hl_warn("net.ipv4.ip_local_port_range (%u-%u) overlaps the SNAT ports (%d-%d): the host's own connections to nodes can meet a NAT flow's port; move it above %d or give the service snat addresses",
			lo, hi, HL_SNAT_PORT_MIN, HL_SNAT_PORT_MAX,
			HL_SNAT_PORT_MAX);
		warned = true;
	}
	fclose(f);
}

int svc_nat_sources_check(struct store *st, const struct hl_svc_key *key,
			  const struct hl_service *svc,
			  const struct hl_snat *snat, int only)
{
	static const __be32 none[4];
	char name[SVC_STRLEN], addr[ADDR_PORT_STRLEN];
	struct hl_nexthop nh;
	__u32 i;
	int err;

	if (snat->count)
		return 0;
	ephemeral_ports_check();
	err = st->nodes ? 0 : nodes_load(st);
	for (i = 0; !err && i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id ||
		    (only >= 0 && i != (__u32)only))
			continue;
		if (!bpf_map_lookup_elem(st->fds[MAP_NEXTHOPS], &i, &nh) &&
		    memcmp(nh.src, none, sizeof(none)))
			continue;
		format_svc(key, name, sizeof(name));
		hl_err("no SNAT address for node %s of service %s: the service has no snat addresses and the node's next hop no source address (no route to it?)",
		       format_addr_port(n->family, n->addr, n->port, addr,
					sizeof(addr)), name);
		return -EADDRNOTAVAIL;
	}
	return err;
}

/*
 * May `svc` forward by `fwd` from now on? Not while it has live flows
 * (they would break); nodes of their own port only with nat; nat only
 * with a source address for every node.
 */
static int fwd_change_check(struct store *st, const struct hl_svc_key *key,
			    const struct hl_service *svc, __u8 fwd)
{
	char name[SVC_STRLEN], addr[ADDR_PORT_STRLEN];
	struct hl_snat snat;
	unsigned int live;
	__u32 i;
	int err;

	format_svc(key, name, sizeof(name));
	err = st->nodes ? 0 : nodes_load(st);
	if (!err)
		err = conns_count_live(st, key, &live);
	if (err)
		return err;
	if (live) {
		hl_err("service %s has %u live flow%s: its forwarding mode (fwd %s) cannot change while it has any (see conn list; conn flush ends them)",
		       name, live, live == 1 ? "" : "s", svc_fwd_name(svc->fwd));
		return -EBUSY;
	}
	if (fwd != HL_FWD_NAT) {
		for (i = 0; i < HL_MAX_NODES; i++) {
			const struct hl_node *n = &st->nodes[i];

			if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id ||
			    !n->port)
				continue;
			hl_err("node %s of service %s has a port of its own: only fwd nat translates ports (%s nodes receive the VIP's port)",
			       format_addr_port(n->family, n->addr, n->port, addr,
						sizeof(addr)), name, svc_fwd_name(fwd));
			return -EINVAL;
		}
		return 0;
	}
	svc_snat_get(st, svc->id, &snat);
	return svc_nat_sources_check(st, key, svc, &snat, -1);
}

int svc_set_snat(struct store *st, const struct hl_svc_key *key,
		 const struct hl_snat *snat)
{
	static const __be32 none[4];
	char name[SVC_STRLEN], addr[ADDR_STRLEN];
	struct hl_service svc;
	__u32 i, j;
	int err;

	format_svc(key, name, sizeof(name));
	if (snat->count > HL_SNAT_MAX) {
		hl_err("at most %d SNAT addresses", HL_SNAT_MAX);
		return -E2BIG;
	}
	for (i = 0; i < snat->count; i++) {
		const __be32 *a = snat->addrs[i];

		if (key->family == HL_AF_INET && (a[1] || a[2] || a[3])) {
			hl_err("SNAT addresses of service %s must be IPv4", name);
			return -EINVAL;
		}
		format_addr(key->family, a, addr, sizeof(addr));
		if (!memcmp(a, none, sizeof(none))) {
			hl_err("invalid SNAT address %s: unspecified", addr);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (!memcmp(a, snat->addrs[j], sizeof(snat->addrs[j]))) {
				hl_err("SNAT address %s given twice", addr);
				return -EINVAL;
			}
	}
	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (err)
		hl_err("no service %s", name);
	if (!err && svc.fwd == HL_FWD_NAT)
		err = svc_nat_sources_check(st, key, &svc, snat, -1);
	if (!err && bpf_map_update_elem(st->fds[MAP_SNAT_ADDRS], &svc.id, snat,
					BPF_ANY)) {
		err = -errno;
		hl_err("cannot write the SNAT addresses: %s", strerror(-err));
	}
	store_unlock(st);
	return err;
}

int svc_set_admin(struct store *st, const struct hl_svc_key *key,
		  const struct hl_service *admin)
{
	struct hl_service svc;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (!err && admin->fwd != svc.fwd)
		err = fwd_change_check(st, key, &svc, admin->fwd);
	if (!err && admin->fwd == HL_FWD_L2 && svc.fwd != HL_FWD_L2)
		err = fwd_l2_check(st, key, &svc);
	if (!err) {
		svc.strategy = admin->strategy;
		svc.hash = admin->hash;
		svc.bounded_load = admin->bounded_load;
		svc.fwd = admin->fwd;
		svc.opts = (admin->opts & ~SVC_O_DERIVED) |
			   (svc.opts & SVC_O_DERIVED);
		err = rebuild(st, key, &svc, true);
		if (!err)	/* the forwarding mode may have changed */
			err = svc_ports_sync(st);
	}
	store_unlock(st);
	return err;
}

int svc_set_limits(struct store *st, const struct hl_svc_key *key,
		   const struct hl_limits *lim)
{
	struct hl_service svc;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (err)
		goto out;
	svc.opts &= ~SVC_O_LIMITS;
	if (lim->conn.cost || lim->client_cost)
		svc.opts |= HL_SVC_O_LIMIT_CONN;
	if (lim->pkt.cost || lim->bytes.cost)
		svc.opts |= HL_SVC_O_LIMIT_TRAFFIC;
	if (lim->retry_delay_ms)
		svc.opts |= HL_SVC_O_SYN_RETRY;
	/* Limits first: a packet that sees the new opts finds them. */
	if (bpf_map_update_elem(st->fds[MAP_LIMITS], &svc.id, lim, BPF_ANY) ||
	    svc_put(st, key, &svc, BPF_EXIST))
		err = -errno;
out:
	store_unlock(st);
	return err;
}

int svc_set_flags(struct store *st, const struct hl_svc_key *key, __u32 mask,
		  __u32 flags)
{
	struct hl_service svc;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (!err && (svc.flags & mask) != (flags & mask)) {
		svc.flags = (svc.flags & ~mask) | (flags & mask);
		if (svc_put(st, key, &svc, BPF_EXIST))
			err = -errno;
	}
	store_unlock(st);
	return err;
}

/* The lease first, then the flag: the data path never sees the flag
 * with an old lease. Ending clears the flag first, for the same reason. */
int svc_switchover_set(struct store *st, const struct hl_svc_key *key,
		       __u64 until_ns, __u32 flags)
{
	struct hl_switchover so = { .until_ns = until_ns, .flags = flags };
	struct hl_service svc;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (!err && bpf_map_update_elem(st->fds[MAP_SWITCHOVER], &svc.id, &so,
					BPF_ANY)) {
		err = -errno;
		hl_err("cannot write the switchover hold: %s", strerror(errno));
	}
	if (!err && !(svc.flags & HL_SVC_F_SWITCHOVER)) {
		svc.flags |= HL_SVC_F_SWITCHOVER;
		if (svc_put(st, key, &svc, BPF_EXIST))
			err = -errno;
	}
	store_unlock(st);
	return err;
}

int svc_switchover_end(struct store *st, const struct hl_svc_key *key)
{
	struct hl_switchover so = {};
	struct hl_service svc;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (!err && (svc.flags & HL_SVC_F_SWITCHOVER)) {
		svc.flags &= ~HL_SVC_F_SWITCHOVER;
		if (svc_put(st, key, &svc, BPF_EXIST))
			err = -errno;
	}
	if (!err && bpf_map_update_elem(st->fds[MAP_SWITCHOVER], &svc.id, &so,
					BPF_ANY))
		err = -errno;
	store_unlock(st);
	return err;
}

int svc_set_pools(struct store *st, const struct hl_svc_key *key)
{
	struct hl_class_pool_key k, last;
	struct hl_service svc;
	bool any = false, first = true;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	while (!err && !any &&
	       !bpf_map_get_next_key(st->fds[MAP_CLASS_POOLS], first ? NULL : &last, &k)) {
		any = k.svc_id == svc.id;
		last = k;
		first = false;
	}
	if (!err && any != !!(svc.opts & HL_SVC_O_POOLS)) {
		svc.opts ^= HL_SVC_O_POOLS;
		/* the pool lists first (tables_swap), then the option */
		err = rebuild(st, key, &svc, true);
	} else if (!err && any) {
		err = rebuild(st, key, &svc, true);
	}
	store_unlock(st);
	return err;
}

int svc_switchover_get(struct store *st, const struct hl_service *svc,
		       struct hl_switchover *so)
{
	if (bpf_map_lookup_elem(st->fds[MAP_SWITCHOVER], &svc->id, so))
		return -errno;
	return 0;
}

int svc_del(struct store *st, const struct hl_svc_key *key)
{
	struct hl_service svc;
	struct hl_node gone = {};
	int err;
	__u32 i;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (err)
		goto out;
	/* Stop matching first (the copy by id, then the entry), then free
	 * the nodes and the table. */
	err = percpu_zero(st->fds[MAP_SVC_BY_ID], svc.id,
			  sizeof(struct hl_svc_slot), false);
	if (!err && bpf_map_delete_elem(st->fds[MAP_SERVICES], key))
		err = -errno;
	if (err)
		goto out;
	svc_ports_sync(st);
	err = nodes_load(st);
	if (err)
		goto out;
	for (i = 0; i < HL_MAX_NODES; i++) {
		struct hl_node *n = &st->nodes[i];

		if ((n->flags & HL_NODE_F_EXISTS) && n->svc_id == svc.id) {
			*n = gone;
			bpf_map_update_elem(st->fds[MAP_NODES], &i, n, BPF_ANY);
		}
	}
	for (i = 0; i < HL_SLOTS_TABLES; i++) {
		__u32 key = hl_slots_key(svc.id, i);

		bpf_map_delete_elem(st->fds[MAP_SLOTS], &key);
	}
	percpu_zero(st->fds[MAP_SNAT_ADDRS], svc.id, sizeof(struct hl_snat),
		    false);
	err = ryw_forget(st, svc.id);
out:
	store_unlock(st);
	return err;
}

/* ---- read-your-writes ---- */

void svc_admin_read(struct store *st, const struct hl_service *svc,
		    struct svc_admin *out)
{
	struct hl_svc_key src;
	struct hl_service s;
	struct hl_ryw r;

	memset(out, 0, sizeof(*out));
	out->svc = *svc;
	out->fallback = svc->opts & HL_SVC_O_FALLBACK_PRIMARY ?
			SVC_FALLBACK_PRIMARY : SVC_FALLBACK_NONE;
	out->scaleout = svc->opts & HL_SVC_O_SCALEOUT;
	out->announce = !(svc->opts & HL_SVC_O_NO_ANNOUNCE);
	if ((svc->opts & HL_SVC_O_RYW) && !svc_ryw_get(st, svc->id, &r) &&
	    r.window_ms && !svc_find_id(st, r.src_id, &src, &s)) {
		format_svc(&src, out->ryw_of, sizeof(out->ryw_of));
		out->ryw_window_ms = r.window_ms;
	}
}

int svc_ryw_get(struct store *st, __u32 id, struct hl_ryw *r)
{
	if (bpf_map_lookup_elem(st->fds[MAP_RYW], &id, r)) {
		memset(r, 0, sizeof(*r));
		return -errno;
	}
	return 0;
}

/* HL_SVC_O_RYW_SRC on exactly the services that a read service with a
 * window names: only their packets pay for the note. */
static int ryw_sync_sources(struct store *st)
{
	static bool src[HL_MAX_SERVICES];
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;
	struct hl_ryw r;
	int err = 0;

	memset(src, 0, sizeof(src));
	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) ||
		    !(svc.opts & HL_SVC_O_RYW) || svc_ryw_get(st, svc.id, &r))
			continue;
		if (r.window_ms && r.src_id < HL_MAX_SERVICES)
			src[r.src_id] = true;
	}
	prev = NULL;
	while (!err && !bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		__u32 want;

		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) ||
		    svc.id >= HL_MAX_SERVICES)
			continue;
		want = src[svc.id] ? HL_SVC_O_RYW_SRC : 0;
		if ((svc.opts & HL_SVC_O_RYW_SRC) == want)
			continue;
		svc.opts = (svc.opts & ~HL_SVC_O_RYW_SRC) | want;
		if (svc_put(st, &k, &svc, BPF_EXIST))
			err = -errno;
	}
	return err;
}

/* Service `id` is gone: its own settings, and read services following it. */
static int ryw_forget(struct store *st, __u32 id)
{
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;
	struct hl_ryw r;

	percpu_zero(st->fds[MAP_RYW], id, sizeof(struct hl_ryw), false);
	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) ||
		    !(svc.opts & HL_SVC_O_RYW) || svc_ryw_get(st, svc.id, &r) ||
		    r.src_id != id)
			continue;
		hl_warn("read-your-writes of service id %u is off: its write service is gone",
			svc.id);
		svc.opts &= ~HL_SVC_O_RYW;
		svc_put(st, &k, &svc, BPF_EXIST);
		percpu_zero(st->fds[MAP_RYW], svc.id, sizeof(struct hl_ryw), false);
	}
	return ryw_sync_sources(st);
}

int svc_set_ryw(struct store *st, const struct hl_svc_key *key,
		const struct hl_svc_key *src, __u32 window_ms)
{
	char name[SVC_STRLEN], sname[SVC_STRLEN];
	struct hl_service svc, ssvc;
	struct hl_ryw r = { .primary_id = HL_NODE_NONE };
	int err;

	format_svc(key, name, sizeof(name));
	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (err) {
		hl_err("no service %s", name);
		goto out;
	}
	if (src) {
		format_svc(src, sname, sizeof(sname));
		if (svc_find(st, src, &ssvc)) {
			hl_err("ryw-of: no service %s", sname);
			err = -ENOENT;
		} else if (ssvc.id == svc.id) {
			hl_err("ryw-of: service %s cannot follow itself", name);
			err = -EINVAL;
		} else if (src->proto != IPPROTO_TCP || src->family != key->family) {
			hl_err("ryw-of: %s must be a TCP service of %s's family",
			       sname, name);
			err = -EINVAL;
		}
		if (err)
			goto out;
		r.src_id = ssvc.id;
	} else if (window_ms) {
		hl_err("ryw-window needs ryw-of (the write service)");
		err = -EINVAL;
		goto out;
	}
	r.window_ms = window_ms;
	err = st->nodes ? 0 : nodes_load(st);
	if (err)
		goto out;
	r.primary_id = ryw_primary(st, svc.id);
	/* The settings first: a packet that sees the bit finds them. */
	if (bpf_map_update_elem(st->fds[MAP_RYW], &svc.id, &r, BPF_ANY)) {
		err = -errno;
		goto out;
	}
	/* Named, with the window off: the data path reads the entry and
	 * stops there; `ryw-window S` alone turns it on again. */
	svc.opts = src ? svc.opts | HL_SVC_O_RYW : svc.opts & ~HL_SVC_O_RYW;
	if (svc_put(st, key, &svc, BPF_EXIST))
		err = -errno;
	if (!err)
		err = ryw_sync_sources(st);
out:
	store_unlock(st);
	return err;
}

int svc_apply_ryw(struct store *st, const struct hl_svc_key *key,
		  const struct svc_admin *in, opt_seen_t seen)
{
	const struct opt *o = svc_admin_opts;
	struct hl_svc_key src, *srcp = NULL;
	struct hl_service svc, ssvc;
	struct hl_ryw r;
	__u32 window;

	if (!(seen & (OPT_SEEN(o, "ryw-of") | OPT_SEEN(o, "ryw-window"))))
		return 0;
	if (svc_find(st, key, &svc))
		return -ENOENT;
	svc_ryw_get(st, svc.id, &r);
	window = seen & OPT_SEEN(o, "ryw-window") ? in->ryw_window_ms :
		 r.window_ms;
	if (seen & OPT_SEEN(o, "ryw-of")) {
		if (parse_svc(in->ryw_of, &src))
			return -EINVAL;
		srcp = &src;
	} else if ((svc.opts & HL_SVC_O_RYW) &&
		   !svc_find_id(st, r.src_id, &src, &ssvc)) {
		srcp = &src;
	}
	return svc_set_ryw(st, key, srcp, window);
}

int svc_set_gen(struct store *st, const struct hl_svc_key *key, __u32 gen,
		__u32 node_id, __u32 tli, __u64 gen_ns)
{
	struct hl_service svc;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = svc_find(st, key, &svc);
	if (!err && (svc.gen != gen || svc.gen_node != node_id ||
		     svc.gen_tli != tli || svc.gen_ns != gen_ns)) {
		svc.gen = gen;
		svc.gen_node = node_id;
		svc.gen_tli = tli;
		svc.gen_ns = gen_ns;
		if (svc_put(st, key, &svc, BPF_EXIST))
			err = -errno;
	}
	store_unlock(st);
	return err;
}
