/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, `make fuzz`):
 * the input as NUL-separated words (argv), and a JSON check. A broken
 * property calls abort(), which libFuzzer reports as a crash with the
 * input that caused it.
 */
#ifndef HELIOS_FUZZ_H
#define HELIOS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

/* each target uses some of the helpers */
#pragma GCC diagnostic ignored "-Wunused-function"

#define FUZZ_ARGS	32
#define FUZZ_BYTES	4096

struct fuzz_argv {
	int argc;
	char *argv[FUZZ_ARGS + 1];
	char buf[FUZZ_BYTES + 1];
};

/* Words separated by NUL; at most FUZZ_ARGS of them, FUZZ_BYTES bytes. */
static void fuzz_split(struct fuzz_argv *a, const uint8_t *data, size_t size)
{
	size_t i, start = 0;

	if (size > FUZZ_BYTES)
		size = FUZZ_BYTES;
	memcpy(a->buf, data, size);
	a->buf[size] = '\0';
	a->argc = 0;
	for (i = 0; i <= size && a->argc < FUZZ_ARGS; i++)
		if (a->buf[i] == '\0') {
			a->argv[a->argc++] = a->buf + start;
			start = i + 1;
		}
	if (a->argc && !*a->argv[a->argc - 1] && start > size)
		a->argc--;	/* a trailing NUL ends the last word */
	a->argv[a->argc] = NULL;
}

/* Valid UTF-8 throughout (what json-c writes, it does not check). */
static int fuzz_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
			(*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0 || (n == 1 && *p < 0xc2))
			return 0;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* `o` printed is valid UTF-8 and parses back as JSON; drops `o`. */
static void fuzz_json(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct json_object *back;

	if (!fuzz_utf8(s)) {
		fprintf(stderr, "not UTF-8: %s\n", s);
		abort();
	}
	back = json_tokener_parse(s);
	if (!back) {
		fprintf(stderr, "not JSON: %s\n", s);
		abort();
	}
	json_object_put(back);
	json_object_put(o);
}

#define FUZZ_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			abort();					\
		}							\
	} while (0)

#endif /* HELIOS_FUZZ_H */
