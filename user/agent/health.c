// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "agent/health.h"

#define NS_PER_MS		1000000ull
#define SLOW_START_FLOOR	50	/* per-mille a ramp starts from */
#define LATENCY_ALPHA		0.2
#define DEGRADED_LATENCY	0.7	/* of the latency threshold */

void health_defaults(struct health_cfg *cfg)
{
	*cfg = (struct health_cfg){
		.interval_ms = 2000,
		.timeout_ms = 1000,
		.rise = 2,
		.fall = 3,
		.latency_ms = 100,
		.lag_degraded_s = 5,
		.lag_unhealthy_s = 30,
		.fail_rate = 0.5,
		.degraded_scale = 500,
		.breaker_failures = 5,
		.breaker_open_ms = 10000,
		.breaker_successes = 3,
		.breaker_trial_scale = 100,
		.backoff_base_ms = 100,
	};
}

const char *health_cfg_check(const struct health_cfg *cfg)
{
	if (!cfg->interval_ms || !cfg->timeout_ms)
		return "interval and timeout must be above 0";
	if (cfg->timeout_ms > cfg->interval_ms)
		return "timeout must not exceed the interval";
	if (!cfg->rise || !cfg->fall)
		return "rise and fall must be at least 1";
	if (!cfg->latency_ms)
		return "latency threshold must be above 0";
	if (cfg->lag_degraded_s < 0 || cfg->lag_degraded_s > cfg->lag_unhealthy_s)
		return "degraded lag must be between 0 and the unhealthy lag";
	if (cfg->lag_unhealthy_bytes &&
	    cfg->lag_degraded_bytes > cfg->lag_unhealthy_bytes)
		return "degraded lag bytes must not exceed the unhealthy lag bytes";
	if (cfg->fail_rate <= 0 || cfg->fail_rate > 1)
		return "failure rate threshold must be in (0, 1]";
	if (cfg->degraded_scale > SCALE_FULL || cfg->breaker_trial_scale > SCALE_FULL)
		return "scales are per-mille, at most 1000";
	if (!cfg->breaker_failures || !cfg->breaker_successes)
		return "breaker thresholds must be at least 1";
	if (cfg->breaker_error_rate < 0 || cfg->breaker_error_rate > 1)
		return "breaker error rate must be in [0, 1]";
	if (!cfg->backoff_base_ms || cfg->backoff_base_ms > cfg->interval_ms)
		return "backoff base must be between 1 ms and the interval";
	return NULL;
}

void health_init(struct node_health *h, bool reachable, __u64 now_ns)
{
	memset(h, 0, sizeof(*h));
	h->reachable = reachable;
	h->state = reachable ? HEALTH_HEALTHY : HEALTH_UNHEALTHY;
	h->state_since_ns = now_ns;
	/* Known-good nodes do not ramp again after a daemon restart. */
	h->usable_since_ns = 0;
}

double health_fail_rate(const struct node_health *h)
{
	unsigned int i, fails = 0;

	/* Judge a rate only over a full window, not one or two probes. */
	if (h->window_len < HEALTH_WINDOW)
		return 0;
	for (i = 0; i < HEALTH_WINDOW; i++)
		fails += h->window[i];
	return (double)fails / HEALTH_WINDOW;
}

