// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: each node's probes (and Patroni's view beside them) on
 * their timers, their results fed to the node's health, and the 1 s sync
 * that follows the maps' node set and moves time-driven changes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/daemon.h"
#include "lib/clock.h"
#include "lib/nodes.h"
#include "lib/parse.h"
#include "lib/services.h"

#define SYNC_MS		1000	/* node-set refresh and time-driven changes */

/* Read-your-writes: the node had replayed every commit older than the
 * probe's start minus its replay lag (hl_node.synced_ms). */
static void synced_save(struct agent_node *an, const struct probe_result *res)
{
	struct agent *a = an->svc->agent;
	__u64 lag_ns = res->role == HL_ROLE_PRIMARY ? 0 : res->lag_s * 1e9;
	__u64 t = an->probe.started_ns > lag_ns ? an->probe.started_ns - lag_ns : 0;
	__u32 ms = t >> 20;

	if (!a->st.nodes)
		return;
	nodes_set_synced(&a->st, a->st.nodes[an->id].svc_id, an->id,
			 ms ? ms : 1);
}

/* The primary's pg_stat_replication ("ADDR=STATE,...") gives the service's
 * standbys their pools: sync and quorum are sync, async and potential are
 * async, a node not listed has none. True when a pool changed. */
static bool pools_from_primary(struct agent_svc *as, const char *states)
{
	struct agent_node *an;
	bool changed = false;

	for (an = as->nodes; an; an = an->next) {
		char addr[ADDR_STRLEN], buf[sizeof(((struct probe_result *)0)->sync_states)];
		char *tok, *save = NULL, *eq;
		__u8 pool = HL_POOL_ANY;

		if (an->h.role == HL_ROLE_PRIMARY)
			continue;
		format_addr(an->probe.addr.family, an->probe.addr.w, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "%s", states);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			eq = strchr(tok, '=');
			if (!eq)
				continue;
			*eq = '\0';
			if (strcmp(tok, addr))
				continue;
			pool = !strcmp(eq + 1, "sync") || !strcmp(eq + 1, "quorum") ?
			       HL_POOL_SYNC : HL_POOL_ASYNC;
			break;
		}
		changed |= an->pool != pool;
		an->pool = pool;
	}
	return changed;
}

static void probe_timer(evutil_socket_t fd, short what, void *arg);

static void probe_done(struct probe *p, const struct probe_result *res)
{
	struct agent_node *an = p->owner;
	struct probe_result r = *res;
	__u8 role = an->h.role;
	__u32 tli = an->h.timeline;
	bool changed;
	__u32 delay;

	an->in_flight = false;
	if (res->ok && res->has_lag)
		synced_save(an, res);
	/* A primary's lag is how far its standbys are behind: theirs to bear. */
	if (r.role == HL_ROLE_PRIMARY)
		r.has_lag = false;
	changed = health_probe(&an->h, &an->svc->conf.health, &r, hl_now_ns());
	changed |= !an->probed || an->last_ok != res->ok ||
		   an->h.role != role || an->h.timeline != tli ||
		   an->no_reads != res->no_reads;
	an->no_reads = res->no_reads;
	if (res->ok && r.role == HL_ROLE_PRIMARY &&
	    an->svc->conf.probe.kind == PROBE_POSTGRES)
		changed |= pools_from_primary(an->svc, res->sync_states);
	/* A patroni check: each replica's own Patroni names its pool
	 * (sync_standby: what Patroni wrote into the primary's
	 * synchronous_standby_names); a primary has none. */
	if (res->ok && an->svc->conf.probe.kind == PROBE_PATRONI) {
		changed |= an->pool != res->pool;
		an->pool = res->pool;
	}
	an->probed = true;
	an->last_ok = res->ok;
	an->last_rtt_us = res->rtt_us;
	an->probes++;
	an->probe_failures += !res->ok;
	if (res->ok)
		an->svc->agent->probes_ok++;
	else
		an->svc->agent->probes_failed++;
	health_save(an);
	/* Steady state writes one health record; the nodes and the table
	 * only change on a transition. */
	if (changed) {
		svc_commit(an->svc);
		announce_sync(an->svc->agent);	/* at once, not at the sync */
	}
	delay = health_next_delay(&an->h, &an->svc->conf.health,
				  agent_random(an->svc->agent));
	timer_in(an->timer, delay);
}

static void probe_timer(evutil_socket_t fd, short what, void *arg)
{
	struct agent_node *an = arg;
	struct probe_result fail = {};

	if (an->in_flight)
		return;
	an->in_flight = true;
	if (an->probe.ops->start(&an->probe)) {
		an->in_flight = false;
		probe_done(&an->probe, &fail);
	}
}

/* Patroni's view of a node beside its postgres check (patroni_port). */
static void pat_done(struct probe *p, const struct probe_result *res)
{
	struct agent_node *an = p->owner;
	__u8 view = !res->ok ? PATRONI_UNKNOWN :
		    res->role == HL_ROLE_PRIMARY ? PATRONI_PRIMARY : PATRONI_OTHER;

	an->pat_in_flight = false;
	if (view != an->patroni) {
		an->patroni = view;
		health_save(an);
		svc_commit(an->svc);
	}
	timer_in(an->pat_timer, health_next_delay(&an->h, &an->svc->conf.health,
						  agent_random(an->svc->agent)));
}

