/* SPDX-License-Identifier: MIT */
/* layer.c: extracting a layer (a tar stream, from a file, stdin or a directory) into
 * the store, content-addressed by the sha256 of its uncompressed tar (its diff_id).
 *
 * Extraction runs inside a user namespace with the caller's subordinate range, so
 * files owned by other ids keep their owners (mapped), with libarchive's secure flags:
 * no `..`, no absolute paths, nothing written through a symlink. The layers of image
 * formats carry whiteouts: `.wh.NAME` becomes the 0/0 character device overlayfs
 * reads as "deleted" (which an unprivileged user may create), `.wh..wh..opq` the
 * opaque-directory xattr (user.overlay.opaque when rootless, as overlay's userxattr
 * mount option reads it). Overlay's own xattrs in a layer (`user.overlay.*`,
 * `trusted.overlay.*`: metacopy, redirect, origin, opaque...) are dropped: overlay would
 * honour them, and only what diyc derives from `.wh.` entries may mark a file. A failed
 * import leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "archive-dl.h"
#include "digest.h"
#include "image.h"
#include "layer.h"
#include "tarsplit.h"
#include "lib/child.h"
#include "lib/util.h"

/* The uncompressed tar stream, pulled from the raw reader, hashed (the layer's
 * diff_id), counted against the import's size limit and recorded (image/tarsplit.c) on the
 * way. */
struct tar_feed {
	const struct archive_lib *A;
	struct archive *raw;
	struct sha256 hash;
	struct tarsplit *split;
	uint64_t total, max;   /* bytes so far; the limit, 0 for none */
	bool too_big;
	char buf[1 << 16];
};

static la_ssize_t feed_take(struct tar_feed *f)
{
	la_ssize_t n = f->A->archive_read_data(f->raw, f->buf, sizeof(f->buf));
	if (n <= 0)
		return n;
	sha256_add(&f->hash, f->buf, n);
	tarsplit_take(f->split, f->total, f->buf, n);
	f->total += n;
	if (f->max && f->total > f->max) {
		f->too_big = true;
		return -1;
	}
	return n;
}

static la_ssize_t feed_read(struct archive *a, void *arg, const void **buf)
{
	(void)a;
	struct tar_feed *f = arg;
	la_ssize_t n = feed_take(f);
	*buf = f->buf;
	return n < 0 ? -1 : n;
}

static int feed_drain(struct tar_feed *f, const char *src, struct diyc_error *err)
{
	la_ssize_t n;
	while ((n = feed_take(f)) > 0)
		;
	if (n < 0 && f->too_big)
		return -EFBIG;
	if (n < 0)
		return diyc_error_plain(err, EIO, "read `%s`: %s", src, f->A->archive_error_string(f->raw));
	return 0;
}

/* Whiteouts are applied after the layer's files: a `.wh.` entry may come before the
 * directory it is in. */
struct whiteouts {
	char **paths;   /* the path the whiteout stands for; for opaque dirs the directory */
	bool *opaque;
	size_t n;
};

/* 1 when NAME is a whiteout (noted), 0 when it is a file, or a negative errno. */
static int whiteout_note(struct whiteouts *w, const char *name)
{
	if (!name)
		return 0;
	/* "./a/b" is "a/b" */
	while (name[0] == '.' && name[1] == '/')
		for (name += 2; *name == '/'; name++)
			;
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	if (strncmp(base, ".wh.", 4) != 0)
		return 0;
	bool opaque = !strcmp(base, ".wh..wh..opq");
	if (!opaque && (!base[4] || !strcmp(base + 4, ".") || !strcmp(base + 4, "..")))
		return -EINVAL;
	char *path = opaque ? xasprintf("/%.*s", slash ? (int)(slash - name) : 0, name)
			    : xasprintf("/%.*s%s", slash ? (int)(slash - name + 1) : 0, name, base + 4);
	char **np = realloc(w->paths, (w->n + 1) * sizeof(char *));
	bool *no = np ? realloc(w->opaque, (w->n + 1) * sizeof(bool)) : NULL;
	if (np)
		w->paths = np;
	if (no)
		w->opaque = no;
	if (!path || !np || !no) {
		free(path);
		return -ENOMEM;
	}
	w->paths[w->n] = path;
	w->opaque[w->n++] = opaque;
	return 1;
}

static void whiteouts_free(struct whiteouts *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->paths[i]);
	free(w->paths);
	free(w->opaque);
}

/* Opens directory PATH below the current directory (the layer's root), creating it
 * and its parents; never follows a symlink. */
static int open_dir_in_layer(const char *path)
{
	_cleanup_close_ int fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (!strcmp(part, ".") || !strcmp(part, ".."))
			return -EINVAL;
		if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST)
			return -errno;
		struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
					.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH };
		int next = (int)syscall(SYS_openat2, fd, part, &how, sizeof(how));
		if (next < 0)
			return -errno;
		close(fd);
		fd = next;
	}
	return steal_fd(&fd);
}

