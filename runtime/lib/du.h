/* SPDX-License-Identifier: MIT */
/* du.h: the disk space directory trees take, as du(1) counts it (du.c). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "userns.h"

struct du_tree {
	int fd;         /* O_PATH of the top directory, opened by the caller without following a
			 * link; -1: nothing to measure (bytes 0) */
	uint64_t bytes; /* the blocks allocated below and to the top, in bytes, each inode once */
	int error;      /* 0, or the negative errno that stopped the walk (bytes then unknown) */
};

/* Measures each tree. Those the caller may not read (files of subordinate ids) are measured
 * again, together, in one user namespace with plan's maps. Returns 0 with each tree's bytes
 * or error set, or a negative errno (err set) when that namespace could not be made. */
int du_trees(const struct userns_plan *plan, struct du_tree *trees, size_t n, struct diyc_error *err);
/* Opens PATH (or NAME below dirfd, which may be AT_FDCWD) as du_tree's fd: O_PATH, a
 * directory, no link followed in its last part. -ENOENT when it is not there. */
int du_open(int dirfd, const char *name);
