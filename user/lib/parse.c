// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/options.h"
#include "lib/parse.h"

static const char *const role_names[] = {
	[HL_ROLE_ANY]		= "any",
	[HL_ROLE_PRIMARY]	= "primary",
	[HL_ROLE_STANDBY]	= "standby",
	[HL_ROLE_REPLICA]	= "replica",
};

int parse_addr(const char *str, struct ip_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, str, &addr->w[0]) == 1) {
		addr->family = HL_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, str, addr->w) == 1) {
		addr->family = HL_AF_INET6;
		return 0;
	}
	hl_err("malformed address '%s': expected an IPv4 or IPv6 address", str);
	return -EINVAL;
}

/* strtoul() also takes spaces and signs; we take digits only. */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* VIP:PORT/PROTO, with the IPv6 VIP in brackets: [fd00::1]:5432/tcp. */
int parse_svc(const char *str, struct hl_svc_key *key)
{
	char buf[SVC_STRLEN + 1], *vip, *port, *proto, *end;
	struct ip_addr addr;
	unsigned long p;

	memset(key, 0, sizeof(*key));
	if (strlen(str) > SVC_STRLEN)
		goto bad;
	strcpy(buf, str);

	proto = strrchr(buf, '/');
	if (!proto)
		goto bad;
	*proto++ = '\0';
	if (!strcmp(proto, "tcp"))
		key->proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		key->proto = IPPROTO_UDP;
	else
		goto bad;

	if (buf[0] == '[') {
		vip = buf + 1;
		end = strchr(vip, ']');
		if (!end || end[1] != ':')
			goto bad;
		*end = '\0';
		port = end + 2;
		if (!strchr(vip, ':'))
			goto bad;	/* brackets are for IPv6 only */
	} else {
		vip = buf;
		port = strchr(buf, ':');
		if (!port || strchr(port + 1, ':'))
			goto bad;	/* IPv6 needs brackets */
		*port++ = '\0';
	}

	errno = 0;
	p = strtoul(port, &end, 10);
	if (!is_digit(*port) || *end || errno || p == 0 || p > 65535)
		goto bad;
	if (inet_pton(AF_INET, vip, &addr.w[0]) == 1) {
		key->family = HL_AF_INET;
		key->vip[0] = addr.w[0];
	} else if (inet_pton(AF_INET6, vip, key->vip) == 1) {
		key->family = HL_AF_INET6;
	} else {
		goto bad;
	}
	key->port = htons(p);
	return 0;
bad:
	memset(key, 0, sizeof(*key));
	hl_err("malformed service '%s': expected VIP:PORT/tcp|udp, e.g. 198.18.0.10:5432/tcp or [fd00::10]:5432/tcp",
	       str);
	return -EINVAL;
}

int parse_addr_port(const char *str, struct ip_addr *addr, __be16 *port)
{
	char buf[ADDR_PORT_STRLEN + 1], *host = buf, *p = NULL, *end;
	unsigned long v;

	*port = 0;
	memset(addr, 0, sizeof(*addr));
	if (strlen(str) > ADDR_PORT_STRLEN)
		goto bad;
	strcpy(buf, str);
	if (buf[0] == '[') {
		host = buf + 1;
		end = strchr(host, ']');
		if (!end || (end[1] && end[1] != ':') || !strchr(host, ':'))
			goto bad;	/* brackets are for IPv6 only */
		*end = '\0';
		if (end[1])
			p = end + 2;
	} else if ((p = strchr(buf, ':')) && !strchr(p + 1, ':')) {
		*p++ = '\0';	/* one colon: IPv4:PORT */
	} else {
		p = NULL;	/* none, or IPv6 without brackets */
	}
	if (inet_pton(AF_INET, host, &addr->w[0]) == 1)
		addr->family = HL_AF_INET;
	else if (inet_pton(AF_INET6, host, addr->w) == 1)
		addr->family = HL_AF_INET6;
	else
		goto bad;
	if (buf[0] == '[' && addr->family != HL_AF_INET6)
		goto bad;
	if (!p)
		return 0;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (!is_digit(*p) || *end || errno || v == 0 || v > 65535) {
		memset(addr, 0, sizeof(*addr));
		hl_err("invalid port '%s' in '%s': expected 1 to 65535", p, str);
		return -EINVAL;
	}
	*port = htons(v);
	return 0;
bad:
	memset(addr, 0, sizeof(*addr));
	hl_err("malformed address '%s': expected ADDR, ADDR:PORT or [ADDR]:PORT", str);
	return -EINVAL;
}

