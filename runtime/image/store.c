/* SPDX-License-Identifier: MIT */
/* store.c: importing a root filesystem (a directory or a tarball such as `docker
 * export` writes) or an image format's source (image/sources.c) into the store,
 * listing, resolving, inspecting, removing and pruning images. It prints nothing: the
 * list comes back as rows and what is removed is handed to the caller's callback, and it
 * knows no containers: whether one uses an image is the caller's answer (struct
 * image_remove_ops).
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
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "digest.h"
#include "image.h"
#include "layer.h"
#include "sources.h"
#include "lib/util.h"

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

/* A registry as the first component of a name: HOST[:PORT] (a DNS name or an IPv4 address),
 * as a pulled image is named (127.0.0.1:5000/library/busybox). */
static bool registry_component_ok(const char *s, size_t n)
{
	if (n > 2 && s[0] == '[') {
		/* [IPv6][:PORT] */
		const char *end = memchr(s, ']', n);
		if (!end || end == s + 1)
			return false;
		for (const char *c = s + 1; c < end; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				return false;
		size_t rest = n - (size_t)(end + 1 - s);
		if (rest == 0)
			return true;
		if (end[1] != ':' || rest < 2 || rest > 6)
			return false;
		for (const char *c = end + 2; c < s + n; c++)
			if (*c < '0' || *c > '9')
				return false;
		return true;
	}
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;
	if (hn == 0 || (colon && (n - hn - 1 == 0 || n - hn - 1 > 5)))
		return false;
	for (size_t i = hn + 1; colon && i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	for (size_t i = 0; i < hn; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && !((c == '.' || c == '-') && i > 0 && i < hn - 1))
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
		bool registry = c == ref && end < ref + nlen && registry_component_ok(c, end - c);
		if (!registry && !ref_component_ok(c, end - c))
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

struct json_object *image_read_json(const struct diyc_paths *p, const char *id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/images/%s.json", p->data, id);
	return json_object_from_file(path);
}

/* Whether the image's record lists the repo digest (REPO@sha256:HEX). */
static bool has_repo_digest(struct json_object *j, const char *rd)
{
	struct json_object *a;
	if (!j || !json_object_object_get_ex(j, "repo_digests", &a) || !json_object_is_type(a, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)) ?: "", rd))
			return true;
	return false;
}

/* Finds the image a repo digest names (REPO[:TAG]@sha256:HEX, the tag ignored). */
static int find_by_repo_digest(const struct diyc_paths *p, const char *ref, char id[IMAGE_ID_LEN + 1])
{
	const char *at = strchr(ref, '@'), *slash = memrchr(ref, '/', at - ref);
	const char *colon = memchr(slash ? slash : ref, ':', at - (slash ? slash : ref));
	_cleanup_free_ char *rd = xasprintf("%.*s%s", (int)((colon ? colon : at) - ref), ref, at);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/images", p->data);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (rd && d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n != IMAGE_ID_LEN + 5 || strcmp(de->d_name + IMAGE_ID_LEN, ".json"))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct json_object *j = json_object_from_file(path);
		bool hit = has_repo_digest(j, rd);
		json_object_put(j);
		if (hit) {
			memcpy(id, de->d_name, IMAGE_ID_LEN);
			id[IMAGE_ID_LEN] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}

int image_add_repo_digest(const struct diyc_paths *p, const char *id, const char *repo_digest, struct diyc_error *err)
{
	struct json_object *j = image_read_json(p, id), *a;
	if (!j)
		return diyc_error_plain(err, EBADMSG, "image %.12s is damaged: its record cannot be read", id);
	int r = 0;
	if (!has_repo_digest(j, repo_digest)) {
		if (!json_object_object_get_ex(j, "repo_digests", &a) || !json_object_is_type(a, json_type_array)) {
			a = json_object_new_array();
			json_object_object_add(j, "repo_digests", a);
		}
		/* one digest per repository: the newest */
		const char *at = strchr(repo_digest, '@');
		size_t rl = at ? (size_t)(at - repo_digest) : strlen(repo_digest);
		for (size_t i = json_object_array_length(a); i-- > 0;) {
			const char *o = json_object_get_string(json_object_array_get_idx(a, i));
			if (o && !strncmp(o, repo_digest, rl) && o[rl] == '@')
				json_object_array_del_idx(a, i, 1);
		}
		json_object_array_add(a, json_object_new_string(repo_digest));
		const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
		char dir[PATH_MAX], name[NAME_MAX + 1];
		snprintf(dir, sizeof(dir), "%s/images", p->data);
		snprintf(name, sizeof(name), "%s.json", id);
		_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		r = dfd < 0 ? -errno : write_file_atomic(dfd, name, text, strlen(text), 0600);
		if (r < 0)
			r = diyc_error(err, -r, "write the image's metadata");
	}
	json_object_put(j);
	return r;
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

static char **list_names(const struct diyc_paths *p);
static void file_to_ref(const char *file, char *out, size_t outsz);

/* A short name (busybox:latest, user/app:1) of an image pulled from a registry, stored as
 * HOST/PATH:TAG: the one name whose path is the short one (or library/ and it, as docker.io
 * names it). Several registries' images of that name: ambiguous, unless one is docker.io's. */
static int find_by_short_name(const struct diyc_paths *p, char norm[PATH_MAX], char id[IMAGE_ID_LEN + 1],
			      struct diyc_error *err)
{
	const char *slash = strchr(norm, '/');
	size_t first = slash ? (size_t)(slash - norm) : 0;
	if (slash && (memchr(norm, '.', first) || memchr(norm, ':', first) || !strncmp(norm, "localhost/", 10)))
		return -ENOENT; /* it names a registry */
	_cleanup_strv_ char **names = list_names(p);
	char found[NAME_MAX + 1] = "", other[NAME_MAX + 1] = "";
	size_t nl = strlen(norm);
	for (char **n = names; n && *n; n++) {
		char ref[NAME_MAX + 1];
		file_to_ref(*n, ref, sizeof(ref));
		const char *rest = strchr(ref, '/');
		if (!rest)
			continue;
		rest++;
		if (str_has_prefix(rest, "library/") && !slash)
			rest += strlen("library/");
		if (strlen(rest) != nl || strcmp(rest, norm))
			continue;
		bool docker = str_has_prefix(ref, "docker.io/");
		if (!found[0] || (docker && !str_has_prefix(found, "docker.io/"))) {
			if (found[0])
				snprintf(other, sizeof(other), "%s", found);
			snprintf(found, sizeof(found), "%s", ref);
		} else if (!(str_has_prefix(found, "docker.io/") && !docker)) {
			snprintf(other, sizeof(other), "%s", ref);
		}
	}
	if (!found[0])
		return -ENOENT;
	if (other[0] && !str_has_prefix(found, "docker.io/"))
		return diyc_error_plain(err, ENOTUNIQ, "`%s` is ambiguous: it is the short name of %s and of %s; give the "
					"full name", norm, found, other);
	snprintf(norm, PATH_MAX, "%s", found);
	return read_link_id(p, norm, id) == 0 ? 0 : -ENOENT;
}

int image_lookup(const struct diyc_paths *p, const char *ref, char norm[PATH_MAX], char id[IMAGE_ID_LEN + 1],
		  bool *by_id, struct diyc_error *err)
{
	*by_id = false;
	struct diyc_error nerr = { 0 };
	const char *at = strchr(ref, '@');
	if (at) {
		snprintf(norm, PATH_MAX, "%s", ref);
		if (find_by_repo_digest(p, ref, id) == 0)
			return 0;
		return diyc_error_hint(err, diyc_error_plain(err, ENOENT, "image `%s` not found", ref),
				       DIYC_HINT_NO_IMAGE, ref);
	}
	int r = image_ref_normalize(ref, norm, PATH_MAX, &nerr);
	if (r == 0) {
		r = read_link_id(p, norm, id);
		if (r == 0)
			return 0;
		if ((r = find_by_short_name(p, norm, id, err)) != -ENOENT)
			return r;
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
	return diyc_error_hint(err, diyc_error_plain(err, ENOENT, "image `%s` not found", norm), DIYC_HINT_NO_IMAGE,
			       norm);
}

static char **strv_from_json(struct json_object *a)
{
	if (!a || !json_object_is_type(a, json_type_array))
		return NULL;
	size_t n = json_object_array_length(a), k = 0;
	char **v = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; v && i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		if (json_object_is_type(e, json_type_string))
			v[k++] = strdup(json_object_get_string(e));
	}
	return v;
}

static char *str_from_json(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
	    !*json_object_get_string(v))
		return NULL;
	return strdup(json_object_get_string(v));
}

/* The keys of an object ({"80/tcp": {}}), NULL-terminated; NULL when out of memory. */
static char **object_keys(struct json_object *o)
{
	size_t n = 0;
	char **keys = calloc(json_object_object_length(o) + 1, sizeof(char *));
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (keys && !(keys[n++] = strdup(key))) {
			strv_free(keys);
			return NULL;
		}
	}
	return keys;
}

/* Env, Entrypoint, Cmd, WorkingDir, User, Labels, ExposedPorts and Volumes of an image
 * config's "config". */
static void defaults_from_json(struct json_object *c, struct image_defaults *d)
{
	struct json_object *v;
	if (json_object_object_get_ex(c, "Env", &v))
		d->env = strv_from_json(v);
	if (json_object_object_get_ex(c, "Entrypoint", &v) && (d->entrypoint = strv_from_json(v)) && d->entrypoint[0])
		d->has_entrypoint = true;
	if (json_object_object_get_ex(c, "Cmd", &v) && (d->cmd = strv_from_json(v)) && d->cmd[0])
		d->has_cmd = true;
	d->workdir = str_from_json(c, "WorkingDir");
	d->user = str_from_json(c, "User");
	if (json_object_object_get_ex(c, "Labels", &v) && json_object_is_type(v, json_type_object)) {
		size_t n = 0;
		d->labels = calloc(json_object_object_length(v) + 1, sizeof(char *));
		json_object_object_foreach(v, key, val) {
			if (d->labels && json_object_is_type(val, json_type_string))
				d->labels[n++] = xasprintf("%s=%s", key, json_object_get_string(val));
		}
	}
	if (json_object_object_get_ex(c, "ExposedPorts", &v) && json_object_is_type(v, json_type_object))
		d->exposed = object_keys(v);
	if (json_object_object_get_ex(c, "Volumes", &v) && json_object_is_type(v, json_type_object))
		d->volumes = object_keys(v);
}

int image_resolve(const struct diyc_paths *p, const char *ref, struct image *img, struct diyc_error *err)
{
	char norm[PATH_MAX];
	bool by_id;
	memset(img, 0, sizeof(*img));
	int r = image_lookup(p, ref, norm, img->id, &by_id, err);
	if (r < 0)
		return r;
	struct json_object *j = image_read_json(p, img->id), *layers;
	if (!j || !json_object_object_get_ex(j, "layers", &layers) ||
	    json_object_get_type(layers) != json_type_array || json_object_array_length(layers) == 0) {
		if (j)
			json_object_put(j);
		char shortid[13];
		snprintf(shortid, sizeof(shortid), "%.12s", img->id);
		return diyc_error_hint(err, diyc_error_plain(err, EBADMSG, "image `%s` (%s) is damaged", ref, shortid),
				       DIYC_HINT_IMAGE_DAMAGED, shortid);
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
	struct json_object *cfg = NULL, *c = NULL;
	if (json_object_object_get_ex(j, "config", &cfg) && json_object_object_get_ex(cfg, "config", &c) &&
	    json_object_is_type(c, json_type_object))
		defaults_from_json(c, &img->defaults);
	json_object_put(j);
	if (!img->layer_dirs)
		return diyc_error(err, ENOMEM, "image");
	return 0;
}

void image_free(struct image *img)
{
	strv_free(steal_ptr(img->layer_dirs));
	strv_free(img->defaults.env);
	strv_free(img->defaults.entrypoint);
	strv_free(img->defaults.cmd);
	free(img->defaults.workdir);
	free(img->defaults.user);
	strv_free(img->defaults.labels);
	strv_free(img->defaults.exposed);
	strv_free(img->defaults.volumes);
	memset(&img->defaults, 0, sizeof(img->defaults));
}

static void iso_time(char *buf, size_t n, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int image_set_name(const struct diyc_paths *p, const char *norm, const char *id, struct diyc_error *err)
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

/* A config for a root filesystem imported as it is: one layer, nothing else set. */
static char *rootfs_config(const char *diff_id, const char *created)
{
	char platform[64];
	host_platform(platform, sizeof(platform));
	char *slash = strchr(platform, '/');
	struct json_object *j = json_object_new_object(), *rootfs = json_object_new_object(),
			   *ids = json_object_new_array(), *hist = json_object_new_array(), *h = json_object_new_object();
	json_object_object_add(j, "created", json_object_new_string(created));
	json_object_object_add(j, "architecture", json_object_new_string(slash ? slash + 1 : "amd64"));
	json_object_object_add(j, "os", json_object_new_string("linux"));
	json_object_object_add(j, "config", json_object_new_object());
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	_cleanup_free_ char *d = xasprintf("sha256:%s", diff_id);
	json_object_array_add(ids, json_object_new_string(d ? d : ""));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(j, "rootfs", rootfs);
	json_object_object_add(h, "created", json_object_new_string(created));
	json_object_object_add(h, "created_by", json_object_new_string("diyc image import"));
	json_object_array_add(hist, h);
	json_object_object_add(j, "history", hist);
	char *text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return text;
}

/* Writes images/<id>.json (the store's record: layers top first, the config) and
 * images/<id>.config (the config blob as it came, so its digest stays the id). */
int image_write(const struct diyc_paths *p, const char *id, const char *config, size_t config_len,
		       char layers[][DIGEST_HEX_LEN + 1], size_t n, uint64_t size, const char *source,
		       struct diyc_error *err)
{
	char created[32], dir[PATH_MAX], name[NAME_MAX + 1];
	iso_time(created, sizeof(created), time(NULL));
	struct json_object *j = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(j, "id", json_object_new_string(id));
	json_object_object_add(j, "created", json_object_new_string(created));
	json_object_object_add(j, "size", json_object_new_int64((int64_t)size));
	for (size_t i = n; i-- > 0;)
		json_object_array_add(arr, json_object_new_string(layers[i]));
	json_object_object_add(j, "layers", arr);
	json_object_object_add(j, "source", json_object_new_string(source));
	struct json_object *cfg = json_parse_text(config, config_len, json_type_object);
	if (cfg)
		json_object_object_add(j, "config", cfg);
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(dir, sizeof(dir), "%s/images", p->data);
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : 0;
	if (r == 0) {
		snprintf(name, sizeof(name), "%s.config", id);
		r = write_file_atomic(dfd, name, config, config_len, 0600);
	}
	if (r == 0) {
		snprintf(name, sizeof(name), "%s.json", id);
		r = write_file_atomic(dfd, name, text, strlen(text), 0600);
	}
	json_object_put(j);
	if (r < 0)
		return diyc_error(err, -r, "write the image's metadata");
	return 0;
}

/* Whether NAME below dirfd, a temporary directory of an import or export, is left over:
 * nobody holds its lock (mkdir_locked), and it is named by a process that is gone
 * (PREFIX-PID-RANDOM), or it is a minute old (the pid may be another's now), or it is a
 * day old (an older diyc made it, without a lock). */
static bool leftover(int dirfd, const char *name, const char *prefix)
{
	if (!str_has_prefix(name, prefix))
		return false;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return false;
	if (st.st_mtime < time(NULL) - 86400)
		return true;
	int gone = pid_prefix_gone(name + strlen(prefix));
	return gone > 0 || (gone == 0 && st.st_mtime < time(NULL) - 60);
}

void image_clean_leftovers(const struct diyc_paths *p, const struct userns_plan *plan)
{
	static const struct { const char *dir, *prefix; } where[] = {
		{ "tmp", "unpack-" }, { "tmp", "export-" }, { "layers", ".tmp-" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", p->data, where[i].dir);
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!leftover(dirfd(d), de->d_name, where[i].prefix))
				continue;
			char path[PATH_MAX];
			struct diyc_error ignore = { 0 };
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			remove_tree(plan, path, &ignore);
		}
	}
}

/* The source of an import, opened once: what is read of it is read from this fd. A named
 * pipe is opened as stdin is, waiting for its writer; anything else without blocking. */
static int open_source(const char *src, struct diyc_error *err)
{
	if (!strcmp(src, "-")) {
		int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? diyc_error(err, errno, "standard input") : fd;
	}
	struct stat st;
	if (stat(src, &st) < 0)
		return diyc_error(err, errno, "`%s`", src);
	int fd = open(src, O_RDONLY | O_CLOEXEC | (S_ISFIFO(st.st_mode) ? 0 : O_NONBLOCK));
	if (fd < 0)
		return diyc_error(err, errno, "`%s`", src);
	if (fstat(fd, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		return diyc_error_plain(err, EINVAL, "`%s` is neither a directory nor an archive file", src);
	}
	return fd;
}

/* The layer blob's digest, read from the fd it was opened as, which is then read again
 * from its start for the extraction. */
static int check_blob(const struct layer_src *l, size_t i, const char *src, struct diyc_error *err)
{
	if (!l->blob_digest[0])
		return 0;
	char got[DIGEST_HEX_LEN + 1];
	int r = lseek(l->fd, 0, SEEK_SET) < 0 ? -errno : sha256_file(l->fd, got);
	if (r == 0 && lseek(l->fd, 0, SEEK_SET) < 0)
		r = -errno;
	if (r < 0)
		return diyc_error(err, -r, "read layer blob `%s`", l->blob);
	if (strcmp(got, l->blob_digest))
		return diyc_error_plain(err, EBADMSG, "digest mismatch in layer %zu of `%s`: the blob should be "
					"sha256:%s but is sha256:%s", i + 1, src, l->blob_digest, got);
	return 0;
}

/* An import under way: its source, the limit on what it may unpack, and its layers. */
struct import_job {
	const struct diyc_paths *p;
	const struct userns_plan *plan;
	const char *src;        /* as given, for messages */
	const char *abs_src;    /* its absolute path, or "-" */
	int srcfd;
	enum image_src_kind kind;
	uint64_t max_size;      /* the most the whole import may unpack */
	uint64_t expanded;      /* what it unpacked so far */
	struct image_src s;     /* an image format's source, opened */
	size_t n;
	char (*layers)[DIGEST_HEX_LEN + 1]; /* bottom first */
	bool *created;          /* which of them this import added to the store */
	uint64_t size;
	unsigned skipped_devices;
};

static bool is_rootfs(enum image_src_kind kind)
{
	return kind == SRC_ROOTFS_DIR || kind == SRC_ROOTFS_TAR;
}

/* What a hostile archive may expand to: by default, no more than fits on the disk. */
static uint64_t import_limit(const struct diyc_paths *p, const struct import_opts *o)
{
	uint64_t max_size = o->max_size;
	struct statvfs sv;
	if (!max_size && statvfs(p->data, &sv) == 0)
		max_size = (uint64_t)sv.f_bavail * sv.f_frsize / 10 * 9;
	if (!max_size)
		max_size = 1;
	return max_size;
}

/* Opens an image format's source (an archive is unpacked into a directory that tmplock
 * holds): its layers and config in j->s. */
static int open_image_source(struct import_job *j, const struct import_opts *o, int *tmplock,
			     struct diyc_error *err)
{
	char tmpdir[PATH_MAX], rnd[17];
	random_hex(rnd, 8);
	/* named by its creator, and locked while it works: image_clean_leftovers() */
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp/unpack-%d-%s", j->p->data, (int)getpid(), rnd);
	bool archive = j->kind == SRC_OCI_ARCHIVE || j->kind == SRC_DOCKER_ARCHIVE;
	if (archive && (*tmplock = mkdir_locked(tmpdir, 0700)) < 0)
		return diyc_error(err, -*tmplock, "create `%s`", tmpdir);
	int r = image_src_open(j->srcfd, j->abs_src, j->kind, tmpdir, o->platform, o->ref, j->max_size, &j->s, err);
	if (r < 0) {
		image_src_close(&j->s);
		if (archive)
			rm_rf(tmpdir);
		return r;
	}
	j->n = j->s.n_layers;
	/* the archive's unpacked copy and the layers share the limit: both are on disk */
	j->expanded = j->s.unpacked_bytes;
	if (j->n == 0) {
		image_src_close(&j->s);
		return diyc_error_plain(err, EINVAL, "the image in `%s` has no layers", j->src);
	}
	return 0;
}

/* The import would unpack more than its limit. */
static int import_too_big(const struct import_job *j, struct diyc_error *err)
{
	char limit[32];
	human_bytes(limit, sizeof(limit), j->max_size);
	return diyc_error_hint(err, diyc_error_plain(err, EFBIG, "refusing `%s`: its layers expand to more than %s, "
						     "the most this import may unpack", j->src, limit),
			       DIYC_HINT_MAX_SIZE, NULL);
}

/* Layer i of an image format: its blob checked, and stored unless the store has it. */
static int import_image_layer(struct import_job *j, size_t i, uint64_t *lsize, uint64_t *lexpanded,
			      struct diyc_error *err)
{
	struct layer_src *l = &j->s.layers[i];
	int r = check_blob(l, i, j->src, err);
	if (r < 0)
		return r;
	snprintf(j->layers[i], sizeof(j->layers[i]), "%s", l->diff_id);
	if (layer_exists(j->p, l->diff_id)) {
		/* stored once, shared */
		j->size += layer_size(j->p, l->diff_id);
		return 0;
	}
	if (j->expanded >= j->max_size)
		return import_too_big(j, err);
	struct layer_opts lo = { .src = l->blob, .from_fd = true, .fd = l->fd, .image_layer = true,
				 .expect_diff_id = l->diff_id, .max_bytes = j->max_size - j->expanded,
				 .skipped_devices = &j->skipped_devices };
	r = layer_import(j->p, j->plan, &lo, j->layers[i], lsize, lexpanded, &j->created[i], err);
	if (r == -EFBIG)
		/* the limit is the whole import's: say so, not the layer's share */
		r = import_too_big(j, err);
	return r;
}

/* Stores the layers: the root filesystem as one, or the image's, bottom first. */
static int import_layers(struct import_job *j, struct diyc_error *err)
{
	j->layers = calloc(j->n, sizeof(*j->layers));
	j->created = calloc(j->n, sizeof(bool));
	if (!j->layers || !j->created)
		return diyc_error(err, ENOMEM, "layers");
	for (size_t i = 0; i < j->n; i++) {
		uint64_t lsize = 0, lexpanded = 0;
		int r;
		if (is_rootfs(j->kind)) {
			struct layer_opts lo = { .src = j->abs_src, .from_fd = true, .fd = j->srcfd,
						 .max_bytes = j->max_size, .skipped_devices = &j->skipped_devices };
			r = layer_import(j->p, j->plan, &lo, j->layers[i], &lsize, &lexpanded, &j->created[i], err);
		} else {
			r = import_image_layer(j, i, &lsize, &lexpanded, err);
		}
		if (r < 0)
			return r;
		j->size += lsize;
		j->expanded += lexpanded;
	}
	return 0;
}

/* Writes the image's record, with the source's config (or one made for a root
 * filesystem), and names it; id gets its id. */
static int write_imported(struct import_job *j, const char *ref, char norm[PATH_MAX], char id[IMAGE_ID_LEN + 1],
			  struct diyc_error *err)
{
	_cleanup_free_ char *own_config = NULL;
	const char *config = j->s.config;
	size_t config_len = j->s.config_len;
	if (is_rootfs(j->kind)) {
		char now[32];
		iso_time(now, sizeof(now), time(NULL));
		own_config = rootfs_config(j->layers[0], now);
		if (!own_config)
			return diyc_error(err, ENOMEM, "config");
		config = own_config;
		config_len = strlen(own_config);
		struct sha256 h;
		sha256_begin(&h);
		sha256_add(&h, config, config_len);
		sha256_hex(&h, id);
	} else {
		snprintf(id, IMAGE_ID_LEN + 1, "%s", j->s.config_digest);
	}
	int r = image_write(j->p, id, config, config_len, j->layers, j->n, j->size, j->abs_src, err);
	if (r < 0)
		return r;
	struct diyc_error nerr = { 0 };
	const char *given = j->s.ref_name;
	/* docker's short names: docker.io/library/NAME is NAME */
	if (given && str_has_prefix(given, "docker.io/library/"))
		given += strlen("docker.io/library/");
	else if (given && str_has_prefix(given, "docker.io/"))
		given += strlen("docker.io/");
	if (!ref && given && image_ref_normalize(given, norm, PATH_MAX, &nerr) == 0)
		ref = norm;
	if (ref)
		r = image_set_name(j->p, norm, id, err);
	if (r < 0) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/images/%s.json", j->p->data, id);
		unlink(path);
		snprintf(path, sizeof(path), "%s/images/%s.config", j->p->data, id);
		unlink(path);
	}
	return r;
}

/* Nothing of a failed import stays: the layers it added go too. */
static void remove_created_layers(const struct import_job *j)
{
	for (size_t i = 0; j->created && i < j->n; i++) {
		if (!j->created[i])
			continue;
		char path[PATH_MAX];
		struct diyc_error ignore = { 0 };
		snprintf(path, sizeof(path), "%s/layers/%s", j->p->data, j->layers[i]);
		remove_tree(j->plan, path, &ignore);
	}
}

int image_import(const struct diyc_paths *p, const struct userns_plan *plan, const char *src, const char *ref,
		 const struct import_opts *o, char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err)
{
	char norm[PATH_MAX] = "";
	int r = ref ? image_ref_normalize(ref, norm, sizeof(norm), err) : 0;
	if (r < 0)
		return r;
	_cleanup_close_ int srcfd = open_source(src, err);
	if (srcfd < 0)
		return srcfd;
	enum image_src_kind kind = SRC_ROOTFS_TAR; /* stdin is a stream, read once */
	if (strcmp(src, "-") && (r = image_src_detect(srcfd, src, &kind, err)) < 0)
		return r;
	if ((o->platform || o->ref) && is_rootfs(kind))
		return diyc_error_hint(err, diyc_error_plain(err, EINVAL, "`%s` is a root file system, not an image "
							     "archive or layout", src),
				       DIYC_HINT_NOT_IMAGE_SOURCE, NULL);
	_cleanup_free_ char *abs_src = strcmp(src, "-") ? realpath(src, NULL) : strdup("-");
	if (!abs_src)
		return diyc_error(err, errno, "`%s`", src);
	if ((r = paths_ensure_data(p, "layers", err)) < 0 || (r = paths_ensure_data(p, "images/names", err)) < 0 ||
	    (r = paths_ensure_data(p, "tmp", err)) < 0 || (r = digest_init(err)) < 0)
		return r;
	image_clean_leftovers(p, plan);

	struct import_job j = { .p = p, .plan = plan, .src = src, .abs_src = abs_src, .srcfd = srcfd, .kind = kind,
				.max_size = import_limit(p, o), .n = 1 };
	_cleanup_close_ int tmplock = -1;
	if (!is_rootfs(kind) && (r = open_image_source(&j, o, &tmplock, err)) < 0)
		return r;
	char id[IMAGE_ID_LEN + 1];
	r = import_layers(&j, err);
	if (r == 0)
		r = write_imported(&j, ref, norm, id, err);
	if (r < 0) {
		remove_created_layers(&j);
	} else {
		memcpy(id_out, id, sizeof(id));
		layer_warn_skipped_devices(j.skipped_devices);
	}
	free(j.layers);
	free(j.created);
	image_src_close(&j.s);
	return r;
}

/* The row of image id under repo:tag, with the size and creation time its record gives. */
static void fill_row(const struct diyc_paths *p, struct image_row *row, const char *repo, const char *tag,
		     const char *id)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->repo, sizeof(row->repo), "%s", repo);
	snprintf(row->tag, sizeof(row->tag), "%s", tag);
	snprintf(row->id, sizeof(row->id), "%s", id);
	struct json_object *j = image_read_json(p, id), *v;
	if (j) {
		if (json_object_object_get_ex(j, "size", &v)) {
			row->have_size = true;
			row->size = (uint64_t)json_object_get_int64(v);
		}
		if (json_object_object_get_ex(j, "created", &v) && json_object_get_string(v))
			snprintf(row->created, sizeof(row->created), "%s", json_object_get_string(v));
		/* the digest this repository knows the image by; an image pulled by digest alone
		 * is listed under the repository it came from, as docker lists it */
		size_t rl = strlen(repo);
		bool unnamed = !strcmp(repo, "<none>");
		for (size_t i = 0; json_object_object_get_ex(j, "repo_digests", &v) &&
				   json_object_is_type(v, json_type_array) && i < json_object_array_length(v); i++) {
			const char *rd = json_object_get_string(json_object_array_get_idx(v, i)), *at;
			if (rd && unnamed && !row->digest[0] && (at = strchr(rd, '@')) &&
			    (size_t)(at - rd) < sizeof(row->repo)) {
				snprintf(row->repo, sizeof(row->repo), "%.*s", (int)(at - rd), rd);
				snprintf(row->digest, sizeof(row->digest), "%s", at + 1);
			} else if (rd && !unnamed && !strncmp(rd, repo, rl) && rd[rl] == '@') {
				snprintf(row->digest, sizeof(row->digest), "%s", rd + rl + 1);
			}
		}
		json_object_put(j);
	}
}

