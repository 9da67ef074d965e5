// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include <errno.h>

#include "agent/dl.h"
#include "lib/log.h"

int dl_bind(const char *soname, const struct dl_sym *syms, size_t count)
{
	void *h;
	size_t i;

	if (*syms[0].fn)
		return 0;
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		hl_err("cannot open %s: %s", soname, dlerror());
		return -ENOENT;
	}
	for (i = 0; i < count; i++) {
		*syms[i].fn = dlsym(h, syms[i].name);
		if (!*syms[i].fn) {
			hl_err("%s has no %s", soname, syms[i].name);
			while (i--)
				*syms[i].fn = NULL;
			dlclose(h);
			return -ENOENT;
		}
	}
	return 0;	/* kept open for the life of the process */
}