int parse_uint(const char *str, const char *what, unsigned long max,
	       unsigned long *val)
{
	char *end;

	errno = 0;
	*val = strtoul(str, &end, 10);
	if (!is_digit(*str) || *end || errno || *val > max) {
		hl_err("invalid %s '%s': expected an integer from 0 to %lu", what,
		       str, max);
		return -EINVAL;
	}
	return 0;
}

int parse_weight(const char *str, __u16 *weight)
{
	unsigned long w;
	int err;

	err = parse_uint(str, "weight", HL_WEIGHT_MAX, &w);
	if (!err)
		*weight = w;
	return err;
}

const struct opt_choice role_choices[] = {
	{ "primary", HL_ROLE_PRIMARY },
	{ "standby", HL_ROLE_STANDBY },
	{ "replica", HL_ROLE_REPLICA },
	{ NULL }
};

const char *zone_check(const void *zone)
{
	const char *c = zone;

	if (!*c || *c == '-')
		return "1 to 15 letters, digits, '-' or '_', not starting with '-'";
	for (; *c; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && *c != '-' && *c != '_')
			return "1 to 15 letters, digits, '-' or '_', not starting with '-'";
	return NULL;
}

int parse_role(const char *str, __u8 *role)
{
	unsigned int i;

	for (i = HL_ROLE_PRIMARY; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (!strcmp(str, role_names[i])) {
			*role = i;
			return 0;
		}
	}
	hl_err("invalid role '%s': expected primary, standby or replica", str);
	return -EINVAL;
}

int parse_zone(const char *str, char zone[HL_ZONE_LEN])
{
	const char *why = strlen(str) >= HL_ZONE_LEN ?
		"1 to 15 letters, digits, '-' or '_', not starting with '-'" :
		zone_check(str);

	if (why) {
		hl_err("invalid zone '%s': %s", str, why);
		return -EINVAL;
	}
	memset(zone, 0, HL_ZONE_LEN);
	strcpy(zone, str);
	return 0;
}

const char *format_addr(__u8 family, const __be32 w[4], char *buf, size_t len)
{
	if (!inet_ntop(family == HL_AF_INET6 ? AF_INET6 : AF_INET, w, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *format_svc(const struct hl_svc_key *key, char *buf, size_t len)
{
	char addr[ADDR_STRLEN];
	const char *proto = key->proto == IPPROTO_TCP ? "tcp" :
			    key->proto == IPPROTO_UDP ? "udp" : "?";

	format_addr(key->family, key->vip, addr, sizeof(addr));
	if (key->family == HL_AF_INET6)
		snprintf(buf, len, "[%s]:%u/%s", addr, ntohs(key->port), proto);
	else
		snprintf(buf, len, "%s:%u/%s", addr, ntohs(key->port), proto);
	return buf;
}

const char *format_addr_port(__u8 family, const __be32 w[4], __be16 port,
			     char *buf, size_t len)
{
	char addr[ADDR_STRLEN];

	format_addr(family, w, addr, sizeof(addr));
	if (!port)
		snprintf(buf, len, "%s", addr);
	else if (family == HL_AF_INET6)
		snprintf(buf, len, "[%s]:%u", addr, ntohs(port));
	else
		snprintf(buf, len, "%s:%u", addr, ntohs(port));
	return buf;
}

const char *role_name(__u8 role)
{
	return role < sizeof(role_names) / sizeof(role_names[0]) ?
		role_names[role] : "?";
}

bool is_prime(unsigned long n)
{
	unsigned long d;

	if (n < 2)
		return false;
	for (d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

__u32 ring_for_nodes(__u32 nodes)
{
	__u32 r = HL_RING_MIN_PER_NODE * nodes;

	if (r <= HL_RING_DEFAULT)
		return HL_RING_DEFAULT;
	while (!is_prime(r))
		r++;
	return r;
}
