// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: the agent's events for `helios-agent monitor` (sent
 * through events.c): a node's state, role or breaker moved, a hold, the
 * primary changed, a reload.
 */
#include <stdio.h>
#include <json-c/json.h>

#include "agent/daemon.h"
#include "agent/events.h"
#include "lib/parse.h"

const char *node_label(const struct agent_node *an, char *buf, size_t len)
{
	const struct hl_node *n = &an->svc->agent->st.nodes[an->id];

	return format_addr_port(n->family, n->addr, n->port, buf, len);
}

static struct json_object *svc_event(const struct agent_svc *as)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "service", json_object_new_string(as->conf.name));
	return o;
}

static const char *transition_name(unsigned int what, __u8 v)
{
	return what == 0 ? health_state_name(v) :
	       what == 1 ? role_name(v) : breaker_state_name(v);
}

/* One event for each of state, role and breaker that moved. */
void node_events(struct agent_node *an)
{
	static const char *const what[] = { "state", "role", "breaker" };
	__u8 *last[] = { &an->ev_state, &an->ev_role, &an->ev_breaker };
	const __u8 now[] = { an->h.state, an->h.role, an->h.breaker };
	char addr[ADDR_PORT_STRLEN], msg[256];
	struct json_object *o;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		if (*last[i] == now[i])
			continue;
		node_label(an, addr, sizeof(addr));
		snprintf(msg, sizeof(msg), "%s node %s: %s %s -> %s",
			 an->svc->conf.name, addr, what[i], transition_name(i, *last[i]),
			 transition_name(i, now[i]));
		o = svc_event(an->svc);
		json_object_object_add(o, "node", json_object_new_string(addr));
		json_object_object_add(o, "from", json_object_new_string(transition_name(i, *last[i])));
		json_object_object_add(o, "to", json_object_new_string(transition_name(i, now[i])));
		events_send(an->svc->agent->events, what[i], o, msg);
		*last[i] = now[i];
	}
}

void svc_events(struct agent_svc *as, const char *what, const char *msg)
{
	events_send(as->agent->events, what, svc_event(as), msg);
}

/* The primary changed: which node the write service goes to now. */
void failover_event(struct agent_svc *as, const struct decide_svc *ds,
			   struct agent_node *first, unsigned int n)
{
	struct agent_node *an = first, *old = NULL;
	char from[ADDR_PORT_STRLEN] = "none", to[ADDR_PORT_STRLEN] = "none";
	char msg[256];
	__u32 id = HL_EVENT_NONE;
	struct json_object *o;
	int i;

	for (i = 0; an && i < ds->primary && (unsigned int)i < n; i++)
		an = an->next;
	if (ds->primary >= 0 && an)
		id = an->id;
	if (as->primary_known && id == as->primary_id)
		return;
	if (!as->primary_known) {
		as->primary_known = true;
		as->primary_id = id;
		return;
	}
	for (old = first; old && old->id != as->primary_id; old = old->next)
		;
	if (old)
		node_label(old, from, sizeof(from));
	if (id != HL_EVENT_NONE)
		node_label(an, to, sizeof(to));
	snprintf(msg, sizeof(msg), "%s: primary %s -> %s", as->conf.name, from, to);
	o = svc_event(as);
	json_object_object_add(o, "from", json_object_new_string(from));
	json_object_object_add(o, "to", json_object_new_string(to));
	events_send(as->agent->events, "failover", o, msg);
	as->primary_id = id;
}

void reload_event(struct agent *a, bool ok, const char *why)
{
	struct json_object *o = json_object_new_object();
	char msg[640];

	if (ok)
		a->reloads_ok++;
	else
		a->reloads_failed++;
	snprintf(msg, sizeof(msg), ok ? "reloaded %s" : "reload of %s refused: %s",
		 a->conf_path, why);
	json_object_object_add(o, "file", json_object_new_string(a->conf_path));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	if (why)
		json_object_object_add(o, "error", json_object_new_string(why));
	events_send(a->events, "reload", o, msg);
}
