/* SPDX-License-Identifier: MIT */
/* export.c: `diyc image export`: an image as an OCI archive (an OCI image layout in a
 * tar), which skopeo, podman, buildah, umoci and diyc itself read.
 *
 * Layers are written uncompressed, as `podman save` does: each is the exact tar
 * stream it was imported from (image/tarsplit.c), so the archive matches the image's config,
 * its digests are the store's, and importing it again shares every layer. The config
 * is the blob the image came with. Only when a layer cannot give back its stream is a
 * new tar written and the config's diff_ids changed to match (a warning says so). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive-dl.h"
#include "digest.h"
#include "image.h"
#include "layer.h"
#include "lib/util.h"

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"

struct blob {
	char digest[DIGEST_HEX_LEN + 1];
	int fd;             /* a staged file, or -1 when text holds it */
	const char *text;
	uint64_t size;
};

struct archive_out {
	const struct archive_lib *A;
	struct archive *w;
	const char *dest;
};

static int write_failed(struct archive_out *o, struct diyc_error *err)
{
	int e = o->A->archive_errno(o->w);
	if (e > 0)
		return diyc_error(err, e, "write `%s`", o->dest);
	const char *m = o->A->archive_error_string(o->w);
	return diyc_error_plain(err, EIO, "write `%s`: %s", o->dest, m ? m : "failed");
}

static int add_entry(struct archive_out *o, const char *name, unsigned type, uint64_t size, struct diyc_error *err)
{
	const struct archive_lib *A = o->A;
	struct archive_entry *e = A->archive_entry_new();
	if (!e)
		return diyc_error(err, ENOMEM, "libarchive");
	A->archive_entry_set_pathname(e, name);
	A->archive_entry_set_filetype(e, type);
	A->archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	A->archive_entry_set_size(e, type == AE_IFDIR ? 0 : (la_int64_t)size);
	/* the same image gives the same archive */
	A->archive_entry_set_mtime(e, 0, 0);
	int r = A->archive_write_header(o->w, e);
	A->archive_entry_free(e);
	if (r < ARCHIVE_WARN)
		return write_failed(o, err);
	return 0;
}

static int add_data(struct archive_out *o, const void *buf, size_t n, struct diyc_error *err)
{
	if (n && o->A->archive_write_data(o->w, buf, n) < 0)
		return write_failed(o, err);
	return 0;
}

