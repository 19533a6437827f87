/* SPDX-License-Identifier: MIT */
/* rootfs.c: an OCI container's filesystem from its struct oci_spec, built by the container's
 * init in its new mount namespace: the propagation of /, the root bound on itself, the
 * spec's mounts in order, the device nodes and links of /dev, /dev/console; then
 * pivot_root (or MS_MOVE + chroot); then the masked and read-only paths, a read-only root
 * and the root's propagation again. Every path in the root is resolved inside it
 * (rootfs/inroot.c), so a symlink in the rootfs never points a mount at the host.
 *
 * Choices made here, as runc does unless said otherwise:
 * - sysfs without a network namespace of the container's own (EPERM in a user namespace)
 *   becomes an rbind of the host's /sys; mqueue without an IPC namespace of its own a bind of
 *   the host's /dev/mqueue.
 * - cgroup (v1) is mounted as cgroup2; a cgroup mount that fails becomes a bind of the
 *   container's own cgroup on a cgroup2-only host, or is left out with a warning: never an
 *   error of the container.
 * - devpts options with gid= that fail (no gid 5 in a user namespace) are tried without it.
 * - A bind mount's flags need a remount; in a user namespace the flags the source has
 *   locked are kept on EPERM (a flag that is locked on and asked to be off stays an error).
 * - A device node that exists with another type or number is replaced (runc keeps it).
 * - A read-only /dev is made read-only only after its device nodes are made.
 * - linux.rootfsPropagation "unbindable" is private until finish (the host's /sys and
 *   nodes may still need binding); after the root's recursive propagation is set again
 *   there, each mount's own propagation is set again too (runc leaves it overridden). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "rootfs.h"
#include "lib/util.h"
#include "rootfs/inroot.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

/* the per-mount flags a user namespace may find locked on a bind's source */
#define LOCK_FLAGS (MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)
#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME)

static void fd_path(char buf[static 32], int fd)
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* PATH equals WANT, ignoring repeated and trailing slashes. */
static bool path_is(const char *path, const char *want)
{
	for (;;) {
		while (path[0] == '/' && (path[1] == '/' || path[1] == '\0'))
			path++;
		if (*path != *want)
			return false;
		if (!*path)
			return true;
		path++;
		want++;
	}
}

/* PATH is ROOT or below it. */
static bool path_below(const char *path, const char *root)
{
	size_t len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	return !strncmp(path, root, len) && (path[len] == '\0' || path[len] == '/' || len == 1);
}

/* mount(2) on DEST below the root, created when missing (an empty file when FILE).
 * 0 or -errno. */
static int mount_below(int rootfd, const char *dest, bool file, const char *src, const char *type,
		       unsigned long flags, const char *data)
{
	_cleanup_close_ int fd = mount_target_in_root(rootfd, dest, file);
	if (fd < 0)
		return fd;
	char proc[32];
	fd_path(proc, fd);
	return mount(src, proc, type, flags, data) < 0 ? -errno : 0;
}

/* A change of the mount now at DEST (a remount, its propagation): DEST is opened again, so
 * that the change is to the mount just made on top of it. 0 or -errno. */
static int change_mount(int rootfd, const char *dest, unsigned long flags)
{
	_cleanup_close_ int fd = mount_open_in_root(rootfd, dest, O_PATH);
	if (fd < 0)
		return fd;
	char proc[32];
	fd_path(proc, fd);
	return mount(NULL, proc, NULL, flags, NULL) < 0 ? -errno : 0;
}

/* mount_setattr on the tree at DEST: mount_set_attr (inroot.h) cannot clear. */
static int setattr_below(int rootfd, const char *dest, uint64_t set, uint64_t clr)
{
	_cleanup_close_ int fd = mount_open_in_root(rootfd, dest, O_PATH);
	if (fd < 0)
		return fd;
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return -errno;
	return 0;
}