static int whiteouts_apply(const struct whiteouts *w, bool rootless, struct diyc_error *err)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *p = w->paths[i];
		char dir[PATH_MAX];
		const char *slash = strrchr(p, '/');
		snprintf(dir, sizeof(dir), "%.*s", w->opaque[i] ? (int)strlen(p) : (int)(slash - p), p);
		_cleanup_close_ int dfd = open_dir_in_layer(dir);
		if (dfd < 0)
			return diyc_error(err, -dfd, "whiteout `%s`", p);
		if (w->opaque[i]) {
			/* setxattr needs a real fd, not O_PATH */
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
			const char *attr = rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
			if (setxattr(proc, attr, "y", 1, 0) < 0)
				return diyc_error(err, errno, "mark `%s` opaque", p);
			continue;
		}
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
		_cleanup_close_ int real = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (real < 0)
			return diyc_error(err, errno, "whiteout `%s`", p);
		if (mknodat(real, slash + 1, S_IFCHR | 0000, makedev(0, 0)) < 0)
			return diyc_error(err, errno, "whiteout `%s`", p);
	}
	return 0;
}

struct import_result {
	uint64_t size;
	char diff_id[DIGEST_HEX_LEN + 1];  /* sha256 of the uncompressed tar stream */
	uint64_t expanded;                 /* its length */
	unsigned skipped_devices;          /* device nodes left out (rootless) */
	struct diyc_error tar_err; /* set by the process that reads a source directory */
};

struct extract_ctx {
	const char *src;       /* directory, tarball, or "-" for stdin (with from_fd: its name) */
	bool from_fd;          /* the source is fd */
	int fd;
	const char *dst;       /* the new layer's diff dir; created by the extraction */
	const char *split;     /* where the tar-split record goes */
	const char *cleanup;   /* removed on failure, from inside the user namespace */
	bool rootless;
	bool image_layer;      /* a layer of an image format: whiteouts */
	enum layer_dir_kind dir_kind;
	uint64_t max_bytes;
	uint32_t uid_top, gid_top;
	struct import_result *result; /* shared with the parent */
	pid_t parent;          /* the diyc process: the extraction dies with it */
};

static int drop_overlay_xattrs(const struct archive_lib *A, struct archive_entry *e, bool *opaque);

/* Overlay's markers in a directory tree become the image format's: a 0/0 character
 * device is the whiteout file `.wh.NAME`, an opaque directory gets `.wh..wh..opq`, and
 * overlay's own xattrs are not part of the image. Returns 1 when the entry is a
 * whiteout, 2 when the directory is opaque, 0 otherwise. */
static int overlay_to_image(const struct archive_lib *A, struct archive_entry *e)
{
	unsigned type = A->archive_entry_filetype(e);
	if (type == AE_IFCHR && A->archive_entry_rdevmajor(e) == 0 && A->archive_entry_rdevminor(e) == 0) {
		const char *path = A->archive_entry_pathname(e);
		const char *slash = strrchr(path, '/');
		_cleanup_free_ char *wh = xasprintf("%.*s.wh.%s", slash ? (int)(slash - path + 1) : 0, path,
						    slash ? slash + 1 : path);
		A->archive_entry_set_pathname(e, wh);
		A->archive_entry_set_filetype(e, AE_IFREG);
		A->archive_entry_set_perm(e, 0644);
		A->archive_entry_set_rdev(e, 0);
		A->archive_entry_set_size(e, 0);
		/* overlay links its whiteouts to one inode: each is a file of its own here */
		A->archive_entry_set_nlink(e, 1);
		A->archive_entry_xattr_clear(e);
		return 1;
	}
	bool opaque = false;
	drop_overlay_xattrs(A, e, &opaque);
	return opaque && type == AE_IFDIR ? 2 : 0;
}

/* Removes overlay's xattrs (user.overlay.*, trusted.overlay.*) from the entry: 1 when it
 * had some, else 0. *opaque: whether one was overlay.opaque=y. */
