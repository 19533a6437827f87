/* SPDX-License-Identifier: MIT */
/* disk-quota.h: a limit on what a container's upper dir (or a volume) may hold on disk, and
 * what backs it: a project quota where the store's filesystem has one (xfs prjquota, ext4
 * with the project feature and quota), else, for root, an ext4 image file on a loop device,
 * and for a rootless container that goes at exit, a tmpfs of that size (rootfs/). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/error.h"

enum disk_quota_kind { DISK_QUOTA_NONE, DISK_QUOTA_PROJECT, DISK_QUOTA_IMAGE, DISK_QUOTA_TMPFS };
extern const char *const disk_quota_kind_names[]; /* "none", "project", "image", "tmpfs", NULL */

/* The smallest size taken: an ext4 image smaller than this has no room for its metadata. */
#define DISK_SIZE_MIN (4ULL << 20)

/* SIZE as --memory takes it (b, k, m, g, t; a plain number is MiB). 0, negative, malformed and
 * below DISK_SIZE_MIN are refused; WHAT names the flag in messages ("--storage-opt size"). */
int disk_size_parse(const char *what, const char *s, uint64_t *out, struct diyc_error *err);
/* Refuses a SIZE larger than the free space of the filesystem holding DIR (as the caller can
 * use it). */
int disk_size_check_free(const char *what, const char *dir, uint64_t size, struct diyc_error *err);

/* Project quotas (quotactl_fd, Linux 5.14). Whether the filesystem holding dirfd accounts and
 * enforces project quotas. */
bool project_quota_available(int dirfd);
/* Picks a project id no directory of this filesystem uses (under a lock in lockdir), sets it
 * with FS_XFLAG_PROJINHERIT on each of dirs (relative to parentfd) and a hard limit of SIZE
 * bytes on it. *id is set (0 when nothing was done). */
int project_quota_assign(int parentfd, const char *const *dirs, size_t n_dirs, uint64_t size,
			 const char *lockdir, uint32_t *id, struct diyc_error *err);
/* What project ID holds, and its limit (bytes). */
int project_quota_usage(int fsfd, uint32_t id, uint64_t *used, uint64_t *limit, struct diyc_error *err);
/* The project id of directory DIR below dirfd (0: none). */
int project_quota_of(int dirfd, const char *dir, uint32_t *id);
/* Clears ID's limit (after its files were removed): the id is free again. */
int project_quota_release(int fsfd, uint32_t id, struct diyc_error *err);

/* The name of the image file in a container's data dir. */
#define DISK_IMAGE_NAME "disk.ext4"

/* An ext4 image file: the backing of a root container's upper dir where the store has no
 * project quotas. Creates NAME below dirfd, sparse, of SIZE bytes, with an empty ext4 on it
 * (mkfs.ext4 from e2fsprogs, no reserved blocks). Removes it again on failure. */
int disk_image_create(int dirfd, const char *name, uint64_t size, struct diyc_error *err);
/* Attaches NAME below dirfd to a free loop device (autoclear) and mounts its ext4, detached:
 * returns the fd of the mount (fsmount), which the caller attaches where it wants
 * (move_mount). The loop device goes when the last user of the mount does. */
int disk_image_mount(int dirfd, const char *name, struct diyc_error *err);
/* Waits up to timeout_ms until no loop device holds image NAME below dirfd (a container's
 * mount namespace lets go of it a moment after its last process ended). -EBUSY after that. */
int disk_image_wait_unused(int dirfd, const char *name, int timeout_ms);