static uint64_t ms_to_attr(unsigned long flags)
{
	return (flags & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) | (flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
	       (flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
}

/* The flags of a mount that mount(2) takes besides the kind of mount. */
static unsigned long mount_flags(const struct oci_mount *m)
{
	return m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
}

/* A bind's flags, applied by a remount. A user namespace may not clear the flags the
 * source has locked: on EPERM they are taken over, unless asked off. */
static int bind_remount(int rootfd, const struct oci_mount *m, int srcfd, unsigned long flags)
{
	unsigned long want = MS_BIND | MS_REMOUNT | flags;
	int r = change_mount(rootfd, m->destination, want);
	struct statfs sf;
	if (r != -EPERM || fstatfs(srcfd, &sf) < 0)
		return r;
	unsigned long locked = sf.f_flags & LOCK_FLAGS;
	if (locked & m->clear & (MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID))
		return r;
	/* an atime flag asked for replaces the source's */
	if (flags & ATIME_FLAGS)
		locked &= ~ATIME_FLAGS;
	return change_mount(rootfd, m->destination, want | locked);
}

static int mount_bind(int rootfd, const struct oci_mount *m, struct diyc_error *err)
{
	if (!m->source)
		return diyc_error_plain(err, EINVAL, "mount on %s: a bind mount needs a source", m->destination);
	/* the host object is opened once: the file-or-directory choice and the mount are about
	 * the same object */
	_cleanup_close_ int src = open(m->source, O_PATH | O_CLOEXEC);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0)
		return diyc_error(err, errno, "mount %s on %s", m->source, m->destination);
	char proc[32];
	fd_path(proc, src);
	int r = mount_below(rootfd, m->destination, !S_ISDIR(st.st_mode), proc, NULL, MS_BIND | (m->flags & MS_REC),
			    NULL);
	if (r < 0)
		return diyc_error(err, -r, "mount %s on %s", m->source, m->destination);
	unsigned long flags = mount_flags(m);
	if ((flags || m->clear) && (r = bind_remount(rootfd, m, src, flags)) < 0)
		return diyc_error(err, -r, "remount %s on %s with its options", m->source, m->destination);
	return 0;
}

/* The host's HOST (/sys, /dev/mqueue) bound at DEST instead of a filesystem of the
 * container's own, with FLAGS on every mount of it. 0 or -errno. */
static int bind_host(int rootfd, const char *dest, const char *host, unsigned long flags)
{
	int r = mount_below(rootfd, dest, false, host, NULL, MS_BIND | MS_REC, NULL);
	if (r == 0 && ms_to_attr(flags))
		r = setattr_below(rootfd, dest, ms_to_attr(flags), 0);
	return r;
}

/* proc and sysfs go on a real directory: through a symlink they would land elsewhere in
 * the root, out of the way of the masked paths (runc refuses this too). */
static int check_kernel_dir(int rootfd, const struct oci_mount *m, struct diyc_error *err)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = openat2_retry(rootfd, m->destination, &how);
	if (fd < 0 && errno == ENOENT)
		return 0;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return diyc_error(err, errno, "mount %s on %s", m->type, m->destination);
	if (!S_ISDIR(st.st_mode))
		return diyc_error_plain(err, ENOTDIR, "mount %s on %s: it is %s in the root filesystem, not a "
					"directory", m->type, m->destination, S_ISLNK(st.st_mode) ? "a symlink" : "a file");
	return 0;
}

/* The container's own cgroup on a cgroup2-only host ("0::/PATH" of /proc/self/cgroup), for
 * a user namespace that may not mount cgroup2 (no cgroup namespace of its own). */
static int bind_own_cgroup(int rootfd, const char *dest, unsigned long flags)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		_cleanup_free_ char *host = xasprintf("/sys/fs/cgroup%s", line + 3);
		return host ? bind_host(rootfd, dest, host, flags) : -ENOMEM;
	}
	return -ENOENT;
}

/* cgroup (v1) and cgroup2: cgroup2 either way. 0 mounted, 1 left out (a warning). */
static int mount_cgroup(int rootfd, const struct oci_mount *m, unsigned long flags)
{
	bool v1 = !strcmp(m->type, "cgroup");
	const char *src = m->source ? m->source : m->type;
	/* v1 options name controllers, which cgroup2 does not take */
	int r = mount_below(rootfd, m->destination, false, src, "cgroup2", flags, v1 ? NULL : m->data);
	if (r == 0)
		return 0;
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC &&
	    bind_own_cgroup(rootfd, m->destination, flags) == 0)
		return 0;
	diyc_warn("mount %s on %s: %s: left out", m->type, m->destination, strerror(-r));
	return 1;
}

/* DATA without its gid= option (malloc'd; NULL when out of memory). */
static char *drop_gid(const char *data)
{
	char *out = malloc(strlen(data) + 1);
	if (!out)
		return NULL;
	out[0] = '\0';
	_cleanup_free_ char *copy = strdup(data);
	char *rest = copy;
	for (char *o; copy && (o = strsep(&rest, ","));) {
		if (str_has_prefix(o, "gid=") || !*o)
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, o);
	}
	if (!copy) {
		free(out);
		return NULL;
	}
	return out;
}

