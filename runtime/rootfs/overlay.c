/* SPDX-License-Identifier: MIT */
/* overlay.c: the container's root as overlayfs: the image layers read-only below,
 * the container's upper dir on top. Inside a user namespace overlayfs keeps its
 * metadata in user.overlay.* xattrs (`userxattr`, kernel >= 5.11). A container run with
 * --rm gets `volatile` (kernel >= 5.10): its changes are never worth a sync. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include "overlay.h"
#include "lib/util.h"

static bool bad_chars(const char *p)
{
	/* the option string uses these as separators */
	return strpbrk(p, ",:\\") != NULL;
}

int overlay_mount(char *const *lowerdirs, const char *upper, const char *work, const char *target,
		  bool userxattr, bool volatile_upper, struct diyc_error *err)
{
	char opts[4096];
	size_t n = 0;
	int k = snprintf(opts, sizeof(opts), "lowerdir=");
	n = k;
	for (char *const *l = lowerdirs; *l; l++) {
		if (bad_chars(*l))
			return diyc_error_plain(err, EINVAL, "layer path `%s` contains `,`, `:` or `\\`", *l);
		k = snprintf(opts + n, sizeof(opts) - n, "%s%s", l == lowerdirs ? "" : ":", *l);
		if (k < 0 || (size_t)k >= sizeof(opts) - n)
			return diyc_error_plain(err, E2BIG, "too many image layers for one overlay mount");
		n += k;
	}
	if (bad_chars(upper) || bad_chars(work))
		return diyc_error_plain(err, EINVAL,
			"container path `%s` contains `,`, `:` or `\\`: set XDG_DATA_HOME to a plainer path", upper);
	/* volatile: an upper dir that is removed afterwards needs no sync at unmount, which
	 * would otherwise wait for every dirty page of its filesystem (a fresh import's) */
	k = snprintf(opts + n, sizeof(opts) - n, ",upperdir=%s,workdir=%s%s%s", upper, work,
		     userxattr ? ",userxattr" : "", volatile_upper ? ",volatile" : "");
	if (k < 0 || (size_t)k >= sizeof(opts) - n)
		return diyc_error_plain(err, E2BIG, "overlay options too long");
	/* nodev: no device node the image brings, or the container makes, opens a device (as
	 * root, CAP_MKNOD would otherwise reach the host's disks: see rootfs/mount.c) */
	if (mount("overlay", target, "overlay", MS_NODEV, opts) < 0) {
		int e = errno;
		if (e == EINVAL && userxattr)
			return diyc_error(err, e, "mount overlay on `%s` (needs kernel >= 5.11 for overlayfs in a "
				"user namespace, and a store on a filesystem with user xattrs, not tmpfs < 6.6 or NFS)",
				target);
		return diyc_error(err, e, "mount overlay on `%s`", target);
	}
	return 0;
}
