// SPDX-License-Identifier: GPL-2.0
/* helios-agent conn { list | flush | timeout }: the flows the director
 * keeps (lib/conns.h) and the NAT table's timeouts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/conns.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/options.h"
#include "lib/parse.h"
#include "lib/services.h"
#include "lib/store.h"

int conn_parse_args(int argc, char **argv, bool need_svc, struct conn_args *a)
{
	memset(a, 0, sizeof(*a));
	if (argc && strcmp(argv[0], "node")) {
		if (parse_svc(argv[0], &a->key))
			return -1;
		a->svc_arg = argv[0];
		a->f.svc = &a->key;
		NEXT_ARG();
	} else if (need_svc) {
		p_err("expected: SVC [node NODE]");
		return -1;
	}
	if (argc && !strcmp(argv[0], "node")) {
		if (argc < 2) {
			p_err("'node' needs a value (ADDR or ADDR:PORT)");
			return -1;
		}
		if (parse_addr_port(argv[1], &a->f.node, &a->f.node_port))
			return -1;
		if (a->f.svc && a->f.node.family != a->key.family) {
			p_err("node %s is %s but service %s is %s", argv[1],
			      a->f.node.family == HL_AF_INET ? "IPv4" : "IPv6",
			      a->svc_arg,
			      a->key.family == HL_AF_INET ? "IPv4" : "IPv6");
			return -1;
		}
		a->node_arg = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc) {
		p_err("unexpected '%s' (expected: %snode NODE)", argv[0],
		      a->f.svc || need_svc ? "" : "SVC, ");
		return -1;
	}
	return 0;
}

/* The service must exist, and the node (in it, or in any service). A node
 * given without a port is on any port; a port equal to the service's is
 * its nodes without one. */
struct node_search {
	const struct conn_args *a;
	bool found;
};

static int find_node(struct store *st, const struct hl_svc_key *key,
		     const struct hl_service *svc, void *data)
{
	struct node_search *s = data;
	const struct conn_filter *f = &s->a->f;
	int id;

	if (f->node.family != key->family)
		return 0;
	if (f->node_port)
		id = node_find_port(st, svc->id, key->port, &f->node,
				    f->node_port);
	else
		node_count_at(st, svc->id, &f->node, &id);
	s->found |= id >= 0;
	return 0;
}

static int check_args(struct store *st, const struct conn_args *a)
{
	struct node_search s = { .a = a };
	struct hl_service svc;
	int err;

	err = nodes_load(st);
	if (err)
		return err;
	if (a->f.svc && svc_find(st, a->f.svc, &svc)) {
		p_err("no service %s", a->svc_arg);
		return -ENOENT;
	}
	if (!a->f.node.family)
		return 0;
	if (a->f.svc)
		find_node(st, a->f.svc, &svc, &s);
	else
		svc_for_each(st, find_node, &s);
	if (!s.found) {
		if (a->f.svc)
			p_err("no node %s in service %s", a->node_arg, a->svc_arg);
		else
			p_err("no node %s in any service", a->node_arg);
		return -ENOENT;
	}
	return 0;
}

#define J_INT(o, k, v)	json_object_object_add(o, k, json_object_new_int64(v))
#define J_STR(o, k, v)	json_object_object_add(o, k, json_object_new_string(v))

struct list_ctx {
	struct json_object *arr;
	__u64 now;
	unsigned int count;
};

static const char *conn_state(const struct conn *c)
{
	if (c->nat)
		return nat_state_name(c->state);
	if (c->key.proto != IPPROTO_TCP)
		return "udp";
	return c->flags & HL_FLOW_F_CLOSED ? "closed" : "open";
}

