/* SPDX-License-Identifier: GPL-2.0 */
/* Rate limits and priority classes: parsing, bucket arithmetic, prefixes. */
#ifndef HELIOS_RATE_H
#define HELIOS_RATE_H

#include <stdbool.h>
#include <helios/abi.h>

#define BYTES_BURST_MIN		1518	/* one full Ethernet frame + VLAN */

struct rate_spec {
	bool off;
	bool leaky;
	__u64 rate;		/* units per second */
	__u64 burst;		/* 0: default */
	long prefix;		/* client-rate: prefix length, -1: default */
};

extern const char *const limit_names[HL_LIMIT_MAX];

/*
 * Parse `N[/s] [burst B] [leaky] [prefix LEN]` or `off` (prefix only with
 * allow_prefix). N takes k, M, G (x1000). Consumes all of argv; returns 0
 * or -EINVAL after a one-line error. `what` names the limit in errors.
 */
int parse_rate(int argc, char **argv, const char *what, bool allow_prefix,
	       struct rate_spec *r);

/* Fill a bucket for `rate` units/s with `burst` units (0: a tenth of a
 * second's worth, at least `min_burst`). -ERANGE after an error when the
 * numbers do not fit the fixed point. The tat starts at 0 (= full). */
int bucket_set(struct hl_bucket *b, const char *what, __u64 rate, __u64 burst,
	       __u64 min_burst);
/* Rate and burst back from a bucket (for display). */
__u64 bucket_rate(const struct hl_bucket *b);
__u64 bucket_burst(const struct hl_bucket *b);

/* PREFIX := ADDR/LEN; the host bits must be zero. */
int parse_prefix(const char *str, struct hl_class_key *key);
const char *format_prefix(const struct hl_class_key *key, char *buf,
			  unsigned long len);
/* Same family and one contains the other. */
bool prefixes_overlap(const struct hl_class_key *a, const struct hl_class_key *b);
int parse_class_name(const char *str, char name[HL_CLASS_NAME_LEN]);

#endif /* HELIOS_RATE_H */
