/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the pinned maps say, as Prometheus metrics (README "Metrics"):
 * per service, per node and director-wide, written through the
 * exposition writer (expo.h). Reads only. The agent adds its own
 * families (probe counts, loop lag) after these, with the same labels:
 * service VIP:PORT/PROTO (format_svc), node ADDR or ADDR:PORT for a node
 * with a port of its own (format_addr_port).
 */
#ifndef HELIOS_LIB_METRICS_H
#define HELIOS_LIB_METRICS_H

#include <stddef.h>
#include <helios/abi.h>

#include "lib/expo.h"
#include "lib/parse.h"
#include "lib/store.h"

/* One read of everything the families need (and `top` shows), so that
 * the families can then be written one after the other (the format
 * groups samples by family) without reading the maps once per family. */
struct metrics_node {
	__u32 id;
	char node[ADDR_PORT_STRLEN];
	const char *svc;		/* its service's name */
	struct hl_counters c;
	__s64 active;
	struct hl_health h;		/* zero: never probed */
	__u32 weight, eff_weight;	/* admin, table (node_table_weight) */
	struct hl_node_reasons drops;	/* HL_EVENT_REASONS only */
};

struct metrics_svc {
	__u32 id;
	char name[SVC_STRLEN];
	__u32 flags;			/* HL_SVC_F_* */
	struct hl_counters c;
	__s64 active;
	struct hl_limit_stats ls;
	__u64 reasons[HL_REASON_MAX];	/* HL_EVENT_REASONS only */
};

struct metrics_snap {
	struct metrics_svc *svcs;
	unsigned int nsvcs;
	struct metrics_node *nodes;
	unsigned int nnodes;
	__u64 verdicts[HL_REASON_MAX];
	struct hl_mon_cpu mon;		/* summed over the CPUs */
};

/* 0 or -errno; free with metrics_snap_free() either way. */
int metrics_snap_read(struct store *st, struct metrics_snap *s);
void metrics_snap_free(struct metrics_snap *s);
/* A service or node of a snapshot by id, NULL when not in it. */
const struct metrics_svc *metrics_snap_svc(const struct metrics_snap *s,
					   __u32 id);
const struct metrics_node *metrics_snap_node(const struct metrics_snap *s,
					     __u32 id);

/* Every map-derived family. Reads the nodes snapshot afresh. 0 or -errno. */
int metrics_write(struct store *st, struct expo *e);

#endif /* HELIOS_LIB_METRICS_H */
