/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NAT expiry. Nothing else removes a NAT flow that ends without a word
 * (UDP, a client that vanished, entries after a close), so a BPF timer,
 * armed by the first NAT flow, walks `nat` every hl_nat_sweep_ns and ends
 * the flows idle for longer than their state's timeout: hl_settings'
 * nat_timeout_s[state] seconds if set, else HL_NAT_*_NS. Idle means both
 * directions: the reply entry is read only when the forward one is idle
 * long enough, so a busy or young flow costs one look at its forward
 * entry. An expired flow leaves the active counts (once, nat_state.h) and
 * both entries are deleted.
 *
 * Where the walk runs. A walk visits every entry (bpf_for_each_map_elem
 * cannot resume half-way) and every entry is a cache miss: ~100 ms on a
 * full table here (bench/pktcost, nat_table). In the timer's softirq that
 * would hold up the packets of that CPU as long; so the timer only starts
 * a BPF work item (bpf_wq), and the walk runs in a kworker, where
 * softirqs (NAPI) go on around it. A work item's callback can only be set
 * by a sleepable program: the loader runs the SEC("syscall") program
 * nat_sweep_setup once (lib/store.c does); until it has, the timer walks
 * itself, as it must to expire anything.
 * Bounds: at most HL_NAT_SWEEP_BUDGET flows ended a walk (the rest at the
 * next); the next walk comes hl_nat_sweep_ns later, or NAT_SWEEP_DUTY
 * times the last walk's duration if that is longer, so walks take at most
 * 1/NAT_SWEEP_DUTY of a CPU. A reply entry whose forward entry is gone
 * (a partial delete from user space) goes once idle longer than any
 * timeout. nat_sweep_now runs one walk on demand (tests, benchmarks);
 * nat_sweep_* hold the last walk's figures.
 */
#ifndef HELIOS_BPF_NAT_SWEEP_H
#define HELIOS_BPF_NAT_SWEEP_H

#include "maps.h"
#include "nat_state.h"

/* Between walks; a timeout is then late by at most this much. */
const volatile __u64 hl_nat_sweep_ns = 2000000000ull;

#ifndef HL_NAT_SWEEP_BUDGET
#define HL_NAT_SWEEP_BUDGET	16384	/* flows ended per walk, at most */
#endif
#define NAT_SWEEP_DUTY		50	/* interval >= 50 x the last walk */

extern int bpf_wq_init(struct bpf_wq *wq, void *p__map, unsigned int flags) __ksym;
extern int bpf_wq_start(struct bpf_wq *wq, unsigned int flags) __ksym;
extern int bpf_wq_set_callback_impl(struct bpf_wq *wq,
				    int (callback_fn)(void *map, int *key,
						      void *value),
				    unsigned int flags, void *aux__ign) __ksym;

/* The last walk, for tests and benchmarks (globals of the program,
 * scalars so that the skeleton needs no type of ours). */
__u64 nat_sweep_walks;
__u64 nat_sweep_visited;	/* entries the last walk looked at */
__u64 nat_sweep_ended;		/* flows it ended */
__u64 nat_sweep_ns;		/* how long it took */
__u64 nat_sweep_wq_walks;	/* walks that ran in the work item */

struct nat_sweep_ctx {
	__u64 now;
	__u64 tmo[HL_NAT_UDP + 1];
	__u64 tmo_max;
	__u32 ended;
	__u32 visited;
};

static __always_inline __u64 nat_timeout(__u32 s, __u64 dflt)
{
	return s ? s * 1000000000ull : dflt;
}

/* Idle for longer than `tmo` at `now`, the walk's start? A packet that
 * came after that start (on another CPU, while we walk) is not idle:
 * now - last would wrap around to hours. The walk reads the precise
 * clock (the coarse one is not offered to sleepable programs); the data
 * path's coarse stamps lag it by a tick at most. */
static __always_inline bool nat_idle(__u64 now, __u64 last, __u64 tmo)
{
	return last < now && now - last > tmo;
}

static long nat_sweep_one(void *map, struct hl_flow_key *key, struct hl_nat *e,
			  struct nat_sweep_ctx *c)
{
	struct hl_flow_key pk;
	struct hl_nat *peer;
	__u64 tmo, last;
	__u8 st;

