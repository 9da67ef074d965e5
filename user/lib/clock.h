/* SPDX-License-Identifier: GPL-2.0 */
/* The one clock user space compares with the data path's bpf_ktime_get_ns(). */
#ifndef HELIOS_LIB_CLOCK_H
#define HELIOS_LIB_CLOCK_H

#include <time.h>
#include <linux/types.h>

static inline __u64 hl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif /* HELIOS_LIB_CLOCK_H */
