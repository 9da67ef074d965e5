/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bob Jenkins' lookup3 hash as in linux/jhash.h, for whole 32-bit words.
 * A real avalanching hash matters: Linux picks even source ports, so an
 * XOR of address and port puts every flow of a client on one node.
 */
#ifndef HELIOS_BPF_JHASH_H
#define HELIOS_BPF_JHASH_H

#include "common.h"

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

#define __jhash_mix(a, b, c)			\
{						\
	a -= c;  a ^= rol32(c, 4);  c += b;	\
	b -= a;  b ^= rol32(a, 6);  a += c;	\
	c -= b;  c ^= rol32(b, 8);  b += a;	\
	a -= c;  a ^= rol32(c, 16); c += b;	\
	b -= a;  b ^= rol32(a, 19); a += c;	\
	c -= b;  c ^= rol32(b, 4);  b += a;	\
}

#define __jhash_final(a, b, c)			\
{						\
	c ^= b; c -= rol32(b, 14);		\
	a ^= c; a -= rol32(c, 11);		\
	b ^= a; b -= rol32(a, 25);		\
	c ^= b; c -= rol32(b, 16);		\
	a ^= c; a -= rol32(c, 4);		\
	b ^= a; b -= rol32(a, 14);		\
	c ^= b; c -= rol32(b, 24);		\
}

#define JHASH_INITVAL		0xdeadbeef

/* jhash2(): `length` must be a compile-time constant so this unrolls. */
static __always_inline __u32 jhash2(const __u32 *k, const __u32 length,
				    __u32 initval)
{
	__u32 a, b, c, len = length;

	a = b = c = JHASH_INITVAL + (length << 2) + initval;

#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (len <= 3)
			break;
		a += k[0];
		b += k[1];
		c += k[2];
		__jhash_mix(a, b, c);
		len -= 3;
		k += 3;
	}

	switch (len) {
	case 3:
		c += k[2];
		/* fallthrough */
	case 2:
		b += k[1];
		/* fallthrough */
	case 1:
		a += k[0];
		__jhash_final(a, b, c);
		/* fallthrough */
	case 0:
		break;
	}
	return c;
}

/* The flow hash: the whole connection-table key, so that both the Maglev
 * slot and the IPv6 flow label follow the client's 5-tuple. */
static __always_inline __u32 hl_flow_hash(const struct hl_flow_key *key)
{
	return jhash2((const __u32 *)key, sizeof(*key) / 4, HL_HASH_SEED);
}

#endif /* HELIOS_BPF_JHASH_H */
