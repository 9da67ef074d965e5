// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: what the agent decides, written to the maps. A node's
 * judgement in the health map (and back after a restart), a service's
 * effective state (flags, weights, the hold, the fencing generation) under
 * the writers' lock, and the data path's view of a node in trouble.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "agent/daemon.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/parse.h"
#include "lib/services.h"

/* ---- the health map ---------------------------------------------------- */

void health_save(struct agent_node *an)
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
void health_resume(struct agent_node *an)
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
void svc_commit(struct agent_svc *as)
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
bool datapath_trouble(struct agent_node *an, __u64 now)
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
