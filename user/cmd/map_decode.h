/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `map dump`'s decoders: one map entry (key and value as read) to one JSON
 * object. Pure, so tests/fuzz can feed them any bytes: whatever a map
 * holds, the result is valid JSON (text fields are bounded by their
 * arrays and escaped).
 */
#ifndef HELIOS_CMD_MAP_DECODE_H
#define HELIOS_CMD_MAP_DECODE_H

#include <json-c/json.h>
#include <helios/abi.h>

struct json_object *decode_service(const struct hl_svc_key *k,
				   const struct hl_service *svc);
struct json_object *decode_node(__u32 id, const struct hl_node *n);
struct json_object *decode_nexthop(__u32 id, const struct hl_node *n,
				   const struct hl_nexthop *nh, __u64 now_ns);
struct json_object *decode_conntrack(const struct hl_flow_key *k,
				     const struct hl_flow *f);
struct json_object *decode_nat(const struct hl_flow_key *k,
			       const struct hl_nat *n, __u64 now_ns);
struct json_object *decode_snat(const struct hl_svc_key *k,
				const struct hl_service *svc,
				const struct hl_snat *snat);
struct json_object *decode_settings(const struct hl_settings *cfg);
struct json_object *decode_decap_vip(const struct hl_vip_key *k,
				     __u64 packets);
/* A char array of `size` bytes that need not end in NUL, as a JSON
 * string: up to the first NUL, control bytes and invalid UTF-8 escaped. */
struct json_object *json_text(const char *s, size_t size);

#endif /* HELIOS_CMD_MAP_DECODE_H */
