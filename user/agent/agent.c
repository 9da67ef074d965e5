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
#include <systemd/sd-daemon.h>
#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/announce.h"
#include "agent/config.h"
#include "agent/decide.h"
#include "agent/dl.h"
#include "agent/resume.h"
#include "cmd/attach.h"
#include "cmd/decap.h"
#include "agent/events.h"
#include "agent/metrics_http.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/conns.h"
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/nodes.h"
#include "lib/rate.h"
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
	bool foreign;			/* another cluster's system identifier */
	__u32 logged_flags;		/* to log transitions only */
	__u8 ev_state, ev_role, ev_breaker; /* last sent as events */
	__u64 probes, probe_failures;	/* since the agent started */
	bool no_reads;			/* Patroni keeps it out of reads */
	__u8 pool;			/* enum hl_pool, from the primary */
	/* Patroni's view beside a postgres check (patroni_port). */
	struct probe pat;
	struct event *pat_timer;
	bool pat_in_flight;
	__u8 patroni;			/* enum decide_patroni */
	struct agent_node *next;
};

struct agent_svc {
	struct agent *agent;
	struct svc_conf conf;
	struct agent_node *nodes;
	bool holding;
	bool disagree;		/* holding: postgres and Patroni disagree */
	char disagree_msg[256];	/* who says what, as last logged */
	bool hold_expired;	/* logged once */
	int announced;		/* -1 unknown, else its VIP announced (logged) */
	__u64 hold_since_ns;
	__u64 sysid;		/* the cluster's: configured, or learnt from
				 * the first primary confirmed (0: not yet) */
	__u32 primary_id;	/* the one primary last decided, or HL_EVENT_NONE */
	bool primary_known;	/* decided at least once (no event the 1st time) */
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
	int conf_fd;		/* what the file last set (resume.h) */
	const char *cli_metrics;	/* run's metrics option, beats the file's */
	struct metrics_http *metrics;
	struct agent_events *events;
	__u64 sync_due_ns;		/* when sync_all should run: loop lag */
	double lag_s, lag_max_s;	/* last, and the largest this minute */
	double lag_prev_max_s;		/* the largest the minute before */
	__u64 lag_window_ns;
	__u64 probes_ok, probes_failed, reloads_ok, reloads_failed;
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

/* systemd (Type=notify): libsystemd is opened only when NOTIFY_SOCKET
 * says that we run under it (dl.h). */
static struct {
	DL_PTR(sd_notify)
} sd;

static void notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notify(const char *fmt, ...)
{
	static const struct dl_sym syms[] = { DL_SYM(sd, sd_notify) };
	char msg[256];
	va_list ap;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	if (dl_bind("libsystemd.so.0", syms, 1)) {
		log_msg("warn", "no sd_notify: %s", hl_errmsg());
		hl_errclear();
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd.sd_notify(0, msg);
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
			 (h->has_lag ? HL_HEALTH_F_HAS_LAG : 0) |
			 (an->foreign ? HL_HEALTH_F_FOREIGN : 0) |
			 (an->no_reads ? HL_HEALTH_F_NO_READS : 0) |
			 (an->patroni == PATRONI_PRIMARY ? HL_HEALTH_F_PATRONI_PRIMARY : 0) |
			 (an->patroni == PATRONI_OTHER ? HL_HEALTH_F_PATRONI_OTHER : 0) |
			 (an->svc->disagree ? HL_HEALTH_F_DISAGREE : 0),
		.rtt_us = an->last_rtt_us,
		.ema_us = h->ema_ms * 1000,
		.lag_ms = h->lag_s * 1000,
		.scale = an->scale,
		.lag_bytes = h->lag_bytes,
		.state_since_ns = h->state_since_ns,
		.last_probe_ns = hl_now_ns(),
		.timeline = h->timeline,
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
	an->h.timeline = rec.timeline;
	an->h.ema_ms = rec.ema_us / 1000.0;
	an->h.has_ema = rec.ema_us > 0;
	an->h.has_lag = rec.flags & HL_HEALTH_F_HAS_LAG;
	an->h.lag_s = rec.lag_ms / 1000.0;
	an->h.lag_bytes = rec.lag_bytes;
	an->h.state_since_ns = rec.state_since_ns;
	an->h.breaker_since_ns = hl_now_ns();
	an->last_ok = rec.flags & HL_HEALTH_F_LAST_OK;
	an->no_reads = rec.flags & HL_HEALTH_F_NO_READS;
	an->patroni = rec.flags & HL_HEALTH_F_PATRONI_PRIMARY ? PATRONI_PRIMARY :
		      rec.flags & HL_HEALTH_F_PATRONI_OTHER ? PATRONI_OTHER :
		      PATRONI_UNKNOWN;
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

/* Mark the nodes whose system identifier is not the cluster's (logged
 * when that changes); true when any is. */
static bool mark_foreign(struct agent_svc *as, struct decide_node *dn,
			 unsigned int n)
{
	struct agent_node *an;
	bool any = false;
	unsigned int i;

	for (an = as->nodes, i = 0; an && i < n; an = an->next, i++) {
		bool f = as->sysid && an->h.sysid && an->h.sysid != as->sysid;
		char addr[ADDR_STRLEN];

		dn[i].foreign = f;
		any |= f;
		if (f == an->foreign)
			continue;
		an->foreign = f;
		format_addr(an->probe.addr.family, an->probe.addr.w, addr,
			    sizeof(addr));
		if (f)
			log_msg("error", "%s node %s: system identifier %llu, not the cluster's %llu: never used",
				as->conf.name, addr,
				(unsigned long long)an->h.sysid,
				(unsigned long long)as->sysid);
		else
			log_msg("info", "%s node %s: system identifier is the cluster's again",
				as->conf.name, addr);
		health_save(an);
	}
	return any;
}

static struct agent_node *nth_node(struct agent_svc *as, int i)
{
	struct agent_node *an = as->nodes;

	while (an && i-- > 0)
		an = an->next;
	return an;
}

/*
 * The write service's fencing generation (bpf/lib/fence.h): a new one
 * when the confirmed primary is another node, or its timeline moved on.
 * The map keeps what the generation stands for, so a restarted agent
 * carries it on.
 */
static void fence_commit(struct agent_svc *as, const struct decide_svc *ds,
			 const struct hl_service *svc)
{
	struct agent *a = as->agent;
	struct agent_node *an;
	char addr[ADDR_STRLEN];
	struct timespec ts;
	__u32 gen;

	if (as->conf.strategy != HL_STRAT_PRIMARY || !as->conf.fence) {
		if (svc->gen)
			svc_set_gen(&a->st, &as->conf.key, 0, 0, 0, 0);
		return;
	}
	an = ds->hold || ds->primary < 0 ? NULL : nth_node(as, ds->primary);
	if (!an || (svc->gen && svc->gen_node == an->id &&
		    svc->gen_tli == an->h.timeline))
		return;
	gen = svc->gen + 1 ? svc->gen + 1 : 1;
	/* the clock of the NAT flows' creation times (bpf_ktime_get_coarse_ns) */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (svc_set_gen(&a->st, &as->conf.key, gen, an->id, an->h.timeline,
			svc->gen ? ts.tv_sec * 1000000000ull + ts.tv_nsec : 0)) {
		log_msg("error", "%s: cannot write the fencing generation: %s",
			as->conf.name, hl_errmsg());
		return;
	}
	log_msg("info", "%s: generation %u: primary %s, timeline %u%s",
		as->conf.name, gen,
		format_addr(an->probe.addr.family, an->probe.addr.w, addr,
			    sizeof(addr)), an->h.timeline,
		svc->gen ? "; flows of older generations are reset" : "");
}

/* ---- events for `helios-agent monitor` --------------------------------- */

static const char *node_label(const struct agent_node *an, char *buf, size_t len)
{
	const struct hl_node *n = &an->svc->agent->st.nodes[an->id];

	return format_addr_port(n->family, n->addr, n->port, buf, len);
}

static struct json_object *svc_event(const struct agent_svc *as)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "service", json_object_new_string(as->conf.name));
	return o;
}

static const char *transition_name(unsigned int what, __u8 v)
{
	return what == 0 ? health_state_name(v) :
	       what == 1 ? role_name(v) : breaker_state_name(v);
}

/* One event for each of state, role and breaker that moved. */
static void node_events(struct agent_node *an)
{
	static const char *const what[] = { "state", "role", "breaker" };
	__u8 *last[] = { &an->ev_state, &an->ev_role, &an->ev_breaker };
	const __u8 now[] = { an->h.state, an->h.role, an->h.breaker };
	char addr[ADDR_PORT_STRLEN], msg[256];
	struct json_object *o;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		if (*last[i] == now[i])
			continue;
		node_label(an, addr, sizeof(addr));
		snprintf(msg, sizeof(msg), "%s node %s: %s %s -> %s",
			 an->svc->conf.name, addr, what[i], transition_name(i, *last[i]),
			 transition_name(i, now[i]));
		o = svc_event(an->svc);
		json_object_object_add(o, "node", json_object_new_string(addr));
		json_object_object_add(o, "from", json_object_new_string(transition_name(i, *last[i])));
		json_object_object_add(o, "to", json_object_new_string(transition_name(i, now[i])));
		events_send(an->svc->agent->events, what[i], o, msg);
		*last[i] = now[i];
	}
}

