/* SPDX-License-Identifier: MIT */
/* image.c: importing a root filesystem (a directory or a tarball such as `docker
 * export` writes) into the store, listing, resolving and removing images.
 *
 * Extraction runs inside a user namespace with the caller's subordinate range, so
 * files owned by other ids in the image keep their owners (mapped), and it uses
 * libarchive's secure-extraction flags: no `..`, no absolute paths, nothing written
 * through a symlink. A failed import leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "archive-dl.h"
#include "image.h"
#include "util.h"

static bool ref_component_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && !((c == '.' || c == '_' || c == '-') && i > 0 && i < n - 1))
			return false;
	}
	return true;
}

int image_ref_normalize(const char *ref, char *out, size_t outsz, struct diyc_error *err)
{
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');
	size_t nlen = colon ? (size_t)(colon - ref) : strlen(ref);
	const char *tag = colon ? colon + 1 : "latest";
	if (nlen == 0 || nlen > 255)
		return diyc_error_plain(err, EINVAL, "invalid image name `%s`: expected NAME[:TAG]", ref);
	for (const char *c = ref; c < ref + nlen;) {
		const char *end = memchr(c, '/', ref + nlen - c);
		if (!end)
			end = ref + nlen;
		if (!ref_component_ok(c, end - c))
			return diyc_error_plain(err, EINVAL,
				"invalid image name `%s`: use lowercase letters, digits and `._-`, "
				"with `/` between parts", ref);
		c = end + (end < ref + nlen);
		if (end < ref + nlen && c == ref + nlen)
			return diyc_error_plain(err, EINVAL, "invalid image name `%s`", ref);
	}
	size_t tlen = strlen(tag);
	bool tag_ok = tlen > 0 && tlen <= 128 && tag[0] != '.' && tag[0] != '-';
	for (size_t i = 0; tag_ok && i < tlen; i++) {
		char c = tag[i];
		tag_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			 c == '.' || c == '-';
	}
	if (!tag_ok)
		return diyc_error_plain(err, EINVAL, "invalid image tag in `%s`: use letters, digits and `_.-`, "
			"at most 128", ref);
	if ((size_t)snprintf(out, outsz, "%.*s:%s", (int)nlen, ref, tag) >= outsz)
		return diyc_error_plain(err, ENAMETOOLONG, "image name `%s` too long", ref);
	return 0;
}

/* File name of a name link: `/` cannot be in a file name, and `+` cannot be in a ref. */
static void ref_to_file(const char *norm, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", norm);
	for (char *c = out; *c; c++)
		if (*c == '/')
			*c = '+';
}

static void file_to_ref(const char *file, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", file);
	for (char *c = out; *c; c++)
		if (*c == '+')
			*c = '/';
}

static bool is_hex_id(const char *s, size_t minlen)
{
	size_t n = strspn(s, "0123456789abcdef");
	return s[n] == '\0' && n >= minlen && n <= IMAGE_ID_LEN;
}

static int read_link_id(const struct diyc_paths *p, const char *norm, char id[IMAGE_ID_LEN + 1])
{
	char file[NAME_MAX + 1], path[PATH_MAX];
	ref_to_file(norm, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/images/names/%s", p->data, file);
	char buf[IMAGE_ID_LEN + 2];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n != IMAGE_ID_LEN || !is_hex_id(buf, IMAGE_ID_LEN))
		return -EBADMSG;
	memcpy(id, buf, IMAGE_ID_LEN + 1);
	return 0;
}

static struct json_object *read_image_json(const struct diyc_paths *p, const char *id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/images/%s.json", p->data, id);
	return json_object_from_file(path);
}

/* Finds an image by full or unique short id. */
static int find_by_id(const struct diyc_paths *p, const char *prefix, char id[IMAGE_ID_LEN + 1])
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/images", p->data);
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d)
		return -ENOENT;
	int found = 0;
	struct dirent *de;
	size_t plen = strlen(prefix);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n != IMAGE_ID_LEN + 5 || strcmp(de->d_name + IMAGE_ID_LEN, ".json") ||
		    strncmp(de->d_name, prefix, plen))
			continue;
		if (found++)
			return -ENOTUNIQ;
		memcpy(id, de->d_name, IMAGE_ID_LEN);
		id[IMAGE_ID_LEN] = '\0';
	}
	return found ? 0 : -ENOENT;
}

