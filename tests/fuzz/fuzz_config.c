// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's configuration parser (libconfig syntax, then every key of
 * the option tables): any file either loads, with every string bounded,
 * or fails with one error message of one line.
 */
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"
#include "agent/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_conf conf;
	char path[64], err[512];
	int fd = memfd_create("helios-fuzz-config", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if (config_load(path, &conf, err, sizeof(err))) {
		FUZZ_ASSERT(err[0] && memchr(err, '\0', sizeof(err)));
	} else {
		for (unsigned int i = 0; i < conf.nsvcs; i++)
			FUZZ_ASSERT(conf.svcs[i].nnodes <= HL_MAX_NODES);
		config_free(&conf);
	}
	close(fd);
	return 0;
}
