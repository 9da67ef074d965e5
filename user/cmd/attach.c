// SPDX-License-Identifier: GPL-2.0
/* helios-agent attach DEV [OPTIONS] / upgrade DEV [force] / detach DEV */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "cmd/attach.h"
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

static const struct opt_choice mode_choices[] = {
	{ "native", ATTACH_NATIVE }, { "generic", ATTACH_GENERIC }, { NULL }
};

/* An attach's src: ADDR, or one of each family as IPV4,IPV6 (a family
 * left out keeps its own). The addresses in out, their count in *n. */
static int src_parse(const char *str, struct ip_addr out[2], unsigned int *n)
{
	char buf[2 * ADDR_STRLEN], *comma;

	*n = 0;
	if (!*str)
		return 0;
	if (strlen(str) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, str);
	comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	if (parse_addr(buf, &out[0]))
		return -EINVAL;
	*n = 1;
	if (!comma)
		return 0;
	if (parse_addr(comma + 1, &out[1]) || out[1].family == out[0].family)
		return -EINVAL;
	*n = 2;
	return 0;
}

static const char *src_check(const void *field)
{
	struct ip_addr a[2];
	unsigned int n;

	return src_parse(field, a, &n) ?
		"not an IPv4 or IPv6 address, or one of each as IPV4,IPV6" : NULL;
}

/* `attach DEV` keywords and the keys of the configuration's attach groups. */
const struct opt attach_opts[] = {
	{ .name = "mode", .type = OPT_ENUM, .where = OPT_BOTH, .arg = "MODE",
	  OPT_FIELD(struct attach_conf, mode), .choices = mode_choices,
	  .def = "native", .help = "XDP in the driver, or generic (slower, any device)" },
	{ .name = "src", .type = OPT_STRING, .where = OPT_BOTH, .arg = "ADDR",
	  OPT_FIELD(struct attach_conf, src), .check = src_check,
	  .def = "the egress device's",
	  .help = "outer source address of IPIP packets (IPv4, IPv6, or both as IPV4,IPV6)" },
	{ .name = "zone", .type = OPT_STRING, .where = OPT_BOTH, .arg = "NAME",
	  OPT_FIELD(struct attach_conf, zone), .check = zone_check,
	  .help = "the director's own zone, for prefer-zone services" },
	{ NULL }
};

static int do_attach(int argc, char **argv);
static int do_upgrade(int argc, char **argv);
static int do_detach(int argc, char **argv);

const struct cli_object attach_object = {
	.name		= "attach",
	.usage		= "attach DEV [OPTIONS]",
	.details	=
		"zone: prefer-zone services send new flows to usable nodes of this\n"
		"      zone, to the others only when none is usable.\n",
	.opts		= attach_opts,
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

int attach_link(struct store *st, const struct attach_conf *ac)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts,
		    .flags = ac->mode == ATTACH_GENERIC ? XDP_FLAGS_SKB_MODE :
							  XDP_FLAGS_DRV_MODE);
	char path[4200];
	__u32 ifindex;
	int err, link_fd;

	if (device_index(ac->dev, &ifindex))
		return -ENODEV;
	link_pin_path(st, ifindex, path, sizeof(path));
	if (!access(path, F_OK))
		return -EEXIST;
	link_fd = bpf_link_create(st->prog_fd, ifindex, BPF_XDP, &opts);
	if (link_fd < 0) {
		err = -errno;
		if (err == -EBUSY || err == -EEXIST)
			p_err("%s already has an XDP program", ac->dev);
		else if (err == -EOPNOTSUPP && ac->mode == ATTACH_NATIVE)
			p_err("%s does not support native XDP (try: mode generic)",
			      ac->dev);
		else
			p_err("cannot attach to %s: %s", ac->dev, strerror(-err));
		return err == -EEXIST ? -EBUSY : err;
	}
	err = bpf_obj_pin(link_fd, path) ? -errno : 0;
	close(link_fd);	/* the pin holds the link from now on */
	if (err)
		p_err("cannot pin the link at %s: %s", path, strerror(-err));
	else
		warn_forwarding(ac->dev);
	return err;
}

int attach_settings(struct store *st, const struct attach_conf *ac,
		    opt_seen_t seen)
{
	struct hl_settings cfg = {}, old;
	struct ip_addr src[2];
	unsigned int i, n;
	__u32 zero = 0;
	int err;

	if (!(seen & (OPT_SEEN(attach_opts, "src") | OPT_SEEN(attach_opts, "zone"))))
		return 0;
	bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg);
	old = cfg;
	if (seen & OPT_SEEN(attach_opts, "src")) {
		if (src_parse(ac->src, src, &n))
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (src[i].family == HL_AF_INET)
				cfg.src4 = src[i].w[0];
			else
				memcpy(cfg.src6, src[i].w, sizeof(cfg.src6));
	}
	if (seen & OPT_SEEN(attach_opts, "zone"))
		memcpy(cfg.zone, ac->zone, sizeof(cfg.zone));
	if (!memcmp(&old, &cfg, sizeof(cfg)))
		return 0;	/* as pinned: nothing to rebuild */
	if (bpf_map_update_elem(st->fds[MAP_SETTINGS], &zero, &cfg, BPF_ANY))
		return -errno;
	if (memcmp(old.zone, cfg.zone, sizeof(cfg.zone)) && !nodes_load(st)) {
		err = svc_for_each(st, rebuild_zoned, NULL);
		if (err)
			return err;
	}
	refresh_nexthops(st);
	return 0;
}

