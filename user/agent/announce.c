// SPDX-License-Identifier: GPL-2.0
/*
 * BIRD 2 glue: the include file of VIP routes and BIRD's control socket
 * (the protocol birdc speaks: a greeting, then one command a line; each
 * reply line is "NNNN-text" with more to come, " text" continuing the
 * previous code, or "NNNN text" ending the reply; codes 8000 and up are
 * errors). A local socket with a short timeout: the event loop waits at
 * most BIRD_TIMEOUT_MS for a hung BIRD, and then reports it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/announce.h"
#include "lib/log.h"

#define BIRD_TIMEOUT_MS	2000

static const char *abs_path_check(const void *field)
{
	const char *p = field;

	return p[0] != '/' || strpbrk(p, " \"\r\n") ?
		"must be an absolute path without spaces or quotes" : NULL;
}

const struct opt bgp_opts[] = {
	{ .name = "socket", .type = OPT_STRING, .where = OPT_CONF, .arg = "PATH",
	  OPT_FIELD(struct bgp_conf, socket), .check = abs_path_check,
	  .def = "/run/bird/bird.ctl", .help = "BIRD's control socket (bird -s)" },
	{ .name = "include", .type = OPT_STRING, .where = OPT_CONF, .arg = "PATH",
	  OPT_FIELD(struct bgp_conf, include), .check = abs_path_check,
	  .def = "/etc/bird/helios-vips.conf",
	  .help = "the file the agent writes (static protocols helios_vips4, helios_vips6) for bird.conf to include" },
	{ .name = "drain", .type = OPT_SCALED, .where = OPT_CONF, .arg = "S",
	  OPT_FIELD(struct bgp_conf, drain_ms), .min = 0, .max = 3600,
	  .scale = 1000, .def = "5",
	  .help = "on SIGTERM/SIGINT: withdraw every VIP, wait this long, then exit" },
	{ .name = "poll", .type = OPT_SCALED, .where = OPT_CONF, .arg = "S",
	  OPT_FIELD(struct bgp_conf, poll_ms), .min = 0.1, .max = 3600,
	  .scale = 1000, .def = "1",
	  .help = "seconds between checks of BIRD and its BGP sessions" },
	{ NULL }
};

void bgp_conf_defaults(struct bgp_conf *cf)
{
	memset(cf, 0, sizeof(*cf));
	strcpy(cf->socket, "/run/bird/bird.ctl");
	strcpy(cf->include, "/etc/bird/helios-vips.conf");
	cf->drain_ms = 5000;
	cf->poll_ms = 1000;
}

struct bird_reply {
	int code;		/* of the last line */
	char text[4096];	/* every line's text, '\n' separated */
	size_t len;
};

static int bird_read(int fd, char *buf, size_t *have, size_t cap)
{
	ssize_t r = recv(fd, buf + *have, cap - *have, 0);

	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	if (!r)
		return -ECONNRESET;
	*have += r;
	return 0;
}

/* Read one reply: every line up to and including the final one. */
static int bird_reply(int fd, struct bird_reply *rep)
{
	char buf[8192] = "";	/* once a poll: clearing it costs nothing */
	size_t have = 0, start = 0;
	int code = 0, err;

	rep->len = 0;
	for (;;) {
		char *nl = have > start ? memchr(buf + start, '\n', have - start) :
			   NULL;
		char *line = buf + start;
		bool last;

		if (!nl) {
			/* keep the partial line, make room */
			memmove(buf, buf + start, have - start);
			have -= start;
			start = 0;
			if (have == sizeof(buf))
				return -E2BIG;
			err = bird_read(fd, buf, &have, sizeof(buf));
			if (err)
				return err;
			continue;
		}
		*nl = 0;
		start = nl + 1 - buf;
		if (line[0] == ' ') {
			line++;		/* continues the previous code */
			last = false;
		} else if (strlen(line) >= 5 && line[4] == '-') {
			code = atoi(line);
			line += 5;
			last = false;
		} else if (strlen(line) >= 4) {
			code = atoi(line);
			line += line[4] ? 5 : 4;
			last = true;
		} else {
			return -EPROTO;
		}
		rep->len += snprintf(rep->text + rep->len,
				     sizeof(rep->text) - rep->len, "%d %s\n",
				     code, line);
		if (rep->len >= sizeof(rep->text))
			rep->len = sizeof(rep->text) - 1;
		if (last) {
			rep->code = code;
			return 0;
		}
	}
}

/* One command to BIRD on its control socket. */
static int bird_cmd(const char *path, const char *cmd, struct bird_reply *rep)
{
	struct timeval tv = { .tv_sec = BIRD_TIMEOUT_MS / 1000,
			      .tv_usec = BIRD_TIMEOUT_MS % 1000 * 1000 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[128];
	int fd, err, len;

	rep->code = 0;
	rep->text[0] = 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		goto out;
	}
	err = bird_reply(fd, rep);		/* the greeting: 0001 */
	if (err)
		goto out;
	len = snprintf(line, sizeof(line), "%s\n", cmd);
	if (send(fd, line, len, MSG_NOSIGNAL) != len) {
		err = -errno;
		goto out;
	}
	err = bird_reply(fd, rep);
out:
	close(fd);
	return err;
}

