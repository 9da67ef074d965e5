// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent run: what the configuration file declares, the maps get
 * (at start and on SIGHUP), through the one writer of each state; and the
 * agent's services rebuilt for a new configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/daemon.h"
#include "agent/resume.h"
#include "cmd/cli.h"
#include "lib/conns.h"
#include "lib/log.h"
#include "lib/nodes.h"
#include "lib/rate.h"
#include "lib/services.h"
#include "lib/tables.h"

/* The file's node at addr and port (0: the service's). */
static const struct node_conf *find_node_conf(const struct svc_conf *sc,
					      const struct ip_addr *addr,
					      __be16 port)
{
	unsigned int i;

	for (i = 0; sc && i < sc->nnodes; i++)
		if (!memcmp(&sc->nodes[i].addr, addr, sizeof(*addr)) &&
		    sc->nodes[i].port == port)
			return &sc->nodes[i];
	return NULL;
}

static const struct svc_conf *find_svc_conf(const struct agent_conf *conf,
					    const struct hl_svc_key *key)
{
	unsigned int i;

	for (i = 0; conf && i < conf->nsvcs; i++)
		if (!memcmp(&conf->svcs[i].key, key, sizeof(*key)))
			return &conf->svcs[i];
	return NULL;
}

/*
 * The admin keys of `n` to apply to a pinned service: at start every key
 * the file gives (a write only where the pinned value differs); on reload
 * only those whose value the file changed, so what operators set with the
 * CLI in between stays. The ring of a live service never changes. A write
 * or read service gets the matching table strategy from its strategy key,
 * so that the table itself holds only nodes of the right role.
 */
static opt_seen_t admin_changes(const struct svc_conf *o,
				const struct svc_conf *n)
{
	const struct opt *t = svc_admin_opts;
	opt_seen_t seen = n->admin_seen & ~OPT_SEEN(t, "ring");
	char a[64], b[64];
	int i;

	for (i = 0; o && t[i].name; i++)
		if ((seen & (1ull << i)) && (o->admin_seen & (1ull << i)) &&
		    !strcmp(opt_format(&t[i], &o->admin, a, sizeof(a)),
			    opt_format(&t[i], &n->admin, b, sizeof(b))))
			seen &= ~(1ull << i);
	return seen;
}

/* A node's admin keys to apply: what the file gives at start, what it
 * changed on reload. */
static opt_seen_t node_changes(const struct node_conf *o,
			       const struct node_conf *n)
{
	const struct opt *t = node_admin_opts;
	opt_seen_t seen = n->seen;

	if (!o)
		return seen;
	seen = 0;
	if (o->weight != n->weight)
		seen |= OPT_SEEN(t, "weight");
	if (o->role != n->role)
		seen |= OPT_SEEN(t, "role");
	if (memcmp(o->zone, n->zone, sizeof(n->zone)))
		seen |= OPT_SEEN(t, "zone");
	return seen;
}

/* The file's SNAT addresses where they differ from the pinned ones (and,
 * on reload, from the file's last). */
static int apply_snat(struct agent *a, const struct svc_conf *o,
		      const struct svc_conf *n, __u32 id)
{
	struct hl_snat cur = {};

	if (!n->has_snat ||
	    (o && o->has_snat && !memcmp(&o->snat, &n->snat, sizeof(n->snat))))
		return 0;
	svc_snat_get(&a->st, id, &cur);
	if (cur.count == n->snat.count &&
	    !memcmp(cur.addrs, n->snat.addrs, sizeof(cur.addrs[0]) * cur.count))
		return 0;
	return svc_set_snat(&a->st, &n->key, &n->snat);
}

static const struct attach_conf *find_attach(const struct agent_conf *conf,
					     const char *dev, opt_seen_t *seen)
{
	unsigned int i;

	for (i = 0; conf && i < conf->nattach; i++)
		if (!strcmp(conf->attach[i].dev, dev)) {
			*seen = conf->attach_seen[i];
			return &conf->attach[i];
		}
	return NULL;
}

/* The director's devices: attach what the file adds (adopting what is
 * already attached), detach what a reload removes, decap likewise adds. */
