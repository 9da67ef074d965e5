// SPDX-License-Identifier: GPL-2.0
/* helios-agent node { add | set | del | list } */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "common.h"
#include "report.h"
#include "store.h"
#include "strategy.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: helios-agent node add SVC ADDR [weight N] [role ROLE] [zone NAME]\n"
		"       helios-agent node set SVC ADDR [weight N] [role ROLE] [zone NAME]\n"
		"       helios-agent node del SVC ADDR\n"
		"       helios-agent node list [SVC]\n"
		"\n"
		"SVC := VIP:PORT/{tcp|udp}   ROLE := { primary | standby | replica }\n"
		"weight: 0..65535, default %d; 0 drains (no new flows, existing stay)\n",
		HL_WEIGHT_DEFAULT);
	return 0;
}

struct node_args {
	struct hl_svc_key key;
	struct ip_addr addr;
	bool has_weight, has_role, has_zone;
	__u16 weight;
	__u8 role;
	char zone[HL_ZONE_LEN];
};

/* SVC ADDR [weight N] [role ROLE] [zone NAME]; `opts` allows the keywords. */
static int parse_node_args(int argc, char **argv, bool opts,
			   struct node_args *a)
{
	memset(a, 0, sizeof(*a));
	REQ_ARGS(2);
	if (parse_svc(argv[0], &a->key) || parse_addr(argv[1], &a->addr))
		return -1;
	if (a->addr.family != a->key.family) {
		p_err("node %s is %s but service %s is %s", argv[1],
		      a->addr.family == HL_AF_INET ? "IPv4" : "IPv6", argv[0],
		      a->key.family == HL_AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	argc -= 2;
	argv += 2;
	while (argc) {
		if (!opts || argc < 2) {
			p_err("unexpected '%s'%s", argv[0],
			      opts ? " (expected: weight N, role ROLE, zone NAME)" : "");
			return -1;
		}
		if (!strcmp(argv[0], "weight")) {
			if (parse_weight(argv[1], &a->weight))
				return -1;
			a->has_weight = true;
		} else if (!strcmp(argv[0], "role")) {
			if (parse_role(argv[1], &a->role))
				return -1;
			a->has_role = true;
		} else if (!strcmp(argv[0], "zone")) {
			if (parse_zone(argv[1], a->zone))
				return -1;
			a->has_zone = true;
		} else {
			p_err("unexpected '%s' (expected: weight N, role ROLE, zone NAME)",
			      argv[0]);
			return -1;
		}
		argc -= 2;
		argv += 2;
	}
	return 0;
}

static void apply_args(struct hl_node *n, const struct node_args *a)
{
	if (a->has_weight)
		n->weight = a->weight;
	if (a->has_role)
		n->role = a->role;
	if (a->has_zone)
		memcpy(n->zone, a->zone, HL_ZONE_LEN);
}

/* Open the store and find the service named in `a` (and its node). */
/* Open the store, find the service and the node; `want_node` says whether
 * the node must exist (set, del) or must not (add). */
static int open_service(struct store *st, const struct node_args *a,
			struct hl_service *svc, int *node_id, bool want_node)
{
	char name[SVC_STRLEN], addr[ADDR_STRLEN];
	int err;

	err = store_open(st, true);
	if (err)
		return err;
	format_svc(&a->key, name, sizeof(name));
	if (store_service_find(st, &a->key, svc)) {
		p_err("no service %s", name);
		return -ENOENT;
	}
	err = store_nodes_load(st);
	if (err)
		return err;
	*node_id = store_node_find(st, svc->id, &a->addr);
	format_addr(a->addr.family, a->addr.w, addr, sizeof(addr));
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

	if (parse_node_args(argc, argv, true, &a))
		return -1;
	err = open_service(&st, &a, &svc, &id, false);
	if (err)
		goto out;
	count = store_node_count(&st, svc.id) + 1;
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
	apply_args(&node, &a);
	err = store_node_add(&st, &a.key, &node, true);
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

	if (parse_node_args(argc, argv, true, &a))
		return -1;
	if (!a.has_weight && !a.has_role && !a.has_zone) {
		p_err("nothing to set (expected: weight N, role ROLE, zone NAME)");
		return -1;
	}
	err = open_service(&st, &a, &svc, &id, true);
	if (err)
		goto out;
	node = st.nodes[id];
	apply_args(&node, &a);
	err = store_node_update(&st, id, &node);
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

	if (parse_node_args(argc, argv, false, &a))
		return -1;
	err = open_service(&st, &a, &svc, &id, true);
	if (err)
		goto out;
	err = store_node_del(&st, id);
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
	err = store_open(&st, false);
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

int do_node(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "add",	do_add },
		{ "set",	do_set },
		{ "del",	do_del },
		{ "list",	do_list },
		{ "help",	do_help },
		{ 0 }
	};

	return cmd_select(cmds, argc, argv, do_help);
}