/* The pinned outer sources as src takes them: IPv4, IPv6, or both. */
static void attach_src_format(const struct hl_settings *cfg, char *buf,
			      size_t len)
{
	char a4[ADDR_STRLEN] = "", a6[ADDR_STRLEN] = "";
	__be32 w[4] = { cfg->src4 };

	if (cfg->src4)
		format_addr(HL_AF_INET, w, a4, sizeof(a4));
	if (cfg->src6[0] || cfg->src6[1] || cfg->src6[2] || cfg->src6[3])
		format_addr(HL_AF_INET6, cfg->src6, a6, sizeof(a6));
	snprintf(buf, len, "%s%s%s", a4, a4[0] && a6[0] ? "," : "", a6);
}

int attach_for_each(struct store *st,
		    int (*fn)(const struct attach_conf *ac, void *data),
		    void *data)
{
	struct hl_settings cfg = {};
	struct dirent *de;
	__u32 zero = 0;
	int err = 0;
	DIR *d;

	bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, &cfg);
	d = opendir(st->dir);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		struct attach_conf ac = {};
		unsigned int ifindex;

		if (sscanf(de->d_name, "link_%u", &ifindex) != 1 ||
		    !if_indextoname(ifindex, ac.dev))
			continue;
		if (!bpf_xdp_query(ifindex, 0, &q) &&
		    q.attach_mode == XDP_ATTACHED_SKB)
			ac.mode = ATTACH_GENERIC;
		attach_src_format(&cfg, ac.src, sizeof(ac.src));
		memcpy(ac.zone, cfg.zone, sizeof(ac.zone));
		err = fn(&ac, data);
	}
	closedir(d);
	return err;
}

static int do_attach(int argc, char **argv)
{
	struct upgrade_report rep;
	struct attach_conf ac = {};
	bool attached, printed = false;
	opt_seen_t seen = 0;
	struct store st;
	char path[4200];
	int err;

	if (argc < 1) {
		p_err("missing device (see 'helios-agent attach help')");
		return -1;
	}
	if (strlen(argv[0]) >= sizeof(ac.dev) || !if_nametoindex(argv[0])) {
		p_err("no device '%s'", argv[0]);
		return -1;
	}
	strcpy(ac.dev, argv[0]);
	NEXT_ARG();
	if (opts_parse_args(attach_opts, &ac, &argc, &argv, true, &seen))
		return -1;
	err = cli_store_open_any(&st);
	if (!err)
		err = store_upgrade(&st, false, &rep);
	if (err)
		goto out;
	link_pin_path(&st, if_nametoindex(ac.dev), path, sizeof(path));
	attached = !access(path, F_OK);
	if (attached && rep.current) {
		p_err("%s is already attached", ac.dev);
		err = -EEXIST;
		goto out;
	}
	/* another build ran: it was an upgrade (of DEV, or of the others) */
	printed = !rep.current && (attached || rep.ndevs);
	if (printed)
		upgrade_print(&rep);
	if (!attached)
		err = attach_link(&st, &ac);
	if (!err)
		err = attach_settings(&st, &ac, seen);
	if (!err) {
		refresh_nexthops(&st);
		if (json_output && !printed)
			json_print(NULL);
	}
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

int detach_link(struct store *st, const char *dev)
{
	char path[4200];
	__u32 ifindex;

	if (device_index(dev, &ifindex))
		return -ENODEV;
	link_pin_path(st, ifindex, path, sizeof(path));
	return unlink(path) ? -errno : 0;
}

static int do_detach(int argc, char **argv)
{
	struct store st;
	int err;

	if (argc != 1) {
		p_err(argc ? "unexpected '%s' (expected: detach DEV)" :
			     "missing device (expected: detach DEV)", argv[argc ? 1 : 0]);
		return -1;
	}
	if (!if_nametoindex(argv[0])) {
		p_err("no device '%s'", argv[0]);
		return -1;
	}
	err = cli_store_open(&st, false);
	if (!err)
		err = detach_link(&st, argv[0]);
	if (err == -ENOENT)
		p_err("%s is not attached", argv[0]);
	else if (err)
		p_err("cannot detach %s: %s", argv[0], strerror(-err));
	else if (json_output)
		json_print(NULL);
	store_close(&st);
	return err;
}
