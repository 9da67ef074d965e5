// SPDX-License-Identifier: GPL-2.0
/*
 * Control plane, in private network and mount namespaces (a bpffs mounted
 * under /tmp, veths and neighbours all vanish with this process):
 *
 *  1. Maglev rebuild: maglev_build() alone, and svc_rebuild() -- the
 *     agent's own build + fresh inner map + swap, as every `node add/set/
 *     del` runs it -- for 10, 100, 1000 and 4096 nodes in one service,
 *     with equal weights and with weights from 1 to 1000 (the heap's turn
 *     order).
 *  2. `helios-agent node set SVC ADDR weight 0` (the real CLI binary, on
 *     pinned maps under a temporary --bpffs) until the first new flow that
 *     obeys it: the director is polled with BPF_PROG_TEST_RUN, with new
 *     flows that went to that node before, while the CLI runs.
 *
 *   ctlplane -a PATH/helios-agent [-r ROUNDS] [-o FILE.json]
 *   ctlplane -n NODES [-w equal|unequal] [-r ROUNDS]
 *
 * -n rebuilds NODES nodes only (no CLI series, no JSON): a short run for
 * `valgrind --tool=callgrind --toggle-collect=maglev_build` and the like.
 */
#include <getopt.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "bench.h"
#include "lib/ct.h"
#include "lib/maglev.h"
#include "lib/nodes.h"
#include "lib/parse.h"
#include "lib/services.h"
#include "lib/store.h"

#define MAX_ROUNDS	10

static int rounds = 5;
static char dir[64];

static void sh(const char *cmd)
{
	if (system(cmd))
		die("'%s' failed", cmd);
}

static void svc_key(struct hl_svc_key *k, __u32 vip)
{
	memset(k, 0, sizeof(*k));
	k->vip[0] = htonl(vip);
	k->port = htons(5432);
	k->proto = IPPROTO_TCP;
	k->family = HL_AF_INET;
}

/* ---- 1. rebuild ----------------------------------------------------------- */

/* Unequal weights: 1..1000, the same for every run. */
static __u32 bench_weight(__u32 i, bool unequal)
{
	return unequal ? 1 + (i * 2654435761u >> 7) % 1000 : HL_WEIGHT_DEFAULT;
}

static struct json_object *rebuild_one(struct store *st, __u32 n,
				       bool unequal)
{
	struct hl_svc_key key;
	struct hl_service svc;
	__u32 ring = ring_for_nodes(n), i, count = n;
	struct maglev_node *mn = calloc(n, sizeof(*mn));
	struct hl_node *nodes = calloc(n, sizeof(*nodes));
	__u32 *ids = calloc(n, sizeof(*ids)), *table = malloc(ring * 4);
	double build[MAX_ROUNDS], swap[MAX_ROUNDS];
	struct json_object *o = json_object_new_object();
	int k, err;

	if (!mn || !nodes || !ids || !table)
		die("out of memory");
	svc_key(&key, 0xc612010a);
	err = svc_add(st, &key, &(struct hl_service){ .ring_size = ring });
	if (!err)
		err = svc_find(st, &key, &svc);
	if (err)
		die("service add: %s", strerror(-err));
	for (i = 0; i < n; i++) {
		ids[i] = i;
		nodes[i].addr[0] = htonl(0xc6130000u | (i + 1));
		nodes[i].svc_id = svc.id;
		nodes[i].flags = HL_NODE_F_EXISTS;
		nodes[i].weight = bench_weight(i, unequal);
		nodes[i].family = HL_AF_INET;
		mn[i].id = i;
		mn[i].weight = bench_weight(i, unequal);
		mn[i].family = HL_AF_INET;
		mn[i].addr[0] = nodes[i].addr[0];
	}
	if (bpf_map_update_batch(st->fds[MAP_NODES], ids, nodes, &count, NULL))
		die("nodes: %s", strerror(errno));
	err = nodes_load(st);
	if (err)
		die("nodes load: %s", strerror(-err));
	for (k = 0; k < rounds; k++) {
		__u64 t0 = now_ns(), t1, t2;

		err = maglev_build(mn, n, ring, table);
		t1 = now_ns();
		if (!err)
			err = svc_rebuild(st, svc.id);
		t2 = now_ns();
		if (err)
			die("rebuild: %s", strerror(-err));
		build[k] = (t1 - t0) / 1e6;
		swap[k] = (t2 - t1) / 1e6;
	}
	fprintf(stderr, "  %5u nodes, %-7s weights, ring %6u: maglev_build %.2f ms, build+swap %.2f ms (median)\n",
		n, unequal ? "unequal" : "equal", ring,
		summarize(build, rounds).med, summarize(swap, rounds).med);
	json_object_object_add(o, "nodes", json_object_new_int64(n));
	json_object_object_add(o, "weights",
			       json_object_new_string(unequal ? "unequal" : "equal"));
	json_object_object_add(o, "ring", json_object_new_int64(ring));
	json_object_object_add(o, "maglev_build_ms", jsummary(build, rounds));
	json_object_object_add(o, "build_and_swap_ms", jsummary(swap, rounds));
	err = svc_del(st, &key);
	if (err)
		die("service del: %s", strerror(-err));
	free(mn);
	free(nodes);
	free(ids);
	free(table);
	return o;
}

