/* SPDX-License-Identifier: MIT */
/* inroot.c: paths and mounts below the container's new root, resolved inside it
 * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) so that a symlink in the image can
 * never point a mount at the host; mounts are made through /proc/self/fd. Used by the
 * root filesystem (mount.c), the volumes (volume.c) and the command's working directory
 * (container/process.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "inroot.h"
#include "lib/util.h"

int mount_open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = openat2_retry(rootfd, path, &how);
	return fd < 0 ? -errno : fd;
}

/* Opens PATH below the root as an O_PATH fd, creating it (a directory, or an empty
 * file when file is true) and missing parents first. */
int mount_target_in_root(int rootfd, const char *path, bool file)
{
	int fd = mount_open_in_root(rootfd, path, O_PATH);
	if (fd != -ENOENT)
		return fd;
	char prefix[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof(prefix))
		return -ENAMETOOLONG;
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		bool last = path[i] == '\0';
		fd = mount_open_in_root(rootfd, prefix, O_PATH);
		if (fd >= 0) {
			if (last)
				return fd;
			close(fd);
			continue;
		}
		if (fd != -ENOENT)
			return fd;
		/* create the component inside its (already resolved) parent */
		char *slash = strrchr(prefix, '/');
		const char *base = slash ? slash + 1 : prefix;
		_cleanup_close_ int pfd = -1;
		if (slash && slash != prefix) {
			*slash = '\0';
			pfd = mount_open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
			*slash = '/';
		} else {
			pfd = mount_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
		}
		if (pfd < 0)
			return pfd;
		if (last && file) {
			int f = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (f < 0 && errno != EEXIST)
				return -errno;
			if (f >= 0)
				close(f);
		} else if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
			return -errno;
		}
		if (last)
			return mount_open_in_root(rootfd, prefix, O_PATH);
	}
	return -ENOENT;
}

int mount_in_root(int rootfd, const char *target, bool file, const char *src, const char *type,
		    unsigned long flags, const char *data, struct diyc_error *err)
{
	_cleanup_close_ int fd = mount_target_in_root(rootfd, target, file);
	if (fd < 0)
		return diyc_error(err, -fd, "mount target `%s` in the container", target);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (mount(src, proc, type, flags, data) < 0)
		return diyc_error(err, errno, "mount %s on `%s` in the container", type ? type : src, target);
	return 0;
}

int mount_set_attr(int rootfd, const char *target, uint64_t attrs, bool recursive, struct diyc_error *err)
{
	_cleanup_close_ int fd = mount_open_in_root(rootfd, target, O_PATH);
	if (fd < 0)
		return diyc_error(err, -fd, "`%s` in the container", target);
	struct mount_attr attr = { .attr_set = attrs };
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
		    sizeof(attr)) < 0)
		return attrs == MOUNT_ATTR_RDONLY ? diyc_error(err, errno, "make `%s` read-only", target)
						  : diyc_error(err, errno, "set the mount attributes of `%s`", target);
	return 0;
}

int mount_set_readonly(int rootfd, const char *target, bool recursive, struct diyc_error *err)
{
	return mount_set_attr(rootfd, target, MOUNT_ATTR_RDONLY, recursive, err);
}
