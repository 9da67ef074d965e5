// SPDX-License-Identifier: GPL-2.0
/* SVC / ADDR / number parsing: every accepted and every refused form. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "lib/log.h"
#include "lib/parse.h"
#include "unit.h"

static void test_svc_good(void)
{
	static const struct {
		const char *in, *out;
		__u8 family, proto;
		__u16 port;
	} cases[] = {
		{ "198.18.0.10:5432/tcp", "198.18.0.10:5432/tcp", HL_AF_INET, IPPROTO_TCP, 5432 },
		{ "198.18.0.10:53/udp", "198.18.0.10:53/udp", HL_AF_INET, IPPROTO_UDP, 53 },
		{ "198.18.255.1:65535/tcp", "198.18.255.1:65535/tcp", HL_AF_INET, IPPROTO_TCP, 65535 },
		{ "[fd00:4845::10]:5432/tcp", "[fd00:4845::10]:5432/tcp", HL_AF_INET6, IPPROTO_TCP, 5432 },
		{ "[fd00:0:0::1]:1/udp", "[fd00::1]:1/udp", HL_AF_INET6, IPPROTO_UDP, 1 },
	};
	char buf[SVC_STRLEN];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hl_svc_key key;

		CHECK(parse_svc(cases[i].in, &key) == 0, "%s refused", cases[i].in);
		CHECK(key.family == cases[i].family, "%s family", cases[i].in);
		CHECK(key.proto == cases[i].proto, "%s proto", cases[i].in);
		CHECK(ntohs(key.port) == cases[i].port, "%s port", cases[i].in);
		CHECK(!strcmp(format_svc(&key, buf, sizeof(buf)), cases[i].out),
		      "%s printed as %s", cases[i].in, buf);
	}
}

static void test_svc_bad(void)
{
	static const char *const bad[] = {
		"", "198.18.0.10", "198.18.0.10:5432", "198.18.0.10/tcp",
		":5432/tcp", "198.18.0.10:/tcp", "198.18.0.10:0/tcp",
		"198.18.0.10:65536/tcp", "198.18.0.10:-1/tcp", "198.18.0.10:+1/tcp",
		"198.18.0.10:54x/tcp", "198.18.0.10:5432/sctp", "198.18.0.10:5432/TCP",
		"198.18.0.10:5432/", "198.18.0.300:5432/tcp", "198.18.0:5432/tcp",
		"fd00::10:5432/tcp", "[198.18.0.10]:5432/tcp", "[fd00::10]5432/tcp",
		"[fd00::10:5432/tcp", "fd00::10]:5432/tcp", "[fd00:::10]:5432/tcp",
		"host.example:5432/tcp", "198.18.0.10:5432:1/tcp",
		"198.18.0.10:99999999999999999999/tcp",
		"[fd00:4845:0000:0000:0000:0000:0000:0010:ffff:ffff:ffff]:5432/tcp",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hl_svc_key key;

		CHECK(parse_svc(bad[i], &key) == -EINVAL, "'%s' accepted", bad[i]);
	}
}

static void test_addr(void)
{
	static const char *const bad[] = { "", "198.18.0", "198.18.0.1.2",
		"fd00:::1", "hello", "198.18.0.1/24", "[fd00::1]", " 198.18.0.1" };
	struct ip_addr a;
	char buf[ADDR_STRLEN];
	unsigned int i;

	CHECK(parse_addr("198.18.0.2", &a) == 0 && a.family == HL_AF_INET &&
	      a.w[0] == htonl(0xc6120002) && !a.w[1] && !a.w[2] && !a.w[3],
	      "IPv4 stored in word 0");
	CHECK(parse_addr("fd00:4845::2", &a) == 0 && a.family == HL_AF_INET6,
	      "IPv6");
	CHECK(!strcmp(format_addr(a.family, a.w, buf, sizeof(buf)), "fd00:4845::2"),
	      "printed %s", buf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse_addr(bad[i], &a) == -EINVAL, "'%s' accepted", bad[i]);
}

/* Nodes: ADDR, ADDR:PORT, [ADDR]:PORT; printed back the same way. */
static void test_addr_port_good(void)
{
	static const struct {
		const char *in, *out;
		__u8 family;
		__u16 port;
	} cases[] = {
		{ "198.18.0.11", "198.18.0.11", HL_AF_INET, 0 },
		{ "198.18.0.11:6432", "198.18.0.11:6432", HL_AF_INET, 6432 },
		{ "198.18.0.11:1", "198.18.0.11:1", HL_AF_INET, 1 },
		{ "198.18.0.11:65535", "198.18.0.11:65535", HL_AF_INET, 65535 },
		{ "fd00:4845::11", "fd00:4845::11", HL_AF_INET6, 0 },
		/* without brackets the last group is the address's */
		{ "fd00:4845::11:6432", "fd00:4845::11:6432", HL_AF_INET6, 0 },
		{ "[fd00:4845::11]:6432", "[fd00:4845::11]:6432", HL_AF_INET6, 6432 },
		{ "[fd00:4845::11]", "fd00:4845::11", HL_AF_INET6, 0 },
		{ "[fd00:0:0::1]:5432", "[fd00::1]:5432", HL_AF_INET6, 5432 },
	};
	char buf[ADDR_PORT_STRLEN];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ip_addr a;
		__be16 port = 0xffff;

		CHECK(parse_addr_port(cases[i].in, &a, &port) == 0, "%s refused",
		      cases[i].in);
		CHECK(a.family == cases[i].family, "%s family %u", cases[i].in,
		      a.family);
		CHECK(ntohs(port) == cases[i].port, "%s port %u", cases[i].in,
		      ntohs(port));
		CHECK(!strcmp(format_addr_port(a.family, a.w, port, buf, sizeof(buf)),
			      cases[i].out), "%s printed as %s", cases[i].in, buf);
	}
}