/* `only` nodes (0: every size); `weights` bit 0 equal, bit 1 unequal. */
static void series_rebuild(struct json_object *root, __u32 only, int weights)
{
	static const __u32 sizes[] = { 10, 100, 1000, 4096 };
	struct json_object *a = json_object_new_array();
	struct store st;
	unsigned int i, u;
	int err;

	err = store_open(&st, dir, true);
	if (err)
		die("store_open(%s): %s", dir, strerror(-err));
	for (u = 0; u < 2; u++) {
		if (!(weights & (1 << u)))
			continue;
		if (only)
			json_object_array_add(a, rebuild_one(&st, only, u));
		for (i = 0; i < 4 && !only; i++)
			json_object_array_add(a, rebuild_one(&st, sizes[i], u));
	}
	store_close(&st);
	json_object_object_add(root, "maglev_rebuild", a);
}

/* ---- 2. CLI to first obeying packet --------------------------------------- */

static const char *agent;

static void cli(const char *fmt, ...)
{
	char args[512], cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s --bpffs %s %s >/dev/null", agent, dir, args);
	sh(cmd);
}

static pid_t cli_spawn(const char *weight)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		execl(agent, agent, "--bpffs", dir, "node", "set",
		      "198.18.1.10:5432/tcp", "198.19.0.1", "weight", weight,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct probe {
	int prog, ct;
	struct frame f;
};

/* Send a new flow from source port `sport`; return the outer destination
 * (the node it went to), after forgetting the flow again. */
static __be32 probe(struct probe *p, __u16 sport)
{
	struct hl_flow_key key;
	__be16 port = htons(sport);
	struct run r;

	memcpy(p->f.b + p->f.bump_lo, &port, 2);
	prog_run(p->prog, p->f.b, p->f.len, 1, &r);
	frame_flow_key(p->f.b, HL_AF_INET, &key);
	ct_del(p->ct, &key);
	if ((r.retval != XDP_TX && r.retval != XDP_REDIRECT) ||
	    r.out_len != p->f.len + 20 || r.out[ETH_HLEN + 9] != IPPROTO_IPIP)
		die("probe: verdict %u, %u bytes: not forwarded", r.retval,
		    r.out_len);
	return *(__be32 *)(r.out + ETH_HLEN + 16);
}

static void series_cli(struct json_object *root)
{
	enum { CANDS = 64 };
	double effect[MAX_ROUNDS], ret[MAX_ROUNDS], after[MAX_ROUNDS];
	__be32 node1 = htonl(0xc6130001), src[4] = {}, vip[4] = {};
	struct json_object *o = json_object_new_object();
	__u16 cand[CANDS];
	struct probe p;
	char path[128];
	int k, n, i;

	/* The nodes' next hop: a veth with permanent neighbours, so that
	 * `node add` resolves at once. */
	sh("ip link add hctl0 address 02:00:00:00:00:03 type veth peer name hctl1 "
	   "address 02:00:00:00:00:01");
	sh("ip link set hctl0 up && ip link set hctl1 up && ip addr add 198.18.0.3/15 dev hctl0");
	for (i = 1; i <= 3; i++) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "ip neigh replace 198.19.0.%d lladdr "
			 "02:00:00:00:00:01 dev hctl0 nud permanent", i);
		sh(cmd);
	}
	cli("service add 198.18.1.10:5432/tcp");
	for (i = 1; i <= 3; i++)
		cli("node add 198.18.1.10:5432/tcp 198.19.0.%d", i);

	snprintf(path, sizeof(path), "%s/%s", dir, PROG_PIN);
	p.prog = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/conntrack", dir);
	p.ct = bpf_obj_get(path);
	if (p.prog < 0 || p.ct < 0)
		die("pinned program/conntrack: %s", strerror(errno));
	src[0] = htonl(0xc6120002);
	vip[0] = htonl(0xc612010a);
	frame_build(&p.f, HL_AF_INET, src, vip, 0, 5432, IPPROTO_TCP, 0x02, 64);

	for (k = 0; k < rounds; k++) {
		__u64 t0, t_ret = 0, t_eff = 0;
		pid_t pid;
		int status;

		/* New flows that the current table sends to node 1. */
		for (n = 0, i = 1; n < CANDS && i < 60000; i++)
			if (probe(&p, 1000 + i) == node1)
				cand[n++] = 1000 + i;
		if (n < CANDS)
			die("node 1 takes no new flows");

		t0 = now_ns();
		pid = cli_spawn("0");
		for (i = 0; !t_ret || !t_eff; i++) {
			if (!t_eff && probe(&p, cand[i % CANDS]) != node1)
				t_eff = now_ns();
			if (!t_ret && waitpid(pid, &status, WNOHANG) == pid) {
				t_ret = now_ns();
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					die("helios-agent node set failed");
			}
			if (now_ns() - t0 > 10000000000ull)
				die("node set not obeyed within 10 s");
		}
		effect[k] = (t_eff - t0) / 1e6;
		ret[k] = (t_ret - t0) / 1e6;
		after[k] = t_eff > t_ret ? (t_eff - t_ret) / 1e6 : 0;
		cli("node set 198.18.1.10:5432/tcp 198.19.0.1 weight 100");
	}
	fprintf(stderr, "  node set -> first obeying packet %.2f ms, CLI returns after %.2f ms (median)\n",
		summarize(effect, rounds).med, summarize(ret, rounds).med);
	json_object_object_add(o, "first_obeying_packet_ms", jsummary(effect, rounds));
	json_object_object_add(o, "cli_exit_ms", jsummary(ret, rounds));
	json_object_object_add(o, "obeyed_after_cli_exit_ms", jsummary(after, rounds));
	json_object_object_add(root, "node_set_to_packet", o);
	close(p.prog);
	close(p.ct);
}

