/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Libraries that only the daemon needs (libpq for the postgres probe,
 * libmicrohttpd for the metrics endpoint, libsystemd for sd_notify),
 * opened on first use instead of linked: with their ~30 dependencies
 * (TLS, Kerberos, LDAP, compression) every CLI run paid about 4 ms of
 * loading and relocation before main(), most of a `node set`.
 *
 * Each user lists its functions once in an X-macro and keeps a struct of
 * pointers typed from the library's own header (__typeof__), so a
 * signature change still fails the build.
 */
#ifndef HELIOS_AGENT_DL_H
#define HELIOS_AGENT_DL_H

#include <stddef.h>

struct dl_sym {
	const char *name;
	void **fn;		/* where the address goes */
};

/* Declares a struct member `name` typed as the library's function. */
#define DL_PTR(name)	__typeof__(name) *name;
/* A struct dl_sym entry for member `name` of the struct `var`. */
#define DL_SYM(var, name) { #name, (void **)&(var).name },

/*
 * Open `soname` and resolve every symbol; once that worked, later calls
 * return at once. 0, or -ENOENT with hl_err() naming the library or the
 * missing symbol (and every pointer left NULL).
 */
int dl_bind(const char *soname, const struct dl_sym *syms, size_t count);

#endif /* HELIOS_AGENT_DL_H */