static void svc_events(struct agent_svc *as, const char *what, const char *msg)
{
	events_send(as->agent->events, what, svc_event(as), msg);
}

/* The primary changed: which node the write service goes to now. */
static void failover_event(struct agent_svc *as, const struct decide_svc *ds,
			   struct agent_node *first, unsigned int n)
{
	struct agent_node *an = first, *old = NULL;
	char from[ADDR_PORT_STRLEN] = "none", to[ADDR_PORT_STRLEN] = "none";
	char msg[256];
	__u32 id = HL_EVENT_NONE;
	struct json_object *o;
	int i;

	for (i = 0; an && i < ds->primary && (unsigned int)i < n; i++)
		an = an->next;
	if (ds->primary >= 0 && an)
		id = an->id;
	if (as->primary_known && id == as->primary_id)
		return;
	if (!as->primary_known) {
		as->primary_known = true;
		as->primary_id = id;
		return;
	}
	for (old = first; old && old->id != as->primary_id; old = old->next)
		;
	if (old)
		node_label(old, from, sizeof(from));
	if (id != HL_EVENT_NONE)
		node_label(an, to, sizeof(to));
	snprintf(msg, sizeof(msg), "%s: primary %s -> %s", as->conf.name, from, to);
	o = svc_event(as);
	json_object_object_add(o, "from", json_object_new_string(from));
	json_object_object_add(o, "to", json_object_new_string(to));
	events_send(as->agent->events, "failover", o, msg);
	as->primary_id = id;
}

