/* SPDX-License-Identifier: MIT */
/* push.c: an image from the store to a registry (distribution-spec 1.1).
 *
 * The image's layers are staged as their exact tar streams (image_stage), so each blob's
 * digest is its diff_id and the config goes as it is: the image pulled back has the same
 * id. Each blob the registry already has (HEAD) is skipped; one it has in another
 * repository the image was pulled from is mounted from there (POST ?mount=&from=); the
 * others are uploaded, in one PUT when small and in PATCH chunks when large, and the
 * manifest goes last, once everything it names is there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <unistd.h>
#include "manifest.h"
#include "reference.h"
#include "regconf.h"
#include "registry.h"
#include "image/sources.h"
#include "lib/util.h"

/* above this, an upload goes in chunks of CHUNK */
#define MONOLITHIC_MAX (32ULL << 20)
#define CHUNK (16ULL << 20)

struct push_ctx {
	const struct registry_push_opts *o;
	struct registry_client *c;
	const char *path;          /* the repository on the registry */
	char scope[1200];
	char mount_from[REF_PATH_MAX + 1]; /* a repository of the same registry that has the image, or "" */
	char *pulled;              /* the manifest it was pulled from there with, and its type */
	size_t pulled_len;
	char pulled_type[128];
	struct transfer_status status;
	struct transfer_layer *layers;
};

static void tick(struct push_ctx *pc)
{
	if (pc->o->progress)
		pc->o->progress(&pc->status, pc->o->progress_data);
}

static int status_error(struct push_ctx *pc, const char *what, const struct http_response *r, struct diyc_error *err)
{
	char why[700];
	registry_describe_status(r, why, sizeof(why));
	int e = r->status == 401 || r->status == 403 ? EACCES : r->status == 404 ? ENOENT : EPROTO;
	int ret = diyc_error_plain(err, e, "push to %s/%s: %s: the registry answered %s", pc->c->host, pc->path, what,
				   why);
	return e == EACCES ? diyc_error_hint(err, ret, DIYC_HINT_REGISTRY_LOGIN, pc->c->host) : ret;
}

/* Whether the registry has the blob in the repository already. */
static int blob_exists(struct push_ctx *pc, const char *digest, bool *exists, struct diyc_error *err)
{
	char path[700];
	snprintf(path, sizeof(path), "/v2/%s/blobs/sha256:%s", pc->path, digest);
	struct http_response r;
	int ret = registry_request(pc->c, "HEAD", path, pc->scope, NULL, NULL, 0, &r, err);
	if (ret < 0)
		return ret;
	*exists = r.status == 200;
	if (r.status != 200 && r.status != 404)
		ret = status_error(pc, "HEAD of a blob", &r, err);
	http_response_free(&r);
	return ret;
}

/* Where the registry's Location points, resolved against the origin. */
static int location(struct push_ctx *pc, const struct http_response *r, char *out, size_t size, struct diyc_error *err)
{
	if (!r->location[0])
		return diyc_error_plain(err, EPROTO, "push to %s: the registry's upload has no Location", pc->c->host);
	bool same;
	char base[400];
	snprintf(base, sizeof(base), "%s/v2/", pc->c->origin);
	return registry_redirect(pc->c, base, r->location, out, size, &same, err);
}

/* PATCHes the blob in chunks; url: the upload's Location, updated after each. */
static int upload_chunks(struct push_ctx *pc, int fd, uint64_t size, char *url, size_t usize, struct transfer_layer *l,
			 struct diyc_error *err)
{
	for (uint64_t off = 0; off < size;) {
		uint64_t n = size - off < CHUNK ? size - off : CHUNK;
		if (lseek(fd, (off_t)off, SEEK_SET) < 0)
			return diyc_error(err, errno, "read the staged layer");
		char range[96];
		snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off, (unsigned long long)(off + n - 1));
		struct http_body b = { .fd = fd, .len = n, .content_type = "application/octet-stream", .offset = off,
				       .content_range = range };
		struct http_response r;
		int ret = registry_request(pc->c, "PATCH", url, pc->scope, NULL, &b, 0, &r, err);
		if (ret < 0)
			return ret;
		if (r.status != 202)
			ret = status_error(pc, "a chunk of a blob", &r, err);
		else
			ret = location(pc, &r, url, usize, err);
		http_response_free(&r);
		if (ret < 0)
			return ret;
		off += n;
		l->done = off;
		tick(pc);
	}
	return 0;
}

