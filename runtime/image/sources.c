/* SPDX-License-Identifier: MIT */
/* sources.c: OCI image layouts and archives, and docker archives, read into a config and a
 * list of layer blobs.
 *
 * Everything in a source is untrusted. Each of its files is opened once, below its root
 * (openat2 RESOLVE_IN_ROOT, no symlink at the end, non-blocking) and only when fstat()
 * says it is a regular file; that fd is what is read, hashed and extracted, so a symlink
 * to a host file, a FIFO or a device in an archive or a layout is refused, never read.
 * Blobs are named only by validated sha256 digests, and every blob read is checked
 * against the digest that names it (index -> manifest -> config; the layers are checked
 * while they are extracted). An archive is first unpacked into a temporary directory of
 * the store with libarchive's secure flags. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "archive-dl.h"
#include "sources.h"
#include "lib/util.h"

#define MAX_JSON (4 << 20)
#define MAX_INDEX_DEPTH 4

void host_platform(char *out, size_t size)
{
	struct utsname u;
	const char *arch = "amd64";
	if (uname(&u) == 0) {
		if (!strcmp(u.machine, "aarch64"))
			arch = "arm64";
		else if (!strncmp(u.machine, "armv7", 5))
			arch = "arm/v7";
		else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
			arch = "386";
		else if (!strcmp(u.machine, "ppc64le") || !strcmp(u.machine, "s390x") || !strcmp(u.machine, "riscv64"))
			arch = u.machine;
	}
	snprintf(out, size, "linux/%s", arch);
}

/* A file of the source, opened once below its root (see the top). */
static int open_in(int rootfd, const char *path, const char *what, struct diyc_error *err)
{
	int fd = open_regular_at(rootfd, path, RESOLVE_IN_ROOT, NULL);
	if (fd == -ENOENT)
		return diyc_error_plain(err, ENOENT, "the image's %s `%s` is missing from the source", what, path);
	if (fd < 0)
		return diyc_error_plain(err, -fd, "refusing the image's %s `%s`: %s", what, path, open_regular_error(fd));
	return fd;
}

static bool is_image_archive_name(const char *n)
{
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	return !strcmp(n, "oci-layout") || !strcmp(n, "index.json") || !strcmp(n, "manifest.json");
}

/* Plausible in an image archive: blobs/, repositories, *.json, <hex>.tar, <hex>/... */
static bool plausible_in_image_archive(const char *n)
{
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	if (!*n || !strcmp(n, ".") || str_has_prefix(n, "blobs") || !strcmp(n, "repositories"))
		return true;
	size_t len = strlen(n);
	if (len > 5 && !strcmp(n + len - 5, ".json"))
		return true;
	size_t hex = strspn(n, "0123456789abcdef");
	return hex >= 64 && (n[hex] == '/' || n[hex] == '\0' || !strcmp(n + hex, ".tar"));
}

int image_src_detect(int fd, const char *path, enum image_src_kind *kind, struct diyc_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return diyc_error(err, errno, "`%s`", path);
	if (S_ISDIR(st.st_mode)) {
		struct stat ls;
		*kind = fstatat(fd, "oci-layout", &ls, AT_SYMLINK_NOFOLLOW) == 0 ? SRC_OCI_LAYOUT : SRC_ROOTFS_DIR;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		*kind = SRC_ROOTFS_TAR; /* a pipe: read once, as a root filesystem */
		return 0;
	}
	const struct archive_lib *A = archive_lib(err);
	if (!A)
		return -ENOENT;
	struct archive *a = A->archive_read_new();
	if (!a)
		return diyc_error(err, ENOMEM, "libarchive");
	A->archive_read_support_filter_all(a);
	A->archive_read_support_format_tar(a);
	*kind = SRC_ROOTFS_TAR;
	if (A->archive_read_open_fd(a, fd, 1 << 16) == ARCHIVE_OK) {
		struct archive_entry *e;
		bool oci = false, docker = false;
		/* names until one decides: an image archive's marker files, or a root filesystem's */
		while (A->archive_read_next_header(a, &e) == ARCHIVE_OK) {
			const char *n = A->archive_entry_pathname(e);
			if (!n)
				break;
			if (is_image_archive_name(n)) {
				const char *b = strrchr(n, '/') ? strrchr(n, '/') + 1 : n;
				if (!strcmp(b, "manifest.json"))
					docker = true;
				else
					oci = true;
				if (oci && strcmp(b, "index.json") == 0)
					break;
			} else if (!plausible_in_image_archive(n)) {
				oci = docker = false;
				break;
			}
		}
		if (oci)
			*kind = SRC_OCI_ARCHIVE;
		else if (docker)
			*kind = SRC_DOCKER_ARCHIVE;
	}
	A->archive_read_free(a);
	/* what is read next reads the file from its start */
	if (lseek(fd, 0, SEEK_SET) < 0)
		return diyc_error(err, errno, "read `%s`", path);
	return 0;
}

