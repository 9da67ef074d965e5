// SPDX-License-Identifier: GPL-2.0
/* helios-agent stats [SVC] */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/report.h"
#include "lib/counters.h"
#include "lib/nodes.h"
#include "lib/rate.h"
#include "lib/services.h"

struct stats_ctx {
	const struct hl_svc_key *only;
	struct json_object *services;
};

static int service_stats(struct store *st, const struct hl_svc_key *key,
			 const struct hl_service *svc, void *data)
{
	struct stats_ctx *ctx = data;
	struct json_object *o, *nodes;
	struct json_object *limits;
	struct hl_limit_stats ls;
	struct hl_counters c;
	char name[SVC_STRLEN];
	__u32 i;
	int l;

	if (ctx->only && memcmp(ctx->only, key, sizeof(*key)))
		return 0;
	format_svc(key, name, sizeof(name));
	counters_read(st, MAP_SVC_STATS, svc->id, &c);
	limit_stats_read(st, MAP_LIMIT_STATS, svc->id, &ls);
	limits = json_object_new_object();
	for (l = 0; l < HL_LIMIT_MAX; l++) {
		struct json_object *lo;

		if (!json_output) {
			if (ls.admitted[l] || ls.dropped[l])
				printf("  limit %-7s admitted %llu, dropped %llu\n",
				       limit_names[l],
				       (unsigned long long)ls.admitted[l],
				       (unsigned long long)ls.dropped[l]);
			continue;
		}
		lo = json_object_new_object();
		json_object_object_add(lo, "admitted",
				       json_object_new_int64(ls.admitted[l]));
		json_object_object_add(lo, "dropped",
				       json_object_new_int64(ls.dropped[l]));
		json_object_object_add(limits, limit_names[l], lo);
	}
	if (!json_output) {
		printf("service %s: %llu packets, %llu bytes, %llu flows\n", name,
		       (unsigned long long)c.packets, (unsigned long long)c.bytes,
		       (unsigned long long)c.flows);
		node_row_header();
	}
	nodes = json_object_new_array();
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id)
			continue;
		if (json_output)
			json_object_array_add(nodes, node_json(st, i, key));
		else
			node_row(st, i, name);
	}
	if (!json_output) {
		printf("\n");
		json_object_put(nodes);
		json_object_put(limits);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(name));
	json_object_object_add(o, "packets", json_object_new_int64(c.packets));
	json_object_object_add(o, "bytes", json_object_new_int64(c.bytes));
	json_object_object_add(o, "flows", json_object_new_int64(c.flows));
	json_object_object_add(o, "nodes", nodes);
	json_object_object_add(o, "limits", limits);
	json_object_array_add(ctx->services, o);
	return 0;
}

static int do_stats(int argc, char **argv)
{
	struct stats_ctx ctx = { .services = json_object_new_array() };
	struct json_object *reasons = json_object_new_object(), *top;
	__u64 counts[HL_REASON_MAX] = { 0 };
	struct hl_service svc;
	struct hl_svc_key key;
	struct store st;
	int err, r;

	if (argc > 1) {
		p_err("unexpected '%s'", argv[1]);
		err = -EINVAL;
		goto out_free;
	}
	if (argc == 1) {
		err = parse_svc(argv[0], &key);
		if (err)
			goto out_free;
		ctx.only = &key;
	}
	err = cli_store_open(&st, false);
	if (err == -ENOENT && !ctx.only) {
		err = 0;	/* nothing set up yet: all zero */
	} else if (!err) {
		err = nodes_load(&st);
		if (!err && ctx.only && svc_find(&st, ctx.only, &svc)) {
			p_err("no service %s", argv[0]);
			err = -ENOENT;
		}
		if (!err)
			err = svc_for_each(&st, service_stats, &ctx);
		if (!err)
			err = reasons_read(&st, counts);
	} else if (err == -ENOENT) {
		p_err("no service %s", argv[0]);
	}
	if (err)
		goto out;

	for (r = 0; r < HL_REASON_MAX; r++) {
		if (json_output)
			json_object_object_add(reasons, reason_name(r),
					       json_object_new_int64(counts[r]));
		else
			printf("%-28s %llu\n", reason_name(r),
			       (unsigned long long)counts[r]);
	}
	if (json_output) {
		top = json_object_new_object();
		json_object_object_add(top, "services", json_object_get(ctx.services));
		json_object_object_add(top, "reasons", json_object_get(reasons));
		json_print(top);
	}
out:
	store_close(&st);
out_free:
	json_object_put(ctx.services);
	json_object_put(reasons);
	return err;
}

const struct cli_object stats_object = {
	.name		= "stats",
	.usage		= "stats [SVC]",
	.run		= do_stats,
};
