// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent node setup-hint SVC: what an operator runs on each node of
 * a service for its forwarding mode, one command a line (plain output is
 * a shell script: the explanations are comments).
 *
 *   l2    the VIP on lo, so the node accepts packets to it; IPv4: ARP for
 *         the VIP answered by nobody but the director (arp_ignore=1: only
 *         for addresses of the receiving device; arp_announce=2: ARP
 *         requests from the device's own address, never the VIP). IPv6:
 *         `nodad` (the VIP is on every node), and no ND setting: Linux
 *         answers a neighbour solicitation only for addresses of the
 *         device it arrives on, so never for the VIP on lo.
 *   ipip  the decap program on the device towards the director, then as
 *         l2 (the inner packet is addressed to the VIP).
 *   nat   nothing: the node is addressed by its own address.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/hint.h"
#include "lib/parse.h"
#include "lib/services.h"
#include "lib/store.h"

#define HINT_MAX	8

struct hint {
	char cmds[HINT_MAX][160];
	const char *notes[HINT_MAX];
	unsigned int ncmds, nnotes;
};

__attribute__((format(printf, 2, 3)))
static void add_cmd(struct hint *h, const char *fmt, ...)
{
	va_list ap;

	if (h->ncmds == HINT_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(h->cmds[h->ncmds++], sizeof(h->cmds[0]), fmt, ap);
	va_end(ap);
}

static void add_note(struct hint *h, const char *note)
{
	if (h->nnotes < HINT_MAX)
		h->notes[h->nnotes++] = note;
}

/* The VIP on lo, and the VIP's ARP/ND left to the director. */
static void vip_on_lo(struct hint *h, bool v6, const char *vip)
{
	if (v6) {
		add_cmd(h, "ip addr add %s/128 dev lo nodad", vip);
		add_note(h, "IPv6 needs no ND setting: Linux answers neighbour solicitations only for addresses of the device they arrive on, never for the VIP on lo (leave proxy_ndp off)");
		return;
	}
	add_cmd(h, "ip addr add %s/32 dev lo", vip);
	add_cmd(h, "sysctl -w net.ipv4.conf.all.arp_ignore=1");
	add_cmd(h, "sysctl -w net.ipv4.conf.all.arp_announce=2");
	add_note(h, "arp_ignore/arp_announce: the node never answers ARP for the VIP, nor asks from it");
}

static void build_hint(struct hint *h, __u8 fwd, bool v6, const char *vip)
{
	memset(h, 0, sizeof(*h));
	switch (fwd) {
	case HL_FWD_L2:
		add_note(h, "each node must be on a segment of the director's (no router between them); it answers clients directly");
		vip_on_lo(h, v6, vip);
		break;
	case HL_FWD_IPIP:
		add_note(h, "DEV: the node's device towards the director; the node answers clients directly");
		add_cmd(h, "helios-agent decap attach DEV vip %s", vip);
		vip_on_lo(h, v6, vip);
		break;
	default:	/* HL_FWD_NAT */
		add_note(h, "nothing to change on the node: it is addressed by its own address and answers the director");
		break;
	}
}

int node_setup_hint(int argc, char **argv)
{
	char name[SVC_STRLEN], vip[ADDR_STRLEN];
	struct hl_svc_key key;
	struct hl_service svc;
	struct store st;
	struct hint h;
	unsigned int i;
	int err;

	REQ_ARGS(1);
	if (parse_svc(argv[0], &key))
		return -1;
	if (argc > 1) {
		p_err("unexpected '%s'", argv[1]);
		return -1;
	}
	format_svc(&key, name, sizeof(name));
	err = cli_store_open(&st, false);
	if (!err && svc_find(&st, &key, &svc))
		err = -ENOENT;
	store_close(&st);
	if (err == -ENOENT) {
		p_err("no service %s", name);
		return err;
	}
	if (err)
		return err;

	format_addr(key.family, key.vip, vip, sizeof(vip));
	build_hint(&h, svc.fwd, key.family == HL_AF_INET6, vip);
	if (json_output) {
		struct json_object *o = json_object_new_object();
		struct json_object *cmds = json_object_new_array();
		struct json_object *notes = json_object_new_array();

		for (i = 0; i < h.ncmds; i++)
			json_object_array_add(cmds, json_object_new_string(h.cmds[i]));
		for (i = 0; i < h.nnotes; i++)
			json_object_array_add(notes, json_object_new_string(h.notes[i]));
		json_object_object_add(o, "service", json_object_new_string(name));
		json_object_object_add(o, "fwd",
				       json_object_new_string(svc_fwd_name(svc.fwd)));
		json_object_object_add(o, "vip", json_object_new_string(vip));
		json_object_object_add(o, "commands", cmds);
		json_object_object_add(o, "notes", notes);
		json_print(o);
		return 0;
	}
	printf("# %s, fwd %s: on every node of the service\n", name,
	       svc_fwd_name(svc.fwd));
	for (i = 0; i < h.nnotes; i++)
		printf("# %s\n", h.notes[i]);
	for (i = 0; i < h.ncmds; i++)
		printf("%s\n", h.cmds[i]);
	return 0;
}
