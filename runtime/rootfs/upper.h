/* SPDX-License-Identifier: MIT */
/* upper.h: the limit on a container's upper dir, set up in the container child (upper.c). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/* What limits the upper dir when the container has a disk size: its own filesystem, mounted
 * on dir before the overlay (upperdir and workdir are then below dir), or a project quota. */
struct upper_limit {
	enum { UPPER_LIMIT_NONE, UPPER_LIMIT_PROJECT, UPPER_LIMIT_MOUNT, UPPER_LIMIT_TMPFS } kind;
	const char *dir;         /* MOUNT, TMPFS: the mount point */
	int mount_fd;            /* MOUNT: a detached mount (fsmount) to attach on dir */
	uint64_t tmpfs_size;     /* TMPFS: its size in bytes */
};

/* Attaches or mounts the upper dir's own filesystem on l->dir and makes upperdir and workdir
 * in it (kept when there). Nothing for a project quota or no limit. */
int upper_limit_setup(const struct upper_limit *l, const char *upperdir, const char *workdir,
		      struct diyc_error *err);
/* overlay_mount, under a project quota without CAP_SYS_RESOURCE in the mounter's credentials. */
int upper_limit_overlay(const struct upper_limit *l, char *const *lowerdirs, const char *upper, const char *work,
			const char *target, bool userxattr, bool volatile_upper, struct diyc_error *err);
