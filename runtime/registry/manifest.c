/* SPDX-License-Identifier: MIT */
/* manifest.c: fetching and checking manifests (distribution-spec 1.1).
 *
 * The Accept header lists every form diyc reads (an OCI index and manifest, a docker
 * manifest list and schema 2): distribution 2.8 answers 404 for an index the client did not
 * accept, and rewrites schema 2 into schema 1 for a client that sent none. Schema 1 (signed,
 * deprecated, no content-addressed config) is refused. What comes back must be at most
 * MANIFEST_MAX, valid JSON of bounded depth, of the media type the registry said, and of
 * the digest that was asked for or that the registry announced. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "manifest.h"
#include "image/sources.h"
#include "lib/util.h"

#define ACCEPT_ALL MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST
#define MAX_INDEX_DEPTH 2

void digest_bytes(const void *data, size_t len, char out[DIGEST_HEX_LEN + 1])
{
	struct sha256 h;
	sha256_begin(&h);
	sha256_add(&h, data, len);
	sha256_hex(&h, out);
}

static void blob_desc_free(struct blob_desc *d)
{
	strv_free(d->urls);
	d->urls = NULL;
}

void image_manifest_free(struct image_manifest *m)
{
	free(m->raw);
	blob_desc_free(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		blob_desc_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

/* "type/subtype" of a Content-Type, without parameters */
static void media_base(const char *ct, char *out, size_t size)
{
	size_t n = strcspn(ct, "; \t");
	if (n >= size)
		n = size - 1;
	memcpy(out, ct, n);
	out[n] = '\0';
}

static bool is_index_type(const char *t)
{
	return !strcmp(t, MT_OCI_INDEX) || !strcmp(t, MT_DOCKER_LIST);
}

static bool is_schema1(const char *t)
{
	return str_has_prefix(t, "application/vnd.docker.distribution.manifest.v1");
}

static int parse_desc(struct json_object *d, const char *what, struct blob_desc *out, struct diyc_error *err)
{
	const char *digest = json_get_string(d, "digest"), *media = json_get_string(d, "mediaType"), *hex;
	struct json_object *size = json_get_typed(d, "size", json_type_int);
	if (!digest || digest_parse(digest, &hex) < 0) {
		_cleanup_free_ char *e = digest ? str_escape_dup(digest) : NULL;
		return diyc_error_plain(err, EBADMSG, "the manifest's %s has a bad digest `%s` (diyc takes sha256 only)",
					what, e ? e : "");
	}
	if (!size || json_object_get_int64(size) < 0)
		return diyc_error_plain(err, EBADMSG, "the manifest's %s has no size", what);
	snprintf(out->digest, sizeof(out->digest), "%s", hex);
	snprintf(out->media_type, sizeof(out->media_type), "%s", media ? media : "");
	out->size = json_object_get_int64(size);
	struct json_object *urls = json_get_typed(d, "urls", json_type_array);
	for (size_t i = 0; urls && i < json_object_array_length(urls) && i < 16; i++) {
		const char *u = json_object_get_string(json_object_array_get_idx(urls, i));
		size_t n = 0;
		while (out->urls && out->urls[n])
			n++;
		if (u && strv_push(&out->urls, &n, strdup(u)) < 0)
			return diyc_error(err, ENOMEM, "urls");
	}
	return 0;
}

int manifest_parse_image(const char *raw, size_t len, struct image_manifest *m, struct diyc_error *err)
{
	struct json_object *j = json_parse_text(raw, len, json_type_object);
	if (!j)
		return diyc_error_plain(err, EBADMSG, "the image's manifest is not valid JSON (or is nested too deep)");
	struct json_object *sv = json_get_typed(j, "schemaVersion", json_type_int), *layers = json_get_typed(j, "layers", json_type_array);
	struct json_object *config = json_get_typed(j, "config", json_type_object);
	int r = 0;
	if (sv && json_object_get_int(sv) == 1)
		r = diyc_error_plain(err, ENOTSUP, "the image's manifest is docker schema 1, which is deprecated and "
				     "which diyc does not pull: push the image again with a current tool");
	else if (!config || !layers)
		r = diyc_error_plain(err, EBADMSG, "the image's manifest lacks its config or layers");
	else if (json_object_array_length(layers) > 1000)
		r = diyc_error_plain(err, EBADMSG, "the image's manifest lists %zu layers: refused",
				     json_object_array_length(layers));
	if (r == 0)
		r = parse_desc(config, "config", &m->config, err);
	if (r == 0 && !(m->layers = calloc(json_object_array_length(layers) + 1, sizeof(*m->layers))))
		r = diyc_error(err, ENOMEM, "manifest");
	for (size_t i = 0; r == 0 && i < json_object_array_length(layers); i++) {
		char what[32];
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		r = parse_desc(json_object_array_get_idx(layers, i), what, &m->layers[i], err);
		m->n_layers = i + 1;
		const char *mt = m->layers[i].media_type;
		if (r == 0 && *mt && !strstr(mt, "tar") && !strstr(mt, "rootfs.diff"))
			r = diyc_error_plain(err, ENOTSUP, "layer %zu has media type `%.100s`, which is not a file system "
					     "layer diyc can unpack (is it an artifact rather than an image?)", i + 1, mt);
	}
	json_object_put(j);
	return r;
}