	c->visited++;
	nat_peer_key(&pk, e, key);
	if (e->dir != HL_NAT_FORWARD) {
		/* an orphan: its forward entry would have taken it along */
		last = e->last_ns > e->created_ns ? e->last_ns : e->created_ns;
		if (nat_idle(c->now, last, c->tmo_max) &&
		    !bpf_map_lookup_elem(&nat, &pk))
			bpf_map_delete_elem(&nat, key);
		return 0;
	}
	st = hl_nat_state(e, key->proto);
	if (st > HL_NAT_UDP)
		return 0;
	tmo = c->tmo[st];
	if (!nat_idle(c->now, e->last_ns, tmo))
		return 0;
	peer = bpf_map_lookup_elem(&nat, &pk);
	if (peer && peer->last_ns && !nat_idle(c->now, peer->last_ns, tmo))
		return 0;
	nat_fwd_or(e, NAT_W_FLAGS(HL_NAT_F_UNCOUNTED));
	if (peer)
		bpf_map_delete_elem(&nat, &pk);
	bpf_map_delete_elem(&nat, key);
	return ++c->ended >= HL_NAT_SWEEP_BUDGET;
}

/* One walk; returns the flows it ended. */
static __always_inline __u32 nat_sweep(void)
{
	struct nat_sweep_ctx c = { .now = bpf_ktime_get_ns() };
	struct hl_settings *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&settings, &zero);
	c.tmo[HL_NAT_SYN_SENT] = nat_timeout(cfg ? cfg->nat_timeout_s[HL_NAT_SYN_SENT] : 0,
					     HL_NAT_SYN_SENT_NS);
	c.tmo[HL_NAT_ESTABLISHED] = nat_timeout(cfg ? cfg->nat_timeout_s[HL_NAT_ESTABLISHED] : 0,
						HL_NAT_ESTABLISHED_NS);
	c.tmo[HL_NAT_FIN] = nat_timeout(cfg ? cfg->nat_timeout_s[HL_NAT_FIN] : 0,
					HL_NAT_FIN_NS);
	c.tmo[HL_NAT_CLOSED] = nat_timeout(cfg ? cfg->nat_timeout_s[HL_NAT_CLOSED] : 0,
					   HL_NAT_CLOSED_NS);
	c.tmo[HL_NAT_UDP] = nat_timeout(cfg ? cfg->nat_timeout_s[HL_NAT_UDP] : 0,
					HL_NAT_UDP_NS);
#pragma unroll
	for (int i = 0; i <= HL_NAT_UDP; i++)
		if (c.tmo[i] > c.tmo_max)
			c.tmo_max = c.tmo[i];

	bpf_for_each_map_elem(&nat, nat_sweep_one, &c, 0);
	nat_sweep_walks++;
	nat_sweep_visited = c.visited;
	nat_sweep_ended = c.ended;
	nat_sweep_ns = bpf_ktime_get_ns() - c.now;
	return c.ended;
}

/* The work item: one walk, in a kworker. */
static int nat_sweep_wq(void *map, int *key, void *value)
{
	nat_sweep();
	nat_sweep_wq_walks++;
	return 0;
}

static int nat_sweep_timer(void *map, __u32 *key, struct hl_nat_sweeper *s)
{
	__u64 next = NAT_SWEEP_DUTY * nat_sweep_ns;

	if (!s->wq_ready || bpf_wq_start(&s->wq, 0))
		nat_sweep();
	if (next < hl_nat_sweep_ns)
		next = hl_nat_sweep_ns;
	bpf_timer_start(&s->timer, next, 0);
	return 0;
}

/* Give the work item its callback (a sleepable program only: the
 * SEC("syscall") nat_sweep_setup). 0 when the walks run in a kworker. */
static __always_inline int nat_sweep_setup_wq(void)
{
	__u32 zero = 0;
	struct hl_nat_sweeper *s = bpf_map_lookup_elem(&nat_sweeper, &zero);
	int err;

	if (!s)
		return -1;
	if (s->wq_ready)
		return 0;
	err = bpf_wq_init(&s->wq, &nat_sweeper, 0);
	if (!err)
		err = bpf_wq_set_callback_impl(&s->wq, nat_sweep_wq, 0, NULL);
	if (!err)
		s->wq_ready = 1;
	return err;
}

/* Called for every new NAT flow: the first one starts the walks. */
static __always_inline void nat_sweep_arm(void)
{
	__u32 zero = 0;
	struct hl_nat_sweeper *s = bpf_map_lookup_elem(&nat_sweeper, &zero);

	if (!s || s->armed || __sync_lock_test_and_set(&s->armed, 1))
		return;
	if (bpf_timer_init(&s->timer, &nat_sweeper, CLOCK_MONOTONIC) ||
	    bpf_timer_set_callback(&s->timer, nat_sweep_timer) ||
	    bpf_timer_start(&s->timer, hl_nat_sweep_ns, 0))
		s->armed = 0;	/* try again with the next flow */
}

#endif /* HELIOS_BPF_NAT_SWEEP_H */
