/* SPDX-License-Identifier: GPL-2.0 */
/* The health agent's commands: the daemon (agent.c) and what it last judged
 * (cmd_health.c). */
#ifndef HELIOS_AGENT_H
#define HELIOS_AGENT_H

int do_run(int argc, char **argv);
int do_health(int argc, char **argv);

#endif /* HELIOS_AGENT_H */
