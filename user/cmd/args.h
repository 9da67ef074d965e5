/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The objects' argument parsers that need no store: each checks a
 * command's words whole before anything is opened or written, reports a
 * bad one with p_err() and returns non-zero. Shared here so tests/fuzz
 * can run them on any input.
 */
#ifndef HELIOS_CMD_ARGS_H
#define HELIOS_CMD_ARGS_H

#include <stdbool.h>
#include <helios/abi.h>
#include "lib/conns.h"
#include "lib/options.h"
#include "lib/parse.h"

/* node add/set/del: SVC ADDR[:PORT] [OPTIONS]; `opts` allows options. */
struct node_args {
	struct hl_svc_key key;
	struct ip_addr addr;
	__be16 port;		/* network order, 0: none given */
	struct hl_node admin;	/* weight, role, zone */
	opt_seen_t seen;
};
int node_parse_args(int argc, char **argv, bool opts, struct node_args *a);

/* conn list/flush: [SVC] [node NODE]; `need_svc` makes SVC required. */
struct conn_args {
	struct hl_svc_key key;
	struct conn_filter f;
	const char *svc_arg, *node_arg;
};
int conn_parse_args(int argc, char **argv, bool need_svc, struct conn_args *a);

/* service set SVC syn-retry ... and snat ...: argv[0] is the keyword. */
int svc_parse_syn_retry(int argc, char **argv, struct hl_limits *lim,
			bool *on);
int svc_parse_snat(int argc, char **argv, const struct hl_svc_key *key,
		   const char *svc_arg, struct hl_snat *snat);

/* class add PREFIX name NAME rate conn N[/s] [burst B] [leaky]: the key
 * and the class to write. */
int class_parse_add(int argc, char **argv, struct hl_class_key *key,
		    struct hl_class *cls);
/* class set NAME OPTIONS: the table (and configuration keys). */
extern const struct opt class_admin_opts[];

/* decap attach DEV's VIPs: vip ADDR [vip ADDR ...], at most `max`. */
int decap_parse_vips(int argc, char **argv, struct ip_addr *vips,
		     unsigned int max, unsigned int *nvips);

#endif /* HELIOS_CMD_ARGS_H */
