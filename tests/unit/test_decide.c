// SPDX-License-Identifier: GPL-2.0
/* From health and roles to flags and weights, per strategy. */
#include <string.h>

#include "agent/decide.h"
#include "unit.h"

static struct health_cfg cfg;
static struct node_health h[3];
static struct decide_node dn[3];

/* Node i: state, role, last probe ok. */
static void set(int i, enum health_state state, __u8 role, bool ok)
{
	health_init(&h[i], true, 0);
	h[i].state = state;
	h[i].reachable = state != HEALTH_UNHEALTHY;
	h[i].role = role;
	dn[i] = (struct decide_node){ .h = &h[i], .probed = true, .last_ok = ok };
}

static void test_not_probed(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_MAGLEV };

	health_defaults(&cfg);
	set(0, HEALTH_HEALTHY, HL_ROLE_ANY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_ANY, true);
	dn[1].probed = false;
	CHECK(!decide(&s, dn, 2, &cfg, 1), "decided without every result");
}

static void test_maglev(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_MAGLEV };

	set(0, HEALTH_HEALTHY, HL_ROLE_ANY, true);
	set(1, HEALTH_DEGRADED, HL_ROLE_ANY, true);
	set(2, HEALTH_UNHEALTHY, HL_ROLE_ANY, false);
	CHECK(decide(&s, dn, 3, &cfg, 1), "decide");
	CHECK(dn[0].flags == 0 && dn[0].scale == 1000, "healthy: full");
	CHECK(dn[1].flags == HL_NODE_F_DEGRADED && dn[1].scale == cfg.degraded_scale,
	      "degraded: reduced");
	CHECK(dn[2].flags == HL_NODE_F_UNHEALTHY && dn[2].scale == 0, "unhealthy");
	CHECK(!s.hold, "no hold for maglev");
}

