/* SPDX-License-Identifier: MIT */
/* pull.c: an image from a registry into the store.
 *
 * A short name is tried at each candidate registries.conf gives (an alias, or the search
 * registries); a qualified one at its mirrors, then at its registry. The manifest says
 * which config and layers make the image: an image already in the store with all its
 * layers is only named again (no blob is fetched), layers already present are skipped
 * before any byte of them is fetched, and the others are streamed into the store
 * (blobs.c). The image's record is written only once every layer is in. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include "blobs.h"
#include "manifest.h"
#include "reference.h"
#include "regconf.h"
#include "registry.h"
#include "image/layer.h"
#include "image/sources.h"
#include "lib/util.h"

struct pull_ctx {
	const struct registry_pull_opts *o;
	struct transfer_status status;
	struct transfer_layer *layers;
	char name[600];
};

static void tick(void *data)
{
	struct pull_ctx *pc = data;
	if (pc->o->progress)
		pc->o->progress(&pc->status, pc->o->progress_data);
}

/* Whether the store has the image and every layer of it. */
static bool have_image(const struct diyc_paths *p, const char *id)
{
	struct json_object *j = image_read_json(p, id), *layers;
	bool ok = j && json_object_object_get_ex(j, "layers", &layers) && json_object_is_type(layers, json_type_array);
	for (size_t i = 0; ok && i < json_object_array_length(layers); i++) {
		const char *l = json_object_get_string(json_object_array_get_idx(layers, i));
		ok = l && layer_exists(p, l);
	}
	json_object_put(j);
	return ok;
}

/* The config blob, checked against its digest, with as many diff_ids as layers. */
static int fetch_config(struct registry_client *c, const char *name, const struct image_manifest *m, char **config,
			size_t *len, char (*diff_ids)[DIGEST_HEX_LEN + 1], struct diyc_error *err)
{
	char path[700], scope[600];
	snprintf(path, sizeof(path), "/v2/%s/blobs/sha256:%s", name, m->config.digest);
	snprintf(scope, sizeof(scope), "repository:%s:pull", name);
	struct http_response resp;
	int r = registry_request(c, "GET", path, scope, NULL, NULL, MANIFEST_MAX, &resp, err);
	if (r == -EFBIG)
		return diyc_error_plain(err, EFBIG, "the config of %s/%s is larger than %d MiB: refused", c->host, name,
					MANIFEST_MAX >> 20);
	if (r < 0)
		return r;
	char got[DIGEST_HEX_LEN + 1];
	if (resp.status != 200) {
		char why[700];
		registry_describe_status(&resp, why, sizeof(why));
		r = diyc_error_plain(err, EPROTO, "the config of %s/%s: the registry answered %s", c->host, name, why);
	} else if (digest_bytes(resp.body ? resp.body : "", resp.len, got), strcmp(got, m->config.digest)) {
		r = diyc_error_plain(err, EBADMSG, "digest mismatch in the config of %s/%s: it should be sha256:%s but "
				     "is sha256:%s", c->host, name, m->config.digest, got);
	}
	struct json_object *j = r == 0 ? json_parse_text(resp.body, resp.len, json_type_object) : NULL, *rootfs, *ids;
	if (r == 0 && (!j || !json_object_object_get_ex(j, "rootfs", &rootfs) ||
		       !json_object_object_get_ex(rootfs, "diff_ids", &ids) || !json_object_is_type(ids, json_type_array)))
		r = diyc_error_plain(err, EBADMSG, "the config of %s/%s is not an image config (no rootfs.diff_ids)",
				     c->host, name);
	else if (r == 0 && json_object_array_length(ids) != m->n_layers)
		r = diyc_error_plain(err, EBADMSG, "the config of %s/%s lists %zu layer digest(s) for %zu layer(s)", c->host,
				     name, json_object_array_length(ids), m->n_layers);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(ids, i)), *hex;
		if (!id || digest_parse(id, &hex) < 0)
			r = diyc_error_plain(err, EBADMSG, "the config of %s/%s has a bad layer digest", c->host, name);
		else
			snprintf(diff_ids[i], DIGEST_HEX_LEN + 1, "%s", hex);
	}
	json_object_put(j);
	if (r == 0) {
		*config = steal_ptr(resp.body);
		*len = resp.len;
	}
	http_response_free(&resp);
	return r;
}