static int drop_overlay_xattrs(const struct archive_lib *A, struct archive_entry *e, bool *opaque)
{
	if (A->archive_entry_xattr_reset(e) == 0)
		return 0;
	const char *name;
	const void *value;
	size_t size;
	bool any = false;
	while (A->archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		any = any || str_has_prefix(name, "user.overlay.") || str_has_prefix(name, "trusted.overlay.");
	if (!any)
		return 0;
	A->archive_entry_xattr_reset(e);
	size_t n = 0, cap = 8;
	struct { char *name; void *value; size_t size; } *keep = calloc(cap, sizeof(*keep));
	while (keep && A->archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		bool overlay = str_has_prefix(name, "user.overlay.") || str_has_prefix(name, "trusted.overlay.");
		if (overlay && strstr(name, ".overlay.opaque") && size == 1 && *(const char *)value == 'y')
			*opaque = true;
		if (overlay)
			continue;
		if (n == cap) {
			void *k = realloc(keep, 2 * cap * sizeof(*keep));
			if (!k)
				break;
			keep = k;
			cap *= 2;
		}
		keep[n].name = strdup(name);
		keep[n].value = malloc(size ? size : 1);
		if (keep[n].value)
			memcpy(keep[n].value, value, size);
		keep[n++].size = size;
	}
	A->archive_entry_xattr_clear(e);
	for (size_t i = 0; keep && i < n; i++) {
		if (keep[i].name && keep[i].value)
			A->archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
		free(keep[i].name);
		free(keep[i].value);
	}
	free(keep);
	return 1;
}

/* The files diyc creates in a container's upper dir as mount points for its generated
 * /etc files: not the container's changes. */
static bool is_hostfile_mount_point(const struct archive_lib *A, struct archive_entry *e, const char *rel)
{
	return A->archive_entry_filetype(e) == AE_IFREG && A->archive_entry_size(e) == 0 &&
	       (!strcmp(rel, "etc/hosts") || !strcmp(rel, "etc/hostname") || !strcmp(rel, "etc/resolv.conf"));
}

/* A running container changed a file between the walk's lstat() and its open() or
 * readlink(): a commit of it cannot be consistent. */
static int changed_under_walk(const char *path, struct diyc_error *err)
{
	while (path && path[0] == '.' && (path[1] == '/' || !path[1]))
		path += path[1] ? 2 : 1;
	return diyc_error_plain(err, EAGAIN, "`/%s` changed while it was read: the container is running; stop "
			       "it (or try again) for a consistent commit", path ? path : "");
}

/* Writes the contents of the walk's regular file REL (as the walk's lstat() described it
 * in e) to out. libarchive would open it again by name, following what a running
 * container swapped in meanwhile, and block on a FIFO: it is opened here, below the
 * root, without following a symlink or opening anything but a regular file, and only
 * when fstat() finds the very file (device, inode, size and time) the walk saw. */
static int copy_walked_file(const struct archive_lib *A, struct archive *out, int rootfd, const char *rel,
			    struct archive_entry *e, enum layer_dir_kind kind, const char *src, struct diyc_error *err)
{
	struct stat st;
	_cleanup_close_ int fd = open_regular_at(rootfd, rel, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, &st);
	uint64_t left = (uint64_t)A->archive_entry_size(e);
	if (fd < 0 && fd != -ENOENT && fd != -ELOOP && fd != -EISDIR && fd != -EFTYPE_NOT_REGULAR)
		return diyc_error(err, -fd, "read `%s/%s`", src, rel);
	if (fd < 0 || (uint64_t)st.st_size != left || st.st_mtime != A->archive_entry_mtime(e) ||
	    (uint64_t)st.st_ino != (uint64_t)A->archive_entry_ino64(e) || st.st_dev != A->archive_entry_dev(e))
		goto changed;
	char buf[65536];
	while (left > 0) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return diyc_error(err, errno, "read `%s/%s`", src, rel);
		if (n == 0)
			goto changed;
		if (A->archive_write_data(out, buf, n) < 0)
			return diyc_error_plain(err, EIO, "archive `/%s`: %s", rel, A->archive_error_string(out));
		left -= n;
	}
	return 0;
changed:
	if (kind == LAYER_DIR_UPPER)
		return changed_under_walk(rel, err);
	return diyc_error_plain(err, EAGAIN, "`%s/%s` changed while it was read", src, rel);
}

/* The `.wh..wh..opq` entry that marks directory rel (an overlay opaque directory) in an
 * image layer, with the directory's mtime. */
static int write_opaque_marker(const struct archive_lib *A, struct archive *out, const char *rel,
			       struct archive_entry *dir, struct diyc_error *err)
{
	int rl = (int)strlen(rel);
	while (rl > 0 && rel[rl - 1] == '/')
		rl--;
	_cleanup_free_ char *opq = xasprintf("./%.*s%s.wh..wh..opq", rl, rel, rl ? "/" : "");
	struct archive_entry *o = A->archive_entry_new();
	if (!o)
		return diyc_error(err, ENOMEM, "libarchive");
	A->archive_entry_set_pathname(o, opq);
	A->archive_entry_set_filetype(o, AE_IFREG);
	A->archive_entry_set_perm(o, 0644);
	A->archive_entry_set_mtime(o, A->archive_entry_mtime(dir), 0);
	int r = A->archive_write_header(out, o);
	A->archive_entry_free(o);
	if (r < ARCHIVE_WARN)
		return diyc_error_plain(err, EIO, "archive `%s`: %s", opq, A->archive_error_string(out));
	return 0;
}

/* The walk of a source directory and the tar stream written of it. */
struct dir_walk {
	const struct archive_lib *A;
	const char *src;
	enum layer_dir_kind kind;
	int rootfd;             /* the directory, as the chroot's / */
	struct archive *in, *out;
	struct archive_entry_linkresolver *links;
};

/* Writes one entry of the walk (rel: its path below the directory), with its data, and
 * the opaque marker of an opaque directory of an upper dir. */
static int tar_walked_entry(struct dir_walk *w, struct archive_entry *entry, const char *rel,
			    struct diyc_error *err)
{
	const struct archive_lib *A = w->A;
	if (w->kind == LAYER_DIR_UPPER && is_hostfile_mount_point(A, entry, rel))
		return 0;
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	if (w->kind != LAYER_DIR_PLAIN && str_has_prefix(base, ".wh."))
		/* in an image layer the name means "deleted": it cannot be a file */
		return diyc_error_plain(err, EINVAL, "refusing `/%s`: names starting with .wh. mark deleted "
					"files in image layers; rename it first", rel);
	_cleanup_free_ char *relpath = xasprintf("./%s", rel);
	A->archive_entry_set_pathname(entry, relpath);
	int marker = w->kind == LAYER_DIR_PLAIN ? 0 : overlay_to_image(A, entry);
	struct archive_entry *to_write = entry, *spare = NULL;
	A->archive_entry_linkify(w->links, &to_write, &spare);
	if (!to_write)
		return 0;
	if (A->archive_write_header(w->out, to_write) < ARCHIVE_WARN)
		return diyc_error_plain(err, EIO, "archive `%s`: %s", relpath, A->archive_error_string(w->out));
	int ret;
	if (A->archive_entry_filetype(to_write) == AE_IFREG && !A->archive_entry_hardlink(to_write) &&
	    marker != 1 && A->archive_entry_size(to_write) > 0 &&
	    (ret = copy_walked_file(A, w->out, w->rootfd, rel, to_write, w->kind, w->src, err)) < 0)
		return ret;
	if (marker == 2)
		return write_opaque_marker(A, w->out, rel, entry, err);
	return 0;
}

