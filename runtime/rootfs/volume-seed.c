/* SPDX-License-Identifier: MIT */
/* volume-seed.c: filling an empty volume from the image (docker's copy-up), in the container
 * child, after the overlay root is mounted and before the volume is mounted over it.
 *
 * The volume may be mounted in other running containers meanwhile, whose root can change
 * anything in it, also while the copy runs. So nothing below the volume is ever reached by
 * a path: every file and directory is made with *at() in a directory fd diyc opened itself,
 * with O_EXCL / O_NOFOLLOW / O_DIRECTORY, and changed through its own fd. A directory that
 * was swapped for a symlink after mkdirat() fails to open; a name that exists already
 * (another container filling the same volume at the same moment) ends the copy, leaving
 * the volume to the other, as the first of two docker containers wins. The source, the
 * container's own root, is read the same way (no symlink followed below PATH). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include "inroot.h"
#include "lib/util.h"
#include "volume-seed.h"

/* levels of directories below PATH copied: two fds are open per level */
#define SEED_DEPTH_MAX 200
/* hard-linked files remembered (one fd each) to link their other names */
#define SEED_LINKS_MAX 256

struct seed_link {
	dev_t dev;
	ino_t ino;
	int fd; /* O_PATH of the copy made first */
};

struct seed {
	struct seed_link links[SEED_LINKS_MAX];
	size_t n_links;
	const char *name, *path;
	struct diyc_error *err;
};

static int seed_fail(struct seed *s, int e, const char *what, const char *entry)
{
	return diyc_error(s->err, e, "cannot fill volume `%s` from the image's `%s`: %s `%s`", s->name, s->path, what,
			  entry);
}

/* Owner, mode (after the owner: chown clears set-id bits) and times of st on fd. An owner
 * this user namespace does not map stays the volume's root. */
static int apply_meta(int fd, const struct stat *st)
{
	if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EINVAL)
		return -errno;
	if (fchmod(fd, st->st_mode & 07777) < 0)
		return -errno;
	const struct timespec t[2] = { st->st_atim, st->st_mtim };
	futimens(fd, t);
	return 0;
}

static int copy_data(int in, int out, off_t size)
{
	while (size > 0) {
		ssize_t n = sendfile(out, in, NULL, size > (1 << 30) ? (1 << 30) : (size_t)size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* the file shrank meanwhile */
		size -= n;
	}
	return 0;
}

static struct seed_link *link_find(struct seed *s, const struct stat *st)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i].dev == st->st_dev && s->links[i].ino == st->st_ino)
			return &s->links[i];
	return NULL;
}

/* Another name of a file copied already: linked to its copy through /proc/self/fd (no
 * capability needed, unlike AT_EMPTY_PATH) */
