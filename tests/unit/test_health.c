// SPDX-License-Identifier: GPL-2.0
/* Health FSM, breaker, slow start and backoff, on an injected clock. */
#include <string.h>

#include "agent/health.h"
#include "unit.h"

#define MS 1000000ull

static struct health_cfg cfg;
static struct node_health h;
static __u64 now;

static bool probe(bool ok, __u32 rtt_ms)
{
	struct probe_result r = { .ok = ok, .rtt_us = rtt_ms * 1000 };

	now += cfg.interval_ms * MS;
	return health_probe(&h, &cfg, &r, now);
}

static bool probe_lag(double lag_s)
{
	struct probe_result r = { .ok = true, .rtt_us = 1000, .has_lag = true,
				  .lag_s = lag_s, .role = HL_ROLE_STANDBY };

	now += cfg.interval_ms * MS;
	return health_probe(&h, &cfg, &r, now);
}

static void setup(void)
{
	health_defaults(&cfg);
	now = 1000 * MS;
	health_init(&h, true, now);
}

static void test_fall_and_rise(void)
{
	setup();
	CHECK(!probe(false, 0) && h.state == HEALTH_HEALTHY, "1 failure");
	probe(false, 0);
	CHECK(h.state == HEALTH_HEALTHY, "2 failures: still up (fall 3)");
	CHECK(probe(false, 0) && h.state == HEALTH_UNHEALTHY, "3rd failure: down");
	CHECK(health_scale(&h, &cfg, now) == 0, "no weight when down");
	probe(true, 1);
	CHECK(h.state == HEALTH_UNHEALTHY, "1 success: still down (rise 2)");
	CHECK(probe(true, 1) && h.state != HEALTH_UNHEALTHY, "2nd success: up");
}

static void test_latency(void)
{
	int i;

	setup();
	for (i = 0; i < 20; i++)
		probe(true, 10);
	CHECK(h.state == HEALTH_HEALTHY, "10 ms: healthy (%.1f)", h.ema_ms);
	/* EMA with alpha 0.2: 10 -> 10 + 0.2 * (90 - 10) = 26 after one. */
	probe(true, 90);
	CHECK(h.ema_ms > 25.9 && h.ema_ms < 26.1, "ema %.2f", h.ema_ms);
	for (i = 0; i < 30 && h.state == HEALTH_HEALTHY; i++)
		probe(true, 90);
	CHECK(h.state == HEALTH_DEGRADED && h.ema_ms > 70 && h.ema_ms <= 100,
	      "90 ms: degraded above 70%% of 100 ms (%.1f)", h.ema_ms);
	CHECK(health_scale(&h, &cfg, now) == cfg.degraded_scale, "reduced weight");
	for (i = 0; i < 30 && h.state == HEALTH_DEGRADED; i++)
		probe(true, 150);
	CHECK(h.state == HEALTH_UNHEALTHY && h.ema_ms > 100,
	      "150 ms: unhealthy above threshold (%.1f)", h.ema_ms);
}

static void test_lag(void)
{
	setup();
	probe_lag(0);
	CHECK(h.state == HEALTH_HEALTHY && h.role == HL_ROLE_STANDBY, "no lag");
	probe_lag(6);
	CHECK(h.state == HEALTH_DEGRADED, "6 s: degraded");
	probe_lag(31);
	CHECK(h.state == HEALTH_UNHEALTHY, "31 s: unhealthy");
	probe_lag(0.2);
	CHECK(h.state == HEALTH_HEALTHY, "caught up: healthy");
	cfg.lag_degraded_bytes = 1000;
	cfg.lag_unhealthy_bytes = 100000;
	{
		struct probe_result r = { .ok = true, .has_lag = true,
					  .lag_bytes = 5000 };
		health_probe(&h, &cfg, &r, now += MS);
		CHECK(h.state == HEALTH_DEGRADED, "5000 bytes behind: degraded");
		r.lag_bytes = 200000;
		health_probe(&h, &cfg, &r, now += MS);
		CHECK(h.state == HEALTH_UNHEALTHY, "200 kB behind: unhealthy");
	}
}

static void test_failure_rate(void)
{
	int i;

	setup();
	cfg.fall = 100;		/* isolate the window from fall */
	cfg.breaker_failures = 100;
	for (i = 0; i < 10; i++)
		probe(i % 3 != 0, 1);	/* 4 of 10 fail */
	CHECK(h.state == HEALTH_HEALTHY, "40%% failures: healthy");
	for (i = 0; i < 10; i++)
		probe(i % 3 == 0, 1);	/* 6 of 10 fail */
	CHECK(h.state == HEALTH_DEGRADED, "60%% failures: degraded");
}

