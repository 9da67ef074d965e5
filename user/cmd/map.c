// SPDX-License-Identifier: GPL-2.0
/* helios-agent map { list | dump NAME }: the pinned maps, decoded. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd/cli.h"
#include "cmd/map_decode.h"
#include "cmd/report.h"
#include "lib/clock.h"
#include "lib/conns.h"
#include "lib/counters.h"
#include "lib/ct.h"
#include "lib/nodes.h"
#include "lib/services.h"

#define J_INT(o, k, v)	json_object_object_add(o, k, json_object_new_int64(v))
#define J_STR(o, k, v)	json_object_object_add(o, k, json_object_new_string(v))

static int dump_services(struct store *st, struct json_object *arr)
{
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		prev = &k;
		if (!bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc))
			json_object_array_add(arr, decode_service(&k, &svc));
	}
	return 0;
}

static int dump_nodes(struct store *st, struct json_object *arr)
{
	__u32 i;
	int err = nodes_load(st);

	for (i = 0; !err && i < HL_MAX_NODES; i++)
		if (st->nodes[i].flags & HL_NODE_F_EXISTS)
			json_object_array_add(arr, decode_node(i, &st->nodes[i]));
	return err;
}

static int dump_nexthops(struct store *st, struct json_object *arr)
{
	__u64 now_ns = hl_now_ns();
	__u32 i;
	int err = nodes_load(st);

	for (i = 0; !err && i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];
		struct hl_nexthop nh;

		if ((n->flags & HL_NODE_F_EXISTS) &&
		    !bpf_map_lookup_elem(st->fds[MAP_NEXTHOPS], &i, &nh))
			json_object_array_add(arr, decode_nexthop(i, n, &nh,
								  now_ns));
	}
	return err;
}

/* Per service: how many slots each node holds (the slots themselves are
 * tens of thousands of numbers nobody reads). */
static int dump_slots(struct store *st, struct json_object *arr)
{
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;
	__u32 *table = NULL, *keys = NULL, *slots = NULL;
	int err = 0;

	slots = calloc(HL_MAX_NODES, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		struct json_object *o, *per_node;
		__u32 inner_id, slots_key, count, i, empty = 0;
		char name[SVC_STRLEN], id[16];
		int fd;

		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc))
			continue;
		slots_key = hl_slots_key(svc.id, svc.table);
		if (bpf_map_lookup_elem(st->fds[MAP_SLOTS], &slots_key, &inner_id))
			continue;
		fd = bpf_map_get_fd_by_id(inner_id);
		if (fd < 0)
			continue;
		/* No realloc(): its failure would lose the old buffers. */
		free(table);
		free(keys);
		table = malloc(svc.ring_size * sizeof(*table));
		keys = malloc(svc.ring_size * sizeof(*keys));
		count = svc.ring_size;
		if (!table || !keys ||
		    (bpf_map_lookup_batch(fd, NULL, &inner_id, keys, table, &count,
					  NULL) && errno != ENOENT)) {
			err = table && keys ? -errno : -ENOMEM;
			close(fd);
			break;
		}
		close(fd);
		memset(slots, 0, HL_MAX_NODES * sizeof(*slots));
		for (i = 0; i < count; i++) {
			if (table[i] < HL_MAX_NODES)
				slots[table[i]]++;
			else
				empty++;
		}
		o = json_object_new_object();
		per_node = json_object_new_object();
		J_STR(o, "service", format_svc(&k, name, sizeof(name)));
		J_INT(o, "ring", svc.ring_size);
		J_INT(o, "empty", empty);
		for (i = 0; i < HL_MAX_NODES; i++) {
			if (!slots[i])
				continue;
			snprintf(id, sizeof(id), "%u", i);
			J_INT(per_node, id, slots[i]);
		}
		json_object_object_add(o, "slots", per_node);
		json_object_array_add(arr, o);
	}
	free(table);
	free(keys);
	free(slots);
	return err;
}

static int dump_flow(const void *key, const void *value, void *arr)
{
	json_object_array_add(arr, decode_conntrack(key, value));
	return 0;
}

static int dump_conntrack(struct store *st, struct json_object *arr)
{
	return ct_for_each(st->fds[MAP_CONNTRACK], sizeof(struct hl_flow),
			   dump_flow, arr);
}

struct nat_dump {
	struct json_object *arr;
	__u64 now;
};