/* A filesystem of its own (not a bind). 0 mounted, 1 left out. */
static int mount_filesystem(int rootfd, const struct oci_mount *m, bool dev, struct diyc_error *err)
{
	const char *type = m->type, *dest = m->destination;
	if (!type)
		return diyc_error_plain(err, EINVAL, "mount on %s: no type, and not a bind mount", dest);
	unsigned long flags = mount_flags(m);
	/* read-only after its device nodes are made (oci_rootfs_prepare) */
	if (dev)
		flags &= ~MS_RDONLY;
	if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2"))
		return mount_cgroup(rootfd, m, flags);
	bool kernel = !strcmp(type, "proc") || !strcmp(type, "sysfs");
	int r = kernel ? check_kernel_dir(rootfd, m, err) : 0;
	if (r < 0)
		return r;
	const char *src = m->source ? m->source : type;
	r = mount_below(rootfd, dest, false, src, type, flags, m->data);
	if (r == -EPERM && !strcmp(type, "sysfs") && bind_host(rootfd, dest, "/sys", flags) == 0)
		r = 0;
	else if (r == -EPERM && !strcmp(type, "mqueue") && bind_host(rootfd, dest, "/dev/mqueue", flags) == 0)
		r = 0;
	else if (r < 0 && !strcmp(type, "devpts") && m->data && strstr(m->data, "gid=")) {
		_cleanup_free_ char *data = drop_gid(m->data);
		if (!data)
			return diyc_error(err, ENOMEM, "mount devpts on %s", dest);
		if (mount_below(rootfd, dest, false, src, type, flags, data) == 0)
			r = 0;
	}
	if (r < 0)
		return diyc_error(err, -r, "mount %s on %s", type, dest);
	return 0;
}

