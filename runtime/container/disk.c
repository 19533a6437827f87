/* SPDX-License-Identifier: MIT */
/* disk.c: a container's disk size (--storage-opt size=). What holds it is chosen once, at
 * run, from the store's filesystem and who runs it (container_disk_choose); it is set up
 * again at each start, measured for inspect, and released with the container (store.c).
 *
 * - project: the upper and work dirs carry a project id with a hard limit (root, on a store
 *   with project quotas). Files stay where they always are.
 * - image: the upper and work dirs live in DATA/containers/NAME/disk.ext4, mounted at each
 *   start in the container's mount namespace only (root elsewhere).
 * - tmpfs: a rootless container that goes at exit gets its upper and work dirs on a tmpfs
 *   of that size, mounted inside its user namespace (rootfs/mount.c).
 * A normal user's persistent container has nothing that truly limits it: refused. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "disk.h"
#include "lib/util.h"

/* The nearest existing directory at or above PATH: the store may not exist yet, and a
 * refused size must not create it. */
static void existing_ancestor(const char *path, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", path);
	struct stat st;
	while (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(out, '/');
		if (!slash || slash == out) {
			snprintf(out, outsz, "/");
			return;
		}
		*slash = '\0';
	}
}

int container_disk_choose(const struct diyc_paths *p, uint64_t size, bool removed_at_exit,
			  enum disk_quota_kind *kind, struct diyc_error *err)
{
	*kind = DISK_QUOTA_NONE;
	if (size == 0)
		return 0;
	char store[PATH_MAX], dir[PATH_MAX];
	snprintf(store, sizeof(store), "%s/containers", p->data);
	existing_ancestor(store, dir, sizeof(dir));
	if (p->rootless && !removed_at_exit)
		return diyc_error_hint(err, diyc_error_plain(err, EPERM,
			"a disk size cannot be held for a normal user's container that stays after it exits: "
			"neither a project quota nor a loop device can be had without root, and diyc does not "
			"pretend with `du`"), DIYC_HINT_STORAGE_SIZE, "");
	int r = disk_size_check_free("--storage-opt size", dir, size, err);
	if (r < 0)
		return r;
	if (p->rootless) {
		*kind = DISK_QUOTA_TMPFS;
		return 0;
	}
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && project_quota_available(fd)) {
		*kind = DISK_QUOTA_PROJECT;
		return 0;
	}
	if (access("/dev/loop-control", F_OK) < 0)
		return diyc_error_plain(err, ENODEV, "a disk size needs project quotas on the store's filesystem (`%s`) "
					"or loop devices, and this machine has neither (no /dev/loop-control)", dir);
	*kind = DISK_QUOTA_IMAGE;
	return 0;
}