/* Both directions' entries as they are; conn list pairs them into flows. */
static int nat_one(const void *key, const void *value, void *data)
{
	struct nat_dump *d = data;

	json_object_array_add(d->arr, decode_nat(key, value, d->now));
	return 0;
}

static int dump_nat(struct store *st, struct json_object *arr)
{
	struct nat_dump d = { .arr = arr, .now = hl_now_ns() };

	return map_for_each(st->fds[MAP_NAT], sizeof(struct hl_flow_key),
			    sizeof(struct hl_nat), nat_one, &d);
}

/* The services with SNAT addresses (the family is the service's). */
static int dump_snat_addrs(struct store *st, struct json_object *arr)
{
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;
	struct hl_snat snat;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		prev = &k;
		if (!bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) &&
		    !bpf_map_lookup_elem(st->fds[MAP_SNAT_ADDRS], &svc.id, &snat) &&
		    snat.count)
			json_object_array_add(arr, decode_snat(&k, &svc, &snat));
	}
	return 0;
}

static int dump_counters(struct store *st, enum store_map map, __u32 max,
			 struct json_object *arr)
{
	struct hl_counters c;
	__u32 i;

	for (i = 0; i < max; i++) {
		struct json_object *o;

		if (counters_read(st, map, i, &c) || !(c.packets | c.flows))
			continue;
		o = json_object_new_object();
		J_INT(o, "id", i);
		J_INT(o, "packets", c.packets);
		J_INT(o, "bytes", c.bytes);
		J_INT(o, "flows", c.flows);
		json_object_array_add(arr, o);
	}
	return 0;
}

static int dump_reasons(struct store *st, struct json_object *arr)
{
	__u64 counts[HL_REASON_MAX];
	__u32 r;

	reasons_read(st, counts);
	for (r = 0; r < HL_REASON_MAX; r++) {
		struct json_object *o = json_object_new_object();

		J_INT(o, "reason", r);
		J_STR(o, "name", reason_name(r));
		J_INT(o, "count", counts[r]);
		json_object_array_add(arr, o);
	}
	return 0;
}

static int dump_settings(struct store *st, struct json_object *arr)
{
	struct hl_settings cfg = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg);
	json_object_array_add(arr, decode_settings(&cfg));
	return 0;
}

static int dump_decap_vips(const char *path, struct json_object *arr)
{
	struct hl_vip_key k, *prev = NULL;
	__u64 packets;
	int fd = bpf_obj_get(path);

	if (fd < 0) {
		p_err("no map decap_vips in %s (decap not attached)", bpffs_dir);
		return -ENOENT;
	}
	while (!bpf_map_get_next_key(fd, prev, &k)) {
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &packets))
			json_object_array_add(arr, decode_decap_vip(&k, packets));
	}
	close(fd);
	return 0;
}

static struct json_object *hex(const void *buf, __u32 len)
{
	char *s = malloc(len * 2 + 1);
	struct json_object *o;
	__u32 i;

	if (!s)
		return json_object_new_string("?");
	for (i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", ((const __u8 *)buf)[i]);
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* Maps without a decoder of their own: keys and values in hex, like
 * bpftool's; per-CPU values show every CPU's copy one after the other. */
static int dump_raw(int fd, struct json_object *arr)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), vsize;
	void *key, *next, *val;
	int err = 0, ncpus = libbpf_num_possible_cpus();

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	vsize = info.value_size;
	if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info.type == BPF_MAP_TYPE_PERCPU_HASH ||
	    info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vsize = ((vsize + 7) & ~7u) * ncpus;
	key = calloc(1, info.key_size);
	next = calloc(1, info.key_size);
	val = calloc(1, vsize);
	if (!key || !next || !val) {
		err = -ENOMEM;
		goto out;
	}
	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, next); prev = key) {
		struct json_object *o;

		memcpy(key, next, info.key_size);
		if (bpf_map_lookup_elem(fd, key, val))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "key", hex(key, info.key_size));
		json_object_object_add(o, "value", hex(val, vsize));
		json_object_array_add(arr, o);
	}
out:
	free(key);
	free(next);
	free(val);
	return err;
}

/* Plain output: one line per entry, "key value" pairs. */
static void print_plain(struct json_object *arr)
{
	size_t i, n = json_object_array_length(arr);

	for (i = 0; i < n; i++) {
		const char *sep = "";

		json_object_object_foreach(json_object_array_get_idx(arr, i), k, v) {
			printf("%s%s %s", sep, k, json_object_get_string(v));
			sep = "  ";
		}
		printf("\n");
	}
}

