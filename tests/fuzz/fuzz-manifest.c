/* SPDX-License-Identifier: MIT */
/* A libFuzzer target for what a registry sends and a user types on the pull and push
 * paths: image manifests (manifest_parse_image: OCI, docker schema 2, and whatever else
 * comes with such a Content-Type: an index, schema 1, junk) and image references
 * (reference_parse). The first byte of an input chooses: even, a manifest; odd, a
 * reference. A refusal must say why (err.msg set); what parses must hold together (hex
 * digests, sizes >= 0, a layer count that matches the JSON). tests/fuzz/run builds and
 * runs it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "registry/manifest.h"
#include "registry/reference.h"

static void check_hex(const char *s)
{
	if (strlen(s) != DIGEST_HEX_LEN)
		__builtin_trap();
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			__builtin_trap();
}

static void check_desc(const struct blob_desc *d)
{
	check_hex(d->digest);
	if (d->size < 0 || strlen(d->media_type) >= sizeof(d->media_type))
		__builtin_trap();
	for (size_t i = 0; d->urls && d->urls[i]; i++)
		if (i >= 16)
			__builtin_trap();
}

static void check_manifest(const uint8_t *data, size_t len)
{
	/* not NUL-terminated, as a registry's body is not: ASan sees any read past it */
	char *raw = malloc(len ? len : 1);
	if (!raw)
		return;
	memcpy(raw, data, len);
	struct image_manifest m = { 0 };
	struct diyc_error err = { 0 };
	if (manifest_parse_image(raw, len, &m, &err) == 0) {
		check_desc(&m.config);
		if (m.n_layers > 1000)
			__builtin_trap();
		for (size_t i = 0; i < m.n_layers; i++)
			check_desc(&m.layers[i]);
		/* what pull does with a parsed manifest's bytes */
		char hex[DIGEST_HEX_LEN + 1];
		digest_bytes(raw, len, hex);
		check_hex(hex);
	} else if (!err.msg[0]) {
		__builtin_trap();
	}
	image_manifest_free(&m);
	free(raw);
}

static void check_reference(const char *s)
{
	struct image_reference r;
	struct diyc_error err = { 0 };
	if (reference_parse(s, &r, &err) < 0) {
		if (!err.msg[0])
			__builtin_trap();
		return;
	}
	char out[REF_DOMAIN_MAX + REF_PATH_MAX + REF_TAG_MAX + 80], again[sizeof(out)], repo[sizeof(out)];
	reference_format(&r, out, sizeof(out));
	reference_repo(&r, repo, sizeof(repo));
	if (strncmp(out, repo, strlen(repo)))
		__builtin_trap();
	struct image_reference r2;
	if (reference_parse(out, &r2, &err) < 0 || strcmp(r.domain, r2.domain) || strcmp(r.path, r2.path) ||
	    strcmp(r.tag, r2.tag) || strcmp(r.digest, r2.digest))
		__builtin_trap();
	reference_format(&r2, again, sizeof(again));
	if (strcmp(out, again))
		__builtin_trap();
	if (!r.tag[0] && !r.digest[0])
		__builtin_trap();
	if (r.digest[0])
		check_hex(r.digest + 7);
}

/* pull loads nettle (dlopen) before it hashes anything */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct diyc_error err = { 0 };
	if (digest_init(&err) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		char *s = strndup((const char *)data + 1, size - 1);
		if (s)
			check_reference(s);
		free(s);
		return 0;
	}
	check_manifest(data + 1, size - 1);
	return 0;
}