static int link_again(int dst, const char *entry, const struct seed_link *l)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", l->fd);
	return linkat(AT_FDCWD, proc, dst, entry, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

static int copy_file(struct seed *s, int src, int dst, const char *entry, const struct stat *st)
{
	struct seed_link *l = st->st_nlink > 1 ? link_find(s, st) : NULL;
	if (l)
		return link_again(dst, entry, l);
	_cleanup_close_ int in = openat(src, entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat ist;
	if (in < 0 || fstat(in, &ist) < 0)
		return -errno;
	if (!S_ISREG(ist.st_mode))
		return -EAGAIN; /* changed under us: not a file now */
	_cleanup_close_ int out = openat(dst, entry, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	int r = copy_data(in, out, ist.st_size);
	if (r == 0)
		r = apply_meta(out, st);
	if (r == 0 && st->st_nlink > 1 && s->n_links < SEED_LINKS_MAX) {
		int keep = openat(dst, entry, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat kst;
		if (keep >= 0 && fstat(keep, &kst) == 0 && S_ISREG(kst.st_mode))
			s->links[s->n_links++] = (struct seed_link){ st->st_dev, st->st_ino, keep };
		else if (keep >= 0)
			close(keep);
	}
	return r;
}

static int copy_symlink(int src, int dst, const char *entry, const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(src, entry, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (symlinkat(target, dst, entry) < 0)
		return -errno;
	/* on the link itself, never on where it points */
	if (fchownat(dst, entry, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
		return -errno;
	const struct timespec t[2] = { st->st_atim, st->st_mtim };
	utimensat(dst, entry, t, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_fifo(int dst, const char *entry, const struct stat *st)
{
	if (mknodat(dst, entry, S_IFIFO | 0600, 0) < 0)
		return -errno;
	/* opened as O_PATH, checked, and changed through that fd's /proc link */
	_cleanup_close_ int fd = openat(dst, entry, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat fst;
	if (fd < 0 || fstat(fd, &fst) < 0)
		return -errno;
	if (!S_ISFIFO(fst.st_mode))
		return -EEXIST;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (fchownat(fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0 && errno != EINVAL)
		return -errno;
	return chmod(proc, st->st_mode & 07777) < 0 ? -errno : 0;
}

static int copy_dir(struct seed *s, int src, int dst, int depth);

static int copy_subdir(struct seed *s, int src, int dst, const char *entry, const struct stat *st, int depth)
{
	if (depth >= SEED_DEPTH_MAX)
		return -ELOOP;
	if (mkdirat(dst, entry, 0700) < 0)
		return -errno;
	_cleanup_close_ int in = openat(src, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return errno == ENOTDIR || errno == ELOOP ? -EAGAIN : -errno;
	_cleanup_close_ int out = openat(dst, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (out < 0)
		return -errno;
	int r = copy_dir(s, in, out, depth + 1);
	return r < 0 ? r : apply_meta(out, st);
}

/* The mount src's directory is on (statx), 0 when unknown */
static uint64_t mount_id(int dir, const char *entry)
{
	struct statx stx;
	if (statx(dir, entry, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/* here: the mount src is on */
static int copy_entry(struct seed *s, int src, uint64_t here, int dst, const char *entry, int depth)
{
	struct stat st;
	if (fstatat(src, entry, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* what diyc mounted there (the generated /etc files, another volume) is not the image's */
	uint64_t there = mount_id(src, entry);
	if (here && there && here != there) {
		diyc_debug("volume `%s`: `%s` left out (a mount point)", s->name, entry);
		return 0;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: return copy_subdir(s, src, dst, entry, &st, depth);
	case S_IFREG: return copy_file(s, src, dst, entry, &st);
	case S_IFLNK: return copy_symlink(src, dst, entry, &st);
	case S_IFIFO: return copy_fifo(dst, entry, &st);
	}
	/* a device node cannot be made in a user namespace, nor opened in a volume (nodev) */
	diyc_debug("volume `%s`: `%s` left out (a device node or socket)", s->name, entry);
	return 0;
}

static int copy_dir(struct seed *s, int src, int dst, int depth)
{
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd < 0 ? NULL : fdopendir(fd);
	if (!dp) {
		if (fd >= 0)
			close(fd);
		return seed_fail(s, errno, "read", ".");
	}
	int r = 0;
	uint64_t here = mount_id(src, "");
	struct dirent *e;
	while (r == 0 && (e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = copy_entry(s, src, here, dst, e->d_name, depth);
		if (r == -EAGAIN)
			r = 0; /* the image's entry changed under us: left out */
		else if (r < 0 && r != -EEXIST && !s->err->msg[0])
			r = seed_fail(s, -r, "copy", e->d_name);
	}
	closedir(dp);
	return r;
}

static bool dir_empty(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd < 0 ? NULL : fdopendir(fd);
	if (!dp) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(dp)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(dp);
	return empty;
}

int volume_seed(int rootfd, const char *path, int datafd, const char *name, struct diyc_error *err)
{
	_cleanup_close_ int src = mount_open_in_root(rootfd, path, O_RDONLY | O_DIRECTORY);
	if (src == -ENOENT || src == -ENOTDIR)
		return 0; /* nothing there in the image (the mount point is made) */
	if (src < 0)
		return diyc_error(err, -src, "cannot fill volume `%s` from the image's `%s`", name, path);
	_cleanup_close_ int dst = openat(datafd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0)
		return diyc_error(err, errno, "volume `%s`", name);
	if (!dir_empty(dst))
		return 0;
	struct seed s = { .name = name, .path = path, .err = err };
	struct stat st;
	int r = copy_dir(&s, src, dst, 0);
	for (size_t i = 0; i < s.n_links; i++)
		close(s.links[i].fd);
	if (r == -EEXIST) {
		diyc_debug("volume `%s` is being filled by another container: left to it", name);
		return 0;
	}
	if (r == 0 && fstat(src, &st) == 0 && (r = apply_meta(dst, &st)) < 0)
		r = diyc_error(err, -r, "volume `%s`: give it the owner and mode of the image's `%s`", name, path);
	if (r == 0)
		diyc_debug("volume `%s` filled from the image's `%s`", name, path);
	return r;
}
