// SPDX-License-Identifier: GPL-2.0
/* helios-agent node { add | set | del | list | setup-hint } */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "cmd/args.h"
#include "cmd/cli.h"
#include "cmd/hint.h"
#include "cmd/report.h"
#include "lib/nodes.h"
#include "lib/services.h"
#include "lib/tables.h"

int node_parse_args(int argc, char **argv, bool opts, struct node_args *a)
{
	memset(a, 0, sizeof(*a));
	REQ_ARGS(2);
	if (parse_svc(argv[0], &a->key) ||
	    parse_addr_port(argv[1], &a->addr, &a->port))
		return -1;
	if (a->port == a->key.port)
		a->port = 0;	/* the service's port: the same node */
	if (a->addr.family != a->key.family) {
		p_err("node %s is %s but service %s is %s", argv[1],
		      a->addr.family == HL_AF_INET ? "IPv4" : "IPv6", argv[0],
		      a->key.family == HL_AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	argc -= 2;
	argv += 2;
	if (argc && !opts) {
		p_err("unexpected '%s'", argv[0]);
		return -1;
	}
	return opts_parse_args(node_admin_opts, &a->admin, &argc, &argv, true,
			       &a->seen) ? -1 : 0;
}

static void apply_args(struct hl_node *n, const struct node_args *a)
{
	const struct opt *o = node_admin_opts;

	if (a->seen & OPT_SEEN(o, "weight"))
		n->weight = a->admin.weight;
	if (a->seen & OPT_SEEN(o, "role"))
		n->role = a->admin.role;
	if (a->seen & OPT_SEEN(o, "zone"))
		memcpy(n->zone, a->admin.zone, HL_ZONE_LEN);
}

/* Open the store, find the service and the node; `want_node` says whether
 * the node must exist (set, del) or must not (add). A node named without
 * a port is the only one at that address (set, del), or the one on the
 * service's port (add). */
static int open_service(struct store *st, const struct node_args *a,
			struct hl_service *svc, int *node_id, bool want_node)
{
	char name[SVC_STRLEN], addr[ADDR_PORT_STRLEN];
	unsigned int at;
	int err;

	err = cli_store_open(st, true);
	if (err)
		return err;
	format_svc(&a->key, name, sizeof(name));
	if (svc_find(st, &a->key, svc)) {
		p_err("no service %s", name);
		return -ENOENT;
	}
	err = nodes_load(st);
	if (err)
		return err;
	format_addr_port(a->addr.family, a->addr.w, a->port, addr, sizeof(addr));
	if (want_node && !a->port) {
		at = node_count_at(st, svc->id, &a->addr, node_id);
		if (at > 1) {
			p_err("service %s has %u nodes at %s: name one as ADDR:PORT",
			      name, at, addr);
			return -ENOENT;
		}
	} else {
		*node_id = node_find_port(st, svc->id, a->key.port, &a->addr,
					  a->port);
	}
	if (want_node && *node_id < 0) {
		p_err("no node %s in service %s", addr, name);
		return -ENOENT;
	}
	if (!want_node && *node_id >= 0) {
		p_err("node %s already exists in service %s", addr, name);
		return -EEXIST;
	}
	return 0;
}

static int do_add(int argc, char **argv)
{
	struct hl_node node = { .weight = HL_WEIGHT_DEFAULT };
	struct hl_service svc;
	struct node_args a;
	struct store st;
	unsigned int count;
	int err, id;

	if (node_parse_args(argc, argv, true, &a))
		return -1;
	err = open_service(&st, &a, &svc, &id, false);
	if (err)
		goto out;
	count = node_count(&st, svc.id) + 1;
	if ((unsigned long)svc.ring_size < (unsigned long)count * HL_RING_MIN_PER_NODE) {
		p_err("ring size %u of service %s is too small for %u nodes (needs %d slots per node)",
		      svc.ring_size, argv[0], count, HL_RING_MIN_PER_NODE);
		err = -ENOSPC;
		goto out;
	}
	if (strategy_needs_list(svc.strategy) && count > HL_SEL_MAX) {
		p_err("service %s uses strategy %s, which supports at most %d nodes",
		      argv[0], hl_strategy_name(svc.strategy), HL_SEL_MAX);
		err = -E2BIG;
		goto out;
	}
	node.family = a.addr.family;
	memcpy(node.addr, a.addr.w, sizeof(node.addr));
	node.port = a.port;
	apply_args(&node, &a);
	err = node_add(&st, &a.key, &node, true);
	if (err > 0)
		err = 0;	/* the new node's id */
	if (!err && json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static int do_set(int argc, char **argv)
{
	struct hl_service svc;
	struct node_args a;
	struct hl_node node;
	struct store st;
	int err, id;

	if (node_parse_args(argc, argv, true, &a))
		return -1;
	if (!a.seen) {
		char buf[256];

		p_err("nothing to set (expected: %s)",
		      opts_expected(node_admin_opts, OPT_CLI, buf, sizeof(buf)));
		return -1;
	}
	err = open_service(&st, &a, &svc, &id, true);
	if (err)
		goto out;
	node = st.nodes[id];
	apply_args(&node, &a);
	err = node_set_admin(&st, id, &node);
	if (err)
		p_err("cannot update node %s: %s", argv[1], strerror(-err));
	else if (json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static int do_del(int argc, char **argv)
{
	struct hl_service svc;
	struct node_args a;
	struct store st;
	int err, id;

	if (node_parse_args(argc, argv, false, &a))
		return -1;
	err = open_service(&st, &a, &svc, &id, true);
	if (err)
		goto out;
	err = node_del(&st, id);
	if (err)
		p_err("cannot delete node %s: %s", argv[1], strerror(-err));
	else if (json_output)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static int do_list(int argc, char **argv)
{
	struct hl_svc_key key, *only = NULL;
	struct store st;
	int err;

	if (argc > 1) {
		p_err("unexpected '%s'", argv[1]);
		return -1;
	}
	if (argc == 1) {
		if (parse_svc(argv[0], &key))
			return -1;
		only = &key;
	}
	err = cli_store_open(&st, false);
	if (err == -ENOENT && !only) {
		nodes_print_empty();
		err = 0;
	} else if (!err) {
		err = nodes_print(&st, only);
	} else if (err == -ENOENT) {
		p_err("no service %s", argv[0]);
	}
	store_close(&st);
	return err;
}

static const struct cmd cmds[] = {
	{ "add",	do_add },
	{ "set",	do_set },
	{ "del",	do_del },
	{ "list",	do_list },
	{ "setup-hint",	node_setup_hint },
	{ 0 }
};

const struct cli_object node_object = {
	.name		= "node",
	.usage		=
		"node add SVC NODE [OPTIONS]\n"
		"node set SVC NODE OPTIONS\n"
		"node del SVC NODE\n"
		"node list [SVC]\n"
		"node setup-hint SVC",
	.details	=
		"SVC := VIP:PORT/{tcp|udp}\n"
		"NODE := { ADDR | ADDR:PORT | [ADDR]:PORT }   PORT: 1..65535\n"
		"A port of its own is for fwd nat services only (ipip and l2 nodes receive\n"
		"the VIP's port); without one a node is on the service's port. set and del\n"
		"find a node by ADDR alone when it is the only one at that address.\n"
		"setup-hint: what to run on a node for the service's forwarding mode.\n",
	.opts		= node_admin_opts,
	.cmds		= cmds,
};
