/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health of one node, as pure functions of probe results and a clock passed
 * in (so tests inject time): rise/fall, latency EMA, replication lag,
 * failure rate, circuit breaker, slow start and re-probe backoff.
 */
#ifndef HELIOS_HEALTH_H
#define HELIOS_HEALTH_H

#include <stdbool.h>
#include <helios/abi.h>

#define HEALTH_WINDOW	10	/* probes in the failure-rate window */
#define SCALE_FULL	1000	/* effective weight is per-mille of configured */

struct health_cfg {
	__u32 interval_ms;		/* 2000 */
	__u32 timeout_ms;		/* 1000 */
	__u32 rise, fall;		/* 2, 3 */
	__u32 latency_ms;		/* 100: Unhealthy above, Degraded above 70% */
	double lag_degraded_s;		/* 5 */
	double lag_unhealthy_s;		/* 30 */
	__u64 lag_degraded_bytes;	/* 0: off */
	__u64 lag_unhealthy_bytes;	/* 0: off */
	double fail_rate;		/* 0.5: Degraded above, over the window */
	__u32 degraded_scale;		/* 500 per-mille */
	__u32 breaker_failures;		/* 5 consecutive: Closed -> Open */
	__u32 breaker_open_ms;		/* 10000 in Open before Half-Open */
	__u32 breaker_successes;	/* 3 in Half-Open: -> Closed */
	__u32 breaker_trial_scale;	/* 100 per-mille while Half-Open */
	double breaker_error_rate;	/* 0: off; else also Open above this
					 * failure rate over the window */
	bool adaptive;			/* scale weights by a score */
	__u32 slow_start_ms;		/* 0: off */
	__u32 backoff_base_ms;		/* 100: first re-probe of a down node */
};

/* The states are the ABI's, so the agent stores them as they are. */
enum health_state {
	HEALTH_HEALTHY		= HL_HEALTH_HEALTHY,
	HEALTH_DEGRADED		= HL_HEALTH_DEGRADED,
	HEALTH_TRANSITIONING	= HL_HEALTH_TRANSITIONING,
	HEALTH_UNHEALTHY	= HL_HEALTH_UNHEALTHY,
};

enum breaker_state {
	BREAKER_CLOSED		= HL_BREAKER_CLOSED,
	BREAKER_OPEN		= HL_BREAKER_OPEN,
	BREAKER_HALF_OPEN	= HL_BREAKER_HALF_OPEN,
};

struct probe_result {
	bool ok;
	__u32 rtt_us;
	__u8 role;		/* enum hl_role; HL_ROLE_ANY if the probe cannot tell */
	bool has_lag;
	double lag_s;
	__u64 lag_bytes;
	__u32 timeline;		/* postgres or Patroni: the server's timeline,
				 * 0 = unknown */
	__u64 sysid;		/* postgres: its system identifier, 0 = unknown */
	/* Patroni's REST API (kind patroni): what its JSON says besides. */
	bool no_reads;		/* tag noloadbalance, or its endpoint said 503 */
	bool nofailover;	/* tag nofailover */
	bool pending_restart;
	/* Patroni, on a replica: HL_POOL_SYNC when Patroni lists it as a
	 * synchronous standby ("sync_standby"), else HL_POOL_ASYNC;
	 * HL_POOL_ANY on a primary or when the probe cannot tell. */
	__u8 pool;
	/* postgres, on a primary: its standbys' pg_stat_replication
	 * sync_state, "ADDR=STATE,..." (workload pools). */
	char sync_states[256];
};

struct node_health {
	enum health_state state;
	enum breaker_state breaker;
	bool reachable;		/* after rise/fall */
	__u32 oks, fails;	/* consecutive probe results */
	double ema_ms;
	bool has_ema;
	bool has_lag;
	double lag_s;
	__u64 lag_bytes;
	__u8 role;		/* last role the probe saw */
	__u32 timeline;		/* and timeline (0 = unknown) */
	__u64 sysid;		/* and system identifier (0 = unknown) */
	__u8 window[HEALTH_WINDOW];	/* 1 = failure */
	__u32 window_len, window_pos;
	__u32 breaker_fails, breaker_oks;
	__u64 breaker_since_ns;
	__u64 state_since_ns;
	__u64 usable_since_ns;	/* slow start ramps from here */
	__u32 backoff_ms;	/* last re-probe delay while down */
};

void health_defaults(struct health_cfg *cfg);
/* Refuses impossible settings; returns a static reason or NULL. */
const char *health_cfg_check(const struct health_cfg *cfg);

void health_init(struct node_health *h, bool reachable, __u64 now_ns);

/* Feed one probe result; returns true when the state or breaker changed. */
bool health_probe(struct node_health *h, const struct health_cfg *cfg,
		  const struct probe_result *res, __u64 now_ns);

/* Failures seen by the data path (retransmitted SYNs, RSTs): breaker input. */
bool health_datapath_failures(struct node_health *h, const struct health_cfg *cfg,
			      __u32 failures, __u64 now_ns);

/* Time-driven changes (Open -> Half-Open); true when something changed. */
bool health_tick(struct node_health *h, const struct health_cfg *cfg,
		 __u64 now_ns);

/* Effective weight in per-mille of the configured weight. */
__u32 health_scale(const struct node_health *h, const struct health_cfg *cfg,
		   __u64 now_ns);

/* Delay before the next probe: the interval, or while down a decorrelated
 * jittered backoff from backoff_base_ms up to the interval. `rnd` is a
 * uniform random 32-bit number. */
__u32 health_next_delay(struct node_health *h, const struct health_cfg *cfg,
			__u32 rnd);

/* Failure rate over the last HEALTH_WINDOW probes (0 until it is full). */
double health_fail_rate(const struct node_health *h);

/* Adaptive weighting: a score in per-mille from the node's latency against
 * the fastest node of its service, its failure rate, and its share of the
 * service's active flows against its share of the weight. */
__u32 health_score(const struct node_health *h, double best_ema_ms,
		   double flow_share, double weight_share);

const char *health_state_name(enum health_state s);
const char *breaker_state_name(enum breaker_state s);

#endif /* HELIOS_HEALTH_H */
