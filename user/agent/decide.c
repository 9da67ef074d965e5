// SPDX-License-Identifier: GPL-2.0
/*
 * From node health and roles to data-path state, per service strategy:
 * - maglev: every node by its health (Degraded at reduced weight).
 * - primary: only the one node whose last probe found it out of recovery,
 *   and only while it is Healthy (Degraded nodes never take writes). Any
 *   node whose last probe answered "primary" claims the role, whatever its
 *   health: none or several claims hold new flows (split brain is never
 *   resolved by guessing); the others are cut (Unhealthy) once a single
 *   primary is known, so no flow writes to a demoted node. Of several
 *   claims the one alone on the highest timeline wins: a promotion forks
 *   a new timeline, so the others are old primaries that were not told.
 *   Such a stale primary is cut in every service (its data diverged).
 *   With Patroni's view as well (patroni_check), the single primary must
 *   be the one Patroni names (or Patroni must have no view of it): when
 *   the two disagree, writes hold, whatever either says.
 * - a node of another cluster (system identifier) is never used.
 * - replica: usable standbys/replicas by health, except those Patroni keeps
 *   out of reads (noloadbalance); the primary only as a fallback when no
 *   standby is usable and the service allows it. A primary gets weight 0
 *   otherwise but keeps its existing flows.
 */
#include "agent/decide.h"

static __u32 health_flags(const struct node_health *h)
{
	switch (h->state) {
	case HEALTH_UNHEALTHY:
		return HL_NODE_F_UNHEALTHY;
	case HEALTH_TRANSITIONING:
		return HL_NODE_F_TRANSITIONING;
	case HEALTH_DEGRADED:
		return HL_NODE_F_DEGRADED;
	default:
		return 0;
	}
}

static bool claims_primary(const struct decide_node *n)
{
	return n->last_ok && n->h->role == HL_ROLE_PRIMARY && !n->foreign;
}

static bool is_standby(const struct decide_node *n)
{
	return (n->h->role == HL_ROLE_STANDBY || n->h->role == HL_ROLE_REPLICA) &&
	       !n->no_reads;
}

/* Patroni names `primary` alone, or has no view of it and names none. */
static bool patroni_agrees(const struct decide_node *nodes, unsigned int n,
			   int primary)
{
	unsigned int i, named = 0;

	for (i = 0; i < n; i++)
		if (nodes[i].patroni == PATRONI_PRIMARY) {
			if ((int)i != primary)
				return false;
			named++;
		}
	return named == 1 || nodes[primary].patroni == PATRONI_UNKNOWN;
}

/* The one claim, or of several the one alone on the highest timeline
 * (every claim's timeline known); -1 none, -2 undecided. */
static int single_primary(const struct decide_node *nodes, unsigned int n)
{
	unsigned int i, claims = 0;
	bool tie = false, unknown = false;
	__u32 best = 0;
	int found = -1;

	for (i = 0; i < n; i++) {
		__u32 tli = nodes[i].h->timeline;

		if (!claims_primary(&nodes[i]))
			continue;
		claims++;
		unknown |= !tli;
		if (found < 0 || tli > best) {
			found = i;
			best = tli;
			tie = false;
		} else if (tli == best) {
			tie = true;
		}
	}
	return claims > 1 && (tie || unknown) ? -2 : found;
}

/* Adaptive weighting: each usable node's scale times its score. */
static void adapt(struct decide_node *nodes, unsigned int n)
{
	double best = 0, flows = 0, weights = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!nodes[i].scale)
			continue;
		if (nodes[i].h->has_ema && (!best || nodes[i].h->ema_ms < best))
			best = nodes[i].h->ema_ms;
		flows += nodes[i].active;
		weights += nodes[i].weight;
	}
	for (i = 0; i < n; i++) {
		__u32 score;

		if (!nodes[i].scale)
			continue;
		score = health_score(nodes[i].h, best,
				     flows ? nodes[i].active / flows : 0,
				     weights ? nodes[i].weight / weights : 0);
		nodes[i].scale = (nodes[i].scale * score + SCALE_FULL / 2) / SCALE_FULL;
		if (!nodes[i].scale)
			nodes[i].scale = 1;	/* usable: keep a trickle */
	}
}

bool decide(struct decide_svc *svc, struct decide_node *nodes, unsigned int n,
	    const struct health_cfg *cfg, __u64 now_ns)
{
	unsigned int i, standbys = 0;

	for (i = 0; i < n; i++)
		if (!nodes[i].probed)
			return false;
	for (i = 0; i < n; i++) {
		nodes[i].flags = health_flags(nodes[i].h);
		nodes[i].scale = health_scale(nodes[i].h, cfg, now_ns);
		nodes[i].ineligible = false;
	}
	if (cfg->adaptive)
		adapt(nodes, n);
	svc->hold = false;
	svc->disagree = false;
	svc->primary = single_primary(nodes, n);

	switch (svc->strategy) {
	case HL_STRAT_MAGLEV:
		break;
	case HL_STRAT_PRIMARY:
		if (svc->primary >= 0 && nodes[svc->primary].h->state != HEALTH_HEALTHY)
			svc->primary = -1;	/* the one primary may not take writes */
		if (svc->primary >= 0 && svc->patroni_check &&
		    !patroni_agrees(nodes, n, svc->primary)) {
			svc->disagree = true;
			svc->primary = -1;
		}
		if (svc->primary < 0) {
			/* Hold: no new flows anywhere, existing ones stay. */
			svc->hold = true;
			for (i = 0; i < n; i++) {
				if (!(nodes[i].flags & HL_NODE_F_UNHEALTHY))
					nodes[i].flags = HL_NODE_F_TRANSITIONING;
				nodes[i].scale = 0;
			}
			break;
		}
		for (i = 0; i < n; i++) {
			if ((int)i == svc->primary)
				continue;
			nodes[i].ineligible = !(nodes[i].flags & HL_NODE_F_UNHEALTHY);
			nodes[i].flags = HL_NODE_F_UNHEALTHY;
			nodes[i].scale = 0;
		}
		break;
	case HL_STRAT_REPLICA:
		for (i = 0; i < n; i++)
			if (is_standby(&nodes[i]) && nodes[i].scale &&
			    !(nodes[i].flags & HL_NODE_F_UNHEALTHY))
				standbys++;
		for (i = 0; i < n; i++) {
			if (is_standby(&nodes[i]))
				continue;
			if (!standbys && svc->fallback_primary &&
			    (int)i == svc->primary)
				continue;	/* fallback: reads on the primary */
			nodes[i].ineligible = nodes[i].scale > 0;
			nodes[i].scale = 0;
		}
		break;
	}
	/* Never used: other clusters' nodes, primaries a promotion left
	 * behind on an older timeline. */
	for (i = 0; i < n; i++) {
		if (!nodes[i].foreign && (svc->primary < 0 ||
					  (int)i == svc->primary ||
					  !claims_primary(&nodes[i])))
			continue;
		nodes[i].flags = HL_NODE_F_UNHEALTHY;
		nodes[i].scale = 0;
		nodes[i].ineligible = true;
	}
	return true;
}
