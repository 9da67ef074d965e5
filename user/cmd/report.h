/* SPDX-License-Identifier: GPL-2.0 */
/* Printers shared by `node list` and `stats`: one plain and one JSON form. */
#ifndef HELIOS_CMD_REPORT_H
#define HELIOS_CMD_REPORT_H

#include <helios/abi.h>

#include "lib/counters.h"	/* reason_name() */

struct json_object;
struct store;

/* A node as JSON: addr, port (its own, or the service's: own_port says),
 * weight, role, zone, state, packets, bytes, flows. */
struct json_object *node_json(struct store *st, __u32 id,
			      const struct hl_svc_key *svc);
void node_row_header(void);
/* NODE is ADDR, or ADDR:PORT for a node with a port of its own. */
void node_row(struct store *st, __u32 id, const char *svc_name);

/* `node list`: every node of `only` (or of every service). */
int nodes_print(struct store *st, const struct hl_svc_key *only);
void nodes_print_empty(void);

#endif /* HELIOS_CMD_REPORT_H */