static int list_one(const struct conn *c, void *data)
{
	struct list_ctx *ctx = data;
	char svc[SVC_STRLEN], client[ADDR_PORT_STRLEN], node[ADDR_PORT_STRLEN];
	char snat[ADDR_PORT_STRLEN] = "-", addr[ADDR_STRLEN], age[24] = "-";
	__u64 age_s = 0, idle_s = 0, last;
	struct json_object *o;

	ctx->count++;
	format_svc(c->svc, svc, sizeof(svc));
	format_addr_port(c->key.family, c->key.src, c->key.sport, client,
			 sizeof(client));
	if (c->node_known)
		format_addr_port(c->key.family, c->node, c->node_port, node,
				 sizeof(node));
	else
		snprintf(node, sizeof(node), "? (id %u, gone)", c->node_id);
	if (c->nat) {
		format_addr_port(c->key.family, c->fwd.from, c->fwd.from_port, snat,
				 sizeof(snat));
		last = c->fwd.last_ns > c->reply.last_ns ? c->fwd.last_ns :
							    c->reply.last_ns;
		if (!last)
			last = c->fwd.created_ns;
		age_s = ctx->now > c->fwd.created_ns ?
			(ctx->now - c->fwd.created_ns) / 1000000000 : 0;
		idle_s = ctx->now > last ? (ctx->now - last) / 1000000000 : 0;
		snprintf(age, sizeof(age), "%llu", (unsigned long long)age_s);
	}
	if (!json_output) {
		if (c->nat)
			printf("%-30s %-30s %-30s %-30s %-11s %7s %9llu %11llu %9llu %11llu\n",
			       svc, client, node, snat, conn_state(c), age,
			       (unsigned long long)c->fwd.packets,
			       (unsigned long long)c->fwd.bytes,
			       (unsigned long long)c->reply.packets,
			       (unsigned long long)c->reply.bytes);
		else
			printf("%-30s %-30s %-30s %-30s %-11s %7s %9s %11s %9s %11s\n",
			       svc, client, node, snat, conn_state(c), age, "-",
			       "-", "-", "-");
		return 0;
	}
	o = json_object_new_object();
	J_STR(o, "service", svc);
	J_STR(o, "fwd", svc_fwd_name(c->fwd_mode));
	J_STR(o, "client", format_addr(c->key.family, c->key.src, addr,
				       sizeof(addr)));
	J_INT(o, "client_port", ntohs(c->key.sport));
	J_INT(o, "node_id", c->node_id);
	if (c->node_known) {
		J_STR(o, "node", format_addr(c->key.family, c->node, addr,
					     sizeof(addr)));
		J_INT(o, "node_port", ntohs(c->node_port));
	}
	J_STR(o, "state", conn_state(c));
	json_object_object_add(o, "live", json_object_new_boolean(c->live));
	if (c->nat) {
		J_STR(o, "snat", format_addr(c->key.family, c->fwd.from, addr,
					     sizeof(addr)));
		J_INT(o, "snat_port", ntohs(c->fwd.from_port));
		J_INT(o, "age_s", age_s);
		J_INT(o, "idle_s", idle_s);
		J_INT(o, "forward_packets", c->fwd.packets);
		J_INT(o, "forward_bytes", c->fwd.bytes);
		J_INT(o, "reply_packets", c->reply.packets);
		J_INT(o, "reply_bytes", c->reply.bytes);
		json_object_object_add(o, "reply_entry",
				       json_object_new_boolean(c->has_reply));
	}
	json_object_array_add(ctx->arr, o);
	return 0;
}

static void list_header(void)
{
	if (!json_output)
		printf("%-30s %-30s %-30s %-30s %-11s %7s %9s %11s %9s %11s\n",
		       "SERVICE", "CLIENT", "NODE", "SNAT", "STATE", "AGE_S",
		       "FWD_PKTS", "FWD_BYTES", "REP_PKTS", "REP_BYTES");
}

static int do_list(int argc, char **argv)
{
	struct list_ctx ctx = { .arr = json_object_new_array(),
				.now = hl_now_ns() };
	struct conn_args a;
	struct store st;
	int err;

	if (conn_parse_args(argc, argv, false, &a)) {
		json_object_put(ctx.arr);
		return -1;
	}
	err = cli_store_open(&st, false);
	if (err == -ENOENT && !a.f.svc && !a.f.node.family) {
		err = 0;	/* nothing set up yet: no flows */
		list_header();
		goto print;
	}
	if (err == -ENOENT)
		p_err(a.f.svc ? "no service %s" : "no node %s",
		      a.f.svc ? a.svc_arg : a.node_arg);
	if (!err)
		err = check_args(&st, &a);
	if (!err) {
		list_header();
		err = conns_walk(&st, &a.f, list_one, &ctx);
		if (err)
			p_err("cannot read the flows: %s", strerror(-err));
	}
print:
	if (!err && json_output)
		json_print(json_object_get(ctx.arr));
	json_object_put(ctx.arr);
	store_close(&st);
	return err;
}

