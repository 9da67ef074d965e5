// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/clock.h"
#include "lib/conns.h"
#include "lib/ct.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/services.h"

/* ---- NAT state and timeouts ---- */

_Static_assert(HL_NAT_SYN_SENT_NS == NAT_SYN_SENT_S * 1000000000ull, "syn-sent");
_Static_assert(HL_NAT_ESTABLISHED_NS == NAT_ESTABLISHED_S * 1000000000ull,
	       "established");
_Static_assert(HL_NAT_FIN_NS == NAT_FIN_S * 1000000000ull, "fin");
_Static_assert(HL_NAT_CLOSED_NS == NAT_CLOSED_S * 1000000000ull, "closed");
_Static_assert(HL_NAT_UDP_NS == NAT_UDP_S * 1000000000ull, "udp");

static const char *const nat_state_names[] = {
	[HL_NAT_SYN_SENT]	= "syn-sent",
	[HL_NAT_ESTABLISHED]	= "established",
	[HL_NAT_FIN]		= "fin",
	[HL_NAT_CLOSED]		= "closed",
	[HL_NAT_UDP]		= "udp",
};

static const __u64 nat_default_ns[] = {
	[HL_NAT_SYN_SENT]	= HL_NAT_SYN_SENT_NS,
	[HL_NAT_ESTABLISHED]	= HL_NAT_ESTABLISHED_NS,
	[HL_NAT_FIN]		= HL_NAT_FIN_NS,
	[HL_NAT_CLOSED]		= HL_NAT_CLOSED_NS,
	[HL_NAT_UDP]		= HL_NAT_UDP_NS,
};

enum hl_nat_state nat_state(__u8 proto, __u8 fwd_seen, __u8 reply_seen)
{
	__u8 fins = (fwd_seen & HL_NAT_SEEN_FIN ? 1 : 0) +
		    (reply_seen & HL_NAT_SEEN_FIN ? 1 : 0);

	if (proto != IPPROTO_TCP)
		return HL_NAT_UDP;
	if ((fwd_seen | reply_seen) & HL_NAT_SEEN_RST || fins == 2)
		return HL_NAT_CLOSED;
	if (fins)
		return HL_NAT_FIN;
	if (reply_seen)
		return HL_NAT_ESTABLISHED;
	return HL_NAT_SYN_SENT;
}

const char *nat_state_name(__u8 state)
{
	return state < sizeof(nat_state_names) / sizeof(nat_state_names[0]) ?
		nat_state_names[state] : "?";
}

__u64 nat_timeout_ns(const struct hl_settings *cfg, __u8 state)
{
	if (state >= sizeof(nat_default_ns) / sizeof(nat_default_ns[0]))
		return 0;
	return cfg->nat_timeout_s[state] ?
		cfg->nat_timeout_s[state] * 1000000000ull : nat_default_ns[state];
}

#define NAT_TIMEOUT(key, state, dflt, what)				\
	{ .name = (key), .type = OPT_UINT, .where = OPT_BOTH, .arg = "S",	\
	  OPT_FIELD(struct hl_settings, nat_timeout_s[(state)]), .min = 1,	\
	  .max = NAT_TIMEOUT_MAX_S, .def = OPT_STR(dflt), .help = (what) }

const struct opt nat_timeout_opts[] = {
	NAT_TIMEOUT("syn-sent", HL_NAT_SYN_SENT, NAT_SYN_SENT_S,
		    "TCP: the client's SYN is not answered yet"),
	NAT_TIMEOUT("established", HL_NAT_ESTABLISHED, NAT_ESTABLISHED_S,
		    "TCP: the node answered (Linux's 5 days would keep a director's table full)"),
	NAT_TIMEOUT("fin", HL_NAT_FIN, NAT_FIN_S, "TCP: one side sent a FIN"),
	NAT_TIMEOUT("closed", HL_NAT_CLOSED, NAT_CLOSED_S,
		    "TCP: FIN both ways, or a RST (keeps the SNAT port from reuse a while)"),
	NAT_TIMEOUT("udp", HL_NAT_UDP, NAT_UDP_S, "UDP"),
	{ NULL }
};

__u8 nat_timeout_state(const struct opt *o)
{
	return (o->off - offsetof(struct hl_settings, nat_timeout_s)) /
	       sizeof(__u32);
}

