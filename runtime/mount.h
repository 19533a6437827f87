/* SPDX-License-Identifier: MIT */
/* mount.h: the container's root filesystem: overlay, /proc, /sys, /dev, the generated
 * /etc files, and pivot_root into it. */
#pragma once
#include "container.h"
#include "error.h"

/* Called by the container child inside its namespaces; ends with / as the container root. */
int rootfs_setup(const struct container_spec *spec, struct diyc_error *err);
/* Mounts a fresh proc on /proc of the current root (nsexec -p -m). */
int mount_fresh_proc(struct diyc_error *err);
/* Makes every mount private so nothing propagates to or from the host. */
int mount_make_private(struct diyc_error *err);
