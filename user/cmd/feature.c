// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent feature probe [DEV]: what this kernel offers the data path,
 * found by loading tiny programs, maps and BTF (libbpf's probes, in the
 * spirit of `bpftool feature probe`), never by kernel version; for each
 * missing feature, what it disables. With DEV: whether XDP attaches to it
 * natively and generically (an XDP_PASS program, attached and removed at
 * once; a device already running XDP is reported, not touched).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "cmd/cli.h"

enum xdp_probe { XDP_NO, XDP_YES, XDP_BUSY };

struct feature {
	const char *name;
	int (*probe)(const struct feature *f);
	enum bpf_map_type map;		/* probe_map */
	enum bpf_func_id helper;	/* probe_helper */
	const char *kfunc;		/* probe_kfunc */
	const char *disables;		/* when missing */
};

static int probe_map(const struct feature *f)
{
	return libbpf_probe_bpf_map_type(f->map, NULL) == 1;
}

static int probe_helper(const struct feature *f)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, f->helper, NULL) == 1;
}

static int probe_xdp(const struct feature *f)
{
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) == 1;
}

/* Load a BTF blob of one int into the kernel. */
static int probe_btf_load(const struct feature *f)
{
	struct btf *btf = btf__new_empty();
	int ok;

	if (!btf)
		return 0;
	ok = btf__add_int(btf, "int", 4, BTF_INT_SIGNED) > 0 &&
	     !btf__load_into_kernel(btf);
	btf__free(btf);
	return ok;
}

static int probe_vmlinux_btf(const struct feature *f)
{
	struct btf *btf = btf__load_vmlinux_btf();

	if (!btf)
		return 0;
	btf__free(btf);
	return 1;
}

/* A kfunc exists when the kernel's BTF declares it (kfuncs are resolved
 * by BTF id at load time; a program calling a missing one is refused). */
static int probe_kfunc(const struct feature *f)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int ok;

	if (!btf)
		return 0;
	ok = btf__find_by_name_kind(btf, f->kfunc, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return ok;
}

/* An XDP program of r0 = XDP_PASS, plus an atomic fetch-and-add on the
 * stack when `atomic` (what -mcpu=v3 emits for the data path's counters). */
static int tiny_xdp(bool atomic)
{
	const struct bpf_insn plain[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	const struct bpf_insn atom[] = {
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10,
		  .off = -8, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1,
		  .imm = 1 },
		{ .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_10,
		  .src_reg = BPF_REG_1, .off = -8, .imm = BPF_ADD | BPF_FETCH },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return atomic ?
		bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", atom,
			      sizeof(atom) / sizeof(atom[0]), NULL) :
		bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", plain,
			      sizeof(plain) / sizeof(plain[0]), NULL);
}

