// SPDX-License-Identifier: GPL-2.0
/*
 * Live throughput on a veth pair, in a private network namespace that
 * disappears with this process (nothing of the machine's own network is
 * touched):
 *
 *     gen (BPF_PROG_RUN, live frames) -> hgen ==veth== hdut [device under test]
 *     sink (native XDP, counts, drops) <- hgen <==XDP_TX== hdut
 *
 * The device under test is the director (an established flow, and a new
 * flow per frame) or the MAC-swap XDP_TX floor, alternated in one run on
 * the same veth, the same generator and the same CPU. The generator is
 * bounded by its frame count and by an alarm.
 *
 *   live [-n FRAMES] [-r ROUNDS] [-o FILE.json]
 */
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <linux/if_link.h>

#include "bench.h"
#include "dir.h"
#include "bench/floors.skel.h"

#define MAX_ROUNDS	10

static struct floors *fl;

static void sh(const char *cmd)
{
	if (system(cmd))
		die("'%s' failed", cmd);
}

static void on_alarm(int sig)
{
	/* BPF_PROG_RUN returns EINTR; we die there. */
}

struct mode {
	const char *key, *title;
	bool director, bump;
	double mpps[MAX_ROUNDS], offered[MAX_ROUNDS];
	__u64 sent, back, forwarded;
};