static enum health_state compute_state(const struct node_health *h,
				       const struct health_cfg *cfg)
{
	bool lag_bytes_on = cfg->lag_unhealthy_bytes || cfg->lag_degraded_bytes;

	if (!h->reachable)
		return HEALTH_UNHEALTHY;
	if (h->has_ema && h->ema_ms > cfg->latency_ms)
		return HEALTH_UNHEALTHY;
	if (h->has_lag && h->lag_s > cfg->lag_unhealthy_s)
		return HEALTH_UNHEALTHY;
	if (h->has_lag && cfg->lag_unhealthy_bytes &&
	    h->lag_bytes > cfg->lag_unhealthy_bytes)
		return HEALTH_UNHEALTHY;
	if (h->breaker == BREAKER_OPEN)
		return HEALTH_TRANSITIONING;
	if (h->has_ema && h->ema_ms > DEGRADED_LATENCY * cfg->latency_ms)
		return HEALTH_DEGRADED;
	if (h->has_lag && h->lag_s > cfg->lag_degraded_s)
		return HEALTH_DEGRADED;
	if (h->has_lag && lag_bytes_on && cfg->lag_degraded_bytes &&
	    h->lag_bytes > cfg->lag_degraded_bytes)
		return HEALTH_DEGRADED;
	if (health_fail_rate(h) > cfg->fail_rate || h->breaker == BREAKER_HALF_OPEN)
		return HEALTH_DEGRADED;
	return HEALTH_HEALTHY;
}

static bool usable(enum health_state s)
{
	return s == HEALTH_HEALTHY || s == HEALTH_DEGRADED;
}

/* Recompute the state; returns true on a change. */
static bool settle(struct node_health *h, const struct health_cfg *cfg,
		   __u64 now_ns, enum breaker_state old_breaker)
{
	enum health_state s = compute_state(h, cfg);

	if (s == h->state)
		return h->breaker != old_breaker;
	if (usable(s) && !usable(h->state))
		h->usable_since_ns = now_ns;
	h->state = s;
	h->state_since_ns = now_ns;
	return true;
}

static void breaker_event(struct node_health *h, const struct health_cfg *cfg,
			  bool ok, __u64 now_ns)
{
	switch (h->breaker) {
	case BREAKER_CLOSED:
		h->breaker_fails = ok ? 0 : h->breaker_fails + 1;
		/* Adaptive variant: also a failure rate, which catches a node
		 * that fails often without failing many times in a row. */
		if (h->breaker_fails >= cfg->breaker_failures ||
		    (cfg->breaker_error_rate &&
		     health_fail_rate(h) > cfg->breaker_error_rate)) {
			h->breaker = BREAKER_OPEN;
			h->breaker_since_ns = now_ns;
		}
		break;
	case BREAKER_OPEN:
		break;	/* only time moves it on */
	case BREAKER_HALF_OPEN:
		if (!ok) {
			h->breaker = BREAKER_OPEN;
			h->breaker_since_ns = now_ns;
		} else if (++h->breaker_oks >= cfg->breaker_successes) {
			h->breaker = BREAKER_CLOSED;
			h->breaker_fails = 0;
			h->breaker_since_ns = now_ns;
		}
		break;
	}
}

bool health_probe(struct node_health *h, const struct health_cfg *cfg,
		  const struct probe_result *res, __u64 now_ns)
{
	enum breaker_state old_breaker = h->breaker;

	if (res->ok) {
		h->fails = 0;
		if (++h->oks >= cfg->rise)
			h->reachable = true;
		h->ema_ms = h->has_ema ? LATENCY_ALPHA * res->rtt_us / 1000.0 +
					 (1 - LATENCY_ALPHA) * h->ema_ms :
					 res->rtt_us / 1000.0;
		h->has_ema = true;
		h->role = res->role;
		h->timeline = res->timeline;
		h->sysid = res->sysid;
		h->has_lag = res->has_lag;
		h->lag_s = res->lag_s;
		h->lag_bytes = res->lag_bytes;
	} else {
		h->oks = 0;
		if (++h->fails >= cfg->fall)
			h->reachable = false;
	}
	h->window[h->window_pos] = !res->ok;
	h->window_pos = (h->window_pos + 1) % HEALTH_WINDOW;
	if (h->window_len < HEALTH_WINDOW)
		h->window_len++;
	breaker_event(h, cfg, res->ok, now_ns);
	return settle(h, cfg, now_ns, old_breaker);
}

