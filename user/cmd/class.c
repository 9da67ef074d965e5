// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent class { add | set | pool | del | list }: priority classes
 * of clients. Director-wide: a class's prefixes map (LPM trie) to its own
 * connection bucket, which admits the class's new connections to any
 * service with a connection limit in place of the service's `rate conn`
 * bucket; with a shed order (class set), as well as it, in a ranking.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd/args.h"
#include "cmd/cli.h"
#include "cmd/map_decode.h"
#include "lib/counters.h"
#include "lib/parse.h"
#include "lib/rate.h"
#include "lib/services.h"
#include "lib/options.h"

/* A class's settings beyond its bucket: class set NAME OPTIONS, and the
 * same keys in the configuration file's classes. */
const struct opt class_admin_opts[] = {
	{ .name = "shed-order", .type = OPT_UINT, .where = OPT_BOTH, .arg = "N",
	  OPT_FIELD(struct hl_class, shed_order), .min = 0,
	  .max = HL_SHED_ORDER_MAX, .def = "0",
	  .help = "1..7: also draw on the service's rate conn, shed under "
		  "overload before lower orders (N/8 of its burst kept for them); "
		  "0: its own bucket only" },
	{ NULL }
};

/* Every class prefix, with its class id; returns the count. */
static int read_prefixes(struct store *st, struct hl_class_key *keys,
			 __u32 *ids, int max)
{
	struct hl_class_key k, last;
	bool first = true;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(st->fds[MAP_CLASS_PREFIXES],
						first ? NULL : &last, &k)) {
		if (!bpf_map_lookup_elem(st->fds[MAP_CLASS_PREFIXES], &k, &ids[n]))
			keys[n++] = k;
		last = k;
		first = false;
	}
	return n;
}

static int find_class(struct store *st, const char *name, struct hl_class *c)
{
	__u32 i;

	for (i = 0; i < HL_MAX_CLASSES; i++)
		if (!bpf_map_lookup_elem(st->fds[MAP_CLASSES], &i, c) &&
		    (c->flags & HL_CLASS_F_USED) &&
		    !strncmp(c->name, name, HL_CLASS_NAME_LEN))
			return i;
	return -ENOENT;
}

/* A deleted class's pools go with it (its id may be reused); the services
 * it named pools on are rebuilt without them. */
static void pools_forget(struct store *st, __u32 id)
{
	struct hl_class_pool_key k, last, gone[HL_MAX_SERVICES];
	struct hl_svc_key key;
	struct hl_service svc;
	unsigned int n = 0, i;
	bool first = true;

	while (n < HL_MAX_SERVICES &&
	       !bpf_map_get_next_key(st->fds[MAP_CLASS_POOLS], first ? NULL : &last, &k)) {
		if (k.class_id == id)
			gone[n++] = k;
		last = k;
		first = false;
	}
	for (i = 0; i < n; i++) {
		bpf_map_delete_elem(st->fds[MAP_CLASS_POOLS], &gone[i]);
		if (!svc_find_id(st, gone[i].svc_id, &key, &svc))
			svc_set_pools(st, &key);
	}
}

int class_parse_add(int argc, char **argv, struct hl_class_key *key,
		    struct hl_class *cls)
{
	char name[HL_CLASS_NAME_LEN];
	struct rate_spec r;

	memset(cls, 0, sizeof(*cls));
	REQ_ARGS(1);
	if (parse_prefix(argv[0], key))
		return -1;
	if (argc < 6 || strcmp(argv[1], "name") || strcmp(argv[3], "rate") ||
	    strcmp(argv[4], "conn")) {
		p_err("expected: class add PREFIX name NAME rate conn N[/s] [burst B] [leaky]");
		return -1;
	}
	if (parse_class_name(argv[2], name) ||
	    parse_rate(argc - 5, argv + 5, "class", false, &r))
		return -1;
	if (r.off) {
		p_err("a class needs a rate (to remove it: class del NAME)");
		return -1;
	}
	if (bucket_set(&cls->conn, "class", r.rate, r.leaky ? 1 : r.burst, 1))
		return -1;
	memcpy(cls->name, name, sizeof(cls->name));
	cls->flags = HL_CLASS_F_USED;
	return 0;
}