/* Unpacks an archive's files and directories (and symlinks, read later only inside the
 * directory) into dir, which must exist and be empty. */
static int unpack(int fd, const char *path, const char *dir, uint64_t max_bytes, uint64_t *total_out,
		  struct diyc_error *err)
{
	uint64_t total = 0;
	const struct archive_lib *A = archive_lib(err);
	if (!A)
		return -ENOENT;
	struct archive *in = A->archive_read_new(), *out = A->archive_write_disk_new();
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;
	if (!in || !out) {
		ret = diyc_error(err, ENOMEM, "libarchive");
		goto out;
	}
	A->archive_read_support_filter_all(in);
	A->archive_read_support_format_tar(in);
	A->archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					  ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	if (A->archive_read_open_fd(in, fd, 1 << 16) != ARCHIVE_OK) {
		ret = diyc_error_plain(err, EIO, "read `%s`: %s", path, A->archive_error_string(in));
		goto out;
	}
	if (chdir(dir) < 0) {
		ret = diyc_error(err, errno, "enter `%s`", dir);
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = A->archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			ret = diyc_error_plain(err, EIO, "read `%s`: %s", path, A->archive_error_string(in));
			break;
		}
		unsigned type = A->archive_entry_filetype(e);
		const char *name = A->archive_entry_pathname(e);
		if (name && strlen(name) > 512) {
			ret = diyc_error_plain(err, EINVAL, "`%s` is not an image archive: entry `%.60s...` has a path "
					       "of %zu bytes", path, name, strlen(name));
			break;
		}
		if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
			ret = diyc_error_plain(err, EINVAL, "`%s` is not an image archive: entry `%s` is not a file or "
					       "directory", path, A->archive_entry_pathname(e));
			break;
		}
		/* the size an entry claims, not the bytes it carries: a sparse entry claims more */
		if (type == AE_IFREG && A->archive_entry_size(e) > 0)
			total += (uint64_t)A->archive_entry_size(e);
		if (max_bytes && total > max_bytes) {
			char limit[32];
			human_bytes(limit, sizeof(limit), max_bytes);
			ret = diyc_error_hint(err, diyc_error_plain(err, EFBIG, "refusing `%s`: it unpacks to more than "
								    "%s, the most this import may unpack", path, limit),
					      DIYC_HINT_MAX_SIZE, NULL);
			break;
		}
		r = A->archive_write_header(out, e);
		if (r >= ARCHIVE_WARN && A->archive_entry_size(e) > 0) {
			const void *buf;
			size_t len;
			la_int64_t off;
			while ((r = A->archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
				if (A->archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN) {
					r = ARCHIVE_FATAL;
					break;
				}
			}
			if (r == ARCHIVE_EOF)
				r = ARCHIVE_OK;
		}
		if (r >= ARCHIVE_WARN)
			r = A->archive_write_finish_entry(out);
		if (r < ARCHIVE_WARN) {
			const char *m = A->archive_error_string(out) ? A->archive_error_string(out)
								      : A->archive_error_string(in);
			ret = diyc_error_plain(err, EIO, "refusing `%s`: entry `%s`: %s", path,
					       A->archive_entry_pathname(e), m ? m : "cannot unpack");
			break;
		}
	}
	*total_out = total;
	if (ret == 0 && A->archive_write_close(out) < ARCHIVE_WARN)
		ret = diyc_error_plain(err, EIO, "unpack `%s`: %s", path, A->archive_error_string(out));
	if (cwd >= 0 && fchdir(cwd) < 0 && ret == 0)
		ret = diyc_error(err, errno, "chdir");
