// SPDX-License-Identifier: GPL-2.0
/*
 * tablecheck: the director's tables as the data path reads them, checked
 * from beside it without the lock (tests/e2e/97-crash.bats).
 *
 *   tablecheck DIR watch SECONDS [STOPFILE]
 *	At least once, then again and again for SECONDS or until STOPFILE
 *	exists: every slot table service's current
 *	table (the inner map the slots map holds now) must be complete: as
 *	long as the service's slot count (read before or after it), every
 *	entry a node of that service that exists in the nodes map read just
 *	before or just after the table. Prints one JSON object {"checks",
 *	"slots", "violations", "first"}; exit 1 on a violation.
 *   tablecheck DIR state
 *	What an agent converges to, by address (node ids differ between
 *	stores): a line per service with its nodes (weight, effective flags
 *	and scale, found role), its table (length, slots per address, a hash
 *	of the sequence), whether the table is the one the nodes give
 *	(strategy_build()) and whether it is complete (as for watch), and
 *	the writers' journal mark.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lib/nodes.h"
#include "lib/parse.h"
#include "lib/services.h"
#include "lib/store.h"
#include "lib/tables.h"
#include "lib/upgrade.h"

/* The table the service entry `svc` points packets to: malloc'ed, *len
 * entries. */
static __u32 *table_read(struct store *st, const struct hl_service *svc,
			 __u32 *len)
{
	struct bpf_map_info info = {};
	__u32 id, ilen = sizeof(info), *keys, *vals, out, count;
	__u32 key = hl_slots_key(svc->id, svc->table);
	int fd;

	if (bpf_map_lookup_elem(st->fds[MAP_SLOTS], &key, &id))
		return NULL;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return NULL;	/* swapped out and freed meanwhile */
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		close(fd);
		return NULL;
	}
	count = info.max_entries;
	keys = calloc(count, sizeof(*keys));
	vals = calloc(count, sizeof(*vals));
	if (keys && vals &&
	    (!bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, NULL) ||
	     errno == ENOENT) && count == info.max_entries) {
		*len = count;
	} else {
		free(vals);
		vals = NULL;
	}
	free(keys);
	close(fd);
	return vals;
}

static bool node_of(const struct hl_node *nodes, __u32 id, __u32 svc_id)
{
	return id < HL_MAX_NODES && (nodes[id].flags & HL_NODE_F_EXISTS) &&
	       nodes[id].svc_id == svc_id;
}

static int svc_get(struct store *st, const struct hl_svc_key *k,
		   struct hl_service *svc)
{
	return bpf_map_lookup_elem(st->fds[MAP_SERVICES], k, svc);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int watch(struct store *st, double seconds, const char *stop)
{
	struct hl_node *before = calloc(HL_MAX_NODES, sizeof(*before));
	unsigned long long checks = 0, slots = 0, bad = 0;
	char first[256] = "";
	double end = now_s() + seconds;

	if (!before)
		return 2;
	do {
		struct hl_svc_key k, *prev = NULL;

		while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
			struct hl_service s0, s1;
			__u32 len = 0, i, *t;

			prev = &k;
			if (svc_get(st, &k, &s0) || strategy_needs_list(s0.strategy) ||
			    nodes_load(st))
				continue;
			memcpy(before, st->nodes, HL_MAX_NODES * sizeof(*before));
			t = table_read(st, &s0, &len);
			if (!t || nodes_load(st) || svc_get(st, &k, &s1)) {
				free(t);
				continue;	/* the service went away */
			}
			checks++;
			slots += len;
			if (len != s0.slots && len != s1.slots) {
				if (!bad++)
					snprintf(first, sizeof(first),
						 "service %u: table of %u slots, service says %u then %u",
						 s0.id, len, s0.slots, s1.slots);
			}
			for (i = 0; i < len; i++) {
				if (node_of(before, t[i], s0.id) ||
				    node_of(st->nodes, t[i], s0.id))
					continue;
				if (!bad++)
					snprintf(first, sizeof(first),
						 "service %u slot %u: node %u is not one of its nodes",
						 s0.id, i, t[i]);
			}
			free(t);
		}
	} while (now_s() < end && !(stop && !access(stop, F_OK)));
	free(before);
	printf("{\"checks\": %llu, \"slots\": %llu, \"violations\": %llu, \"first\": \"%s\"}\n",
	       checks, slots, bad, first);
	return bad ? 1 : 0;
}