static int apply_devices(struct agent *a, const struct agent_conf *old,
			 const struct agent_conf *new)
{
	unsigned int i, j;
	opt_seen_t seen = 0, oseen = 0;
	int err;

	for (i = 0; old && i < old->nattach; i++) {
		if (find_attach(new, old->attach[i].dev, &seen))
			continue;
		err = detach_link(&a->st, old->attach[i].dev);
		if (!err)
			log_msg("info", "%s: detached (removed from the configuration)",
				old->attach[i].dev);
	}
	for (i = 0; i < new->nattach; i++) {
		const struct attach_conf *ac = &new->attach[i];
		const struct attach_conf *oa = find_attach(old, ac->dev, &oseen);

		seen = new->attach_seen[i];
		err = attach_link(&a->st, ac);
		if (!err)
			log_msg("info", "%s: attached", ac->dev);
		else if (err != -EEXIST)
			return err;
		if (oa && oseen == seen && !memcmp(oa, ac, sizeof(*ac)))
			continue;
		err = attach_settings(&a->st, ac, seen);
		if (err)
			return err;
	}
	for (i = 0; i < new->ndecap; i++) {
		const struct decap_conf *dc = &new->decap[i];

		for (j = 0; old && j < old->ndecap; j++)
			if (!memcmp(&old->decap[j], dc, sizeof(*dc)))
				break;
		if (old && j < old->ndecap)
			continue;
		err = decap_attach(dc->dev, dc->vips, dc->nvips);
		if (err)
			return err;
	}
	return 0;
}

/* Run a CLI command (the one writer of its state) from the file's words:
 * `OBJECT WORD... VALUE-WORDS`. */
static int run_cli(const struct cli_object *obj, const char *const *words,
		   int nwords, const char *value)
{
	char buf[CONF_WORDS], *argv[24];
	int n, i;

	for (n = 0; n < nwords; n++)
		argv[n] = (char *)words[n];
	n += conf_words(value, buf, sizeof(buf), argv + n, 24 - n);
	for (i = 0; i < n && verbose; i++)
		fprintf(stderr, "%s%s", i ? " " : "debug: applying ", argv[i]);
	if (verbose)
		fputc('\n', stderr);
	return cli_object_main(obj, n, argv);
}

/*
 * Limits and classes go through the CLI's own writers (service set, class
 * add/set/del), outside the store lock they take themselves: every limit
 * the file gives at start, those it changed on reload; classes it adds (a
 * prefix already pinned is adopted as it is, with the file's shed order)
 * and, on reload, removes.
 */
static int apply_limits(struct agent *a, const struct agent_conf *old,
			const struct agent_conf *new)
{
	static const char *const kw[][2] = {
		{ "rate", "conn" }, { "rate", "pkt" }, { "rate", "bytes" },
		{ "client-rate", "conn" }, { "syn-retry", NULL },
	};
	unsigned int i, j, k;
	int err = 0;

	for (i = 0; old && i < old->nclasses; i++) {
		for (j = 0; j < new->nclasses; j++)
			if (!strcmp(old->classes[i].name, new->classes[j].name))
				break;
		if (j == new->nclasses) {
			const char *w[] = { "del", old->classes[i].name };

			run_cli(&class_object, w, 2, "");
		}
	}
	for (i = 0; i < new->nclasses && !err; i++) {
		const struct class_conf *cc = &new->classes[i];
		const char *w[] = { "add", cc->prefix, "name", cc->name, "rate", "conn" };
		const char *set[] = { "set", cc->name, "shed-order" };
		struct hl_class_key key;
		char order[8];
		__u32 id;

		for (j = 0; old && j < old->nclasses; j++)
			if (!memcmp(&old->classes[j], cc, sizeof(*cc)))
				break;
		if ((old && j < old->nclasses) || parse_prefix(cc->prefix, &key))
			continue;	/* as before */
		if (bpf_map_lookup_elem(a->st.fds[MAP_CLASS_PREFIXES], &key, &id))
			err = run_cli(&class_object, w, 6, cc->rate);
		/* The file's shed order, also for a class pinned already. */
		snprintf(order, sizeof(order), "%u", cc->admin.shed_order);
		if (!err)
			err = run_cli(&class_object, set, 3, order);
	}
	for (i = 0; i < new->nsvcs && !err; i++) {
		const struct svc_conf *n = &new->svcs[i];
		const struct svc_conf *o = find_svc_conf(old, &n->key);

		for (k = 0; k < sizeof(kw) / sizeof(kw[0]) && !err; k++) {
			const struct opt *t = &limit_opts[k];
			const char *val = (const char *)&n->limits + t->off;
			const char *w[] = { "set", n->name, kw[k][0], kw[k][1] };

			if (!(n->limits_seen & (1ull << k)) ||
			    (o && (o->limits_seen & (1ull << k)) &&
			     !strcmp(val, (const char *)&o->limits + t->off)))
				continue;
			err = run_cli(&service_object, w, kw[k][1] ? 4 : 3, val);
		}
	}
	return err;
}

/* Read-your-writes as the file says, once every service exists: when the
 * file sets it, or a reload changes it (a file without it leaves the
 * CLI's setting). */
