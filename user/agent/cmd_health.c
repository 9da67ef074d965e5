// SPDX-License-Identifier: GPL-2.0
/* helios-agent health [SVC]: what the agent last judged, per node. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent/agent.h"
#include "agent/health.h"
#include "cmd/cli.h"
#include "cmd/report.h"
#include "lib/clock.h"
#include "lib/nodes.h"
#include "lib/services.h"
#include "lib/tables.h"

struct health_ctx {
	const struct hl_svc_key *only;
	int fd;
	__u64 now_ns;
	struct json_object *arr;
};

static const char *breaker_name(__u8 b)
{
	return breaker_state_name(b);
}

/* Why a write service holds, as its nodes' records say. */
static const char *hold_reason(const struct hl_health *h)
{
	if (h && (h->flags & HL_HEALTH_F_DISAGREE))
		return "postgres and Patroni disagree about the primary";
	return "no single primary";
}

/* The service's BGP announcement, as the agent last wrote it. */
static const char *announce_name(const struct hl_service *svc)
{
	if (!(svc->flags & HL_SVC_F_BGP))
		return "-";
	if (svc->opts & HL_SVC_O_NO_ANNOUNCE)
		return "off";
	if (!(svc->flags & HL_SVC_F_ANNOUNCED))
		return "withdrawn";
	return svc->flags & HL_SVC_F_BGP_DOWN ? "bgp-down" : "announced";
}

static int health_service(struct store *st, const struct hl_svc_key *key,
			  const struct hl_service *svc, void *data)
{
	struct health_ctx *ctx = data;
	char name[SVC_STRLEN], addr[ADDR_STRLEN];
	__u32 i;

	if (ctx->only && memcmp(ctx->only, key, sizeof(*key)))
		return 0;
	format_svc(key, name, sizeof(name));
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];
		struct hl_health h = {};
		bool valid;
		__u64 in_state_s, age_ms;
		struct json_object *o;

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id)
			continue;
		valid = ctx->fd >= 0 && !bpf_map_lookup_elem(ctx->fd, &i, &h) &&
			(h.flags & HL_HEALTH_F_VALID);
		in_state_s = valid && ctx->now_ns > h.state_since_ns ?
			     (ctx->now_ns - h.state_since_ns) / 1000000000ull : 0;
		age_ms = valid && ctx->now_ns > h.last_probe_ns ?
			 (ctx->now_ns - h.last_probe_ns) / 1000000ull : 0;
		format_addr(n->family, n->addr, addr, sizeof(addr));
		if (!json_output) {
			printf("%-30s %-26s %-13s %-8s %-9s %6u %6u %-5s %8.2f %8.2f %10llu %8llu %s\n",
			       name, addr,
			       !valid ? "unprobed" : h.flags & HL_HEALTH_F_FOREIGN ?
			       "foreign" : health_state_name(h.state),
			       role_name(valid ? h.role : n->role),
			       valid ? breaker_name(h.breaker) : "-", n->weight,
			       node_table_weight(n),
			       !valid ? "-" : h.flags & HL_HEALTH_F_LAST_OK ? "ok" : "fail",
			       h.ema_us / 1000.0, h.lag_ms / 1000.0,
			       (unsigned long long)h.lag_bytes,
			       (unsigned long long)in_state_s, announce_name(svc));
			if (valid && (h.flags & HL_HEALTH_F_NO_READS))
				printf("%-30s %-26s Patroni keeps it out of reads (noloadbalance)\n",
				       "", "");
			if (valid && (h.flags & HL_HEALTH_F_DISAGREE) &&
			    (svc->flags & HL_SVC_F_HOLD))
				printf("%-30s %-26s holding: %s\n", "", "", hold_reason(&h));
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "service", json_object_new_string(name));
		json_object_object_add(o, "addr", json_object_new_string(addr));
		json_object_object_add(o, "state", json_object_new_string(
			valid ? health_state_name(h.state) : "unprobed"));
		json_object_object_add(o, "eligible", json_object_new_boolean(
			!(h.flags & HL_HEALTH_F_INELIGIBLE)));
		json_object_object_add(o, "role", json_object_new_string(
			role_name(valid ? h.role : n->role)));
		json_object_object_add(o, "breaker", json_object_new_string(
			valid ? breaker_name(h.breaker) : "closed"));
		json_object_object_add(o, "weight", json_object_new_int64(n->weight));
		json_object_object_add(o, "effective_weight",
				       json_object_new_int64(node_table_weight(n)));
		json_object_object_add(o, "last_probe", json_object_new_string(
			!valid ? "none" : h.flags & HL_HEALTH_F_LAST_OK ? "ok" : "fail"));
		json_object_object_add(o, "last_probe_age_ms", json_object_new_int64(age_ms));
		json_object_object_add(o, "rtt_us", json_object_new_int64(h.rtt_us));
		json_object_object_add(o, "latency_ema_ms",
				       json_object_new_double(h.ema_us / 1000.0));
		json_object_object_add(o, "lag_s", json_object_new_double(h.lag_ms / 1000.0));
		json_object_object_add(o, "lag_bytes", json_object_new_int64(h.lag_bytes));
		json_object_object_add(o, "in_state_s", json_object_new_int64(in_state_s));
		json_object_object_add(o, "hold", json_object_new_boolean(
			svc->flags & HL_SVC_F_HOLD));
		json_object_object_add(o, "timeline", json_object_new_int64(h.timeline));
		json_object_object_add(o, "foreign", json_object_new_boolean(
			h.flags & HL_HEALTH_F_FOREIGN));
		if (svc->gen)
			json_object_object_add(o, "generation",
					       json_object_new_int64(svc->gen));
		json_object_object_add(o, "hold_reason", !(svc->flags & HL_SVC_F_HOLD) ?
			NULL : json_object_new_string(hold_reason(valid ? &h : NULL)));
		json_object_object_add(o, "switchover", json_object_new_boolean(
			svc->flags & HL_SVC_F_SWITCHOVER));
		json_object_object_add(o, "patroni", !valid ? NULL :
			h.flags & HL_HEALTH_F_PATRONI_PRIMARY ? json_object_new_string("primary") :
			h.flags & HL_HEALTH_F_PATRONI_OTHER ? json_object_new_string("not primary") :
			NULL);
		json_object_object_add(o, "no_reads", json_object_new_boolean(
			valid && (h.flags & HL_HEALTH_F_NO_READS)));
		json_object_object_add(o, "announce",
				       json_object_new_string(announce_name(svc)));
		json_object_array_add(ctx->arr, o);
	}
	return 0;
}