static void test_addr_port_bad(void)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "198.18.0.11:0", "invalid port" },
		{ "198.18.0.11:65536", "invalid port" },
		{ "198.18.0.11:70000", "invalid port" },
		{ "198.18.0.11:99999999999999999999", "invalid port" },
		{ "198.18.0.11:", "invalid port" },
		{ "198.18.0.11:-1", "invalid port" },
		{ "198.18.0.11:+1", "invalid port" },
		{ "198.18.0.11:54x", "invalid port" },
		{ "198.18.0.11: 1", "invalid port" },
		{ "[fd00::11]:0", "invalid port" },
		{ "[fd00::11]:65536", "invalid port" },
		{ "[fd00::11]:", "invalid port" },
		{ "", "malformed" },
		{ "198.18.0.300:5432", "malformed" },
		{ "198.18.0.11:5432:1", "malformed" },
		{ "[198.18.0.11]:5432", "malformed" },
		{ "[fd00::11]5432", "malformed" },
		{ "[fd00::11:5432", "malformed" },
		{ "fd00::11]:5432", "malformed" },
		{ "[fd00:::11]:5432", "malformed" },
		{ "host.example:5432", "malformed" },
		{ ":5432", "malformed" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ip_addr a;
		__be16 port;

		CHECK(parse_addr_port(cases[i].in, &a, &port) == -EINVAL,
		      "'%s' accepted", cases[i].in);
		CHECK(!strncmp(hl_errmsg(), cases[i].why, strlen(cases[i].why)),
		      "'%s': %s", cases[i].in, hl_errmsg());
	}
}

static void test_numbers(void)
{
	static const char *const bad_weights[] = { "", "-1", "+1", "65536",
		"70000", "abc", "1.5", "0x10", " 1", "99999999999999999999999" };
	unsigned long v;
	unsigned int i;
	__u16 w;

	CHECK(parse_weight("0", &w) == 0 && w == 0, "weight 0");
	CHECK(parse_weight("65535", &w) == 0 && w == 65535, "weight 65535");
	for (i = 0; i < sizeof(bad_weights) / sizeof(bad_weights[0]); i++)
		CHECK(parse_weight(bad_weights[i], &w) == -EINVAL, "weight '%s'",
		      bad_weights[i]);
	CHECK(parse_uint("65537", "ring", HL_RING_MAX, &v) == 0 && v == 65537, "ring");
	CHECK(parse_uint("16777214", "ring", HL_RING_MAX, &v) == -EINVAL, "ring max");
}

static void test_role_zone(void)
{
	char zone[HL_ZONE_LEN];
	__u8 role;

	CHECK(parse_role("primary", &role) == 0 && role == HL_ROLE_PRIMARY, "primary");
	CHECK(parse_role("standby", &role) == 0 && role == HL_ROLE_STANDBY, "standby");
	CHECK(parse_role("replica", &role) == 0 && role == HL_ROLE_REPLICA, "replica");
	CHECK(parse_role("master", &role) == -EINVAL, "master accepted");
	CHECK(parse_role("any", &role) == -EINVAL, "any is not settable");
	CHECK(parse_zone("eu-west_1a", zone) == 0 && !strcmp(zone, "eu-west_1a"), "zone");
	CHECK(parse_zone("", zone) == -EINVAL, "empty zone");
	CHECK(parse_zone("a b", zone) == -EINVAL, "zone with space");
	CHECK(parse_zone("0123456789abcdef", zone) == -EINVAL, "16-char zone");
}

static void test_prime(void)
{
	CHECK(is_prime(65537) && is_prime(100003) && is_prime(101) &&
	      is_prime(HL_RING_MAX), "primes");
	CHECK(!is_prime(0) && !is_prime(1) && !is_prime(65536) &&
	      !is_prime(100001) && !is_prime(65535), "composites");
}

int main(void)
{
	RUN(test_svc_good);
	RUN(test_svc_bad);
	RUN(test_addr);
	RUN(test_addr_port_good);
	RUN(test_addr_port_bad);
	RUN(test_numbers);
	RUN(test_role_zone);
	RUN(test_prime);
	return unit_done();
}
