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
#include "cmd/report.h"
#include "lib/clock.h"
#include "lib/conns.h"
#include "lib/counters.h"
#include "lib/nodes.h"
#include "lib/services.h"

#define J_INT(o, k, v)	json_object_object_add(o, k, json_object_new_int64(v))
#define J_STR(o, k, v)	json_object_object_add(o, k, json_object_new_string(v))

static const char *mac_str(const __u8 mac[6], char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		mac[3], mac[4], mac[5]);
	return buf;
}

static int dump_services(struct store *st, struct json_object *arr)
{
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;
	char name[SVC_STRLEN];

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		struct json_object *o = json_object_new_object();

		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc))
			continue;
		J_STR(o, "service", format_svc(&k, name, sizeof(name)));
		J_INT(o, "id", svc.id);
		J_INT(o, "ring", svc.ring_size);
		J_INT(o, "flags", svc.flags);
		J_STR(o, "fwd", svc_fwd_name(svc.fwd));
		json_object_array_add(arr, o);
	}
	return 0;
}

static int dump_nodes(struct store *st, struct json_object *arr)
{
	char addr[ADDR_STRLEN];
	__u32 i;
	int err = nodes_load(st);

	for (i = 0; !err && i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];
		struct json_object *o;

		if (!(n->flags & HL_NODE_F_EXISTS))
			continue;
		o = json_object_new_object();
		J_INT(o, "id", i);
		J_INT(o, "svc_id", n->svc_id);
		J_STR(o, "addr", format_addr(n->family, n->addr, addr, sizeof(addr)));
		J_INT(o, "weight", n->weight);
		J_INT(o, "eff_scale", n->eff_scale);
		J_INT(o, "flags", n->flags);
		J_STR(o, "role", role_name(n->role));
		J_STR(o, "eff_role", role_name(n->eff_role));
		J_STR(o, "eff_pool", n->eff_pool == HL_POOL_SYNC ? "sync" :
				     n->eff_pool == HL_POOL_ASYNC ? "async" : "none");
		J_STR(o, "zone", n->zone);
		json_object_array_add(arr, o);
	}
	return err;
}

static int dump_nexthops(struct store *st, struct json_object *arr)
{
	char addr[ADDR_STRLEN], mac[18];
	__u64 now_ns = hl_now_ns();
	__u32 i;
	int err = nodes_load(st);

	for (i = 0; !err && i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &st->nodes[i];
		struct hl_nexthop nh;
		struct json_object *o;

		if (!(n->flags & HL_NODE_F_EXISTS) ||
		    bpf_map_lookup_elem(st->fds[MAP_NEXTHOPS], &i, &nh))
			continue;
		o = json_object_new_object();
		J_INT(o, "id", i);
		J_STR(o, "node", format_addr(n->family, n->addr, addr, sizeof(addr)));
		J_STR(o, "src", format_addr(n->family, nh.src, addr, sizeof(addr)));
		J_STR(o, "smac", mac_str(nh.smac, mac));
		J_STR(o, "dmac", mac_str(nh.dmac, mac));
		J_INT(o, "ifindex", nh.ifindex);
		J_INT(o, "mtu", nh.mtu);
		json_object_object_add(o, "valid",
				       json_object_new_boolean(nh.flags & HL_NH_F_VALID));
		J_INT(o, "age_ms", nh.updated_ns && now_ns > nh.updated_ns ?
				   (now_ns - nh.updated_ns) / 1000000 : 0);
		json_object_array_add(arr, o);
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
		__u32 inner_id, count, i, empty = 0;
		char name[SVC_STRLEN], id[16];
		int fd;

		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) ||
		    bpf_map_lookup_elem(st->fds[MAP_SLOTS], &svc.id, &inner_id))
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

static int dump_conntrack(struct store *st, struct json_object *arr)
{
	struct hl_flow_key k, *prev = NULL;
	char addr[ADDR_STRLEN];
	struct hl_flow f;

	while (!bpf_map_get_next_key(st->fds[MAP_CONNTRACK], prev, &k)) {
		struct json_object *o;

		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_CONNTRACK], &k, &f))
			continue;
		o = json_object_new_object();
		J_STR(o, "client", format_addr(k.family, k.src, addr, sizeof(addr)));
		J_INT(o, "sport", ntohs(k.sport));
		J_STR(o, "vip", format_addr(k.family, k.dst, addr, sizeof(addr)));
		J_INT(o, "dport", ntohs(k.dport));
		J_STR(o, "proto", k.proto == 6 ? "tcp" : k.proto == 17 ? "udp" : "?");
		J_INT(o, "node", f.node_id);
		json_object_array_add(arr, o);
	}
	return 0;
}

