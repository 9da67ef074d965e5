// SPDX-License-Identifier: GPL-2.0
/* helios-agent attach DEV [mode native|generic] [src ADDR] [zone NAME] /
 * upgrade DEV [force] / detach DEV */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "cmd/args.h"
#include "cmd/cli.h"
#include "cmd/report.h"
#include "lib/nodes.h"
#include "lib/services.h"
#include "lib/upgrade.h"

static int link_pin_path(const struct store *st, __u32 ifindex, char *buf,
			 size_t len)
{
	char name[32];

	/* By ifindex: device names may hold '.', which bpffs refuses. */
	snprintf(name, sizeof(name), "link_%u", ifindex);
	return store_pin_path(st, name, buf, len);
}

static int device_index(const char *dev, __u32 *ifindex)
{
	*ifindex = if_nametoindex(dev);
	if (!*ifindex) {
		p_err("no device '%s'", dev);
		return -ENODEV;
	}
	return 0;
}

/* The outer source (and the egress) may have changed: resolve every node. */
static void refresh_nexthops(struct store *st)
{
	__u32 i;

	if (nodes_load(st))
		return;
	for (i = 0; i < HL_MAX_NODES; i++)
		if (st->nodes[i].flags & HL_NODE_F_EXISTS)
			node_nexthop_refresh(st, i);
}

/* The data path refreshes next hops with bpf_fib_lookup, which the kernel
 * refuses on a device that does not forward. */
static void warn_forwarding(const char *dev)
{
	char path[128], val = '1';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", dev);
	f = fopen(path, "r");
	if (f) {
		val = fgetc(f);
		fclose(f);
	}
	if (val == '0')
		fprintf(stderr, "Warning: forwarding is off on %s: next hops are then only refreshed by helios-agent (sysctl net.ipv4.conf.%s.forwarding=1)\n",
			dev, dev);
}

/* The director's zone changed: prefer-zone tables follow it. */
static int rebuild_zoned(struct store *st, const struct hl_svc_key *key,
			 const struct hl_service *svc, void *data)
{
	int err;

	(void)key;
	(void)data;
	if (svc->strategy != HL_STRAT_PREFER_ZONE)
		return 0;
	err = svc_rebuild(st, svc->id);
	if (err)
		p_err("cannot rebuild the table of service %u: %s", svc->id,
		      strerror(-err));
	return err;
}

static const char *const upgrade_hows[] = {
	[UPGRADE_REUSE]		= "reused",
	[UPGRADE_MIGRATE]	= "migrated",
	[UPGRADE_CREATE]	= "created",
};

static const char *dev_name(__u32 ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "ifindex %u", ifindex);
	return buf;
}

/* What an upgrade did: a line per map, one for the program. */
static void upgrade_print(const struct upgrade_report *rep)
{
	struct json_object *o, *maps, *devs;
	char name[IF_NAMESIZE];
	int i;

	if (!json_output) {
		if (rep->current) {
			printf("program: id %u is already this build's, nothing done\n",
			       rep->old_prog);
			return;
		}
		for (i = 0; i < rep->nmaps; i++) {
			const struct upgrade_map *m = &rep->maps[i];

			printf("map %s: %s, layout %u", m->name,
			       upgrade_hows[m->how], m->to);
			if (m->how == UPGRADE_MIGRATE)
				printf(" from %u, %llu entries copied", m->from,
				       (unsigned long long)m->copied);
			putchar('\n');
		}
		printf("program: id %u replaced by id %u on", rep->old_prog,
		       rep->new_prog);
		for (i = 0; i < rep->ndevs; i++)
			printf(" %s", dev_name(rep->devs[i].ifindex, name));
		printf("%s\n", rep->ndevs ? "" : " no device");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "replaced", json_object_new_boolean(!rep->current));
	json_object_object_add(o, "old_prog", json_object_new_int64(rep->old_prog));
	json_object_object_add(o, "new_prog", json_object_new_int64(rep->new_prog));
	maps = json_object_new_array();
	for (i = 0; !rep->current && i < rep->nmaps; i++) {
		const struct upgrade_map *m = &rep->maps[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "name", json_object_new_string(m->name));
		json_object_object_add(e, "action",
				       json_object_new_string(upgrade_hows[m->how]));
		json_object_object_add(e, "layout", json_object_new_int64(m->to));
		if (m->how == UPGRADE_MIGRATE) {
			json_object_object_add(e, "from", json_object_new_int64(m->from));
			json_object_object_add(e, "entries",
					       json_object_new_int64((int64_t)m->copied));
		}
		json_object_array_add(maps, e);
	}
	json_object_object_add(o, "maps", maps);
	devs = json_object_new_array();
	for (i = 0; i < rep->ndevs; i++)
		json_object_array_add(devs, json_object_new_string(
				dev_name(rep->devs[i].ifindex, name)));
	json_object_object_add(o, "devices", devs);
	json_print(o);
}

