/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the bench programs (bench/NAME.c): test frames, BPF_PROG_TEST_RUN, per-CPU
 * sums, summaries and JSON. Each bench program is one .c file linked with
 * libhelios.a (see the Makefile), so the helpers here are static.
 */
#ifndef HELIOS_BENCH_H
#define HELIOS_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <helios/abi.h>

#include "lib/counters.h"

#include "lib/clock.h"

#define BENCH_PKT_MAX	128	/* as in bench/bpf/floors.bpf.c */

static const __u8 mac_client[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const __u8 mac_dir[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x03 };
static const __u8 mac_router[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static inline void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* The library's clock, under the name the bench programs call it by. */
static inline __u64 now_ns(void)
{
	return hl_now_ns();
}

/* ---- frames -------------------------------------------------------------- */

struct frame {
	__u8 b[BENCH_PKT_MAX];
	__u32 len;
	__u8 family;		/* enum hl_family */
	__u8 proto;
	__u16 bump_lo;		/* offset of the source port */
	__u16 bump_hi;		/* offset of the low half of the source address */
};

static inline __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static inline __u16 ip_csum(const void *p, int len)
{
	const __u16 *w = p;
	__u32 sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	return csum_fold(sum);
}

/*
 * An untagged IPv4 or IPv6 frame of `len` bytes (padding as payload) from
 * src:sport to dst:dport. tcp_flags 0 with proto TCP means ACK.
 */
static inline void frame_build(struct frame *f, int family, const __be32 *src,
			const __be32 *dst, __u16 sport, __u16 dport, __u8 proto,
			__u8 tcp_flags, __u32 len)
{
	struct ethhdr *eth = (void *)f->b;
	__u32 l3 = sizeof(*eth), l4, l4len;

	memset(f, 0, sizeof(*f));
	f->len = len;
	f->family = family;
	f->proto = proto;
	memcpy(eth->h_dest, mac_dir, ETH_ALEN);
	memcpy(eth->h_source, mac_client, ETH_ALEN);
	if (family == HL_AF_INET) {
		struct iphdr *ip = (void *)(f->b + l3);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(len - l3);
		ip->frag_off = htons(0x4000);	/* DF */
		ip->ttl = 64;
		ip->protocol = proto;
		ip->saddr = src[0];
		ip->daddr = dst[0];
		ip->check = ip_csum(ip, sizeof(*ip));
		l4 = l3 + sizeof(*ip);
		f->bump_hi = l3 + offsetof(struct iphdr, saddr) + 2;
	} else {
		struct ipv6hdr *ip6 = (void *)(f->b + l3);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->payload_len = htons(len - l3 - sizeof(*ip6));
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, src, 16);
		memcpy(&ip6->daddr, dst, 16);
		l4 = l3 + sizeof(*ip6);
		f->bump_hi = l3 + offsetof(struct ipv6hdr, saddr) + 14;
	}
	l4len = len - l4;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(f->b + l4);

		th->source = htons(sport);
		th->dest = htons(dport);
		th->seq = htonl(1);
		th->doff = 5;
		f->b[l4 + 13] = tcp_flags ? tcp_flags : 0x10;
		th->window = htons(65535);
	} else {
		struct udphdr *uh = (void *)(f->b + l4);

		uh->source = htons(sport);
		uh->dest = htons(dport);
		uh->len = htons(l4len);
	}
	f->bump_lo = l4;	/* source port: first field of TCP and UDP */
}

/* The frame the wrapper makes for flow number c. */
static inline void frame_bumped(const struct frame *f, __u32 c, __u8 *out)
{
	__u16 lo = htons(c & 0xffff), hi = htons(c >> 16);

	memcpy(out, f->b, f->len);
	memcpy(out + f->bump_lo, &lo, 2);
	memcpy(out + f->bump_hi, &hi, 2);
}