static const char *seen_str(__u8 seen, char *buf, size_t len)
{
	static const char *const names[] = { "syn", "ack", "fin", "rst" };
	size_t n = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < 4 && n < len; i++)
		if (seen & (1u << i))
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "",
				      names[i]);
	return buf;
}

struct nat_dump {
	struct json_object *arr;
	__u64 now;
};

/* Both directions' entries as they are; conn list pairs them into flows. */
static int nat_one(const void *key, const void *value, void *data)
{
	const struct hl_flow_key *k = key;
	const struct hl_nat *n = value;
	struct nat_dump *d = data;
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN], seen[24];

	J_STR(o, "dir", n->dir == HL_NAT_FORWARD ? "forward" :
			n->dir == HL_NAT_REPLY ? "reply" : "?");
	J_STR(o, "src", format_addr(k->family, k->src, addr, sizeof(addr)));
	J_INT(o, "sport", ntohs(k->sport));
	J_STR(o, "dst", format_addr(k->family, k->dst, addr, sizeof(addr)));
	J_INT(o, "dport", ntohs(k->dport));
	J_STR(o, "proto", k->proto == 6 ? "tcp" : k->proto == 17 ? "udp" : "?");
	J_STR(o, "to", format_addr(k->family, n->addr, addr, sizeof(addr)));
	J_INT(o, "to_port", ntohs(n->port));
	J_STR(o, "from", format_addr(k->family, n->from, addr, sizeof(addr)));
	J_INT(o, "from_port", ntohs(n->from_port));
	J_STR(o, "seen", seen_str(n->seen, seen, sizeof(seen)));
	J_INT(o, "svc_id", n->svc_id);
	J_INT(o, "node", n->node_id);
	J_INT(o, "age_ms", d->now > n->created_ns ?
			   (d->now - n->created_ns) / 1000000 : 0);
	J_INT(o, "idle_ms", n->last_ns && d->now > n->last_ns ?
			    (d->now - n->last_ns) / 1000000 : 0);
	J_INT(o, "packets", n->packets);
	J_INT(o, "bytes", n->bytes);
	json_object_array_add(d->arr, o);
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
	char name[SVC_STRLEN], addr[ADDR_STRLEN];
	__u32 i;

	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		struct json_object *o, *addrs;

		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) ||
		    bpf_map_lookup_elem(st->fds[MAP_SNAT_ADDRS], &svc.id, &snat) ||
		    !snat.count)
			continue;
		o = json_object_new_object();
		addrs = json_object_new_array();
		J_INT(o, "id", svc.id);
		J_STR(o, "service", format_svc(&k, name, sizeof(name)));
		J_INT(o, "count", snat.count);
		for (i = 0; i < snat.count && i < HL_SNAT_MAX; i++)
			json_object_array_add(addrs, json_object_new_string(
				format_addr(k.family, snat.addrs[i], addr,
					    sizeof(addr))));
		json_object_object_add(o, "addrs", addrs);
		json_object_array_add(arr, o);
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
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN];
	struct hl_settings cfg = {};
	const struct opt *t;
	__be32 src4[4] = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg);
	src4[0] = cfg.src4;
	J_STR(o, "src4", format_addr(HL_AF_INET, src4, addr, sizeof(addr)));
	J_STR(o, "src6", format_addr(HL_AF_INET6, cfg.src6, addr, sizeof(addr)));
	J_STR(o, "zone", cfg.zone);
	/* NAT timeouts as stored: 0 is the default (conn timeout show) */
	for (t = nat_timeout_opts; t->name; t++) {
		char key[32], *c;

		snprintf(key, sizeof(key), "nat_%s", t->name);
		for (c = key; *c; c++)
			if (*c == '-')
				*c = '_';
		J_INT(o, key, cfg.nat_timeout_s[nat_timeout_state(t)]);
	}
	json_object_array_add(arr, o);
	return 0;
}

static int dump_decap_vips(const char *path, struct json_object *arr)
{
	struct hl_vip_key k, *prev = NULL;
	char addr[ADDR_STRLEN];
	__u64 packets;
	int fd = bpf_obj_get(path);

	if (fd < 0) {
		p_err("no map decap_vips in %s (decap not attached)", bpffs_dir);
		return -ENOENT;
	}
	while (!bpf_map_get_next_key(fd, prev, &k)) {
		struct json_object *o;

		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &packets))
			continue;
		o = json_object_new_object();
		J_STR(o, "vip", format_addr(k.family, k.addr, addr, sizeof(addr)));
		J_INT(o, "packets", packets);
		json_object_array_add(arr, o);
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
	struct json_object *arr = json_object_new_array();
	struct dirent *de;
	DIR *dir;

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
		J_STR(o, "name", de->d_name);
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
