/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-CPU counters summed over the CPUs, in one place. Every per-CPU value
 * the data path counts in (struct hl_counters, hl_limit_stats, reason
 * counts) is made of __u64 fields only, so one field-wise sum serves all.
 */
#ifndef HELIOS_LIB_COUNTERS_H
#define HELIOS_LIB_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <helios/abi.h>

#include "lib/store.h"

/* Sum the per-CPU value at `key` of `fd` into `sum` (`size` bytes, a
 * multiple of 8). */
int percpu_sum(int fd, __u32 key, void *sum, size_t size);
/* Write a zeroed value for every CPU (or one, for a plain map). */
int percpu_zero(int fd, __u32 key, size_t size, bool percpu);

int counters_read(struct store *st, enum store_map map, __u32 id,
		  struct hl_counters *sum);
int limit_stats_read(struct store *st, enum store_map map, __u32 id,
		     struct hl_limit_stats *sum);
int reasons_read(struct store *st, __u64 counts[HL_REASON_MAX]);
/* A verdict reason's name (abi.h), "?" for an unknown number. */
const char *reason_name(__u32 reason);

#endif /* HELIOS_LIB_COUNTERS_H */