/* An image asked for by platform that came without an index must be of that platform. */
static int check_platform(const char *config, size_t len, const char *platform, struct diyc_error *err)
{
	if (image_config_is_platform(config, len, platform))
		return 0;
	struct json_object *j = json_parse_text(config, len, json_type_object);
	const char *os = json_get_string(j, "os"), *arch = json_get_string(j, "architecture");
	_cleanup_free_ char *have = xasprintf("%s/%s", os ? os : "?", arch ? arch : "?");
	_cleanup_free_ char *e = have ? str_escape_dup(have) : NULL;
	json_object_put(j);
	return diyc_error_plain(err, ENOENT, "the image is for %s, not %s", e ? e : "?", platform);
}

/* The same, of an image the store has already. */
static int check_stored_platform(const struct diyc_paths *p, const char *id, const char *platform,
				 struct diyc_error *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *config = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/images/%s.config", p->data, id);
	if (read_file_at(AT_FDCWD, path, MANIFEST_MAX, &config, &len) < 0)
		return diyc_error_plain(err, EBADMSG, "image %.12s is damaged: its config cannot be read", id);
	return check_platform(config, len, platform, err);
}

static uint64_t store_free(const struct diyc_paths *p)
{
	struct statvfs s;
	if (statvfs(p->data, &s) < 0)
		return 0;
	return (uint64_t)s.f_bavail * s.f_frsize;
}

/* The layers the store lacks, fetched; the image's record written and named. */
static int store_image(struct pull_ctx *pc, struct registry_client *c, const char *name, const struct image_manifest *m,
		       const char *config, size_t config_len, char (*diff_ids)[DIGEST_HEX_LEN + 1],
		       struct diyc_error *err)
{
	const struct registry_pull_opts *o = pc->o;
	struct layer_job *jobs = calloc(m->n_layers + 1, sizeof(*jobs));
	if (!jobs)
		return diyc_error(err, ENOMEM, "layers");
	size_t n = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		struct transfer_layer *l = &pc->layers[i];
		if (layer_exists(o->p, diff_ids[i])) {
			l->state = LAYER_EXISTS;
			continue;
		}
		if (m->layers[i].urls && !o->ro->allow_foreign) {
			free(jobs);
			return diyc_error_plain(err, ENOTSUP, "layer %zu of the image is a foreign layer (its manifest says "
						"it is served from elsewhere than the registry): fetched only when asked for "
						"(--allow-foreign-layers)", i + 1);
		}
		jobs[n] = (struct layer_job){ .desc = &m->layers[i], .status = l };
		snprintf(jobs[n].diff_id, sizeof(jobs[n].diff_id), "%s", diff_ids[i]);
		n++;
	}
	struct blob_fetch f = {
		.c = c, .name = name, .p = o->p, .plan = o->plan, .max_bytes = store_free(o->p),
		.tick = tick, .tick_data = pc, .cancel = o->cancel,
	};
	int r = blobs_fetch_layers(&f, jobs, n, err);
	free(jobs);
	if (r < 0)
		return r;
	uint64_t size = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		size += layer_size(o->p, diff_ids[i]);
	char source[700];
	snprintf(source, sizeof(source), "registry %s/%s@sha256:%s", c->host, name, m->digest);
	return image_write(o->p, m->config.digest, config, config_len, diff_ids, m->n_layers, size, source, err);
}

/* Keeps the manifest the image was pulled with (images/ID.pulled): a push to another
 * repository of that registry mounts its blobs and sends it as it was. */
static void keep_manifest(const struct diyc_paths *p, const char *id, const char *host, const char *path,
			  const struct image_manifest *m)
{
	struct json_object *j = json_object_new_object();
	_cleanup_free_ char *repo = xasprintf("%s/%s", host, path);
	json_object_object_add(j, "repository", json_object_new_string(repo ? repo : ""));
	json_object_object_add(j, "mediaType", json_object_new_string(m->media_type));
	json_object_object_add(j, "manifest", json_object_new_string_len(m->raw, (int)m->raw_len));
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char dir[PATH_MAX], name[NAME_MAX + 1];
	snprintf(dir, sizeof(dir), "%s/images", p->data);
	snprintf(name, sizeof(name), "%s.pulled", id);
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *old = NULL;
	size_t old_len = 0;
	/* a pull of an image that is up to date writes nothing; the file is a hint for push,
	 * not worth a sync */
	if (dfd >= 0 && read_file_at(dfd, name, 8 << 20, &old, &old_len) == 0 && old_len == strlen(text) &&
	    !memcmp(old, text, old_len)) {
		json_object_put(j);
		return;
	}
	if (dfd < 0 || write_file_atomic_nosync(dfd, name, text, strlen(text), 0600) < 0)
		diyc_debug("cannot keep the manifest of image %.12s", id);
	json_object_put(j);
}

