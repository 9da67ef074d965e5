// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/counters.h"
#include "lib/metrics.h"
#include "lib/nodes.h"
#include "lib/parse.h"
#include "lib/rate.h"
#include "lib/services.h"
#include "lib/tables.h"

static int svc_read(struct store *st, const struct hl_svc_key *key,
		    const struct hl_service *svc, void *data)
{
	struct metrics_snap *s = data;
	struct metrics_svc *m;
	__u32 r, k;

	if (s->nsvcs >= HL_MAX_SERVICES)
		return 0;
	m = &s->svcs[s->nsvcs++];
	m->id = svc->id;
	m->flags = svc->flags;
	format_svc(key, m->name, sizeof(m->name));
	counters_read(st, MAP_SVC_STATS, svc->id, &m->c);
	limit_stats_read(st, MAP_LIMIT_STATS, svc->id, &m->ls);
	bpf_map_lookup_elem(st->fds[MAP_SVC_ACTIVE], &svc->id, &m->active);
	for (r = 0; r < HL_REASON_MAX; r++) {
		k = svc->id * HL_REASON_MAX + r;
		if ((HL_EVENT_REASONS & (1ull << r)) &&
		    percpu_sum(st->fds[MAP_SVC_REASONS], k, &m->reasons[r],
			       sizeof(__u64)))
			m->reasons[r] = 0;
	}
	return 0;
}

const struct metrics_svc *metrics_snap_svc(const struct metrics_snap *s,
					   __u32 id)
{
	unsigned int i;

	for (i = 0; i < s->nsvcs; i++)
		if (s->svcs[i].id == id)
			return &s->svcs[i];
	return NULL;
}

const struct metrics_node *metrics_snap_node(const struct metrics_snap *s,
					     __u32 id)
{
	unsigned int i;

	for (i = 0; i < s->nnodes; i++)
		if (s->nodes[i].id == id)
			return &s->nodes[i];
	return NULL;
}

int metrics_snap_read(struct store *st, struct metrics_snap *s)
{
	unsigned int n = 0;
	__u32 i;
	int err;

	memset(s, 0, sizeof(*s));
	err = nodes_load(st);
	if (err)
		return err;
	s->svcs = calloc(HL_MAX_SERVICES, sizeof(*s->svcs));
	for (i = 0; i < HL_MAX_NODES; i++)
		n += !!(st->nodes[i].flags & HL_NODE_F_EXISTS);
	s->nodes = calloc(n ? n : 1, sizeof(*s->nodes));
	if (!s->svcs || !s->nodes)
		return -ENOMEM;
	err = svc_for_each(st, svc_read, s);
	if (err)
		return err;
	for (i = 0; i < HL_MAX_NODES && s->nnodes < n; i++) {
		const struct hl_node *hn = &st->nodes[i];
		const struct metrics_svc *sm;
		struct metrics_node *m;

		if (!(hn->flags & HL_NODE_F_EXISTS) ||
		    !(sm = metrics_snap_svc(s, hn->svc_id)))
			continue;
		m = &s->nodes[s->nnodes++];
		m->id = i;
		m->svc = sm->name;
		format_addr_port(hn->family, hn->addr, hn->port, m->node,
				 sizeof(m->node));
		counters_read(st, MAP_NODE_STATS, i, &m->c);
		percpu_sum(st->fds[MAP_NODE_REASONS], i, &m->drops,
			   sizeof(m->drops));
		bpf_map_lookup_elem(st->fds[MAP_NODE_ACTIVE], &i, &m->active);
		bpf_map_lookup_elem(st->fds[MAP_HEALTH], &i, &m->h);
		m->weight = hn->weight;
		m->eff_weight = node_table_weight(hn);
	}
	reasons_read(st, s->verdicts);
	percpu_sum(st->fds[MAP_MON_CPU], 0, &s->mon, sizeof(s->mon));
	return 0;
}

void metrics_snap_free(struct metrics_snap *s)
{
	free(s->svcs);
	free(s->nodes);
}

/* ---- the families ------------------------------------------------------ */

#define SVC_LABEL(m)	{ { "service", (m)->name } }
#define NODE_LABELS(m)	{ { "service", (m)->svc }, { "node", (m)->node } }

/* A per-service family from a field of struct metrics_svc. */
#define SVC_FAMILY(e, s, name, type, help, expr)			\
	do {								\
		unsigned int i_;					\
		expo_family(e, name, type, help);			\
		for (i_ = 0; i_ < (s)->nsvcs; i_++) {			\
			const struct metrics_svc *m = &(s)->svcs[i_];		\
			struct expo_label l_[] = SVC_LABEL(m);		\
			expo_sample_u64(e, l_, 1, (expr));		\
		}							\
	} while (0)