/* GET one manifest by tag or digest: checked for size, type and digest. */
static int get_manifest(struct registry_client *c, const char *name, const char *ref, char **raw, size_t *len,
			char *media, size_t msize, char digest[DIGEST_HEX_LEN + 1], struct diyc_error *err)
{
	char path[700], scope[600];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", name, ref);
	snprintf(scope, sizeof(scope), "repository:%s:pull", name);
	struct http_response resp;
	int r = registry_request(c, "GET", path, scope, ACCEPT_ALL, NULL, MANIFEST_MAX, &resp, err);
	if (r == -EFBIG)
		return diyc_error_plain(err, EFBIG, "the manifest of %s/%s:%s is larger than %d MiB: refused", c->host,
					name, ref, MANIFEST_MAX >> 20);
	if (r < 0)
		return r;
	if (resp.status != 200) {
		char why[700];
		registry_describe_status(&resp, why, sizeof(why));
		const char *sep = strncmp(ref, "sha256:", 7) ? ":" : "@";
		if (resp.status == 404)
			r = diyc_error_plain(err, ENOENT, "image %s/%s%s%s not found (the registry answered %s)", c->host,
					     name, sep, ref, why);
		else if (resp.status == 401 || resp.status == 403)
			r = diyc_error_hint(err, diyc_error_plain(err, EACCES, "%s/%s%s%s: access denied (the registry "
								  "answered %s)", c->host, name, sep, ref, why),
					    DIYC_HINT_REGISTRY_LOGIN, c->host);
		else
			r = diyc_error_plain(err, EPROTO, "%s/%s%s%s: the registry answered %s", c->host, name, sep, ref,
					     why);
		http_response_free(&resp);
		return r;
	}
	media_base(resp.content_type, media, msize);
	digest_bytes(resp.body ? resp.body : "", resp.len, digest);
	const char *want = !strncmp(ref, "sha256:", 7) ? ref + 7 : NULL, *announced;
	if (want && strcmp(want, digest))
		r = diyc_error_plain(err, EBADMSG, "digest mismatch in the manifest of %s/%s@%s: its bytes are "
				     "sha256:%s", c->host, name, ref, digest);
	else if (resp.digest[0] && (digest_parse(resp.digest, &announced) < 0 || strcmp(announced, digest)))
		r = diyc_error_plain(err, EBADMSG, "digest mismatch in the manifest of %s/%s:%s: the registry "
				     "announced %.80s, its bytes are sha256:%s", c->host, name, ref, resp.digest, digest);
	else if (is_schema1(media))
		r = diyc_error_plain(err, ENOTSUP, "%s/%s:%s is a docker schema 1 image, which is deprecated and "
				     "which diyc does not pull: push it again with a current tool", c->host, name, ref);
	if (r < 0) {
		http_response_free(&resp);
		return r;
	}
	*raw = steal_ptr(resp.body);
	*len = resp.len;
	if (!*raw && !(*raw = strdup("")))
		return diyc_error(err, ENOMEM, "manifest");
	return 0;
}

/* The mediaType a manifest declares must be what the registry served it as. */
static int check_media(struct json_object *j, const char *served, const char *what, struct diyc_error *err)
{
	const char *declared = json_get_string(j, "mediaType");
	if (declared && *served && strcmp(declared, served)) {
		_cleanup_free_ char *d = str_escape_dup(declared), *s = str_escape_dup(served);
		return diyc_error_plain(err, EBADMSG, "the %s says it is `%s` but the registry served it as `%s`", what,
					d ? d : "", s ? s : "");
	}
	return 0;
}

/* The variants that run where `want` runs, best first (arm64 v8 = none; arm v7 > v6 > v5). */
static size_t compatible_variants(const char *arch, const char *variant, const char **out)
{
	size_t n = 0;
	if (!strcmp(arch, "arm64")) {
		out[n++] = variant && *variant ? variant : "v8";
		out[n++] = "";
		return n;
	}
	if (!strcmp(arch, "arm")) {
		static const char *const arm[] = { "v8", "v7", "v6", "v5" };
		size_t start = 1;
		for (size_t i = 0; i < 4; i++)
			if (variant && !strcmp(variant, arm[i]))
				start = i;
		for (size_t i = start; i < 4; i++)
			out[n++] = arm[i];
		out[n++] = "";
		return n;
	}
	out[n++] = variant ? variant : "";
	return n;
}

/* Chooses the descriptor of platform in an index: an exact os/architecture, the best
 * compatible variant. The error lists what the index offers. */