/* Who is primary by postgres, and by Patroni: the why of a hold. */
static void log_disagreement(struct agent_svc *as, const struct decide_node *dn,
			     unsigned int n)
{
	char pg[96] = "", pat[96] = "", addr[ADDR_STRLEN];
	char msg[sizeof(as->disagree_msg)];
	struct agent_node *an;
	unsigned int i;

	for (an = as->nodes, i = 0; an && i < n; an = an->next, i++) {
		format_addr(an->probe.addr.family, an->probe.addr.w, addr, sizeof(addr));
		if (dn[i].last_ok && an->h.role == HL_ROLE_PRIMARY)
			snprintf(pg + strlen(pg), sizeof(pg) - strlen(pg), " %s", addr);
		if (an->patroni == PATRONI_PRIMARY)
			snprintf(pat + strlen(pat), sizeof(pat) - strlen(pat), " %s", addr);
	}
	snprintf(msg, sizeof(msg), "postgres says the primary is%s, Patroni says%s",
		 pg[0] ? pg : " none", pat[0] ? pat : " none");
	if (strcmp(msg, as->disagree_msg)) {
		strcpy(as->disagree_msg, msg);
		log_msg("warn", "%s: %s", as->conf.name, msg);
	}
}

/* Decide the service's effective state and write what changed, under the
 * writers' lock; the table is rebuilt and swapped only when needed. */