/* One blob into the repository: skipped, mounted, or uploaded. fd -1: text holds it. */
static int push_blob(struct push_ctx *pc, const char *digest, int fd, const char *text, uint64_t size,
		     struct transfer_layer *l, struct diyc_error *err)
{
	bool exists = false;
	int r = blob_exists(pc, digest, &exists, err);
	if (r < 0)
		return r;
	if (exists) {
		l->state = LAYER_MOUNTED;
		return 0;
	}
	char path[1200];
	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", pc->path);
	struct http_response resp;
	if ((r = registry_request(pc->c, "POST", path, pc->scope, NULL, NULL, 0, &resp, err)) < 0)
		return r;
	if (resp.status == 201) {
		http_response_free(&resp);
		l->state = LAYER_MOUNTED;
		return 0;
	}
	char url[2048];
	r = resp.status == 202 ? location(pc, &resp, url, sizeof(url), err) : status_error(pc, "starting an upload", &resp, err);
	http_response_free(&resp);
	if (r < 0)
		return r;
	l->state = LAYER_UPLOADING;
	tick(pc);
	struct http_body b = { .fd = fd, .data = text, .len = size, .content_type = "application/octet-stream" };
	if (fd >= 0 && size > MONOLITHIC_MAX) {
		if ((r = upload_chunks(pc, fd, size, url, sizeof(url), l, err)) < 0)
			return r;
		b = (struct http_body){ .fd = -1, .data = "", .len = 0, .content_type = "application/octet-stream" };
	}
	size_t ul = strlen(url);
	snprintf(url + ul, sizeof(url) - ul, "%sdigest=sha256:%s", strchr(url, '?') ? "&" : "?", digest);
	if ((r = registry_request(pc->c, "PUT", url, pc->scope, NULL, &b, 0, &resp, err)) < 0)
		return r;
	if (resp.status != 201)
		r = status_error(pc, "finishing an upload", &resp, err);
	http_response_free(&resp);
	if (r == 0) {
		l->done = size;
		l->state = LAYER_PUSHED;
	}
	return r;
}

static int push_manifest(struct push_ctx *pc, const struct image_staged *st, const char *media_type, const char *ref,
			 struct diyc_error *err)
{
	char path[700];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", pc->path, ref);
	struct http_body b = { .fd = -1, .data = st->manifest, .len = st->manifest_len, .content_type = media_type };
	struct http_response r;
	int ret = registry_request(pc->c, "PUT", path, pc->scope, NULL, &b, 0, &r, err);
	if (ret < 0)
		return ret;
	const char *hex;
	if (r.status != 201)
		ret = status_error(pc, "the manifest", &r, err);
	else if (r.digest[0] && (digest_parse(r.digest, &hex) < 0 || strcmp(hex, st->manifest_digest)))
		ret = diyc_error_plain(err, EBADMSG, "push to %s/%s: the registry stored the manifest as %.80s, not "
				       "sha256:%s", pc->c->host, pc->path, r.digest, st->manifest_digest);
	http_response_free(&r);
	return ret;
}

/* The manifest the image was pulled with, when it came from this registry (pull.c keeps
 * it): its repository there is where blobs are mounted from. */
static void find_mount_source(struct push_ctx *pc, const char *id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/images/%s.pulled", pc->o->p->data, id);
	struct json_object *j = json_object_from_file(path), *v;
	const char *repo = j && json_object_object_get_ex(j, "repository", &v) ? json_object_get_string(v) : NULL;
	const char *mt = j && json_object_object_get_ex(j, "mediaType", &v) ? json_object_get_string(v) : NULL;
	const char *raw = j && json_object_object_get_ex(j, "manifest", &v) ? json_object_get_string(v) : NULL;
	size_t hl = strlen(pc->c->host);
	if (repo && mt && raw && !strncmp(repo, pc->c->host, hl) && repo[hl] == '/' &&
	    strlen(repo + hl + 1) < sizeof(pc->mount_from) && strlen(mt) < sizeof(pc->pulled_type)) {
		snprintf(pc->mount_from, sizeof(pc->mount_from), "%s", repo + hl + 1);
		snprintf(pc->pulled_type, sizeof(pc->pulled_type), "%s", mt);
		pc->pulled = strdup(raw);
		pc->pulled_len = (size_t)json_object_get_string_len(v);
	}
	json_object_put(j);
}

