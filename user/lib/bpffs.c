// SPDX-License-Identifier: GPL-2.0
/*
 * Make sure --bpffs DIR is on a bpffs. Nothing mounts bpffs on a fresh
 * machine, and `ip netns exec` hides /sys/fs/bpf, so we mount one ourselves:
 * on /sys/fs/bpf when DIR is below it, else on DIR itself. bpffs refuses
 * names with '.', so a dotted DIR works only as (or above) a mount point.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "lib/bpffs.h"
#include "lib/log.h"
#include "lib/store.h"

#define SYS_BPFFS "/sys/fs/bpf"

static bool on_bpffs(const char *path)
{
	struct statfs sfs;

	return !statfs(path, &sfs) && sfs.f_type == BPF_FS_MAGIC;
}

static int mount_bpffs(const char *path)
{
	if (mount("bpf", path, "bpf", 0, "mode=0700")) {
		int err = -errno;

		hl_err("cannot mount bpffs on %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

/* mkdir -p; components below a bpffs mount are created inside it. */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];
	char *c;

	if (strlen(dir) >= sizeof(path))
		return -ENAMETOOLONG;
	strcpy(path, dir);
	for (c = path + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char saved = *c;

		*c = '\0';
		if (!strcmp(path, SYS_BPFFS) && !on_bpffs(path)) {
			int err = mount_bpffs(path);

			if (err)
				return err;
		}
		if (mkdir(path, 0700) && errno != EEXIST) {
			int err = -errno;

			if (errno == EPERM && on_bpffs(path) && strchr(path, '.'))
				hl_err("cannot create %s: bpffs does not allow '.' in names",
				      path);
			else
				hl_err("cannot create %s: %s", path, strerror(errno));
			return err;
		}
		*c = saved;
		if (!saved)
			return 0;
	}
}

int bpffs_prepare(const char *dir)
{
	struct stat sb;
	int err;

	if (dir[0] != '/') {
		hl_err("--bpffs needs an absolute path, not '%s'", dir);
		return -EINVAL;
	}
	if (stat(dir, &sb)) {
		err = make_dirs(dir);
		if (err)
			return err;
	} else if (!S_ISDIR(sb.st_mode)) {
		hl_err("--bpffs %s is not a directory", dir);
		return -ENOTDIR;
	}
	err = on_bpffs(dir) ? 0 : mount_bpffs(dir);
	if (err)
		return err;
	/* The pins (0600: the kernel's mode for pins) give whoever can
	 * search this directory the director; root only. */
	if (stat(dir, &sb) || ((sb.st_mode & 077) && chmod(dir, 0700))) {
		err = -errno;
		hl_err("cannot make %s private (0700): %s", dir, strerror(errno));
	}
	return err;
}
