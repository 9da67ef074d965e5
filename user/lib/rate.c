// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/parse.h"
#include "lib/rate.h"

const char *const limit_names[HL_LIMIT_MAX] = {
	[HL_LIMIT_CONN]		= "conn",
	[HL_LIMIT_PKT]		= "pkt",
	[HL_LIMIT_BYTES]	= "bytes",
	[HL_LIMIT_CLIENT]	= "client",
	[HL_LIMIT_CLASS]	= "class",
};

/* A positive count with an optional k/M/G multiplier, e.g. 500, 10k, 1G. */
static int parse_count(const char *str, const char *what, __u64 *val)
{
	unsigned long long v, mult = 1;
	char *end;

	errno = 0;
	if (*str < '0' || *str > '9')
		goto bad;
	v = strtoull(str, &end, 10);
	if (errno)
		goto bad;
	if (*end == 'k' || *end == 'K')
		mult = 1000, end++;
	else if (*end == 'M')
		mult = 1000000, end++;
	else if (*end == 'G')
		mult = 1000000000, end++;
	if (*end || !v || v > ~0ull / mult)
		goto bad;
	*val = v * mult;
	return 0;
bad:
	hl_err("invalid %s '%s': expected a positive integer (k, M, G allowed)",
	       what, str);
	return -EINVAL;
}

int parse_rate(int argc, char **argv, const char *what, bool allow_prefix,
	       struct rate_spec *r)
{
	char buf[64], *slash, label[64];
	unsigned long plen;

	memset(r, 0, sizeof(*r));
	r->prefix = -1;
	if (argc < 1) {
		hl_err("%s needs a rate (N[/s]) or off", what);
		return -EINVAL;
	}
	if (!strcmp(argv[0], "off")) {
		r->off = true;
		if (argc > 1) {
			hl_err("unexpected '%s' after off", argv[1]);
			return -EINVAL;
		}
		return 0;
	}
	if (strlen(argv[0]) >= sizeof(buf)) {
		hl_err("invalid %s rate '%s'", what, argv[0]);
		return -EINVAL;
	}
	strcpy(buf, argv[0]);
	slash = strchr(buf, '/');
	if (slash) {
		if (strcmp(slash, "/s")) {
			hl_err("invalid %s rate '%s': the unit is per second (N or N/s)",
			       what, argv[0]);
			return -EINVAL;
		}
		*slash = '\0';
	}
	snprintf(label, sizeof(label), "%s rate", what);
	if (parse_count(buf, label, &r->rate))
		return -EINVAL;
	argc--, argv++;
	while (argc) {
		if (!strcmp(argv[0], "leaky")) {
			r->leaky = true;
			argc--, argv++;
			continue;
		}
		if (argc < 2) {
			hl_err("unexpected '%s' (expected: burst B, leaky%s)", argv[0],
			       allow_prefix ? ", prefix LEN" : "");
			return -EINVAL;
		}
		if (!strcmp(argv[0], "burst")) {
			snprintf(label, sizeof(label), "%s burst", what);
			if (argv[1][0] == '-' || argv[1][0] == '0') {
				hl_err("invalid %s '%s': the burst must be at least 1",
				       label, argv[1]);
				return -EINVAL;
			}
			if (parse_count(argv[1], label, &r->burst))
				return -EINVAL;
		} else if (allow_prefix && !strcmp(argv[0], "prefix")) {
			if (parse_uint(argv[1], "prefix length", 128, &plen))
				return -EINVAL;
			if (!plen) {
				hl_err("invalid prefix length 0: one bucket for every client is `rate conn`");
				return -EINVAL;
			}
			r->prefix = plen;
		} else {
			hl_err("unexpected '%s' (expected: burst B, leaky%s)", argv[0],
			       allow_prefix ? ", prefix LEN" : "");
			return -EINVAL;
		}
		argc -= 2, argv += 2;
	}
	if (r->leaky && r->burst) {
		hl_err("%s: leaky paces strictly (burst 1): no burst with it", what);
		return -EINVAL;
	}
	return 0;
}