int settings_read(struct store *st, struct hl_settings *cfg)
{
	__u32 zero = 0;

	memset(cfg, 0, sizeof(*cfg));
	return bpf_map_lookup_elem(st->fds[MAP_SETTINGS], &zero, cfg) ? -errno : 0;
}

int nat_timeouts_set(struct store *st, const struct hl_settings *in,
		     opt_seen_t seen)
{
	struct hl_settings cfg;
	const struct opt *o;
	__u32 zero = 0;
	int err;

	err = store_lock(st, true);
	if (err)
		return err;
	err = settings_read(st, &cfg);
	for (o = nat_timeout_opts; !err && o->name; o++)
		if (seen & (1ull << (o - nat_timeout_opts)))
			memcpy((char *)&cfg + o->off, (const char *)in + o->off,
			       o->size);
	if (!err && bpf_map_update_elem(st->fds[MAP_SETTINGS], &zero, &cfg,
					BPF_ANY))
		err = -errno;
	if (err)
		hl_err("cannot write the NAT timeouts: %s", strerror(-err));
	store_unlock(st);
	return err;
}

/* ---- walking a map ---- */

#define BATCH	1024

static int walk_one_by_one(int fd, __u32 ksize, __u32 vsize, map_entry_fn fn,
			   void *data)
{
	void *key = calloc(1, ksize), *next = calloc(1, ksize);
	void *val = calloc(1, vsize);
	int err = 0;

	if (!key || !next || !val) {
		err = -ENOMEM;
		goto out;
	}
	for (void *prev = NULL; !err && !bpf_map_get_next_key(fd, prev, next);
	     prev = key) {
		memcpy(key, next, ksize);
		if (!bpf_map_lookup_elem(fd, key, val))
			err = fn(key, val, data);
	}
out:
	free(key);
	free(next);
	free(val);
	return err;
}

int map_for_each(int fd, __u32 ksize, __u32 vsize, map_entry_fn fn, void *data)
{
	/* The batch token: a bucket number for hashes, a key for arrays. */
	__u32 tsize = ksize > 8 ? ksize : 8, n = BATCH, count, i;
	void *keys, *vals, *in, *out;
	bool first = true;
	int err = 0;

	keys = calloc(n, ksize);
	vals = calloc(n, vsize);
	in = calloc(1, tsize);
	out = calloc(1, tsize);
	while (keys && vals && in && out) {
		count = n;
		err = bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, vals,
					   &count, NULL) ? -errno : 0;
		if (err == -ENOSPC && n < (1u << 20)) {
			/* A bucket larger than the batch: a larger batch. */
			void *k = realloc(keys, (size_t)n * 2 * ksize);
			void *v = k ? realloc(vals, (size_t)n * 2 * vsize) : NULL;

			if (k)
				keys = k;
			if (!v) {
				err = -ENOMEM;
				break;
			}
			vals = v;
			n *= 2;
			continue;
		}
		if (err && err != -ENOENT) {
			if (first && (err == -EINVAL || err == -EOPNOTSUPP ||
				      err == -524 /* ENOTSUPP */))
				err = walk_one_by_one(fd, ksize, vsize, fn, data);
			break;
		}
		for (i = 0; i < count; i++) {
			int ret = fn((char *)keys + (size_t)i * ksize,
				     (char *)vals + (size_t)i * vsize, data);

			if (ret) {
				err = ret;
				goto out;
			}
		}
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		memcpy(in, out, tsize);
		first = false;
	}
	if (!keys || !vals || !in || !out)
		err = -ENOMEM;
out:
	free(keys);
	free(vals);
	free(in);
	free(out);
	return err;
}

/* ---- flows ---- */

struct walk {
	struct store *st;
	const struct conn_filter *f;
	/* The services by id; `known` marks the ids in use. */
	struct hl_svc_key keys[HL_MAX_SERVICES];
	struct hl_service svcs[HL_MAX_SERVICES];
	bool known[HL_MAX_SERVICES];
	__u32 only;			/* f->svc's id, or ~0 */
	struct hl_settings cfg;
	__u64 now;
	conn_fn fn;
	void *data;
};

