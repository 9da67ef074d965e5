// SPDX-License-Identifier: GPL-2.0
/* map dump's decoders: one entry as read from a map to one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cmd/cli.h"
#include "cmd/map_decode.h"
#include "lib/conns.h"
#include "lib/parse.h"
#include "lib/services.h"

#define J_INT(o, k, v)	json_object_object_add(o, k, json_object_new_int64(v))
#define J_STR(o, k, v)	json_object_object_add(o, k, json_object_new_string(v))

struct json_object *json_text(const char *s, size_t size)
{
	char raw[256], safe[1024];
	size_t n = strnlen(s, size);

	if (n >= sizeof(raw))
		n = sizeof(raw) - 1;
	memcpy(raw, s, n);
	raw[n] = '\0';
	cli_escape(raw, safe, sizeof(safe));
	return json_object_new_string(safe);
}

static const char *mac_str(const __u8 mac[6], char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		mac[3], mac[4], mac[5]);
	return buf;
}

static const char *proto_name(__u8 proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "?";
}

struct json_object *decode_service(const struct hl_svc_key *k,
				   const struct hl_service *svc)
{
	struct json_object *o = json_object_new_object();
	char name[SVC_STRLEN];

	J_STR(o, "service", format_svc(k, name, sizeof(name)));
	J_INT(o, "id", svc->id);
	J_INT(o, "ring", svc->ring_size);
	J_INT(o, "flags", svc->flags);
	J_STR(o, "fwd", svc_fwd_name(svc->fwd));
	J_INT(o, "opts", svc->opts);
	J_INT(o, "generation", svc->gen);
	return o;
}

struct json_object *decode_node(__u32 id, const struct hl_node *n)
{
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN];

	J_INT(o, "id", id);
	J_INT(o, "svc_id", n->svc_id);
	J_STR(o, "addr", format_addr(n->family, n->addr, addr, sizeof(addr)));
	J_INT(o, "weight", n->weight);
	J_INT(o, "eff_scale", n->eff_scale);
	J_INT(o, "flags", n->flags);
	J_STR(o, "role", role_name(n->role));
	J_STR(o, "eff_role", role_name(n->eff_role));
	J_STR(o, "eff_pool", n->eff_pool == HL_POOL_SYNC ? "sync" :
			     n->eff_pool == HL_POOL_ASYNC ? "async" : "none");
	json_object_object_add(o, "zone", json_text(n->zone, sizeof(n->zone)));
	J_INT(o, "synced_ms", n->synced_ms);
	return o;
}

struct json_object *decode_nexthop(__u32 id, const struct hl_node *n,
				   const struct hl_nexthop *nh, __u64 now_ns)
{
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN], mac[18];

	J_INT(o, "id", id);
	J_STR(o, "node", format_addr(n->family, n->addr, addr, sizeof(addr)));
	J_STR(o, "src", format_addr(n->family, nh->src, addr, sizeof(addr)));
	J_STR(o, "smac", mac_str(nh->smac, mac));
	J_STR(o, "dmac", mac_str(nh->dmac, mac));
	J_INT(o, "ifindex", nh->ifindex);
	J_INT(o, "mtu", nh->mtu);
	json_object_object_add(o, "valid",
			       json_object_new_boolean(nh->flags & HL_NH_F_VALID));
	J_INT(o, "age_ms", nh->updated_ns && now_ns > nh->updated_ns ?
			   (now_ns - nh->updated_ns) / 1000000 : 0);
	return o;
}

struct json_object *decode_conntrack(const struct hl_flow_key *k,
				     const struct hl_flow *f)
{
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN];

	J_STR(o, "client", format_addr(k->family, k->src, addr, sizeof(addr)));
	J_INT(o, "sport", ntohs(k->sport));
	J_STR(o, "vip", format_addr(k->family, k->dst, addr, sizeof(addr)));
	J_INT(o, "dport", ntohs(k->dport));
	J_STR(o, "proto", proto_name(k->proto));
	J_INT(o, "node", f->node_id);
	if (f->gen)	/* a write service's fencing generation */
		J_INT(o, "generation", f->gen);
	return o;
}

