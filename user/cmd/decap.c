// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent decap { attach DEV vip ADDR... | detach DEV }: the backend side
 * of IPIP forwarding. This kernel has no ipip module, so a TC ingress program
 * strips the outer header of packets for our VIPs; no tunnel device needed.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "helios_decap.skel.h"
#include "cmd/args.h"
#include "cmd/cli.h"
#include "cmd/decap.h"
#include "lib/parse.h"
#include "lib/bpffs.h"
#include "lib/tables.h"

#define DECAP_HANDLE	1
#define DECAP_PRIO	1

static bool decap_attached(struct bpf_tc_hook *hook)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, tc, .handle = DECAP_HANDLE,
			    .priority = DECAP_PRIO);

	return !bpf_tc_query(hook, &tc);
}

int decap_attach(const char *dev, const struct ip_addr *vips, unsigned int n)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, tc, .handle = DECAP_HANDLE,
			    .priority = DECAP_PRIO);
	struct helios_decap *skel = NULL;
	struct store st = { .dir_fd = -1 };
	char path[4200];
	unsigned int i;
	__u64 zero = 0;
	int err;

	hook.ifindex = if_nametoindex(dev);
	if (!hook.ifindex) {
		p_err("no device '%s'", dev);
		return -ENODEV;
	}
	strncpy(st.dir, bpffs_dir, sizeof(st.dir) - 1);
	err = bpffs_prepare(st.dir);
	if (err)
		return err;
	skel = helios_decap__open();
	if (!skel) {
		err = -errno;
		p_err("cannot open the decap BPF object: %s", strerror(errno));
		return err;
	}
	err = store_pin_path(&st, "decap_vips", path, sizeof(path));
	if (!err)
		err = bpf_map__set_pin_path(skel->maps.decap_vips, path);
	if (!err)
		err = helios_decap__load(skel);
	if (err) {
		p_err("cannot load the decap program: %s", strerror(-err));
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct hl_vip_key k = { .family = vips[i].family };

		memcpy(k.addr, vips[i].w, sizeof(k.addr));
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.decap_vips),
					&k, &zero, BPF_NOEXIST) &&
		    errno != EEXIST) {
			err = -errno;
			p_err("cannot add VIP: %s", strerror(errno));
			goto out;
		}
	}
	if (decap_attached(&hook))
		goto out;	/* the VIPs were what was missing */
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		p_err("cannot create clsact on %s: %s", dev, strerror(-err));
		goto out;
	}
	tc.prog_fd = bpf_program__fd(skel->progs.helios_decap);
	err = bpf_tc_attach(&hook, &tc);
	if (err)
		p_err("cannot attach decap to %s: %s", dev, strerror(-err));
out:
	helios_decap__destroy(skel);	/* the tc filter keeps the program */
	return err;
}

int decap_vips(struct ip_addr *vips, unsigned int max)
{
	struct store st = { .dir_fd = -1 };
	struct hl_vip_key k, *prev = NULL;
	char path[4200];
	unsigned int n = 0;
	int fd;

	strncpy(st.dir, bpffs_dir, sizeof(st.dir) - 1);
	if (store_pin_path(&st, "decap_vips", path, sizeof(path)))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	while (n < max && !bpf_map_get_next_key(fd, prev, &k)) {
		vips[n] = (struct ip_addr){ .family = k.family };
		memcpy(vips[n].w, k.addr, sizeof(vips[n].w));
		n++;
		prev = &k;
	}
	close(fd);
	return n;
}

bool decap_on(const char *dev)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);

	hook.ifindex = if_nametoindex(dev);
	return hook.ifindex && decap_attached(&hook);
}

int decap_parse_vips(int argc, char **argv, struct ip_addr *vips,
		     unsigned int max, unsigned int *nvips)
{
	*nvips = 0;
	while (argc) {
		if (strcmp(argv[0], "vip") || argc < 2) {
			p_err("unexpected '%s' (expected: vip ADDR)", argv[0]);
			return -1;
		}
		if (*nvips == max) {
			p_err("too many VIPs (at most %u)", max);
			return -1;
		}
		if (parse_addr(argv[1], &vips[*nvips]))
			return -1;
		(*nvips)++;
		NEXT_ARG();
		NEXT_ARG();
	}
	return 0;
}

static int do_decap_attach(int argc, char **argv)
{
	struct ip_addr vips[DECAP_MAX_VIPS];
	unsigned int nvips = 0;
	const char *dev;
	int err;

	REQ_ARGS(3);
	dev = argv[0];
	if (decap_parse_vips(argc - 1, argv + 1, vips, DECAP_MAX_VIPS, &nvips))
		return -1;
	if (!if_nametoindex(dev)) {
		p_err("no device '%s'", dev);
		return -1;
	}
	if (decap_on(dev)) {
		p_err("%s already has decap attached", dev);
		return -1;
	}
	err = decap_attach(dev, vips, nvips);
	if (!err && json_output)
		json_print(NULL);
	return err;
}

static int do_decap_detach(int argc, char **argv)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, tc, .handle = DECAP_HANDLE,
			    .priority = DECAP_PRIO);
	int err;

	if (argc != 1) {
		p_err("expected: decap detach DEV");
		return -1;
	}
	hook.ifindex = if_nametoindex(argv[0]);
	if (!hook.ifindex) {
		p_err("no device '%s'", argv[0]);
		return -1;
	}
	if (bpf_tc_query(&hook, &tc)) {
		p_err("%s has no decap attached", argv[0]);
		return -1;
	}
	tc.prog_fd = tc.prog_id = tc.flags = 0;
	err = bpf_tc_detach(&hook, &tc);
	if (err)
		p_err("cannot detach decap from %s: %s", argv[0], strerror(-err));
	else if (json_output)
		json_print(NULL);
	return err;
}

static const struct cmd cmds[] = {
	{ "attach",	do_decap_attach },
	{ "detach",	do_decap_detach },
	{ 0 }
};

const struct cli_object decap_object = {
	.name		= "decap",
	.usage		=
		"decap attach DEV vip ADDR [vip ADDR ...]\n"
		"decap detach DEV",
	.cmds		= cmds,
};