/* The file's text for `vips`: empty protocols withdraw everything. */
static char *render(const struct ip_addr *vips, unsigned int n)
{
	static const struct { __u8 family; const char *ch, *len; } fam[] = {
		{ HL_AF_INET, "ipv4", "32" }, { HL_AF_INET6, "ipv6", "128" },
	};
	size_t cap = 512 + n * 80, len = 0;
	char *s = malloc(cap), addr[ADDR_STRLEN];
	unsigned int f, i;

	if (!s)
		return NULL;
	len += snprintf(s + len, cap - len,
			"# Written by helios-agent: the VIPs this director announces now.\n"
			"# Do not edit; include it from bird.conf and export these protocols.\n");
	for (f = 0; f < 2; f++) {
		len += snprintf(s + len, cap - len, "protocol static helios_vips%s {\n\t%s;\n",
				f ? "6" : "4", fam[f].ch);
		for (i = 0; i < n; i++)
			if (vips[i].family == fam[f].family)
				len += snprintf(s + len, cap - len,
						"\troute %s/%s blackhole;\n",
						format_addr(vips[i].family, vips[i].w,
							    addr, sizeof(addr)),
						fam[f].len);
		len += snprintf(s + len, cap - len, "}\n");
	}
	return s;
}

static int write_file(const char *path, const char *text)
{
	char tmp[300];
	FILE *f;
	int err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	/* rename: BIRD never reads a half-written file */
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static void set_state(struct announcer *an, enum bird_state st,
		      const char *why)
{
	if (st == an->state)
		return;
	switch (st) {
	case BIRD_DOWN:
		an->log("error", "bgp: BIRD not reachable at %s: %s: VIPs are not announced by this director",
			an->cf->socket, why);
		break;
	case BIRD_NO_SESSION:
		an->log("error", "bgp: no BGP session established (%s): no router hears this director's VIPs",
			why);
		break;
	case BIRD_UP:
		an->log("info", "bgp: BIRD up, sessions: %s", why);
		break;
	case BIRD_UNKNOWN:
		break;
	}
	an->state = st;
}

static int configure(struct announcer *an)
{
	struct bird_reply rep;
	int err = bird_cmd(an->cf->socket, "configure", &rep);

	if (err) {
		set_state(an, BIRD_DOWN, strerror(-err));
		return err;
	}
	if (rep.code >= 8000) {
		char *c;

		/* a config error BIRD rejects: it keeps its old routes */
		for (c = rep.text; *c; c++)
			if (*c == '\n')
				*c = ' ';
		if (!an->refused)	/* retried every sync: said once */
			an->log("error", "bgp: BIRD refused to reconfigure: %s",
				rep.text);
		an->refused = true;
		return -EINVAL;
	}
	an->refused = false;
	an->configured = true;
	return 0;
}

int announce_set(struct announcer *an, const struct ip_addr *vips,
		 unsigned int n)
{
	char *text = render(vips, n);
	int err;

	if (!text)
		return -ENOMEM;
	if (an->written && !strcmp(an->written, text) && an->configured) {
		free(text);
		return 0;
	}
	err = write_file(an->cf->include, text);
	if (err) {
		an->log("error", "bgp: cannot write %s: %s", an->cf->include,
			strerror(-err));
		free(text);
		return err;
	}
	free(an->written);
	an->written = text;
	an->configured = false;
	return configure(an);
}

/* show protocols: every BGP protocol's state; the announcement is heard
 * while at least one session is Established. */
static void poll_bird(evutil_socket_t fd, short what, void *arg)
{
	struct announcer *an = arg;
	struct timeval tv = { .tv_sec = an->cf->poll_ms / 1000,
			      .tv_usec = an->cf->poll_ms % 1000 * 1000 };
	struct bird_reply rep;
	char sessions[sizeof(an->sessions)] = "";
	unsigned int total = 0, up = 0;
	size_t len = 0;
	char *line, *save = NULL;
	int err;

	err = bird_cmd(an->cf->socket, "show protocols", &rep);
	if (err) {
		set_state(an, BIRD_DOWN, strerror(-err));
		goto again;
	}
	if (an->state == BIRD_DOWN || !an->configured) {
		/* BIRD is back (perhaps restarted): make sure it has ours */
		if (!an->written || configure(an))
			goto again;
	}
	for (line = strtok_r(rep.text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64], proto[32];

		if (atoi(line) != 1002 ||
		    sscanf(line, "%*d %63s %31s", name, proto) != 2 ||
		    strcmp(proto, "BGP"))
			continue;
		total++;
		up += !!strstr(line, "Established");
		len += snprintf(sessions + len, sizeof(sessions) - len, "%s%s %s",
				len ? ", " : "", name,
				strstr(line, "Established") ? "established" : "down");
		if (len >= sizeof(sessions))
			len = sizeof(sessions) - 1;
	}
	if (strcmp(sessions, an->sessions)) {
		if (an->state == BIRD_UP)
			an->log(up ? "info" : "warn", "bgp: sessions: %s",
				total ? sessions : "none");
		memcpy(an->sessions, sessions, sizeof(sessions));
	}
	set_state(an, up ? BIRD_UP : BIRD_NO_SESSION,
		  total ? sessions : "BIRD has no BGP protocol");
again:
	evtimer_add(an->poll, &tv);
}

int announce_init(struct announcer *an, struct event_base *base,
		  const struct bgp_conf *cf, announce_log_fn log)
{
	memset(an, 0, sizeof(*an));
	an->cf = cf;
	an->log = log;
	an->poll = evtimer_new(base, poll_bird, an);
	if (!an->poll)
		return -ENOMEM;
	poll_bird(-1, 0, an);
	return 0;
}

void announce_reconf(struct announcer *an, const struct bgp_conf *cf)
{
	an->cf = cf;
	an->configured = false;		/* the path may be another */
}

bool announce_healthy(const struct announcer *an)
{
	return an->state == BIRD_UP;
}

void announce_free(struct announcer *an)
{
	if (an->poll)
		event_free(an->poll);
	free(an->written);
	memset(an, 0, sizeof(*an));
}