bool health_datapath_failures(struct node_health *h, const struct health_cfg *cfg,
			      __u32 failures, __u64 now_ns)
{
	enum breaker_state old_breaker = h->breaker;

	while (failures--)
		breaker_event(h, cfg, false, now_ns);
	return settle(h, cfg, now_ns, old_breaker);
}

bool health_tick(struct node_health *h, const struct health_cfg *cfg,
		 __u64 now_ns)
{
	enum breaker_state old_breaker = h->breaker;

	if (h->breaker == BREAKER_OPEN &&
	    now_ns - h->breaker_since_ns >= cfg->breaker_open_ms * NS_PER_MS) {
		h->breaker = BREAKER_HALF_OPEN;
		h->breaker_oks = 0;
		h->breaker_since_ns = now_ns;
	}
	return settle(h, cfg, now_ns, old_breaker);
}

__u32 health_scale(const struct node_health *h, const struct health_cfg *cfg,
		   __u64 now_ns)
{
	__u32 scale = SCALE_FULL;

	if (!usable(h->state))
		return 0;
	if (h->state == HEALTH_DEGRADED)
		scale = cfg->degraded_scale;
	if (h->breaker == BREAKER_HALF_OPEN && cfg->breaker_trial_scale < scale)
		scale = cfg->breaker_trial_scale;
	if (cfg->slow_start_ms && h->usable_since_ns &&
	    now_ns - h->usable_since_ns < cfg->slow_start_ms * NS_PER_MS) {
		__u64 elapsed = now_ns - h->usable_since_ns;
		__u32 ramp = SLOW_START_FLOOR + (SCALE_FULL - SLOW_START_FLOOR) *
			     elapsed / (cfg->slow_start_ms * NS_PER_MS);

		if (ramp < scale)
			scale = ramp;
	}
	return scale;
}

__u32 health_next_delay(struct node_health *h, const struct health_cfg *cfg,
			__u32 rnd)
{
	__u64 lo = cfg->backoff_base_ms, hi;

	if (h->reachable && h->state != HEALTH_UNHEALTHY) {
		h->backoff_ms = 0;
		return cfg->interval_ms;
	}
	/* Decorrelated jitter: uniform in [base, 3 * previous], capped. */
	hi = h->backoff_ms ? 3ull * h->backoff_ms : lo;
	if (hi < lo)
		hi = lo;
	h->backoff_ms = lo + rnd % (hi - lo + 1);
	if (h->backoff_ms > cfg->interval_ms)
		h->backoff_ms = cfg->interval_ms;
	return h->backoff_ms;
}

__u32 health_score(const struct node_health *h, double best_ema_ms,
		   double flow_share, double weight_share)
{
	double score = 1;

	/* Twice as slow as the fastest: half the weight (not below 1/4). */
	if (h->has_ema && h->ema_ms > 0 && best_ema_ms > 0)
		score *= best_ema_ms / h->ema_ms < 0.25 ? 0.25 : best_ema_ms / h->ema_ms;
	score *= 1 - health_fail_rate(h);
	/* Holding more than its share of the flows: less of the new ones. */
	if (weight_share > 0 && flow_share > weight_share)
		score *= weight_share / flow_share < 0.5 ? 0.5 : weight_share / flow_share;
	if (score > 1)
		score = 1;
	return score * SCALE_FULL + 0.5;
}

const char *health_state_name(enum health_state s)
{
	static const char *const names[] = {
		[HEALTH_HEALTHY] = "healthy",
		[HEALTH_DEGRADED] = "degraded",
		[HEALTH_TRANSITIONING] = "transitioning",
		[HEALTH_UNHEALTHY] = "unhealthy",
	};

	return s <= HEALTH_UNHEALTHY ? names[s] : "?";
}

const char *breaker_state_name(enum breaker_state s)
{
	static const char *const names[] = {
		[BREAKER_CLOSED] = "closed",
		[BREAKER_OPEN] = "open",
		[BREAKER_HALF_OPEN] = "half-open",
	};

	return s <= BREAKER_HALF_OPEN ? names[s] : "?";
}