/* Appends a row to *rows (*n of them, room for *cap). */
static struct image_row *add_row(struct image_row **rows, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct image_row *nr = realloc(*rows, ncap * sizeof(**rows));
		if (!nr)
			return NULL;
		*rows = nr;
		*cap = ncap;
	}
	return &(*rows)[(*n)++];
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

/* The images no name points at (those that lost their last name to a newer import), as
 * rows after the named ones; seen holds the short ids listed already. */
static int add_unnamed_rows(const struct diyc_paths *p, const char *seen, struct image_row **rows, size_t *n,
			    size_t *cap)
{
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
		struct image_row *row = add_row(rows, n, cap);
		if (!row)
			return -ENOMEM;
		fill_row(p, row, "<none>", "<none>", id);
	}
	return 0;
}

int image_list(const struct diyc_paths *p, struct image_row **rows, size_t *n, struct diyc_error *err)
{
	*rows = NULL;
	*n = 0;
	size_t cap = 0;
	_cleanup_strv_ char **names = list_names(p);
	if (!names)
		return diyc_error(err, ENOMEM, "list images");
	char seen[4096] = "";
	for (char **nm = names; *nm; nm++) {
		char ref[NAME_MAX + 1], id[IMAGE_ID_LEN + 1];
		file_to_ref(*nm, ref, sizeof(ref));
		if (read_link_id(p, ref, id) < 0)
			continue;
		char *colon = strrchr(ref, ':');
		if (!colon)
			continue;
		*colon = '\0';
		struct image_row *row = add_row(rows, n, &cap);
		if (!row)
			goto oom;
		fill_row(p, row, ref, colon + 1, id);
		size_t used = strlen(seen);
		if (used + 14 < sizeof(seen))
			snprintf(seen + used, sizeof(seen) - used, "%.12s ", id);
	}
	if (add_unnamed_rows(p, seen, rows, n, &cap) == 0)
		return 0;
oom:
	free(steal_ptr(*rows));
	*n = 0;
	return diyc_error(err, ENOMEM, "list images");
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

static void report(const struct image_remove_ops *ops, enum image_removed kind, const char *what)
{
	if (ops && ops->removed)
		ops->removed(kind, what, ops->data);
}

int image_remove(const struct diyc_paths *p, const struct userns_plan *plan, const char *ref, bool force,
		 const struct image_remove_ops *ops, struct diyc_error *err)
{
	char norm[PATH_MAX], id[IMAGE_ID_LEN + 1], who[256];
	bool by_id;
	int r = image_lookup(p, ref, norm, id, &by_id, err);
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
	if (delete_image && !force && ops->in_use(id, who, sizeof(who), ops->data))
		return diyc_error_hint(err, diyc_error_plain(err, EBUSY, "image `%s` is used by container `%s`", ref, who),
				       DIYC_HINT_IMAGE_IN_USE, NULL);
	for (char **n = names; n && *n; n++) {
		char nref[NAME_MAX + 1], nid[IMAGE_ID_LEN + 1], path[PATH_MAX];
		file_to_ref(*n, nref, sizeof(nref));
		if (read_link_id(p, nref, nid) < 0 || strcmp(nid, id) || (!by_id && strcmp(nref, norm)))
			continue;
		snprintf(path, sizeof(path), "%s/images/names/%s", p->data, *n);
		if (unlink(path) < 0 && errno != ENOENT)
			return diyc_error(err, errno, "untag `%s`", nref);
		report(ops, IMAGE_UNTAGGED, nref);
	}
	if (!delete_image)
		return 0;
	struct json_object *j = image_read_json(p, id), *layers = NULL;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/images/%s.json", p->data, id);
	if (unlink(path) < 0 && errno != ENOENT) {
		if (j)
			json_object_put(j);
		return diyc_error(err, errno, "remove `%s`", path);
	}
	snprintf(path, sizeof(path), "%s/images/%s.config", p->data, id);
	unlink(path);
	snprintf(path, sizeof(path), "%s/images/%s.pulled", p->data, id);
	unlink(path);
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
	report(ops, IMAGE_DELETED, id);
	return 0;
}

/* The names that point at image id, as "name:tag" strings in a JSON array. */
static struct json_object *names_of(const struct diyc_paths *p, const char *id)
{
	struct json_object *a = json_object_new_array();
	_cleanup_strv_ char **names = list_names(p);
	for (char **n = names; n && *n; n++) {
		char nref[NAME_MAX + 1], nid[IMAGE_ID_LEN + 1];
		file_to_ref(*n, nref, sizeof(nref));
		if (read_link_id(p, nref, nid) == 0 && !strcmp(nid, id))
			json_object_array_add(a, json_object_new_string(nref));
	}
	return a;
}

static struct json_object *copy_key(struct json_object *from, const char *key)
{
	struct json_object *v;
	if (!from || !json_object_object_get_ex(from, key, &v))
		return NULL;
	return json_tokener_parse(json_object_to_json_string(v));
}

int image_inspect(const struct diyc_paths *p, const char *ref, struct json_object *arr, struct diyc_error *err)
{
	char norm[PATH_MAX], id[IMAGE_ID_LEN + 1];
	bool by_id;
	int r = image_lookup(p, ref, norm, id, &by_id, err);
	if (r < 0)
		return r;
	struct json_object *j = image_read_json(p, id);
	if (!j)
		return diyc_error_plain(err, EBADMSG, "image `%s` (%.12s) is damaged", ref, id);
	struct json_object *o = json_object_new_object(), *cfg = NULL, *layers = NULL, *rootfs = json_object_new_object(),
			   *ids = json_object_new_array();
	_cleanup_free_ char *full = xasprintf("sha256:%s", id);
	json_object_object_add(o, "Id", json_object_new_string(full ? full : id));
	json_object_object_add(o, "RepoTags", names_of(p, id));
	struct json_object *rds = copy_key(j, "repo_digests");
	json_object_object_add(o, "RepoDigests", rds ? rds : json_object_new_array());
	json_object_object_add(o, "Created", copy_key(j, "created"));
	json_object_object_add(o, "Size", copy_key(j, "size"));
	json_object_object_get_ex(j, "config", &cfg);
	json_object_object_add(o, "Architecture", copy_key(cfg, "architecture"));
	json_object_object_add(o, "Os", copy_key(cfg, "os"));
	struct json_object *c = copy_key(cfg, "config");
	json_object_object_add(o, "Config", c ? c : json_object_new_object());
	if (json_object_object_get_ex(j, "layers", &layers) && json_object_is_type(layers, json_type_array))
		for (size_t i = json_object_array_length(layers); i-- > 0;) {
			_cleanup_free_ char *d = xasprintf("sha256:%s", json_object_get_string(
								json_object_array_get_idx(layers, i)));
			json_object_array_add(ids, json_object_new_string(d ? d : ""));
		}
	json_object_object_add(rootfs, "Type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "Layers", ids);
	json_object_object_add(o, "RootFS", rootfs);
	json_object_object_add(o, "Source", copy_key(j, "source"));
	json_object_put(j);
	json_object_array_add(arr, o);
	return 0;
}

/* Whether any image lists the layer. */
static bool layer_used(const struct diyc_paths *p, const char *layer)
{
	return layer_used_by_other(p, layer, "");
}

int image_prune(const struct diyc_paths *p, const struct userns_plan *plan, const struct image_remove_ops *ops,
		uint64_t *reclaimed, struct diyc_error *err)
{
	char dir[PATH_MAX], who[256];
	/* the images it removes are reported as pruned, not as `image rm` reports them */
	struct image_remove_ops quiet = { .in_use = ops->in_use, .data = ops->data };
	*reclaimed = 0;
	/* images without a name that no container uses: what docker calls dangling */
	snprintf(dir, sizeof(dir), "%s/images", p->data);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char id[IMAGE_ID_LEN + 1];
		if (strlen(de->d_name) != IMAGE_ID_LEN + 5 || strcmp(de->d_name + IMAGE_ID_LEN, ".json"))
			continue;
		snprintf(id, sizeof(id), "%.*s", IMAGE_ID_LEN, de->d_name);
		struct json_object *names = names_of(p, id);
		bool named = json_object_array_length(names) > 0;
		json_object_put(names);
		if (named || ops->in_use(id, who, sizeof(who), ops->data))
			continue;
		struct json_object *j = image_read_json(p, id), *sz;
		if (j && json_object_object_get_ex(j, "size", &sz))
			*reclaimed += (uint64_t)json_object_get_int64(sz);
		json_object_put(j);
		int r = image_remove(p, plan, id, false, &quiet, err);
		if (r < 0)
			return r;
		report(ops, IMAGE_PRUNED_IMAGE, id);
	}
	/* layers no image lists (left by an interrupted import or removal) */
	snprintf(dir, sizeof(dir), "%s/layers", p->data);
	_cleanup_closedir_ DIR *ld = opendir(dir);
	while (ld && (de = readdir(ld))) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (is_hex_id(de->d_name, IMAGE_ID_LEN) && strlen(de->d_name) == IMAGE_ID_LEN) {
			if (layer_used(p, de->d_name))
				continue;
			*reclaimed += layer_size(p, de->d_name);
			if (remove_tree(plan, path, err) < 0)
				return -EIO;
			report(ops, IMAGE_PRUNED_LAYER, de->d_name);
		}
	}
	/* what an interrupted import or export left: temporary layers, unpacked archives */
	image_clean_leftovers(p, plan);
	return 0;
}