static int do_add(int argc, char **argv)
{
	struct hl_class_key key, keys[HL_MAX_CLASSES];
	__u32 ids[HL_MAX_CLASSES], id;
	struct hl_class cls, c;
	struct hl_limit_stats *zero;
	char pbuf[64];
	struct store st;
	int err, n, i, existing;

	if (class_parse_add(argc, argv, &key, &cls))
		return -1;

	err = cli_store_open(&st, true);
	if (err)
		goto out;
	n = read_prefixes(&st, keys, ids, HL_MAX_CLASSES);
	for (i = 0; i < n; i++) {
		if (prefixes_overlap(&keys[i], &key)) {
			p_err("prefix %s overlaps %s of class %u", argv[0],
			      format_prefix(&keys[i], pbuf, sizeof(pbuf)), ids[i]);
			err = -EEXIST;
			goto out;
		}
	}
	existing = find_class(&st, cls.name, &c);
	if (existing >= 0) {
		/* Another prefix for the class; its rate is replaced. */
		id = existing;
		cls.conn.tat = 0;
		cls.shed_order = c.shed_order;
	} else {
		for (id = 0; id < HL_MAX_CLASSES; id++)
			if (bpf_map_lookup_elem(st.fds[MAP_CLASSES], &id, &c) ||
			    !(c.flags & HL_CLASS_F_USED))
				break;
		if (id == HL_MAX_CLASSES) {
			p_err("too many classes (at most %d)", HL_MAX_CLASSES);
			err = -ENOSPC;
			goto out;
		}
		zero = calloc(libbpf_num_possible_cpus(), sizeof(*zero));
		if (zero)
			bpf_map_update_elem(st.fds[MAP_CLASS_STATS], &id, zero, BPF_ANY);
		free(zero);
	}
	/* The class first, then the prefix that leads to it. */
	if (bpf_map_update_elem(st.fds[MAP_CLASSES], &id, &cls, BPF_ANY) ||
	    bpf_map_update_elem(st.fds[MAP_CLASS_PREFIXES], &key, &id, BPF_NOEXIST)) {
		err = -errno;
		p_err("cannot add class %.*s: %s", HL_CLASS_NAME_LEN, cls.name,
		      strerror(errno));
		goto out;
	}
	if (json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

/* class set NAME OPTIONS: what is not given stays as it is. */
static int do_set(int argc, char **argv)
{
	struct hl_class c, want = {};
	opt_seen_t seen = 0;
	struct store st;
	const char *name;
	char buf[128];
	int err, id;

	if (argc < 3) {
		p_err("expected: class set NAME OPTIONS (%s)",
		      opts_expected(class_admin_opts, OPT_CLI, buf, sizeof(buf)));
		return -1;
	}
	name = argv[0];
	argc--, argv++;
	if (opts_parse_args(class_admin_opts, &want, &argc, &argv, true, &seen)) {
		p_err_unreported();
		return -1;
	}
	err = cli_store_open(&st, true);
	if (err)
		goto out;
	id = find_class(&st, name, &c);
	if (id < 0) {
		p_err("no class %s", name);
		err = -ENOENT;
		goto out;
	}
	if (seen & OPT_SEEN(class_admin_opts, "shed-order"))
		c.shed_order = want.shed_order;
	/* The element is copied over in place: the bucket's tat goes back
	 * to what we read (at most the few connections admitted since). */
	if (bpf_map_update_elem(st.fds[MAP_CLASSES], &id, &c, BPF_EXIST)) {
		err = -errno;
		p_err("cannot set class %s: %s", name, strerror(errno));
		goto out;
	}
	if (json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static int do_del(int argc, char **argv)
{
	struct hl_class_key keys[HL_MAX_CLASSES];
	__u32 ids[HL_MAX_CLASSES];
	struct hl_class c, gone = {};
	struct store st;
	int err, id, n, i;

	if (argc != 1) {
		p_err("expected: class del NAME");
		return -1;
	}
	err = cli_store_open(&st, true);
	if (err)
		goto out;
	id = find_class(&st, argv[0], &c);
	if (id < 0) {
		p_err("no class %s", argv[0]);
		err = -ENOENT;
		goto out;
	}
	/* Prefixes first: no packet finds a class being emptied. */
	n = read_prefixes(&st, keys, ids, HL_MAX_CLASSES);
	for (i = 0; i < n; i++)
		if (ids[i] == (__u32)id)
			bpf_map_delete_elem(st.fds[MAP_CLASS_PREFIXES], &keys[i]);
	bpf_map_update_elem(st.fds[MAP_CLASSES], &id, &gone, BPF_ANY);
	pools_forget(&st, id);
	if (json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static int do_list(int argc, char **argv)
{
	struct json_object *arr = json_object_new_array();
	struct hl_class_key keys[HL_MAX_CLASSES];
	__u32 ids[HL_MAX_CLASSES], id;
	struct hl_limit_stats ls;
	struct hl_class c;
	char pbuf[64];
	struct store st;
	int err, n, i;

	if (argc) {
		p_err("unexpected '%s'", argv[0]);
		json_object_put(arr);
		return -1;
	}
	err = cli_store_open(&st, false);
	if (err == -ENOENT) {
		err = 0;
		goto print;
	}
	if (err)
		goto out;
	n = read_prefixes(&st, keys, ids, HL_MAX_CLASSES);
	if (!json_output)
		printf("%-16s %-44s %10s %8s %4s %12s %12s %12s\n", "CLASS",
		       "PREFIXES", "RATE/S", "BURST", "SHED", "ADMITTED",
		       "DROPPED", "SHED-DROPS");
	for (id = 0; id < HL_MAX_CLASSES; id++) {
		struct json_object *o, *pfx = json_object_new_array();
		char plist[256] = "";

		if (bpf_map_lookup_elem(st.fds[MAP_CLASSES], &id, &c) ||
		    !(c.flags & HL_CLASS_F_USED)) {
			json_object_put(pfx);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (ids[i] != id)
				continue;
			format_prefix(&keys[i], pbuf, sizeof(pbuf));
			json_object_array_add(pfx, json_object_new_string(pbuf));
			if (strlen(plist) + strlen(pbuf) + 2 < sizeof(plist))
				strcat(strcat(plist, *plist ? "," : ""), pbuf);
		}
		limit_stats_read(&st, MAP_CLASS_STATS, id, &ls);
		if (!json_output) {
			printf("%-16.16s %-44s %10llu %8llu %4u %12llu %12llu %12llu\n",
			       c.name, plist,
			       (unsigned long long)bucket_rate(&c.conn),
			       (unsigned long long)bucket_burst(&c.conn),
			       c.shed_order,
			       (unsigned long long)ls.admitted[HL_LIMIT_CLASS],
			       (unsigned long long)ls.dropped[HL_LIMIT_CLASS],
			       (unsigned long long)ls.dropped[HL_LIMIT_CONN]);
			json_object_put(pfx);
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "name", json_text(c.name, sizeof(c.name)));
		json_object_object_add(o, "prefixes", pfx);
		json_object_object_add(o, "rate", json_object_new_int64(bucket_rate(&c.conn)));
		json_object_object_add(o, "burst", json_object_new_int64(bucket_burst(&c.conn)));
		json_object_object_add(o, "admitted",
				       json_object_new_int64(ls.admitted[HL_LIMIT_CLASS]));
		json_object_object_add(o, "dropped",
				       json_object_new_int64(ls.dropped[HL_LIMIT_CLASS]));
		json_object_object_add(o, "shed_order", json_object_new_int(c.shed_order));
		json_object_object_add(o, "shed_drops",
				       json_object_new_int64(ls.dropped[HL_LIMIT_CONN]));
		json_object_array_add(arr, o);
	}
print:
	if (json_output)
		json_print(json_object_get(arr));
out:
	json_object_put(arr);
	store_close(&st);
	return err;
}

static const struct opt_choice pool_choices[] = {
	{ "none", HL_POOL_ANY }, { "sync", HL_POOL_SYNC }, { "async", HL_POOL_ASYNC },
	{ NULL }
};

/* class pool NAME SVC sync|async|none: the class's nodes on a read service. */
static int do_pool(int argc, char **argv)
{
	struct hl_class_pool_key k;
	struct hl_svc_key key;
	struct hl_service svc;
	struct hl_class c;
	struct store st;
	unsigned int i;
	int err, id;
	__u8 pool;

	if (argc != 3) {
		p_err("expected: class pool NAME SVC sync|async|none");
		return -1;
	}
	for (i = 0; pool_choices[i].name && strcmp(pool_choices[i].name, argv[2]); i++)
		;
	if (!pool_choices[i].name) {
		p_err("unknown pool '%s' (sync, async or none)", argv[2]);
		return -1;
	}
	pool = pool_choices[i].value;
	if (parse_svc(argv[1], &key)) {
		p_err_unreported();
		return -1;
	}
	err = cli_store_open(&st, true);
	if (err)
		goto out;
	id = find_class(&st, argv[0], &c);
	if (id < 0) {
		p_err("no class %s", argv[0]);
		err = -ENOENT;
		goto out;
	}
	err = svc_find(&st, &key, &svc);
	if (err) {
		p_err("no service %s", argv[1]);
		goto out;
	}
	if (svc.strategy != HL_STRAT_REPLICA) {
		p_err("pools are for read services (strategy replica), not %s", argv[1]);
		err = -EINVAL;
		goto out;
	}
	k = (struct hl_class_pool_key){ .svc_id = svc.id, .class_id = id };
	if (pool == HL_POOL_ANY)
		bpf_map_delete_elem(st.fds[MAP_CLASS_POOLS], &k);
	else if (bpf_map_update_elem(st.fds[MAP_CLASS_POOLS], &k, &pool, BPF_ANY))
		err = -errno;
	if (!err)
		err = svc_set_pools(&st, &key);
	if (err)
		p_err_unreported();
	else if (json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static const struct cmd cmds[] = {
	{ "add",	do_add },
	{ "set",	do_set },
	{ "pool",	do_pool },
	{ "del",	do_del },
	{ "list",	do_list },
	{ 0 }
};

const struct cli_object class_object = {
	.name		= "class",
	.usage		=
		"class add PREFIX name NAME rate conn N[/s] [burst B] [leaky]\n"
		"class set NAME OPTIONS\n"
		"class pool NAME SVC sync|async|none\n"
		"class del NAME\n"
		"class list",
	.details	=
		"PREFIX := ADDR/LEN (no host bits; classes' prefixes must not overlap)\n"
		"A class's clients get in by its own bucket when a service sheds the others.\n"
		"With a shed order they need a token of the service's rate conn too, which\n"
		"they may take only while order/8 of its burst stays for lower orders and\n"
		"clients of no class: under overload the highest order is refused first.\n"
		"class pool: on read service SVC the class's new connections go to the sync\n"
		"(or async) standbys only, as pg_stat_replication.sync_state on the primary\n"
		"says; an empty pool falls back as the service's fallback says.\n",
	.opts		= class_admin_opts,
	.cmds		= cmds,
};
