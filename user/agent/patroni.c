// SPDX-License-Identifier: GPL-2.0
/* Patroni's JSON status (see patroni.h). */
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "agent/patroni.h"

static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool truthy(json_object *v)
{
	if (!v)
		return false;
	if (json_object_is_type(v, json_type_string))
		return !strcmp(json_object_get_string(v), "true");
	return json_object_get_boolean(v);
}

int patroni_parse(const char *body, int status, bool read_endpoint,
		  struct probe_result *res, char *err, size_t errlen)
{
	json_object *root = json_tokener_parse(body), *v, *xlog, *tags;
	const char *role, *state;
	int ret = -1;

	if (!root || !json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "status %d without a JSON object", status);
		goto out;
	}
	v = member(root, "role");
	role = v ? json_object_get_string(v) : NULL;
	if (!role) {
		snprintf(err, errlen, "status %d: no role in the JSON", status);
		goto out;
	}
	if (!strcmp(role, "primary") || !strcmp(role, "master"))
		res->role = HL_ROLE_PRIMARY;
	else if (!strcmp(role, "replica") || !strcmp(role, "standby_leader"))
		res->role = HL_ROLE_STANDBY;
	v = member(root, "state");
	state = v ? json_object_get_string(v) : "";
	res->ok = !strcmp(state, "running");
	if (!res->ok)
		snprintf(err, errlen, "Patroni: postgres %s", state[0] ? state : "state unknown");
	v = member(root, "timeline");
	res->timeline = v ? json_object_get_int64(v) : 0;
	res->pending_restart = truthy(member(root, "pending_restart"));
	tags = member(root, "tags");
	res->nofailover = truthy(member(tags, "nofailover"));
	res->no_reads = truthy(member(tags, "noloadbalance")) ||
			(read_endpoint && status != 200);
	/* Patroni puts "sync_standby" only on the members it made
	 * synchronous (synchronous_mode); every other replica is async. */
	if (res->role == HL_ROLE_STANDBY)
		res->pool = truthy(member(root, "sync_standby")) ? HL_POOL_SYNC :
								 HL_POOL_ASYNC;
	xlog = member(root, "xlog");
	if ((v = member(root, "lag")) && json_object_is_type(v, json_type_int)) {
		res->has_lag = true;
		res->lag_bytes = json_object_get_int64(v);
	} else if (res->role == HL_ROLE_STANDBY && member(xlog, "received_location") &&
		   member(xlog, "replayed_location")) {
		__s64 rx = json_object_get_int64(member(xlog, "received_location"));
		__s64 rp = json_object_get_int64(member(xlog, "replayed_location"));

		res->has_lag = true;
		res->lag_bytes = rx > rp ? rx - rp : 0;
	}
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

void patroni_path(__u8 strategy, __u64 lag_bytes, char *buf, size_t len)
{
	if (strategy == HL_STRAT_PRIMARY)
		snprintf(buf, len, "/primary");
	else if (strategy == HL_STRAT_REPLICA && lag_bytes)
		snprintf(buf, len, "/replica?lag=%llu", (unsigned long long)lag_bytes);
	else if (strategy == HL_STRAT_REPLICA)
		snprintf(buf, len, "/replica");
	else
		snprintf(buf, len, "/patroni");
}
