/* SPDX-License-Identifier: GPL-2.0 */
/* `node setup-hint SVC` (cmd/hint.c), a command of the node object. */
#ifndef HELIOS_CMD_HINT_H
#define HELIOS_CMD_HINT_H

int node_setup_hint(int argc, char **argv);

#endif /* HELIOS_CMD_HINT_H */