static const char *seen_str(__u8 seen, char *buf, size_t len)
{
	static const char *const names[] = { "syn", "ack", "fin", "rst" };
	size_t n = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < 4 && n < len; i++)
		if (seen & (1u << i))
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "",
				      names[i]);
	return buf;
}

struct json_object *decode_nat(const struct hl_flow_key *k,
			       const struct hl_nat *n, __u64 now_ns)
{
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN], seen[24];

	J_STR(o, "dir", n->dir == HL_NAT_FORWARD ? "forward" :
			n->dir == HL_NAT_REPLY ? "reply" : "?");
	J_STR(o, "src", format_addr(k->family, k->src, addr, sizeof(addr)));
	J_INT(o, "sport", ntohs(k->sport));
	J_STR(o, "dst", format_addr(k->family, k->dst, addr, sizeof(addr)));
	J_INT(o, "dport", ntohs(k->dport));
	J_STR(o, "proto", proto_name(k->proto));
	J_STR(o, "to", format_addr(k->family, n->addr, addr, sizeof(addr)));
	J_INT(o, "to_port", ntohs(n->port));
	J_STR(o, "from", format_addr(k->family, n->from, addr, sizeof(addr)));
	J_INT(o, "from_port", ntohs(n->from_port));
	J_STR(o, "seen", seen_str(n->seen, seen, sizeof(seen)));
	J_INT(o, "svc_id", n->svc_id);
	J_INT(o, "node", n->node_id);
	J_INT(o, "age_ms", now_ns > n->created_ns ?
			   (now_ns - n->created_ns) / 1000000 : 0);
	J_INT(o, "idle_ms", n->last_ns && now_ns > n->last_ns ?
			    (now_ns - n->last_ns) / 1000000 : 0);
	J_INT(o, "packets", n->packets);
	J_INT(o, "bytes", n->bytes);
	return o;
}

struct json_object *decode_snat(const struct hl_svc_key *k,
				const struct hl_service *svc,
				const struct hl_snat *snat)
{
	struct json_object *o = json_object_new_object();
	struct json_object *addrs = json_object_new_array();
	char name[SVC_STRLEN], addr[ADDR_STRLEN];
	__u32 i;

	J_INT(o, "id", svc->id);
	J_STR(o, "service", format_svc(k, name, sizeof(name)));
	J_INT(o, "count", snat->count);
	for (i = 0; i < snat->count && i < HL_SNAT_MAX; i++)
		json_object_array_add(addrs, json_object_new_string(
			format_addr(k->family, snat->addrs[i], addr,
				    sizeof(addr))));
	json_object_object_add(o, "addrs", addrs);
	return o;
}

struct json_object *decode_settings(const struct hl_settings *cfg)
{
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN];
	const struct opt *t;
	__be32 src4[4] = { cfg->src4 };

	J_STR(o, "src4", format_addr(HL_AF_INET, src4, addr, sizeof(addr)));
	J_STR(o, "src6", format_addr(HL_AF_INET6, cfg->src6, addr, sizeof(addr)));
	json_object_object_add(o, "zone", json_text(cfg->zone, sizeof(cfg->zone)));
	/* NAT timeouts as stored: 0 is the default (conn timeout show) */
	for (t = nat_timeout_opts; t->name; t++) {
		char key[32], *c;

		snprintf(key, sizeof(key), "nat_%s", t->name);
		for (c = key; *c; c++)
			if (*c == '-')
				*c = '_';
		J_INT(o, key, cfg->nat_timeout_s[nat_timeout_state(t)]);
	}
	return o;
}

struct json_object *decode_decap_vip(const struct hl_vip_key *k,
				     __u64 packets)
{
	struct json_object *o = json_object_new_object();
	char addr[ADDR_STRLEN];

	J_STR(o, "vip", format_addr(k->family, k->addr, addr, sizeof(addr)));
	J_INT(o, "packets", packets);
	return o;
}
