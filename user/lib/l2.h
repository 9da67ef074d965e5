/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forwarding mode l2 (HL_FWD_L2) in user space. The data path sends a
 * node's packets to the node's own MAC, unchanged otherwise, so the node
 * must sit on a segment the director reaches directly: a connected route,
 * no gateway (a router would get the frame and route it by the VIP, back
 * to us). Checked when a node joins an l2 service and when a service with
 * nodes becomes l2; refused with -EINVAL and hl_err() naming the node.
 */
#ifndef HELIOS_LIB_L2_H
#define HELIOS_LIB_L2_H

#include <stddef.h>
#include <helios/abi.h>

#include "lib/store.h"

/* 0 when `node` is directly connected; else -EINVAL, and `why` (if any)
 * says so in words: "routed via 198.18.0.1", "has no route", ... */
int l2_node_direct(const struct hl_node *node, char *why, size_t len);

/* Node add: 0, or -EINVAL with hl_err("node ADDR ..."). */
int l2_node_check(const struct hl_node *node);

/* Service `svc_id` becomes l2: every node of it (st->nodes loaded). */
int l2_service_check(struct store *st, __u32 svc_id, const char *svc_name);

#endif /* HELIOS_LIB_L2_H */
