// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "cmd/cli.h"
#include "cmd/report.h"
#include "cmd/map_decode.h"
#include "lib/counters.h"
#include "lib/nodes.h"
#include "lib/services.h"

struct json_object *node_json(struct store *st, __u32 id,
			      const struct hl_svc_key *svc)
{
	const struct hl_node *n = &st->nodes[id];
	struct json_object *o = json_object_new_object();
	struct hl_counters c;
	char addr[ADDR_STRLEN];

	counters_read(st, MAP_NODE_STATS, id, &c);
	format_addr(n->family, n->addr, addr, sizeof(addr));
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "addr", json_object_new_string(addr));
	json_object_object_add(o, "port",
			       json_object_new_int(ntohs(n->port ? n->port : svc->port)));
	json_object_object_add(o, "own_port", json_object_new_boolean(n->port));
	json_object_object_add(o, "weight", json_object_new_int64(n->weight));
	json_object_object_add(o, "role", json_object_new_string(role_name(n->role)));
	json_object_object_add(o, "zone", json_text(n->zone, sizeof(n->zone)));
	json_object_object_add(o, "state", json_object_new_string(node_state(n)));
	json_object_object_add(o, "packets", json_object_new_int64(c.packets));
	json_object_object_add(o, "bytes", json_object_new_int64(c.bytes));
	json_object_object_add(o, "flows", json_object_new_int64(c.flows));
	json_object_object_add(o, "syn_retrans", json_object_new_int64(c.syn_retrans));
	json_object_object_add(o, "rsts", json_object_new_int64(c.rsts));
	return o;
}

void node_row_header(void)
{
	printf("%-32s %-28s %6s %-8s %-10s %-13s %10s %12s %8s\n", "SERVICE",
	       "NODE", "WEIGHT", "ROLE", "ZONE", "STATE", "PACKETS", "BYTES",
	       "FLOWS");
}

void node_row(struct store *st, __u32 id, const char *svc_name)
{
	const struct hl_node *n = &st->nodes[id];
	struct hl_counters c;
	char addr[ADDR_PORT_STRLEN];

	counters_read(st, MAP_NODE_STATS, id, &c);
	printf("%-32s %-28s %6u %-8s %-10s %-13s %10llu %12llu %8llu\n",
	       svc_name, format_addr_port(n->family, n->addr, n->port, addr,
					  sizeof(addr)),
	       n->weight, role_name(n->role), n->zone[0] ? n->zone : "-",
	       node_state(n), (unsigned long long)c.packets,
	       (unsigned long long)c.bytes, (unsigned long long)c.flows);
}

static int print_service_nodes(struct store *st, const struct hl_svc_key *key,
			       const struct hl_service *svc, void *data)
{
	struct json_object *arr = data;
	char name[SVC_STRLEN];
	__u32 i;

	format_svc(key, name, sizeof(name));
	for (i = 0; i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id)
			continue;
		if (json_output) {
			struct json_object *o = node_json(st, i, key);

			json_object_object_add(o, "service",
					       json_object_new_string(name));
			json_object_array_add(arr, o);
		} else {
			node_row(st, i, name);
		}
	}
	return 0;
}

int nodes_print(struct store *st, const struct hl_svc_key *only)
{
	struct json_object *arr = json_object_new_array();
	struct hl_service svc;
	char name[SVC_STRLEN];
	int err;

	err = nodes_load(st);
	if (err)
		goto out;
	if (only && svc_find(st, only, &svc)) {
		p_err("no service %s", format_svc(only, name, sizeof(name)));
		err = -ENOENT;
		goto out;
	}
	if (!json_output)
		node_row_header();
	if (only)
		err = print_service_nodes(st, only, &svc, arr);
	else
		err = svc_for_each(st, print_service_nodes, arr);
	if (!err && json_output)
		json_print(json_object_get(arr));
out:
	json_object_put(arr);
	return err;
}

void nodes_print_empty(void)
{
	if (json_output)
		json_print(json_object_new_array());
	else
		node_row_header();
}
