/* SPDX-License-Identifier: MIT */
/* mount.h: the container's root filesystem: overlay, /proc, /sys, /dev, the generated
 * /etc files, and pivot_root into it. */
#pragma once
#include <stdbool.h>
#include "container/container.h"
#include "lib/error.h"

/* Called by the container child inside its namespaces; ends with / as the container root. */
int rootfs_setup(const struct container_spec *spec, struct diyc_error *err);
/* Mounts a fresh proc on /proc of the current root (nsexec -p -m). */
int mount_fresh_proc(struct diyc_error *err);
/* Makes every mount private so nothing propagates to or from the host. */
int mount_make_private(struct diyc_error *err);

/* Opens PATH below rootfd with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: a symlink in
 * the image can never lead out of the root. Returns the fd or a negative errno. */
int mount_open_in_root(int rootfd, const char *path, int flags);
/* The same as an O_PATH fd, creating PATH first when missing (a directory, or an
 * empty file when file is true), with any missing parents. */
int mount_target_in_root(int rootfd, const char *path, bool file);
/* Mounts on TARGET below rootfd (created when missing) through /proc/self/fd. */
int mount_in_root(int rootfd, const char *target, bool file, const char *src, const char *type,
		  unsigned long flags, const char *data, struct diyc_error *err);
/* Makes the mount at TARGET read-only (mount_setattr, so locked flags are kept). */
/* MOUNT_ATTR_* set on the mount at target (and below it when recursive). */
int mount_set_attr(int rootfd, const char *target, uint64_t attrs, bool recursive, struct diyc_error *err);
int mount_set_readonly(int rootfd, const char *target, bool recursive, struct diyc_error *err);