static int add_blob(struct archive_out *o, const struct blob *b, struct diyc_error *err)
{
	char name[128];
	snprintf(name, sizeof(name), "blobs/sha256/%s", b->digest);
	int r = add_entry(o, name, AE_IFREG, b->size, err);
	if (r < 0 || b->fd < 0)
		return r < 0 ? r : add_data(o, b->text, b->size, err);
	if (lseek(b->fd, 0, SEEK_SET) < 0)
		return diyc_error(err, errno, "read a staged layer");
	char buf[1 << 16];
	uint64_t left = b->size;
	while (left > 0) {
		ssize_t n = read(b->fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return diyc_error(err, n < 0 ? errno : EIO, "read a staged layer");
		if ((r = add_data(o, buf, n, err)) < 0)
			return r;
		left -= n;
	}
	return 0;
}

static void blob_of_text(struct blob *b, const char *text, size_t len)
{
	struct sha256 h;
	sha256_begin(&h);
	sha256_add(&h, text, len);
	sha256_hex(&h, b->digest);
	b->fd = -1;
	b->text = text;
	b->size = len;
}

static struct json_object *descriptor(const char *media_type, const struct blob *b)
{
	struct json_object *d = json_object_new_object();
	char digest[DIGEST_STR_LEN + 1];
	snprintf(digest, sizeof(digest), "sha256:%s", b->digest);
	json_object_object_add(d, "mediaType", json_object_new_string(media_type));
	json_object_object_add(d, "digest", json_object_new_string(digest));
	json_object_object_add(d, "size", json_object_new_int64((int64_t)b->size));
	return d;
}

static const char *json_text(struct json_object *j)
{
	return json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Replaces the config's diff_ids with those of the layers as written; its new text. */
static char *config_with_diff_ids(struct json_object *c, const struct blob *layers, size_t n)
{
	struct json_object *rootfs;
	if (!json_object_object_get_ex(c, "rootfs", &rootfs) || !json_object_is_type(rootfs, json_type_object))
		return NULL;
	struct json_object *ids = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		char d[DIGEST_STR_LEN + 1];
		snprintf(d, sizeof(d), "sha256:%s", layers[i].digest);
		json_object_array_add(ids, json_object_new_string(d));
	}
	json_object_object_add(rootfs, "diff_ids", ids);
	return strdup(json_text(c));
}

/* The config's os/architecture/variant as the descriptor's platform. */
static void platform_of(struct json_object *c, struct json_object *desc)
{
	struct json_object *os, *arch, *variant;
	if (json_object_object_get_ex(c, "os", &os) && json_object_is_type(os, json_type_string) &&
	    json_object_object_get_ex(c, "architecture", &arch) && json_object_is_type(arch, json_type_string)) {
		struct json_object *pl = json_object_new_object();
		json_object_object_add(pl, "architecture", json_object_get(arch));
		json_object_object_add(pl, "os", json_object_get(os));
		if (json_object_object_get_ex(c, "variant", &variant) && json_object_is_type(variant, json_type_string))
			json_object_object_add(pl, "variant", json_object_get(variant));
		json_object_object_add(desc, "platform", pl);
	}
}

/* Writes the image's layers (jl lists them top first) into files in stage, bottom first,
 * as the tar streams they were imported from; *changed when one had to be written anew. */
static int stage_layers(const struct diyc_paths *p, const struct userns_plan *plan, const char *id,
			struct json_object *jl, const char *stage, struct blob *layers, size_t n, bool *changed,
			struct diyc_error *err)
{
	/* the record lists layers top first; the manifest bottom first */
	*changed = false;
	for (size_t i = 0; i < n; i++) {
		const char *layer = json_object_get_string(json_object_array_get_idx(jl, n - 1 - i));
		char file[PATH_MAX];
		snprintf(file, sizeof(file), "%s/layer-%zu", stage, i);
		layers[i].fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (layers[i].fd < 0)
			return diyc_error(err, errno, "create `%s`", file);
		if (!layer || strlen(layer) != DIGEST_HEX_LEN || !layer_exists(p, layer))
			return diyc_error_plain(err, ENOENT, "layer %zu of image %.12s is missing from the store: remove "
						"the image and import it again", i + 1, id);
		int r = layer_export(p, plan, layer, layers[i].fd, layers[i].digest, err);
		if (r < 0)
			return r;
		struct stat st;
		if (fstat(layers[i].fd, &st) < 0)
			return diyc_error(err, errno, "stat `%s`", file);
		layers[i].size = (uint64_t)st.st_size;
		if (strcmp(layers[i].digest, layer))
			*changed = true;
	}
	return 0;
}

/* The config blob: the image's own, or, when a layer was written anew, one with the
 * diff_ids of the layers as written (its text in *new_config). */
static int config_blob(struct json_object *cj, const char *config, size_t config_len, const struct blob *layers,
		       size_t n, bool changed, const char *id, char **new_config, struct blob *cfg,
		       struct diyc_error *err)
{
	blob_of_text(cfg, config, config_len);
	if (!changed)
		return 0;
	*new_config = config_with_diff_ids(cj, layers, n);
	if (!*new_config)
		return diyc_error_plain(err, EBADMSG, "the config of image %.12s is damaged", id);
	blob_of_text(cfg, *new_config, strlen(*new_config));
	diyc_warn("the archive's config is new (sha256:%.12s): a layer was written as a new tar", cfg->digest);
	return 0;
}

/* The manifest (config and layers) and the index that points at it, with the image's
 * platform and, unless it was named by id, its name. */
static int make_manifest_index(struct json_object *cj, const char *norm, bool by_id, const struct blob *cfg,
			       const struct blob *layers, size_t n, char **manifest_text, struct blob *manifest,
			       char **index_text, struct blob *index_blob, struct diyc_error *err)
{
	struct json_object *m = json_object_new_object(), *ml = json_object_new_array();
	json_object_object_add(m, "schemaVersion", json_object_new_int(2));
	json_object_object_add(m, "mediaType", json_object_new_string(MT_MANIFEST));
	json_object_object_add(m, "config", descriptor(MT_CONFIG, cfg));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(ml, descriptor(MT_LAYER, &layers[i]));
	json_object_object_add(m, "layers", ml);
	*manifest_text = strdup(json_text(m));
	json_object_put(m);
	struct json_object *idx = json_object_new_object(), *mans = json_object_new_array();
	if (*manifest_text)
		blob_of_text(manifest, *manifest_text, strlen(*manifest_text));
	struct json_object *md = descriptor(MT_MANIFEST, manifest);
	platform_of(cj, md);
	if (!by_id) {
		/* the name as `diyc image import` and other tools read it back */
		struct json_object *ann = json_object_new_object();
		json_object_object_add(ann, "io.containerd.image.name", json_object_new_string(norm));
		json_object_object_add(ann, "org.opencontainers.image.ref.name", json_object_new_string(norm));
		json_object_object_add(md, "annotations", ann);
	}
	json_object_array_add(mans, md);
	json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
	json_object_object_add(idx, "mediaType", json_object_new_string(MT_INDEX));
	json_object_object_add(idx, "manifests", mans);
	*index_text = strdup(json_text(idx));
	json_object_put(idx);
	if (!*manifest_text || !*index_text)
		return diyc_error(err, ENOMEM, "export");
	blob_of_text(index_blob, *index_text, strlen(*index_text));
	return 0;
}

/* Standard output, or a new file beside dest (its name in tmp_dest, "" when there is
 * none) to be renamed into place when it is complete: a descriptor, or an error. */
static int open_dest(const char *dest, bool to_stdout, const char *rnd, char tmp_dest[PATH_MAX],
		     struct diyc_error *err)
{
	int fd;
	if (to_stdout) {
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	} else {
		/* written beside the destination and renamed: never a half archive under its name */
		snprintf(tmp_dest, PATH_MAX, "%s.tmp-%.8s", dest, rnd);
		fd = open(tmp_dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		int r = diyc_error(err, errno, "create `%s`", to_stdout ? "standard output" : dest);
		tmp_dest[0] = '\0';
		return r;
	}
	return fd;
}

/* The archive: oci-layout, the config, each layer once, the manifest and index.json. */
static int write_archive(struct archive_out *out, int dest_fd, const struct blob *cfg, const struct blob *layers,
			 size_t n, const struct blob *manifest, const char *index_text, const struct blob *index_blob,
			 struct diyc_error *err)
{
	const struct archive_lib *A = out->A;
	out->w = A->archive_write_new();
	if (!out->w)
		return diyc_error(err, ENOMEM, "libarchive");
	A->archive_write_set_format_pax_restricted(out->w);
	/* the same bytes to a pipe as to a file: no padding to a 10 KiB block */
	A->archive_write_set_bytes_in_last_block(out->w, 1);
	if (A->archive_write_open_fd(out->w, dest_fd) != ARCHIVE_OK)
		return write_failed(out, err);
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	int r;
	if ((r = add_entry(out, "oci-layout", AE_IFREG, strlen(layout), err)) < 0 ||
	    (r = add_data(out, layout, strlen(layout), err)) < 0 ||
	    (r = add_entry(out, "blobs", AE_IFDIR, 0, err)) < 0 ||
	    (r = add_entry(out, "blobs/sha256", AE_IFDIR, 0, err)) < 0 || (r = add_blob(out, cfg, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen = seen || !strcmp(layers[k].digest, layers[i].digest);
		if (!seen && (r = add_blob(out, &layers[i], err)) < 0)
			return r;
	}
	if ((r = add_blob(out, manifest, err)) < 0 ||
	    (r = add_entry(out, "index.json", AE_IFREG, index_blob->size, err)) < 0 ||
	    (r = add_data(out, index_text, index_blob->size, err)) < 0)
		return r;
	if (A->archive_write_close(out->w) < ARCHIVE_WARN)
		return write_failed(out, err);
	return 0;
}

/* The image's record: its layers (top first) and its config, parsed. */
static int read_record(const struct diyc_paths *p, const char *id, struct json_object **rec, struct json_object **jl,
		       struct json_object **cj, struct diyc_error *err)
{
	*rec = image_read_json(p, id);
	if (!*rec || !json_object_object_get_ex(*rec, "layers", jl) || !json_object_is_type(*jl, json_type_array) ||
	    !json_object_object_get_ex(*rec, "config", cj) || !json_object_is_type(*cj, json_type_object)) {
		json_object_put(*rec);
		*rec = NULL;
		return diyc_error_plain(err, EBADMSG, "the record of image %.12s is damaged: remove the image and "
					"import it again", id);
	}
	return 0;
}

/* The config blob as stored, and a staging directory of the store's tmp/, named by its
 * creator and locked while it works (image_clean_leftovers() removes it otherwise). */
static int begin_stage(const struct diyc_paths *p, const char *id, const char *rnd, char stage[PATH_MAX],
		       int *stage_lock, char **config, size_t *config_len, struct diyc_error *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/images/%s.config", p->data, id);
	snprintf(stage, PATH_MAX, "%s/tmp/export-%d-%s", p->data, (int)getpid(), rnd);
	int r = read_file_at(AT_FDCWD, path, 64 << 20, config, config_len);
	if (r < 0) {
		stage[0] = '\0';
		return diyc_error(err, -r, "read the config of image %.12s", id);
	}
	if ((r = paths_ensure_data(p, "tmp", err)) < 0) {
		stage[0] = '\0';
		return r;
	}
	if ((*stage_lock = mkdir_locked(stage, 0700)) < 0) {
		r = diyc_error(err, -*stage_lock, "create `%s`", stage);
		stage[0] = '\0';
		return r;
	}
	return 0;
}

void image_staged_free(struct image_staged *st)
{
	for (size_t i = 0; st->layers && i < st->n; i++)
		if (st->layers[i].fd >= 0)
			close(st->layers[i].fd);
	free(st->layers);
	free(st->config);
	free(st->manifest);
	if (st->stage[0])
		rm_rf(st->stage);
	if (st->stage_lock >= 0)
		close(st->stage_lock);
	memset(st, 0, sizeof(*st));
	st->stage_lock = -1;
}

int image_stage(const struct diyc_paths *p, const struct userns_plan *plan, const char *id, struct image_staged *st,
		struct diyc_error *err)
{
	memset(st, 0, sizeof(*st));
	st->stage_lock = -1;
	snprintf(st->id, sizeof(st->id), "%s", id);
	if (!archive_lib(err) || digest_init(err) < 0)
		return -ENOENT;
	struct json_object *rec, *jl, *cj;
	int r = read_record(p, id, &rec, &jl, &cj, err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(jl);
	struct blob *layers = calloc(n ? n : 1, sizeof(*layers)), cfg, manifest = { .fd = -1 }, index_blob;
	_cleanup_free_ char *config = NULL, *new_config = NULL, *index_text = NULL;
	size_t config_len = 0;
	char rnd[17];
	bool changed = false;
	random_hex(rnd, 8);
	for (size_t i = 0; layers && i < n; i++)
		layers[i].fd = -1;
	if (!layers)
		r = diyc_error(err, ENOMEM, "stage");
	if (r == 0)
		r = begin_stage(p, id, rnd, st->stage, &st->stage_lock, &config, &config_len, err);
	if (r == 0)
		r = stage_layers(p, plan, id, jl, st->stage, layers, n, &changed, err);
	if (r == 0)
		r = config_blob(cj, config, config_len, layers, n, changed, id, &new_config, &cfg, err);
	if (r == 0)
		r = make_manifest_index(cj, "", true, &cfg, layers, n, &st->manifest, &manifest, &index_text,
					&index_blob, err);
	if (r == 0) {
		st->config = new_config ? steal_ptr(new_config) : steal_ptr(config);
		st->config_len = cfg.size;
		snprintf(st->config_digest, sizeof(st->config_digest), "%s", cfg.digest);
		st->manifest_len = manifest.size;
		snprintf(st->manifest_digest, sizeof(st->manifest_digest), "%s", manifest.digest);
		st->layers = calloc(n ? n : 1, sizeof(*st->layers));
		if (!st->layers)
			r = diyc_error(err, ENOMEM, "stage");
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		snprintf(st->layers[i].digest, sizeof(st->layers[i].digest), "%s", layers[i].digest);
		st->layers[i].size = layers[i].size;
		st->layers[i].fd = steal_fd(&layers[i].fd);
		st->n = i + 1;
	}
	for (size_t i = 0; layers && i < n; i++)
		if (layers[i].fd >= 0)
			close(layers[i].fd);
	free(layers);
	json_object_put(rec);
	if (r < 0)
		image_staged_free(st);
	return r;
}

int image_export(const struct diyc_paths *p, const struct userns_plan *plan, const char *ref, const char *dest,
		 struct diyc_error *err)
{
	char norm[PATH_MAX], id[IMAGE_ID_LEN + 1];
	bool by_id;
	int r = image_lookup(p, ref, norm, id, &by_id, err);
	if (r < 0)
		return r;
	bool to_stdout = !strcmp(dest, "-");
	if (to_stdout && isatty(STDOUT_FILENO))
		return diyc_error_plain(err, EINVAL, "refusing to write an archive to a terminal: give a file, or "
					"redirect standard output");
	const struct archive_lib *A = archive_lib(err);
	if (!A || digest_init(err) < 0)
		return -ENOENT;
	struct json_object *rec, *jl, *cj;
	if ((r = read_record(p, id, &rec, &jl, &cj, err)) < 0)
		return r;
	size_t n = json_object_array_length(jl);
	_cleanup_free_ char *config = NULL, *new_config = NULL, *manifest_text = NULL, *index_text = NULL;
	struct blob cfg, manifest = { .fd = -1 }, index_blob;
	size_t config_len = 0;
	char stage[PATH_MAX] = "", tmp_dest[PATH_MAX] = "", rnd[17];
	struct blob *layers = calloc(n ? n : 1, sizeof(*layers));
	for (size_t i = 0; layers && i < n; i++)
		layers[i].fd = -1;
	random_hex(rnd, 8);
	struct archive_out out = { .A = A, .dest = to_stdout ? "standard output" : dest };
	_cleanup_close_ int dest_fd = -1, stage_lock = -1;
	bool changed = false;
	if (!layers) {
		r = diyc_error(err, ENOMEM, "export");
		goto out;
	}
	if ((r = begin_stage(p, id, rnd, stage, &stage_lock, &config, &config_len, err)) < 0)
		goto out;
	if ((r = stage_layers(p, plan, id, jl, stage, layers, n, &changed, err)) < 0)
		goto out;
	if ((r = config_blob(cj, config, config_len, layers, n, changed, id, &new_config, &cfg, err)) < 0)
		goto out;
	if ((r = make_manifest_index(cj, norm, by_id, &cfg, layers, n, &manifest_text, &manifest, &index_text,
				     &index_blob, err)) < 0)
		goto out;
	if ((dest_fd = open_dest(dest, to_stdout, rnd, tmp_dest, err)) < 0) {
		r = dest_fd;
		goto out;
	}
	if ((r = write_archive(&out, dest_fd, &cfg, layers, n, &manifest, index_text, &index_blob, err)) < 0)
		goto out;
	if (!to_stdout && (fsync(dest_fd) < 0 || rename(tmp_dest, dest) < 0)) {
		r = diyc_error(err, errno, "write `%s`", dest);
		goto out;
	}
	tmp_dest[0] = '\0';
out:
	if (out.w)
		A->archive_write_free(out.w);
	if (tmp_dest[0])
		unlink(tmp_dest);
	for (size_t i = 0; layers && i < n; i++)
		if (layers[i].fd >= 0)
			close(layers[i].fd);
	free(layers);
	if (stage[0])
		rm_rf(stage);
	json_object_put(rec);
	return r;
}
