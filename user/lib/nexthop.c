// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "lib/clock.h"
#include "lib/nexthop.h"

/* Kernel-internal in include/net/neighbour.h, not in the uapi. */
#define NUD_VALID	(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | \
			 NUD_STALE | NUD_DELAY)
#define NEIGH_WAIT_MS	1000
#define NEIGH_POLL_MS	2

struct route_info {
	__u32 oif;
	__u8 type;		/* RTN_* */
	__u8 gw_family;		/* HL_AF_* of gateway */
	__be32 gateway[4];
	__be32 prefsrc[4];
	bool has_gateway, has_prefsrc;
};

struct neigh_info {
	__u8 lladdr[6];
	bool valid;
};

static int af_of(__u8 family)
{
	return family == HL_AF_INET6 ? AF_INET6 : AF_INET;
}

static size_t addr_len(__u8 family)
{
	return family == HL_AF_INET6 ? 16 : 4;
}

/* One request, one answer (or ack); `cb` parses each answer message. */
static int rtnl_talk(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	req->nlmsg_seq = time(NULL);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, ret, req->nlmsg_seq, portid, cb, data);
		if (ret < 0)
			ret = -errno;
	} while (ret > 0);
out:
	mnl_socket_close(nl);
	return ret;
}

static int route_attr(const struct nlattr *attr, void *data)
{
	struct route_info *ri = data;
	size_t len = mnl_attr_get_payload_len(attr);

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		ri->oif = mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		if (len <= sizeof(ri->gateway)) {
			memcpy(ri->gateway, mnl_attr_get_payload(attr), len);
			ri->gw_family = len == 16 ? HL_AF_INET6 : HL_AF_INET;
			ri->has_gateway = true;
		}
		break;
	case RTA_VIA: {
		/* an IPv4 route through an IPv6 gateway (RFC 5549) */
		const struct rtvia *via = mnl_attr_get_payload(attr);

		if (len >= sizeof(*via) + 4 &&
		    len - sizeof(*via) <= sizeof(ri->gateway)) {
			memcpy(ri->gateway, via->rtvia_addr, len - sizeof(*via));
			ri->gw_family = via->rtvia_family == AF_INET6 ?
					HL_AF_INET6 : HL_AF_INET;
			ri->has_gateway = true;
		}
		break;
	}
	case RTA_PREFSRC:
		if (len <= sizeof(ri->prefsrc)) {
			memcpy(ri->prefsrc, mnl_attr_get_payload(attr), len);
			ri->has_prefsrc = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_info *ri = data;

	ri->type = rtm->rtm_type;
	mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr, data);
	return MNL_CB_STOP;	/* a get answers with one message */
}

static int route_get(const struct ip_addr *dst, struct route_info *ri)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = af_of(dst->family);
	rtm->rtm_dst_len = addr_len(dst->family) * 8;
	mnl_attr_put(nlh, RTA_DST, addr_len(dst->family), dst->w);
	memset(ri, 0, sizeof(*ri));
	return rtnl_talk(nlh, route_cb, ri);
}

static int neigh_attr(const struct nlattr *attr, void *data)
{
	struct neigh_info *ni = data;

	if (mnl_attr_get_type(attr) == NDA_LLADDR &&
	    mnl_attr_get_payload_len(attr) == 6) {
		memcpy(ni->lladdr, mnl_attr_get_payload(attr), 6);
		ni->valid = true;
	}
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct neigh_info *ni = data;

	mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr, data);
	if (!(ndm->ndm_state & NUD_VALID))
		ni->valid = false;
	return MNL_CB_STOP;
}

/* RTM_GETNEIGH, or with `use` an RTM_NEWNEIGH/NTF_USE that asks the kernel
 * to resolve the address as if a packet were waiting for it. */
static int neigh_request(__u32 ifindex, __u8 family, const __be32 *addr,
			 bool use, struct neigh_info *ni)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = use ? RTM_NEWNEIGH : RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST |
			   (use ? NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK : 0);
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = af_of(family);
	ndm->ndm_ifindex = ifindex;
	if (use) {
		ndm->ndm_flags = NTF_USE;
		ndm->ndm_state = NUD_NONE;
	}
	mnl_attr_put(nlh, NDA_DST, addr_len(family), addr);
	memset(ni, 0, sizeof(*ni));
	return rtnl_talk(nlh, neigh_cb, ni);
}

static int link_info(__u32 ifindex, __u8 mac[6], __u32 *mtu)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (!err && ioctl(fd, SIOCGIFMTU, &ifr))
		err = -errno;
	else if (!err)
		*mtu = ifr.ifr_mtu;
	close(fd);
	return err;
}

int nexthop_route(const struct ip_addr *dst, struct nexthop_route *r)
{
	struct route_info ri;
	int err;

	memset(r, 0, sizeof(*r));
	err = route_get(dst, &ri);
	if (err)
		return err == -EHOSTUNREACH ? -ENETUNREACH : err;
	r->oif = ri.oif;
	r->local = ri.type == RTN_LOCAL;
	r->has_gateway = ri.has_gateway;
	if (ri.has_gateway) {
		r->gateway.family = ri.gw_family;
		memcpy(r->gateway.w, ri.gateway, sizeof(r->gateway.w));
	}
	return ri.oif || r->local ? 0 : -ENETUNREACH;
}

int nexthop_resolve(const struct ip_addr *dst, const struct hl_settings *cfg,
		    struct hl_nexthop *nh)
{
	const struct timespec poll = { .tv_nsec = NEIGH_POLL_MS * 1000000 };
	static const __be32 zero[4];
	struct route_info ri;
	struct neigh_info ni;
	const __be32 *via;
	int err, i;

	memset(nh, 0, sizeof(*nh));
	err = route_get(dst, &ri);
	if (err)
		return err == -ENETUNREACH || err == -EHOSTUNREACH ? -ENETUNREACH : err;
	if (!ri.oif)
		return -ENETUNREACH;

	if (dst->family == HL_AF_INET && cfg->src4)
		nh->src[0] = cfg->src4;
	else if (dst->family == HL_AF_INET6 && memcmp(cfg->src6, zero, 16))
		memcpy(nh->src, cfg->src6, 16);
	else if (ri.has_prefsrc)
		memcpy(nh->src, ri.prefsrc, 16);
	else
		return -EADDRNOTAVAIL;

	nh->ifindex = ri.oif;
	err = link_info(ri.oif, nh->smac, &nh->mtu);
	if (err)
		return err;

	via = ri.has_gateway ? ri.gateway : dst->w;
	err = neigh_request(ri.oif, dst->family, via, false, &ni);
	if (err || !ni.valid) {
		neigh_request(ri.oif, dst->family, via, true, &ni);
		/* Bounded wait for the ARP/ND answer: not a sleep standing in
		 * for synchronisation, a poll of the state we need. */
		for (i = 0; i < NEIGH_WAIT_MS / NEIGH_POLL_MS; i++) {
			if (!neigh_request(ri.oif, dst->family, via, false, &ni) &&
			    ni.valid)
				break;
			nanosleep(&poll, NULL);
		}
	}
	if (!ni.valid)
		return -EHOSTUNREACH;
	memcpy(nh->dmac, ni.lladdr, 6);
	nh->flags = HL_NH_F_VALID;
	nh->updated_ns = hl_now_ns();
	return 0;
}