static int mount_entry(int rootfd, const struct oci_mount *m, struct diyc_error *err)
{
	if (!m->destination || m->destination[0] != '/')
		return diyc_error_plain(err, EINVAL, "mount on `%s`: the destination is not absolute",
					m->destination ? m->destination : "");
	bool dev = path_is(m->destination, "/dev");
	int r = m->bind ? mount_bind(rootfd, m, err) : mount_filesystem(rootfd, m, dev, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (m->propagation && (r = change_mount(rootfd, m->destination, m->propagation)) < 0)
		return diyc_error(err, -r, "set the propagation of %s", m->destination);
	if ((m->attr_set || m->attr_clr) && (r = setattr_below(rootfd, m->destination, m->attr_set, m->attr_clr)) < 0)
		return diyc_error(err, -r, "set the recursive mount options of %s", m->destination);
	return 0;
}

/* A device node to make below the root. */
struct dev_node {
	const char *path;
	char type;             /* 'c', 'b' or 'p' */
	unsigned major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static const struct dev_node default_devices[] = {
	{ "/dev/null", 'c', 1, 3, 0666, 0, 0 },    { "/dev/zero", 'c', 1, 5, 0666, 0, 0 },
	{ "/dev/full", 'c', 1, 7, 0666, 0, 0 },    { "/dev/random", 'c', 1, 8, 0666, 0, 0 },
	{ "/dev/urandom", 'c', 1, 9, 0666, 0, 0 }, { "/dev/tty", 'c', 5, 0, 0666, 0, 0 },
};

/* mknod NAME in DIRFD with D's mode and owner; what is there already is replaced unless it
 * is the same node. 0 or -errno. */
static int make_node(int dirfd, const char *name, const struct dev_node *d)
{
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	dev_t dev = d->type == 'p' ? 0 : makedev(d->major, d->minor);
	for (int tries = 0;; tries++) {
		if (mknodat(dirfd, name, type | (d->mode & 07777), dev) == 0)
			break;
		struct stat st;
		if (errno != EEXIST || tries > 0 || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if ((st.st_mode & S_IFMT) == type && (type == S_IFIFO || st.st_rdev == dev))
			break;
		if (unlinkat(dirfd, name, 0) < 0)
			return -errno;
	}
	/* the node is no symlink: made or checked just above */
	if (fchmodat(dirfd, name, d->mode & 07777, 0) < 0 || fchownat(dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* D in the root: made with mknod, or in a user namespace (or where mknod is not allowed)
 * the host's node of the same path bound on an empty file. A FIFO is always made. */
static int make_device(int rootfd, const struct dev_node *d, bool in_userns, struct diyc_error *err)
{
	const char *slash = strrchr(d->path, '/');
	if (d->path[0] != '/' || !slash[1])
		return diyc_error_plain(err, EINVAL, "device `%s`: not an absolute path of a file", d->path);
	_cleanup_free_ char *dir = strndup(d->path, slash == d->path ? 1 : (size_t)(slash - d->path));
	if (!dir)
		return diyc_error(err, ENOMEM, "create %s", d->path);
	_cleanup_close_ int dirfd = mount_target_in_root(rootfd, dir, false);
	if (dirfd < 0)
		return diyc_error(err, -dirfd, "create %s", d->path);
	int r = -EPERM;
	if (!in_userns || d->type == 'p')
		r = make_node(dirfd, slash + 1, d);
	if (r == -EPERM && d->type != 'p') {
		r = mount_below(rootfd, d->path, true, d->path, NULL, MS_BIND, NULL);
		if (r < 0)
			return diyc_error(err, -r, "bind the host's %s on %s", d->path, d->path);
	}
	if (r < 0)
		return diyc_error(err, -r, "create %s", d->path);
	return 0;
}

static bool spec_has_device(const struct oci_spec *spec, const char *path)
{
	for (size_t i = 0; i < spec->n_devices; i++)
		if (path_is(spec->devices[i].path, path))
			return true;
	return false;
}

static int dev_links(int rootfd, struct diyc_error *err)
{
	static const struct {
		const char *name, *target;
	} links[] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
	};
	_cleanup_close_ int dev = mount_target_in_root(rootfd, "/dev", false);
	if (dev < 0)
		return diyc_error(err, -dev, "open /dev in the container");
	/* ptmx must lead to the container's devpts: whatever the image has there goes */
	if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
		return diyc_error(err, errno, "remove /dev/ptmx");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
			return diyc_error(err, errno, "create /dev/%s", links[i].name);
	return 0;
}

/* The default nodes (unless spec->devices has the same path), the links, spec->devices. */
static int setup_devices(int rootfd, const struct oci_spec *spec, bool in_userns, struct diyc_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		if (spec_has_device(spec, default_devices[i].path))
			continue;
		int r = make_device(rootfd, &default_devices[i], in_userns, err);
		if (r < 0)
			return r;
	}
	int r = dev_links(rootfd, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct oci_device *o = &spec->devices[i];
		struct dev_node d = {
			.path = o->path,
			.type = o->type == 'u' ? 'c' : o->type,
			.major = (unsigned)o->major,
			.minor = (unsigned)o->minor,
			.mode = o->has_mode ? o->mode : 0666,
			.uid = o->has_uid ? o->uid : 0,
			.gid = o->has_gid ? o->gid : 0,
		};
		if (!o->path || (r = make_device(rootfd, &d, in_userns, err)) < 0)
			return o->path ? r : diyc_error_plain(err, EINVAL, "a device without a path");
	}
	return 0;
}

/* pivot_root refuses a new root whose parent mount is shared, and a bind on a shared mount
 * would show on the host: the mount that holds the root becomes private (as runc does).
 * Found by walking up to the first mount root. */
static int root_parent_private(const char *root, struct diyc_error *err)
{
	_cleanup_close_ int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return diyc_error(err, errno, "open the root %s", root);
	for (int depth = 0; depth < PATH_MAX / 2; depth++) {
		struct statx stx;
		if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx) < 0)
			return diyc_error(err, errno, "the root %s", root);
		if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
			return 0; /* an old kernel: no way to tell, runc's mountinfo walk would do */
		if (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) {
			char proc[32];
			fd_path(proc, fd);
			if (mount(NULL, proc, NULL, MS_PRIVATE, NULL) < 0)
				return diyc_error(err, errno, "make the mount holding the root %s private", root);
			return 0;
		}
		int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			return diyc_error(err, errno, "the root %s", root);
		close(fd);
		fd = up;
	}
	return diyc_error_plain(err, ELOOP, "the root %s: no mount above it", root);
}

int oci_rootfs_bind_root(const struct oci_spec *spec, int *rootfd, struct diyc_error *err)
{
	if (!spec->root_path || spec->root_path[0] != '/')
		return diyc_error_plain(err, EINVAL, "the root path is not absolute");
	unsigned long prop = spec->rootfs_propagation ? spec->rootfs_propagation : MS_REC | MS_PRIVATE;
	/* unbindable only at the end (oci_rootfs_finish): the host's /sys and device nodes
	 * are still to be bound from it */
	if (prop & MS_UNBINDABLE)
		prop = (prop & MS_REC) | MS_PRIVATE;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return diyc_error(err, errno, "set the propagation of /");
	int r = root_parent_private(spec->root_path, err);
	if (r < 0)
		return r;
	/* a mount of its own: pivot_root wants one, and the root's mounts stay in it */
	if (mount(spec->root_path, spec->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return diyc_error(err, errno, "bind the root %s on itself", spec->root_path);
	*rootfd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0)
		return diyc_error(err, errno, "open the root %s", spec->root_path);
	return 0;
}

int oci_rootfs_prepare(const struct oci_spec *spec, const struct oci_rootfs_opts *opts, int root,
		       struct diyc_error *err)
{
	int r;
	bool dev_bind = false, dev_ro = false;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		if ((r = mount_entry(root, m, err)) < 0)
			return r;
		if (path_is(m->destination, "/dev")) {
			dev_bind = m->bind;
			dev_ro = !m->bind && (m->flags & MS_RDONLY);
		}
	}
	diyc_debug("the spec's mounts are mounted");
	/* the host's /dev bound there already has its nodes (runc leaves it alone too) */
	if (!dev_bind && (r = setup_devices(root, spec, opts->in_userns, err)) < 0)
		return r;
	if (opts->console_slave >= 0) {
		char proc[32];
		fd_path(proc, opts->console_slave);
		r = mount_below(root, "/dev/console", true, proc, NULL, MS_BIND, NULL);
		if (r < 0)
			return diyc_error(err, -r, "bind the terminal on /dev/console");
	}
	if (dev_ro && (r = mount_set_readonly(root, "/dev", false, err)) < 0)
		return r;
	return 0;
}

/* Unescapes a mountinfo field (\040 for a space) in place. */
static void mountinfo_unescape(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* The proc and sysfs mounts outside ROOT, which stay reachable after a chroot: the
 * kernel refuses a new proc or sysfs mount in the container while it sees one it could
 * not mount itself. */
static char **host_kernel_mounts(const char *root)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, n = 0;
	char **points = calloc(1, sizeof(char *));
	while (f && points && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - "), mp[PATH_MAX], fstype[32];
		if (!sep || sscanf(sep + 3, "%31s", fstype) != 1 || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		mountinfo_unescape(mp);
		if ((!strcmp(fstype, "proc") || !strcmp(fstype, "sysfs")) && !path_below(mp, root) &&
		    strv_push(&points, &n, strdup(mp)) < 0) {
			strv_free(points);
			return NULL;
		}
	}
	return points;
}

/* --no-pivot: the host's proc and sysfs detached (or covered where that is not allowed),
 * each made a slave first so that nothing reaches the host; the root moved on / and
 * chroot into it. cwd is the root. */
static int move_root(const char *root, struct diyc_error *err)
{
	_cleanup_free_ char *real = realpath(root, NULL);
	_cleanup_strv_ char **points = real ? host_kernel_mounts(real) : NULL;
	if (!points)
		return diyc_error(err, real ? ENOMEM : errno, "the host's mounts");
	for (char **p = points; *p; p++) {
		if (mount(NULL, *p, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
			if (errno == ENOENT) /* below one detached already */
				continue;
			return diyc_error(err, errno, "make the host's %s a slave", *p);
		}
		if (umount2(*p, MNT_DETACH) == 0)
			continue;
		if ((errno != EINVAL && errno != EPERM) || mount("tmpfs", *p, "tmpfs", 0, NULL) < 0)
			return diyc_error(err, errno, "hide the host's %s", *p);
	}
	if (mount(real, "/", NULL, MS_MOVE, NULL) < 0)
		return diyc_error(err, errno, "move the root %s on /", root);
	if (chroot(".") < 0)
		return diyc_error(err, errno, "chroot into %s", root);
	return 0;
}

int oci_rootfs_pivot(const struct oci_spec *spec, const struct oci_rootfs_opts *opts, int rootfd,
		     struct diyc_error *err)
{
	char proc[32];
	fd_path(proc, rootfd);
	/* through the fd: the mapped root of a user namespace may not search the bundle's path */
	_cleanup_close_ int newroot = open(proc, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (newroot < 0 || oldroot < 0)
		return diyc_error(err, errno, "open the root %s", spec->root_path);
	if (fchdir(newroot) < 0)
		return diyc_error(err, errno, "enter the root %s", spec->root_path);
	if (opts->no_pivot) {
		int r = move_root(spec->root_path, err);
		if (r < 0)
			return r;
	} else {
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return diyc_error(err, errno, "pivot_root into %s", spec->root_path);
		/* the old root is stacked on the new one; a slave first, so that detaching it
		 * (and what lies below) reaches no peer on the host */
		if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			return diyc_error(err, errno, "make the old root a slave");
		if (umount2(".", MNT_DETACH) < 0)
			return diyc_error(err, errno, "detach the old root");
	}
	if (chdir("/") < 0)
		return diyc_error(err, errno, "chdir /");
	return 0;
}

/* A read-only, empty tmpfs, detached: to mask a directory. fd or -errno. */
static int empty_tmpfs(void)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	return m < 0 ? -errno : m;
}

/* A detached clone of the tree at FD, with ATTRS on every mount of it. fd or -errno. */
static int clone_tree(int fd, bool recursive, uint64_t attrs)
{
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
						AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0));
	struct mount_attr attr = { .attr_set = attrs };
	if (tree < 0 || syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return -errno;
	return steal_fd(&tree);
}

static int attach(int tree, int target)
{
	if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/* PATH in the container as an O_PATH fd; -ENOENT also when a parent is no directory. */
static int open_kernel_path(int rootfd, const char *path)
{
	int fd = mount_open_in_root(rootfd, path, O_PATH);
	return fd == -ENOTDIR ? -ENOENT : fd;
}

/* The container's /dev/null, which masks files: it must be the null device, not a file
 * of the image's that the container could write. */
static int open_null(int rootfd, struct diyc_error *err)
{
	int fd = mount_open_in_root(rootfd, "/dev/null", O_PATH);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		return fd;
	if (fd >= 0)
		close(fd);
	return diyc_error_plain(err, EINVAL, "/dev/null in the container is not the null device: cannot mask files");
}

/* A directory gets an empty read-only tmpfs, anything else a read-only /dev/null. */
static int mask_path(int rootfd, int *null, const char *path, struct diyc_error *err)
{
	_cleanup_close_ int fd = open_kernel_path(rootfd, path);
	if (fd == -ENOENT)
		return 0;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return diyc_error(err, fd < 0 ? -fd : errno, "mask %s", path);
	if (!S_ISDIR(st.st_mode) && *null < 0 && (*null = open_null(rootfd, err)) < 0)
		return *null;
	_cleanup_close_ int tree = S_ISDIR(st.st_mode) ? empty_tmpfs()
			: clone_tree(*null, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	int r = tree < 0 ? tree : attach(tree, fd);
	if (r < 0)
		return diyc_error(err, -r, "mask %s", path);
	return 0;
}

/* Bound on itself read-only, with every mount below it (clearing no locked flag). */
static int readonly_path(int rootfd, const char *path, struct diyc_error *err)
{
	_cleanup_close_ int fd = open_kernel_path(rootfd, path);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return diyc_error(err, -fd, "make %s read-only", path);
	_cleanup_close_ int tree = clone_tree(fd, true, MOUNT_ATTR_RDONLY);
	int r = tree < 0 ? tree : attach(tree, fd);
	if (r < 0)
		return diyc_error(err, -r, "make %s read-only", path);
	return 0;
}

/* The root mount is a new one since prepare: linux.rootfsPropagation is set on it again
 * (runc does too), then the mounts' own propagation again, which a recursive one of the
 * root's overrode. A mount left out (cgroup) is no mount root: a warning. */
static int root_propagation(int rootfd, const struct oci_spec *spec, struct diyc_error *err)
{
	if (!spec->rootfs_propagation)
		return 0;
	if (mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
		return diyc_error(err, errno, "set the propagation of /");
	if (!(spec->rootfs_propagation & MS_REC))
		return 0;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		int r = m->propagation ? change_mount(rootfd, m->destination, m->propagation) : 0;
		if (r < 0)
			diyc_warn("set the propagation of %s again: %s", m->destination, strerror(-r));
	}
	return 0;
}

int oci_rootfs_finish(const struct oci_spec *spec, struct diyc_error *err)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int null = -1;
	if (root < 0)
		return diyc_error(err, errno, "open /");
	int r;
	for (char **p = spec->masked_paths; p && *p; p++)
		if ((r = mask_path(root, &null, *p, err)) < 0)
			return r;
	for (char **p = spec->readonly_paths; p && *p; p++)
		if ((r = readonly_path(root, *p, err)) < 0)
			return r;
	if (spec->root_readonly && (r = mount_set_readonly(root, "/", false, err)) < 0)
		return r;
	return root_propagation(root, spec, err);
}
