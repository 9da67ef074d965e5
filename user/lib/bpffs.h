/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HELIOS_LIB_BPFFS_H
#define HELIOS_LIB_BPFFS_H

/* Make sure `dir` exists on a bpffs, mounting one if needed: nothing mounts
 * bpffs on a fresh machine, and `ip netns exec` hides /sys/fs/bpf. */
int bpffs_prepare(const char *dir);

#endif /* HELIOS_LIB_BPFFS_H */
