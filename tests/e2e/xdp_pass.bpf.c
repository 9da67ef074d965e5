/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lab loads this on the bridge-side peer of the director's veth. On veth,
 * frames the director sends with XDP_TX are only delivered when the peer has
 * a native XDP program of its own (GRO or generic XDP on the peer are not
 * enough); any program will do, so this one passes everything. No includes:
 * it builds with nothing but clang -target bpf.
 */
#define SEC(name) __attribute__((section(name), used))

SEC("xdp")
int xdp_pass(void *ctx)
{
	return 2;	/* XDP_PASS */
}

char _license[] SEC("license") = "GPL";
