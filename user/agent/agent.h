/* SPDX-License-Identifier: GPL-2.0 */
/* The health agent's commands: the daemon (agent.c) and what it last judged
 * (cmd_health.c). */
#ifndef HELIOS_AGENT_H
#define HELIOS_AGENT_H

#include "cmd/cli.h"
#include "lib/options.h"

extern const struct cli_object run_object, health_object, probe_object,
	config_object, monitor_object, top_object, switchover_object;

/* Their option tables, for `help markdown`. */
extern const struct opt monitor_opts[], top_opts[], switchover_opts[];

#endif /* HELIOS_AGENT_H */