/* A per-node family; expr may be a double (expo_sample). */
#define NODE_FAMILY(e, s, name, type, help, expr)			\
	do {								\
		unsigned int i_;					\
		expo_family(e, name, type, help);			\
		for (i_ = 0; i_ < (s)->nnodes; i_++) {			\
			const struct metrics_node *m = &(s)->nodes[i_];	\
			struct expo_label l_[] = NODE_LABELS(m);	\
			expo_sample(e, l_, 2, (expr));			\
		}							\
	} while (0)

#define NODE_COUNTER(e, s, name, help, field)				\
	do {								\
		unsigned int i_;					\
		expo_family(e, name, EXPO_COUNTER, help);		\
		for (i_ = 0; i_ < (s)->nnodes; i_++) {			\
			const struct metrics_node *m = &(s)->nodes[i_];	\
			struct expo_label l_[] = NODE_LABELS(m);	\
			expo_sample_u64(e, l_, 2, m->field);		\
		}							\
	} while (0)

static void write_services(struct expo *e, const struct metrics_snap *s)
{
	unsigned int i, r, l, d;

	SVC_FAMILY(e, s, "helios_service_packets", EXPO_COUNTER,
		   "Packets of the service the data path handled.", m->c.packets);
	SVC_FAMILY(e, s, "helios_service_bytes", EXPO_COUNTER,
		   "Frame bytes of the service's packets, as received.", m->c.bytes);
	SVC_FAMILY(e, s, "helios_service_flows", EXPO_COUNTER,
		   "New flows of the service (connection-table inserts).",
		   m->c.flows);
	SVC_FAMILY(e, s, "helios_service_active_flows", EXPO_GAUGE,
		   "Open flows of the service (counted for lc, p2c, bounded-load and NAT).",
		   m->active > 0 ? m->active : 0);
	SVC_FAMILY(e, s, "helios_service_hold_active", EXPO_GAUGE,
		   "1 while the agent holds the service's new flows (no single primary).",
		   !!(m->flags & HL_SVC_F_HOLD));
	SVC_FAMILY(e, s, "helios_service_announced", EXPO_GAUGE,
		   "1 while the agent has the VIP announced through BIRD (bgp group).",
		   (m->flags & (HL_SVC_F_BGP | HL_SVC_F_ANNOUNCED)) ==
		   (HL_SVC_F_BGP | HL_SVC_F_ANNOUNCED));
	SVC_FAMILY(e, s, "helios_service_bgp_down", EXPO_GAUGE,
		   "1 while BIRD, or every BGP session of it, is down (bgp group).",
		   !!(m->flags & HL_SVC_F_BGP_DOWN));

	expo_family(e, "helios_service_drops", EXPO_COUNTER,
		    "Packets of the service not forwarded, by verdict reason.");
	for (i = 0; i < s->nsvcs; i++) {
		for (r = 0; r < HL_REASON_MAX; r++) {
			struct expo_label lb[] = { { "service", s->svcs[i].name },
						   { "reason", reason_name(r) } };

			if (HL_EVENT_REASONS & (1ull << r))
				expo_sample_u64(e, lb, 2, s->svcs[i].reasons[r]);
		}
	}
	for (d = 0; d < 2; d++) {
		expo_family(e, d ? "helios_service_limit_dropped" :
			    "helios_service_limit_admitted", EXPO_COUNTER, d ?
			    "Units (connections, packets, bytes) a rate limit dropped." :
			    "Units (connections, packets, bytes) a rate limit admitted.");
		for (i = 0; i < s->nsvcs; i++)
			for (l = 0; l < HL_LIMIT_MAX; l++) {
				const struct hl_limit_stats *ls = &s->svcs[i].ls;
				struct expo_label lb[] = {
					{ "service", s->svcs[i].name },
					{ "limit", limit_names[l] } };

				expo_sample_u64(e, lb, 2, d ? ls->dropped[l] :
							      ls->admitted[l]);
			}
	}
}

static double health_code(const struct hl_health *h, double v)
{
	return h->flags & HL_HEALTH_F_VALID ? v : -1;
}

/* A node's reasons only once counted: every reason for every node would
 * make a scrape of many nodes mostly zeros (the service's family has
 * them all). */
