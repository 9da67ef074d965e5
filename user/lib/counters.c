// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/counters.h"

int percpu_sum(int fd, __u32 key, void *sum, size_t size)
{
	size_t ncpus = libbpf_num_possible_cpus(), words = size / sizeof(__u64);
	__u64 *percpu, *out = sum;
	size_t cpu, w;
	int err = 0;

	memset(sum, 0, size);
	percpu = calloc(ncpus, size);
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, percpu))
		err = -errno;
	for (cpu = 0; !err && cpu < ncpus; cpu++)
		for (w = 0; w < words; w++)
			out[w] += percpu[cpu * words + w];
	free(percpu);
	return err;
}

int percpu_zero(int fd, __u32 key, size_t size, bool percpu)
{
	size_t n = percpu ? libbpf_num_possible_cpus() : 1;
	void *zero = calloc(n, size);
	int err;

	if (!zero)
		return -ENOMEM;
	err = bpf_map_update_elem(fd, &key, zero, BPF_ANY) ? -errno : 0;
	free(zero);
	return err;
}

int counters_read(struct store *st, enum store_map map, __u32 id,
		  struct hl_counters *sum)
{
	return percpu_sum(st->fds[map], id, sum, sizeof(*sum));
}

int limit_stats_read(struct store *st, enum store_map map, __u32 id,
		     struct hl_limit_stats *sum)
{
	return percpu_sum(st->fds[map], id, sum, sizeof(*sum));
}

int reasons_read(struct store *st, __u64 counts[HL_REASON_MAX])
{
	__u32 r;

	for (r = 0; r < HL_REASON_MAX; r++)
		if (percpu_sum(st->fds[MAP_REASONS], r, &counts[r], sizeof(__u64)))
			counts[r] = 0;
	return 0;
}

static const char *const reason_names[HL_REASON_MAX] = {
#define REASON_NAME(name, nr, str) [nr] = (str),
	HL_REASONS(REASON_NAME)
#undef REASON_NAME
};

const char *reason_name(__u32 reason)
{
	return reason < HL_REASON_MAX ? reason_names[reason] : "?";
}