static int lookup(const struct diyc_paths *p, const char *ref, char norm[PATH_MAX], char id[IMAGE_ID_LEN + 1],
		  bool *by_id, struct diyc_error *err)
{
	*by_id = false;
	struct diyc_error nerr = { 0 };
	int r = image_ref_normalize(ref, norm, PATH_MAX, &nerr);
	if (r == 0) {
		r = read_link_id(p, norm, id);
		if (r == 0)
			return 0;
	}
	if (is_hex_id(ref, 4)) {
		int k = find_by_id(p, ref, id);
		if (k == 0) {
			*by_id = true;
			return 0;
		}
		if (k == -ENOTUNIQ)
			return diyc_error_plain(err, ENOTUNIQ, "image id prefix `%s` matches several images", ref);
	}
	if (nerr.msg[0]) {
		*err = nerr;
		return -EINVAL;
	}
	return diyc_error_plain(err, ENOENT, "image `%s` not found: import it with `diyc image import PATH %s` "
		"(see `diyc image ls`)", norm, norm);
}

int image_resolve(const struct diyc_paths *p, const char *ref, struct image *img, struct diyc_error *err)
{
	char norm[PATH_MAX];
	bool by_id;
	memset(img, 0, sizeof(*img));
	int r = lookup(p, ref, norm, img->id, &by_id, err);
	if (r < 0)
		return r;
	struct json_object *j = read_image_json(p, img->id), *layers;
	if (!j || !json_object_object_get_ex(j, "layers", &layers) ||
	    json_object_get_type(layers) != json_type_array || json_object_array_length(layers) == 0) {
		if (j)
			json_object_put(j);
		return diyc_error_plain(err, EBADMSG, "image `%s` (%.12s) is damaged: remove it with `diyc image rm "
			"%.12s` and import it again", ref, img->id, img->id);
	}
	size_t n = json_object_array_length(layers);
	img->layer_dirs = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; img->layer_dirs && i < n; i++) {
		const char *l = json_object_get_string(json_object_array_get_idx(layers, i));
		if (!l || !is_hex_id(l, IMAGE_ID_LEN)) {
			json_object_put(j);
			image_free(img);
			return diyc_error_plain(err, EBADMSG, "image `%s` lists a bad layer", ref);
		}
		img->layer_dirs[i] = xasprintf("%s/layers/%s/diff", p->data, l);
	}
	json_object_put(j);
	if (!img->layer_dirs)
		return diyc_error(err, ENOMEM, "image");
	return 0;
}

void image_free(struct image *img)
{
	for (char **l = img->layer_dirs; l && *l; l++)
		free(*l);
	free(steal_ptr(img->layer_dirs));
}

struct import_result {
	uint64_t size;
	struct diyc_error tar_err; /* set by the process that reads a source directory */
};

struct extract_ctx {
	const char *src;       /* directory, tarball, or "-" for stdin */
	const char *dst;       /* the new layer's diff dir; created by the extraction */
	const char *cleanup;   /* removed on failure, from inside the user namespace */
	bool rootless;
	uint32_t uid_top, gid_top;
	struct import_result *result; /* shared with the parent */
};

/* Writes the directory SRC as a tar stream to fd. It runs in a process of its own
 * because libarchive's disk reader changes the working directory as it walks. */