static void write_node_drops(struct expo *e, const struct metrics_snap *s)
{
	unsigned int i, r;

	expo_family(e, "helios_node_drops", EXPO_COUNTER,
		    "Packets to the node not forwarded, by verdict reason (once counted).");
	for (i = 0; i < s->nnodes; i++) {
		const struct metrics_node *m = &s->nodes[i];

		for (r = 0; r < HL_REASON_MAX; r++) {
			struct expo_label lb[] = { { "service", m->svc },
						   { "node", m->node },
						   { "reason", reason_name(r) } };

			if ((HL_EVENT_REASONS & (1ull << r)) && m->drops.count[r])
				expo_sample_u64(e, lb, 3, m->drops.count[r]);
		}
	}
}

static void write_nodes(struct expo *e, const struct metrics_snap *s)
{
	NODE_COUNTER(e, s, "helios_node_packets",
		     "Packets forwarded to the node.", c.packets);
	NODE_COUNTER(e, s, "helios_node_bytes",
		     "Frame bytes forwarded to the node, as received.", c.bytes);
	NODE_COUNTER(e, s, "helios_node_flows",
		     "New flows given to the node.", c.flows);
	NODE_COUNTER(e, s, "helios_node_syn_retransmits",
		     "SYNs again on a known flow of the node (it did not answer).",
		     c.syn_retrans);
	NODE_COUNTER(e, s, "helios_node_client_resets",
		     "RSTs clients sent on the node's flows.", c.rsts);
	write_node_drops(e, s);
	NODE_FAMILY(e, s, "helios_node_active_flows", EXPO_GAUGE,
		    "Open flows of the node (counted for lc, p2c, bounded-load and NAT).",
		    m->active > 0 ? m->active : 0);
	NODE_FAMILY(e, s, "helios_node_weight", EXPO_GAUGE,
		    "Configured (admin) weight; 0 drains.", m->weight);
	NODE_FAMILY(e, s, "helios_node_effective_weight", EXPO_GAUGE,
		    "Weight the node's table is built with (health, breaker, slow start, adaptive).",
		    m->eff_weight);
	NODE_FAMILY(e, s, "helios_node_health_state", EXPO_GAUGE,
		    "Agent's judgement: 0 healthy, 1 degraded, 2 transitioning, 3 unhealthy, -1 not probed.",
		    health_code(&m->h, m->h.state));
	NODE_FAMILY(e, s, "helios_node_role", EXPO_GAUGE,
		    "Role the probes found: 0 any, 1 primary, 2 standby, 3 replica, -1 not probed.",
		    health_code(&m->h, m->h.role));
	NODE_FAMILY(e, s, "helios_node_breaker_state", EXPO_GAUGE,
		    "Circuit breaker: 0 closed, 1 open, 2 half-open, -1 not probed.",
		    health_code(&m->h, m->h.breaker));
	NODE_FAMILY(e, s, "helios_node_probe_latency_ema_seconds", EXPO_GAUGE,
		    "Moving average of the probes' latency.", m->h.ema_us / 1e6);
	NODE_FAMILY(e, s, "helios_node_replication_lag_seconds", EXPO_GAUGE,
		    "Replication lag in time (standbys; 0 when unknown).",
		    m->h.lag_ms / 1e3);
	NODE_FAMILY(e, s, "helios_node_replication_lag_bytes", EXPO_GAUGE,
		    "Replication lag in WAL bytes (standbys; 0 when unknown).",
		    (double)m->h.lag_bytes);
}

static void write_director(struct expo *e, const struct metrics_snap *s)
{
	unsigned int r;

	expo_family(e, "helios_verdicts", EXPO_COUNTER,
		    "Every packet the director saw, by verdict reason.");
	for (r = 0; r < HL_REASON_MAX; r++) {
		struct expo_label lb[] = { { "reason", reason_name(r) } };

		expo_sample_u64(e, lb, 1, s->verdicts[r]);
	}
	expo_family(e, "helios_monitor_events", EXPO_COUNTER,
		    "Data-path events written to the ring buffer for helios-agent monitor.");
	expo_sample_u64(e, NULL, 0, s->mon.emitted);
	expo_family(e, "helios_monitor_events_lost", EXPO_COUNTER,
		    "Data-path events lost: the ring buffer was full.");
	expo_sample_u64(e, NULL, 0, s->mon.lost);
	expo_family(e, "helios_monitor_events_skipped", EXPO_COUNTER,
		    "Data-path events skipped by the monitor's sampling or budget.");
	expo_sample_u64(e, NULL, 0, s->mon.sampled_out + s->mon.over_budget);
}

int metrics_write(struct store *st, struct expo *e)
{
	struct metrics_snap s;
	int err = metrics_snap_read(st, &s);

	if (!err) {
		write_services(e, &s);
		write_nodes(e, &s);
		write_director(e, &s);
	}
	metrics_snap_free(&s);
	return err;
}
