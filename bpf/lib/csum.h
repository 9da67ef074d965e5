/* SPDX-License-Identifier: GPL-2.0 */
/* Internet checksum pieces. Sums run in 64 bits over 32-bit words and fold
 * at the end; one's-complement addition does not care about word size. */
#ifndef HELIOS_BPF_CSUM_H
#define HELIOS_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Sum of `words` 32-bit words of a buffer on the stack or in a map value;
 * `words` is a constant, so the loop unrolls. */
static __always_inline __u64 csum_words(const void *buf, int words)
{
	const __u32 *w = buf;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < words; i++)
		sum += w[i];
	return sum;
}

#endif /* HELIOS_BPF_CSUM_H */