static int apply_ryw(struct agent *a, const struct svc_conf *o,
		     const struct svc_conf *n)
{
	struct hl_svc_key src;
	int err;

	if (o ? !strcmp(o->ryw_of, n->ryw_of) &&
		o->ryw_window_ms == n->ryw_window_ms : !n->ryw_of[0])
		return 0;
	if (n->ryw_of[0] && parse_svc(n->ryw_of, &src))
		return -EINVAL;
	err = svc_set_ryw(&a->st, &n->key, n->ryw_of[0] ? &src : NULL,
			  n->ryw_window_ms);
	if (err)
		log_msg("error", "%s: read-your-writes: %s", n->name, hl_errmsg());
	else if (n->ryw_of[0])
		log_msg("info", "%s: read-your-writes of %s, window %u ms",
			n->name, n->ryw_of, n->ryw_window_ms);
	return err;
}

/* At start: delete the nodes of `sc` that the file set before and no
 * longer has (removed while the agent was down); not the CLI's. */
static void forget_removed(struct agent *a, const struct svc_conf *sc,
			   const struct hl_service *svc)
{
	__u32 id;

	for (id = 0; id < HL_MAX_NODES; id++) {
		const struct hl_node *n = &a->st.nodes[id];
		struct ip_addr addr = { .family = n->family };

		if (!(n->flags & HL_NODE_F_EXISTS) || n->svc_id != svc->id)
			continue;
		memcpy(addr.w, n->addr, sizeof(addr.w));
		if (find_node_conf(sc, &addr, n->port) ||
		    !conf_record_ours(a->conf_fd, id, &sc->key, &addr, n->port))
			continue;
		log_msg("info", "%s: node removed from the configuration while stopped",
			sc->name);
		if (!node_del(&a->st, id))
			conf_record_del(a->conf_fd, id);
	}
}

/* Admin writes for the difference between `old` (NULL at start) and `new`:
 * declared services and nodes are created, removed ones deleted, changed
 * settings set. Nodes the change does not name are not touched, so their
 * flows, and what operators set with the CLI, stay as they are. */
int apply_config(struct agent *a, const struct agent_conf *old,
			const struct agent_conf *new)
{
	unsigned int i, j;
	int err = 0;

	if (store_lock(&a->st, true))
		return -errno;
	err = apply_devices(a, old, new);
	if (!err)
		err = nodes_load(&a->st);
	if (!err && new->has_nat &&
	    (!old || !old->has_nat ||
	     memcmp(old->nat.nat_timeout_s, new->nat.nat_timeout_s,
		    sizeof(new->nat.nat_timeout_s)))) {
		/* The file's group says all five: left out is the default. */
		err = nat_timeouts_set(&a->st, &new->nat, ~(opt_seen_t)0);
		if (!err)
			log_msg("info", "NAT timeouts set from the configuration");
	}
	for (i = 0; old && !err && i < old->nsvcs; i++) {
		const struct svc_conf *o = &old->svcs[i];
		const struct svc_conf *n = find_svc_conf(new, &o->key);
		struct hl_service svc;
		int id;

		if (!n) {
			log_msg("info", "%s: removed from the configuration", o->name);
			svc_del(&a->st, &o->key);
			nodes_load(&a->st);
			continue;
		}
		if (svc_find(&a->st, &o->key, &svc))
			continue;
		for (j = 0; j < o->nnodes; j++) {
			if (find_node_conf(n, &o->nodes[j].addr, o->nodes[j].port))
				continue;
			id = node_find_port(&a->st, svc.id, o->key.port,
					    &o->nodes[j].addr, o->nodes[j].port);
			if (id >= 0 && !node_del(&a->st, id))
				conf_record_del(a->conf_fd, id);
		}
	}
	for (i = 0; !err && i < new->nsvcs; i++) {
		const struct svc_conf *n = &new->svcs[i];
		const struct svc_conf *o = find_svc_conf(old, &n->key);
		struct hl_service svc;
		bool added = false;

		if (svc_find(&a->st, &n->key, &svc)) {
			struct hl_service tpl = { .ring_size = HL_RING_DEFAULT };

			svc_admin_apply(&n->admin, n->admin_seen, &tpl);
			err = svc_add(&a->st, &n->key, &tpl);
			if (err || svc_find(&a->st, &n->key, &svc))
				break;
			log_msg("info", "%s: added", n->name);
			err = apply_snat(a, NULL, n, svc.id);
		} else {
			struct hl_service want = svc;

			/* SNAT first: a change to fwd nat needs it. */
			err = apply_snat(a, o, n, svc.id);
			if (!err)
				err = svc_admin_apply(&n->admin, admin_changes(o, n),
						      &want);
			if (!err && memcmp(&want, &svc, sizeof(svc)))
				err = svc_set_admin(&a->st, &n->key, &want);
		}
		if (err)
			break;
		if (!o)
			forget_removed(a, n, &svc);
		if ((svc.opts & HL_SVC_O_SCALEOUT) && svc_scaleout_problem(&svc))
			log_msg("warn", "%s: scaleout with strategy %s: its pick depends on %s, so a flow that moves to another director may reach another node (maglev, rendezvous, srchash, primary and replica keep it)",
				n->name, hl_strategy_name(svc.strategy),
				svc_scaleout_problem(&svc));
		for (j = 0; j < n->nnodes; j++) {
			const struct node_conf *nc = &n->nodes[j];
			const struct node_conf *oc = find_node_conf(o, &nc->addr,
								    nc->port);
			struct hl_node node = {};
			/* On the service's port, or on one of its own:
			 * another node at the same address is another. */
			int id = node_find_port(&a->st, svc.id, n->key.port,
						&nc->addr, nc->port);

			/* Exists, and unchanged here: since the last reload,
			 * or at start since the file last set it (so what
			 * the CLI changed since stays). */
			if (id >= 0 && (o ? oc && !memcmp(oc, nc, sizeof(*nc)) :
					conf_record_same(a->conf_fd, id, &n->key, nc)))
				continue;
			if (id >= 0) {
				/* The keys the file gives (at start) or
				 * changes (on reload); the rest is the CLI's. */
				opt_seen_t seen = node_changes(oc, nc);
				const struct hl_node *cur = &a->st.nodes[id];

				node = *cur;
				if (seen & OPT_SEEN(node_admin_opts, "weight"))
					node.weight = nc->weight;
				if (seen & OPT_SEEN(node_admin_opts, "role"))
					node.role = nc->role;
				if (seen & OPT_SEEN(node_admin_opts, "zone"))
					memcpy(node.zone, nc->zone, sizeof(node.zone));
				if (node.weight == cur->weight && node.role == cur->role &&
				    !memcmp(node.zone, cur->zone, sizeof(node.zone)))
					continue;	/* as pinned */
				err = node_set_admin(&a->st, id, &node);
			} else {
				node.family = nc->addr.family;
				memcpy(node.addr, nc->addr.w, sizeof(node.addr));
				node.port = nc->port;
				node.weight = nc->weight;
				node.role = nc->role;
				memcpy(node.zone, nc->zone, sizeof(node.zone));
				/* One table build for all the new nodes. */
				id = err = node_add(&a->st, &n->key, &node, false);
				err = err < 0 ? err : 0;
				added = true;
			}
			if (err)
				break;
			conf_record_put(a->conf_fd, id, &n->key, nc);
		}
		if (added && !err)
			err = svc_rebuild(&a->st, svc.id);
	}
	for (i = 0; !err && i < new->nsvcs; i++)
		err = apply_ryw(a, find_svc_conf(old, &new->svcs[i].key),
				&new->svcs[i]);
	store_unlock(&a->st);
	return err ? err : apply_limits(a, old, new);
}

