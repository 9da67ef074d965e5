// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "agent/events.h"
#include "lib/log.h"

/* A client that has this much unread is skipped until it catches up. */
#define CLIENT_BACKLOG	(1u << 20)
#define MAX_CLIENTS	16

struct agent_events {
	struct evconnlistener *l;
	struct bufferevent *clients[MAX_CLIENTS];
	unsigned long long dropped;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* FNV-1a of the directory: short, stable, no characters to escape. */
void events_sock_path(const char *bpffs_dir, char *buf, size_t len)
{
	unsigned int h = 2166136261u;
	const char *p;

	for (p = bpffs_dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(buf, len, EVENTS_RUN_DIR "/agent-%08x.sock", h);
}

static void client_drop(struct agent_events *ev, struct bufferevent *bev)
{
	unsigned int i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (ev->clients[i] == bev)
			ev->clients[i] = NULL;
	bufferevent_free(bev);
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_drop(arg, bev);
}

/* Clients only listen; whatever they send is discarded. */
static void client_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int socklen, void *arg)
{
	struct agent_events *ev = arg;
	struct bufferevent *bev;
	unsigned int i;

	for (i = 0; i < MAX_CLIENTS && ev->clients[i]; i++)
		;
	if (i == MAX_CLIENTS) {
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
				     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, client_read, NULL, client_event, ev);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	ev->clients[i] = bev;
}

struct agent_events *events_start(struct event_base *base, const char *bpffs_dir)
{
	struct agent_events *ev = calloc(1, sizeof(*ev));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (!ev)
		return NULL;
	events_sock_path(bpffs_dir, ev->path, sizeof(ev->path));
	if (mkdir(EVENTS_RUN_DIR, 0755) && errno != EEXIST) {
		hl_err("cannot create %s: %s", EVENTS_RUN_DIR, strerror(errno));
		free(ev);
		return NULL;
	}
	/* A socket left by an agent that died: one agent per bpffs (the
	 * writers' lock and the pins are per bpffs too). */
	unlink(ev->path);
	memcpy(sun.sun_path, ev->path, sizeof(ev->path));
	ev->l = evconnlistener_new_bind(base, on_accept, ev,
					LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					8, (struct sockaddr *)&sun, sizeof(sun));
	if (!ev->l) {
		hl_err("cannot listen on %s: %s", ev->path, strerror(errno));
		free(ev);
		return NULL;
	}
	chmod(ev->path, 0600);
	return ev;
}

void events_stop(struct agent_events *ev)
{
	unsigned int i;

	if (!ev)
		return;
	for (i = 0; i < MAX_CLIENTS; i++)
		if (ev->clients[i])
			bufferevent_free(ev->clients[i]);
	evconnlistener_free(ev->l);
	unlink(ev->path);
	free(ev);
}

void events_send(struct agent_events *ev, const char *what,
		 struct json_object *o, const char *msg)
{
	struct timespec ts;
	const char *line;
	unsigned int i;

	if (!ev) {
		json_object_put(o);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(o, "time", json_object_new_double(
				       ts.tv_sec + ts.tv_nsec / 1e9));
	json_object_object_add(o, "type", json_object_new_string("agent"));
	json_object_object_add(o, "event", json_object_new_string(what));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	for (i = 0; i < MAX_CLIENTS; i++) {
		struct evbuffer *out;

		if (!ev->clients[i])
			continue;
		out = bufferevent_get_output(ev->clients[i]);
		if (evbuffer_get_length(out) > CLIENT_BACKLOG) {
			ev->dropped++;
			continue;
		}
		evbuffer_add_printf(out, "%s\n", line);
	}
	json_object_put(o);
}

unsigned long long events_dropped(const struct agent_events *ev)
{
	return ev ? ev->dropped : 0;
}

unsigned int events_clients(const struct agent_events *ev)
{
	unsigned int i, n = 0;

	for (i = 0; ev && i < MAX_CLIENTS; i++)
		n += !!ev->clients[i];
	return n;
}