/* Walks the directory (the chroot's /) and writes its entries. */
static int walk_dir(struct dir_walk *w, struct archive_entry *entry, struct diyc_error *err)
{
	const struct archive_lib *A = w->A;
	const char *walk = ".";
	size_t walklen = 1;
	for (;;) {
		A->archive_entry_clear(entry);
		int r = A->archive_read_next_header2(w->in, entry);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN) {
			const char *at = A->archive_entry_pathname(entry);
			if (w->kind == LAYER_DIR_UPPER)
				return changed_under_walk(at, err);
			return diyc_error_plain(err, EIO, "read `%s`: %s", w->src, A->archive_error_string(w->in));
		}
		A->archive_read_disk_descend(w->in);
		/* entries are named from the walk's start: make them relative */
		const char *path = A->archive_entry_pathname(entry);
		const char *rel = path && !strncmp(path, walk, walklen) ? path + walklen : NULL;
		if (!rel || (*rel && *rel != '/'))
			return diyc_error_plain(err, EIO, "unexpected entry `%s` below `%s`", path, w->src);
		while (*rel == '/')
			rel++;
		if ((r = tar_walked_entry(w, entry, rel, err)) < 0)
			return r;
	}
}

/* Writes the directory SRC (opened as srcfd, or -1: by its name) as a tar stream to fd.
 * It runs in a process of its own, chrooted into SRC: a running container can swap a
 * file for a symlink between the walk's lstat() and its open(), and the link must then
 * lead nowhere but into SRC itself. (Its own process, too, because the walk changes
 * directory.) */