out:
	if (in)
		A->archive_read_free(in);
	if (out)
		A->archive_write_free(out);
	return ret;
}

/* Reads PATH below rootfd (at most MAX_JSON bytes) and checks its sha256 against hex
 * when hex is not NULL. */
static int read_verified(int rootfd, const char *path, const char *hex, const char *what, char **out, size_t *len,
			 struct diyc_error *err)
{
	_cleanup_close_ int fd = open_in(rootfd, path, what, err);
	if (fd < 0)
		return fd;
	int r = read_fd_all(fd, MAX_JSON, out, len);
	if (r == -EFBIG)
		return diyc_error_plain(err, EFBIG, "refusing the image's %s `%s`: it is larger than %d MiB", what,
					path, MAX_JSON >> 20);
	if (r < 0)
		return diyc_error(err, -r, "read the image's %s `%s`", what, path);
	if (hex) {
		struct sha256 h;
		char got[DIGEST_HEX_LEN + 1];
		sha256_begin(&h);
		sha256_add(&h, *out, *len);
		sha256_hex(&h, got);
		if (strcmp(got, hex)) {
			free(steal_ptr(*out));
			return diyc_error_plain(err, EBADMSG, "digest mismatch in the image's %s `%s`: it should be "
						"sha256:%s but is sha256:%s", what, path, hex, got);
		}
	}
	return 0;
}

