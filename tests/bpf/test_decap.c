// SPDX-License-Identifier: GPL-2.0
/*
 * The backends' TC decap program: which tunnelled packets lose their
 * outer header (IPIP and 6in6 to a VIP) and which pass intact.
 * Frames, fixture and checks: fixture.h, pkt.h. Needs root.
 */
#include "fixture.h"
#include "helios_decap.skel.h"

/* ---- TC decap ---- */

static size_t build_tunnel(uint8_t *b, uint8_t family, const char *inner_dst,
			   uint8_t outer_proto, bool options)
{
	uint8_t inner[FRAME_MAX];
	size_t ilen, l3, ol;
	struct spec s = { .family = family, .proto = IPPROTO_UDP,
			  .dst = inner_dst, .payload = 16 };
	__be32 a[4];

	ilen = build(inner, s) - 14;
	memcpy(b, inner, 14);
	l3 = 14;
	if (family == HL_AF_INET6) {
		ol = 40;
		put32(b + l3, 6u << 28);
		put16(b + l3 + 4, ilen);
		b[l3 + 6] = outer_proto;
		b[l3 + 7] = 64;
		addr_parse(family, "fd00::1", a);
		memcpy(b + l3 + 8, a, 16);
		addr_parse(family, "fd00::1:1e", a);
		memcpy(b + l3 + 24, a, 16);
	} else {
		ol = options ? 24 : 20;
		memset(b + l3, 0, ol);
		b[l3] = 0x40 | ol / 4;
		put16(b + l3 + 2, ilen + ol);
		b[l3 + 8] = 64;
		b[l3 + 9] = outer_proto;
		*(__be32 *)(b + l3 + 12) = inet_addr("198.18.0.1");
		*(__be32 *)(b + l3 + 16) = inet_addr("198.18.1.10");
		if (options)
			memset(b + l3 + 20, 1, 4);
		put16(b + l3 + 10, csum16(b + l3, ol, 0));
	}
	memcpy(b + l3 + ol, inner + 14, ilen);
	return l3 + ol + ilen;
}

static void test_decap(void)
{
	struct helios_decap *d;
	struct hl_vip_key k4 = { .family = HL_AF_INET };
	struct hl_vip_key k6 = { .family = HL_AF_INET6 };
	uint64_t zero = 0, cnt = 0;
	struct {
		const char *name;
		uint8_t family;
		const char *dst;
		uint8_t proto;
		bool options;
		bool decap;
	} dc[] = {
		{ "IPIP to a VIP", HL_AF_INET, "198.18.0.100", 4, false, true },
		{ "IPIP to another address", HL_AF_INET, "198.18.0.101", 4,
		  false, false },
		{ "IPIP with outer options", HL_AF_INET, "198.18.0.100", 4,
		  true, false },
		{ "IPv4 GRE, not IPIP", HL_AF_INET, "198.18.0.100", 47, false,
		  false },
		{ "6in6 to a VIP", HL_AF_INET6, "fd00::100", 41, false, true },
		{ "6in6 to another address", HL_AF_INET6, "fd00::101", 41,
		  false, false },
	};
	int fd;

	d = helios_decap__open_and_load();
	if (!d) {
		RUN_CASE("decap program loads", CHECK(0, "load: %s",
						       strerror(errno)));
		return;
	}
	addr_parse(HL_AF_INET, "198.18.0.100", k4.addr);
	addr_parse(HL_AF_INET6, "fd00::100", k6.addr);
	bpf_map_update_elem(bpf_map__fd(d->maps.decap_vips), &k4, &zero, 0);
	bpf_map_update_elem(bpf_map__fd(d->maps.decap_vips), &k6, &zero, 0);
	fd = bpf_program__fd(d->progs.helios_decap);

	for (size_t i = 0; i < ARRAY_SIZE(dc); i++) {
		uint8_t in[FRAME_MAX], out[FRAME_MAX];
		size_t len = build_tunnel(in, dc[i].family, dc[i].dst,
					  dc[i].proto, dc[i].options);
		size_t ol = dc[i].family == HL_AF_INET6 ? 40 : 20;
		char name[96];
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = in,
			.data_size_in = len,
			.data_out = out,
			.data_size_out = sizeof(out),
			.repeat = 1,
		);
		int err = bpf_prog_test_run_opts(fd, &o);

		snprintf(name, sizeof(name), "decap: %s", dc[i].name);
		RUN_CASE(name, {
			CHECK(!err, "test_run: %s", strerror(errno));
			CHECK(o.retval == 0, "verdict %u, want TC_ACT_OK",
			      o.retval);
			if (dc[i].decap) {
				uint8_t want[FRAME_MAX];

				memcpy(want, in, 14);
				memcpy(want + 14, in + 14 + ol, len - 14 - ol);
				check_bytes(out, o.data_size_out, want,
					    len - ol);
			} else {
				check_bytes(out, o.data_size_out, in, len);
			}
		});
	}
	bpf_map_lookup_elem(bpf_map__fd(d->maps.decap_vips), &k4, &cnt);
	RUN_CASE("decap: VIP packet counter", CHECK(cnt == 1, "count %llu",
						   (unsigned long long)cnt));
	helios_decap__destroy(d);
}

int main(void)
{
	if (fixture_init())
		return 1;
	test_decap();
	return unit_done();
}