/* Pulls the reference from one endpoint (a mirror or the registry). */
static int pull_endpoint(struct pull_ctx *pc, const struct image_reference *ref, const struct pull_endpoint *ep,
			 struct registry_pull_result *res, struct diyc_error *err)
{
	const struct registry_pull_opts *o = pc->o;
	struct registry_client c;
	int r = registry_client_open(&c, ep->host, ep->insecure, o->ro, err);
	if (r < 0) {
		registry_client_close(&c);
		return r;
	}
	c.creds_repo = ep->path;
	struct image_manifest m;
	r = manifest_fetch(&c, ep->path, ref->digest[0] ? ref->digest : ref->tag, o->platform, &m, err);
	if (r < 0) {
		registry_client_close(&c);
		return r;
	}
	_cleanup_free_ char *config = NULL;
	size_t config_len = 0;
	char (*diff_ids)[DIGEST_HEX_LEN + 1] = calloc(m.n_layers + 1, sizeof(*diff_ids));
	pc->layers = calloc(m.n_layers + 1, sizeof(*pc->layers));
	pc->status.layers = pc->layers;
	pc->status.n_layers = m.n_layers;
	for (size_t i = 0; pc->layers && i < m.n_layers; i++) {
		snprintf(pc->layers[i].id, sizeof(pc->layers[i].id), "%.12s", m.layers[i].digest);
		pc->layers[i].total = (uint64_t)m.layers[i].size;
	}
	if (!diff_ids || !pc->layers)
		r = diyc_error(err, ENOMEM, "pull");
	res->downloaded = false;
	if (r == 0 && !have_image(o->p, m.config.digest)) {
		res->downloaded = true;
		r = fetch_config(&c, ep->path, &m, &config, &config_len, diff_ids, err);
		if (r == 0 && o->platform && !m.platform[0])
			r = check_platform(config, config_len, o->platform, err);
		if (r == 0)
			r = store_image(pc, &c, ep->path, &m, config, config_len, diff_ids, err);
	} else if (r == 0) {
		for (size_t i = 0; i < m.n_layers; i++)
			pc->layers[i].state = LAYER_EXISTS;
		if (o->platform && !m.platform[0])
			r = check_stored_platform(o->p, m.config.digest, o->platform, err);
	}
	if (r == 0) {
		keep_manifest(o->p, m.config.digest, ep->host, ep->path, &m);
		snprintf(res->id, sizeof(res->id), "%s", m.config.digest);
		char repo[600];
		reference_repo(ref, repo, sizeof(repo));
		snprintf(res->repo_digest, sizeof(res->repo_digest), "%s@sha256:%s", repo, m.digest);
	}
	free(diff_ids);
	image_manifest_free(&m);
	registry_client_close(&c);
	return r;
}

/* Names the pulled image: NAME:TAG (none for a pull by digest only), and its repo digest. */
static int name_image(const struct registry_pull_opts *o, const struct image_reference *ref,
		      struct registry_pull_result *res, struct diyc_error *err)
{
	char repo[600];
	reference_repo(ref, repo, sizeof(repo));
	int r = image_add_repo_digest(o->p, res->id, res->repo_digest, err);
	if (r < 0 || !ref->tag[0]) {
		snprintf(res->name, sizeof(res->name), "%s", res->repo_digest);
		return r;
	}
	snprintf(res->name, sizeof(res->name), "%s:%s", repo, ref->tag);
	char norm[PATH_MAX];
	if ((r = image_ref_normalize(res->name, norm, sizeof(norm), err)) < 0)
		return r;
	return image_set_name(o->p, norm, res->id, err);
}