static int dir_to_tar(const struct archive_lib *A, const char *src, int srcfd, enum layer_dir_kind kind, int fd,
		      struct diyc_error *err)
{
	/* open_regular_at() reopens files through /proc, which the chroot hides */
	if (keep_proc() < 0 ||
	    (srcfd >= 0 ? fchdir(srcfd) < 0 || chroot(".") < 0 : chroot(src) < 0) || chdir("/") < 0)
		return diyc_error(err, errno, "enter `%s`", src);
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return diyc_error(err, errno, "enter `%s`", src);
	struct dir_walk w = { .A = A, .src = src, .kind = kind, .rootfd = rootfd };
	w.in = A->archive_read_disk_new();
	w.out = A->archive_write_new();
	struct archive_entry *entry = A->archive_entry_new();
	w.links = A->archive_entry_linkresolver_new();
	int ret = 0;
	if (!w.in || !w.out || !entry || !w.links) {
		ret = diyc_error(err, ENOMEM, "libarchive");
		goto out;
	}
	A->archive_read_disk_set_symlink_physical(w.in);
	A->archive_read_disk_set_behavior(w.in, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	A->archive_entry_linkresolver_set_strategy(w.links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	A->archive_write_set_format_pax_restricted(w.out);
	if (A->archive_read_disk_open(w.in, ".") != ARCHIVE_OK || A->archive_write_open_fd(w.out, fd) != ARCHIVE_OK) {
		ret = diyc_error_plain(err, EIO, "read `%s`: %s", src, A->archive_error_string(w.in));
		goto out;
	}
	if ((ret = walk_dir(&w, entry, err)) < 0)
		goto out;
	if (A->archive_write_close(w.out) < ARCHIVE_WARN)
		ret = diyc_error_plain(err, EIO, "archive `%s`: %s", src, A->archive_error_string(w.out));
out:
	if (w.links)
		A->archive_entry_linkresolver_free(w.links);
	if (entry)
		A->archive_entry_free(entry);
	if (w.in)
		A->archive_read_free(w.in);
	if (w.out)
		A->archive_write_free(w.out);
	return ret;
}

static int copy_data(const struct archive_lib *A, struct archive *in, struct archive *out)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	for (;;) {
		int r = A->archive_read_data_block(in, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return ARCHIVE_OK;
		if (r < ARCHIVE_WARN)
			return r;
		if (A->archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
			return ARCHIVE_FATAL;
	}
}

/* Deeper paths than any real image has: a tree this deep is an attack on whatever
 * walks it later (recursive removal, copy-up, the kernel's path lookups). */
#define MAX_PATH_DEPTH 512

static unsigned path_depth(const char *path)
{
	unsigned depth = 0;
	for (const char *p = path; p && *p;) {
		p += strspn(p, "/");
		size_t n = strcspn(p, "/");
		if (n && !(n == 1 && p[0] == '.'))
			depth++;
		p += n;
	}
	return depth;
}

static int too_big(const struct extract_ctx *c, struct diyc_error *err)
{
	char limit[32];
	human_bytes(limit, sizeof(limit), c->max_bytes);
	return diyc_error_hint(err, diyc_error_plain(err, EFBIG, "refusing `%s`: it expands to more than %s, the most "
						     "this import may unpack", c->src, limit), DIYC_HINT_MAX_SIZE, NULL);
}

/* One extraction: where its tar stream comes from, its readers and writer, and what it
 * counts on the way. */
struct extraction {
	const struct archive_lib *A;
	pid_t tar_pid;          /* the process writing a source directory as a tar stream, or -1 */
	int tar_fd;             /* the pipe it writes into, or -1 */
	struct archive *raw, *in, *out;
	struct whiteouts wh;
	struct tarsplit split;
	struct tar_feed feed;
	bool read_failed;       /* the tar stream broke (the writing process may know why) */
	unsigned skipped_dev, squashed_ids, entries;
	uint64_t size;
};

/* A source directory is read as the tar stream that a child process writes of it
 * (dir_to_tar); anything else is read as it is. */
static int start_dir_tar(struct extract_ctx *c, struct extraction *x, struct diyc_error *err)
{
	struct stat st;
	bool is_dir = c->from_fd ? fstat(c->fd, &st) == 0 && S_ISDIR(st.st_mode)
				 : strcmp(c->src, "-") && stat(c->src, &st) == 0 && S_ISDIR(st.st_mode);
	if (!is_dir)
		return 0;
	_cleanup_fd_pair_ struct fd_pair pfd = FD_PAIR_INIT;
	if (fd_pair_pipe(&pfd, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	x->tar_pid = fork();
	if (x->tar_pid < 0)
		return diyc_error(err, errno, "fork");
	if (x->tar_pid == 0) {
		close(pfd.fd[0]);
		/* a reader that stopped early is reported by the reader, not by a signal here */
		signal(SIGPIPE, SIG_IGN);
		_exit(dir_to_tar(x->A, c->src, c->from_fd ? c->fd : -1, c->dir_kind, pfd.fd[1], &c->result->tar_err) < 0
			      ? 1 : 0);
	}
	close(steal_fd(&pfd.fd[1]));
	x->tar_fd = steal_fd(&pfd.fd[0]);
	return 0;
}

/* Two readers in a chain: `raw` undoes the compression and hands the tar stream to `in`,
 * hashing it on the way (the layer's diff_id); the writer extracts into c->dst, which is
 * created here. */
static int open_extraction(struct extract_ctx *c, struct extraction *x, struct diyc_error *err)
{
	const struct archive_lib *A = x->A;
	x->raw = A->archive_read_new();
	x->in = A->archive_read_new();
	x->out = A->archive_write_disk_new();
	x->feed.A = A;
	x->feed.raw = x->raw;
	x->feed.split = &x->split;
	x->feed.max = c->max_bytes;
	if (!x->raw || !x->in || !x->out)
		return diyc_error(err, ENOMEM, "libarchive");
	sha256_begin(&x->feed.hash);
	A->archive_write_disk_set_options(x->out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
		ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	A->archive_read_support_filter_all(x->raw);
	A->archive_read_support_format_raw(x->raw);
	A->archive_read_support_format_tar(x->in);
	if (tarsplit_open(&x->split, A, c->split) < 0)
		diyc_warn("cannot record the layer's tar headers in `%s`: an export will write a new tar", c->split);
	int r;
	if (x->tar_fd >= 0)
		r = A->archive_read_open_fd(x->raw, x->tar_fd, 1 << 16);
	else if (c->from_fd)
		r = A->archive_read_open_fd(x->raw, c->fd, 1 << 16);
	else if (!strcmp(c->src, "-"))
		r = A->archive_read_open_fd(x->raw, 0, 1 << 16);
	else
		r = A->archive_read_open_filename(x->raw, c->src, 1 << 16);
	struct archive_entry *raw_entry;
	if (r == ARCHIVE_OK)
		r = A->archive_read_next_header(x->raw, &raw_entry);
	if (r == ARCHIVE_OK)
		r = A->archive_read_open(x->in, &x->feed, NULL, feed_read, NULL);
	if (r != ARCHIVE_OK) {
		const char *m = A->archive_error_string(x->raw) ? A->archive_error_string(x->raw)
								 : A->archive_error_string(x->in);
		return diyc_error_plain(err, EIO, "read `%s`: %s", c->src, m ? m : "not an archive");
	}
	if (mkdir(c->dst, 0755) < 0 || chdir(c->dst) < 0)
		return diyc_error(err, errno, "create `%s`", c->dst);
	return 0;
}

/* Whether the entry stays out of the layer (1): a whiteout (applied at the end), a device
 * node when rootless, a socket. Its bytes stay in the tar-split record all the same. */
static int leave_out(struct extract_ctx *c, struct extraction *x, struct archive_entry *entry, uint64_t header_pos,
		     uint64_t data_pos, struct diyc_error *err)
{
	const struct archive_lib *A = x->A;
	unsigned type = A->archive_entry_filetype(entry);
	if (c->image_layer) {
		int w = whiteout_note(&x->wh, A->archive_entry_pathname(entry));
		if (w < 0)
			return diyc_error(err, -w, "whiteout `%s`", A->archive_entry_pathname(entry));
		if (w > 0) {
			/* not extracted: its bytes, if any, stay in the record */
			tarsplit_entry(&x->split, header_pos, data_pos, A->archive_entry_size(entry), NULL);
			return 1;
		}
	}
	bool whiteout_dev = type == AE_IFCHR && A->archive_entry_rdevmajor(entry) == 0 &&
			    A->archive_entry_rdevminor(entry) == 0;
	/* real images carry device nodes (debootstrap makes /dev/console, /dev/null...).
	 * A user namespace cannot make them, so rootless they are left out, as rootless
	 * podman does; root keeps them. Either way they open no device in a container:
	 * its /dev is diyc's own and every mount it may write is nodev. */
	if ((type == AE_IFCHR || type == AE_IFBLK) && !whiteout_dev && c->rootless) {
		x->skipped_dev++;
		tarsplit_entry(&x->split, header_pos, data_pos, A->archive_entry_size(entry), NULL);
		return 1;
	}
	if (type == AE_IFSOCK) {
		tarsplit_entry(&x->split, header_pos, data_pos, A->archive_entry_size(entry), NULL);
		return 1;
	}
	return 0;
}

/* Writes the entry (and its data) into the layer. */
static int write_entry(struct extract_ctx *c, struct extraction *x, struct archive_entry *entry,
		       struct diyc_error *err)
{
	const struct archive_lib *A = x->A;
	/* overlay would honour its own xattrs (metacopy, redirect...): the record keeps them */
	bool opaque_xattr;
	drop_overlay_xattrs(A, entry, &opaque_xattr);
	int r = A->archive_write_header(x->out, entry);
	if (r >= ARCHIVE_WARN && A->archive_entry_size(entry) > 0)
		r = copy_data(A, x->in, x->out);
	if (r >= ARCHIVE_WARN)
		r = A->archive_write_finish_entry(x->out);
	if (r < ARCHIVE_WARN) {
		const char *msg = A->archive_error_string(x->out);
		if (!msg)
			msg = A->archive_error_string(x->in);
		return diyc_error_plain(err, EPERM, "refusing `%s`: entry `%s`: %s", c->src,
					A->archive_entry_pathname(entry), msg ? msg : "cannot extract");
	}
	return 0;
}

/* One entry of the tar stream: checked, recorded, and extracted unless it stays out. */
static int extract_entry(struct extract_ctx *c, struct extraction *x, struct archive_entry *entry,
			 struct diyc_error *err)
{
	const struct archive_lib *A = x->A;
	x->entries++;
	unsigned type = A->archive_entry_filetype(entry);
	const char *name = A->archive_entry_pathname(entry);
	unsigned depth = path_depth(name);
	if (depth > MAX_PATH_DEPTH)
		return diyc_error_plain(err, ELOOP, "refusing `%s`: entry `%.60s...` is %u directories deep; "
					"diyc takes at most %d", c->src, name, depth, MAX_PATH_DEPTH);
	uint64_t header_pos = (uint64_t)A->archive_read_header_position(x->in);
	uint64_t data_pos = (uint64_t)A->archive_filter_bytes(x->in, 0);
	bool keeps_data = false;
	int r = leave_out(c, x, entry, header_pos, data_pos, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (A->archive_entry_uid(entry) >= c->uid_top || A->archive_entry_gid(entry) >= c->gid_top) {
		x->squashed_ids++;
		if (A->archive_entry_uid(entry) >= c->uid_top)
			A->archive_entry_set_uid(entry, 0);
		if (A->archive_entry_gid(entry) >= c->gid_top)
			A->archive_entry_set_gid(entry, 0);
	}
	if (type == AE_IFREG && !A->archive_entry_hardlink(entry)) {
		x->size += A->archive_entry_size(entry);
		keeps_data = true;
		/* a sparse file's size is not bounded by its stream */
		if (c->max_bytes && x->size > c->max_bytes)
			return too_big(c, err);
	}
	tarsplit_entry(&x->split, header_pos, data_pos, A->archive_entry_size(entry), keeps_data ? name : NULL);
	return write_entry(c, x, entry, err);
}

/* After the last entry: the layer closed, its whiteouts made, the rest of the stream
 * hashed, and the results for the parent. */
static int finish_extraction(struct extract_ctx *c, struct extraction *x, struct diyc_error *err)
{
	const struct archive_lib *A = x->A;
	if (x->entries == 0)
		return diyc_error_plain(err, EINVAL, "`%s` holds no files: nothing to import", c->src);
	if (A->archive_write_close(x->out) < ARCHIVE_WARN)
		return diyc_error_plain(err, EIO, "finish extracting `%s`: %s", c->src, A->archive_error_string(x->out));
	int ret = whiteouts_apply(&x->wh, c->rootless, err);
	if (ret < 0)
		return ret;
	/* the tar stream's padding after the end marker is part of the layer's digest */
	uint64_t end_pos = (uint64_t)A->archive_read_header_position(x->in);
	if ((ret = feed_drain(&x->feed, c->src, err)) < 0)
		return ret == -EFBIG ? too_big(c, err) : ret;
	sha256_hex(&x->feed.hash, c->result->diff_id);
	c->result->expanded = x->feed.total;
	tarsplit_finish(&x->split, end_pos);
	c->result->skipped_devices = x->skipped_dev;
	if (x->squashed_ids)
		diyc_warn("%u file(s) owned by ids outside your subordinate range now belong to root", x->squashed_ids);
	c->result->size = x->size;
	return 0;
}

/* Waits for the process writing a directory's tar stream; when the stream broke on its
 * side, its error is the one reported. */
static int end_dir_tar(struct extract_ctx *c, struct extraction *x, int ret, struct diyc_error *err)
{
	if (x->tar_fd >= 0) {
		/* the end-of-archive marker comes before the writer's last padding: take all of
		 * it, so the writer finishes cleanly */
		if (ret == 0) {
			char buf[4096];
			while (read(x->tar_fd, buf, sizeof(buf)) > 0)
				;
		}
		close(x->tar_fd);
	}
	if (x->tar_pid <= 0)
		return ret;
	int status;
	reap(x->tar_pid, &status);
	bool tar_failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	if (tar_failed && (ret == 0 || x->read_failed)) {
		/* the stream broke on the writing side: it knows what went wrong */
		if (c->result->tar_err.msg[0])
			*err = c->result->tar_err;
		else if (WIFSIGNALED(status))
			diyc_error_plain(err, EIO, "read `%s`: the process reading it was killed by signal %d",
					 c->src, WTERMSIG(status));
		else
			diyc_error_plain(err, EIO, "read `%s`: the process reading it exited with status %d",
					 c->src, WEXITSTATUS(status));
		ret = -EIO;
	}
	return ret;
}

/* Extracts a tar stream (a file, stdin, or the stream of a source directory) into
 * c->dst, refusing anything that would land outside it. */
static int extract(void *arg, struct diyc_error *err)
{
	struct extract_ctx *c = arg;
	/* a killed import stops writing at once: its directory is then a leftover to remove */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent)
		return diyc_error_plain(err, ECHILD, "the import was stopped");
	const struct archive_lib *A = archive_lib(err);
	if (!A)
		return -ENOENT;
	struct extraction x = { .A = A, .tar_pid = -1, .tar_fd = -1 };
	int ret = start_dir_tar(c, &x, err);
	if (ret < 0)
		return ret;
	ret = open_extraction(c, &x, err);
	while (ret == 0) {
		struct archive_entry *entry = NULL;
		int r = A->archive_read_next_header(x.in, &entry);
		if (r == ARCHIVE_EOF) {
			ret = finish_extraction(c, &x, err);
			break;
		}
		if (r < ARCHIVE_WARN) {
			x.read_failed = true;
			if (x.feed.too_big)
				ret = too_big(c, err);
			else
				ret = diyc_error_plain(err, EIO, "read `%s`: %s", c->src, A->archive_error_string(x.in));
			break;
		}
		ret = extract_entry(c, &x, entry, err);
	}
	tarsplit_abort(&x.split);
	whiteouts_free(&x.wh);
	if (x.in)
		A->archive_read_free(x.in);
	if (x.raw)
		A->archive_read_free(x.raw);
	if (x.out)
		A->archive_write_free(x.out);
	ret = end_dir_tar(c, &x, ret, err);
	if (ret < 0 && chdir("/") == 0)
		rm_rf(c->cleanup);
	return ret;
}

void layer_warn_skipped_devices(unsigned n)
{
	if (n)
		diyc_warn("skipped %u device node(s) of the image: a user namespace cannot create them "
			  "(diyc makes /dev at run time)", n);
}

int layer_import(const struct diyc_paths *p, const struct userns_plan *plan, const struct layer_opts *o,
		 char diff_id[DIGEST_HEX_LEN + 1], uint64_t *size, uint64_t *expanded, bool *created,
		 struct diyc_error *err)
{
	*created = false;
	int r = digest_init(err);
	if (r < 0)
		return r;
	if ((r = paths_ensure_data(p, "layers", err)) < 0)
		return r;
	char rnd[17], tmp[PATH_MAX], diff[PATH_MAX], split[PATH_MAX], final[PATH_MAX];
	random_hex(rnd, 8);
	/* named by its creator and locked while it works: image_clean_leftovers() */
	snprintf(tmp, sizeof(tmp), "%s/layers/.tmp-%d-%s", p->data, (int)getpid(), rnd);
	snprintf(diff, sizeof(diff), "%s/diff", tmp);
	snprintf(split, sizeof(split), "%s/tar-split.gz", tmp);
	_cleanup_close_ int lock = mkdir_locked(tmp, 0700);
	if (lock < 0)
		return diyc_error(err, -lock, "create `%s`", tmp);
	struct import_result *result = mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (result == MAP_FAILED) {
		rmdir(tmp);
		return diyc_error(err, errno, "mmap");
	}
	memset(result, 0, sizeof(*result));
	struct extract_ctx ctx = {
		.src = o->src, .from_fd = o->from_fd, .fd = o->fd, .dst = diff, .split = split, .cleanup = tmp,
		.rootless = plan->enabled,
		.image_layer = o->image_layer, .dir_kind = o->dir_kind, .max_bytes = o->max_bytes,
		.uid_top = plan->enabled ? idmap_size(&plan->uids) : UINT32_MAX,
		.gid_top = plan->enabled ? idmap_size(&plan->gids) : UINT32_MAX,
		.result = result, .parent = getpid(),
	};
	r = userns_run(plan, 0, extract, &ctx, err);
	snprintf(diff_id, DIGEST_HEX_LEN + 1, "%s", result->diff_id);
	*size = result->size;
	if (r == 0 && o->skipped_devices)
		*o->skipped_devices += result->skipped_devices;
	else if (r == 0)
		layer_warn_skipped_devices(result->skipped_devices);
	if (expanded)
		*expanded = result->expanded;
	munmap(result, sizeof(*result));
	if (r == 0 && o->expect_diff_id && strcmp(o->expect_diff_id, diff_id))
		r = diyc_error_plain(err, EBADMSG, "digest mismatch in layer `%s`: its content should be sha256:%s "
				     "but is sha256:%s", o->src, o->expect_diff_id, diff_id);
	if (r == 0) {
		/* the layer's size, for listings that do not walk its files */
		char sz[32], path[PATH_MAX];
		snprintf(sz, sizeof(sz), "%llu\n", (unsigned long long)*size);
		snprintf(path, sizeof(path), "%s/size", tmp);
		write_file_at(AT_FDCWD, path, sz, strlen(sz), 0600);
		snprintf(final, sizeof(final), "%s/layers/%s", p->data, diff_id);
		if (rename(tmp, final) == 0) {
			*created = true;
			return 0;
		}
		if (errno != EEXIST && errno != ENOTEMPTY)
			r = diyc_error(err, errno, "store layer `%s`", final);
		/* else: the same layer is in the store already (another image, or another import) */
	}
	struct diyc_error ignore = { 0 };
	remove_tree(plan, tmp, &ignore);
	return r;
}

uint64_t layer_size(const struct diyc_paths *p, const char *diff_id)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	snprintf(path, sizeof(path), "%s/layers/%s/size", p->data, diff_id);
	if (read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0)
		return 0;
	return strtoull(text, NULL, 10);
}

bool layer_exists(const struct diyc_paths *p, const char *diff_id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/layers/%s/diff", p->data, diff_id);
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

struct export_ctx {
	const char *diff, *split, *want;
	int fd;
	char *diff_id;      /* shared with the parent */
};

struct hashing_sink {
	int fd;
	struct sha256 hash;
};

static int sink_write(void *arg, const void *buf, size_t n, struct diyc_error *err)
{
	struct hashing_sink *s = arg;
	sha256_add(&s->hash, buf, n);
	int r = write_all(s->fd, buf, n);
	return r < 0 ? diyc_error(err, -r, "write the layer") : 0;
}

static int export_layer(void *arg, struct diyc_error *err)
{
	struct export_ctx *c = arg;
	const struct archive_lib *A = archive_lib(err);
	if (!A)
		return -ENOENT;
	_cleanup_close_ int layerfd = open(c->diff, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (layerfd < 0)
		return diyc_error(err, errno, "open layer `%s`", c->diff);
	if (access(c->split, F_OK) == 0) {
		struct hashing_sink s = { .fd = c->fd };
		sha256_begin(&s.hash);
		struct diyc_error rerr = { 0 };
		int r = tarsplit_replay(A, c->split, layerfd, sink_write, &s, &rerr);
		if (r == 0) {
			sha256_hex(&s.hash, c->diff_id);
			if (!strcmp(c->diff_id, c->want))
				return 0;
		} else if (r != -ESTALE && r != -EIO) {
			*err = rerr;
			return r;
		}
		diyc_warn("layer %.12s does not give back its original tar stream: writing a new one", c->want);
		if (ftruncate(c->fd, 0) < 0 || lseek(c->fd, 0, SEEK_SET) < 0)
			return diyc_error(err, errno, "rewind the layer's file");
	}
	/* a new tar; dir_to_tar moves through the tree with chdir, this process ends after */
	int r = dir_to_tar(A, c->diff, -1, LAYER_DIR_OVERLAY, c->fd, err);
	if (r < 0)
		return r;
	if (lseek(c->fd, 0, SEEK_SET) < 0 || (r = sha256_file(c->fd, c->diff_id)) < 0)
		return diyc_error(err, r < 0 ? -r : errno, "hash the layer");
	return 0;
}

int layer_export(const struct diyc_paths *p, const struct userns_plan *plan, const char *layer, int fd,
		 char diff_id[DIGEST_HEX_LEN + 1], struct diyc_error *err)
{
	int r = digest_init(err);
	if (r < 0)
		return r;
	char diff[PATH_MAX], split[PATH_MAX];
	snprintf(diff, sizeof(diff), "%s/layers/%s/diff", p->data, layer);
	snprintf(split, sizeof(split), "%s/layers/%s/tar-split.gz", p->data, layer);
	char *shared = mmap(NULL, DIGEST_HEX_LEN + 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return diyc_error(err, errno, "mmap");
	memset(shared, 0, DIGEST_HEX_LEN + 1);
	struct export_ctx ctx = { .diff = diff, .split = split, .want = layer, .fd = fd, .diff_id = shared };
	r = userns_run(plan, 0, export_layer, &ctx, err);
	snprintf(diff_id, DIGEST_HEX_LEN + 1, "%s", shared);
	munmap(shared, DIGEST_HEX_LEN + 1);
	return r;
}
