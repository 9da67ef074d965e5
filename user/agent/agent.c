// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: probe every node of the configured services from one
 * libevent loop and write the verdicts (effective flags and weights, the
 * hold flag) into the pinned maps. The maps stay the single source of truth:
 * the agent can be killed at any time and resumes from them; operators'
 * admin writes (weight, role, zone) are never overwritten.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <event2/event.h>

#include "agent/agent.h"
#include "agent/announce.h"
#include "agent/config.h"
#include "agent/decide.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/conns.h"
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/services.h"
#include "lib/tables.h"

#define SYNC_MS		1000	/* node-set refresh and time-driven changes */

struct agent;

struct agent_node {
	struct agent_svc *svc;
	__u32 id;
	struct probe probe;
	struct node_health h;
	struct event *timer;
	bool probed, last_ok, in_flight, seen;
	__u64 trouble;			/* data-path SYN retransmits + RSTs seen */
	__u32 last_rtt_us;
	__u32 scale;			/* last decided, per-mille */
	bool ineligible;		/* last decided */
	__u32 logged_flags;		/* to log transitions only */
	struct agent_node *next;
};

struct agent_svc {
	struct agent *agent;
	struct svc_conf conf;
	struct agent_node *nodes;
	bool holding;
	bool hold_expired;	/* logged once */
	int announced;		/* -1 unknown, else its VIP announced (logged) */
	__u64 hold_since_ns;
};

struct agent {
	struct event_base *base;
	struct store st;
	const char *conf_path;
	struct agent_conf conf;
	struct agent_svc *svcs;
	unsigned int nsvcs;
	struct event *sync;
	__u64 rnd;
	struct announcer bgp;	/* with a bgp group */
	bool bgp_on;
	struct event *drain;	/* stopping: the wait after the withdrawal */
};

