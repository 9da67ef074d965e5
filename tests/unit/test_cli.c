// SPDX-License-Identifier: GPL-2.0
/* bpftool-style dispatch: exact names, unique prefixes, errors. */
#include <string.h>

#include "cmd/cli.h"
#include "unit.h"

static const char *called;
static int called_argc;

static int cmd_add(int argc, char **argv) { called = "add"; called_argc = argc; return 0; }
static int cmd_del(int argc, char **argv) { called = "del"; called_argc = argc; return 0; }
static int cmd_set(int argc, char **argv) { called = "set"; called_argc = argc; return 0; }
static int cmd_service(int argc, char **argv) { called = "service"; called_argc = argc; return 0; }

static const struct cmd cmds[] = {
	{ "add", cmd_add }, { "del", cmd_del }, { "set", cmd_set },
	{ "service", cmd_service }, { 0 }
};

static int dispatch(const char *line)
{
	char buf[128], *argv[8];
	int argc = 0;
	char *tok;

	strcpy(buf, line);
	for (tok = strtok(buf, " "); tok && argc < 8; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	called = NULL;
	return cmd_select(cmds, argc, argv, NULL);
}

static void test_exact_and_prefix(void)
{
	CHECK(dispatch("add x y") == 0 && !strcmp(called, "add") && called_argc == 2,
	      "add");
	CHECK(dispatch("a x") == 0 && !strcmp(called, "add"), "prefix a");
	CHECK(dispatch("d") == 0 && !strcmp(called, "del") && called_argc == 0,
	      "prefix d");
	CHECK(dispatch("set") == 0 && !strcmp(called, "set"), "exact set beats prefix of service");
	CHECK(dispatch("serv") == 0 && !strcmp(called, "service"), "prefix serv");
}

static void test_errors(void)
{
	json_output = false;
	CHECK(dispatch("s") == -1 && !called, "ambiguous s ran %s", called);
	CHECK(dispatch("se") == -1 && !called, "ambiguous se");
	CHECK(dispatch("frobnicate") == -1 && !called, "unknown");
	CHECK(dispatch("addx") == -1 && !called, "longer than a name");
	CHECK(dispatch("") == -1 && !called, "empty");
}

/* User input in messages: one line, valid UTF-8 (and so valid JSON). */
static void test_escape(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain 'text'", "plain 'text'" },
		{ "a\nb", "a\\x0ab" },
		{ "tab\there\r", "tab\\x09here\\x0d" },
		{ "\x7f", "\\x7f" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xff\xfe", "\\xff\\xfe" },
		{ "\xc3", "\\xc3" },			/* cut short */
		{ "\xc3(", "\\xc3(" },		/* bad continuation */
		{ "\xc0\xaf", "\\xc0\\xaf" },	/* overlong '/' */
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },	/* surrogate */
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },	/* > U+10FFFF */
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_escape(cases[i].in, out, sizeof(out));
		CHECK(!strcmp(out, cases[i].out), "case %zu: '%s', want '%s'",
		      i, out, cases[i].out);
	}
	/* a small buffer: cut at a character, always terminated */
	cli_escape("\n\n\n", out, 9);
	CHECK(!strcmp(out, "\\x0a"), "small buffer: '%s'", out);
}

int main(void)
{
	RUN(test_exact_and_prefix);
	RUN(test_errors);
	RUN(test_escape);
	return unit_done();
}