static void test_breaker(void)
{
	int i;

	setup();
	cfg.fall = 100;
	cfg.breaker_failures = 3;
	cfg.breaker_open_ms = 5000;
	cfg.breaker_successes = 2;
	health_datapath_failures(&h, &cfg, 2, now);
	CHECK(h.breaker == BREAKER_CLOSED, "2 failures: closed");
	CHECK(health_datapath_failures(&h, &cfg, 1, now), "3rd: change");
	CHECK(h.breaker == BREAKER_OPEN && h.state == HEALTH_TRANSITIONING,
	      "open: transitioning (no new flows)");
	CHECK(health_scale(&h, &cfg, now) == 0, "open: no weight");
	CHECK(!health_tick(&h, &cfg, now + 4999 * MS), "not yet half-open");
	CHECK(health_tick(&h, &cfg, now + 5000 * MS) &&
	      h.breaker == BREAKER_HALF_OPEN, "half-open after the timeout");
	now += 5000 * MS;
	CHECK(health_scale(&h, &cfg, now) == cfg.breaker_trial_scale, "trial weight");
	probe(false, 1);
	CHECK(h.breaker == BREAKER_OPEN, "failure in half-open: open again");
	health_tick(&h, &cfg, now + 5000 * MS);
	now += 5000 * MS;
	for (i = 0; i < 10; i++)
		probe(true, 1);		/* flush failures out of the window */
	CHECK(h.breaker == BREAKER_CLOSED && h.state == HEALTH_HEALTHY,
	      "closed after successes (%s, %s)", breaker_state_name(h.breaker),
	      health_state_name(h.state));
}

/* Adaptive breaker: opens on a failure rate without a run of failures. */
static void test_breaker_error_rate(void)
{
	int i;

	setup();
	cfg.fall = 100;
	cfg.breaker_failures = 100;
	cfg.breaker_error_rate = 0.5;
	for (i = 0; i < 9; i++)
		probe(i % 3 == 0, 1);	/* fails 2 of 3, never 2 in a row */
	CHECK(h.breaker == BREAKER_CLOSED, "window not full yet");
	for (i = 0; i < 3 && h.breaker == BREAKER_CLOSED; i++)
		probe(false, 1);
	CHECK(h.breaker == BREAKER_OPEN, "open on the rate (%s)",
	      breaker_state_name(h.breaker));
}

/* Adaptive weighting's score: slow, failing or overloaded nodes get less. */
static void test_score(void)
{
	int i;

	setup();
	for (i = 0; i < 10; i++)
		probe(true, 10);
	CHECK(health_score(&h, 10, 0, 0) == 1000, "fastest, no failures: full");
	CHECK(health_score(&h, 5, 0, 0) == 500, "twice the fastest's latency: half");
	CHECK(health_score(&h, 1, 0, 0) == 250, "floor at a quarter");
	CHECK(health_score(&h, 10, 0.5, 0.25) == 500, "twice its share of flows: half");
	CHECK(health_score(&h, 10, 0.2, 0.25) == 1000, "under its share: full");
	probe(false, 0);
	probe(false, 0);
	CHECK(health_score(&h, 10, 0, 0) == 800, "20%% failures: 0.8, got %u",
	      health_score(&h, 10, 0, 0));
}

static void test_slow_start(void)
{
	setup();
	cfg.slow_start_ms = 10000;
	health_init(&h, false, now);
	probe(true, 1);
	probe(true, 1);
	CHECK(h.state == HEALTH_HEALTHY, "up");
	CHECK(health_scale(&h, &cfg, now) == 50, "ramp starts small: %u",
	      health_scale(&h, &cfg, now));
	CHECK(health_scale(&h, &cfg, now + 5000 * MS) == 525, "half way: %u",
	      health_scale(&h, &cfg, now + 5000 * MS));
	CHECK(health_scale(&h, &cfg, now + 10000 * MS) == SCALE_FULL, "full");
	/* A node known good at daemon start does not ramp. */
	health_init(&h, true, now);
	CHECK(health_scale(&h, &cfg, now) == SCALE_FULL, "no ramp on restart");
}

static void test_backoff(void)
{
	__u32 d, prev = 0, i, rnd = 7;

	setup();
	CHECK(health_next_delay(&h, &cfg, 0) == cfg.interval_ms, "healthy: interval");
	health_init(&h, false, now);
	for (i = 0; i < 50; i++) {
		rnd = rnd * 1103515245 + 12345;
		d = health_next_delay(&h, &cfg, rnd);
		CHECK(d >= cfg.backoff_base_ms && d <= cfg.interval_ms,
		      "delay %u out of [base, interval]", d);
		CHECK(!prev || d <= 3 * prev || d == cfg.interval_ms,
		      "delay %u grew faster than 3x %u", d, prev);
		prev = d;
	}
	CHECK(prev > cfg.backoff_base_ms, "backs off (%u)", prev);
}

static void test_cfg_check(void)
{
	health_defaults(&cfg);
	CHECK(!health_cfg_check(&cfg), "defaults valid");
	cfg.lag_degraded_s = 40;
	CHECK(health_cfg_check(&cfg) != NULL, "degraded lag above unhealthy");
	health_defaults(&cfg);
	cfg.timeout_ms = 5000;
	CHECK(health_cfg_check(&cfg) != NULL, "timeout above interval");
	health_defaults(&cfg);
	cfg.fall = 0;
	CHECK(health_cfg_check(&cfg) != NULL, "fall 0");
}

int main(void)
{
	RUN(test_fall_and_rise);
	RUN(test_latency);
	RUN(test_lag);
	RUN(test_failure_rate);
	RUN(test_breaker);
	RUN(test_breaker_error_rate);
	RUN(test_score);
	RUN(test_slow_start);
	RUN(test_backoff);
	RUN(test_cfg_check);
	return unit_done();
}
