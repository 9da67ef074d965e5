/* SPDX-License-Identifier: GPL-2.0 */
/* The backend side of IPIP: `decap attach` and the configuration file's
 * `decap` groups (user/agent/config.c) go through these. */
#ifndef HELIOS_CMD_DECAP_H
#define HELIOS_CMD_DECAP_H

#include <stdbool.h>

#include "lib/parse.h"

#define DECAP_MAX_VIPS	64

/* Add the VIPs to the pinned decap_vips map and attach the TC program to
 * dev unless it is already: attaching twice only adds VIPs. */
int decap_attach(const char *dev, const struct ip_addr *vips, unsigned int n);
/* Whether dev has the decap program. */
bool decap_on(const char *dev);
/* The pinned VIPs (of every device: one map), at most max; 0 when none. */
int decap_vips(struct ip_addr *vips, unsigned int max);

#endif /* HELIOS_CMD_DECAP_H */
