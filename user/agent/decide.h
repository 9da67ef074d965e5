/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The health agent's model of one service: what its nodes' health and roles
 * mean for the data path. Pure (no maps, no clock, no configuration file),
 * so it is unit-tested; commit.c feeds it and commits the result.
 */
#ifndef HELIOS_DECIDE_H
#define HELIOS_DECIDE_H

#include <stdbool.h>

#include "agent/health.h"

/* One node as the decision sees it. */
struct decide_node {
	const struct node_health *h;
	bool probed;		/* has a result (or one carried over a restart) */
	bool last_ok;
	__u32 weight;		/* configured, for adaptive weighting */
	__u64 active;		/* active flows the data path counts */
	bool foreign;		/* another cluster's system identifier */
	bool no_reads;		/* Patroni: noloadbalance, or its read endpoint
				 * said no: never a read node */
	__u8 patroni;		/* Patroni's view (patroni_port): enum
				 * decide_patroni */
	/* out: */
	__u32 flags;		/* HL_NODE_F_{DEGRADED,TRANSITIONING,UNHEALTHY} */
	__u32 scale;		/* per-mille of the configured weight */
	bool ineligible;	/* healthy but of the wrong role here */
};

/* What Patroni says of a node, beside the postgres probe's own view. */
enum decide_patroni {
	PATRONI_UNKNOWN	= 0,	/* not asked, or no answer */
	PATRONI_PRIMARY	= 1,
	PATRONI_OTHER	= 2,	/* running, not the primary */
};

struct decide_svc {
	__u8 strategy;		/* HL_STRAT_MAGLEV, _PRIMARY or _REPLICA */
	bool fallback_primary;
	bool patroni_check;	/* primary: Patroni's view must agree */
	/* out: */
	bool hold;		/* primary: no single primary, hold new flows */
	int primary;		/* index of the one primary, -1 for none,
				 * -2 for more than one that nothing tells
				 * apart (see single_primary()) */
	bool disagree;		/* primary: postgres and Patroni name
				 * different primaries: hold */
};

/* Fill the nodes' flags and scales from their health and the strategy.
 * Returns false when some node has no result yet (decide nothing then). */
bool decide(struct decide_svc *svc, struct decide_node *nodes, unsigned int n,
	    const struct health_cfg *cfg, __u64 now_ns);

#endif /* HELIOS_DECIDE_H */
