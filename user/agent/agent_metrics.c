// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: the agent's own metric families (lib/metrics.c has
 * the maps').
 */
#include "agent/daemon.h"
#include "agent/events.h"
#include "lib/metrics.h"
#include "lib/parse.h"

void agent_metrics(struct expo *e, void *arg)
{
	struct agent *a = arg;
	const char *results[] = { "ok", "failed" };
	const __u64 probes[] = { a->probes_ok, a->probes_failed };
	const __u64 reloads[] = { a->reloads_ok, a->reloads_failed };
	char svc[SVC_STRLEN], node[ADDR_PORT_STRLEN];
	struct agent_node *an;
	unsigned int i, f;

	for (f = 0; f < 2; f++) {
		expo_family(e, f ? "helios_node_probe_failures" : "helios_node_probes",
			    EXPO_COUNTER, f ? "Probes of the node that failed." :
			    "Probes of the node (since the agent started).");
		for (i = 0; i < a->nsvcs; i++) {
			for (an = a->svcs[i].nodes; an; an = an->next) {
				struct expo_label l[] = { { "service", svc },
							  { "node", node } };

				format_svc(&a->svcs[i].conf.key, svc, sizeof(svc));
				node_label(an, node, sizeof(node));
				expo_sample_u64(e, l, 2, f ? an->probe_failures :
							     an->probes);
			}
		}
	}
	expo_family(e, "helios_agent_probes", EXPO_COUNTER,
		    "Probes the agent ran, by result.");
	for (i = 0; i < 2; i++) {
		struct expo_label l[] = { { "result", results[i] } };

		expo_sample_u64(e, l, 1, probes[i]);
	}
	expo_family(e, "helios_agent_config_reloads", EXPO_COUNTER,
		    "SIGHUP reloads of the configuration, by result.");
	for (i = 0; i < 2; i++) {
		struct expo_label l[] = { { "result", results[i] } };

		expo_sample_u64(e, l, 1, reloads[i]);
	}
	expo_family(e, "helios_agent_loop_lag_seconds", EXPO_GAUGE,
		    "How late the event loop ran its 1 s timer, last time.");
	expo_sample(e, NULL, 0, a->lag_s);
	expo_family(e, "helios_agent_loop_lag_max_seconds", EXPO_GAUGE,
		    "The largest loop lag in the last one to two minutes.");
	expo_sample(e, NULL, 0, a->lag_max_s > a->lag_prev_max_s ?
				a->lag_max_s : a->lag_prev_max_s);
	expo_family(e, "helios_agent_events_dropped", EXPO_COUNTER,
		    "Agent events not sent to a monitor that did not keep up.");
	expo_sample_u64(e, NULL, 0, events_dropped(a->events));
	expo_family(e, "helios_agent_monitors", EXPO_GAUGE,
		    "Monitors connected to the agent's event stream.");
	expo_sample_u64(e, NULL, 0, events_clients(a->events));
}
