// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/clock.h"
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/monitor.h"

static int monitor_write(struct store *st, const struct hl_monitor *m)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(st->fds[MAP_MONITOR], &zero, m, BPF_ANY)) {
		hl_err("cannot write the monitor switch: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int monitor_take(struct store *st)
{
	struct hl_monitor m;
	__u32 zero = 0;
	__u64 now = hl_now_ns();

	if (bpf_map_lookup_elem(st->fds[MAP_MONITOR], &zero, &m)) {
		hl_err("cannot read the monitor switch: %s", strerror(errno));
		return -errno;
	}
	if (m.until_ns > now) {
		hl_err("another monitor takes the data-path events (its lease "
		       "ends in %llu ms unless it renews it)",
		       (unsigned long long)(m.until_ns - now) / 1000000);
		return -EBUSY;
	}
	return 0;
}

int monitor_arm(struct store *st, __u32 sample, __u32 budget)
{
	/* The data path compares with the coarse clock, which may lag the
	 * precise one by a tick: the lease is seconds, that is nothing. */
	struct hl_monitor m = {
		.until_ns = hl_now_ns() + MONITOR_LEASE_MS * 1000000ull,
		.sample = sample,
		.budget = budget,
	};

	return monitor_write(st, &m);
}

int monitor_disarm(struct store *st)
{
	struct hl_monitor m = {};

	return monitor_write(st, &m);
}

int monitor_counts(struct store *st, struct hl_mon_cpu *sum)
{
	return percpu_sum(st->fds[MAP_MON_CPU], 0, sum, sizeof(*sum));
}
