/* SPDX-License-Identifier: MIT */
/* volume.h: what the user mounts into a container besides its image: host directories
 * and files (-v HOST:CONTAINER[:ro|rw]) and tmpfs (--tmpfs PATH[:OPTIONS]). Parsing is
 * done before anything is created; mounting happens in the container child, below the
 * new root, before pivot_root. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

enum mount_kind { MOUNT_BIND, MOUNT_TMPFS };

struct mount_entry {
	enum mount_kind kind;
	char *source;   /* bind: the host path as given (absolute); tmpfs: NULL */
	char *target;   /* absolute path in the container, normalized, never with `..` */
	bool readonly;
	char *options;  /* tmpfs: the options as given after `:` (NULL when none) */
};

/* Parses -v/--volume HOST:CONTAINER[:OPTS], OPTS a comma list of ro, rw. */
int volume_parse(const char *spec, struct mount_entry *out, struct diyc_error *err);
/* Parses --tmpfs PATH[:OPTS]. */
int tmpfs_parse(const char *spec, struct mount_entry *out, struct diyc_error *err);
/* Before the container starts, as the calling user: the host path of a bind mount
 * exists and the user can read it. Other kinds pass. */
int volume_check_host(const struct mount_entry *m, struct diyc_error *err);
/* In the container child, before pivot_root: mounts each entry below rootfd, in order. */
/* nodev: device nodes in bind mounts do not open (see rootfs/mount.c) */
int volumes_mount(int rootfd, const struct mount_entry *m, size_t n, bool nodev, struct diyc_error *err);
/* Deep copy (for a configuration read back from disk) and release. */
int mount_entry_copy(const struct mount_entry *from, struct mount_entry *to);
void mount_entry_free(struct mount_entry *m);