static int do_dump(int argc, char **argv)
{
	struct json_object *arr;
	struct store st;
	char path[4200];
	int err, m;

	if (argc != 1) {
		p_err("expected: map dump NAME");
		return -1;
	}
	arr = json_object_new_array();
	if (!strcmp(argv[0], "decap_vips")) {
		snprintf(path, sizeof(path), "%s/decap_vips", bpffs_dir);
		err = dump_decap_vips(path, arr);
		goto print;
	}
	for (m = 0; m < MAP_COUNT; m++)
		if (!strcmp(argv[0], store_map_names[m]))
			break;
	if (m == MAP_COUNT) {
		p_err("unknown map '%s' (see 'helios-agent map help')", argv[0]);
		json_object_put(arr);
		return -1;
	}
	err = cli_store_open(&st, false);
	if (err) {
		p_err("no Helios maps in %s", bpffs_dir);
		goto out;
	}
	switch (m) {
	case MAP_SERVICES:	err = dump_services(&st, arr); break;
	case MAP_NODES:		err = dump_nodes(&st, arr); break;
	case MAP_NEXTHOPS:	err = dump_nexthops(&st, arr); break;
	case MAP_SLOTS:	err = dump_slots(&st, arr); break;
	case MAP_CONNTRACK:	err = dump_conntrack(&st, arr); break;
	case MAP_SVC_STATS:	err = dump_counters(&st, m, HL_MAX_SERVICES, arr); break;
	case MAP_NODE_STATS:	err = dump_counters(&st, m, HL_MAX_NODES, arr); break;
	case MAP_REASONS:	err = dump_reasons(&st, arr); break;
	case MAP_SETTINGS:	err = dump_settings(&st, arr); break;
	case MAP_NAT:		err = dump_nat(&st, arr); break;
	case MAP_SNAT_ADDRS:	err = dump_snat_addrs(&st, arr); break;
	default:		err = dump_raw(st.fds[m], arr); break;
	}
out:
	store_close(&st);
print:
	if (!err && json_output)
		json_print(json_object_get(arr));
	else if (!err)
		print_plain(arr);
	json_object_put(arr);
	return err;
}

static int do_list(int argc, char **argv)
{
	struct json_object *arr;
	struct dirent *de;
	DIR *dir;

	if (argc) {
		p_err("unexpected '%s' (expected: map list)", argv[0]);
		return -1;
	}
	arr = json_object_new_array();
	dir = opendir(bpffs_dir);
	if (!dir) {
		p_err("cannot open %s: %s", bpffs_dir, strerror(errno));
		json_object_put(arr);
		return -1;
	}
	while ((de = readdir(dir))) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		struct json_object *o;
		char path[4200];
		int fd;

		/* Our pins other than maps: the program and its links. */
		if (de->d_name[0] == '.' || !strcmp(de->d_name, PROG_PIN) ||
		    !strncmp(de->d_name, "link_", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", bpffs_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			continue;
		}
		close(fd);
		o = json_object_new_object();
		json_object_object_add(o, "name", json_text(de->d_name,
							    sizeof(de->d_name)));
		J_STR(o, "type", libbpf_bpf_map_type_str(info.type) ?: "?");
		J_INT(o, "id", info.id);
		J_INT(o, "key", info.key_size);
		J_INT(o, "value", info.value_size);
		J_INT(o, "max_entries", info.max_entries);
		json_object_array_add(arr, o);
	}
	closedir(dir);
	if (json_output)
		json_print(json_object_get(arr));
	else
		print_plain(arr);
	json_object_put(arr);
	return 0;
}

static const struct cmd cmds[] = {
	{ "list",	do_list },
	{ "dump",	do_dump },
	{ 0 }
};

const struct cli_object map_object = {
	.name		= "map",
	.usage		=
		"map list\n"
		"map dump NAME",
	.details	=
		"NAME := { services | nodes | nexthops | slots | conntrack | svc_stats |\n"
		"          node_stats | reasons | settings | nat | snat_addrs | decap_vips |\n"
		"          any pinned map }\n"
		"(maps without a decoder of their own print keys and values in hex)\n",
	.cmds		= cmds,
};
