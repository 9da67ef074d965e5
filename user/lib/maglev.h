/* SPDX-License-Identifier: GPL-2.0 */
/* Weighted Maglev lookup table (Eisenbud et al., NSDI 2016). */
#ifndef HELIOS_MAGLEV_H
#define HELIOS_MAGLEV_H

#include <helios/abi.h>

struct maglev_node {
	__u32 id;		/* value stored in the slots */
	__u32 weight;		/* 0: not in the table */
	__be32 addr[4];		/* the permutation derives from the address */
	__be16 port;		/* and its own port (fwd nat), 0 for none */
	__u8 family;
};

/* Order by address, family and port: the builders' canonical input order,
 * so that no table depends on node ids or the order nodes were added. */
int maglev_node_cmp(const struct maglev_node *x, const struct maglev_node *y);

/*
 * Fill table[0..ring_size) with node ids. Each node gets a share of slots
 * equal to its weight share (rounded by largest remainder, so off by at most
 * one slot), claimed in the order of its own permutation of the ring. The
 * result depends only on the set of (address, port, weight), not on node ids or
 * input order: two directors, or a restarted one, build the same table.
 * ring_size must be prime. Slots are HL_NODE_NONE when no node has weight.
 */
int maglev_build(const struct maglev_node *nodes, unsigned int count,
		 __u32 ring_size, __u32 *table);

/* A per-node 32-bit seed derived from the address alone (like the
 * permutation), for rendezvous hashing: directors agree without sharing
 * node ids. */
__u32 maglev_node_seed(const struct maglev_node *n);

#endif /* HELIOS_MAGLEV_H */
