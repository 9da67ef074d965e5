/* SPDX-License-Identifier: GPL-2.0 */
/* Parsing and printing of services (VIP:PORT/PROTO), addresses and numbers. */
#ifndef HELIOS_PARSE_H
#define HELIOS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <helios/abi.h>

#include "lib/options.h"

/* An address as the ABI stores it: four network-order words + family. */
struct ip_addr {
	__u8 family;		/* enum hl_family */
	__be32 w[4];
};

#define ADDR_STRLEN	46	/* INET6_ADDRSTRLEN */
#define SVC_STRLEN	(ADDR_STRLEN + 16)
#define ADDR_PORT_STRLEN (ADDR_STRLEN + 8)	/* [ADDR]:PORT */

/* Each parser returns 0, or -EINVAL after printing a one-line error. */
int parse_addr(const char *str, struct ip_addr *addr);
int parse_svc(const char *str, struct hl_svc_key *key);
/* A node: ADDR, ADDR:PORT or [ADDR]:PORT (an IPv6 address takes a port
 * only in brackets: fd00::1:5432 is an address). *port is in network
 * order, 0 when none is given; a port is 1..65535. */
int parse_addr_port(const char *str, struct ip_addr *addr, __be16 *port);
int parse_uint(const char *str, const char *what, unsigned long max,
	       unsigned long *val);
int parse_weight(const char *str, __u16 *weight);
int parse_role(const char *str, __u8 *role);
extern const struct opt_choice role_choices[];
/* A check for a zone option (lib/options.h): NULL, or why not. */
const char *zone_check(const void *zone);
int parse_zone(const char *str, char zone[HL_ZONE_LEN]);

const char *format_addr(__u8 family, const __be32 w[4], char *buf, size_t len);
const char *format_svc(const struct hl_svc_key *key, char *buf, size_t len);
/* ADDR:PORT or [ADDR]:PORT; just ADDR when port (network order) is 0. */
const char *format_addr_port(__u8 family, const __be32 w[4], __be16 port,
			     char *buf, size_t len);
const char *role_name(__u8 role);

bool is_prime(unsigned long n);
/* The default ring for a node count: 65537, or the smallest prime with
 * HL_RING_MIN_PER_NODE slots per node. */
__u32 ring_for_nodes(__u32 nodes);

#endif /* HELIOS_PARSE_H */
