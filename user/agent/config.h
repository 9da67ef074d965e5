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
#include "lib/options.h"
#include "lib/parse.h"

struct node_conf {
	struct ip_addr addr;
	__u16 weight;
	__u8 role;
	char zone[HL_ZONE_LEN];
};

struct svc_conf {
	struct hl_svc_key key;
	char name[SVC_STRLEN];
	__u8 strategy;		/* HL_STRAT_MAGLEV, _PRIMARY or _REPLICA */
	bool fallback_primary;	/* replica: use the primary when no standby is */
	__u8 fwd;		/* enum hl_fwd */
	bool reset_on_down;	/* RST flows whose node goes down */
	__u32 hold_ms;		/* primary: longest hold of new flows, split brain */
	__u32 ring;
	/* scaleout / announce as the file gives them: has_* false leaves the
	 * CLI's choice, as maglev and ipip do. */
	bool has_scaleout, scaleout, has_announce, announce;
	struct probe_cfg probe;
	struct health_cfg health;
	unsigned int nnodes;
	struct node_conf *nodes;
};

struct agent_conf {
	unsigned int nsvcs;
	struct svc_conf *svcs;
	/* The top-level `nat` group (keys: nat_timeout_opts): when present,
	 * the NAT timeouts it gives, the defaults for those it leaves out. */
	bool has_nat;
	struct hl_settings nat;
	/* The top-level `bgp` group (keys: bgp_opts): announce the VIPs
	 * through BIRD. */
	bool has_bgp;
	struct bgp_conf bgp;
};

/* The keys of a service group (besides svc_admin_opts) and of its check
 * group; a node group's are node_admin_opts. */
extern const struct opt service_opts[], check_opts[];

/* 0, or -1 with "FILE:LINE: reason" in err. */
int config_load(const char *path, struct agent_conf *conf, char *err,
		size_t errlen);
void config_free(struct agent_conf *conf);

#endif /* HELIOS_CONFIG_H */
