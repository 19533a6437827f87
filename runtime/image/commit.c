/* SPDX-License-Identifier: MIT */
/* commit.c: `diyc commit`: a container's changes (its overlay upper dir) become a new
 * layer on top of its image's layers, and a new image. The caller opens the container
 * and hands over what is needed as plain data (struct commit_source): this file knows
 * images, not containers.
 *
 * The upper dir is read as a tar stream in which overlay's whiteouts (0/0 character
 * devices) and opaque directories (the overlay.opaque xattr) are written the way image
 * layers carry them (`.wh.NAME`, `.wh..wh..opq`), and imported like any layer: stored
 * once by digest, with its tar-split record, so an export gives the same digests.
 * The new config is the image's, with the container's command, environment, working
 * directory and user (as docker commit does), the new layer's diff_id and a history
 * entry. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "commit.h"
#include "layer.h"
#include "lib/util.h"

static struct json_object *strv_to_json(char **v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; v && i < n && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* Labels as an image config has them: {"KEY": "VALUE"}. */
struct json_object *image_labels_json(char **labels)
{
	struct json_object *o = json_object_new_object();
	for (; labels && *labels; labels++) {
		size_t k = strcspn(*labels, "=");
		_cleanup_free_ char *key = strndup(*labels, k);
		if (key)
			json_object_object_add(o, key, json_object_new_string((*labels)[k] ? *labels + k + 1 : ""));
	}
	return o;
}

/* Exposed ports as an image config has them: {"80/tcp": {}}. */
struct json_object *image_exposed_json(char **ports)
{
	struct json_object *o = json_object_new_object();
	for (; ports && *ports; ports++)
		json_object_object_add(o, *ports, json_object_new_object());
	return o;
}

