/* SPDX-License-Identifier: MIT */
/* disk.h: a container's disk size (--storage-opt size=): choosing what holds it, setting it
 * up at each start, measuring it. Its release is part of removing the container (store.c). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"
#include "lib/paths.h"
#include "storage/disk-quota.h"
#include "store.h"

/* At run, before anything is made: what holds SIZE (0: nothing) for a container of this
 * store; refuses (with why, and nothing made) a size that cannot truly be held. */
int container_disk_choose(const struct diyc_paths *p, uint64_t size, bool removed_at_exit,
			  enum disk_quota_kind *kind, struct diyc_error *err);
/* Before the container's child is cloned: for DISK_QUOTA_IMAGE, the image (made at the first
 * start) mounted detached, *fd its mount for the child to attach; else *fd is -1. */
int container_disk_open(const struct container *c, const struct container_config *cfg, int *fd,
			struct diyc_error *err);
/* In the launch's prepare step (its directories exist): the project id on the upper and work
 * dirs at the first start; the mount point of the upper dir's own filesystem otherwise. */
int container_disk_prepare(const struct container *c, const struct container_config *cfg, struct diyc_error *err);
/* What the container's changes take now (bytes): the project's usage, the used blocks of its
 * own filesystem while it runs, or the image file's blocks once stopped. */
int container_disk_usage(const struct container *c, uint64_t *used, struct diyc_error *err);
/* Where the container's changes can be read now (commit): its upper dir, or on an image
 * (stopped only) the upper dir in the image mounted for the caller, *anchor the mount's fd to
 * close after. */
int container_disk_upper(const struct container *c, char *path, size_t size, int *anchor,
			 struct diyc_error *err);
