// SPDX-License-Identifier: GPL-2.0
/* helios-agent service { add | del | list } */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "common.h"
#include "report.h"
#include "store.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: helios-agent service add SVC [ring N]\n"
		"       helios-agent service del SVC\n"
		"       helios-agent service list\n"
		"\n"
		"SVC := VIP:PORT/{tcp|udp}\n"
		"ring: Maglev table size, a prime of at least %d per node (default %d)\n",
		HL_RING_MIN_PER_NODE, HL_RING_DEFAULT);
	return 0;
}

static int do_add(int argc, char **argv)
{
	struct hl_svc_key key;
	struct hl_service svc;
	unsigned long ring = HL_RING_DEFAULT;
	struct store st;
	char name[SVC_STRLEN];
	int err;

	REQ_ARGS(1);
	if (parse_svc(argv[0], &key))
		return -1;
	NEXT_ARG();
	while (argc) {
		if (!strcmp(argv[0], "ring") && argc > 1) {
			if (parse_uint(argv[1], "ring size", HL_RING_MAX, &ring))
				return -1;
			if (ring < HL_RING_MIN_PER_NODE || !is_prime(ring)) {
				p_err("invalid ring size %lu: must be a prime from %d to %d",
				      ring, HL_RING_MIN_PER_NODE, HL_RING_MAX);
				return -1;
			}
			NEXT_ARG();
			NEXT_ARG();
		} else {
			p_err("unexpected '%s' (expected: ring N)", argv[0]);
			return -1;
		}
	}

	err = store_open(&st, true);
	if (err)
		goto out;
	format_svc(&key, name, sizeof(name));
	if (!store_service_find(&st, &key, &svc)) {
		p_err("service %s already exists", name);
		err = -EEXIST;
		goto out;
	}
	err = store_service_add(&st, &key, ring);
	if (!err && json_output)
		json_print(NULL);
	else if (!err)
		p_info("service %s added (ring %lu)", name, ring);
out:
	store_close(&st);
	return err;
}

static int do_del(int argc, char **argv)
{
	struct hl_svc_key key;
	struct store st;
	char name[SVC_STRLEN];
	int err;

	REQ_ARGS(1);
	if (parse_svc(argv[0], &key))
		return -1;
	if (argc > 1) {
		p_err("unexpected '%s'", argv[1]);
		return -1;
	}
	format_svc(&key, name, sizeof(name));
	err = store_open(&st, true);
	if (!err) {
		err = store_service_del(&st, &key);
		if (err == -ENOENT)
			p_err("no service %s", name);
		else if (err)
			p_err("cannot delete service %s: %s", name, strerror(-err));
		else if (json_output)
			json_print(NULL);
	}
	store_close(&st);
	return err;
}

static int list_one(struct store *st, const struct hl_svc_key *key,
		    const struct hl_service *svc, void *data)
{
	unsigned int nodes = store_node_count(st, svc->id);
	struct json_object *o;
	char name[SVC_STRLEN];

	format_svc(key, name, sizeof(name));
	if (!json_output) {
		printf("%-40s %5u %9u %6u\n", name, svc->id, svc->ring_size, nodes);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(name));
	json_object_object_add(o, "id", json_object_new_int64(svc->id));
	json_object_object_add(o, "ring", json_object_new_int64(svc->ring_size));
	json_object_object_add(o, "nodes", json_object_new_int64(nodes));
	json_object_array_add(data, o);
	return 0;
}

static int do_list(int argc, char **argv)
{
	struct json_object *arr = json_object_new_array();
	struct store st;
	int err;

	if (argc) {
		p_err("unexpected '%s'", argv[0]);
		json_object_put(arr);
		return -1;
	}
	if (!json_output)
		printf("%-40s %5s %9s %6s\n", "SERVICE", "ID", "RING", "NODES");
	err = store_open(&st, false);
	if (!err)
		err = store_nodes_load(&st);
	if (!err)
		err = for_each_service(&st, list_one, arr);
	else if (err == -ENOENT)
		err = 0;	/* nothing set up yet: no services */
	if (!err && json_output)
		json_print(json_object_get(arr));
	json_object_put(arr);
	store_close(&st);
	return err;
}

int do_service(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "add",	do_add },
		{ "del",	do_del },
		{ "list",	do_list },
		{ "help",	do_help },
		{ 0 }
	};

	return cmd_select(cmds, argc, argv, do_help);
}
