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

int main(void)
{
	RUN(test_exact_and_prefix);
	RUN(test_errors);
	return unit_done();
}