static int probe_atomics(const struct feature *f)
{
	int fd = tiny_xdp(true);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static const struct feature features[] = {
	{ "kernel BTF", probe_vmlinux_btf, .disables =
	  "nothing at run time; building needs the committed vmlinux/vmlinux.h" },
	{ "BTF load", probe_btf_load, .disables =
	  "the data path: its maps carry BTF (timers, spin locks): nothing loads" },
	{ "XDP programs", probe_xdp, .disables = "the director (attach)" },
	{ "BPF atomics", probe_atomics, .disables =
	  "the data path (built -mcpu=v3: rate limiter, active-flow counters)" },
	{ "bpf_fib_lookup", probe_helper, .helper = BPF_FUNC_fib_lookup,
	  .disables = "next hops from the kernel's FIB: the director cannot forward" },
	{ "BPF timers", probe_helper, .helper = BPF_FUNC_timer_init,
	  .disables = "the data path (active-flow recount, NAT expiry sweeps): nothing loads" },
	{ "bpf_wq", probe_kfunc, .kfunc = "bpf_wq_init",
	  .disables = "the NAT table's expiry sweep (fwd nat): the data path does not load" },
	{ "ring buffer", probe_map, .map = BPF_MAP_TYPE_RINGBUF,
	  .disables = "data-path events for monitoring" },
	{ "LRU hash maps", probe_map, .map = BPF_MAP_TYPE_LRU_HASH,
	  .disables = "the connection table: nothing loads" },
	{ "LRU per-CPU hash maps", probe_map, .map = BPF_MAP_TYPE_LRU_PERCPU_HASH,
	  .disables = "nothing in this version (per-CPU flow state)" },
	{ "per-CPU arrays", probe_map, .map = BPF_MAP_TYPE_PERCPU_ARRAY,
	  .disables = "the counters: nothing loads" },
	{ "LPM tries", probe_map, .map = BPF_MAP_TYPE_LPM_TRIE,
	  .disables = "rate-limit classes by prefix: nothing loads" },
};

/* Attach a tiny XDP_PASS program to ifindex in `mode` and take it off. */
static enum xdp_probe probe_xdp_mode(__u32 ifindex, __u32 mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int fd, err;

	if (!bpf_xdp_query(ifindex, 0, &q) && q.attach_mode != XDP_ATTACHED_NONE)
		return XDP_BUSY;
	fd = tiny_xdp(false);
	if (fd < 0)
		return XDP_NO;
	err = bpf_xdp_attach(ifindex, fd, mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (!err)
		bpf_xdp_detach(ifindex, mode, NULL);
	close(fd);
	return err == -EBUSY || err == -EEXIST ? XDP_BUSY : err ? XDP_NO : XDP_YES;
}

static void report(struct json_object *arr, const char *name, const char *state,
		   bool ok, const char *disables)
{
	struct json_object *o;

	if (!json_output) {
		printf("%-26s %s%s%s\n", name, state, ok ? "" : ": disables ",
		       ok ? "" : disables);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "feature", json_object_new_string(name));
	json_object_object_add(o, "available", json_object_new_boolean(ok));
	json_object_object_add(o, "state", json_object_new_string(state));
	if (!ok)
		json_object_object_add(o, "disables", json_object_new_string(disables));
	json_object_array_add(arr, o);
}

static int do_probe(int argc, char **argv)
{
	struct json_object *arr = json_output ? json_object_new_array() : NULL;
	static const struct { const char *name; __u32 mode; const char *disables; }
	modes[] = {
		{ "XDP native", XDP_FLAGS_DRV_MODE, "attach mode native (use mode generic)" },
		{ "XDP generic", XDP_FLAGS_SKB_MODE, "attach mode generic" },
	};
	static const char *const xdp_state[] = { "no", "yes", "in use (an XDP program is attached)" };
	__u32 ifindex = 0;
	unsigned int i;

	if (argc > 1) {
		p_err("expected: feature probe [DEV]");
		return -1;
	}
	if (argc) {
		ifindex = if_nametoindex(argv[0]);
		if (!ifindex) {
			p_err("no device '%s'", argv[0]);
			return -1;
		}
	}
	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		bool ok = features[i].probe(&features[i]);

		report(arr, features[i].name, ok ? "yes" : "no", ok,
		       features[i].disables);
	}
	for (i = 0; ifindex && i < sizeof(modes) / sizeof(modes[0]); i++) {
		enum xdp_probe r = probe_xdp_mode(ifindex, modes[i].mode);

		report(arr, modes[i].name, xdp_state[r], r != XDP_NO,
		       modes[i].disables);
	}
	if (arr)
		json_print(arr);
	return 0;
}

static const struct cmd cmds[] = {
	{ "probe",	do_probe },
	{ 0 }
};

const struct cli_object feature_object = {
	.name		= "feature",
	.usage		= "feature probe [DEV]",
	.details	=
		"Loads tiny programs and maps to find what the kernel offers; with DEV,\n"
		"attaches an XDP_PASS program natively and generically and removes it\n"
		"(some drivers reset their queues on an XDP attach: probe a busy\n"
		"production NIC with care). A device already running XDP is left alone.\n",
	.cmds		= cmds,
};
