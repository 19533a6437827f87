/* SPDX-License-Identifier: MIT */
/* inroot.h: opening and mounting on paths below the container's root, resolved inside
 * it: a symlink in the image can never lead out of the root. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/* Opens PATH below rootfd with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: a symlink in
 * the image can never lead out of the root. Returns the fd or a negative errno. */
int mount_open_in_root(int rootfd, const char *path, int flags);
/* The same as an O_PATH fd, creating PATH first when missing (a directory, or an
 * empty file when file is true), with any missing parents. */
int mount_target_in_root(int rootfd, const char *path, bool file);
/* Mounts on TARGET below rootfd (created when missing) through /proc/self/fd. */
int mount_in_root(int rootfd, const char *target, bool file, const char *src, const char *type,
		  unsigned long flags, const char *data, struct diyc_error *err);
/* MOUNT_ATTR_* set on the mount at target (and below it when recursive). */
int mount_set_attr(int rootfd, const char *target, uint64_t attrs, bool recursive, struct diyc_error *err);
/* Makes the mount at TARGET read-only (mount_setattr, so locked flags are kept). */
int mount_set_readonly(int rootfd, const char *target, bool recursive, struct diyc_error *err);
