// SPDX-License-Identifier: GPL-2.0
/* The agent's record of what its file set, per node (resume.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent/resume.h"

struct conf_record {
	__u64 node;	/* service key and address */
	__u64 conf;	/* and the file's weight, role, zone */
};

static __u64 fnv(__u64 h, const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

/* Field by field: the structs have padding. A port of its own only when
 * there is one, so that the records of the others stay as they were. */
static __u64 node_hash(const struct hl_svc_key *svc, const struct ip_addr *addr,
		       __be16 port)
{
	__u64 h = fnv(0xcbf29ce484222325ull, svc, sizeof(*svc));

	h = fnv(h, &addr->family, sizeof(addr->family));
	h = fnv(h, addr->w, sizeof(addr->w));
	return port ? fnv(h, &port, sizeof(port)) : h;
}

static void record_of(struct conf_record *r, const struct hl_svc_key *svc,
		      const struct node_conf *nc)
{
	r->node = node_hash(svc, &nc->addr, nc->port);
	r->conf = fnv(r->node, &nc->weight, sizeof(nc->weight));
	r->conf = fnv(r->conf, &nc->role, sizeof(nc->role));
	r->conf = fnv(r->conf, nc->zone, strnlen(nc->zone, sizeof(nc->zone)));
}

int conf_record_open(struct store *st)
{
	char path[4200];
	int fd, err;

	err = store_pin_path(st, CONF_RECORD_PIN, path, sizeof(path));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, CONF_RECORD_PIN, sizeof(__u32),
			    sizeof(struct conf_record), HL_MAX_NODES, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void conf_record_put(int fd, __u32 id, const struct hl_svc_key *svc,
		     const struct node_conf *nc)
{
	struct conf_record r;

	record_of(&r, svc, nc);
	bpf_map_update_elem(fd, &id, &r, BPF_ANY);
}

void conf_record_del(int fd, __u32 id)
{
	bpf_map_delete_elem(fd, &id);
}

bool conf_record_same(int fd, __u32 id, const struct hl_svc_key *svc,
		      const struct node_conf *nc)
{
	struct conf_record r, want;

	record_of(&want, svc, nc);
	return !bpf_map_lookup_elem(fd, &id, &r) && r.conf == want.conf;
}

bool conf_record_ours(int fd, __u32 id, const struct hl_svc_key *svc,
		      const struct ip_addr *addr, __be16 port)
{
	struct conf_record r;

	return !bpf_map_lookup_elem(fd, &id, &r) &&
	       r.node == node_hash(svc, addr, port);
}
