/* SPDX-License-Identifier: MIT */
/* du.c: the disk space a directory tree takes, as du(1) counts it: the blocks allocated to
 * every entry from the top directory down (st_blocks, 512-byte units), a file with several
 * hard links once per tree, symbolic links never followed.
 *
 * A rootless store holds trees of subordinate ids the user cannot read (a directory of
 * uid 1000 in the container, mode 0700, is uid 100999 outside). A tree the walk cannot
 * read as the caller is walked again inside a user namespace with the caller's maps, where
 * those ids are mapped and its root may read them (userns_run, as remove_tree does): all
 * such trees in one child, whose figures come back through a shared mapping.
 *
 * The trees may be written while they are measured (a running container's upper dir, a
 * volume in use). Every directory is opened relative to its parent, without following a
 * link, and checked to be the directory the listing saw: a directory swapped for a link
 * meanwhile is never followed out of the tree. What vanishes during the walk is not
 * counted, as du would not count it a moment later. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "du.h"
#include "util.h"

/* (device, inode) of the files with several links counted so far, open addressing */
struct inode_set {
	struct inode_key {
		dev_t dev;
		ino_t ino;
	} *slot;
	size_t cap, n;
};

static size_t inode_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev * 0xff51afd7ed558ccdULL;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static int inode_grow(struct inode_set *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256;
	struct inode_key *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slot[i].ino)
			continue;
		size_t h = inode_hash(s->slot[i].dev, s->slot[i].ino, cap);
		while (slot[h].ino)
			h = (h + 1) & (cap - 1);
		slot[h] = s->slot[i];
	}
	free(s->slot);
	s->slot = slot;
	s->cap = cap;
	return 0;
}

/* 1: seen before; 0: new (now recorded); negative errno. Inode 0 does not occur on Linux's
 * disk filesystems, so it marks a free slot. */
static int inode_seen(struct inode_set *s, dev_t dev, ino_t ino)
{
	if ((s->n + 1) * 2 > s->cap && inode_grow(s) < 0)
		return -ENOMEM;
	size_t h = inode_hash(dev, ino, s->cap);
	for (; s->slot[h].ino; h = (h + 1) & (s->cap - 1))
		if (s->slot[h].ino == ino && s->slot[h].dev == dev)
			return 1;
	s->slot[h] = (struct inode_key){ dev, ino };
	s->n++;
	return 0;
}

struct walk {
	struct inode_set seen;
	uint64_t bytes;
	unsigned depth, max_depth;
};

static int count(struct walk *w, const struct stat *st)
{
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
		int r = inode_seen(&w->seen, st->st_dev, st->st_ino);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	w->bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

struct subdir {
	char *name;
	dev_t dev;
	ino_t ino;
};

/* Counts the entries of the directory d (not d itself) and lists its subdirectories. */
static int list_dir(struct walk *w, DIR *d, struct subdir **subs, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* removed since the listing */
			return -errno;
		}
		int r = count(w, &st);
		if (r < 0)
			return r;
		if (!S_ISDIR(st.st_mode))
			continue;
		if (*n == cap) {
			struct subdir *m = realloc(*subs, (cap = cap ? cap * 2 : 16) * sizeof(**subs));
			if (!m)
				return -ENOMEM;
			*subs = m;
		}
		if (!((*subs)[*n].name = strdup(de->d_name)))
			return -ENOMEM;
		(*subs)[*n].dev = st.st_dev;
		(*subs)[(*n)++].ino = st.st_ino;
		errno = 0;
	}
	return errno ? -errno : 0;
}

/* Walks the directory dfd (which it closes), not counting dfd itself. */
static int walk_dir(struct walk *w, int dfd)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return -e;
	}
	struct subdir *subs = NULL;
	size_t n = 0;
	int r = list_dir(w, d, &subs, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		int cfd = openat(dirfd(d), subs[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			/* gone, or replaced by a link or a file since the listing: not followed */
			if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
				r = -errno;
			continue;
		}
		struct stat st;
		if (fstat(cfd, &st) < 0 || st.st_dev != subs[i].dev || st.st_ino != subs[i].ino) {
			close(cfd); /* another directory than the one counted: left out */
			continue;
		}
		if (w->depth >= w->max_depth) {
			close(cfd);
			r = -ELOOP;
			break;
		}
		w->depth++;
		r = walk_dir(w, cfd);
		w->depth--;
	}
	for (size_t i = 0; i < n; i++)
		free(subs[i].name);
	free(subs);
	closedir(d);
	return r;
}

/* The bytes of the tree whose O_PATH fd is top: its own blocks and everything below. */
static int measure(int top, unsigned max_depth, uint64_t *bytes)
{
	struct walk w = { .max_depth = max_depth };
	int dfd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	struct stat st;
	/* a directory removed after the caller opened it has no links left: it is gone */
	int r = fstat(dfd, &st) < 0 ? -errno : st.st_nlink == 0 ? -ENOENT : count(&w, &st);
	if (r == 0)
		r = walk_dir(&w, dfd);
	else
		close(dfd);
	free(w.seen.slot);
	*bytes = w.bytes;
	return r;
}

/* A walk holds one descriptor per level: as deep as the descriptor limit allows, raised to
 * its hard limit (a tree deeper than that is reported, never guessed). */
static unsigned depth_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 512;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t lim = rl.rlim_cur > 1 << 20 ? 1 << 20 : rl.rlim_cur;
	return lim > 128 ? (unsigned)(lim - 64) : 64;
}

static bool denied(int r)
{
	return r == -EACCES || r == -EPERM;
}

struct retry {
	struct du_tree *trees;
	size_t n;
	unsigned max_depth;
	struct du_result {
		uint64_t bytes;
		int error;
	} *out; /* shared with the parent */
};

static int measure_in_userns(void *arg, struct diyc_error *err)
{
	struct retry *r = arg;
	for (size_t i = 0; i < r->n; i++)
		if (denied(r->trees[i].error))
			r->out[i].error = measure(r->trees[i].fd, r->max_depth, &r->out[i].bytes);
	return 0;
}

int du_trees(const struct userns_plan *plan, struct du_tree *trees, size_t n, struct diyc_error *err)
{
	unsigned max_depth = depth_limit();
	size_t again = 0;
	for (size_t i = 0; i < n; i++) {
		trees[i].bytes = 0;
		trees[i].error = trees[i].fd < 0 ? 0 : measure(trees[i].fd, max_depth, &trees[i].bytes);
		if (denied(trees[i].error))
			again++;
	}
	if (!again || !plan || !plan->enabled)
		return 0;
	struct retry r = { trees, n, max_depth, NULL };
	size_t len = n * sizeof(*r.out);
	r.out = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.out == MAP_FAILED)
		return diyc_error(err, errno, "map the results of measuring the store");
	for (size_t i = 0; i < n; i++)
		r.out[i].error = trees[i].error;
	int ret = userns_run(plan, 0, measure_in_userns, &r, err);
	for (size_t i = 0; ret == 0 && i < n; i++)
		if (denied(trees[i].error)) {
			trees[i].bytes = r.out[i].bytes;
			trees[i].error = r.out[i].error;
		}
	munmap(r.out, len);
	if (ret < 0)
		diyc_error_wrap(err, "measure the files of subordinate ids in the store");
	return ret;
}

int du_open(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
