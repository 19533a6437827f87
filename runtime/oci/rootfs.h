/* SPDX-License-Identifier: MIT */
/* rootfs.h: an OCI container's filesystem from its struct oci_spec, built by the
 * container's init inside its new mount namespace (and maybe a new user namespace):
 * prepare (mounts and devices below the root), pivot, finish (masked and read-only
 * paths, a read-only root). */
#pragma once
#include <stdbool.h>
#include "lib/error.h"
#include "spec.h"

struct oci_rootfs_opts {
	bool in_userns;      /* a new user namespace: no mknod, device nodes are bind-mounted from the host's /dev */
	bool no_pivot;       /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	int console_slave;   /* the pty slave to bind on /dev/console, or -1 (process.terminal false) */
};

/* First, inside the new mount namespace and before the process becomes the root of its
 * user namespace (the bundle may be a directory only the runtime's user can search): the
 * propagation of / (linux.rootfsPropagation, by default MS_REC|MS_PRIVATE so that nothing
 * leaks to the host), the root bind-mounted on itself, *rootfd an O_PATH fd of it. */
int oci_rootfs_bind_root(const struct oci_spec *spec, int *rootfd, struct diyc_error *err);
/* Then, before the createContainer hooks, below rootfd: every entry of spec->mounts in
 * order (resolved inside the root: a symlink in the rootfs never leads out), the device
 * nodes and links of /dev (unless /dev is a bind mount) and spec->devices, /dev/console
 * from the pty slave. */
int oci_rootfs_prepare(const struct oci_spec *spec, const struct oci_rootfs_opts *opts, int rootfd,
		       struct diyc_error *err);
/* pivot_root into the root at rootfd with the old root detached, or with opts->no_pivot
 * MS_MOVE + chroot; ends with the working directory at "/". */
int oci_rootfs_pivot(const struct oci_spec *spec, const struct oci_rootfs_opts *opts, int rootfd,
		     struct diyc_error *err);
/* After the pivot: linux.maskedPaths, linux.readonlyPaths (a path this kernel lacks is
 * skipped), root.readonly, and linux.rootfsPropagation applied to / again. */
int oci_rootfs_finish(const struct oci_spec *spec, struct diyc_error *err);
