// SPDX-License-Identifier: GPL-2.0
/* Flows: the NAT state from both directions, the timeouts and their option
 * table, and the map walk `conn list` and `conn flush` stand on. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lib/conns.h"
#include "lib/log.h"
#include "unit.h"

#define SYN	HL_NAT_SEEN_SYN
#define ACK	HL_NAT_SEEN_ACK
#define FIN	HL_NAT_SEEN_FIN
#define RST	HL_NAT_SEEN_RST

static void test_state(void)
{
	static const struct {
		const char *what;
		__u8 proto, fwd, reply;
		enum hl_nat_state want;
	} cases[] = {
		{ "SYN only", IPPROTO_TCP, SYN, 0, HL_NAT_SYN_SENT },
		{ "nothing yet", IPPROTO_TCP, 0, 0, HL_NAT_SYN_SENT },
		{ "SYN, SYN-ACK", IPPROTO_TCP, SYN, SYN | ACK, HL_NAT_ESTABLISHED },
		{ "handshake done", IPPROTO_TCP, SYN | ACK, SYN | ACK, HL_NAT_ESTABLISHED },
		{ "a node's ACK alone", IPPROTO_TCP, ACK, ACK, HL_NAT_ESTABLISHED },
		{ "client FIN", IPPROTO_TCP, SYN | ACK | FIN, SYN | ACK, HL_NAT_FIN },
		{ "node FIN", IPPROTO_TCP, SYN | ACK, SYN | ACK | FIN, HL_NAT_FIN },
		{ "FIN both ways", IPPROTO_TCP, SYN | ACK | FIN, SYN | ACK | FIN,
		  HL_NAT_CLOSED },
		{ "client RST", IPPROTO_TCP, SYN | ACK | RST, SYN | ACK, HL_NAT_CLOSED },
		{ "node RST to the SYN", IPPROTO_TCP, SYN, RST | ACK, HL_NAT_CLOSED },
		{ "RST after one FIN", IPPROTO_TCP, SYN | ACK | FIN, ACK | RST,
		  HL_NAT_CLOSED },
		{ "client FIN before any answer", IPPROTO_TCP, SYN | FIN, 0, HL_NAT_FIN },
		{ "UDP, one way", IPPROTO_UDP, 0, 0, HL_NAT_UDP },
		{ "UDP, both ways", IPPROTO_UDP, 0, 0, HL_NAT_UDP },
		{ "UDP ignores flags", IPPROTO_UDP, FIN | RST, FIN, HL_NAT_UDP },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum hl_nat_state s = nat_state(cases[i].proto, cases[i].fwd,
						cases[i].reply);

		CHECK(s == cases[i].want, "%s: %s, expected %s", cases[i].what,
		      nat_state_name(s), nat_state_name(cases[i].want));
	}
	CHECK(!strcmp(nat_state_name(HL_NAT_SYN_SENT), "syn-sent") &&
	      !strcmp(nat_state_name(HL_NAT_ESTABLISHED), "established") &&
	      !strcmp(nat_state_name(HL_NAT_FIN), "fin") &&
	      !strcmp(nat_state_name(HL_NAT_CLOSED), "closed") &&
	      !strcmp(nat_state_name(HL_NAT_UDP), "udp") &&
	      !strcmp(nat_state_name(9), "?"), "names");
}

static void test_timeouts(void)
{
	struct hl_settings cfg = {};

	CHECK(nat_timeout_ns(&cfg, HL_NAT_SYN_SENT) == HL_NAT_SYN_SENT_NS, "syn-sent");
	CHECK(nat_timeout_ns(&cfg, HL_NAT_ESTABLISHED) == 7200ull * 1000000000,
	      "established: 2 h");
	CHECK(nat_timeout_ns(&cfg, HL_NAT_FIN) == HL_NAT_FIN_NS, "fin");
	CHECK(nat_timeout_ns(&cfg, HL_NAT_CLOSED) == HL_NAT_CLOSED_NS, "closed");
	CHECK(nat_timeout_ns(&cfg, HL_NAT_UDP) == HL_NAT_UDP_NS, "udp");
	cfg.nat_timeout_s[HL_NAT_ESTABLISHED] = 600;
	CHECK(nat_timeout_ns(&cfg, HL_NAT_ESTABLISHED) == 600ull * 1000000000,
	      "set: 600 s");
	CHECK(nat_timeout_ns(&cfg, HL_NAT_UDP) == HL_NAT_UDP_NS, "others stay");
	CHECK(nat_timeout_ns(&cfg, 5) == 0, "no state 5");
}

/* The option table sets nat_timeout_s[state] of struct hl_settings: each
 * key its own state, nothing else; bad values refused. */