static const char *addr_of(const struct hl_node *n, char *buf, size_t len)
{
	return format_addr_port(n->family, n->addr, n->port, buf, len);
}

/* One service's line; svc ids and node ids are left out on purpose. */
static int state_line(struct store *st, const struct hl_svc_key *k,
		      const struct hl_service *svc, void *data)
{
	struct hl_settings cfg = {};
	char name[SVC_STRLEN], a[64], zone[HL_ZONE_LEN + 1] = "";
	struct strat_tables t = {};
	__u32 zero = 0, len = 0, i, j, *tab;
	unsigned long long h = 0xcbf29ce484222325ull;
	bool built, complete;

	(void)data;
	printf("%s strategy=%s nodes=", format_svc(k, name, sizeof(name)),
	       hl_strategy_name(svc->strategy));
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if (node_of(st->nodes, i, svc->id))
			printf("%s/w%u/f%x/s%u/r%u,", addr_of(n, a, sizeof(a)),
			       n->weight, n->flags, n->eff_scale, n->eff_role);
	}
	tab = table_read(st, svc, &len);
	printf(" table=%u", len);
	for (i = 0; tab && i < HL_MAX_NODES; i++) {
		unsigned int c = 0;

		if (!node_of(st->nodes, i, svc->id))
			continue;
		for (j = 0; j < len; j++)
			c += tab[j] == i;
		printf(" %s:%u", addr_of(&st->nodes[i], a, sizeof(a)), c);
	}
	for (j = 0; tab && j < len; j++) {
		const char *p = tab[j] < HL_MAX_NODES ?
			addr_of(&st->nodes[tab[j]], a, sizeof(a)) : "none";

		for (; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
		h = (h ^ ',') * 0x100000001b3ull;
	}
	if (!bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg))
		memcpy(zone, cfg.zone, HL_ZONE_LEN);
	built = tab && !strategy_build(svc, st->nodes, zone, &t) &&
		t.len == len && !memcmp(t.table, tab, len * sizeof(*tab));
	complete = tab && len == svc->slots;
	for (j = 0; complete && j < len; j++)
		complete = node_of(st->nodes, tab[j], svc->id);
	printf(" hash=%016llx built=%s complete=%s\n", h, built ? "yes" : "no",
	       complete ? "yes" : "no");
	strategy_tables_free(&t);
	free(tab);
	return 0;
}

int main(int argc, char **argv)
{
	struct store st;
	int err;

	if (argc < 3 || (strcmp(argv[2], "state") &&
			 (strcmp(argv[2], "watch") || argc < 4 || argc > 5))) {
		fprintf(stderr, "usage: tablecheck DIR watch SECONDS [STOPFILE] | DIR state\n");
		return 2;
	}
	err = store_open(&st, argv[1], false);
	if (err) {
		fprintf(stderr, "tablecheck: cannot open %s: %s\n", argv[1],
			strerror(-err));
		return 2;
	}
	if (!strcmp(argv[2], "watch")) {
		store_unlock(&st);	/* read beside the writers, as the data path does */
		err = watch(&st, atof(argv[3]), argc == 5 ? argv[4] : NULL);
	} else {
		err = nodes_load(&st);
		if (!err)
			err = svc_for_each(&st, state_line, NULL);
		printf("dirty=%llu\n",
		       (unsigned long long)layout_get(st.meta_fd, HL_LAYOUT_DIRTY));
	}
	store_close(&st);
	return err ? 1 : 0;
}
