/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flows as user space sees them: the connection table (`conntrack`, the
 * flows of ipip and l2 services) and the NAT table (`nat`, two entries a
 * flow of a nat service). The only code that writes flow state from user
 * space (conns_flush(): the data path creates entries, its sweep expires
 * NAT ones); listing and counting only read. Also the NAT timeouts
 * (hl_settings.nat_timeout_s) and the NAT state a flow is in.
 */
#ifndef HELIOS_LIB_CONNS_H
#define HELIOS_LIB_CONNS_H

#include <stdbool.h>
#include <helios/abi.h>

#include "lib/options.h"
#include "lib/parse.h"
#include "lib/store.h"

/* ---- NAT state and timeouts ---- */

/*
 * A NAT flow's state from what each direction has seen (HL_NAT_SEEN_*):
 * UDP is udp; a RST either way, or a FIN both ways, is closed; a FIN one
 * way is fin; any answer from the node is established; else syn-sent.
 */
enum hl_nat_state nat_state(__u8 proto, __u8 fwd_seen, __u8 reply_seen);
const char *nat_state_name(__u8 state);

/* Defaults of the timeouts, seconds (the ABI's HL_NAT_*_NS). */
#define NAT_SYN_SENT_S		30
#define NAT_ESTABLISHED_S	7200
#define NAT_FIN_S		60
#define NAT_CLOSED_S		10
#define NAT_UDP_S		120
#define NAT_TIMEOUT_MAX_S	604800	/* a week */

/* `conn timeout set KEY SECONDS`, the agent's `nat` group: one option per
 * state, over struct hl_settings (nat_timeout_s[state]). */
extern const struct opt nat_timeout_opts[];

/* The state an option of nat_timeout_opts sets the timeout of. */
__u8 nat_timeout_state(const struct opt *o);
/* The timeout of `state`: the setting, or the default when it is 0. */
__u64 nat_timeout_ns(const struct hl_settings *cfg, __u8 state);

int settings_read(struct store *st, struct hl_settings *cfg);
/* Write the timeouts of `in` whose options are `seen` (nat_timeout_opts);
 * the other settings stay. */
int nat_timeouts_set(struct store *st, const struct hl_settings *in,
		     opt_seen_t seen);

/* ---- flows ---- */

/* One flow, from whichever table holds it. */
struct conn {
	struct hl_flow_key key;		/* the client's 5-tuple as it arrives */
	const struct hl_svc_key *svc;	/* its service */
	__u8 fwd_mode;			/* the service's enum hl_fwd */
	__u32 node_id;
	bool node_known;		/* node and node_port below are set */
	__be32 node[4];			/* where the flow goes: the node's */
	__be16 node_port;		/* address and port (network order) */
	__u32 flags;			/* conntrack: HL_FLOW_F_* */
	bool live;			/* not closed, not past its timeout */
	/* NAT flows only (nat): both entries, the state from both. */
	bool nat;
	bool has_reply;			/* reply entry found (else zeroed) */
	__u8 state;			/* enum hl_nat_state */
	struct hl_nat fwd, reply;
};

/* Which flows: of service `svc` (NULL: every service) and of the node at
 * `node` (family 0: every node), on `node_port` (0: any port; a node
 * without its own port is on the service's). */
struct conn_filter {
	const struct hl_svc_key *svc;
	struct ip_addr node;
	__be16 node_port;
};

typedef int (*conn_fn)(const struct conn *c, void *data);

/*
 * Call fn for every flow the filter takes, in table order: the NAT table's
 * flows (forward entries, each with its reply entry) of nat services, the
 * connection table's of the others. Stops at fn's first error.
 */
int conns_walk(struct store *st, const struct conn_filter *f, conn_fn fn,
	       void *data);
/* How many of the service's flows are live (struct conn.live). */
int conns_count_live(struct store *st, const struct hl_svc_key *key,
		     unsigned int *count);
/*
 * Delete the flows conns_walk() would show for `f` (f->svc required):
 * both NAT entries of each, and its connection-table entry. Returns how
 * many flows, or -errno. Active-flow counts (lc, p2c) catch up at the
 * data path's next recount.
 */
int conns_flush(struct store *st, const struct conn_filter *f);

/* Every entry of a hash or array map, in batches where the kernel can. */
typedef int (*map_entry_fn)(const void *key, const void *value, void *data);
int map_for_each(int fd, __u32 key_size, __u32 value_size, map_entry_fn fn,
		 void *data);

#endif /* HELIOS_LIB_CONNS_H */
