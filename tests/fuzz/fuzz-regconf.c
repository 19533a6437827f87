/* SPDX-License-Identifier: MIT */
/* A libFuzzer target for what the registry client reads from users and from
 * registries.conf files: image references (reference_parse) and the TOML files
 * (regconf_parse), then what a configuration that parsed answers for a few names (the
 * endpoints, the short-name candidates). The first byte of an input chooses: even, a
 * registries.conf; odd, a reference. tests/fuzz/run builds and runs it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "registry/reference.h"
#include "registry/regconf.h"

static void check_reference(const char *s)
{
	struct image_reference r;
	struct diyc_error err = { 0 };
	if (reference_parse(s, &r, &err) < 0) {
		if (!err.msg[0])
			__builtin_trap();
		return;
	}
	/* what parsed prints back as something that parses to the same */
	char out[REF_DOMAIN_MAX + REF_PATH_MAX + REF_TAG_MAX + 80], again[sizeof(out)];
	reference_format(&r, out, sizeof(out));
	struct image_reference r2;
	if (reference_parse(out, &r2, &err) < 0 || strcmp(r.domain, r2.domain) || strcmp(r.path, r2.path) ||
	    strcmp(r.tag, r2.tag) || strcmp(r.digest, r2.digest) || !r2.qualified)
		__builtin_trap();
	reference_format(&r2, again, sizeof(again));
	if (strcmp(out, again))
		__builtin_trap();
	reference_short_path(&r, out, sizeof(out));
	if (strlen(r.domain) > REF_DOMAIN_MAX || strlen(r.path) > REF_PATH_MAX || strlen(r.tag) > REF_TAG_MAX)
		__builtin_trap();
}

static void resolve(const struct registries_conf *c, const char *name)
{
	struct image_reference r, *cand = NULL;
	struct diyc_error err = { 0 };
	size_t n = 0;
	if (reference_parse(name, &r, &err) < 0)
		__builtin_trap();
	if (regconf_candidates(c, &r, false, &cand, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct pull_endpoint *e = NULL;
			size_t k = 0;
			if (!cand[i].qualified)
				__builtin_trap();
			if (regconf_endpoints(c, &cand[i], &e, &k, &err) == 0 && k == 0)
				__builtin_trap();
			free(e);
		}
	} else if (!err.msg[0]) {
		__builtin_trap();
	}
	free(cand);
	regconf_insecure(c, r.domain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if (data[0] & 1) {
		char *s = strndup(text, len);
		if (s)
			check_reference(s);
		free(s);
		return 0;
	}
	struct registries_conf c = { 0 };
	struct diyc_error err = { 0 };
	/* not NUL-terminated, as a file's text need not be: ASan sees any read past it */
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, text, len);
	if (regconf_parse(&c, copy, len, "fuzz.conf", &err) == 0) {
		static const char *const names[] = { "busybox", "busybox:1", "ns/app", "quay.io/a/b", "docker.io/evil/x",
						     "a.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
						     "localhost:5000/x" };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			resolve(&c, names[i]);
	} else if (!err.msg[0] || strncmp(err.msg, "fuzz.conf", 9)) {
		__builtin_trap();
	}
	regconf_free(&c);
	free(copy);
	return 0;
}
