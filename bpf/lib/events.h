/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdicts worth seeing one by one (drops, rate-limit trips, held SYNs,
 * resets, SYN second chances): counted per service (and per node when the
 * packet's node is known), and written to the ring buffer `events` while
 * `helios-agent monitor` holds its lease, one in `sample` and at most
 * `budget` a second per CPU, so that a flood cannot bury the monitor or
 * cost the data path much. Forwarded and passed packets never get past the
 * first test; with no monitor the others pay two or three array lookups
 * and a compare.
 */
#ifndef HELIOS_BPF_EVENTS_H
#define HELIOS_BPF_EVENTS_H

#include "maps.h"
#include "stats.h"

static __always_inline bool event_sampled(const struct hl_monitor *m,
					  struct hl_mon_cpu *c, __u64 now)
{
	c->seen++;
	if (m->sample > 1 && c->seen % m->sample) {
		c->sampled_out++;
		return false;
	}
	if (m->budget) {
		if (now - c->window_ns >= 1000000000ull) {
			c->window_ns = now;
			c->in_window = 0;
		}
		if (c->in_window >= m->budget) {
			c->over_budget++;
			return false;
		}
		c->in_window++;
	}
	return true;
}

static __always_inline void event_emit(__u32 reason, const struct hl_pkt *pkt,
				       const struct hl_target *t)
{
	__u32 zero = 0;
	struct hl_monitor *m = bpf_map_lookup_elem(&monitor, &zero);
	struct hl_mon_cpu *c;
	struct hl_event *e;
	__u64 now;

	if (likely(!m || !m->until_ns))
		return;
	now = bpf_ktime_get_coarse_ns();
	if (now >= m->until_ns)
		return;
	c = bpf_map_lookup_elem(&mon_cpu, &zero);
	if (!c || !event_sampled(m, c, now))
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		c->lost++;
		return;
	}
	e->ts_ns = now;
	e->reason = reason;
	e->svc_id = t->svc ? t->svc->id : HL_EVENT_NONE;
	e->node_id = t->node ? t->node_id : HL_EVENT_NONE;
	e->frame_len = pkt->frame_len;
	e->key = pkt->key;
	e->tcp_flags = pkt->tcp_flags;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, 0);
	c->emitted++;
}

/* hl_verdict() for a packet the stages have seen: also the service's
 * reason count and the monitor's event. */
static __always_inline int hl_verdict_ev(__u32 reason, int action,
					 const struct hl_pkt *pkt,
					 const struct hl_target *t)
{
	if (hl_skip(HL_AB_VERDICT))
		return action;
	if (unlikely(reason < 64 && (HL_EVENT_REASONS & (1ull << reason)))) {
		if (t->svc) {
			__u32 k = t->svc->id * HL_REASON_MAX + reason;
			__u64 *cnt = bpf_map_lookup_elem(&svc_reasons, &k);

			if (cnt)
				*cnt += 1;
		}
		if (t->node) {
			__u32 id = t->node_id;
			struct hl_node_reasons *nr =
				bpf_map_lookup_elem(&node_reasons, &id);

			if (nr && reason < HL_REASON_MAX)
				nr->count[reason]++;
		}
		event_emit(reason, pkt, t);
	}
	return hl_verdict(reason, action);
}

#endif /* HELIOS_BPF_EVENTS_H */
