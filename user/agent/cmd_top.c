// SPDX-License-Identifier: GPL-2.0
/*
 * helios-agent top: services and nodes with per-second rates, from two
 * reads of the per-CPU counters (lib/metrics.c's snapshot) a refresh
 * apart, redrawn in place with ANSI escapes; `q` quits. Sized to the
 * terminal, 80x24 at least: what does not fit is left out, with a count.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/health.h"
#include "cmd/cli.h"
#include "lib/clock.h"
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/nodes.h"
#include "lib/options.h"
#include "lib/parse.h"

struct top_args {
	__u32 interval_ms;
};

const struct opt top_opts[] = {
	{ .name = "interval", .type = OPT_SCALED, .where = OPT_CLI, .arg = "S",
	  OPT_FIELD(struct top_args, interval_ms), .min = 0.2, .max = 60,
	  .scale = 1000, .def = "1", .help = "seconds between refreshes" },
	{ NULL }
};

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t stop;

static void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	tio_saved = false;
	fputs("\033[?25h", stdout);	/* cursor back */
	fflush(stdout);
}

static void on_stop(int sig)
{
	stop = 1;
}

static void tty_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	t = saved_tio;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &t))
		tio_saved = true;
}

static void term_size(int *cols, int *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* Lines cut to the width, counted against the height. */
struct screen {
	int cols, rows, used;
	unsigned int left_out;
};

static void line(struct screen *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line(struct screen *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (s->used >= s->rows - 1) {	/* the last row stays free */
		s->left_out++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((int)strlen(buf) > s->cols)
		buf[s->cols] = '\0';
	printf("%s\033[K\n", buf);
	s->used++;
}

static double rate(__u64 now, __u64 before, double dt)
{
	return now >= before && dt > 0 ? (now - before) / dt : 0;
}

static void draw(const struct metrics_snap *o, const struct metrics_snap *n,
		 double dt, struct store *st)
{
	static const struct metrics_svc none_svc;
	static const struct metrics_node none_node;
	struct screen s = {};
	char when[16], drops[256];
	unsigned int i, j, r;
	double fwd = 0, dropped = 0;
	time_t now = time(NULL);
	struct tm tm;

	term_size(&s.cols, &s.rows);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	for (r = 0; r < HL_REASON_MAX; r++) {
		double v = rate(n->verdicts[r], o->verdicts[r], dt);

		if (HL_EVENT_REASONS & (1ull << r))
			dropped += v;
		else if (r == HL_REASON_FORWARDED || r == HL_REASON_FWD_NAT_REPLY)
			fwd += v;
	}
	fputs("\033[H", stdout);
	line(&s, "helios top  %s  every %.1f s  %u services, %u nodes   q quits",
	     when, dt, n->nsvcs, n->nnodes);
	line(&s, "director: forwarded %.0f/s, not forwarded %.0f/s", fwd, dropped);
	line(&s, "%s", "");
	line(&s, "%-28s %9s %8s %8s %7s %s", "SERVICE", "PKT/s", "NEWFL/s",
	     "DROP/s", "ACTIVE", "HOLD");
	for (i = 0; i < n->nsvcs; i++) {
		const struct metrics_svc *sv = &n->svcs[i], *ov = metrics_snap_svc(o, sv->id);
		double d = 0;
		int len = 0;

		if (!ov)
			ov = &none_svc;
		drops[0] = '\0';
		for (r = 0; r < HL_REASON_MAX; r++) {
			double v = rate(sv->reasons[r], ov->reasons[r], dt);

			if (v <= 0)
				continue;
			d += v;
			if (len < (int)sizeof(drops) - 1)
				len += snprintf(drops + len, sizeof(drops) - len,
						"%s %s %.0f", len ? "," : "",
						reason_name(r), v);
		}
		line(&s, "%-28s %9.0f %8.0f %8.0f %7lld %s", sv->name,
		     rate(sv->c.packets, ov->c.packets, dt),
		     rate(sv->c.flows, ov->c.flows, dt), d,
		     (long long)(sv->active > 0 ? sv->active : 0),
		     sv->flags & HL_SVC_F_HOLD ? "hold" : "-");
		if (drops[0])
			line(&s, "  drops/s:%s", drops);
	}
	line(&s, "%s", "");
	line(&s, "%-21s %-13s %-7s %5s %5s %9s %7s %6s", "NODE", "STATE", "ROLE",
	     "W", "EFF", "PKT/s", "FL/s", "ACT");
	for (i = 0; i < n->nsvcs; i++) {
		for (j = 0; j < n->nnodes; j++) {
			const struct metrics_node *nd = &n->nodes[j], *od;
			const struct hl_node *hn = &st->nodes[nd->id];
			bool probed = nd->h.flags & HL_HEALTH_F_VALID;

			if (nd->svc != n->svcs[i].name)
				continue;
			od = metrics_snap_node(o, nd->id);
			if (!od)
				od = &none_node;
			line(&s, "%-21s %-13s %-7s %5u %5u %9.0f %7.0f %6lld",
			     nd->node,
			     probed ? health_state_name(nd->h.state) : node_state(hn),
			     role_name(probed ? nd->h.role : hn->role),
			     nd->weight, nd->eff_weight,
			     rate(nd->c.packets, od->c.packets, dt),
			     rate(nd->c.flows, od->c.flows, dt),
			     (long long)(nd->active > 0 ? nd->active : 0));
		}
	}
	if (s.left_out) {
		s.used--;	/* the last line shown gives way to the note */
		printf("\033[1A\033[K(%u more lines: a taller terminal shows them)\n",
		       s.left_out + 1);
		s.used++;
	}
	fputs("\033[J", stdout);	/* clear what the last frame left below */
	fflush(stdout);
}

static int do_top(int argc, char **argv);

const struct cli_object top_object = {
	.name		= "top",
	.usage		= "top [interval S]         live rates per service and node (q quits)",
	.opts		= top_opts,
	.run		= do_top,
};

static int do_top(int argc, char **argv)
{
	struct top_args args = { .interval_ms = 1000 };
	struct metrics_snap snap[2] = {};
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct store st;
	opt_seen_t seen = 0;
	__u64 t[2];
	int cur = 0, ret = -1, err;

	if (opts_parse_args(top_opts, &args, &argc, &argv, true, &seen))
		return -1;
	if (cli_store_open(&st, false))
		return -1;
	store_unlock(&st);
	err = metrics_snap_read(&st, &snap[0]);
	t[0] = hl_now_ns();
	if (err) {
		p_err("cannot read the counters: %s", hl_errmsg());
		goto out;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	tty_raw();
	fputs("\033[?25l\033[2J", stdout);	/* hide the cursor, clear */
	while (!stop) {
		char c = 0;
		int next = !cur;

		if (poll(&pfd, 1, args.interval_ms) > 0) {
			ssize_t got = read(STDIN_FILENO, &c, 1);

			if (got == 1 && (c == 'q' || c == 'Q'))
				break;
			if (got <= 0)
				pfd.fd = -1;	/* no input left: refresh only */
			continue;	/* another key: wait out the interval */
		}
		metrics_snap_free(&snap[next]);
		err = metrics_snap_read(&st, &snap[next]);
		t[next] = hl_now_ns();
		if (err) {
			tty_restore();
			p_err("cannot read the counters: %s", hl_errmsg());
			goto out;
		}
		draw(&snap[cur], &snap[next], (t[next] - t[cur]) / 1e9, &st);
		cur = next;
	}
	ret = 0;
out:
	tty_restore();
	metrics_snap_free(&snap[0]);
	metrics_snap_free(&snap[1]);
	store_close(&st);
	return ret;
}