static void svc_commit(struct agent_svc *as)
{
	struct agent *a = as->agent;
	/* Roles are the agent's to decide for primary and replica; every
	 * other strategy is judged by health alone, as maglev. */
	struct decide_svc ds = {
		.strategy = as->conf.strategy == HL_STRAT_PRIMARY ||
			    as->conf.strategy == HL_STRAT_REPLICA ?
			    as->conf.strategy : HL_STRAT_MAGLEV,
		.fallback_primary = as->conf.fallback_primary,
		.patroni_check = as->conf.patroni_port != 0 };
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
					      .last_ok = an->last_ok,
					      .no_reads = an->no_reads,
					      .patroni = an->patroni };
		if (as->conf.health.adaptive) {
			if (a->st.nodes)
				dn[n].weight = a->st.nodes[an->id].weight;
			if (!bpf_map_lookup_elem(a->st.fds[MAP_NODE_ACTIVE], &an->id,
						 &active) && active > 0)
				dn[n].active = active;
		}
		n++;
	}
	mark_foreign(as, dn, n);
	if (!decide(&ds, dn, n, &as->conf.health, now))
		return;
	/* The cluster's identity: the first single primary's, unless given. */
	if (!as->sysid && ds.primary >= 0 && nth_node(as, ds.primary)->h.sysid) {
		as->sysid = nth_node(as, ds.primary)->h.sysid;
		log_msg("info", "%s: cluster system identifier %llu (of the primary)",
			as->conf.name, (unsigned long long)as->sysid);
		if (mark_foreign(as, dn, n))
			decide(&ds, dn, n, &as->conf.health, now);
	}
	if (svc_find(&a->st, &as->conf.key, &svc))
		return;

	/* Hold new flows while there is no single primary, for at most hold. */
	if (ds.disagree != as->disagree) {
		as->disagree = ds.disagree;
		for (an = as->nodes; an; an = an->next)
			health_save(an);
	}
	if (ds.disagree)
		log_disagreement(as, dn, n);	/* each new version of it */
	else
		as->disagree_msg[0] = '\0';
	if (ds.hold && !as->holding) {
		char msg[256];

		as->holding = true;
		as->hold_since_ns = now;
		snprintf(msg, sizeof(msg), "%s: %s: holding new connections",
			 as->conf.name,
			 ds.disagree ? "postgres and Patroni disagree about the primary" :
			 ds.primary == -2 ? "more than one primary" : "no primary");
		log_msg("warn", "%s", msg);
		svc_events(as, "hold", msg);
	} else if (!ds.hold && as->holding) {
		char msg[160];

		as->holding = false;
		snprintf(msg, sizeof(msg), "%s: single primary confirmed after %llu ms",
			 as->conf.name,
			 (unsigned long long)(now - as->hold_since_ns) / 1000000);
		log_msg("info", "%s", msg);
		svc_events(as, "hold-end", msg);
	}
	failover_event(as, &ds, as->nodes, n);
	hold = ds.hold && now - as->hold_since_ns < as->conf.hold_ms * 1000000ull;
	if (ds.hold && !hold && !as->hold_expired) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%s: hold time over, refusing new connections",
			 as->conf.name);
		log_msg("warn", "%s", msg);
		svc_events(as, "hold-expired", msg);
	}
	as->hold_expired = ds.hold && !hold;
	if (svc_set_flags(&a->st, &as->conf.key, HL_SVC_F_HOLD | HL_SVC_F_RESET,
			  (hold ? HL_SVC_F_HOLD : 0) |
			  (as->conf.reset_on_down ? HL_SVC_F_RESET : 0)))
		return;
	fence_commit(as, &ds, &svc);

	for (an = as->nodes, i = 0; an && i < n; an = an->next, i++) {
		eff[i] = (struct node_effective){ .id = an->id,
			.flags = dn[i].flags | HL_NODE_F_AGENT,
			.scale = dn[i].scale, .role = an->h.role,
			.pool = an->pool };
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

		if ((node->flags & HL_NODE_F_EXISTS) && node->svc_id == svc.id) {
			log_node_change(an, node, eff[i].flags, dn[i].scale,
					dn[i].ineligible);
			node_events(an);
		}
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
	an->pool = n->eff_pool;		/* until the primary says again */
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

static void node_free(struct agent_node *an)
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

static void sync_all(evutil_socket_t fd, short what, void *arg)
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
 * The admin keys of `n` to apply to a pinned service: at start every key
 * the file gives (a write only where the pinned value differs); on reload
 * only those whose value the file changed, so what operators set with the
 * CLI in between stays. The ring of a live service never changes. A write
 * or read service gets the matching table strategy from its strategy key,
 * so that the table itself holds only nodes of the right role.
 */
static opt_seen_t admin_changes(const struct svc_conf *o,
				const struct svc_conf *n)
{
	const struct opt *t = svc_admin_opts;
	opt_seen_t seen = n->admin_seen & ~OPT_SEEN(t, "ring");
	char a[64], b[64];
	int i;

	for (i = 0; o && t[i].name; i++)
		if ((seen & (1ull << i)) && (o->admin_seen & (1ull << i)) &&
		    !strcmp(opt_format(&t[i], &o->admin, a, sizeof(a)),
			    opt_format(&t[i], &n->admin, b, sizeof(b))))
			seen &= ~(1ull << i);
	return seen;
}

/* A node's admin keys to apply: what the file gives at start, what it
 * changed on reload. */
static opt_seen_t node_changes(const struct node_conf *o,
			       const struct node_conf *n)
{
	const struct opt *t = node_admin_opts;
	opt_seen_t seen = n->seen;

	if (!o)
		return seen;
	seen = 0;
	if (o->weight != n->weight)
		seen |= OPT_SEEN(t, "weight");
	if (o->role != n->role)
		seen |= OPT_SEEN(t, "role");
	if (memcmp(o->zone, n->zone, sizeof(n->zone)))
		seen |= OPT_SEEN(t, "zone");
	return seen;
}

/* The file's SNAT addresses where they differ from the pinned ones (and,
 * on reload, from the file's last). */
static int apply_snat(struct agent *a, const struct svc_conf *o,
		      const struct svc_conf *n, __u32 id)
{
	struct hl_snat cur = {};

	if (!n->has_snat ||
	    (o && o->has_snat && !memcmp(&o->snat, &n->snat, sizeof(n->snat))))
		return 0;
	svc_snat_get(&a->st, id, &cur);
	if (cur.count == n->snat.count &&
	    !memcmp(cur.addrs, n->snat.addrs, sizeof(cur.addrs[0]) * cur.count))
		return 0;
	return svc_set_snat(&a->st, &n->key, &n->snat);
}

static const struct attach_conf *find_attach(const struct agent_conf *conf,
					     const char *dev, opt_seen_t *seen)
{
	unsigned int i;

	for (i = 0; conf && i < conf->nattach; i++)
		if (!strcmp(conf->attach[i].dev, dev)) {
			*seen = conf->attach_seen[i];
			return &conf->attach[i];
		}
	return NULL;
}

/* The director's devices: attach what the file adds (adopting what is
 * already attached), detach what a reload removes, decap likewise adds. */
static int apply_devices(struct agent *a, const struct agent_conf *old,
			 const struct agent_conf *new)
{
	unsigned int i, j;
	opt_seen_t seen = 0, oseen = 0;
	int err;

	for (i = 0; old && i < old->nattach; i++) {
		if (find_attach(new, old->attach[i].dev, &seen))
			continue;
		err = detach_link(&a->st, old->attach[i].dev);
		if (!err)
			log_msg("info", "%s: detached (removed from the configuration)",
				old->attach[i].dev);
	}
	for (i = 0; i < new->nattach; i++) {
		const struct attach_conf *ac = &new->attach[i];
		const struct attach_conf *oa = find_attach(old, ac->dev, &oseen);

		seen = new->attach_seen[i];
		err = attach_link(&a->st, ac);
		if (!err)
			log_msg("info", "%s: attached", ac->dev);
		else if (err != -EEXIST)
			return err;
		if (oa && oseen == seen && !memcmp(oa, ac, sizeof(*ac)))
			continue;
		err = attach_settings(&a->st, ac, seen);
		if (err)
			return err;
	}
	for (i = 0; i < new->ndecap; i++) {
		const struct decap_conf *dc = &new->decap[i];

		for (j = 0; old && j < old->ndecap; j++)
			if (!memcmp(&old->decap[j], dc, sizeof(*dc)))
				break;
		if (old && j < old->ndecap)
			continue;
		err = decap_attach(dc->dev, dc->vips, dc->nvips);
		if (err)
			return err;
	}
	return 0;
}

/* Run a CLI command (the one writer of its state) from the file's words:
 * `OBJECT WORD... VALUE-WORDS`. */
static int run_cli(const struct cli_object *obj, const char *const *words,
		   int nwords, const char *value)
{
	char buf[CONF_WORDS], *argv[24];
	int n, i;

	for (n = 0; n < nwords; n++)
		argv[n] = (char *)words[n];
	n += conf_words(value, buf, sizeof(buf), argv + n, 24 - n);
	for (i = 0; i < n && verbose; i++)
		fprintf(stderr, "%s%s", i ? " " : "debug: applying ", argv[i]);
	if (verbose)
		fputc('\n', stderr);
	return cli_object_main(obj, n, argv);
}

/*
 * Limits and classes go through the CLI's own writers (service set, class
 * add/del), outside the store lock they take themselves: every limit the
 * file gives at start, those it changed on reload; classes it adds (a
 * prefix already pinned is adopted as it is) and, on reload, removes.
 */
static int apply_limits(struct agent *a, const struct agent_conf *old,
			const struct agent_conf *new)
{
	static const char *const kw[][2] = {
		{ "rate", "conn" }, { "rate", "pkt" }, { "rate", "bytes" },
		{ "client-rate", "conn" }, { "syn-retry", NULL },
	};
	unsigned int i, j, k;
	int err = 0;

	for (i = 0; old && i < old->nclasses; i++) {
		for (j = 0; j < new->nclasses; j++)
			if (!strcmp(old->classes[i].name, new->classes[j].name))
				break;
		if (j == new->nclasses) {
			const char *w[] = { "del", old->classes[i].name };

			run_cli(&class_object, w, 2, "");
		}
	}
	for (i = 0; i < new->nclasses && !err; i++) {
		const struct class_conf *cc = &new->classes[i];
		const char *w[] = { "add", cc->prefix, "name", cc->name, "rate", "conn" };
		struct hl_class_key key;
		__u32 id;

		for (j = 0; old && j < old->nclasses; j++)
			if (!memcmp(&old->classes[j], cc, sizeof(*cc)))
				break;
		if ((old && j < old->nclasses) || parse_prefix(cc->prefix, &key) ||
		    !bpf_map_lookup_elem(a->st.fds[MAP_CLASS_PREFIXES], &key, &id))
			continue;	/* as before, or pinned already */
		err = run_cli(&class_object, w, 6, cc->rate);
	}
	for (i = 0; i < new->nsvcs && !err; i++) {
		const struct svc_conf *n = &new->svcs[i];
		const struct svc_conf *o = find_svc_conf(old, &n->key);

		for (k = 0; k < sizeof(kw) / sizeof(kw[0]) && !err; k++) {
			const struct opt *t = &limit_opts[k];
			const char *val = (const char *)&n->limits + t->off;
			const char *w[] = { "set", n->name, kw[k][0], kw[k][1] };

			if (!(n->limits_seen & (1ull << k)) ||
			    (o && (o->limits_seen & (1ull << k)) &&
			     !strcmp(val, (const char *)&o->limits + t->off)))
				continue;
			err = run_cli(&service_object, w, kw[k][1] ? 4 : 3, val);
		}
	}
	return err;
}

/* Read-your-writes as the file says, once every service exists: when the
 * file sets it, or a reload changes it (a file without it leaves the
 * CLI's setting). */
static int apply_ryw(struct agent *a, const struct svc_conf *o,
		     const struct svc_conf *n)
{
	struct hl_svc_key src;
	int err;

	if (o ? !strcmp(o->ryw_of, n->ryw_of) &&
		o->ryw_window_ms == n->ryw_window_ms : !n->ryw_of[0])
		return 0;
	if (n->ryw_of[0] && parse_svc(n->ryw_of, &src))
		return -EINVAL;
	err = svc_set_ryw(&a->st, &n->key, n->ryw_of[0] ? &src : NULL,
			  n->ryw_window_ms);
	if (err)
		log_msg("error", "%s: read-your-writes: %s", n->name, hl_errmsg());
	else if (n->ryw_of[0])
		log_msg("info", "%s: read-your-writes of %s, window %u ms",
			n->name, n->ryw_of, n->ryw_window_ms);
	return err;
}

/* At start: delete the nodes of `sc` that the file set before and no
 * longer has (removed while the agent was down); not the CLI's. */
static void forget_removed(struct agent *a, const struct svc_conf *sc,
			   const struct hl_service *svc)
{
	__u32 id;

	for (id = 0; id < HL_MAX_NODES; id++) {
		const struct hl_node *n = &a->st.nodes[id];
		struct ip_addr addr = { .family = n->family };

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id ||
		    n->port)
			continue;
		memcpy(addr.w, n->addr, sizeof(addr.w));
		if (find_node_conf(sc, &addr) ||
		    !conf_record_ours(a->conf_fd, id, &sc->key, &addr))
			continue;
		log_msg("info", "%s: node removed from the configuration while stopped",
			sc->name);
		if (!node_del(&a->st, id))
			conf_record_del(a->conf_fd, id);
	}
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
	err = apply_devices(a, old, new);
	if (!err)
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
			if (id >= 0 && !node_del(&a->st, id))
				conf_record_del(a->conf_fd, id);
		}
	}
	for (i = 0; !err && i < new->nsvcs; i++) {
		const struct svc_conf *n = &new->svcs[i];
		const struct svc_conf *o = find_svc_conf(old, &n->key);
		struct hl_service svc;
		bool added = false;

		if (svc_find(&a->st, &n->key, &svc)) {
			struct hl_service tpl = { .ring_size = HL_RING_DEFAULT };

			svc_admin_apply(&n->admin, n->admin_seen, &tpl);
			err = svc_add(&a->st, &n->key, &tpl);
			if (err || svc_find(&a->st, &n->key, &svc))
				break;
			log_msg("info", "%s: added", n->name);
			err = apply_snat(a, NULL, n, svc.id);
		} else {
			struct hl_service want = svc;

			/* SNAT first: a change to fwd nat needs it. */
			err = apply_snat(a, o, n, svc.id);
			if (!err)
				err = svc_admin_apply(&n->admin, admin_changes(o, n),
						      &want);
			if (!err && memcmp(&want, &svc, sizeof(svc)))
				err = svc_set_admin(&a->st, &n->key, &want);
		}
		if (err)
			break;
		if (!o)
			forget_removed(a, n, &svc);
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

			/* Exists, and unchanged here: since the last reload,
			 * or at start since the file last set it (so what
			 * the CLI changed since stays). */
			if (id >= 0 && (o ? oc && !memcmp(oc, nc, sizeof(*nc)) :
					conf_record_same(a->conf_fd, id, &n->key, nc)))
				continue;
			if (id >= 0) {
				/* The keys the file gives (at start) or
				 * changes (on reload); the rest is the CLI's. */
				opt_seen_t seen = node_changes(oc, nc);
				const struct hl_node *cur = &a->st.nodes[id];

				node = *cur;
				if (seen & OPT_SEEN(node_admin_opts, "weight"))
					node.weight = nc->weight;
				if (seen & OPT_SEEN(node_admin_opts, "role"))
					node.role = nc->role;
				if (seen & OPT_SEEN(node_admin_opts, "zone"))
					memcpy(node.zone, nc->zone, sizeof(node.zone));
				if (node.weight == cur->weight && node.role == cur->role &&
				    !memcmp(node.zone, cur->zone, sizeof(node.zone)))
					continue;	/* as pinned */
				err = node_set_admin(&a->st, id, &node);
			} else {
				node.family = nc->addr.family;
				memcpy(node.addr, nc->addr.w, sizeof(node.addr));
				node.weight = nc->weight;
				node.role = nc->role;
				memcpy(node.zone, nc->zone, sizeof(node.zone));
				/* One table build for all the new nodes. */
				id = err = node_add(&a->st, &n->key, &node, false);
				err = err < 0 ? err : 0;
				added = true;
			}
			if (err)
				break;
			conf_record_put(a->conf_fd, id, &n->key, nc);
		}
		if (added && !err)
			err = svc_rebuild(&a->st, svc.id);
	}
	for (i = 0; !err && i < new->nsvcs; i++)
		err = apply_ryw(a, find_svc_conf(old, &new->svcs[i].key),
				&new->svcs[i]);
	store_unlock(&a->st);
	return err ? err : apply_limits(a, old, new);
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
		svcs[i].sysid = conf->svcs[i].sysid;
		svcs[i].announced = -1;
		for (j = 0; j < a->nsvcs; j++) {
			struct agent_svc *old = &a->svcs[j];
			struct agent_node *an;

			if (memcmp(&old->conf.key, &svcs[i].conf.key, sizeof(old->conf.key)) ||
			    memcmp(&old->conf.probe, &svcs[i].conf.probe,
				   sizeof(old->conf.probe)) ||
			    memcmp(&old->conf.patroni_probe, &svcs[i].conf.patroni_probe,
				   sizeof(old->conf.patroni_probe)))
				continue;
			svcs[i].nodes = old->nodes;
			svcs[i].holding = old->holding;
			svcs[i].hold_since_ns = old->hold_since_ns;
			if (!svcs[i].sysid)
				svcs[i].sysid = old->sysid;
			svcs[i].announced = old->announced;
			old->nodes = NULL;
			for (an = svcs[i].nodes; an; an = an->next) {
				an->svc = &svcs[i];
				an->probe.cfg = &svcs[i].conf.probe;
				an->pat.cfg = &svcs[i].conf.patroni_probe;
			}
		}
	}
	svcs_free(a);
	a->svcs = svcs;
	a->nsvcs = conf->nsvcs;
	return 0;
}