/* Gives up an upload the registry began instead of mounting. */
static void cancel_upload(struct push_ctx *pc, const struct http_response *r)
{
	char url[2048];
	struct diyc_error ignore = { 0 };
	struct http_response d;
	if (location(pc, r, url, sizeof(url), &ignore) == 0 &&
	    registry_request(pc->c, "DELETE", url, pc->scope, NULL, NULL, 0, &d, &ignore) == 0)
		http_response_free(&d);
}

/* A blob there already, or mounted from the repository the image was pulled from: 1;
 * 0 when the registry will not mount it. */
static int mount_blob(struct push_ctx *pc, const char *digest, struct diyc_error *err)
{
	bool exists = false;
	int r = blob_exists(pc, digest, &exists, err);
	if (r < 0 || exists)
		return r < 0 ? r : 1;
	char path[1200];
	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/?mount=sha256:%s&from=%s", pc->path, digest, pc->mount_from);
	struct http_response resp;
	if ((r = registry_request(pc->c, "POST", path, pc->scope, NULL, NULL, 0, &resp, err)) < 0)
		return r;
	r = resp.status == 201;
	if (resp.status == 202)
		cancel_upload(pc, &resp);
	http_response_free(&resp);
	return r;
}

/* Pushes the image as it was pulled: its blobs mounted, its manifest as it was (same
 * digest). *done false when a blob could not be mounted: then it goes the usual way. */
static int push_as_pulled(struct push_ctx *pc, const struct image_reference *ref, struct registry_push_result *res,
			  bool *done, struct diyc_error *err)
{
	*done = false;
	struct image_manifest m = { 0 };
	if (manifest_parse_image(pc->pulled, pc->pulled_len, &m, err) < 0) {
		image_manifest_free(&m);
		return 0;
	}
	int r = 1;
	for (size_t i = 0; i <= m.n_layers && r == 1; i++)
		r = mount_blob(pc, i < m.n_layers ? m.layers[i].digest : m.config.digest, err);
	if (r == 1) {
		for (size_t i = 0; i < pc->status.n_layers; i++)
			pc->layers[i].state = LAYER_MOUNTED;
		tick(pc);
		struct image_staged st = { .manifest = pc->pulled, .manifest_len = pc->pulled_len };
		digest_bytes(pc->pulled, pc->pulled_len, st.manifest_digest);
		r = push_manifest(pc, &st, pc->pulled_type, ref->tag[0] ? ref->tag : "latest", err);
		if (r == 0) {
			char repo[600];
			reference_repo(ref, repo, sizeof(repo));
			snprintf(res->digest, sizeof(res->digest), "sha256:%s", st.manifest_digest);
			snprintf(res->repo_digest, sizeof(res->repo_digest), "%s@sha256:%s", repo, st.manifest_digest);
			*done = true;
		}
	}
	image_manifest_free(&m);
	return r < 0 ? r : 0;
}

static int push_staged(struct push_ctx *pc, const struct image_staged *st, const struct image_reference *ref,
		       struct registry_push_result *res, struct diyc_error *err)
{
	size_t n = st->n;
	pc->layers = calloc(n + 1, sizeof(*pc->layers));
	if (!pc->layers)
		return diyc_error(err, ENOMEM, "push");
	pc->status.layers = pc->layers;
	pc->status.n_layers = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(pc->layers[i].id, sizeof(pc->layers[i].id), "%.12s", st->layers[i].digest);
		pc->layers[i].total = st->layers[i].size;
		pc->layers[i].state = LAYER_PREPARING;
	}
	tick(pc);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (pc->o->cancel && *pc->o->cancel)
			return diyc_error_plain(err, EINTR, "the push was interrupted");
		r = push_blob(pc, st->layers[i].digest, st->layers[i].fd, NULL, st->layers[i].size, &pc->layers[i], err);
		tick(pc);
	}
	struct transfer_layer cl = { 0 };
	if (r == 0)
		r = push_blob(pc, st->config_digest, -1, st->config, st->config_len, &cl, err);
	if (r == 0)
		r = push_manifest(pc, st, MT_OCI_MANIFEST, ref->tag[0] ? ref->tag : "latest", err);
	if (r == 0) {
		char repo[600];
		reference_repo(ref, repo, sizeof(repo));
		snprintf(res->digest, sizeof(res->digest), "sha256:%s", st->manifest_digest);
		snprintf(res->repo_digest, sizeof(res->repo_digest), "%s@sha256:%s", repo, st->manifest_digest);
		pc->status.finished = true;
		tick(pc);
	}
	return r;
}