static int choose_platform(struct json_object *idx, const char *platform, char *chosen, size_t csize,
			   char *media, size_t msize, struct diyc_error *err)
{
	char want[64], *arch, *variant;
	snprintf(want, sizeof(want), "%s", platform);
	arch = strchr(want, '/');
	if (!arch)
		return diyc_error_plain(err, EINVAL, "invalid platform `%s`: expected OS/ARCH[/VARIANT]", platform);
	*arch++ = '\0';
	variant = strchr(arch, '/');
	if (variant)
		*variant++ = '\0';
	struct json_object *mans = json_get_typed(idx, "manifests", json_type_array);
	size_t n = mans ? json_object_array_length(mans) : 0;
	const char *variants[6];
	size_t nv = compatible_variants(arch, variant, variants);
	for (size_t v = 0; v < nv; v++) {
		for (size_t i = 0; i < n; i++) {
			struct json_object *d = json_object_array_get_idx(mans, i), *p = json_get_typed(d, "platform", json_type_object);
			const char *os = json_get_string(p, "os"), *a = json_get_string(p, "architecture"), *var = json_get_string(p, "variant");
			if (!os || !a || strcmp(os, want) || strcmp(a, arch) || strcmp(var ? var : "", variants[v]))
				continue;
			const char *digest = json_get_string(d, "digest"), *mt = json_get_string(d, "mediaType");
			if (!digest || strlen(digest) >= csize)
				continue;
			snprintf(chosen, csize, "%s", digest);
			snprintf(media, msize, "%s", mt ? mt : "");
			return 0;
		}
	}
	char offers[512] = "";
	for (size_t i = 0; i < n && strlen(offers) < sizeof(offers) - 80; i++) {
		struct json_object *p = json_get_typed(json_object_array_get_idx(mans, i), "platform", json_type_object);
		const char *os = json_get_string(p, "os"), *a = json_get_string(p, "architecture"), *var = json_get_string(p, "variant");
		if (!os || !a || !strcmp(a, "unknown"))
			continue;
		char one[128];
		snprintf(one, sizeof(one), "%s/%s%s%s", os, a, var ? "/" : "", var ? var : "");
		_cleanup_free_ char *e = str_escape_dup(one);
		snprintf(offers + strlen(offers), sizeof(offers) - strlen(offers), "%s%s", offers[0] ? ", " : "",
			 e ? e : "");
	}
	return diyc_error_plain(err, ENOENT, "the image has no variant for platform %s (it offers: %s); choose one with "
				"--platform", platform, offers[0] ? offers : "none");
}

int manifest_fetch(struct registry_client *c, const char *name, const char *ref, const char *platform,
		   struct image_manifest *m, struct diyc_error *err)
{
	memset(m, 0, sizeof(*m));
	char host[64];
	if (!platform) {
		host_platform(host, sizeof(host));
		platform = host;
	}
	int r = digest_init(err);
	if (r < 0)
		return r;
	char media[128], cur[80];
	snprintf(cur, sizeof(cur), "%s", ref);
	for (int depth = 0;; depth++) {
		char *raw = NULL, digest[DIGEST_HEX_LEN + 1];
		size_t len;
		if ((r = get_manifest(c, name, cur, &raw, &len, media, sizeof(media), digest, err)) < 0)
			return r;
		if (depth == 0)
			snprintf(m->digest, sizeof(m->digest), "%s", digest);
		struct json_object *j = json_parse_text(raw, len, json_type_object);
		if (!j) {
			free(raw);
			return diyc_error_plain(err, EBADMSG, "the manifest of %s/%s:%s is not valid JSON (or is nested too "
						"deep)", c->host, name, ref);
		}
		const char *declared = json_get_string(j, "mediaType");
		bool index = is_index_type(media) || (!*media && declared && is_index_type(declared)) ||
			     (!declared && json_get_typed(j, "manifests", json_type_array));
		r = check_media(j, media, depth ? "manifest chosen from the index" : "manifest", err);
		if (r == 0 && index) {
			char next[80], nmedia[128];
			if (depth >= MAX_INDEX_DEPTH)
				r = diyc_error_plain(err, EBADMSG, "the image's indexes are nested too deep");
			else if ((r = choose_platform(j, platform, next, sizeof(next), nmedia, sizeof(nmedia), err)) == 0) {
				const char *hex;
				if (digest_parse(next, &hex) < 0)
					r = diyc_error_plain(err, EBADMSG, "the image's index has a bad digest");
				snprintf(cur, sizeof(cur), "%s", next);
				snprintf(m->platform, sizeof(m->platform), "%s", platform);
			}
			json_object_put(j);
			free(raw);
			if (r < 0)
				return r;
			continue;
		}
		json_object_put(j);
		if (r == 0 && is_schema1(declared ? declared : ""))
			r = diyc_error_plain(err, ENOTSUP, "the image is docker schema 1, which diyc does not pull");
		if (r < 0) {
			free(raw);
			return r;
		}
		m->raw = raw;
		m->raw_len = len;
		snprintf(m->image_digest, sizeof(m->image_digest), "%s", digest);
		snprintf(m->media_type, sizeof(m->media_type), "%s", *media ? media : declared ? declared : "");
		return manifest_parse_image(raw, len, m, err);
	}
}