static void reload_event(struct agent *a, bool ok, const char *why)
{
	struct json_object *o = json_object_new_object();
	char msg[640];

	if (ok)
		a->reloads_ok++;
	else
		a->reloads_failed++;
	snprintf(msg, sizeof(msg), ok ? "reloaded %s" : "reload of %s refused: %s",
		 a->conf_path, why);
	json_object_object_add(o, "file", json_object_new_string(a->conf_path));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	if (why)
		json_object_object_add(o, "error", json_object_new_string(why));
	events_send(a->events, "reload", o, msg);
}

/* ---- metrics: the agent's own families (lib/metrics.c has the maps') --- */

static void agent_metrics(struct expo *e, void *arg)
{
	struct agent *a = arg;
	const char *results[] = { "ok", "failed" };
	const __u64 probes[] = { a->probes_ok, a->probes_failed };
	const __u64 reloads[] = { a->reloads_ok, a->reloads_failed };
	char svc[SVC_STRLEN], node[ADDR_PORT_STRLEN];
	struct agent_node *an;
	unsigned int i, f;

	for (f = 0; f < 2; f++) {
		expo_family(e, f ? "helios_node_probe_failures" : "helios_node_probes",
			    EXPO_COUNTER, f ? "Probes of the node that failed." :
			    "Probes of the node (since the agent started).");
		for (i = 0; i < a->nsvcs; i++) {
			for (an = a->svcs[i].nodes; an; an = an->next) {
				struct expo_label l[] = { { "service", svc },
							  { "node", node } };

				format_svc(&a->svcs[i].conf.key, svc, sizeof(svc));
				node_label(an, node, sizeof(node));
				expo_sample_u64(e, l, 2, f ? an->probe_failures :
							     an->probes);
			}
		}
	}
	expo_family(e, "helios_agent_probes", EXPO_COUNTER,
		    "Probes the agent ran, by result.");
	for (i = 0; i < 2; i++) {
		struct expo_label l[] = { { "result", results[i] } };

		expo_sample_u64(e, l, 1, probes[i]);
	}
	expo_family(e, "helios_agent_config_reloads", EXPO_COUNTER,
		    "SIGHUP reloads of the configuration, by result.");
	for (i = 0; i < 2; i++) {
		struct expo_label l[] = { { "result", results[i] } };

		expo_sample_u64(e, l, 1, reloads[i]);
	}
	expo_family(e, "helios_agent_loop_lag_seconds", EXPO_GAUGE,
		    "How late the event loop ran its 1 s timer, last time.");
	expo_sample(e, NULL, 0, a->lag_s);
	expo_family(e, "helios_agent_loop_lag_max_seconds", EXPO_GAUGE,
		    "The largest loop lag in the last one to two minutes.");
	expo_sample(e, NULL, 0, a->lag_max_s > a->lag_prev_max_s ?
				a->lag_max_s : a->lag_prev_max_s);
	expo_family(e, "helios_agent_events_dropped", EXPO_COUNTER,
		    "Agent events not sent to a monitor that did not keep up.");
	expo_sample_u64(e, NULL, 0, events_dropped(a->events));
	expo_family(e, "helios_agent_monitors", EXPO_GAUGE,
		    "Monitors connected to the agent's event stream.");
	expo_sample_u64(e, NULL, 0, events_clients(a->events));
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
		notify("STOPPING=1");
		stop(a, (int)sig);
		return;
	}
	/* systemd (Type=notify) sees the reload start and end; without
	 * NOTIFY_SOCKET these are no-ops. */
	notify("RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)(hl_now_ns() / 1000));
	if (config_load(a->conf_path, &conf, err, sizeof(err))) {
		log_msg("error", "reload refused, keeping the running configuration: %s",
			err);
		notify("READY=1\nSTATUS=reload refused, running the previous configuration");
		reload_event(a, false, err);
		return;
	}
	if (apply_config(a, &a->conf, &conf) || svcs_build(a, &conf)) {
		log_msg("error", "reload: cannot apply %s", a->conf_path);
		reload_event(a, false, "cannot apply it to the maps");
		notify("READY=1\nSTATUS=reload failed, running the previous configuration");
		config_free(&conf);
		return;
	}
	if (a->cli_metrics)
		snprintf(conf.metrics, sizeof(conf.metrics), "%s", a->cli_metrics);
	if (strcmp(conf.metrics, a->conf.metrics))
		log_msg("warn", "reload: the metrics address changes at the next start");
	notify("READY=1\nSTATUS=%u services", conf.nsvcs);
	config_free(&a->conf);
	a->conf = conf;		/* the services' copies point into it */
	if (a->bgp_on && !a->conf.has_bgp)
		bgp_stop(a);
	else if (a->bgp_on)
		announce_reconf(&a->bgp, &a->conf.bgp);
	else
		bgp_start(a);
	log_msg("info", "reloaded %s", a->conf_path);
	reload_event(a, true, NULL);
	sync_all(-1, 0, a);
}