static int do_health(int argc, char **argv)
{
	struct health_ctx ctx = { .fd = -1, .arr = json_object_new_array() };
	struct hl_svc_key key;
	struct hl_service svc;
	struct store st;
	char path[4200];
	int err;

	if (argc > 1 || (argc == 1 && parse_svc(argv[0], &key))) {
		if (argc > 1)
			p_err("expected: health [SVC]");
		json_object_put(ctx.arr);
		return -1;
	}
	if (argc == 1)
		ctx.only = &key;
	ctx.now_ns = hl_now_ns();
	err = cli_store_open(&st, false);
	if (err) {
		p_err("no Helios maps in %s", bpffs_dir);
		goto out;
	}
	store_pin_path(&st, "health", path, sizeof(path));
	ctx.fd = bpf_obj_get(path);	/* absent until the agent first ran */
	err = nodes_load(&st);
	if (!err && ctx.only && svc_find(&st, ctx.only, &svc)) {
		p_err("no service %s", argv[0]);
		err = -ENOENT;
	}
	if (err)
		goto out;
	if (!json_output)
		printf("%-30s %-26s %-13s %-8s %-9s %6s %6s %-5s %8s %8s %10s %8s %s\n",
		       "SERVICE", "NODE", "STATE", "ROLE", "BREAKER", "WEIGHT",
		       "EFFECT", "LAST", "EMA_MS", "LAG_S", "LAG_BYTES", "IN_STATE",
		       "BGP");
	err = svc_for_each(&st, health_service, &ctx);
	if (!err && json_output)
		json_print(json_object_get(ctx.arr));
out:
	if (ctx.fd >= 0)
		close(ctx.fd);
	store_close(&st);
	json_object_put(ctx.arr);
	return err;
}

const struct cli_object health_object = {
	.name		= "health",
	.usage		= "health [SVC]             what the agent last judged, per node",
	.run		= do_health,
};
