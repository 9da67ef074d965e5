/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's configuration file (libconfig syntax: readable, '#' comments,
 * errors with file:line). See README.md, "Agent configuration".
 */
#ifndef HELIOS_CONFIG_H
#define HELIOS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/announce.h"
#include "agent/health.h"
#include "agent/probe.h"
#include "cmd/attach.h"
#include "cmd/decap.h"
#include "lib/options.h"
#include "lib/parse.h"
#include "lib/services.h"

#define CONF_MAX_DEVS	16	/* attach and decap groups each */

struct node_conf {
	struct ip_addr addr;
	__u16 weight;
	__u8 role;
	char zone[HL_ZONE_LEN];
	opt_seen_t seen;	/* the node_admin_opts the file gives */
	__be16 port;		/* 0: the service's; else one of its own (fwd nat) */
};

#define CONF_WORDS	64	/* a limit's value: the CLI's words */

/* A service's limits as `service set SVC rate conn ...` takes them (the
 * words after the keyword): limit_opts. */
struct limit_conf {
	char rate_conn[CONF_WORDS];
	char rate_pkt[CONF_WORDS];
	char rate_bytes[CONF_WORDS];
	char client_rate[CONF_WORDS];
	char syn_retry[CONF_WORDS];
};

/* A rate-limit class prefix: class_opts. */
struct class_conf {
	char name[HL_CLASS_NAME_LEN];
	char prefix[64];
	char rate[CONF_WORDS];
	struct hl_class admin;	/* class_admin_opts (user/cmd/class.c) */
};

#define CONF_MAX_CLASSES	(HL_MAX_CLASSES * 4)

struct svc_conf {
	struct hl_svc_key key;
	char name[SVC_STRLEN];
	struct svc_admin admin;	/* svc_admin_opts the file gives: admin_seen */
	opt_seen_t admin_seen;
	bool has_check;		/* without one the service is not probed */
	bool has_snat;
	struct hl_snat snat;
	struct limit_conf limits;
	opt_seen_t limits_seen;
	__u8 strategy;		/* any; the agent decides roles for _PRIMARY
				 * and _REPLICA */
	bool fallback_primary;	/* replica: use the primary when no standby is */
	__u8 fwd;		/* enum hl_fwd */
	bool reset_on_down;	/* RST flows whose node goes down */
	__u32 hold_ms;		/* primary: longest hold of new flows, split brain */
	bool fence;		/* primary: fencing generation (default on) */
	char system_id[24];	/* the cluster's system identifier, or "" */
	__u64 sysid;		/* system_id parsed, 0 = learn it */
	char ryw_of[SVC_STRLEN + 1];	/* read-your-writes: write service */
	__u32 ryw_window_ms;
	__u32 ring;
	struct probe_cfg probe;
	/* patroni_port: with a postgres check, Patroni's view too (GET
	 * /patroni on that port, patroni_probe); writes hold while the two
	 * disagree about the primary. 0: off. */
	__u32 patroni_port;
	struct probe_cfg patroni_probe;
	struct health_cfg health;
	unsigned int nnodes;
	struct node_conf *nodes;
};

struct decap_conf {
	char dev[IF_NAMESIZE];
	unsigned int nvips;
	struct ip_addr vips[DECAP_MAX_VIPS];
};

struct agent_conf {
	unsigned int nattach;
	struct attach_conf attach[CONF_MAX_DEVS];
	opt_seen_t attach_seen[CONF_MAX_DEVS];
	unsigned int ndecap;
	struct decap_conf decap[CONF_MAX_DEVS];
	unsigned int nclasses;
	struct class_conf classes[CONF_MAX_CLASSES];
	unsigned int nsvcs;
	struct svc_conf *svcs;
	/* The top-level `nat` group (keys: nat_timeout_opts): when present,
	 * the NAT timeouts it gives, the defaults for those it leaves out. */
	bool has_nat;
	struct hl_settings nat;
	/* Top-level keys (agent_opts): `metrics ADDR:PORT`, "" = none. */
	char metrics[ADDR_PORT_STRLEN];
	/* The top-level `bgp` group (keys: bgp_opts): announce the VIPs
	 * through BIRD. */
	bool has_bgp;
	struct bgp_conf bgp;
};

/* The keys of a service group (besides svc_admin_opts) and of its check
 * group; a node group's are node_admin_opts. */
extern const struct opt service_opts[], check_opts[], limit_opts[],
	class_opts[];
/* Split `words` (a copy in buf) into at most max argv entries. */
int conf_words(const char *words, char *buf, size_t len, char **argv, int max);

/* What a service group leaves out: its check's and hold's defaults (the
 * key must be set). */
void svc_conf_defaults(struct svc_conf *sc);
/* The file's top-level keys, also `run`'s options (run config FILE
 * [--]metrics ADDR:PORT): a struct agent_conf's fields. */
extern const struct opt agent_opts[];

/* 0, or -1 with "FILE:LINE: reason" in err. */
int config_load(const char *path, struct agent_conf *conf, char *err,
		size_t errlen);
void config_free(struct agent_conf *conf);

#endif /* HELIOS_CONFIG_H */