/* A qualified reference, from its mirrors and its registry in turn: the first that has it. */
static int pull_qualified(struct pull_ctx *pc, const struct registries_conf *conf, const struct image_reference *ref,
			  struct registry_pull_result *res, struct diyc_error *err)
{
	struct pull_endpoint *eps = NULL;
	size_t n = 0;
	int r = regconf_endpoints(conf, ref, &eps, &n, err);
	if (r < 0)
		return r;
	reference_format(ref, pc->name, sizeof(pc->name));
	pc->status.name = pc->name;
	struct diyc_error first = { 0 };
	r = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		struct diyc_error e = { 0 };
		free(pc->layers);
		pc->layers = NULL;
		r = pull_endpoint(pc, ref, &eps[i], res, &e);
		if (r == 0)
			break;
		if (eps[i].mirror)
			diyc_debug("mirror %s: %s", eps[i].host, e.msg);
		/* the registry's own error is the one to report; a mirror's only when it is all */
		if (!first.msg[0] || !eps[i].mirror)
			first = e;
		if (r == -EINTR)
			break;
	}
	free(eps);
	if (r < 0) {
		*err = first;
		return r;
	}
	return name_image(pc->o, ref, res, err);
}

int registry_pull(const struct registry_pull_opts *o, const char *refstr, struct registry_pull_result *res,
		  struct diyc_error *err)
{
	memset(res, 0, sizeof(*res));
	struct image_reference ref;
	int r = reference_parse(refstr, &ref, err);
	if (r < 0)
		return r;
	struct registries_conf conf = { 0 };
	if ((r = regconf_load(&conf, err)) < 0)
		return r;
	if ((r = paths_ensure_data(o->p, "images/names", err)) < 0) {
		regconf_free(&conf);
		return r;
	}
	image_clean_leftovers(o->p, o->plan);
	struct image_reference *cands = NULL;
	size_t n = 0;
	if (ref.qualified) {
		cands = malloc(sizeof(*cands));
		if (cands) {
			cands[0] = ref;
			n = 1;
		}
	} else if ((r = regconf_candidates(&conf, &ref, o->tty, &cands, &n, err)) < 0) {
		regconf_free(&conf);
		return r;
	}
	struct pull_ctx pc = { .o = o };
	char tried[1024] = "";
	struct diyc_error last = { 0 };
	r = cands ? -ENOENT : diyc_error(err, ENOMEM, "pull");
	for (size_t i = 0; i < n; i++) {
		struct diyc_error e = { 0 };
		r = pull_qualified(&pc, &conf, &cands[i], res, &e);
		if (r == 0 || r == -EINTR || n == 1) {
			*err = e;
			break;
		}
		last = e;
		char one[300];
		reference_format(&cands[i], one, sizeof(one));
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s", tried[0] ? ", " : "", one);
	}
	if (r < 0 && n > 1) {
		*err = last;
		diyc_error_wrap(err, "`%s` was not found at any of the registries searched (%s); the last said", refstr,
				tried);
	}
	/* what a pull killed just before this one left is unlocked by now */
	image_clean_leftovers(o->p, o->plan);
	if (r == 0 && o->progress) {
		pc.status.finished = true;
		o->progress(&pc.status, o->progress_data);
	}
	free(pc.layers);
	free(cands);
	regconf_free(&conf);
	return r;
}

int registry_local_names(const char *refstr, bool tty, char ***out, struct diyc_error *err)
{
	*out = NULL;
	struct image_reference ref;
	int r = reference_parse(refstr, &ref, err);
	if (r < 0)
		return r;
	struct image_reference *cands = NULL;
	size_t n = 0;
	struct registries_conf conf = { 0 };
	if (ref.qualified) {
		cands = malloc(sizeof(*cands));
		if (!cands)
			return diyc_error(err, ENOMEM, "names");
		cands[0] = ref;
		n = 1;
	} else {
		if ((r = regconf_load(&conf, err)) < 0)
			return r;
		r = regconf_candidates(&conf, &ref, tty, &cands, &n, err);
		regconf_free(&conf);
		if (r < 0)
			return r;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char name[600];
		reference_format(&cands[i], name, sizeof(name));
		if (strv_push(out, &k, strdup(name)) < 0) {
			free(cands);
			return diyc_error(err, ENOMEM, "names");
		}
	}
	free(cands);
	return 0;
}
