/* SPDX-License-Identifier: MIT */
/* volume.h: what the user mounts into a container besides its image: host directories
 * and files (-v HOST:CONTAINER[:ro|rw], --mount type=bind), tmpfs (--tmpfs PATH[:OPTIONS],
 * --mount type=tmpfs) and volumes of the store (-v NAME:CONTAINER, -v CONTAINER alone,
 * --mount type=volume). Parsing is done before anything is created; mounting happens in
 * the container child, below the new root, before pivot_root. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "lib/error.h"

enum mount_kind { MOUNT_BIND, MOUNT_TMPFS, MOUNT_VOLUME };

/* the longest volume name: storage/volume-store.h's VOLUME_NAME_MAX (rootfs/ cannot see it) */
#define MOUNT_VOLUME_NAME_MAX 128

struct mount_entry {
	enum mount_kind kind;
	char *source;   /* bind: the host path as given (absolute); tmpfs: NULL; volume: its name
			 * (NULL for an anonymous one until the store names it) */
	char *target;   /* absolute path in the container, normalized, never with `..` */
	bool readonly;
	char *options;  /* tmpfs: the options as given after `:` (NULL when none) */
	bool anonymous; /* volume: made for this container, goes with it (--rm, rm -v) */
	bool nocopy;    /* volume: not filled from the image when empty (volume-nocopy) */
	/* volume, at run time only (never in config.json): the store's volumes directory and
	 * the identity of the volume's _data as the store opened it; the container child opens
	 * it again below that directory, in its own mount namespace (a bind mount cannot take
	 * its source from another namespace's fd), and refuses anything else */
	char *volumes_dir;
	dev_t data_dev;
	ino_t data_ino;
};

/* Parses -v/--volume HOST:CONTAINER[:OPTS] (a bind mount), NAME:CONTAINER[:OPTS] (a named
 * volume: a HOST without `/`) or CONTAINER alone (an anonymous volume); OPTS a comma list of
 * ro, rw and, for volumes, nocopy. */
int volume_parse(const char *spec, struct mount_entry *out, struct diyc_error *err);
/* Parses --tmpfs PATH[:OPTS]. */
int tmpfs_parse(const char *spec, struct mount_entry *out, struct diyc_error *err);
/* Parses --mount type=bind|volume|tmpfs,KEY=VALUE,... with docker's keys and aliases. */
int mount_spec_parse(const char *spec, struct mount_entry *out, struct diyc_error *err);
/* An anonymous volume on PATH (an image's Volumes entry). */
int volume_anonymous(const char *path, struct mount_entry *out, struct diyc_error *err);
/* Whether NAME may name a volume (the rule of container names). */
bool mount_volume_name_valid(const char *name);
/* Before the container starts, as the calling user: the host path of a bind mount
 * exists and the user can read it. Other kinds pass. */
int volume_check_host(const struct mount_entry *m, struct diyc_error *err);
/* In the container child, before pivot_root: mounts each entry below rootfd, in order. */
/* nodev: device nodes in bind mounts do not open (see rootfs/mount.c) */
int volumes_mount(int rootfd, const struct mount_entry *m, size_t n, bool nodev, struct diyc_error *err);
/* Deep copy (for a configuration read back from disk) and release. */
int mount_entry_copy(const struct mount_entry *from, struct mount_entry *to);
void mount_entry_free(struct mount_entry *m);
