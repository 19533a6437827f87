/* SPDX-License-Identifier: MIT */
/* mount.c: everything the container sees as its filesystem: private propagation, the
 * overlay root, a fresh /proc, a read-only /sys, a small /dev, the generated /etc
 * files, the volumes, and pivot_root with the old root detached, from a struct
 * rootfs_spec. Mount targets are resolved inside the new root (inroot.c), so symlinks
 * in the image cannot point a mount at the host. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "inroot.h"
#include "mount.h"
#include "overlay.h"
#include "upper.h"
#include "volume.h"
#include "lib/util.h"

int mount_make_private(struct diyc_error *err)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return diyc_error(err, errno, "make mounts private");
	return 0;
}

int mount_fresh_proc(struct diyc_error *err)
{
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return diyc_error(err, errno, "mount a fresh /proc");
	return 0;
}

static const struct {
	const char *name;
	unsigned major, minor;
} devices[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} dev_links[] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" }, { "core", "/proc/kcore" }, { "ptmx", "pts/ptmx" },
};

static bool gid_mapped(const struct userns_plan *u, gid_t gid)
{
	return !u->enabled || idmap_size(&u->gids) > gid;
}

static int setup_dev(int rootfd, const struct rootfs_spec *spec, struct diyc_error *err)
{
	const unsigned long nsx = MS_NOSUID | MS_NOEXEC;
	int r = mount_in_root(rootfd, "/dev", false, "tmpfs", "tmpfs", nsx, "mode=755,size=65536k", err);
	if (r < 0)
		return r;
	_cleanup_close_ int devfd = mount_open_in_root(rootfd, "/dev", O_DIRECTORY | O_RDONLY);
	if (devfd < 0)
		return diyc_error(err, -devfd, "open /dev in the container");
	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		char target[32];
		snprintf(target, sizeof(target), "/dev/%s", devices[i].name);
		if (!spec->userns->enabled) {
			if (mknodat(devfd, devices[i].name, S_IFCHR | 0666,
				    makedev(devices[i].major, devices[i].minor)) < 0)
				return diyc_error(err, errno, "create /dev/%s", devices[i].name);
			fchmodat(devfd, devices[i].name, 0666, 0);
			/* a mount of its own, which keeps dev when /dev becomes nodev below */
			_cleanup_close_ int node = openat(devfd, devices[i].name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			char self[64];
			snprintf(self, sizeof(self), "/proc/self/fd/%d", node);
			if (node < 0 || mount(self, self, NULL, MS_BIND, NULL) < 0)
				return diyc_error(err, errno, "bind /dev/%s", devices[i].name);
			continue;
		}
		/* mknod is not allowed in a user namespace: bind the host's node */
		char src[32];
		snprintf(src, sizeof(src), "/dev/%s", devices[i].name);
		r = mount_in_root(rootfd, target, true, src, NULL, MS_BIND, NULL, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0)
			return diyc_error(err, errno, "create /dev/%s", dev_links[i].name);
	const char *pts_opts = gid_mapped(spec->userns, 5) ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
							   : "newinstance,ptmxmode=0666,mode=0620";
	r = mount_in_root(rootfd, "/dev/pts", false, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, pts_opts, err);
	if (r < 0)
		return r;
	r = mount_in_root(rootfd, "/dev/shm", false, "shm", "tmpfs", nsx | MS_NODEV, "mode=1777,size=65536k", err);
	if (r == 0)
		r = mount_in_root(rootfd, "/dev/mqueue", false, "mqueue", "mqueue", nsx | MS_NODEV, NULL, err);
	/* /dev itself nodev, its nodes being mounts of their own: as root, CAP_MKNOD (in
	 * docker's default set, where a device cgroup keeps it harmless) would otherwise make
	 * a node for the host's disk and open it. The same for every other place the
	 * container can write (rootfs/overlay.c, volumes, tmpfs) */
	if (r == 0)
		r = mount_set_attr(rootfd, "/dev", MOUNT_ATTR_NODEV, false, err);
	return r;
}

/* The container's cgroup, seen through its own cgroup namespace, with its limits (which
 * programs read to size themselves). Only for a container with a cgroup of its own:
 * otherwise the namespace's root is diyc's cgroup, whose tree (other sessions, other
 * containers) is none of the container's business, and /sys/fs/cgroup stays empty.
 * Read-only unless delegated: where the host's cgroup2 has nsdelegate, a cgroup
 * namespace is a delegation boundary and the kernel itself refuses writes to the limits
 * of its root from inside, so the view is writable and the container may make and use
 * cgroups below its own (systemd in a container does); without nsdelegate, writable
 * would let it raise its own limits. */