static void log_msg(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(level, "debug") && !verbose)
		return;
	fprintf(stderr, "%s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static __u32 agent_random(struct agent *a)
{
	/* xorshift64*: jitter only, not security */
	a->rnd ^= a->rnd >> 12;
	a->rnd ^= a->rnd << 25;
	a->rnd ^= a->rnd >> 27;
	return (a->rnd * 0x2545f4914f6cdd1dull) >> 32;
}

static void timer_in(struct event *ev, __u32 ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* ---- the health map ---------------------------------------------------- */

static void health_save(struct agent_node *an)
{
	const struct node_health *h = &an->h;
	struct hl_health rec = {
		.state = h->state,
		.breaker = h->breaker,
		.role = h->role,
		.flags = HL_HEALTH_F_VALID | (an->last_ok ? HL_HEALTH_F_LAST_OK : 0) |
			 (an->ineligible ? HL_HEALTH_F_INELIGIBLE : 0) |
			 (h->has_lag ? HL_HEALTH_F_HAS_LAG : 0),
		.rtt_us = an->last_rtt_us,
		.ema_us = h->ema_ms * 1000,
		.lag_ms = h->lag_s * 1000,
		.scale = an->scale,
		.lag_bytes = h->lag_bytes,
		.state_since_ns = h->state_since_ns,
		.last_probe_ns = hl_now_ns(),
	};

	bpf_map_update_elem(an->svc->agent->st.fds[MAP_HEALTH], &an->id, &rec, BPF_ANY);
}

/* Carry a node's judgement over a restart of the agent. */
static void health_resume(struct agent_node *an)
{
	struct hl_health rec;

	health_init(&an->h, true, hl_now_ns());
	if (bpf_map_lookup_elem(an->svc->agent->st.fds[MAP_HEALTH], &an->id, &rec) ||
	    !(rec.flags & HL_HEALTH_F_VALID))
		return;
	an->h.state = rec.state;
	an->h.breaker = rec.breaker;
	an->h.reachable = rec.state != HEALTH_UNHEALTHY;
	an->h.role = rec.role;
	an->h.ema_ms = rec.ema_us / 1000.0;
	an->h.has_ema = rec.ema_us > 0;
	an->h.has_lag = rec.flags & HL_HEALTH_F_HAS_LAG;
	an->h.lag_s = rec.lag_ms / 1000.0;
	an->h.lag_bytes = rec.lag_bytes;
	an->h.state_since_ns = rec.state_since_ns;
	an->h.breaker_since_ns = hl_now_ns();
	an->last_ok = rec.flags & HL_HEALTH_F_LAST_OK;
	an->last_rtt_us = rec.rtt_us;
	an->scale = rec.scale;
	an->probed = true;
}

/* ---- committing a service ---------------------------------------------- */

static void log_node_change(struct agent_node *an, const struct hl_node *n,
			    __u32 flags, __u32 scale, bool ineligible)
{
	char addr[ADDR_STRLEN];

	if (flags == an->logged_flags)
		return;
	an->logged_flags = flags;
	log_msg("info", "%s node %s: %s%s (role %s, weight %u%%)",
		an->svc->conf.name, format_addr(n->family, n->addr, addr, sizeof(addr)),
		health_state_name(an->h.state), ineligible ? ", not eligible here" : "",
		role_name(an->h.role), scale / 10);
}

/* Decide the service's effective state and write what changed, under the
 * writers' lock; the table is rebuilt and swapped only when needed. */
static void svc_commit(struct agent_svc *as)
{
	struct agent *a = as->agent;
	struct decide_svc ds = { .strategy = as->conf.strategy,
				 .fallback_primary = as->conf.fallback_primary };
	struct decide_node dn[HL_MAX_NODES < 4096 ? HL_MAX_NODES : 4096];
	struct node_effective eff[sizeof(dn) / sizeof(dn[0])];
	struct agent_node *an;
	struct hl_service svc;
	unsigned int n = 0, i;
	bool hold;
	__u64 now = hl_now_ns();

	for (an = as->nodes; an && n < sizeof(dn) / sizeof(dn[0]); an = an->next) {
		__s64 active = 0;

		dn[n] = (struct decide_node){ .h = &an->h, .probed = an->probed,
					      .last_ok = an->last_ok };
		if (as->conf.health.adaptive) {
			if (a->st.nodes)
				dn[n].weight = a->st.nodes[an->id].weight;
			if (!bpf_map_lookup_elem(a->st.fds[MAP_NODE_ACTIVE], &an->id,
						 &active) && active > 0)
				dn[n].active = active;
		}
		n++;
	}
	if (!decide(&ds, dn, n, &as->conf.health, now) ||
	    svc_find(&a->st, &as->conf.key, &svc))
		return;

	/* Hold new flows while there is no single primary, for at most hold. */
	if (ds.hold && !as->holding) {
		as->holding = true;
		as->hold_since_ns = now;
		log_msg("warn", "%s: %s primary: holding new connections",
			as->conf.name, ds.primary == -2 ? "more than one" : "no");
	} else if (!ds.hold && as->holding) {
		as->holding = false;
		log_msg("info", "%s: single primary confirmed after %llu ms",
			as->conf.name,
			(unsigned long long)(now - as->hold_since_ns) / 1000000);
	}
	hold = ds.hold && now - as->hold_since_ns < as->conf.hold_ms * 1000000ull;
	if (ds.hold && !hold && !as->hold_expired)
		log_msg("warn", "%s: hold time over, refusing new connections",
			as->conf.name);
	as->hold_expired = ds.hold && !hold;
	if (svc_set_flags(&a->st, &as->conf.key, HL_SVC_F_HOLD | HL_SVC_F_RESET,
			  (hold ? HL_SVC_F_HOLD : 0) |
			  (as->conf.reset_on_down ? HL_SVC_F_RESET : 0)))
		return;

	for (an = as->nodes, i = 0; an && i < n; an = an->next, i++) {
		eff[i] = (struct node_effective){ .id = an->id,
			.flags = dn[i].flags | HL_NODE_F_AGENT,
			.scale = dn[i].scale, .role = an->h.role };
		if (an->scale != dn[i].scale || an->ineligible != dn[i].ineligible) {
			an->scale = dn[i].scale;
			an->ineligible = dn[i].ineligible;
			health_save(an);
		}
	}
	if (nodes_set_effective(&a->st, svc.id, eff, n) < 0) {
		log_msg("error", "%s: cannot write the nodes' state: %s",
			as->conf.name, hl_errmsg());
		return;
	}
	for (an = as->nodes, i = 0; an && i < n; an = an->next, i++) {
		const struct hl_node *node = &a->st.nodes[an->id];

		if ((node->flags & HL_NODE_F_EXISTS) && node->svc_id == svc.id)
			log_node_change(an, node, eff[i].flags, dn[i].scale,
					dn[i].ineligible);
	}
}

/* The data path's view of a node in trouble (retransmitted SYNs, client
 * RSTs) since the last look: input for its circuit breaker. */
static bool datapath_trouble(struct agent_node *an, __u64 now)
{
	struct hl_counters c;
	__u64 total, delta;

	if (counters_read(&an->svc->agent->st, MAP_NODE_STATS, an->id, &c))
		return false;
	total = c.syn_retrans + c.rsts;
	delta = total > an->trouble ? total - an->trouble : 0;
	an->trouble = total;
	if (!delta || !an->probed)
		return false;
	return health_datapath_failures(&an->h, &an->svc->conf.health,
					delta > 1000 ? 1000 : delta, now);
}

/* ---- BGP announcements ------------------------------------------------- */

static bool svc_has_usable(const struct agent *a, __u32 svc_id)
{
	__u32 i;

	for (i = 0; a->st.nodes && i < HL_MAX_NODES; i++)
		if ((a->st.nodes[i].flags & HL_NODE_F_EXISTS) &&
		    a->st.nodes[i].svc_id == svc_id &&
		    node_table_weight(&a->st.nodes[i]))
			return true;
	return false;
}

static const char *withdraw_reason(const struct agent *a,
				   const struct hl_service *svc)
{
	if (a->drain)
		return "the agent is stopping";
	if (svc->opts & HL_SVC_O_NO_ANNOUNCE)
		return "announce off";
	return svc_has_usable(a, svc->id) ? NULL : "no usable node";
}

/*
 * Announce the VIP of every service with a usable node (and announce on),
 * withdraw the others. A VIP shared by several services (other ports) is
 * announced while one of them is. The services' HL_SVC_F_BGP* flags tell
 * `health` what happened.
 */
static void announce_sync(struct agent *a)
{
	struct ip_addr *vips;
	unsigned int n = 0, i, j;
	bool healthy;
	int err;

	if (!a->bgp_on)
		return;
	vips = calloc(a->nsvcs ? a->nsvcs : 1, sizeof(*vips));
	if (!vips)
		return;
	for (i = 0; i < a->nsvcs; i++) {
		const struct hl_svc_key *k = &a->svcs[i].conf.key;
		struct ip_addr v = { .family = k->family };
		struct hl_service svc;

		if (svc_find(&a->st, k, &svc) || withdraw_reason(a, &svc))
			continue;
		memcpy(v.w, k->vip, sizeof(v.w));
		for (j = 0; j < n && memcmp(&vips[j], &v, sizeof(v)); j++)
			;
		if (j == n)
			vips[n++] = v;
	}
	err = announce_set(&a->bgp, vips, n);
	healthy = announce_healthy(&a->bgp);
	for (i = 0; i < a->nsvcs; i++) {
		struct agent_svc *as = &a->svcs[i];
		const struct hl_svc_key *k = &as->conf.key;
		struct hl_service svc;
		bool on = false;

		if (svc_find(&a->st, k, &svc))
			continue;
		for (j = 0; !err && j < n; j++)
			on |= vips[j].family == k->family &&
			      !memcmp(vips[j].w, k->vip, sizeof(vips[j].w));
		if (as->announced != on) {
			const char *why = withdraw_reason(a, &svc);

			if (on)
				log_msg("info", "%s: VIP announced", as->conf.name);
			else
				log_msg(as->announced < 0 ? "info" : "warn",
					"%s: VIP not announced: %s", as->conf.name,
					why ? why : err ? "BIRD did not take it" :
					"another service's VIP");
			as->announced = on;
		}
		svc_set_flags(&a->st, k, HL_SVC_F_BGP | HL_SVC_F_ANNOUNCED |
			      HL_SVC_F_BGP_DOWN, HL_SVC_F_BGP |
			      (on ? HL_SVC_F_ANNOUNCED : 0) |
			      (healthy ? 0 : HL_SVC_F_BGP_DOWN));
	}
	free(vips);
}

static void bgp_start(struct agent *a)
{
	unsigned int i;

	if (a->bgp_on || !a->conf.has_bgp)
		return;
	for (i = 0; i < a->nsvcs; i++)
		a->svcs[i].announced = -1;
	if (announce_init(&a->bgp, a->base, &a->conf.bgp, log_msg))
		log_msg("error", "bgp: cannot start: out of memory");
	else
		a->bgp_on = true;
}

/* The bgp group is gone from the file: withdraw, and let go. */
static void bgp_stop(struct agent *a)
{
	unsigned int i;

	if (!a->bgp_on)
		return;
	announce_set(&a->bgp, NULL, 0);
	announce_free(&a->bgp);
	a->bgp_on = false;
	for (i = 0; i < a->nsvcs; i++)
		svc_set_flags(&a->st, &a->svcs[i].conf.key, HL_SVC_F_BGP |
			      HL_SVC_F_ANNOUNCED | HL_SVC_F_BGP_DOWN, 0);
	log_msg("info", "bgp: no bgp group any more: every VIP withdrawn");
}

/* ---- probing ----------------------------------------------------------- */

static void probe_timer(evutil_socket_t fd, short what, void *arg);

static void probe_done(struct probe *p, const struct probe_result *res)
{
	struct agent_node *an = p->owner;
	struct probe_result r = *res;
	bool changed;
	__u32 delay;

	an->in_flight = false;
	/* A primary's lag is how far its standbys are behind: theirs to bear. */
	if (r.role == HL_ROLE_PRIMARY)
		r.has_lag = false;
	changed = health_probe(&an->h, &an->svc->conf.health, &r, hl_now_ns());
	changed |= !an->probed || an->last_ok != res->ok;
	an->probed = true;
	an->last_ok = res->ok;
	an->last_rtt_us = res->rtt_us;
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
	an->timer = evtimer_new(a->base, probe_timer, an);
	if (!an->timer) {
		free(an);
		return NULL;
	}
	health_resume(an);
	datapath_trouble(an, hl_now_ns());	/* counts from here on */
	an->logged_flags = n->flags & (HL_NODE_F_DEGRADED | HL_NODE_F_TRANSITIONING |
				       HL_NODE_F_UNHEALTHY | HL_NODE_F_AGENT);
	/* Start-up jitter: spread the first probes over one interval. */
	timer_in(an->timer, agent_random(a) % as->conf.health.interval_ms);
	an->next = as->nodes;
	as->nodes = an;
	return an;
}

static void node_free(struct agent_node *an)
{
	an->probe.ops->cancel(&an->probe);	/* also drops kept connections */
	event_free(an->timer);
	free(an);
}

/* Follow the maps: nodes added or removed with the CLI are picked up here. */
static void svc_sync(struct agent_svc *as)
{
	struct agent *a = as->agent;
	struct agent_node *an, **pp;
	struct hl_service svc;
	__u32 i;

	if (svc_find(&a->st, &as->conf.key, &svc))
		svc.id = ~0u;	/* gone: drop every node */
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

static void sync_all(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct agent_node *an;
	unsigned int i;
	__u64 now = hl_now_ns();

	if (!store_lock(&a->st, false)) {
		if (!nodes_load(&a->st))
			for (i = 0; i < a->nsvcs; i++)
				svc_sync(&a->svcs[i]);
		store_unlock(&a->st);
	}
	/* Time moves breakers and slow starts on, and ends holds. */
	for (i = 0; i < a->nsvcs; i++) {
		for (an = a->svcs[i].nodes; an; an = an->next) {
			health_tick(&an->h, &a->svcs[i].conf.health, now);
			datapath_trouble(an, now);
		}
		svc_commit(&a->svcs[i]);
	}
	announce_sync(a);
	timer_in(a->sync, SYNC_MS);
}

/* ---- configuration: what the file declares, the maps get --------------- */

static const struct node_conf *find_node_conf(const struct svc_conf *sc,
					      const struct ip_addr *addr)
{
	unsigned int i;

	for (i = 0; sc && i < sc->nnodes; i++)
		if (!memcmp(&sc->nodes[i].addr, addr, sizeof(*addr)))
			return &sc->nodes[i];
	return NULL;
}

static const struct svc_conf *find_svc_conf(const struct agent_conf *conf,
					    const struct hl_svc_key *key)
{
	unsigned int i;

	for (i = 0; conf && i < conf->nsvcs; i++)
		if (!memcmp(&conf->svcs[i].key, key, sizeof(*key)))
			return &conf->svcs[i];
	return NULL;
}

/*
 * A write or read service gets the matching table strategy too, so that
 * the table itself holds only nodes of the right role (the role the probes
 * found, or the operator's hint): before the first probe result, a write
 * service then has no node to send a write to, rather than all of them.
 * The file's forwarding mode (fwd), scaleout and announce are applied
 * here as well.
 * Returns true when `svc` changed.
 */
static bool role_strategy(const struct svc_conf *sc, struct hl_service *svc)
{
	__u8 strategy = sc->strategy != HL_STRAT_MAGLEV ? sc->strategy :
			svc->strategy;	/* maglev in the file: the CLI's choice */
	__u32 opts = sc->strategy != HL_STRAT_REPLICA ? svc->opts :
		     sc->fallback_primary ? svc->opts | HL_SVC_O_FALLBACK_PRIMARY :
		     svc->opts & ~HL_SVC_O_FALLBACK_PRIMARY;
	/* ipip in the file (the default): the CLI's choice, as maglev */
	__u8 fwd = sc->fwd != HL_FWD_IPIP ? sc->fwd : svc->fwd;
	bool changed;

	if (sc->has_scaleout)
		opts = sc->scaleout ? opts | HL_SVC_O_SCALEOUT :
		       opts & ~HL_SVC_O_SCALEOUT;
	if (sc->has_announce)
		opts = sc->announce ? opts & ~HL_SVC_O_NO_ANNOUNCE :
		       opts | HL_SVC_O_NO_ANNOUNCE;
	changed = strategy != svc->strategy || opts != svc->opts ||
		  fwd != svc->fwd;

	svc->strategy = strategy;
	svc->opts = opts;
	svc->fwd = fwd;
	return changed;
}

/* Admin writes for the difference between `old` (NULL at start) and `new`:
 * declared services and nodes are created, removed ones deleted, changed
 * settings set. Nodes the change does not name are not touched, so their
 * flows, and what operators set with the CLI, stay as they are. */
static int apply_config(struct agent *a, const struct agent_conf *old,
			const struct agent_conf *new)
{
	unsigned int i, j;
	int err = 0;

	if (store_lock(&a->st, true))
		return -errno;
	err = nodes_load(&a->st);
	if (!err && new->has_nat &&
	    (!old || !old->has_nat ||
	     memcmp(old->nat.nat_timeout_s, new->nat.nat_timeout_s,
		    sizeof(new->nat.nat_timeout_s)))) {
		/* The file's group says all five: left out is the default. */
		err = nat_timeouts_set(&a->st, &new->nat, ~(opt_seen_t)0);
		if (!err)
			log_msg("info", "NAT timeouts set from the configuration");
	}
	for (i = 0; old && !err && i < old->nsvcs; i++) {
		const struct svc_conf *o = &old->svcs[i];
		const struct svc_conf *n = find_svc_conf(new, &o->key);
		struct hl_service svc;
		int id;

		if (!n) {
			log_msg("info", "%s: removed from the configuration", o->name);
			svc_del(&a->st, &o->key);
			nodes_load(&a->st);
			continue;
		}
		if (svc_find(&a->st, &o->key, &svc))
			continue;
		for (j = 0; j < o->nnodes; j++) {
			if (find_node_conf(n, &o->nodes[j].addr))
				continue;
			id = node_find_port(&a->st, svc.id, o->key.port,
					    &o->nodes[j].addr, 0);
			if (id >= 0)
				node_del(&a->st, id);
		}
	}
	for (i = 0; !err && i < new->nsvcs; i++) {
		const struct svc_conf *n = &new->svcs[i];
		const struct svc_conf *o = find_svc_conf(old, &n->key);
		struct hl_service svc;
		bool added = false;

		if (svc_find(&a->st, &n->key, &svc)) {
			struct hl_service tpl = { .ring_size = n->ring };

			role_strategy(n, &tpl);
			err = svc_add(&a->st, &n->key, &tpl);
			if (err || svc_find(&a->st, &n->key, &svc))
				break;
			log_msg("info", "%s: added", n->name);
		} else if (role_strategy(n, &svc)) {
			err = svc_set_admin(&a->st, &n->key, &svc);
			if (err)
				break;
		}
		if ((svc.opts & HL_SVC_O_SCALEOUT) && svc_scaleout_problem(&svc))
			log_msg("warn", "%s: scaleout with strategy %s: its pick depends on %s, so a flow that moves to another director may reach another node (maglev, rendezvous, srchash, primary and replica keep it)",
				n->name, hl_strategy_name(svc.strategy),
				svc_scaleout_problem(&svc));
		for (j = 0; j < n->nnodes; j++) {
			const struct node_conf *nc = &n->nodes[j];
			const struct node_conf *oc = find_node_conf(o, &nc->addr);
			struct hl_node node = {};
			/* The file's nodes are on the service's port: a
			 * node the CLI gave a port of its own is another. */
			int id = node_find_port(&a->st, svc.id, n->key.port,
						&nc->addr, 0);

			if (id >= 0 && (!oc || !memcmp(oc, nc, sizeof(*nc))))
				continue;	/* exists, and unchanged here */
			if (id >= 0)
				node = a->st.nodes[id];
			node.family = nc->addr.family;
			memcpy(node.addr, nc->addr.w, sizeof(node.addr));
			node.weight = nc->weight;
			node.role = nc->role;
			memcpy(node.zone, nc->zone, sizeof(node.zone));
			if (id >= 0) {
				err = node_set_admin(&a->st, id, &node);
			} else {
				/* One table build for all the new nodes. */
				err = node_add(&a->st, &n->key, &node, false);
				err = err < 0 ? err : 0;
				added = true;
			}
			if (err)
				break;
		}
		if (added && !err)
			err = svc_rebuild(&a->st, svc.id);
	}
	store_unlock(&a->st);
	return err;
}

static void svcs_free(struct agent *a)
{
	struct agent_node *an;
	unsigned int i;

	for (i = 0; i < a->nsvcs; i++) {
		while ((an = a->svcs[i].nodes)) {
			a->svcs[i].nodes = an->next;
			node_free(an);
		}
	}
	free(a->svcs);
	a->svcs = NULL;
	a->nsvcs = 0;
}

/* Adopt `conf`: services keep their probing nodes when their check is the
 * same; otherwise their probes start over. */
static int svcs_build(struct agent *a, struct agent_conf *conf)
{
	struct agent_svc *svcs = calloc(conf->nsvcs ? conf->nsvcs : 1, sizeof(*svcs));
	unsigned int i, j;

	if (!svcs)
		return -ENOMEM;
	for (i = 0; i < conf->nsvcs; i++) {
		svcs[i].agent = a;
		svcs[i].conf = conf->svcs[i];
		svcs[i].announced = -1;
		for (j = 0; j < a->nsvcs; j++) {
			struct agent_svc *old = &a->svcs[j];
			struct agent_node *an;

			if (memcmp(&old->conf.key, &svcs[i].conf.key, sizeof(old->conf.key)) ||
			    memcmp(&old->conf.probe, &svcs[i].conf.probe,
				   sizeof(old->conf.probe)))
				continue;
			svcs[i].nodes = old->nodes;
			svcs[i].holding = old->holding;
			svcs[i].hold_since_ns = old->hold_since_ns;
			svcs[i].announced = old->announced;
			old->nodes = NULL;
			for (an = svcs[i].nodes; an; an = an->next) {
				an->svc = &svcs[i];
				an->probe.cfg = &svcs[i].conf.probe;
			}
		}
	}
	svcs_free(a);
	a->svcs = svcs;
	a->nsvcs = conf->nsvcs;
	return 0;
}

static void drained(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	log_msg("info", "drained: exiting (the data path keeps running)");
	event_base_loopbreak(a->base);
}

/* SIGINT/SIGTERM: with a bgp group, withdraw every VIP first and give
 * the routers `drain` seconds to move new flows to the other directors. */
static void stop(struct agent *a, int sig)
{
	if (!a->bgp_on || a->drain || !a->conf.bgp.drain_ms) {
		if (a->bgp_on && !a->drain) {
			a->drain = evtimer_new(a->base, drained, a);
			announce_sync(a);
		}
		log_msg("info", "signal %d: exiting (the data path keeps running)",
			sig);
		event_base_loopbreak(a->base);
		return;
	}
	a->drain = evtimer_new(a->base, drained, a);
	if (!a->drain) {
		event_base_loopbreak(a->base);
		return;
	}
	announce_sync(a);
	log_msg("info", "signal %d: every VIP withdrawn, exiting in %u ms (again: now)",
		sig, a->conf.bgp.drain_ms);
	timer_in(a->drain, a->conf.bgp.drain_ms);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	struct agent_conf conf;
	char err[512];

	if (sig != SIGHUP) {
		stop(a, (int)sig);
		return;
	}
	if (config_load(a->conf_path, &conf, err, sizeof(err))) {
		log_msg("error", "reload refused, keeping the running configuration: %s",
			err);
		return;
	}
	if (apply_config(a, &a->conf, &conf) || svcs_build(a, &conf)) {
		log_msg("error", "reload: cannot apply %s", a->conf_path);
		config_free(&conf);
		return;
	}
	config_free(&a->conf);
	a->conf = conf;		/* the services' copies point into it */
	if (a->bgp_on && !a->conf.has_bgp)
		bgp_stop(a);
	else if (a->bgp_on)
		announce_reconf(&a->bgp, &a->conf.bgp);
	else
		bgp_start(a);
	log_msg("info", "reloaded %s", a->conf_path);
	sync_all(-1, 0, a);
}

static int do_run(int argc, char **argv);

const struct cli_object run_object = {
	.name		= "run",
	.usage		= "run config FILE          the health agent (foreground daemon)",
	.run		= do_run,
};

static int do_run(int argc, char **argv)
{
	struct event *sig[3] = {};
	const int signals[3] = { SIGINT, SIGTERM, SIGHUP };
	struct agent a = {};
	char err[512];
	int i, ret = -1;

	if (argc != 2 || strcmp(argv[0], "config")) {
		cli_object_usage(&run_object, stderr, false);
		p_err("expected: run config FILE");
		return -1;
	}
	a.conf_path = argv[1];
	if (config_load(a.conf_path, &a.conf, err, sizeof(err))) {
		p_err("%s", err);
		return -1;
	}
	if (cli_store_open(&a.st, true))
		goto out;
	store_unlock(&a.st);	/* taken per commit from now on */
	if (getrandom(&a.rnd, sizeof(a.rnd), 0) != sizeof(a.rnd) || !a.rnd)
		a.rnd = hl_now_ns() | 1;
	if (apply_config(&a, NULL, &a.conf)) {
		p_err("cannot apply %s to the maps", a.conf_path);
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	a.base = event_base_new();
	if (!a.base || svcs_build(&a, &a.conf))
		goto out;
	for (i = 0; i < 3; i++) {
		sig[i] = evsignal_new(a.base, signals[i], on_signal, &a);
		if (!sig[i] || event_add(sig[i], NULL))
			goto out;
	}
	a.sync = evtimer_new(a.base, sync_all, &a);
	if (!a.sync)
		goto out;
	log_msg("info", "helios-agent running: %u services, maps in %s", a.nsvcs,
		a.st.dir);
	bgp_start(&a);
	sync_all(-1, 0, &a);
	event_base_dispatch(a.base);
	ret = 0;
out:
	if (a.bgp_on)
		announce_free(&a.bgp);
	if (a.drain)
		event_free(a.drain);
	svcs_free(&a);
	if (a.sync)
		event_free(a.sync);
	for (i = 0; i < 3; i++)
		if (sig[i])
			event_free(sig[i]);
	if (a.base)
		event_base_free(a.base);
	store_close(&a.st);
	config_free(&a.conf);
	return ret;
}
