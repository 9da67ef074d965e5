// SPDX-License-Identifier: GPL-2.0
/*
 * Helios backend decapsulation, attached by helios-agent at TC ingress
 * (clsact, direct-action). Every packet leaves with TC_ACT_OK; the ones
 * tunnelled to a known VIP leave without their outer header.
 */
/* Only the decap program's maps (maps.h): a backend needs no director's. */
#define HL_MAPS_DECAP
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/decap.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int helios_decap(struct __sk_buff *skb)
{
	return hl_decap(skb);
}