static int walk_init(struct walk *w, struct store *st,
		     const struct conn_filter *f)
{
	struct hl_svc_key k, *prev = NULL;
	struct hl_service svc;
	int err;

	w->st = st;
	w->f = f;
	w->only = ~0u;
	memset(w->known, 0, sizeof(w->known));
	while (!bpf_map_get_next_key(st->fds[MAP_SERVICES], prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(st->fds[MAP_SERVICES], &k, &svc) ||
		    svc.id >= HL_MAX_SERVICES)
			continue;
		w->keys[svc.id] = k;
		w->svcs[svc.id] = svc;
		w->known[svc.id] = true;
		if (f->svc && !memcmp(f->svc, &k, sizeof(k)))
			w->only = svc.id;
	}
	if (f->svc && w->only == ~0u)
		return -ENOENT;
	err = st->nodes ? 0 : nodes_load(st);
	if (!err)
		settings_read(st, &w->cfg);
	w->now = hl_now_ns();
	return err;
}

/* The service a connection-table key belongs to, or ~0. */
static __u32 svc_of_key(const struct walk *w, const struct hl_flow_key *k)
{
	__u32 id;

	for (id = 0; id < HL_MAX_SERVICES; id++) {
		const struct hl_svc_key *s = &w->keys[id];

		if (w->known[id] && s->family == k->family &&
		    s->proto == k->proto && s->port == k->dport &&
		    !memcmp(s->vip, k->dst, sizeof(s->vip)))
			return id;
	}
	return ~0u;
}

static bool node_matches(const struct conn_filter *f, const __be32 addr[4],
			 __be16 port)
{
	if (!f->node.family)
		return true;
	return !memcmp(addr, f->node.w, sizeof(f->node.w)) &&
	       (!f->node_port || f->node_port == port);
}

/* A connection-table entry: a flow of an ipip or l2 service. */
static int ct_entry(const void *key, const void *value, void *data)
{
	struct walk *w = data;
	const struct hl_flow_key *k = key;
	const struct hl_flow *fl = value;
	struct conn c = { .key = *k, .node_id = fl->node_id, .flags = fl->flags };
	__u32 id = svc_of_key(w, k);

	if (id == ~0u || (w->only != ~0u && id != w->only) ||
	    w->svcs[id].fwd == HL_FWD_NAT)
		return 0;	/* no such service, or its flows are in nat */
	c.svc = &w->keys[id];
	c.fwd_mode = w->svcs[id].fwd;
	if (fl->node_id < HL_MAX_NODES) {
		const struct hl_node *n = &w->st->nodes[fl->node_id];

		if ((n->flags & HL_NODE_F_EXISTS) && n->svc_id == id) {
			c.node_known = true;
			memcpy(c.node, n->addr, sizeof(c.node));
			c.node_port = n->port ? n->port : k->dport;
		}
	}
	if (w->f->node.family &&
	    (!c.node_known || !node_matches(w->f, c.node, c.node_port)))
		return 0;
	c.live = k->proto != IPPROTO_TCP || !(fl->flags & HL_FLOW_F_CLOSED);
	return w->fn(&c, w->data);
}

/* The reply entry's key of a forward entry: node:port -> SNAT addr:port. */
static void reply_key(const struct hl_flow_key *fk, const struct hl_nat *fwd,
		      struct hl_flow_key *rk)
{
	memset(rk, 0, sizeof(*rk));
	memcpy(rk->src, fwd->addr, sizeof(rk->src));
	memcpy(rk->dst, fwd->from, sizeof(rk->dst));
	rk->sport = fwd->port ? fwd->port : fk->dport;
	rk->dport = fwd->from_port;
	rk->proto = fk->proto;
	rk->family = fk->family;
}

/* A NAT table entry: each forward one is a flow of a nat service. */
static int nat_entry(const void *key, const void *value, void *data)
{
	struct walk *w = data;
	const struct hl_nat *fwd = value;
	struct conn c = { .key = *(const struct hl_flow_key *)key, .nat = true };
	struct hl_flow_key rk;
	__u64 last, timeout;

	if (fwd->dir != HL_NAT_FORWARD || fwd->svc_id >= HL_MAX_SERVICES ||
	    !w->known[fwd->svc_id] ||
	    (w->only != ~0u && fwd->svc_id != w->only))
		return 0;
	c.svc = &w->keys[fwd->svc_id];
	c.fwd_mode = w->svcs[fwd->svc_id].fwd;
	c.node_id = fwd->node_id;
	c.node_known = true;
	memcpy(c.node, fwd->addr, sizeof(c.node));
	c.node_port = fwd->port ? fwd->port : c.key.dport;
	if (!node_matches(w->f, c.node, c.node_port))
		return 0;
	c.fwd = *fwd;
	reply_key(&c.key, fwd, &rk);
	c.has_reply = !bpf_map_lookup_elem(w->st->fds[MAP_NAT], &rk, &c.reply);
	if (!c.has_reply)
		memset(&c.reply, 0, sizeof(c.reply));
	c.state = nat_state(c.key.proto, fwd->seen, c.reply.seen);
	last = fwd->last_ns > c.reply.last_ns ? fwd->last_ns : c.reply.last_ns;
	if (!last)
		last = fwd->created_ns;
	timeout = nat_timeout_ns(&w->cfg, c.state);
	c.live = c.state != HL_NAT_CLOSED &&
		 (w->now < last || w->now - last <= timeout);
	return w->fn(&c, w->data);
}