static void test_primary(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_PRIMARY };

	set(0, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	CHECK(decide(&s, dn, 2, &cfg, 1), "decide");
	CHECK(!s.hold && s.primary == 0, "one primary");
	CHECK(dn[0].flags == 0 && dn[0].scale == 1000, "writes to the primary");
	CHECK(dn[1].flags == HL_NODE_F_UNHEALTHY && dn[1].ineligible,
	      "standby cut from the write service");

	/* Promotion without stopping the old primary: two claim it. */
	set(1, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	CHECK(decide(&s, dn, 2, &cfg, 1), "decide");
	CHECK(s.hold && s.primary == -2, "split brain: hold");
	CHECK(dn[0].flags == HL_NODE_F_TRANSITIONING &&
	      dn[1].flags == HL_NODE_F_TRANSITIONING && !dn[0].scale && !dn[1].scale,
	      "no new flows to either, existing stay");

	/* The old primary fails its last probe: the new one alone claims. */
	dn[0].last_ok = false;
	CHECK(decide(&s, dn, 2, &cfg, 1), "decide");
	CHECK(!s.hold && s.primary == 1, "failover to the promoted node");
	CHECK(dn[0].flags == HL_NODE_F_UNHEALTHY, "old primary cut");

	/* The old primary is back with its breaker open: it still claims the
	 * role, so the service holds rather than writing to the new one. */
	set(0, HEALTH_TRANSITIONING, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	CHECK(decide(&s, dn, 2, &cfg, 1) && s.hold && s.primary == -2,
	      "a primary in any health state claims the role");

	/* Degraded primary takes no writes: hold. */
	set(0, HEALTH_DEGRADED, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	CHECK(decide(&s, dn, 2, &cfg, 1) && s.hold && s.primary == -1,
	      "degraded primary: hold");
}

/* Several claims: the one alone on the newest timeline is the primary. */
static void test_timeline(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_PRIMARY };
	struct decide_svc r = { .strategy = HL_STRAT_REPLICA,
				.fallback_primary = true };

	set(0, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	set(2, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	h[0].timeline = 1;
	h[1].timeline = 2;
	h[2].timeline = 1;
	CHECK(decide(&s, dn, 3, &cfg, 1) && !s.hold && s.primary == 1,
	      "promoted node (newer timeline) wins: %d", s.primary);
	CHECK(dn[0].flags == HL_NODE_F_UNHEALTHY && dn[0].ineligible && !dn[0].scale,
	      "old primary cut");
	CHECK(dn[1].flags == 0 && dn[1].scale == 1000, "writes to the new one");

	/* Reads: the stale primary is cut too, its data diverged. */
	CHECK(decide(&r, dn, 3, &cfg, 1) && r.primary == 1, "replica: primary");
	CHECK(dn[0].flags == HL_NODE_F_UNHEALTHY && !dn[0].scale,
	      "no reads on the stale primary");
	CHECK(dn[2].scale == 1000 && !dn[2].flags, "reads on the standby");

	/* Same timeline (two standbys promoted apart), or one unknown: hold. */
	h[0].timeline = 2;
	CHECK(decide(&s, dn, 3, &cfg, 1) && s.hold && s.primary == -2,
	      "a tie holds");
	h[0].timeline = 0;
	CHECK(decide(&s, dn, 3, &cfg, 1) && s.hold && s.primary == -2,
	      "an unknown timeline holds");
}

/* Another cluster's node claims nothing and is never used. */
static void test_foreign(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_PRIMARY };
	struct decide_svc r = { .strategy = HL_STRAT_REPLICA };

	set(0, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	dn[1].foreign = true;
	CHECK(decide(&s, dn, 2, &cfg, 1) && !s.hold && s.primary == 0,
	      "the foreign claim does not count");
	CHECK(dn[1].flags == HL_NODE_F_UNHEALTHY && dn[1].ineligible,
	      "foreign node cut");
	set(1, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	dn[1].foreign = true;
	CHECK(decide(&r, dn, 2, &cfg, 1) &&
	      dn[1].flags == HL_NODE_F_UNHEALTHY && !dn[1].scale,
	      "no reads on a foreign standby");
}

static void test_replica(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_REPLICA };

	set(0, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	set(2, HEALTH_DEGRADED, HL_ROLE_STANDBY, true);
	CHECK(decide(&s, dn, 3, &cfg, 1), "decide");
	CHECK(dn[0].scale == 0 && dn[0].flags == 0, "primary: no new reads, flows stay");
	CHECK(dn[1].scale == 1000, "healthy standby: full");
	CHECK(dn[2].scale == cfg.degraded_scale, "degraded standby: reduced");

	/* Standbys lagging too far: reads fall back to the primary if allowed. */
	set(1, HEALTH_UNHEALTHY, HL_ROLE_STANDBY, true);
	set(2, HEALTH_UNHEALTHY, HL_ROLE_STANDBY, true);
	CHECK(decide(&s, dn, 3, &cfg, 1) && dn[0].scale == 0, "no fallback: nothing");
	s.fallback_primary = true;
	CHECK(decide(&s, dn, 3, &cfg, 1) && dn[0].scale == 1000, "fallback to primary");
	set(1, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	CHECK(decide(&s, dn, 3, &cfg, 1) && dn[0].scale == 0 && dn[1].scale == 1000,
	      "standby back: primary out again");
}

/* Adaptive weighting on top of health: the slower node gets less. */
/* Postgres and Patroni must name the same primary, or writes hold. */
static void test_patroni_view(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_PRIMARY, .patroni_check = true };

	set(0, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	dn[0].patroni = PATRONI_PRIMARY;
	dn[1].patroni = PATRONI_OTHER;
	CHECK(decide(&s, dn, 2, &cfg, 1) && !s.hold && !s.disagree && s.primary == 0,
	      "both say node 0");

	dn[0].patroni = PATRONI_OTHER;
	dn[1].patroni = PATRONI_PRIMARY;
	CHECK(decide(&s, dn, 2, &cfg, 1) && s.hold && s.disagree && s.primary == -1,
	      "postgres says 0, Patroni says 1: hold");
	CHECK(dn[0].flags == HL_NODE_F_TRANSITIONING && !dn[0].scale &&
	      dn[1].flags == HL_NODE_F_TRANSITIONING && !dn[1].scale,
	      "no new writes to either, existing stay");

	dn[1].patroni = PATRONI_OTHER;
	CHECK(decide(&s, dn, 2, &cfg, 1) && s.hold && s.disagree,
	      "Patroni runs on the primary and says it is not: hold");

	dn[0].patroni = PATRONI_UNKNOWN;
	dn[1].patroni = PATRONI_UNKNOWN;
	CHECK(decide(&s, dn, 2, &cfg, 1) && !s.hold && s.primary == 0,
	      "no answer from Patroni: postgres alone decides");

	s.patroni_check = false;
	dn[1].patroni = PATRONI_PRIMARY;
	CHECK(decide(&s, dn, 2, &cfg, 1) && !s.hold && !s.disagree,
	      "Patroni's view is ignored unless asked for");
}

/* A standby Patroni keeps out of reads (noloadbalance) takes none. */
static void test_no_reads(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_REPLICA, .fallback_primary = true };

	set(0, HEALTH_HEALTHY, HL_ROLE_PRIMARY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	set(2, HEALTH_HEALTHY, HL_ROLE_STANDBY, true);
	dn[1].no_reads = true;
	CHECK(decide(&s, dn, 3, &cfg, 1), "decide");
	CHECK(!dn[1].scale && dn[1].ineligible && dn[2].scale == 1000 && !dn[0].scale,
	      "reads on node 2 only");
	dn[2].no_reads = true;
	CHECK(decide(&s, dn, 3, &cfg, 1), "decide");
	CHECK(dn[0].scale == 1000 && !dn[1].scale && !dn[2].scale,
	      "no standby for reads: the fallback, the primary");
}

static void test_adaptive(void)
{
	struct decide_svc s = { .strategy = HL_STRAT_MAGLEV };

	health_defaults(&cfg);
	cfg.adaptive = true;
	set(0, HEALTH_HEALTHY, HL_ROLE_ANY, true);
	set(1, HEALTH_HEALTHY, HL_ROLE_ANY, true);
	h[0].has_ema = h[1].has_ema = true;
	h[0].ema_ms = 2;
	h[1].ema_ms = 8;
	dn[0].weight = dn[1].weight = 100;
	CHECK(decide(&s, dn, 2, &cfg, 1), "decide");
	CHECK(dn[0].scale == 1000 && dn[1].scale == 250, "scales %u %u",
	      dn[0].scale, dn[1].scale);
	cfg.adaptive = false;
}

int main(void)
{
	RUN(test_not_probed);
	RUN(test_maglev);
	RUN(test_primary);
	RUN(test_timeline);
	RUN(test_foreign);
	RUN(test_replica);
	RUN(test_adaptive);
	RUN(test_patroni_view);
	RUN(test_no_reads);
	return unit_done();
}
