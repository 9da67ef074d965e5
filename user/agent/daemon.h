/* SPDX-License-Identifier: GPL-2.0 */
/*
 * helios-agent run, private to its files: the daemon's state (struct agent,
 * its services and their probed nodes) and the functions one file calls in
 * another. agent.c has the loop and the signals, probing.c the probes and
 * the 1 s sync, commit.c the decisions written to the maps, agent_events.c
 * the events for `monitor`, bgp.c the announcements, apply.c the
 * configuration applied to the maps, agent_metrics.c the agent's metrics.
 */
#ifndef HELIOS_AGENT_DAEMON_H
#define HELIOS_AGENT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <event2/event.h>

#include "agent/announce.h"
#include "agent/config.h"
#include "agent/decide.h"
#include "agent/health.h"
#include "agent/probe.h"
#include "lib/store.h"

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
	__u8 pool;			/* enum hl_pool: the primary's pg_stat_replication, or Patroni */
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

struct expo;

/* agent.c */
void log_msg(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
__u32 agent_random(struct agent *a);
void timer_in(struct event *ev, __u32 ms);

/* commit.c */
void health_save(struct agent_node *an);
void health_resume(struct agent_node *an);
void svc_commit(struct agent_svc *as);
bool datapath_trouble(struct agent_node *an, __u64 now);

/* agent_events.c */
const char *node_label(const struct agent_node *an, char *buf, size_t len);
void node_events(struct agent_node *an);
void svc_events(struct agent_svc *as, const char *what, const char *msg);
void failover_event(struct agent_svc *as, const struct decide_svc *ds,
		    struct agent_node *first, unsigned int n);
void reload_event(struct agent *a, bool ok, const char *why);

/* bgp.c */
void announce_sync(struct agent *a);
void bgp_start(struct agent *a);
void bgp_stop(struct agent *a);

/* probing.c */
void node_free(struct agent_node *an);
void sync_all(evutil_socket_t fd, short what, void *arg);

/* apply.c */
int apply_config(struct agent *a, const struct agent_conf *old,
		 const struct agent_conf *new);
void svcs_free(struct agent *a);
int svcs_build(struct agent *a, struct agent_conf *conf);

/* agent_metrics.c */
void agent_metrics(struct expo *e, void *arg);

#endif /* HELIOS_AGENT_DAEMON_H */
