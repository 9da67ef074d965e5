// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: which VIPs to announce through BIRD (announce.c) and
 * the services' BGP flags for `health`.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/daemon.h"
#include "lib/services.h"
#include "lib/tables.h"

static bool svc_has_usable(const struct agent *a, __u32 svc_id)
{
	__u32 i;

	for (i = 0; a->st.nodes && i < HL_MAX_NODES; i++)
		if ((a->st.nodes[i].flags & HL_NODE_F_EXISTS) &&
		    a->st.nodes[i].svc_id == svc_id &&
		    node_table_weight(&a->st.nodes[i]))
			return true;
	return false;
}

static const char *withdraw_reason(const struct agent *a,
				   const struct hl_service *svc)
{
	if (a->drain)
		return "the agent is stopping";
	if (svc->opts & HL_SVC_O_NO_ANNOUNCE)
		return "announce off";
	return svc_has_usable(a, svc->id) ? NULL : "no usable node";
}

/*
 * Announce the VIP of every service with a usable node (and announce on),
 * withdraw the others. A VIP shared by several services (other ports) is
 * announced while one of them is. The services' HL_SVC_F_BGP* flags tell
 * `health` what happened.
 */
void announce_sync(struct agent *a)
{
	struct ip_addr *vips;
	unsigned int n = 0, i, j;
	bool healthy;
	int err;

	if (!a->bgp_on)
		return;
	vips = calloc(a->nsvcs ? a->nsvcs : 1, sizeof(*vips));
	if (!vips)
		return;
	for (i = 0; i < a->nsvcs; i++) {
		const struct hl_svc_key *k = &a->svcs[i].conf.key;
		struct ip_addr v = { .family = k->family };
		struct hl_service svc;

		if (svc_find(&a->st, k, &svc) || withdraw_reason(a, &svc))
			continue;
		memcpy(v.w, k->vip, sizeof(v.w));
		for (j = 0; j < n && memcmp(&vips[j], &v, sizeof(v)); j++)
			;
		if (j == n)
			vips[n++] = v;
	}
	err = announce_set(&a->bgp, vips, n);
	healthy = announce_healthy(&a->bgp);
	for (i = 0; i < a->nsvcs; i++) {
		struct agent_svc *as = &a->svcs[i];
		const struct hl_svc_key *k = &as->conf.key;
		struct hl_service svc;
		bool on = false;

		if (svc_find(&a->st, k, &svc))
			continue;
		for (j = 0; !err && j < n; j++)
			on |= vips[j].family == k->family &&
			      !memcmp(vips[j].w, k->vip, sizeof(vips[j].w));
		if (as->announced != on) {
			const char *why = withdraw_reason(a, &svc);

			if (on)
				log_msg("info", "%s: VIP announced", as->conf.name);
			else
				log_msg(as->announced < 0 ? "info" : "warn",
					"%s: VIP not announced: %s", as->conf.name,
					why ? why : err ? "BIRD did not take it" :
					"another service's VIP");
			as->announced = on;
		}
		svc_set_flags(&a->st, k, HL_SVC_F_BGP | HL_SVC_F_ANNOUNCED |
			      HL_SVC_F_BGP_DOWN, HL_SVC_F_BGP |
			      (on ? HL_SVC_F_ANNOUNCED : 0) |
			      (healthy ? 0 : HL_SVC_F_BGP_DOWN));
	}
	free(vips);
}

void bgp_start(struct agent *a)
{
	unsigned int i;

	if (a->bgp_on || !a->conf.has_bgp)
		return;
	for (i = 0; i < a->nsvcs; i++)
		a->svcs[i].announced = -1;
	if (announce_init(&a->bgp, a->base, &a->conf.bgp, log_msg))
		log_msg("error", "bgp: cannot start: out of memory");
	else
		a->bgp_on = true;
}

/* The bgp group is gone from the file: withdraw, and let go. */
void bgp_stop(struct agent *a)
{
	unsigned int i;

	if (!a->bgp_on)
		return;
	announce_set(&a->bgp, NULL, 0);
	announce_free(&a->bgp);
	a->bgp_on = false;
	for (i = 0; i < a->nsvcs; i++)
		svc_set_flags(&a->st, &a->svcs[i].conf.key, HL_SVC_F_BGP |
			      HL_SVC_F_ANNOUNCED | HL_SVC_F_BGP_DOWN, 0);
	log_msg("info", "bgp: no bgp group any more: every VIP withdrawn");
}
