// SPDX-License-Identifier: GPL-2.0
/*
 * The exposition writer (user/lib/expo.c) against the formats' rules,
 * byte for byte: Prometheus text 0.0.4 and OpenMetrics 1.0 for the same
 * families; escaping; numbers; the Accept header; the metrics address.
 */
#include <string.h>
#include <netinet/in.h>

#include "agent/metrics_http.h"
#include "lib/expo.h"
#include "unit.h"

/* Two families, one with two labels and one without any. */
static const char *write_two(struct expo *e, bool om, size_t *len)
{
	struct expo_label l[] = { { "service", "198.18.1.10:5432/tcp" },
				  { "reason", "dropped-rate-conn" } };

	expo_init(e, om);
	expo_family(e, "helios_service_drops", EXPO_COUNTER, "Drops by reason.");
	expo_sample_u64(e, l, 2, 18446744073709551615ull);
	expo_family(e, "helios_agent_loop_lag_seconds", EXPO_GAUGE, "Loop lag.");
	expo_sample(e, NULL, 0, 0.25);
	return expo_finish(e, len);
}

static void test_prometheus(void)
{
	static const char want[] =
		"# HELP helios_service_drops_total Drops by reason.\n"
		"# TYPE helios_service_drops_total counter\n"
		"helios_service_drops_total{service=\"198.18.1.10:5432/tcp\","
		"reason=\"dropped-rate-conn\"} 18446744073709551615\n"
		"# HELP helios_agent_loop_lag_seconds Loop lag.\n"
		"# TYPE helios_agent_loop_lag_seconds gauge\n"
		"helios_agent_loop_lag_seconds 0.25\n";
	struct expo e;
	size_t len = 0;
	const char *t = write_two(&e, false, &len);

	CHECK(t && !strcmp(t, want), "got:\n%s", t ? t : "(null)");
	CHECK(len == strlen(want), "len %zu", len);
	expo_free(&e);
}

static void test_openmetrics(void)
{
	static const char want[] =
		"# HELP helios_service_drops Drops by reason.\n"
		"# TYPE helios_service_drops counter\n"
		"helios_service_drops_total{service=\"198.18.1.10:5432/tcp\","
		"reason=\"dropped-rate-conn\"} 18446744073709551615\n"
		"# HELP helios_agent_loop_lag_seconds Loop lag.\n"
		"# TYPE helios_agent_loop_lag_seconds gauge\n"
		"helios_agent_loop_lag_seconds 0.25\n"
		"# EOF\n";
	struct expo e;
	size_t len = 0;
	const char *t = write_two(&e, true, &len);

	CHECK(t && !strcmp(t, want), "got:\n%s", t ? t : "(null)");
	expo_free(&e);
}

static void test_escaping(void)
{
	struct expo_label l[] = { { "node", "a\\b\"c\nd" } };
	struct expo e;
	size_t len;
	const char *t;

	expo_init(&e, false);
	expo_family(&e, "x", EXPO_GAUGE, "back\\slash \"quoted\"\nnewline");
	expo_sample(&e, l, 1, 1);
	t = expo_finish(&e, &len);
	CHECK(t && strstr(t, "# HELP x back\\\\slash \"quoted\"\\nnewline\n"),
	      "0.0.4 HELP: %s", t ? t : "(null)");
	CHECK(t && strstr(t, "x{node=\"a\\\\b\\\"c\\nd\"} 1\n"), "label: %s", t ? t : "(null)");
	expo_free(&e);

	expo_init(&e, true);
	expo_family(&e, "x", EXPO_GAUGE, "say \"hi\"");
	t = expo_finish(&e, &len);
	CHECK(t && strstr(t, "# HELP x say \\\"hi\\\"\n"), "OM HELP: %s", t ? t : "(null)");
	expo_free(&e);
}

static void test_numbers(void)
{
	static const struct {
		double v;
		const char *out;
	} cases[] = {
		{ 0, "y 0\n" }, { -1, "y -1\n" }, { 3, "y 3\n" },
		{ 0.001, "y 0.001\n" }, { 1e20, "y 1e+20\n" },
		{ 0.0 / 0.0, "y NaN\n" }, { 1.0 / 0.0, "y +Inf\n" },
		{ -1.0 / 0.0, "y -Inf\n" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expo e;
		size_t len;
		const char *t;

		expo_init(&e, false);
		e.family = "y";
		e.type = EXPO_GAUGE;
		expo_sample(&e, NULL, 0, cases[i].v);
		t = expo_finish(&e, &len);
		CHECK(t && !strcmp(t, cases[i].out), "%g: got '%s' want '%s'",
		      cases[i].v, t ? t : "(null)", cases[i].out);
		expo_free(&e);
	}
}

/* Many samples: the buffer grows, nothing is lost. */
static void test_growth(void)
{
	struct expo e;
	size_t len;
	const char *t;
	unsigned int i, lines = 0;

	expo_init(&e, false);
	expo_family(&e, "z", EXPO_COUNTER, "many");
	for (i = 0; i < 20000; i++)
		expo_sample_u64(&e, NULL, 0, i);
	t = expo_finish(&e, &len);
	for (i = 0; t && i < len; i++)
		lines += t[i] == '\n';
	CHECK(t && lines == 20002, "%u lines", lines);
	CHECK(t && strstr(t, "\nz_total 19999\n"), "last sample");
	expo_free(&e);
}

static void test_accept(void)
{
	CHECK(!expo_wants_openmetrics(NULL), "no header");
	CHECK(!expo_wants_openmetrics("*/*"), "*/*");
	CHECK(!expo_wants_openmetrics("text/plain;version=0.0.4"), "0.0.4");
	CHECK(expo_wants_openmetrics("application/openmetrics-text; version=1.0.0,"
				     "text/plain;version=0.0.4;q=0.5"), "Prometheus 2.x");
	CHECK(expo_wants_openmetrics("application/openmetrics-text"), "bare");
	CHECK(!expo_wants_openmetrics("application/openmetrics-text;q=0,text/plain"),
	      "q=0 refuses");
}

static void test_metrics_addr(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	CHECK(!metrics_addr_parse("9464", &ss) && in->sin_family == AF_INET &&
	      in->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
	      in->sin_port == htons(9464), "a port alone: 127.0.0.1");
	CHECK(!metrics_addr_parse("0.0.0.0:9100", &ss) && in->sin_addr.s_addr == 0 &&
	      in->sin_port == htons(9100), "0.0.0.0:9100");
	CHECK(!metrics_addr_parse("[::1]:9100", &ss) && in6->sin6_family == AF_INET6 &&
	      in6->sin6_port == htons(9100), "[::1]:9100");
	CHECK(metrics_addr_parse("198.18.0.3", &ss), "no port");
	CHECK(metrics_addr_parse("0", &ss), "port 0");
	CHECK(metrics_addr_parse("65536", &ss), "port 65536");
	CHECK(metrics_addr_parse("host:9100", &ss), "a name");
	CHECK(metrics_addr_parse("", &ss), "empty");
	CHECK(!metrics_addr_check("off") && !metrics_addr_check("") &&
	      metrics_addr_check("x"), "the option check");
}

int main(void)
{
	RUN(test_prometheus);
	RUN(test_openmetrics);
	RUN(test_escaping);
	RUN(test_numbers);
	RUN(test_growth);
	RUN(test_accept);
	RUN(test_metrics_addr);
	return unit_done();
}