/* A new XDP link of the pinned program on DEV, pinned at `path`. */
static int attach_link(struct store *st, __u32 ifindex, const char *dev,
		       const struct bpf_link_create_opts *opts, const char *path)
{
	int err, link_fd;

	link_fd = bpf_link_create(st->prog_fd, ifindex, BPF_XDP, opts);
	if (link_fd < 0) {
		err = -errno;
		if (err == -EBUSY || err == -EEXIST)
			p_err("%s already has an XDP program", dev);
		else if (err == -EOPNOTSUPP && opts->flags == XDP_FLAGS_DRV_MODE)
			p_err("%s does not support native XDP (try: mode generic)", dev);
		else
			p_err("cannot attach to %s: %s", dev, strerror(-err));
		return err;
	}
	err = bpf_obj_pin(link_fd, path) ? -errno : 0;
	close(link_fd);	/* the pin holds the link from now on */
	if (err)
		p_err("cannot pin the link at %s: %s", path, strerror(-err));
	return err;
}

static int do_attach(int argc, char **argv);
static int do_upgrade(int argc, char **argv);
static int do_detach(int argc, char **argv);

const struct cli_object attach_object = {
	.name		= "attach",
	.usage		= "attach DEV [mode native|generic] [src ADDR] [zone NAME]",
	.details	=
		"zone: the director's own zone; prefer-zone services send new flows to\n"
		"      usable nodes of this zone, to the others only when none is usable.\n",
	.run		= do_attach,
};

const struct cli_object upgrade_object = {
	.name		= "upgrade",
	.usage		= "upgrade DEV [force]",
	.details	=
		"Replace the program on every attached device with this build's, reusing\n"
		"every pinned map (migrating one whose layout changed, if this build can);\n"
		"a line per map and one for the program. force: even if it runs this build.\n"
		"attach DEV does the same when the director runs another build.\n",
	.run		= do_upgrade,
};

const struct cli_object detach_object = {
	.name		= "detach",
	.usage		= "detach DEV",
	.run		= do_detach,
};

int attach_parse_args(int argc, char **argv, struct attach_args *a)
{
	memset(a, 0, sizeof(*a));
	a->xdp_flags = XDP_FLAGS_DRV_MODE;
	while (argc) {
		if (!strcmp(argv[0], "mode") && argc > 1) {
			if (!strcmp(argv[1], "native"))
				a->xdp_flags = XDP_FLAGS_DRV_MODE;
			else if (!strcmp(argv[1], "generic"))
				a->xdp_flags = XDP_FLAGS_SKB_MODE;
			else {
				p_err("invalid mode '%s': expected native or generic",
				      argv[1]);
				return -1;
			}
		} else if (!strcmp(argv[0], "src") && argc > 1) {
			if (parse_addr(argv[1], &a->src))
				return -1;
		} else if (!strcmp(argv[0], "zone") && argc > 1) {
			if (parse_zone(argv[1], a->zone))
				return -1;
			a->has_zone = true;
		} else {
			p_err("unexpected '%s' (expected: mode native|generic, src ADDR, zone NAME)",
			      argv[0]);
			return -1;
		}
		NEXT_ARG();
		NEXT_ARG();
	}
	return 0;
}