static int do_flush(int argc, char **argv)
{
	struct conn_args a;
	struct store st;
	int err, n;

	if (conn_parse_args(argc, argv, true, &a))
		return -1;
	err = cli_store_open(&st, true);
	if (!err)
		err = check_args(&st, &a);
	if (err)
		goto out;
	n = conns_flush(&st, &a.f);
	if (n < 0) {
		err = n;
		goto out;
	}
	if (json_output) {
		struct json_object *o = json_object_new_object();

		J_INT(o, "flushed", n);
		json_print(o);
	} else {
		p_info("%d flow%s of %s%s%s flushed", n, n == 1 ? "" : "s",
		       a.svc_arg, a.node_arg ? " node " : "",
		       a.node_arg ? a.node_arg : "");
	}
out:
	store_close(&st);
	return err;
}

static int timeout_show(int argc, char **argv)
{
	struct json_object *o = json_object_new_object();
	struct hl_settings cfg = {};
	const struct opt *t;
	struct store st;
	int err;

	if (argc) {
		p_err("unexpected '%s'", argv[0]);
		json_object_put(o);
		return -1;
	}
	err = cli_store_open(&st, false);
	if (!err)
		err = settings_read(&st, &cfg);
	else if (err == -ENOENT)
		err = 0;	/* nothing set up yet: the defaults */
	for (t = nat_timeout_opts; !err && t->name; t++) {
		__u8 state = nat_timeout_state(t);
		__u64 s = nat_timeout_ns(&cfg, state) / 1000000000;

		if (json_output)
			J_INT(o, t->name, s);
		else
			printf("%-12s %7llu s%s\n", t->name, (unsigned long long)s,
			       cfg.nat_timeout_s[state] ? "" : " (default)");
	}
	if (!err && json_output)
		json_print(json_object_get(o));
	json_object_put(o);
	store_close(&st);
	return err;
}

static int timeout_set(int argc, char **argv)
{
	struct hl_settings in = {};
	opt_seen_t seen = 0;
	struct store st;
	char buf[256];
	int err;

	if (opts_parse_args(nat_timeout_opts, &in, &argc, &argv, true, &seen))
		return -1;
	if (!seen) {
		p_err("nothing to set (expected: %s)",
		      opts_expected(nat_timeout_opts, OPT_CLI, buf, sizeof(buf)));
		return -1;
	}
	err = cli_store_open(&st, true);
	if (!err)
		err = nat_timeouts_set(&st, &in, seen);
	if (!err && json_output)
		json_print(NULL);
	store_close(&st);
	return err;
}

static int do_timeout(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show",	timeout_show },
		{ "set",	timeout_set },
		{ 0 }
	};

	return cmd_select(cmds, argc, argv, NULL);
}

static const struct cmd cmds[] = {
	{ "list",	do_list },
	{ "flush",	do_flush },
	{ "timeout",	do_timeout },
	{ 0 }
};

const struct cli_object conn_object = {
	.name		= "conn",
	.usage		=
		"conn list [SVC] [node NODE]\n"
		"conn flush SVC [node NODE]\n"
		"conn timeout show\n"
		"conn timeout set OPTIONS",
	.details	=
		"SVC := VIP:PORT/{tcp|udp}   NODE := { ADDR | ADDR:PORT | [ADDR]:PORT }\n"
		"list: the flows of fwd nat services from the NAT table: client, node,\n"
		"      SNAT address and port, state, age, packets and bytes forward\n"
		"      (client to node) and in reply; of ipip and l2 services from the\n"
		"      connection table: client and node.\n"
		"flush: deletes the flows list shows with the same arguments (both NAT\n"
		"      entries of each); their connections break.\n"
		"timeout: seconds without a packet after which the data path removes a\n"
		"      NAT flow, by its state (OPTIONS above; the agent's `nat` group).\n",
	.opts		= nat_timeout_opts,
	.cmds		= cmds,
};
