// SPDX-License-Identifier: GPL-2.0
/*
 * map dump's decoders (user/cmd/map_decode.c) on map entries of any
 * bytes: a hostile or corrupted map gives valid JSON and no overread.
 * The first byte picks the decoder, the rest fills the key and value.
 */
#include "fuzz.h"
#include "cmd/map_decode.h"

/* `n` bytes of the input into `dst` (zeros past its end). */
static const uint8_t *take(void *dst, size_t n, const uint8_t *p,
			   const uint8_t *end)
{
	size_t have = end - p < (ptrdiff_t)n ? (size_t)(end - p) : n;

	memset(dst, 0, n);
	memcpy(dst, p, have);
	return p + have;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	/* heap copies: ASan sees a read past any of them */
	struct hl_svc_key *sk = malloc(sizeof(*sk));
	struct hl_service *svc = malloc(sizeof(*svc));
	struct hl_node *node = malloc(sizeof(*node));
	struct hl_nexthop *nh = malloc(sizeof(*nh));
	struct hl_flow_key *fk = malloc(sizeof(*fk));
	struct hl_flow *flow = malloc(sizeof(*flow));
	struct hl_nat *nat = malloc(sizeof(*nat));
	struct hl_snat *snat = malloc(sizeof(*snat));
	struct hl_settings *set = malloc(sizeof(*set));
	struct hl_vip_key *vk = malloc(sizeof(*vk));
	__u64 n64 = 0;
	__u32 id = 0;

	if (size) {
		p = take(&id, sizeof(id), p, end);
		p = take(&n64, sizeof(n64), p, end);
		switch (data[0] % 8) {
		case 0:
			p = take(sk, sizeof(*sk), p, end);
			take(svc, sizeof(*svc), p, end);
			fuzz_json(decode_service(sk, svc));
			break;
		case 1:
			take(node, sizeof(*node), p, end);
			fuzz_json(decode_node(id, node));
			break;
		case 2:
			p = take(node, sizeof(*node), p, end);
			take(nh, sizeof(*nh), p, end);
			fuzz_json(decode_nexthop(id, node, nh, n64));
			break;
		case 3:
			p = take(fk, sizeof(*fk), p, end);
			take(flow, sizeof(*flow), p, end);
			fuzz_json(decode_conntrack(fk, flow));
			break;
		case 4:
			p = take(fk, sizeof(*fk), p, end);
			take(nat, sizeof(*nat), p, end);
			fuzz_json(decode_nat(fk, nat, n64));
			break;
		case 5:
			p = take(sk, sizeof(*sk), p, end);
			p = take(svc, sizeof(*svc), p, end);
			take(snat, sizeof(*snat), p, end);
			fuzz_json(decode_snat(sk, svc, snat));
			break;
		case 6:
			take(set, sizeof(*set), p, end);
			fuzz_json(decode_settings(set));
			break;
		default:
			take(vk, sizeof(*vk), p, end);
			fuzz_json(decode_decap_vip(vk, n64));
			break;
		}
	}
	free(sk); free(svc); free(node); free(nh); free(fk); free(flow);
	free(nat); free(snat); free(set); free(vk);
	return 0;
}