int bucket_set(struct hl_bucket *b, const char *what, __u64 rate, __u64 burst,
	       __u64 min_burst)
{
	__u64 cost;

	memset(b, 0, sizeof(*b));
	cost = HL_TB_NS / rate;
	if (!cost || HL_TB_NS / cost - rate > rate / 100) {
		hl_err("%s rate %llu/s is too high (at most %llu/s)", what,
		       (unsigned long long)rate,
		       (unsigned long long)(HL_TB_NS / 100));
		return -ERANGE;
	}
	if (!burst)
		burst = rate / 10 > min_burst ? rate / 10 : min_burst;
	if (burst < min_burst) {
		hl_err("%s burst %llu is too small (at least %llu)", what,
		       (unsigned long long)burst, (unsigned long long)min_burst);
		return -ERANGE;
	}
	if (burst > (1ull << 62) / cost) {
		hl_err("%s burst %llu is too large for %llu/s", what,
		       (unsigned long long)burst, (unsigned long long)rate);
		return -ERANGE;
	}
	b->cost = cost;
	b->tolerance = burst * cost;
	return 0;
}

__u64 bucket_rate(const struct hl_bucket *b)
{
	return b->cost ? (HL_TB_NS + b->cost / 2) / b->cost : 0;
}

__u64 bucket_burst(const struct hl_bucket *b)
{
	return b->cost ? b->tolerance / b->cost : 0;
}

int parse_prefix(const char *str, struct hl_class_key *key)
{
	char buf[64], *slash;
	struct ip_addr a;
	unsigned long plen, max;
	__be32 w[4];
	int i;

	memset(key, 0, sizeof(*key));
	if (strlen(str) >= sizeof(buf) || !(slash = strchr(strcpy(buf, str), '/')))
		goto bad;
	*slash++ = '\0';
	i = parse_addr(buf, &a);
	if (i || !*slash)
		goto bad;
	max = a.family == HL_AF_INET6 ? 128 : 32;
	if (strspn(slash, "0123456789") != strlen(slash) ||
	    (plen = strtoul(slash, NULL, 10)) > max)
		goto bad;
	memcpy(w, a.w, sizeof(w));
	for (i = 0; i < 4; i++) {
		unsigned long bits = plen > 32ul * i ? plen - 32ul * i : 0;
		__u32 mask = bits >= 32 ? ~0u : bits ? ~0u << (32 - bits) : 0;

		if (ntohl(w[i]) & ~mask) {
			hl_err("prefix '%s' has host bits set: the address must be the network's first",
			       str);
			return -EINVAL;
		}
	}
	key->prefixlen = 32 + plen;
	key->family = a.family;
	memcpy(key->addr, a.w, sizeof(key->addr));
	return 0;
bad:
	hl_err("malformed prefix '%s': expected ADDR/LEN, e.g. 198.18.5.0/24 or fd00:5::/64",
	       str);
	return -EINVAL;
}

const char *format_prefix(const struct hl_class_key *key, char *buf,
			  unsigned long len)
{
	char addr[ADDR_STRLEN];

	format_addr(key->family, key->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, key->prefixlen - 32);
	return buf;
}

bool prefixes_overlap(const struct hl_class_key *a, const struct hl_class_key *b)
{
	__u32 plen = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;
	int i;

	if (a->family != b->family)
		return false;
	plen -= 32;
	for (i = 0; i < 4; i++) {
		__u32 bits = plen > 32u * i ? plen - 32u * i : 0;
		__u32 mask = bits >= 32 ? ~0u : bits ? ~0u << (32 - bits) : 0;

		if ((ntohl(a->addr[i]) ^ ntohl(b->addr[i])) & mask)
			return false;
	}
	return true;
}

int parse_class_name(const char *str, char name[HL_CLASS_NAME_LEN])
{
	const char *c;

	if (!*str || strlen(str) >= HL_CLASS_NAME_LEN)
		goto bad;
	for (c = str; *c; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && *c != '-' && *c != '_')
			goto bad;
	memset(name, 0, HL_CLASS_NAME_LEN);
	strcpy(name, str);
	return 0;
bad:
	hl_err("invalid class name '%s': 1 to %d letters, digits, '-' or '_'",
	       str, HL_CLASS_NAME_LEN - 1);
	return -EINVAL;
}