/* The destination: given, or the image's own name; a registry it names (HOST/PATH), a tag. */
static int destination(const char *image, const char *dest, struct image_reference *ref, struct diyc_error *err)
{
	int r = reference_parse(dest ? dest : image, ref, err);
	if (r < 0)
		return r;
	if (ref->digest[0])
		return diyc_error_plain(err, EINVAL, "cannot push to a digest (`%s`): name a tag", dest ? dest : image);
	return 0;
}

int registry_push(const struct registry_push_opts *o, const char *image, const char *dest,
		  struct registry_push_result *res, struct diyc_error *err)
{
	memset(res, 0, sizeof(*res));
	char norm[PATH_MAX], id[IMAGE_ID_LEN + 1];
	bool by_id;
	struct image_reference ref;
	int r = digest_init(err);
	if (r < 0 || (r = image_lookup(o->p, image, norm, id, &by_id, err)) < 0)
		return r;
	if (!dest && by_id)
		return diyc_error_plain(err, EINVAL, "an image named by id needs a destination: diyc push %s "
					"HOST[:PORT]/NAME[:TAG]", image);
	if ((r = destination(norm, dest, &ref, err)) < 0)
		return r;
	struct registries_conf conf = { 0 };
	struct pull_endpoint *eps = NULL;
	size_t neps = 0;
	if ((r = regconf_load(&conf, err)) < 0)
		return r;
	/* a blocked registry is refused for a push too; the last endpoint is the registry itself */
	r = regconf_endpoints(&conf, &ref, &eps, &neps, err);
	bool insecure = neps ? eps[neps - 1].insecure : regconf_insecure(&conf, ref.domain);
	char path[REF_PATH_MAX + 1], host[REF_DOMAIN_MAX + 1];
	snprintf(path, sizeof(path), "%s", neps ? eps[neps - 1].path : ref.path);
	snprintf(host, sizeof(host), "%s", neps ? eps[neps - 1].host : ref.domain);
	free(eps);
	regconf_free(&conf);
	if (r < 0)
		return r;
	struct registry_client c;
	if ((r = registry_client_open(&c, host, insecure, o->ro, err)) < 0) {
		registry_client_close(&c);
		return r;
	}
	c.creds_repo = path;
	char name[600];
	reference_format(&ref, name, sizeof(name));
	struct push_ctx pc = { .o = o, .c = &c, .path = path, .status = { .name = name } };
	find_mount_source(&pc, id);
	if (pc.mount_from[0])
		snprintf(pc.scope, sizeof(pc.scope), "repository:%s:pull,push repository:%s:pull", path, pc.mount_from);
	else
		snprintf(pc.scope, sizeof(pc.scope), "repository:%s:pull,push", path);
	bool done = false;
	if (pc.pulled) {
		struct json_object *rec = image_read_json(o->p, id), *jl;
		size_t nl = rec && json_object_object_get_ex(rec, "layers", &jl) ? json_object_array_length(jl) : 0;
		json_object_put(rec);
		pc.layers = calloc(nl + 1, sizeof(*pc.layers));
		pc.status.layers = pc.layers;
		pc.status.n_layers = pc.layers ? nl : 0;
		r = pc.layers ? push_as_pulled(&pc, &ref, res, &done, err) : 0;
		free(steal_ptr(pc.layers));
	}
	struct image_staged st;
	if (r == 0 && !done && (r = image_stage(o->p, o->plan, id, &st, err)) == 0) {
		r = push_staged(&pc, &st, &ref, res, err);
		image_staged_free(&st);
	}
	snprintf(res->name, sizeof(res->name), "%s", name);
	free(pc.layers);
	free(pc.pulled);
	registry_client_close(&c);
	if (r == 0 && ref.tag[0]) {
		/* what was pushed is known by its digest there, and by the name */
		image_add_repo_digest(o->p, id, res->repo_digest, err);
	}
	return r;
}
