// SPDX-License-Identifier: GPL-2.0
/*
 * The address and service parsers (user/lib/parse.c, rate.c, tables.c):
 * no crash on any string, and what they accept prints back to a string
 * they parse to the same value.
 */
#include <arpa/inet.h>
#include "fuzz.h"
#include "lib/parse.h"
#include "lib/rate.h"
#include "lib/tables.h"
#include "agent/probe.h"

static void addr_round_trip(const char *s)
{
	struct ip_addr a, b;
	char buf[ADDR_STRLEN];

	if (parse_addr(s, &a))
		return;
	FUZZ_ASSERT(a.family == HL_AF_INET || a.family == HL_AF_INET6);
	format_addr(a.family, a.w, buf, sizeof(buf));
	FUZZ_ASSERT(!parse_addr(buf, &b));
	FUZZ_ASSERT(a.family == b.family && !memcmp(a.w, b.w, sizeof(a.w)));
}

static void svc_round_trip(const char *s)
{
	struct hl_svc_key k, k2;
	char buf[SVC_STRLEN];

	if (parse_svc(s, &k))
		return;
	FUZZ_ASSERT(k.proto == 6 || k.proto == 17);
	FUZZ_ASSERT(k.port != 0);
	format_svc(&k, buf, sizeof(buf));
	FUZZ_ASSERT(!parse_svc(buf, &k2));
	FUZZ_ASSERT(!memcmp(&k, &k2, sizeof(k)));
}

static void addr_port_round_trip(const char *s)
{
	struct ip_addr a, b;
	__be16 port, port2;
	char buf[ADDR_PORT_STRLEN];

	if (parse_addr_port(s, &a, &port))
		return;
	format_addr_port(a.family, a.w, port, buf, sizeof(buf));
	FUZZ_ASSERT(!parse_addr_port(buf, &b, &port2));
	FUZZ_ASSERT(a.family == b.family && !memcmp(a.w, b.w, sizeof(a.w)) &&
		    port == port2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_argv a;
	unsigned long v;
	char zone[HL_ZONE_LEN], cname[HL_CLASS_NAME_LEN], pbuf[64];
	struct hl_class_key ck, ck2;
	struct rate_spec r;
	enum probe_kind kind;
	__u16 w;
	__u8 u8;

	fuzz_split(&a, data, size);
	for (int i = 0; i < a.argc; i++) {
		const char *s = a.argv[i];

		addr_round_trip(s);
		svc_round_trip(s);
		addr_port_round_trip(s);
		if (!parse_uint(s, "n", 65535, &v))
			FUZZ_ASSERT(v <= 65535);
		if (!parse_weight(s, &w))
			FUZZ_ASSERT(w <= 65535);
		parse_role(s, &u8);
		if (!parse_zone(s, zone))
			FUZZ_ASSERT(memchr(zone, '\0', sizeof(zone)));
		hl_strategy_parse(s, &u8);
		hl_hash_parse(s, &u8);
		probe_kind_parse(s, &kind);
		if (!parse_class_name(s, cname))
			FUZZ_ASSERT(memchr(cname, '\0', sizeof(cname)));
		if (!parse_prefix(s, &ck)) {
			format_prefix(&ck, pbuf, sizeof(pbuf));
			FUZZ_ASSERT(!parse_prefix(pbuf, &ck2));
			FUZZ_ASSERT(!memcmp(&ck, &ck2, sizeof(ck)));
		}
	}
	/* the words as a rate: N[/s] [burst B] [leaky] | off [prefix LEN] */
	parse_rate(a.argc, a.argv, "rate", true, &r);
	parse_rate(a.argc, a.argv, "rate", false, &r);
	return 0;
}
