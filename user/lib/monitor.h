/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data path's event switch (the map `monitor`, struct hl_monitor):
 * written only here, for `helios-agent monitor`. Events flow while a
 * lease is held; a monitor renews it every second.
 */
#ifndef HELIOS_LIB_MONITOR_H
#define HELIOS_LIB_MONITOR_H

#include <helios/abi.h>

#include "lib/store.h"

#define MONITOR_LEASE_MS	3000

/*
 * Take the lease: -EBUSY (hl_err) while another monitor holds it. One
 * monitor at a time: a ring buffer has one consumer position, and two
 * readers would each see a part of the events.
 */
int monitor_take(struct store *st);
/* Switch events on (or renew) for MONITOR_LEASE_MS with this sampling. */
int monitor_arm(struct store *st, __u32 sample, __u32 budget);
/* Switch them off now. */
int monitor_disarm(struct store *st);
/* The emitter's counts, summed over the CPUs. */
int monitor_counts(struct store *st, struct hl_mon_cpu *sum);

#endif /* HELIOS_LIB_MONITOR_H */
