/* SPDX-License-Identifier: MIT */
/* upper.c: the limit on a container's upper dir (a disk size), in the container child before
 * its overlay is mounted: the upper dir's own filesystem attached or mounted in the
 * container's mount namespace (so it goes with it), and the overlay mounted without
 * CAP_SYS_RESOURCE under a project quota.
 *
 * Why the capability: overlayfs does its writes to the upper dir with the credentials of
 * whoever mounted it, and ext4's quota lets a holder of CAP_SYS_RESOURCE pass a hard limit.
 * The container's root has none, but diyc's child mounting the overlay as the host's root has
 * it. xfs enforces project quotas on everyone; ext4 then does too. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "overlay.h"
#include "upper.h"

static int attach(const struct upper_limit *l, struct diyc_error *err)
{
	if (l->kind == UPPER_LIMIT_MOUNT) {
		if (syscall(SYS_move_mount, l->mount_fd, "", AT_FDCWD, l->dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return diyc_error(err, errno, "attach the container's disk on `%s`", l->dir);
		close(l->mount_fd);
		return 0;
	}
	char data[64];
	snprintf(data, sizeof(data), "size=%llu,mode=0755", (unsigned long long)l->tmpfs_size);
	if (mount("tmpfs", l->dir, "tmpfs", MS_NODEV, data) < 0)
		return diyc_error(err, errno, "mount the container's tmpfs of %llu bytes on `%s`",
				  (unsigned long long)l->tmpfs_size, l->dir);
	return 0;
}

int upper_limit_setup(const struct upper_limit *l, const char *upperdir, const char *workdir,
		      struct diyc_error *err)
{
	if (l->kind != UPPER_LIMIT_MOUNT && l->kind != UPPER_LIMIT_TMPFS)
		return 0;
	int r = attach(l, err);
	if (r < 0)
		return r;
	/* kept on an image from one start to the next */
	if (mkdir(upperdir, 0755) < 0 && errno != EEXIST)
		return diyc_error(err, errno, "create the upper dir `%s`", upperdir);
	if (mkdir(workdir, 0700) < 0 && errno != EEXIST)
		return diyc_error(err, errno, "create the work dir `%s`", workdir);
	return 0;
}

/* Sets or clears CAP_SYS_RESOURCE in the effective set (it stays permitted). */
static int effective_sys_resource(bool on)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	unsigned word = CAP_SYS_RESOURCE / 32, bit = 1u << (CAP_SYS_RESOURCE % 32);
	if (on)
		d[word].effective |= bit & d[word].permitted;
	else
		d[word].effective &= ~bit;
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int upper_limit_overlay(const struct upper_limit *l, char *const *lowerdirs, const char *upper, const char *work,
			const char *target, bool userxattr, bool volatile_upper, struct diyc_error *err)
{
	bool drop = l->kind == UPPER_LIMIT_PROJECT;
	if (drop && effective_sys_resource(false) < 0)
		return diyc_error(err, errno, "drop CAP_SYS_RESOURCE before mounting the overlay");
	int r = overlay_mount(lowerdirs, upper, work, target, userxattr, volatile_upper, err);
	if (drop)
		effective_sys_resource(true);
	return r;
}