static int do_run(int argc, char **argv);

const struct cli_object run_object = {
	.name		= "run",
	.usage		= "run config FILE [metrics ADDR:PORT]   the health agent (foreground daemon)",
	.run		= do_run,
};

static int do_run(int argc, char **argv)
{
	struct event *sig[3] = {};
	const int signals[3] = { SIGINT, SIGTERM, SIGHUP };
	struct agent a = {};
	struct agent_conf cli = {};
	opt_seen_t seen = 0;
	char err[512];
	sigset_t held;
	int i, ret = -1;

	if (argc >= 1 && !strcmp(argv[0], "help"))
		return cli_object_usage(&run_object, stderr, true), 0;
	if (argc < 2 || strcmp(argv[0], "config")) {
		p_err("expected: run config FILE [metrics ADDR:PORT]");
		return -1;
	}
	a.conf_path = argv[1];
	a.conf_fd = -1;
	argc -= 2;
	argv += 2;
	/* --metrics as well as metrics: the daemon's options read like one */
	for (i = 0; i < argc; i += 2)
		if (!strncmp(argv[i], "--", 2) && opt_find(agent_opts, OPT_CLI,
							   argv[i] + 2))
			argv[i] += 2;
	if (opts_parse_args(agent_opts, &cli, &argc, &argv, true, &seen)) {
		p_err("%s", hl_errmsg());
		return -1;
	}
	/* A SIGHUP (or SIGTERM) during the start waits for the loop instead
	 * of killing the agent with the default action. */
	sigemptyset(&held);
	for (i = 0; i < 3; i++)
		sigaddset(&held, signals[i]);
	sigprocmask(SIG_BLOCK, &held, NULL);
	if (config_load(a.conf_path, &a.conf, err, sizeof(err))) {
		p_err("%s", err);
		return -1;
	}
	if (seen & OPT_SEEN(agent_opts, "metrics")) {
		a.cli_metrics = strdup(cli.metrics);
		snprintf(a.conf.metrics, sizeof(a.conf.metrics), "%s", cli.metrics);
	}
	if (cli_store_open(&a.st, true))
		goto out;
	store_unlock(&a.st);	/* taken per commit from now on */
	a.conf_fd = conf_record_open(&a.st);
	if (a.conf_fd < 0) {
		p_err("cannot open the agent's record %s: %s", CONF_RECORD_PIN,
		      strerror(-a.conf_fd));
		goto out;
	}
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
	sigprocmask(SIG_UNBLOCK, &held, NULL);
	a.sync = evtimer_new(a.base, sync_all, &a);
	if (!a.sync)
		goto out;
	a.events = events_start(a.base, a.st.dir);
	if (!a.events)	/* monitor then shows data-path events only */
		log_msg("warn", "no event stream for monitor: %s", hl_errmsg());
	if (a.conf.metrics[0] && strcmp(a.conf.metrics, "off")) {
		a.metrics = metrics_http_start(a.base, &a.st, a.conf.metrics,
					       agent_metrics, &a);
		if (!a.metrics) {
			p_err("%s", hl_errmsg());
			goto out;
		}
		log_msg("info", "metrics at http://%s/metrics", a.conf.metrics);
	}
	log_msg("info", "helios-agent running: %u services, maps in %s", a.nsvcs,
		a.st.dir);
	bgp_start(&a);
	sync_all(-1, 0, &a);
	/* Ready: the file's state is in the maps and the probes are set. */
	notify("READY=1\nSTATUS=%u services, maps in %s", a.nsvcs, a.st.dir);
	event_base_dispatch(a.base);
	ret = 0;
out:
	metrics_http_stop(a.metrics);
	events_stop(a.events);
	free((char *)a.cli_metrics);
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
	if (a.conf_fd >= 0)
		close(a.conf_fd);
	store_close(&a.st);
	config_free(&a.conf);
	return ret;
}