static void now_rfc3339(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The container's settings in the image's Config, as the container ran with them. */
static void apply_config(struct json_object *cfg, const struct commit_config *c)
{
	struct json_object *conf;
	if (!json_object_object_get_ex(cfg, "config", &conf) || !json_object_is_type(conf, json_type_object)) {
		conf = json_object_new_object();
		json_object_object_add(cfg, "config", conf);
	}
	_cleanup_strv_ char **env = strv_dedup(c->env, true);
	json_object_object_add(conf, "Env", strv_to_json(env, SIZE_MAX));
	if (c->entrypoint_len >= 0) {
		size_t ep = (size_t)c->entrypoint_len;
		if (ep)
			json_object_object_add(conf, "Entrypoint", strv_to_json(c->command, ep));
		else
			json_object_object_del(conf, "Entrypoint");
		json_object_object_add(conf, "Cmd", strv_to_json(c->command + ep, SIZE_MAX));
	}
	if (c->workdir)
		json_object_object_add(conf, "WorkingDir", json_object_new_string(c->workdir));
	if (c->user)
		json_object_object_add(conf, "User", json_object_new_string(c->user));
	/* a container recorded by an older diyc has no labels of its own: keep the image's */
	if (c->labels && c->labels[0])
		json_object_object_add(conf, "Labels", image_labels_json(c->labels));
	if (c->exposed && c->exposed[0])
		json_object_object_add(conf, "ExposedPorts", image_exposed_json(c->exposed));
}

/* The new layer in the config: its creation time, author, diff_id and history entry. */
static void add_layer(struct json_object *cfg, const char *layer, const struct commit_opts *o)
{
	struct json_object *rootfs, *ids, *hist;
	char now[32], diff[DIGEST_STR_LEN + 1];
	now_rfc3339(now, sizeof(now));
	snprintf(diff, sizeof(diff), "sha256:%s", layer);
	json_object_object_add(cfg, "created", json_object_new_string(now));
	if (o->author)
		json_object_object_add(cfg, "author", json_object_new_string(o->author));
	if (!json_object_object_get_ex(cfg, "rootfs", &rootfs) || !json_object_is_type(rootfs, json_type_object)) {
		rootfs = json_object_new_object();
		json_object_object_add(rootfs, "type", json_object_new_string("layers"));
		json_object_object_add(cfg, "rootfs", rootfs);
	}
	if (!json_object_object_get_ex(rootfs, "diff_ids", &ids) || !json_object_is_type(ids, json_type_array)) {
		ids = json_object_new_array();
		json_object_object_add(rootfs, "diff_ids", ids);
	}
	json_object_array_add(ids, json_object_new_string(diff));
	if (!json_object_object_get_ex(cfg, "history", &hist) || !json_object_is_type(hist, json_type_array)) {
		hist = json_object_new_array();
		json_object_object_add(cfg, "history", hist);
	}
	struct json_object *h = json_object_new_object();
	json_object_object_add(h, "created", json_object_new_string(now));
	json_object_object_add(h, "created_by", json_object_new_string("diyc commit"));
	if (o->author)
		json_object_object_add(h, "author", json_object_new_string(o->author));
	if (o->message)
		json_object_object_add(h, "comment", json_object_new_string(o->message));
	json_object_array_add(hist, h);
}

/* Writes the image of config cfg and its n layers (bottom first), named norm when the
 * commit has a ref; id_out gets its id. */
static int write_image(const struct diyc_paths *p, struct json_object *cfg, char layers[][DIGEST_HEX_LEN + 1],
		       size_t n, uint64_t size, const struct commit_source *src, const struct commit_opts *o,
		       const char *norm, char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err)
{
	const char *text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char id[IMAGE_ID_LEN + 1];
	struct sha256 hash;
	sha256_begin(&hash);
	sha256_add(&hash, text, strlen(text));
	sha256_hex(&hash, id);
	_cleanup_free_ char *source = xasprintf("commit of container %s", src->name);
	int r = image_write(p, id, text, strlen(text), layers, n, size, source ? source : "commit", err);
	if (r == 0 && o->ref)
		r = image_set_name(p, norm, id, err);
	if (r == 0)
		memcpy(id_out, id, sizeof(id));
	return r;
}

int image_commit(const struct diyc_paths *p, const struct userns_plan *plan, const struct commit_source *src,
		 const struct commit_opts *o, char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err)
{
	char norm[PATH_MAX] = "";
	int r = o->ref ? image_ref_normalize(o->ref, norm, sizeof(norm), err) : 0;
	if (r < 0)
		return r;
	/* the image's record: its layers and its config, parsed */
	struct json_object *rec = image_read_json(p, src->image_id), *base_layers = NULL, *cfg = NULL;
	if (!rec || !json_object_object_get_ex(rec, "layers", &base_layers) ||
	    !json_object_is_type(base_layers, json_type_array) || !json_object_object_get_ex(rec, "config", &cfg) ||
	    !json_object_is_type(cfg, json_type_object)) {
		json_object_put(rec);
		return diyc_error_plain(err, ENOENT, "the image of container `%s` (%.12s) is no longer in the store: "
					"it cannot be committed", src->name, src->image_id);
	}
	size_t nbase = json_object_array_length(base_layers), n = nbase + 1;
	char (*layers)[DIGEST_HEX_LEN + 1] = calloc(n, sizeof(*layers));
	if (!layers) {
		json_object_put(rec);
		return diyc_error(err, ENOMEM, "commit");
	}
	uint64_t size = 0;
	for (size_t i = 0; i < nbase; i++) {
		const char *l = json_object_get_string(json_object_array_get_idx(base_layers, nbase - 1 - i));
		snprintf(layers[i], sizeof(layers[i]), "%s", l ? l : "");
		size += layer_size(p, layers[i]);
	}

	bool created = false;
	uint64_t lsize = 0;
	struct layer_opts lo = { .src = src->upper, .dir_kind = LAYER_DIR_UPPER, .image_layer = true };
	r = layer_import(p, plan, &lo, layers[nbase], &lsize, NULL, &created, err);
	if (r == 0) {
		size += lsize;
		add_layer(cfg, layers[nbase], o);
		apply_config(cfg, &src->config);
		r = write_image(p, cfg, layers, n, size, src, o, norm, id_out, err);
	}
	if (r < 0 && created) {
		char path[PATH_MAX];
		struct diyc_error ignore = { 0 };
		snprintf(path, sizeof(path), "%s/layers/%s", p->data, layers[nbase]);
		remove_tree(plan, path, &ignore);
	}
	free(layers);
	json_object_put(rec);
	return r;
}
