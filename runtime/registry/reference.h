/* SPDX-License-Identifier: MIT */
/* reference.h: image references as users type them (NAME[:TAG][@DIGEST]), parsed and
 * normalised as docker does: a first component with no `.` or `:` and other than
 * `localhost` is a path on docker.io, and a one-component path on docker.io gets
 * `library/`. Whether the user named the registry is kept: a short name is resolved
 * through registries.conf (regconf.h) instead. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

#define REF_DOMAIN_MAX 255
#define REF_PATH_MAX 255
#define REF_TAG_MAX 128

struct image_reference {
	char domain[REF_DOMAIN_MAX + 1]; /* "docker.io", "127.0.0.1:5000", "localhost" */
	char path[REF_PATH_MAX + 1];     /* "library/busybox" (lowercase components) */
	char tag[REF_TAG_MAX + 1];       /* "" when only a digest was given */
	char digest[72];                 /* "sha256:<64 hex>", or "" */
	bool qualified;                  /* the user wrote the registry (domain) */
};

/* Parses s (docker's grammar: lowercase path components separated by `/`, each
 * [a-z0-9]+ joined by `.`, `_`, `__` or `-`+; a tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127};
 * a digest sha256:<64 lowercase hex>). The tag defaults to `latest` when there is no
 * digest. A short name (!qualified) gets domain "docker.io" (and `library/` for one
 * component) all the same: callers that consult registries.conf look at qualified.
 * Errors name what is wrong ("invalid reference `X`: ..."). */
int reference_parse(const char *s, struct image_reference *r, struct diyc_error *err);
/* The short name as typed, without registry: "busybox", "foo/bar" (the path without the
 * `library/` reference_parse added for docker.io). */
void reference_short_path(const struct image_reference *r, char *out, size_t size);
/* DOMAIN/PATH */
void reference_repo(const struct image_reference *r, char *out, size_t size);
/* DOMAIN/PATH:TAG, DOMAIN/PATH@DIGEST or DOMAIN/PATH:TAG@DIGEST */
void reference_format(const struct image_reference *r, char *out, size_t size);
/* Whether s is a well-formed registry host[:port] (a DNS name, IPv4, [IPv6], with an
 * optional port), as login/logout take it. */
bool reference_valid_domain(const char *s);
/* Why s is not host[:port][/path] (a registries.conf prefix or location: any host, the path
 * in the reference grammar), or NULL when it is one. */
const char *reference_location_problem(const char *s);