static int setup_cgroupfs(int rootfd, const struct rootfs_spec *spec, bool host_sys, struct diyc_error *err)
{
	const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	/* the host's /sys brings the host's cgroup mounts along: covered */
	if (!spec->own_cgroup && host_sys)
		return mount_in_root(rootfd, "/sys/fs/cgroup", false, "tmpfs", "tmpfs", flags, "size=0,mode=0555", err);
	if (!spec->own_cgroup)
		return 0;
	return mount_in_root(rootfd, "/sys/fs/cgroup", false, "cgroup2", "cgroup2",
			     spec->cgroup_delegated ? flags & ~MS_RDONLY : flags, NULL, err);
}

static int setup_sys(int rootfd, const struct rootfs_spec *spec, struct diyc_error *err)
{
	const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct diyc_error tmp = { 0 };
	if (mount_in_root(rootfd, "/sys", false, "sysfs", "sysfs", flags, NULL, &tmp) == 0)
		return setup_cgroupfs(rootfd, spec, false, err);
	/* sysfs belongs to the network namespace: a normal user sharing the host's (--net=host)
	 * may not mount one (root may, and gets a fresh one without the host's tracefs, debugfs
	 * and cgroups below it). The host's /sys then, read-only; with what is mounted below
	 * it, as a user namespace may not reveal what those cover: nothing the user could not
	 * read on the host anyway */
	int r = mount_in_root(rootfd, "/sys", false, "/sys", NULL, MS_BIND | MS_REC, NULL, err);
	if (r == 0)
		r = mount_set_readonly(rootfd, "/sys", true, err);
	if (r == 0)
		r = setup_cgroupfs(rootfd, spec, true, err);
	return r;
}

/* What a container must not read or change of the host's kernel through /proc and /sys
 * (the lists docker uses): masked paths are covered (a file by the host's /dev/null, a
 * directory by an empty read-only tmpfs), read-only paths are bound read-only on
 * themselves. The host's /dev/null is taken before pivot_root, never the image's. */
static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* A masked or read-only path, opened without following any symlink, and only inside the
 * proc or sysfs that diyc mounted (nothing of the image's, no volume): -ENOENT when this
 * kernel has no such file. */
static int open_kernel_path(int rootfd, const char *path, struct diyc_error *err)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = openat2_retry(rootfd, path, &how);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0)
		return diyc_error(err, errno, "`%s` in the container", path);
	struct statfs sf;
	bool proc = !strncmp(path, "/proc/", 6);
	if (fstatfs(fd, &sf) < 0 || sf.f_type != (proc ? PROC_SUPER_MAGIC : SYSFS_MAGIC)) {
		close(fd);
		return diyc_error_plain(err, EINVAL, "`%s` in the container is not on the %s diyc mounted (a volume "
					"there?): it cannot be masked", path, proc ? "proc" : "sysfs");
	}
	return fd;
}

/* null: the container's own /dev/null (O_PATH), set up by setup_dev */
static int mask_path(int rootfd, int null, const char *path, struct diyc_error *err)
{
	_cleanup_close_ int fd = open_kernel_path(rootfd, path, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return diyc_error(err, errno, "`%s` in the container", path);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", proc, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555") < 0)
			return diyc_error(err, errno, "mask `%s` in the container", path);
		return 0;
	}
	/* a read-only clone of the null node: through it even root cannot chmod the node */
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
						AT_EMPTY_PATH);
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
	if (tree < 0 || syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 ||
	    syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return diyc_error(err, errno, "mask `%s` in the container", path);
	return 0;
}