static int walk_maps(struct walk *w)
{
	bool nat = true, ct = true;
	int err;

	if (w->only != ~0u) {
		nat = w->svcs[w->only].fwd == HL_FWD_NAT;
		ct = !nat;
	}
	err = nat ? map_for_each(w->st->fds[MAP_NAT], sizeof(struct hl_flow_key),
				 sizeof(struct hl_nat), nat_entry, w) : 0;
	if (!err && ct)
		err = ct_for_each(w->st->fds[MAP_CONNTRACK],
				  sizeof(struct hl_flow), ct_entry, w);
	return err;
}

int conns_walk(struct store *st, const struct conn_filter *f, conn_fn fn,
	       void *data)
{
	struct walk *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	err = walk_init(w, st, f);
	if (err == -ENOENT)
		hl_err("no such service");
	w->fn = fn;
	w->data = data;
	if (!err)
		err = walk_maps(w);
	free(w);
	return err;
}

static int count_live(const struct conn *c, void *data)
{
	*(unsigned int *)data += c->live;
	return 0;
}

int conns_count_live(struct store *st, const struct hl_svc_key *key,
		     unsigned int *count)
{
	struct conn_filter f = { .svc = key };

	*count = 0;
	return conns_walk(st, &f, count_live, count);
}

/* Keys to delete, gathered first: deleting while walking a hash makes
 * the walk start over. */
struct doomed {
	struct doomed_key {
		struct hl_flow_key key;
		bool reply;		/* a NAT reply entry's key */
	} *keys;
	size_t len, cap;
	unsigned int flows;
};

static int doom(struct doomed *d, const struct hl_flow_key *k, bool reply)
{
	if (d->len == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct doomed_key *keys = realloc(d->keys, cap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		d->keys = keys;
		d->cap = cap;
	}
	d->keys[d->len].key = *k;
	d->keys[d->len++].reply = reply;
	return 0;
}

static int flush_one(const struct conn *c, void *data)
{
	struct doomed *d = data;
	struct hl_flow_key rk;
	int err;

	d->flows++;
	err = doom(d, &c->key, false);	/* forward (nat) or conntrack key */
	if (!err && c->nat && c->has_reply) {
		reply_key(&c->key, &c->fwd, &rk);
		err = doom(d, &rk, true);
	}
	return err;
}

int conns_flush(struct store *st, const struct conn_filter *f)
{
	struct doomed d = {};
	size_t i;
	int err;

	if (!f->svc)
		return -EINVAL;
	err = store_lock(st, true);
	if (err)
		return err;
	err = conns_walk(st, f, flush_one, &d);
	/* Each flow's forward entry goes before its reply entry: meanwhile a
	 * client's packet is a new flow (another SNAT port, as the old one
	 * is still taken), a node's packet still finds its way back. A NAT
	 * flow's connection-table entry, if the data path keeps one, goes
	 * with it. */
	for (i = 0; !err && i < d.len; i++) {
		const struct doomed_key *k = &d.keys[i];

		if (bpf_map_delete_elem(st->fds[MAP_NAT], &k->key) && errno != ENOENT)
			err = -errno;
		if (!k->reply && !err) {
			err = ct_del(st->fds[MAP_CONNTRACK], &k->key);
			if (err == -ENOENT)
				err = 0;
		}
	}
	if (err)
		hl_err("cannot flush the flows: %s", strerror(-err));
	free(d.keys);
	store_unlock(st);
	return err ? err : (int)d.flows;
}