static int do_attach(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	struct upgrade_report rep;
	struct attach_args a;
	struct store st;
	const char *dev;
	char path[4200];
	__u32 ifindex, zero = 0;
	bool attached, printed = false;
	int err;

	if (argc >= 1 && !strcmp(argv[0], "help"))
		return cli_object_usage(&attach_object, stderr, true), 0;
	if (argc < 1) {
		p_err("missing device (see 'helios-agent attach help')");
		return -1;
	}
	dev = argv[0];
	if (attach_parse_args(argc - 1, argv + 1, &a))
		return -1;
	opts.flags = a.xdp_flags;
	if (device_index(dev, &ifindex))
		return -1;

	err = cli_store_open_any(&st);
	if (!err)
		err = store_upgrade(&st, false, &rep);
	if (err)
		goto out;
	link_pin_path(&st, ifindex, path, sizeof(path));
	attached = !access(path, F_OK);
	if (attached && rep.current) {
		p_err("%s is already attached", dev);
		err = -EEXIST;
		goto out;
	}
	/* another build ran: it was an upgrade (of DEV, or of the others) */
	printed = !rep.current && (attached || rep.ndevs);
	if (printed)
		upgrade_print(&rep);
	if (!attached) {
		err = attach_link(&st, ifindex, dev, &opts, path);
		if (err)
			goto out;
	}
	if (a.src.family || a.has_zone) {
		struct hl_settings cfg = {};

		bpf_map_lookup_elem(st.fds[MAP_SETTINGS], &zero, &cfg);
		if (a.src.family == HL_AF_INET)
			cfg.src4 = a.src.w[0];
		else if (a.src.family)
			memcpy(cfg.src6, a.src.w, sizeof(cfg.src6));
		if (a.has_zone)
			memcpy(cfg.zone, a.zone, sizeof(cfg.zone));
		bpf_map_update_elem(st.fds[MAP_SETTINGS], &zero, &cfg, BPF_ANY);
	}
	if (a.has_zone && !nodes_load(&st)) {
		err = svc_for_each(&st, rebuild_zoned, NULL);
		if (err)
			goto out;
	}
	refresh_nexthops(&st);
	warn_forwarding(dev);
	if (json_output && !printed)
		json_print(NULL);
out:
	store_close(&st);
	return err;
}

static int do_upgrade(int argc, char **argv)
{
	struct upgrade_report rep;
	bool force = false;
	struct store st;
	char path[4200];
	__u32 ifindex;
	int err;

	if (argc == 1 && !strcmp(argv[0], "help"))
		return cli_object_usage(&upgrade_object, stderr, true), 0;
	if (argc < 1 || argc > 2) {
		p_err(argc ? "unexpected '%s' (expected: upgrade DEV [force])" :
			     "missing device (expected: upgrade DEV [force])",
		      argv[argc ? 2 : 0]);
		return -1;
	}
	if (argc == 2) {
		if (strcmp(argv[1], "force")) {
			p_err("unexpected '%s' (expected: force)", argv[1]);
			return -1;
		}
		force = true;
	}
	if (device_index(argv[0], &ifindex))
		return -1;
	err = cli_store_open_any(&st);
	if (!err) {
		link_pin_path(&st, ifindex, path, sizeof(path));
		if (access(path, F_OK)) {
			p_err("%s is not attached (attach it first)", argv[0]);
			err = -ENOENT;
		}
	}
	if (!err)
		err = store_upgrade(&st, force, &rep);
	if (!err)
		upgrade_print(&rep);
	store_close(&st);
	return err;
}

static int do_detach(int argc, char **argv)
{
	struct store st;
	char path[4200];
	__u32 ifindex;
	int err;

	if (argc == 1 && !strcmp(argv[0], "help"))
		return cli_object_usage(&detach_object, stderr, true), 0;
	if (argc != 1) {
		p_err(argc ? "unexpected '%s' (expected: detach DEV)" :
			     "missing device (expected: detach DEV)", argv[argc ? 1 : 0]);
		return -1;
	}
	if (device_index(argv[0], &ifindex))
		return -1;
	err = cli_store_open(&st, false);
	if (!err) {
		link_pin_path(&st, ifindex, path, sizeof(path));
		err = unlink(path) ? -errno : 0;
	}
	if (err == -ENOENT)
		p_err("%s is not attached", argv[0]);
	else if (err)
		p_err("cannot detach %s: %s", argv[0], strerror(-err));
	else if (json_output)
		json_print(NULL);
	store_close(&st);
	return err;
}