static void test_timeout_opts(void)
{
	static const struct {
		const char *key;
		enum hl_nat_state state;
	} keys[] = {
		{ "syn-sent", HL_NAT_SYN_SENT }, { "established", HL_NAT_ESTABLISHED },
		{ "fin", HL_NAT_FIN }, { "closed", HL_NAT_CLOSED }, { "udp", HL_NAT_UDP },
	};
	static const char *const bad[] = { "0", "-1", "604801", "1.5", "abc", "",
					   "off", "2h" };
	unsigned int i, j;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct opt *o = opt_find(nat_timeout_opts, OPT_CLI, keys[i].key);
		struct hl_settings cfg = {}, zero = {};

		CHECK(o && opt_find(nat_timeout_opts, OPT_CONF, keys[i].key) == o,
		      "%s: a CLI keyword and a configuration key", keys[i].key);
		if (!o)
			continue;
		CHECK(nat_timeout_state(o) == keys[i].state, "%s: state %u",
		      keys[i].key, nat_timeout_state(o));
		CHECK(opt_set(o, &cfg, "42") == 0 &&
		      cfg.nat_timeout_s[keys[i].state] == 42, "%s 42", keys[i].key);
		cfg.nat_timeout_s[keys[i].state] = 0;
		CHECK(!memcmp(&cfg, &zero, sizeof(cfg)), "%s set another field",
		      keys[i].key);
		CHECK(opt_set(o, &cfg, "604800") == 0, "%s: a week", keys[i].key);
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
			CHECK(opt_set(o, &cfg, bad[j]) == -EINVAL, "%s '%s' accepted",
			      keys[i].key, bad[j]);
	}
	CHECK(!nat_timeout_opts[5].name, "five keys, one per state");
}

struct tally {
	unsigned int n;
	__u64 sum;
	int stop_at;
};

static int tally(const void *key, const void *value, void *data)
{
	struct tally *t = data;

	t->sum += *(const __u64 *)value - *(const __u32 *)key;
	if (++t->n == (unsigned int)t->stop_at)
		return -ECANCELED;
	return 0;
}

/* Every entry once, across batches (more than one batch of 1024), for a
 * hash and an array; the callback's error stops the walk. Needs BPF. */
static void test_map_for_each(void)
{
	int types[] = { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_ARRAY };
	unsigned int t, entries = 3000;
	__u32 k;

	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct tally all = {}, some = { .stop_at = 10 };
		/* room to spare: an LRU evicts before it is quite full */
		__u32 max = types[t] == BPF_MAP_TYPE_ARRAY ? entries + 100 : 4 * entries;
		int fd = bpf_map_create(types[t], NULL, sizeof(__u32), sizeof(__u64),
					max, NULL);

		if (fd < 0)
			SKIP("cannot create a BPF map (needs CAP_BPF)");
		for (k = 0; k < entries; k++) {
			__u64 v = k + 1;	/* value - key = 1 each */

			bpf_map_update_elem(fd, &k, &v, BPF_ANY);
		}
		CHECK(map_for_each(fd, sizeof(__u32), sizeof(__u64), tally, &all) == 0,
		      "type %d: walk failed", types[t]);
		if (types[t] == BPF_MAP_TYPE_ARRAY)
			/* arrays have every slot: 100 more, value 0 - key */
			CHECK(all.n == entries + 100, "array: %u entries", all.n);
		else
			CHECK(all.n == entries && all.sum == entries,
			      "type %d: %u entries, sum %llu", types[t], all.n,
			      (unsigned long long)all.sum);
		CHECK(map_for_each(fd, sizeof(__u32), sizeof(__u64), tally, &some) ==
		      -ECANCELED && some.n == 10, "type %d: stopped at %u", types[t],
		      some.n);
		close(fd);
	}
}

int main(void)
{
	RUN(test_state);
	RUN(test_timeouts);
	RUN(test_timeout_opts);
	RUN(test_map_for_each);
	return unit_done();
}