static void pat_timer(evutil_socket_t fd, short what, void *arg)
{
	struct agent_node *an = arg;
	struct probe_result fail = {};

	if (an->pat_in_flight || !an->svc->conf.patroni_port)
		return;
	an->pat_in_flight = true;
	if (an->pat.ops->start(&an->pat)) {
		an->pat_in_flight = false;
		pat_done(&an->pat, &fail);
	}
}

static struct agent_node *node_new(struct agent_svc *as, __u32 id,
				   const struct hl_node *n)
{
	struct agent *a = as->agent;
	struct agent_node *an = calloc(1, sizeof(*an));

	if (!an)
		return NULL;
	an->svc = as;
	an->id = id;
	an->probe.ops = probe_ops_for(as->conf.probe.kind);
	an->probe.base = a->base;
	an->probe.addr.family = n->family;
	memcpy(an->probe.addr.w, n->addr, sizeof(n->addr));
	an->probe.cfg = &as->conf.probe;
	an->probe.done = probe_done;
	an->probe.owner = an;
	an->pat = an->probe;
	an->pat.ops = &probe_patroni_ops;
	an->pat.cfg = &as->conf.patroni_probe;
	an->pat.done = pat_done;
	an->timer = evtimer_new(a->base, probe_timer, an);
	an->pat_timer = evtimer_new(a->base, pat_timer, an);
	if (!an->timer || !an->pat_timer) {
		if (an->timer)
			event_free(an->timer);
		free(an);
		return NULL;
	}
	health_resume(an);
	an->ev_state = an->h.state;
	an->ev_role = an->h.role;
	an->ev_breaker = an->h.breaker;
	an->pool = n->eff_pool;		/* until the probes say again */
	datapath_trouble(an, hl_now_ns());	/* counts from here on */
	an->logged_flags = n->flags & (HL_NODE_F_DEGRADED | HL_NODE_F_TRANSITIONING |
				       HL_NODE_F_UNHEALTHY | HL_NODE_F_AGENT);
	/* Start-up jitter: spread the first probes over one interval. */
	timer_in(an->timer, agent_random(a) % as->conf.health.interval_ms);
	if (as->conf.patroni_port)
		timer_in(an->pat_timer, agent_random(a) % as->conf.health.interval_ms);
	an->next = as->nodes;
	as->nodes = an;
	return an;
}

void node_free(struct agent_node *an)
{
	an->probe.ops->cancel(&an->probe);	/* also drops kept connections */
	an->pat.ops->cancel(&an->pat);
	event_free(an->timer);
	event_free(an->pat_timer);
	free(an);
}

/* Follow the maps: nodes added or removed with the CLI are picked up here. */
static void svc_sync(struct agent_svc *as)
{
	struct agent *a = as->agent;
	struct agent_node *an, **pp;
	struct hl_service svc;
	__u32 i;

	if (!as->conf.has_check || svc_find(&a->st, &as->conf.key, &svc))
		svc.id = ~0u;	/* gone, or not probed: no nodes to probe */
	for (an = as->nodes; an; an = an->next)
		an->seen = false;
	for (i = 0; svc.id != ~0u && i < HL_MAX_NODES; i++) {
		const struct hl_node *n = &a->st.nodes[i];

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc.id)
			continue;
		for (an = as->nodes; an; an = an->next)
			if (an->id == i && !memcmp(an->probe.addr.w, n->addr,
						   sizeof(n->addr)))
				break;
		if (!an)
			an = node_new(as, i, n);
		if (an)
			an->seen = true;
	}
	for (pp = &as->nodes; *pp;) {
		an = *pp;
		if (an->seen) {
			pp = &an->next;
			continue;
		}
		*pp = an->next;
		node_free(an);
	}
}

/* How late the loop ran the sync timer: the agent's own health. */
static void loop_lag(struct agent *a, __u64 now)
{
	if (!a->sync_due_ns)
		return;
	a->lag_s = now > a->sync_due_ns ? (now - a->sync_due_ns) / 1e9 : 0;
	if (now - a->lag_window_ns > 60 * 1000000000ull) {
		a->lag_prev_max_s = a->lag_max_s;
		a->lag_max_s = 0;
		a->lag_window_ns = now;
	}
	if (a->lag_s > a->lag_max_s)
		a->lag_max_s = a->lag_s;
}

void sync_all(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct agent_node *an;
	unsigned int i;
	__u64 now = hl_now_ns();

	loop_lag(a, now);
	if (!store_lock(&a->st, false)) {
		if (!nodes_load(&a->st))
			for (i = 0; i < a->nsvcs; i++)
				svc_sync(&a->svcs[i]);
		store_unlock(&a->st);
	}
	/* Time moves breakers and slow starts on, and ends holds. */
	for (i = 0; i < a->nsvcs; i++) {
		if (!a->svcs[i].conf.has_check)
			continue;	/* the file's settings only */
		for (an = a->svcs[i].nodes; an; an = an->next) {
			health_tick(&an->h, &a->svcs[i].conf.health, now);
			datapath_trouble(an, now);
		}
		svc_commit(&a->svcs[i]);
	}
	a->sync_due_ns = hl_now_ns() + SYNC_MS * 1000000ull;
	announce_sync(a);
	timer_in(a->sync, SYNC_MS);
}
