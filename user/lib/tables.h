/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-strategy table builders: user space does the heavy work so that the
 * XDP program stays O(1) (or a short bounded loop) per new flow.
 *
 *   maglev, srchash, primary, replica, prefer-zone, random, p2c:
 *	a weighted Maglev table (random and p2c index it at random: its slot
 *	shares are the weight shares, so it is also a weighted slot array)
 *   wrr:	a smooth weighted round-robin sequence (nginx's algorithm)
 *   rendezvous, lc: the usable node list (struct hl_node_list, at most HL_SEL_MAX)
 *
 * Which nodes go in: node_table_weight() (health, drain, agent scale), then
 * the strategy's rule: primary keeps the primary (never a Degraded one),
 * replica the replicas and standbys (or the primary, with `fallback
 * primary`, when none is usable), prefer-zone the director's zone (or every
 * node when none of the zone is usable).
 */
#ifndef HELIOS_LIB_TABLES_H
#define HELIOS_LIB_TABLES_H

#include <stdbool.h>
#include <helios/abi.h>

#include "lib/options.h"
#include "lib/store.h"

struct strat_tables {
	__u32 *table;		/* the slot array, `len` entries (malloc'ed) */
	__u32 len;
	struct hl_node_list list;	/* usable nodes, weights and seeds */
};

/* For option tables (lib/options.h). */
extern const struct opt_choice strategy_choices[], hash_choices[];

bool node_usable_for_new(const struct hl_node *node);
/* The weight a node's slots are built with: hl_node_weight() (the ABI's,
 * which BPF's picks use too), 0 when not usable for new flows. */
__u32 node_table_weight(const struct hl_node *node);

int hl_strategy_parse(const char *str, __u8 *strategy);
const char *hl_strategy_name(__u8 strategy);
int hl_hash_parse(const char *str, __u8 *mode);
const char *hl_hash_name(__u8 mode);

/* Strategies whose BPF side loops over struct hl_node_list: node count capped. */
bool strategy_needs_list(__u8 strategy);
/* Strategies that read a Maglev table by flow hash (bounded-load applies). */
bool strategy_hashes(__u8 strategy);

/*
 * Smooth WRR (nginx): each pick adds every node's weight to its current
 * value, takes the largest and subtracts the total from it. Weights are
 * divided by their gcd; when their sum exceeds `max` they are scaled down
 * (each non-zero weight keeps at least 1), so the sequence has at most
 * `max` entries. Writes the node ids to seq, the length to *len.
 */
int swrr_build(const __u32 *ids, const __u32 *weights, unsigned int count,
	       __u32 max, __u32 *seq, __u32 *len);

/*
 * Build every table `svc` needs from the node snapshot (HL_MAX_NODES
 * entries) and the director's zone ("" for none). Returns -E2BIG when a
 * list strategy has more than HL_SEL_MAX usable nodes.
 */
int strategy_build(const struct hl_service *svc, const struct hl_node *nodes,
		   const char *zone, struct strat_tables *out);
void strategy_tables_free(struct strat_tables *t);

/* Build `svc`'s tables from st->nodes and the director's zone and swap
 * them in: the node list, then the service's spare slot table. Sets
 * svc->slots (the new length) and svc->table (the spare, now current);
 * writing the service entry, which makes the packets use it, is the
 * caller's (lib/services.c). */
int tables_swap(struct store *st, struct hl_service *svc);

/*
 * A 64-bit fingerprint of the tables `svc` uses now (its slot array and
 * node list as the maps hold them, strategy, hash and bounded load), with
 * every node named by family, address and port rather than by its id:
 * directors built from the same configuration give the same digest
 * whatever order their nodes were added in. st->nodes must be loaded.
 */
int tables_digest(struct store *st, const struct hl_service *svc,
		  __u64 *digest);

#endif /* HELIOS_LIB_TABLES_H */