struct json_object *json_parse_text(const char *text, size_t len, enum json_type type)
{
	struct json_tokener *t = json_tokener_new();
	struct json_object *j = t ? json_tokener_parse_ex(t, text, (int)len) : NULL;
	bool ok = j && json_tokener_get_error(t) == json_tokener_success && json_object_is_type(j, type);
	if (t)
		json_tokener_free(t);
	if (!ok) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

static struct json_object *parse_json(const char *text, size_t len, const char *what, struct diyc_error *err)
{
	struct json_object *j = json_parse_text(text, len, json_type_object);
	if (!j)
		diyc_error_plain(err, EBADMSG, "the image's %s is not valid JSON (an object)", what);
	return j;
}

const char *json_get_string(struct json_object *j, const char *key)
{
	struct json_object *v;
	if (!j || !json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

struct json_object *json_get_typed(struct json_object *j, const char *key, enum json_type type)
{
	struct json_object *v;
	if (!j || !json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int blob_path(const char *digest, char *out, size_t size, const char **hex)
{
	if (digest_parse(digest, hex) < 0)
		return -EINVAL;
	snprintf(out, size, "blobs/sha256/%s", *hex);
	return 0;
}

static bool platform_matches(struct json_object *desc, const char *want)
{
	struct json_object *p = json_get_typed(desc, "platform", json_type_object);
	if (!p)
		return false;
	const char *os = json_get_string(p, "os"), *arch = json_get_string(p, "architecture"), *variant = json_get_string(p, "variant");
	char have[128];
	snprintf(have, sizeof(have), "%s/%s%s%s", os ? os : "", arch ? arch : "", variant ? "/" : "",
		 variant ? variant : "");
	if (!strcmp(have, want))
		return true;
	/* linux/arm64 matches linux/arm64/v8 */
	size_t n = strlen(want);
	return variant && !strncmp(have, want, n) && have[n] == '/' && strchr(want, '/') == strrchr(want, '/');
}

/* Chooses a manifest descriptor from an index (following nested indexes). */
static int oci_choose(int rootfd, struct json_object *index, const char *platform, bool explicit, const char *ref,
		      int depth, char *manifest_digest, size_t size, char **name_out, struct diyc_error *err)
{
	struct json_object *mans = json_get_typed(index, "manifests", json_type_array);
	if (!mans || json_object_array_length(mans) == 0)
		return diyc_error_plain(err, EBADMSG, "the image's index.json lists no manifests");
	struct json_object *chosen = NULL;
	size_t n = json_object_array_length(mans), candidates = 0, platform_hits = 0;
	struct json_object *by_platform = NULL;
	char refs[512] = "";
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(mans, i);
		const char *name = json_get_string(json_get_typed(d, "annotations", json_type_object), "org.opencontainers.image.ref.name");
		if (name && strlen(refs) + strlen(name) + 3 < sizeof(refs))
			snprintf(refs + strlen(refs), sizeof(refs) - strlen(refs), "%s%s", refs[0] ? ", " : "", name);
		if (ref && depth == 0 && (!name || strcmp(name, ref)))
			continue;
		candidates++;
		chosen = d;
		if (platform_matches(d, platform)) {
			platform_hits++;
			by_platform = d;
		}
	}
	if (ref && depth == 0 && !candidates)
		return diyc_error_plain(err, ENOENT, "no image with ref `%s` in the source (its refs: %s)", ref,
					refs[0] ? refs : "none");
	if (candidates > 1) {
		if (platform_hits == 1)
			chosen = by_platform;
		else if (platform_hits == 0)
			return diyc_error_hint(err, diyc_error_plain(err, ENOENT, "the source has no image for platform %s "
								     "(its refs: %s)", platform, refs[0] ? refs : "none"),
					       DIYC_HINT_CHOOSE_REF_PLATFORM, NULL);
		else
			return diyc_error_hint(err, diyc_error_plain(err, EINVAL, "the source holds several images for "
								     "platform %s (its refs: %s)", platform,
								     refs[0] ? refs : "none"),
					       DIYC_HINT_CHOOSE_OCI_REF, NULL);
	}
	/* the host's platform only prefers; one asked for must fit */
	if (explicit && json_get_typed(chosen, "platform", json_type_object) && !platform_matches(chosen, platform))
		return diyc_error_plain(err, ENOENT, "the source has no image for platform %s", platform);
	if (depth == 0 && name_out) {
		/* the image's name, when the index gives a whole one (containerd's annotation, or
		 * a ref name that is more than a tag, as diyc and podman write it) */
		struct json_object *ann = json_get_typed(chosen, "annotations", json_type_object);
		const char *name = json_get_string(ann, "io.containerd.image.name");
		const char *rn = json_get_string(ann, "org.opencontainers.image.ref.name");
		if (!name && rn && strpbrk(rn, ":/"))
			name = rn;
		if (name)
			*name_out = strdup(name);
	}
	const char *digest = json_get_string(chosen, "digest"), *media = json_get_string(chosen, "mediaType"), *hex;
	char path[128];
	if (!digest || blob_path(digest, path, sizeof(path), &hex) < 0)
		return diyc_error_plain(err, EBADMSG, "the image's index.json has a bad digest `%s`", digest ? digest : "");
	if (media && (strstr(media, "image.index") || strstr(media, "manifest.list"))) {
		if (depth >= MAX_INDEX_DEPTH)
			return diyc_error_plain(err, EBADMSG, "the image's indexes are nested too deep");
		_cleanup_free_ char *text = NULL;
		size_t len;
		int r = read_verified(rootfd, path, hex, "index", &text, &len, err);
		if (r < 0)
			return r;
		struct json_object *sub = parse_json(text, len, "nested index", err);
		if (!sub)
			return -EBADMSG;
		r = oci_choose(rootfd, sub, platform, explicit, ref, depth + 1, manifest_digest, size, NULL, err);
		json_object_put(sub);
		return r;
	}
	snprintf(manifest_digest, size, "%s", hex);
	return 0;
}

/* The config blob (checked against hex) and its diff_ids, which must be n. */
static int read_config(int rootfd, const char *path, const char *hex, size_t n, struct image_src *s,
		       struct diyc_error *err)
{
	int r = read_verified(rootfd, path, hex, "config", &s->config, &s->config_len, err);
	if (r < 0)
		return r;
	if (!hex) {
		struct sha256 h;
		sha256_begin(&h);
		sha256_add(&h, s->config, s->config_len);
		sha256_hex(&h, s->config_digest);
	} else {
		snprintf(s->config_digest, sizeof(s->config_digest), "%s", hex);
	}
	struct json_object *cfg = parse_json(s->config, s->config_len, "config", err);
	if (!cfg)
		return -EBADMSG;
	struct json_object *ids = json_get_typed(json_get_typed(cfg, "rootfs", json_type_object), "diff_ids", json_type_array);
	r = 0;
	if (!ids || json_object_array_length(ids) != n) {
		r = diyc_error_plain(err, EBADMSG, "the image's config lists %zu layer digest(s) for %zu layer(s)",
				     ids ? json_object_array_length(ids) : 0, n);
	} else {
		for (size_t i = 0; i < n && r == 0; i++) {
			const char *id = json_object_get_string(json_object_array_get_idx(ids, i)), *idhex;
			if (digest_parse(id, &idhex) < 0)
				r = diyc_error_plain(err, EBADMSG, "the image's config has a bad layer digest `%s`",
						     id ? id : "");
			else
				snprintf(s->layers[i].diff_id, sizeof(s->layers[i].diff_id), "%s", idhex);
		}
	}
	json_object_put(cfg);
	return r;
}

bool image_config_is_platform(const char *config, size_t len, const char *platform)
{
	struct json_object *cfg = json_parse_text(config, len, json_type_object);
	struct json_object *desc = json_object_new_object(), *p = json_object_new_object();
	const char *keys[] = { "os", "architecture", "variant" };
	for (size_t i = 0; i < 3; i++) {
		const char *v = json_get_string(cfg, keys[i]);
		if (v)
			json_object_object_add(p, keys[i], json_object_new_string(v));
	}
	json_object_object_add(desc, "platform", p);
	bool ok = platform_matches(desc, platform);
	/* an arm64 config without a variant is v8, the only one there is */
	if (!ok && !json_get_string(cfg, "variant") && str_has_prefix(platform, "linux/arm64/v8") &&
	    !platform[strlen("linux/arm64/v8")])
		ok = platform_matches(desc, "linux/arm64");
	json_object_put(desc);
	json_object_put(cfg);
	return ok;
}

/* An image asked for by platform must be of that platform, by its config's word. */
static int check_config_platform(const struct image_src *s, const char *platform, struct diyc_error *err)
{
	if (!image_config_is_platform(s->config, s->config_len, platform))
		return diyc_error_plain(err, ENOENT, "the image in the source is not for platform %s", platform);
	return 0;
}

static int alloc_layers(struct image_src *s, size_t n, struct diyc_error *err)
{
	s->layers = calloc(n ? n : 1, sizeof(*s->layers));
	if (!s->layers)
		return diyc_error(err, ENOMEM, "layers");
	s->n_layers = n;
	for (size_t i = 0; i < n; i++)
		s->layers[i].fd = -1;
	return 0;
}

static int open_oci(int rootfd, const char *root, const char *platform, bool explicit, const char *ref,
		    struct image_src *s, struct diyc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_verified(rootfd, "oci-layout", NULL, "oci-layout file", &text, &len, err);
	if (r < 0)
		return r;
	struct json_object *lay = parse_json(text, len, "oci-layout file", err);
	if (!lay)
		return -EBADMSG;
	json_object_put(lay);
	free(steal_ptr(text));
	if ((r = read_verified(rootfd, "index.json", NULL, "index.json", &text, &len, err)) < 0)
		return r;
	struct json_object *index = parse_json(text, len, "index.json", err);
	if (!index)
		return -EBADMSG;
	char mhex[DIGEST_HEX_LEN + 1];
	r = oci_choose(rootfd, index, platform, explicit, ref, 0, mhex, sizeof(mhex), &s->ref_name, err);
	json_object_put(index);
	if (r < 0)
		return r;
	char path[128];
	snprintf(path, sizeof(path), "blobs/sha256/%s", mhex);
	free(steal_ptr(text));
	if ((r = read_verified(rootfd, path, mhex, "manifest", &text, &len, err)) < 0)
		return r;
	struct json_object *man = parse_json(text, len, "manifest", err);
	if (!man)
		return -EBADMSG;
	struct json_object *layers = json_get_typed(man, "layers", json_type_array);
	const char *cdigest = json_get_string(json_get_typed(man, "config", json_type_object), "digest"), *chex;
	char cpath[128];
	if (!layers || !cdigest) {
		json_object_put(man);
		return diyc_error_plain(err, EBADMSG, "the image's manifest lacks its config or layers");
	}
	if (blob_path(cdigest, cpath, sizeof(cpath), &chex) < 0) {
		json_object_put(man);
		return diyc_error_plain(err, EBADMSG, "the image's manifest has a bad config digest `%s`", cdigest);
	}
	if ((r = alloc_layers(s, json_object_array_length(layers), err)) < 0) {
		json_object_put(man);
		return r;
	}
	for (size_t i = 0; i < s->n_layers && r == 0; i++) {
		struct json_object *d = json_object_array_get_idx(layers, i);
		const char *digest = json_get_string(d, "digest"), *media = json_get_string(d, "mediaType"), *hex;
		char bpath[128];
		if (!digest || blob_path(digest, bpath, sizeof(bpath), &hex) < 0) {
			r = diyc_error_plain(err, EBADMSG, "the image's manifest has a bad layer digest `%s`",
					     digest ? digest : "");
			break;
		}
		if (media && !strstr(media, "tar")) {
			r = diyc_error_plain(err, ENOTSUP, "layer %zu has media type `%s`, which diyc cannot unpack",
					     i + 1, media);
			break;
		}
		if ((r = open_in(rootfd, bpath, "layer blob", err)) < 0)
			break;
		s->layers[i].fd = r;
		r = 0;
		snprintf(s->layers[i].blob_digest, sizeof(s->layers[i].blob_digest), "%s", hex);
		s->layers[i].blob = xasprintf("%s/%s", root, bpath);
	}
	if (r == 0)
		r = read_config(rootfd, cpath, chex, s->n_layers, s, err);
	if (r == 0 && explicit)
		r = check_config_platform(s, platform, err);
	json_object_put(man);
	return r;
}

static int open_docker(int rootfd, const char *root, const char *platform, const char *ref, struct image_src *s,
		       struct diyc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_verified(rootfd, "manifest.json", NULL, "manifest.json", &text, &len, err);
	if (r < 0)
		return r;
	struct json_object *list = json_parse_text(text, len, json_type_array);
	if (!list || json_object_array_length(list) == 0) {
		json_object_put(list);
		return diyc_error_plain(err, EBADMSG, "the image's manifest.json is not a JSON list of images");
	}
	struct json_object *chosen = NULL;
	const char *chosen_tag = NULL;
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n && !chosen; i++) {
		struct json_object *m = json_object_array_get_idx(list, i);
		struct json_object *tags = json_get_typed(m, "RepoTags", json_type_array);
		size_t nt = tags ? json_object_array_length(tags) : 0;
		if (!ref) {
			if (n == 1) {
				chosen = m;
				chosen_tag = nt ? json_object_get_string(json_object_array_get_idx(tags, 0)) : NULL;
			}
			continue;
		}
		for (size_t k = 0; k < nt; k++) {
			const char *tag = json_object_get_string(json_object_array_get_idx(tags, k));
			if (tag && !strcmp(tag, ref)) {
				chosen = m;
				chosen_tag = tag;
			}
		}
	}
	if (!chosen) {
		r = ref ? diyc_error_plain(err, ENOENT, "no image with ref `%s` in the source's manifest.json", ref)
			: diyc_error_hint(err, diyc_error_plain(err, EINVAL, "the source holds %zu images", n),
					  DIYC_HINT_CHOOSE_REF, NULL);
		json_object_put(list);
		return r;
	}
	struct json_object *layers = json_get_typed(chosen, "Layers", json_type_array);
	const char *config = json_get_string(chosen, "Config");
	if (!layers || !config) {
		json_object_put(list);
		return diyc_error_plain(err, EBADMSG, "the image's manifest.json lacks Config or Layers");
	}
	if (chosen_tag)
		s->ref_name = strdup(chosen_tag);
	if ((r = alloc_layers(s, json_object_array_length(layers), err)) < 0) {
		json_object_put(list);
		return r;
	}
	for (size_t i = 0; i < s->n_layers && r == 0; i++) {
		const char *lp = json_object_get_string(json_object_array_get_idx(layers, i));
		if (!lp) {
			r = diyc_error_plain(err, EBADMSG, "the image's manifest.json has a bad layer name");
			break;
		}
		if ((r = open_in(rootfd, lp, "layer", err)) < 0)
			break;
		s->layers[i].fd = r;
		r = 0;
		s->layers[i].blob = xasprintf("%s/%s", root, lp);
	}
	if (r == 0)
		r = read_config(rootfd, config, NULL, s->n_layers, s, err);
	if (r == 0 && platform)
		r = check_config_platform(s, platform, err);
	json_object_put(list);
	return r;
}

int image_src_open(int srcfd, const char *path, enum image_src_kind kind, const char *tmpdir, const char *platform,
		   const char *ref, uint64_t max_bytes, struct image_src *s, struct diyc_error *err)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	char host[64];
	bool explicit = platform != NULL;
	if (!platform) {
		host_platform(host, sizeof(host));
		platform = host;
	}
	int r = digest_init(err);
	if (r < 0)
		return r;
	const char *root = path;
	if (kind == SRC_OCI_ARCHIVE || kind == SRC_DOCKER_ARCHIVE) {
		s->unpacked = strdup(tmpdir);
		if (!s->unpacked)
			return diyc_error(err, ENOMEM, "unpack");
		if ((r = unpack(srcfd, path, tmpdir, max_bytes, &s->unpacked_bytes, err)) < 0)
			return r;
		root = tmpdir;
	}
	/* a layout is read below the directory that was opened, once */
	_cleanup_close_ int rootfd = s->unpacked ? open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
						 : fcntl(srcfd, F_DUPFD_CLOEXEC, 3);
	if (rootfd < 0)
		return diyc_error(err, errno, "open `%s`", root);
	if (kind == SRC_DOCKER_ARCHIVE)
		return open_docker(rootfd, root, explicit ? platform : NULL, ref, s, err);
	return open_oci(rootfd, root, platform, explicit, ref, s, err);
}

void image_src_close(struct image_src *s)
{
	for (size_t i = 0; s->layers && i < s->n_layers; i++) {
		free(s->layers[i].blob);
		if (s->layers[i].fd >= 0)
			close(s->layers[i].fd);
	}
	free(s->layers);
	free(s->config);
	free(s->ref_name);
	if (s->unpacked)
		rm_rf(s->unpacked);
	free(s->unpacked);
	memset(s, 0, sizeof(*s));
}