static int readonly_path(int rootfd, const char *path, struct diyc_error *err)
{
	_cleanup_close_ int fd = open_kernel_path(rootfd, path, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (mount(proc, proc, NULL, MS_BIND | MS_REC, NULL) < 0)
		return diyc_error(err, errno, "bind `%s` in the container", path);
	return mount_set_readonly(rootfd, path, true, err);
}

static int protect_kernel_files(int rootfd, struct diyc_error *err)
{
	/* the null node diyc made or bound in the container's fresh /dev: never one of the
	 * image's, and (as root) not the host's, which root could otherwise chmod through it */
	_cleanup_close_ int null = mount_open_in_root(rootfd, "/dev/null", O_PATH | O_NOFOLLOW);
	struct stat st;
	if (null < 0 || fstat(null, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return diyc_error_plain(err, EINVAL, "/dev/null in the container is not the null device");
	for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
		int r = mask_path(rootfd, null, masked_paths[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(readonly_paths); i++) {
		int r = readonly_path(rootfd, readonly_paths[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool mounted_by_user(const struct rootfs_spec *spec, const char *target)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (!strcmp(spec->mounts[i].target, target))
			return true;
	return false;
}

/* --read-only: writable tmpfs on /tmp and /run (unless -v or --tmpfs put something
 * there), before the volumes that may lie below them. */
static int readonly_root_tmpfs(int rootfd, const struct rootfs_spec *spec, struct diyc_error *err)
{
	static const struct {
		const char *path, *opts;
	} writable[] = { { "/tmp", "mode=1777" }, { "/run", "mode=755" } };
	for (size_t i = 0; i < ARRAY_SIZE(writable); i++) {
		if (mounted_by_user(spec, writable[i].path))
			continue;
		int r = mount_in_root(rootfd, writable[i].path, false, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV,
				      writable[i].opts, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Then, last, the root's own mount read-only; the mounts on it keep their modes. */
static int readonly_root(int rootfd, struct diyc_error *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	if (syscall(SYS_mount_setattr, rootfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return diyc_error(err, errno, "make the root filesystem read-only");
	return 0;
}

/* /proc, /sys and /dev of the image must be directories (or missing): a symlink there
 * would move diyc's proc, sysfs or /dev somewhere else in the root, out of the way of the
 * masks (a chain /proc -> /dev/x -> /elsewhere, with /dev covered later, left an unmasked
 * proc at /elsewhere), as runc refuses too. */
static int kernel_dirs_check(int rootfd, bool read_only, struct diyc_error *err)
{
	/* with --read-only, also where its tmpfs go: /run -> /proc would cover diyc's proc */
	static const char *const dirs[] = { "proc", "sys", "dev", "tmp", "run" };
	for (size_t i = 0; i < (read_only ? 5 : 3); i++) {
		struct stat st;
		if (fstatat(rootfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return diyc_error(err, errno, "/%s in the image", dirs[i]);
		}
		if (!S_ISDIR(st.st_mode))
			return diyc_error_hint(err, diyc_error_plain(err, EINVAL, "the image's /%s is %s, not a "
								     "directory: refusing to run it", dirs[i],
								     S_ISLNK(st.st_mode) ? "a symlink" : "a file"),
					       DIYC_HINT_ROOTFS_KERNEL_DIRS, NULL);
	}
	return 0;
}

static int setup_hostfiles(int rootfd, const struct rootfs_spec *spec, struct diyc_error *err)
{
	static const char *files[] = { "hostname", "hosts", "resolv.conf" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char src[PATH_MAX], target[64];
		if (snprintf(src, sizeof(src), "%s/%s", spec->hostfiles, files[i]) >= (int)sizeof(src))
			return diyc_error(err, ENAMETOOLONG, "%s", spec->hostfiles);
		snprintf(target, sizeof(target), "/etc/%s", files[i]);
		int r = mount_in_root(rootfd, target, true, src, NULL, MS_BIND, NULL, err);
		/* the container's root may write them: not a set-uid program or a device node */
		if (r == 0)
			r = mount_set_attr(rootfd, target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
					   false, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int rootfs_setup(const struct rootfs_spec *spec, struct diyc_error *err)
{
	int r = mount_make_private(err);
	if (r < 0)
		return r;
	r = upper_limit_setup(&spec->upper_limit, spec->upperdir, spec->workdir, err);
	if (r < 0)
		return r;
	r = upper_limit_overlay(&spec->upper_limit, spec->lowerdirs, spec->upperdir, spec->workdir, spec->rootfs,
				spec->userns->enabled, spec->volatile_upper, err);
	if (r < 0)
		return r;
	diyc_debug("overlay mounted");
	_cleanup_close_ int rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return diyc_error(err, errno, "open the container root `%s`", spec->rootfs);
	r = kernel_dirs_check(rootfd, spec->read_only, err);
	if (r < 0)
		return r;
	r = mount_in_root(rootfd, "/proc", false, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	if (r < 0)
		return r;
	r = setup_sys(rootfd, spec, err);
	if (r < 0)
		return r;
	diyc_debug("proc and sys mounted");
	r = setup_dev(rootfd, spec, err);
	if (r < 0)
		return r;
	diyc_debug("dev mounted");
	r = setup_hostfiles(rootfd, spec, err);
	if (r < 0)
		return r;
	if (spec->read_only && (r = readonly_root_tmpfs(rootfd, spec, err)) < 0)
		return r;
	r = volumes_mount(rootfd, spec->mounts, spec->n_mounts, !spec->privileged, err);
	if (r < 0)
		return r;
	/* after the volumes: none of them can cover what is masked */
	if (!spec->privileged && (r = protect_kernel_files(rootfd, err)) < 0)
		return r;
	if (spec->read_only && (r = readonly_root(rootfd, err)) < 0)
		return r;
	/* pivot_root(".", ".") stacks the old root under the new one; detaching it at once
	 * leaves no path back to the host's tree */
	diyc_debug("etc files mounted");
	if (fchdir(rootfd) < 0)
		return diyc_error(err, errno, "enter the container root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return diyc_error(err, errno, "pivot_root into the container root");
	if (umount2(".", MNT_DETACH) < 0)
		return diyc_error(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return diyc_error(err, errno, "chdir /");
	diyc_debug("pivoted");
	return 0;
}