void svcs_free(struct agent *a)
{
	struct agent_node *an;
	unsigned int i;

	for (i = 0; i < a->nsvcs; i++) {
		while ((an = a->svcs[i].nodes)) {
			a->svcs[i].nodes = an->next;
			node_free(an);
		}
	}
	free(a->svcs);
	a->svcs = NULL;
	a->nsvcs = 0;
}

/* Adopt `conf`: services keep their probing nodes when their check is the
 * same; otherwise their probes start over. */
int svcs_build(struct agent *a, struct agent_conf *conf)
{
	struct agent_svc *svcs = calloc(conf->nsvcs ? conf->nsvcs : 1, sizeof(*svcs));
	unsigned int i, j;

	if (!svcs)
		return -ENOMEM;
	for (i = 0; i < conf->nsvcs; i++) {
		svcs[i].agent = a;
		svcs[i].conf = conf->svcs[i];
		svcs[i].sysid = conf->svcs[i].sysid;
		svcs[i].announced = -1;
		for (j = 0; j < a->nsvcs; j++) {
			struct agent_svc *old = &a->svcs[j];
			struct agent_node *an;

			if (memcmp(&old->conf.key, &svcs[i].conf.key, sizeof(old->conf.key)) ||
			    memcmp(&old->conf.probe, &svcs[i].conf.probe,
				   sizeof(old->conf.probe)) ||
			    memcmp(&old->conf.patroni_probe, &svcs[i].conf.patroni_probe,
				   sizeof(old->conf.patroni_probe)))
				continue;
			svcs[i].nodes = old->nodes;
			svcs[i].holding = old->holding;
			svcs[i].hold_since_ns = old->hold_since_ns;
			if (!svcs[i].sysid)
				svcs[i].sysid = old->sysid;
			svcs[i].announced = old->announced;
			old->nodes = NULL;
			for (an = svcs[i].nodes; an; an = an->next) {
				an->svc = &svcs[i];
				an->probe.cfg = &svcs[i].conf.probe;
				an->pat.cfg = &svcs[i].conf.patroni_probe;
			}
		}
	}
	svcs_free(a);
	a->svcs = svcs;
	a->nsvcs = conf->nsvcs;
	return 0;
}