int main(int argc, char **argv)
{
	const char *out = "ctlplane.json";
	struct json_object *root;
	int opt, weights = 3;
	__u32 only = 0;

	while ((opt = getopt(argc, argv, "a:r:o:n:w:")) != -1) {
		switch (opt) {
		case 'a':
			agent = optarg;
			break;
		case 'n':
			only = atoi(optarg);
			if (only < 1 || only > HL_MAX_NODES)
				die("nodes: 1..%d", HL_MAX_NODES);
			break;
		case 'w':
			if (strcmp(optarg, "equal") && strcmp(optarg, "unequal"))
				die("weights: equal or unequal");
			weights = optarg[0] == 'e' ? 1 : 2;
			break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS)
				die("rounds: 1..%d", MAX_ROUNDS);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr, "usage: ctlplane -a HELIOS_AGENT [-r ROUNDS] [-o FILE]\n"
				"       ctlplane -n NODES [-w equal|unequal] [-r ROUNDS]\n");
			return 2;
		}
	}
	if (!only && (!agent || access(agent, X_OK)))
		die("-a PATH/helios-agent needed");
	if (unshare(CLONE_NEWNET | CLONE_NEWNS))
		die("unshare: %s (run as root)", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("mount --make-rprivate /: %s", strerror(errno));
	sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	sh("ip link set lo up");
	/* No dots: libbpf rewrites them in pin paths. */
	snprintf(dir, sizeof(dir), "/tmp/hlbenchXXXXXX");
	if (!mkdtemp(dir) || strchr(dir, '.'))
		die("mkdtemp: %s", strerror(errno));
	if (mount("bpf", dir, "bpf", 0, NULL))
		die("mount bpffs: %s", strerror(errno));

	root = json_object_new_object();
	fprintf(stderr, "control plane\n");
	series_rebuild(root, only, weights);
	if (!only) {
		series_cli(root);
		json_write(root, out);
	}
	json_object_put(root);
	umount(dir);
	rmdir(dir);
	return 0;
}