static int dir_to_tar(const struct archive_lib *A, const char *src, int fd, struct diyc_error *err)
{
	struct archive *in = A->archive_read_disk_new(), *out = A->archive_write_new();
	struct archive_entry *entry = A->archive_entry_new();
	struct archive_entry_linkresolver *links = A->archive_entry_linkresolver_new();
	int ret = 0;
	size_t srclen = strlen(src);
	if (!in || !out || !entry || !links) {
		ret = diyc_error(err, ENOMEM, "libarchive");
		goto out;
	}
	A->archive_read_disk_set_symlink_physical(in);
	A->archive_read_disk_set_behavior(in, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	A->archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	A->archive_write_set_format_pax_restricted(out);
	if (A->archive_read_disk_open(in, src) != ARCHIVE_OK || A->archive_write_open_fd(out, fd) != ARCHIVE_OK) {
		ret = diyc_error_plain(err, EIO, "read `%s`: %s", src, A->archive_error_string(in));
		goto out;
	}
	for (;;) {
		A->archive_entry_clear(entry);
		int r = A->archive_read_next_header2(in, entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			ret = diyc_error_plain(err, EIO, "read `%s`: %s", src, A->archive_error_string(in));
			goto out;
		}
		A->archive_read_disk_descend(in);
		/* entries are named by their full source path: make them relative */
		const char *path = A->archive_entry_pathname(entry);
		const char *rel = path && !strncmp(path, src, srclen) ? path + srclen : NULL;
		if (!rel || (*rel && *rel != '/')) {
			ret = diyc_error_plain(err, EIO, "unexpected entry `%s` below `%s`", path, src);
			goto out;
		}
		while (*rel == '/')
			rel++;
		_cleanup_free_ char *relpath = xasprintf("./%s", rel);
		A->archive_entry_set_pathname(entry, relpath);
		struct archive_entry *to_write = entry, *spare = NULL;
		A->archive_entry_linkify(links, &to_write, &spare);
		if (!to_write)
			continue;
		if (A->archive_write_header(out, to_write) < ARCHIVE_WARN) {
			ret = diyc_error_plain(err, EIO, "archive `%s`: %s", relpath, A->archive_error_string(out));
			goto out;
		}
		if (A->archive_entry_filetype(to_write) == AE_IFREG && !A->archive_entry_hardlink(to_write)) {
			char buf[65536];
			la_ssize_t n;
			while ((n = A->archive_read_data(in, buf, sizeof(buf))) > 0)
				if (A->archive_write_data(out, buf, n) < 0)
					break;
			if (n < 0) {
				ret = diyc_error_plain(err, EIO, "read `%s/%s`: %s", src, rel, A->archive_error_string(in));
				goto out;
			}
		}
	}
	if (A->archive_write_close(out) < ARCHIVE_WARN)
		ret = diyc_error_plain(err, EIO, "archive `%s`: %s", src, A->archive_error_string(out));
out:
	if (links)
		A->archive_entry_linkresolver_free(links);
	if (entry)
		A->archive_entry_free(entry);
	if (in)
		A->archive_read_free(in);
	if (out)
		A->archive_write_free(out);
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

/* Extracts a tar stream (a file, stdin, or the stream of a source directory) into
 * c->dst, refusing anything that would land outside it. */
static int extract(void *arg, struct diyc_error *err)
{
	struct extract_ctx *c = arg;
	const struct archive_lib *A = archive_lib(err);
	if (!A)
		return -ENOENT;
	struct stat st;
	bool is_dir = strcmp(c->src, "-") && stat(c->src, &st) == 0 && S_ISDIR(st.st_mode);
	pid_t tar_pid = -1;
	int tar_fd = -1;
	if (is_dir) {
		int pfd[2];
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return diyc_error(err, errno, "pipe");
		tar_pid = fork();
		if (tar_pid < 0) {
			close(pfd[0]);
			close(pfd[1]);
			return diyc_error(err, errno, "fork");
		}
		if (tar_pid == 0) {
			close(pfd[0]);
			/* a reader that stopped early is reported by the reader, not by a signal here */
			signal(SIGPIPE, SIG_IGN);
			_exit(dir_to_tar(A, c->src, pfd[1], &c->result->tar_err) < 0 ? 1 : 0);
		}
		close(pfd[1]);
		tar_fd = pfd[0];
	}
	struct archive *in = A->archive_read_new();
	struct archive *out = A->archive_write_disk_new();
	struct archive_entry *entry = NULL;
	int ret = 0, r;
	bool read_failed = false;
	unsigned skipped_dev = 0, squashed_ids = 0, entries = 0;
	uint64_t size = 0;

	if (!in || !out) {
		ret = diyc_error(err, ENOMEM, "libarchive");
		goto out;
	}
	A->archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
		ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	A->archive_read_support_filter_all(in);
	A->archive_read_support_format_tar(in);
	if (tar_fd >= 0)
		r = A->archive_read_open_fd(in, tar_fd, 1 << 16);
	else if (!strcmp(c->src, "-"))
		r = A->archive_read_open_fd(in, 0, 1 << 16);
	else
		r = A->archive_read_open_filename(in, c->src, 1 << 16);
	if (r != ARCHIVE_OK) {
		ret = diyc_error_plain(err, EIO, "read `%s`: %s", c->src, A->archive_error_string(in));
		goto out;
	}
	if (mkdir(c->dst, 0755) < 0 || chdir(c->dst) < 0) {
		ret = diyc_error(err, errno, "create `%s`", c->dst);
		goto out;
	}
	for (;;) {
		r = A->archive_read_next_header(in, &entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			read_failed = true;
			ret = diyc_error_plain(err, EIO, "read `%s`: %s", c->src, A->archive_error_string(in));
			goto out;
		}
		entries++;
		unsigned type = A->archive_entry_filetype(entry);
		if (c->rootless && (type == AE_IFCHR || type == AE_IFBLK)) {
			/* mknod is not allowed in a user namespace; /dev is made at run time */
			skipped_dev++;
			continue;
		}
		if (type == AE_IFSOCK)
			continue;
		if (A->archive_entry_uid(entry) >= c->uid_top || A->archive_entry_gid(entry) >= c->gid_top) {
			squashed_ids++;
			if (A->archive_entry_uid(entry) >= c->uid_top)
				A->archive_entry_set_uid(entry, 0);
			if (A->archive_entry_gid(entry) >= c->gid_top)
				A->archive_entry_set_gid(entry, 0);
		}
		if (type == AE_IFREG && !A->archive_entry_hardlink(entry))
			size += A->archive_entry_size(entry);
		r = A->archive_write_header(out, entry);
		if (r >= ARCHIVE_WARN && A->archive_entry_size(entry) > 0)
			r = copy_data(A, in, out);
		if (r >= ARCHIVE_WARN)
			r = A->archive_write_finish_entry(out);
		if (r < ARCHIVE_WARN) {
			const char *msg = A->archive_error_string(out);
			if (!msg)
				msg = A->archive_error_string(in);
			ret = diyc_error_plain(err, EPERM, "refusing `%s`: entry `%s`: %s", c->src,
					       A->archive_entry_pathname(entry), msg ? msg : "cannot extract");
			goto out;
		}
	}
	if (entries == 0) {
		ret = diyc_error_plain(err, EINVAL, "`%s` holds no files: nothing to import", c->src);
		goto out;
	}
	if (A->archive_write_close(out) < ARCHIVE_WARN) {
		ret = diyc_error_plain(err, EIO, "finish extracting `%s`: %s", c->src, A->archive_error_string(out));
		goto out;
	}
	if (skipped_dev)
		diyc_warn("skipped %u device node(s) of the image: a user namespace cannot create them "
			  "(diyc makes /dev at run time)", skipped_dev);
	if (squashed_ids)
		diyc_warn("%u file(s) owned by ids outside your subordinate range now belong to root", squashed_ids);
	c->result->size = size;
out:
	if (in)
		A->archive_read_free(in);
	if (out)
		A->archive_write_free(out);
	if (tar_fd >= 0) {
		/* the end-of-archive marker comes before the writer's last padding: take all of
		 * it, so the writer finishes cleanly */
		if (ret == 0) {
			char buf[4096];
			while (read(tar_fd, buf, sizeof(buf)) > 0)
				;
		}
		close(tar_fd);
	}
	if (tar_pid > 0) {
		int status;
		while (waitpid(tar_pid, &status, 0) < 0 && errno == EINTR)
			;
		bool tar_failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		if (tar_failed && (ret == 0 || read_failed)) {
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
	}
	if (ret < 0 && chdir("/") == 0)
		rm_rf(c->cleanup);
	return ret;
}

static int rm_in_userns(void *arg, struct diyc_error *err)
{
	int r = rm_rf(arg);
	if (r < 0)
		return diyc_error(err, -r, "remove `%s`", (const char *)arg);
	return 0;
}

int remove_tree(const struct userns_plan *plan, const char *path, struct diyc_error *err)
{
	int r = rm_rf(path);
	if (r == 0)
		return 0;
	if ((r == -EACCES || r == -EPERM || r == -ENOTEMPTY) && plan->enabled)
		return userns_run(plan, 0, rm_in_userns, (void *)path, err);
	return diyc_error(err, -r, "remove `%s`", path);
}

static void iso_time(char *buf, size_t n, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int set_name(const struct diyc_paths *p, const char *norm, const char *id, struct diyc_error *err)
{
	char file[NAME_MAX + 1], dir[PATH_MAX], tmp[NAME_MAX + 1], rnd[9];
	ref_to_file(norm, file, sizeof(file));
	snprintf(dir, sizeof(dir), "%s/images/names", p->data);
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return diyc_error(err, errno, "open `%s`", dir);
	random_hex(rnd, 4);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
	if (symlinkat(id, dfd, tmp) < 0)
		return diyc_error(err, errno, "name the image `%s`", norm);
	if (renameat(dfd, tmp, dfd, file) < 0) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		return diyc_error(err, e, "name the image `%s`", norm);
	}
	return 0;
}

int image_import(const struct diyc_paths *p, const struct userns_plan *plan, const char *src, const char *ref,
		 char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err)
{
	char norm[PATH_MAX] = "";
	int r = ref ? image_ref_normalize(ref, norm, sizeof(norm), err) : 0;
	if (r < 0)
		return r;
	struct stat st;
	if (strcmp(src, "-") && stat(src, &st) < 0)
		return diyc_error(err, errno, "`%s`", src);
	if (strcmp(src, "-") && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
		return diyc_error_plain(err, EINVAL, "`%s` is neither a directory nor an archive file", src);
	_cleanup_free_ char *abs_src = strcmp(src, "-") ? realpath(src, NULL) : strdup("-");
	if (!abs_src)
		return diyc_error(err, errno, "`%s`", src);
	if ((r = paths_ensure_data(p, "layers", err)) < 0 || (r = paths_ensure_data(p, "images/names", err)) < 0)
		return r;

	char id[IMAGE_ID_LEN + 1];
	if ((r = random_hex(id, IMAGE_ID_LEN / 2)) < 0)
		return diyc_error(err, -r, "random id");
	char tmp[PATH_MAX], diff[PATH_MAX], final[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/layers/.tmp-%.16s", p->data, id);
	snprintf(diff, sizeof(diff), "%s/diff", tmp);
	snprintf(final, sizeof(final), "%s/layers/%s", p->data, id);
	if (mkdir(tmp, 0700) < 0)
		return diyc_error(err, errno, "create `%s`", tmp);

	struct import_result *result = mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (result == MAP_FAILED) {
		rmdir(tmp);
		return diyc_error(err, errno, "mmap");
	}
	struct extract_ctx ctx = {
		.src = abs_src, .dst = diff, .cleanup = tmp, .rootless = plan->enabled,
		.uid_top = plan->enabled ? idmap_size(&plan->uids) : UINT32_MAX,
		.gid_top = plan->enabled ? idmap_size(&plan->gids) : UINT32_MAX,
		.result = result,
	};
	memset(result, 0, sizeof(*result));
	r = userns_run(plan, 0, extract, &ctx, err);
	uint64_t size = result->size;
	munmap(result, sizeof(*result));
	if (r < 0) {
		struct diyc_error ignore = { 0 };
		remove_tree(plan, tmp, &ignore);
		return r;
	}
	if (rename(tmp, final) < 0) {
		r = diyc_error(err, errno, "store layer `%s`", final);
		struct diyc_error ignore = { 0 };
		remove_tree(plan, tmp, &ignore);
		return r;
	}

	char created[32];
	iso_time(created, sizeof(created), time(NULL));
	struct json_object *j = json_object_new_object(), *layers = json_object_new_array();
	json_object_object_add(j, "id", json_object_new_string(id));
	json_object_object_add(j, "created", json_object_new_string(created));
	json_object_object_add(j, "size", json_object_new_int64((int64_t)size));
	json_object_array_add(layers, json_object_new_string(id));
	json_object_object_add(j, "layers", layers);
	json_object_object_add(j, "source", json_object_new_string(abs_src));
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY);
	char dir[PATH_MAX], name[NAME_MAX + 1];
	snprintf(dir, sizeof(dir), "%s/images", p->data);
	snprintf(name, sizeof(name), "%s.json", id);
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	r = dfd < 0 ? -errno : write_file_atomic(dfd, name, text, strlen(text), 0600);
	json_object_put(j);
	if (r == 0 && ref)
		r = set_name(p, norm, id, err);
	else
		diyc_error(err, -r, "write image metadata");
	if (r < 0) {
		if (dfd >= 0)
			unlinkat(dfd, name, 0);
		struct diyc_error ignore = { 0 };
		remove_tree(plan, final, &ignore);
		return r;
	}
	memcpy(id_out, id, sizeof(id));
	return 0;
}

static void human_size(char *buf, size_t n, uint64_t v)
{
	if (v < 1000)
		snprintf(buf, n, "%lluB", (unsigned long long)v);
	else if (v < 1000 * 1000)
		snprintf(buf, n, "%.3gkB", v / 1e3);
	else if (v < 1000ULL * 1000 * 1000)
		snprintf(buf, n, "%.3gMB", v / 1e6);
	else
		snprintf(buf, n, "%.3gGB", v / 1e9);
}

static void human_age(char *buf, size_t n, const char *iso)
{
	struct tm tm = { 0 };
	if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(buf, n, "unknown");
		return;
	}
	long d = (long)difftime(time(NULL), timegm(&tm));
	if (d < 60)
		snprintf(buf, n, "%ld seconds ago", d < 0 ? 0 : d);
	else if (d < 3600)
		snprintf(buf, n, "%ld minutes ago", d / 60);
	else if (d < 86400)
		snprintf(buf, n, "%ld hours ago", d / 3600);
	else
		snprintf(buf, n, "%ld days ago", d / 86400);
}

static void print_image_row(const struct diyc_paths *p, FILE *out, const char *repo, const char *tag, const char *id)
{
	struct json_object *j = read_image_json(p, id), *v;
	char size[32] = "?", age[64] = "unknown";
	if (j) {
		if (json_object_object_get_ex(j, "size", &v))
			human_size(size, sizeof(size), (uint64_t)json_object_get_int64(v));
		if (json_object_object_get_ex(j, "created", &v))
			human_age(age, sizeof(age), json_object_get_string(v));
		json_object_put(j);
	}
	fprintf(out, "%-30s %-12s %-14.12s %-16s %s\n", repo, tag, id, age, size);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the name files of the store, sorted; returns a malloc'd NULL-terminated vector. */
static char **list_names(const struct diyc_paths *p)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/images/names", p->data);
	size_t n = 0, cap = 16;
	char **v = calloc(cap, sizeof(char *));
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (v && d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(char *));
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = strdup(de->d_name);
		v[n] = NULL;
	}
	if (v)
		qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

int image_list(const struct diyc_paths *p, FILE *out, bool quiet, struct diyc_error *err)
{
	_cleanup_strv_ char **names = list_names(p);
	if (!names)
		return diyc_error(err, ENOMEM, "list images");
	if (!quiet)
		fprintf(out, "%-30s %-12s %-14s %-16s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
	char seen[4096] = "";
	for (char **n = names; *n; n++) {
		char ref[NAME_MAX + 1], id[IMAGE_ID_LEN + 1];
		file_to_ref(*n, ref, sizeof(ref));
		if (read_link_id(p, ref, id) < 0)
			continue;
		char *colon = strrchr(ref, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (quiet)
			fprintf(out, "%.12s\n", id);
		else
			print_image_row(p, out, ref, colon + 1, id);
		size_t used = strlen(seen);
		if (used + 14 < sizeof(seen))
			snprintf(seen + used, sizeof(seen) - used, "%.12s ", id);
	}
	/* images that lost their last name to a newer import */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/images", p->data);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strlen(de->d_name) != IMAGE_ID_LEN + 5 || strcmp(de->d_name + IMAGE_ID_LEN, ".json"))
			continue;
		char id[IMAGE_ID_LEN + 1];
		memcpy(id, de->d_name, IMAGE_ID_LEN);
		id[IMAGE_ID_LEN] = '\0';
		char shortid[14];
		snprintf(shortid, sizeof(shortid), "%.12s ", id);
		if (strstr(seen, shortid))
			continue;
		if (quiet)
			fprintf(out, "%.12s\n", id);
		else
			print_image_row(p, out, "<none>", "<none>", id);
	}
	return 0;
}

/* Name of a container whose config refers to the image, or false. */
static bool image_in_use(const struct diyc_paths *p, const char *id, char *who, size_t whosz)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/containers", p->data);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s/config.json", dir, de->d_name);
		struct json_object *j = json_object_from_file(path), *v;
		bool used = j && json_object_object_get_ex(j, "image_id", &v) &&
			    !strcmp(json_object_get_string(v) ?: "", id);
		if (j)
			json_object_put(j);
		if (used) {
			snprintf(who, whosz, "%s", de->d_name);
			return true;
		}
	}
	return false;
}

static bool layer_used_by_other(const struct diyc_paths *p, const char *layer, const char *except_id)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/images", p->data);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strlen(de->d_name) != IMAGE_ID_LEN + 5 || !strncmp(de->d_name, except_id, IMAGE_ID_LEN))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct json_object *j = json_object_from_file(path), *layers;
		bool used = false;
		if (j && json_object_object_get_ex(j, "layers", &layers))
			for (size_t i = 0; i < json_object_array_length(layers); i++)
				if (!strcmp(json_object_get_string(json_object_array_get_idx(layers, i)) ?: "", layer))
					used = true;
		if (j)
			json_object_put(j);
		if (used)
			return true;
	}
	return false;
}