int container_disk_open(const struct container *c, const struct container_config *cfg, int *fd,
			struct diyc_error *err)
{
	*fd = -1;
	if (cfg->storage_kind != DISK_QUOTA_IMAGE)
		return 0;
	int r = 0;
	if (faccessat(c->dirfd, DISK_IMAGE_NAME, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return diyc_error(err, errno, "the disk image of container `%s`", c->d.name);
		r = disk_image_create(c->dirfd, DISK_IMAGE_NAME, cfg->storage_size, err);
	}
	if (r < 0)
		return diyc_error_wrap(err, "give container `%s` its disk size", c->d.name);
	r = disk_image_mount(c->dirfd, DISK_IMAGE_NAME, err);
	if (r < 0)
		return diyc_error_wrap(err, "container `%s`", c->d.name);
	*fd = r;
	return 0;
}

int container_disk_prepare(const struct container *c, const struct container_config *cfg, struct diyc_error *err)
{
	if (cfg->storage_kind == DISK_QUOTA_NONE)
		return 0;
	if (cfg->storage_kind != DISK_QUOTA_PROJECT) {
		/* the mount point of the upper dir's own filesystem */
		if (mkdirat(c->dirfd, "upperfs", 0700) < 0 && errno != EEXIST)
			return diyc_error(err, errno, "create the disk mount point of container `%s`", c->d.name);
		return 0;
	}
	uint32_t id = 0;
	if (project_quota_of(c->dirfd, "upper", &id) < 0)
		return diyc_error(err, errno, "read the project id of container `%s`", c->d.name);
	if (id != 0)
		return 0; /* set at the first start, kept on the directories */
	/* DATA, not DATA/containers, whose every entry is a container to `ps` */
	char lockdir[PATH_MAX];
	snprintf(lockdir, sizeof(lockdir), "%s", c->d.data);
	for (int up = 0; up < 2; up++)
		*strrchr(lockdir, '/') = '\0';
	static const char *const dirs[] = { "upper", "work" };
	int r = project_quota_assign(c->dirfd, dirs, 2, cfg->storage_size, lockdir, &id, err);
	if (r < 0)
		return diyc_error_wrap(err, "give container `%s` its disk size", c->d.name);
	diyc_debug("project quota id %u", id);
	return 0;
}

/* Used blocks of the filesystem under the container's root: overlayfs reports its upper
 * dir's filesystem, the tmpfs or ext4 that holds the limit. */
static int usage_while_running(const struct container *c, uint64_t *used)
{
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root/", (int)c->st.pid);
	struct statfs sf;
	if (c->st.status != STATUS_RUNNING || c->st.pid <= 0 || statfs(root, &sf) < 0)
		return -ESRCH;
	*used = (uint64_t)(sf.f_blocks - sf.f_bfree) * (uint64_t)sf.f_bsize;
	return 0;
}

int container_disk_usage(const struct container *c, uint64_t *used, struct diyc_error *err)
{
	const struct container_config *cfg = &c->cfg;
	*used = 0;
	struct stat st;
	uint32_t id = 0;
	uint64_t limit;
	switch (cfg->storage_kind) {
	case DISK_QUOTA_NONE:
		return 0;
	case DISK_QUOTA_PROJECT:
		if (project_quota_of(c->dirfd, "upper", &id) < 0 || id == 0)
			return 0;
		return project_quota_usage(c->dirfd, id, used, &limit, err);
	case DISK_QUOTA_IMAGE:
		if (usage_while_running(c, used) == 0)
			return 0;
		/* stopped: what the image takes on the host's disk */
		if (fstatat(c->dirfd, DISK_IMAGE_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0)
			*used = (uint64_t)st.st_blocks * 512;
		return 0;
	case DISK_QUOTA_TMPFS:
		usage_while_running(c, used);
		return 0;
	}
	return 0;
}

int container_disk_upper(const struct container *c, char *path, size_t size, int *anchor, struct diyc_error *err)
{
	const struct container_config *cfg = &c->cfg;
	bool running = c->st.status == STATUS_RUNNING;
	*anchor = -1;
	switch (cfg->storage_kind) {
	case DISK_QUOTA_NONE:
	case DISK_QUOTA_PROJECT:
		snprintf(path, size, "%s", c->d.upper);
		return 0;
	case DISK_QUOTA_TMPFS:
		return diyc_error_plain(err, EBUSY, "the changes of container `%s` live in a tmpfs inside it, which "
					"only it can see", c->d.name);
	case DISK_QUOTA_IMAGE:
		break;
	}
	/* mounted twice (a second loop device on the same file) an ext4 would be damaged */
	if (running)
		return diyc_error_plain(err, EBUSY, "the changes of container `%s` are on its disk image, mounted "
					"only inside it while it runs: stop it first", c->d.name);
	int fd = disk_image_mount(c->dirfd, DISK_IMAGE_NAME, err);
	if (fd < 0)
		return diyc_error_wrap(err, "container `%s`", c->d.name);
	*anchor = fd;
	snprintf(path, size, "/proc/%d/fd/%d/upper", (int)getpid(), fd);
	return 0;
}
