/* SPDX-License-Identifier: MIT */
/* mount.h: the container's root filesystem: overlay, /proc, /sys, /dev, the generated
 * /etc files, the volumes, and pivot_root into it. What it is built from comes in a
 * struct rootfs_spec of plain fields (the caller fills it from its container). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"
#include "lib/userns.h"
#include "upper.h"
#include "volume.h"

struct rootfs_spec {
	char *const *lowerdirs;  /* the image's layers, top layer first, NULL-terminated */
	const char *upperdir, *workdir;
	bool volatile_upper;     /* the upper dir is thrown away after (--rm): never synced */
	struct upper_limit upper_limit;
	const char *rootfs;      /* mount point of the overlay (in the run dir) */
	const char *hostfiles;   /* directory holding the generated hostname, hosts, resolv.conf */
	const struct userns_plan *userns; /* enabled: no mknod, host nodes are bound; its gid map */
	const struct mount_entry *mounts; /* -v and --tmpfs, in order */
	size_t n_mounts;
	bool own_cgroup;         /* the container has a cgroup of its own: /sys/fs/cgroup shows it */
	bool cgroup_delegated;   /* and may make cgroups below it (see setup_cgroupfs) */
	bool read_only;          /* the root read-only, with tmpfs on /tmp and /run */
	bool privileged;         /* no masked or read-only kernel paths, device nodes in volumes open */
};

/* Called by the container child inside its namespaces; ends with / as the container root. */
int rootfs_setup(const struct rootfs_spec *spec, struct diyc_error *err);
/* Mounts a fresh proc on /proc of the current root (nsexec -p -m). */
int mount_fresh_proc(struct diyc_error *err);
/* Makes every mount private so nothing propagates to or from the host. */
int mount_make_private(struct diyc_error *err);
