/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the agent's configuration file last set, per node, pinned beside
 * the maps (`agent_nodes`: node id -> hashes of the service and address,
 * and of the file's whole node entry). A restarted agent cannot know the
 * file it ran with before; with this record it acts as if it had never
 * died: it sets a node whose entry changed while it was down, deletes a
 * node the file no longer has, and leaves alone what the file did not
 * change (an operator's CLI weight, a node added with the CLI).
 */
#ifndef HELIOS_AGENT_RESUME_H
#define HELIOS_AGENT_RESUME_H

#include <stdbool.h>
#include <helios/abi.h>

#include "agent/config.h"
#include "lib/store.h"

#define CONF_RECORD_PIN	"agent_nodes"

/* Open (or create and pin) the record: its fd, or -errno. */
int conf_record_open(struct store *st);
void conf_record_put(int fd, __u32 id, const struct hl_svc_key *svc,
		     const struct node_conf *nc);
void conf_record_del(int fd, __u32 id);
/* Node id holds the file's entry `nc` of service `svc`, as last set. */
bool conf_record_same(int fd, __u32 id, const struct hl_svc_key *svc,
		      const struct node_conf *nc);
/* Node id (at `addr`, `port` 0 or its own) was put there by the file of
 * service `svc`. */
bool conf_record_ours(int fd, __u32 id, const struct hl_svc_key *svc,
		      const struct ip_addr *addr, __be16 port);

#endif /* HELIOS_AGENT_RESUME_H */