int main(int argc, char **argv)
{
	struct mode modes[] = {
		{ .key = "xdp_tx_floor", .title = "MAC swap + XDP_TX (baseline)" },
		{ .key = "director_established",
		  .title = "director, established flow (IPIP)", .director = true },
		{ .key = "director_new_flow",
		  .title = "director, new flow per frame (IPIP)", .director = true,
		  .bump = true },
	};
	int nm = sizeof(modes) / sizeof(modes[0]), rounds = 3, opt, i, k;
	__u32 frames = 2000000, gen_if, dut_if;
	const char *out = "live.json";
	struct json_object *root, *jm;
	struct frame est, syn;
	__be32 vip[4] = {}, src_est[4] = {}, src_new[4] = {};
	struct dir *d;
	struct run r;
	cpu_set_t cpus;
	int cpu;

	while ((opt = getopt(argc, argv, "n:r:o:")) != -1) {
		switch (opt) {
		case 'n':
			frames = strtoul(optarg, NULL, 0);
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
			fprintf(stderr, "usage: live [-n FRAMES] [-r ROUNDS] [-o FILE]\n");
			return 2;
		}
	}
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): %s (run as root)", strerror(errno));
	/* Generator, both NAPI polls and the programs on one CPU: the
	 * figures are per core. */
	cpu = ncpus() - 1;
	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	/* No IPv6 on the pair: no router solicitations in the counters. The
	 * director's side has an address and permanent neighbours for the
	 * nodes, so its once-a-second next-hop refresh succeeds as it would
	 * in production. */
	sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	sh("ip link set lo up");
	sh("ip link add hgen address 02:00:00:00:00:02 type veth "
	   "peer name hdut address 02:00:00:00:00:03");
	sh("ip link set hgen up && ip link set hdut up");
	sh("ip addr add 198.18.0.3/15 dev hdut");
	for (i = 0; i < 3; i++) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "ip neigh replace 198.19.0.%d lladdr "
			 "02:00:00:00:00:02 dev hdut nud permanent", i + 1);
		sh(cmd);
	}
	gen_if = if_nametoindex("hgen");
	dut_if = if_nametoindex("hdut");
	if (!gen_if || !dut_if)
		die("veth pair missing");

	fl = floors__open();
	if (!fl)
		die("cannot open the floor programs");
	bpf_map__set_max_entries(fl->maps.floor_ct, 1);	/* unused here */
	if (floors__load(fl))
		die("cannot load the floor programs: %s", strerror(errno));
	fl->bss->gen_ifindex = gen_if;

	d = dir_load();
	d->nh_ifindex = dut_if;
	memcpy(d->nh_dmac, mac_client, ETH_ALEN);	/* hgen */
	memcpy(d->nh_smac, mac_dir, ETH_ALEN);		/* hdut */
	vip[0] = htonl(0xc612010a);
	src_est[0] = htonl(0xc613fe02);
	src_new[0] = htonl(0xc6120002);
	dir_service(d, 0, HL_AF_INET, vip, 5432, IPPROTO_TCP, 3, HL_RING_DEFAULT);
	frame_build(&est, HL_AF_INET, src_est, vip, 40001, 5432, IPPROTO_TCP,
		    0x10, 64);
	frame_build(&syn, HL_AF_INET, src_new, vip, 0, 5432, IPPROTO_TCP,
		    0x02, 64);
	/* Establish the flow (test runs arrive on lo: egress hdut is a
	 * redirect there). */
	prog_run(d->prog, est.b, est.len, 1, &r);
	if (r.retval != XDP_REDIRECT)
		die("priming the flow: verdict %u", r.retval);

	if (bpf_xdp_attach(gen_if, bpf_program__fd(fl->progs.sink),
			   XDP_FLAGS_DRV_MODE, NULL))
		die("native XDP on veth: %s", strerror(errno));
	signal(SIGALRM, on_alarm);

	fprintf(stderr, "live throughput (%u frames of 64 B per run, CPU %d)\n",
		frames, cpu);
	for (k = 0; k < rounds; k++) {
		for (i = 0; i < nm; i++) {
			struct mode *m = &modes[i];
			const struct frame *f = m->bump ? &syn : &est;
			int fd = m->director ? d->prog :
				 bpf_program__fd(fl->progs.floor_tx);
			__u64 back0, ipip0, fwd0, other0 = 0, other1 = 0;
			__u64 back, ipip, fwd, t0, t1;
			__u32 rs;
			LIBBPF_OPTS(bpf_test_run_opts, opts,
				    .data_in = f->b,
				    .data_size_in = f->len,
				    .repeat = frames,
				    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

			if (bpf_xdp_attach(dut_if, fd, XDP_FLAGS_DRV_MODE, NULL))
				die("attach to hdut: %s", strerror(errno));
			memcpy(fl->bss->orig, f->b, f->len);
			fl->bss->orig_len = f->len;
			fl->bss->bump_lo = m->bump ? f->bump_lo : 0;
			fl->bss->bump_hi = m->bump ? f->bump_hi : 0;
			if (m->director)
				dir_nh_push(d, 0, d->nr_nodes);
			usleep(100000);
			back0 = fl->bss->sink_packets;
			ipip0 = fl->bss->sink_ipip;
			fwd0 = percpu_u64(d->reasons, HL_REASON_FORWARDED);
			for (rs = 0; rs < HL_REASON_MAX; rs++)
				if (rs != HL_REASON_FORWARDED)
					other0 += percpu_u64(d->reasons, rs);
			alarm(30);
			t0 = now_ns();
			if (bpf_prog_test_run_opts(bpf_program__fd(fl->progs.gen),
						   &opts))
				die("generator: %s", strerror(errno));
			t1 = now_ns();
			alarm(0);
			usleep(100000);	/* let the last batches drain */
			back = fl->bss->sink_packets - back0;
			ipip = fl->bss->sink_ipip - ipip0;
			fwd = percpu_u64(d->reasons, HL_REASON_FORWARDED) - fwd0;
			for (rs = 0; rs < HL_REASON_MAX; rs++)
				if (rs != HL_REASON_FORWARDED)
					other1 += percpu_u64(d->reasons, rs);
			/* What came back must be what the program under test
			 * makes, and the director must have taken no other
			 * path for any frame. */
			if (m->director && (ipip != back || fwd < back ||
					    other1 != other0))
				die("%s: %llu back, %llu IPIP, %llu forwarded, %llu other verdicts",
				    m->key, (unsigned long long)back,
				    (unsigned long long)ipip, (unsigned long long)fwd,
				    (unsigned long long)(other1 - other0));
			if (!m->director && ipip)
				die("%s: IPIP frames from the floor", m->key);
			m->mpps[k] = back / ((t1 - t0) / 1e3);
			m->offered[k] = frames / ((t1 - t0) / 1e3);
			m->sent += frames;
			m->back += back;
			m->forwarded += fwd;
			fprintf(stderr, "  %-22s %.2f Mpps back (%.2f offered)\n",
				m->key, m->mpps[k], m->offered[k]);
		}
	}
	bpf_xdp_detach(dut_if, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_detach(gen_if, XDP_FLAGS_DRV_MODE, NULL);

	root = json_object_new_object();
	json_object_object_add(root, "frames_per_run", json_object_new_int64(frames));
	json_object_object_add(root, "frame_bytes", json_object_new_int(64));
	json_object_object_add(root, "rounds", json_object_new_int(rounds));
	json_object_object_add(root, "cpu", json_object_new_int(cpu));
	jm = json_object_new_object();
	for (i = 0; i < nm; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "title", json_object_new_string(modes[i].title));
		json_object_object_add(o, "mpps", jsummary(modes[i].mpps, rounds));
		json_object_object_add(o, "offered_mpps", jsummary(modes[i].offered, rounds));
		json_object_object_add(o, "frames_sent", json_object_new_int64(modes[i].sent));
		json_object_object_add(o, "frames_back", json_object_new_int64(modes[i].back));
		if (modes[i].director)
			json_object_object_add(o, "forwarded",
					       json_object_new_int64(modes[i].forwarded));
		json_object_object_add(jm, modes[i].key, o);
	}
	json_object_object_add(root, "modes", jm);
	json_write(root, out);
	json_object_put(root);
	dir_free(d);
	floors__destroy(fl);
	return 0;
}