int image_remove(const struct diyc_paths *p, const struct userns_plan *plan, const char *ref, bool force,
		 FILE *out, struct diyc_error *err)
{
	char norm[PATH_MAX], id[IMAGE_ID_LEN + 1], who[256];
	bool by_id;
	int r = lookup(p, ref, norm, id, &by_id, err);
	if (r < 0)
		return r;
	_cleanup_strv_ char **names = list_names(p);
	int other_names = 0;
	for (char **n = names; n && *n; n++) {
		char nref[NAME_MAX + 1], nid[IMAGE_ID_LEN + 1];
		file_to_ref(*n, nref, sizeof(nref));
		if (read_link_id(p, nref, nid) == 0 && !strcmp(nid, id) && (by_id || strcmp(nref, norm)))
			other_names++;
	}
	bool delete_image = by_id || other_names == 0;
	if (delete_image && !force && image_in_use(p, id, who, sizeof(who)))
		return diyc_error_plain(err, EBUSY, "image `%s` is used by container `%s`: remove the container "
			"first, or use `diyc image rm -f`", ref, who);
	for (char **n = names; n && *n; n++) {
		char nref[NAME_MAX + 1], nid[IMAGE_ID_LEN + 1], path[PATH_MAX];
		file_to_ref(*n, nref, sizeof(nref));
		if (read_link_id(p, nref, nid) < 0 || strcmp(nid, id) || (!by_id && strcmp(nref, norm)))
			continue;
		snprintf(path, sizeof(path), "%s/images/names/%s", p->data, *n);
		if (unlink(path) < 0 && errno != ENOENT)
			return diyc_error(err, errno, "untag `%s`", nref);
		fprintf(out, "Untagged: %s\n", nref);
	}
	if (!delete_image)
		return 0;
	struct json_object *j = read_image_json(p, id), *layers = NULL;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/images/%s.json", p->data, id);
	if (unlink(path) < 0 && errno != ENOENT) {
		if (j)
			json_object_put(j);
		return diyc_error(err, errno, "remove `%s`", path);
	}
	if (j && json_object_object_get_ex(j, "layers", &layers)) {
		for (size_t i = 0; i < json_object_array_length(layers); i++) {
			const char *l = json_object_get_string(json_object_array_get_idx(layers, i));
			if (!l || !is_hex_id(l, IMAGE_ID_LEN) || layer_used_by_other(p, l, id))
				continue;
			char ldir[PATH_MAX];
			snprintf(ldir, sizeof(ldir), "%s/layers/%s", p->data, l);
			r = remove_tree(plan, ldir, err);
			if (r < 0) {
				json_object_put(j);
				return r;
			}
		}
	}
	if (j)
		json_object_put(j);
	fprintf(out, "Deleted: %s\n", id);
	return 0;
}