/* The connection-table key of a frame as the director builds it. */
static inline void frame_flow_key(const __u8 *b, int family, struct hl_flow_key *k)
{
	__u32 l4;

	memset(k, 0, sizeof(*k));
	k->family = family;
	if (family == HL_AF_INET) {
		const struct iphdr *ip = (const void *)(b + ETH_HLEN);

		k->src[0] = ip->saddr;
		k->dst[0] = ip->daddr;
		k->proto = ip->protocol;
		l4 = ETH_HLEN + sizeof(*ip);
	} else {
		const struct ipv6hdr *ip6 = (const void *)(b + ETH_HLEN);

		memcpy(k->src, &ip6->saddr, 16);
		memcpy(k->dst, &ip6->daddr, 16);
		k->proto = ip6->nexthdr;
		l4 = ETH_HLEN + sizeof(*ip6);
	}
	memcpy(&k->sport, b + l4, 2);
	memcpy(&k->dport, b + l4 + 2, 2);
}

/* ---- BPF_PROG_TEST_RUN --------------------------------------------------- */

struct run {
	__u32 retval;
	__u32 ns;		/* kernel-measured, per repetition */
	__u8 out[BENCH_PKT_MAX + 64];
	__u32 out_len;
};

static inline void prog_run(int fd, const void *data, __u32 len, __u32 repeat,
		     struct run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = data,
		    .data_size_in = len,
		    .data_out = r->out,
		    .data_size_out = sizeof(r->out),
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &opts))
		die("BPF_PROG_TEST_RUN: %s", strerror(errno));
	r->retval = opts.retval;
	r->ns = opts.duration;
	r->out_len = opts.data_size_out;
}

/* ---- map reading --------------------------------------------------------- */

static inline int ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

/* Per-CPU sums through the library's one summing function. */
static inline __u64 percpu_u64(int fd, __u32 key)
{
	__u64 sum;

	if (percpu_sum(fd, key, &sum, sizeof(sum)))
		die("per-CPU lookup: %s", strerror(errno));
	return sum;
}

static inline __u64 percpu_flows(int fd, __u32 key)
{
	struct hl_counters sum;

	if (percpu_sum(fd, key, &sum, sizeof(sum)))
		die("per-CPU lookup: %s", strerror(errno));
	return sum.flows;
}

/* Entries of a connection table (hl_flow_key -> hl_flow), by batches. */
static inline __u64 ct_count(int fd)
{
	static struct hl_flow_key keys[8192];
	static struct hl_flow vals[8192];
	__u32 batch, n;
	void *in = NULL;
	__u64 total = 0;
	int err;

	for (;;) {
		n = 8192;
		err = bpf_map_lookup_batch(fd, in, &batch, keys, vals, &n, NULL);
		total += n;
		if (err) {
			if (errno == ENOENT)
				break;
			die("counting entries: %s", strerror(errno));
		}
		in = &batch;
	}
	return total;
}

/* ---- summaries and JSON -------------------------------------------------- */

struct summary {
	double min, med, max;
};

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct summary summarize(const double *v, int n)
{
	double s[n > 0 ? n : 1];
	struct summary r = { 0 };

	if (n < 1)
		return r;	/* no rounds: no s[n - 1] either */
	memcpy(s, v, sizeof(s));
	qsort(s, n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

static inline struct json_object *jdouble(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.2f", v);
	return json_object_new_double_s(v, buf);
}

static inline struct json_object *jsummary(const double *v, int n)
{
	struct summary s = summarize(v, n);
	struct json_object *o = json_object_new_object(), *a;
	int i;

	json_object_object_add(o, "min", jdouble(s.min));
	json_object_object_add(o, "median", jdouble(s.med));
	json_object_object_add(o, "max", jdouble(s.max));
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, jdouble(v[i]));
	json_object_object_add(o, "runs", a);
	return o;
}

static inline void json_write(struct json_object *o, const char *path)
{
	if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY |
				    JSON_C_TO_STRING_NOSLASHESCAPE))
		die("cannot write %s: %s", path, json_util_get_last_err());
}

#endif /* HELIOS_BENCH_H */
