/* SPDX-License-Identifier: MIT */
/* authfile-internal.h: what authfile.c and authfile-helper.c (docker-credential-NAME)
 * share. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

/* authfile.h is not included: it and this header make one module with authfile.c */
struct json_object;
struct registry_creds;

/* The host an auths or credHelpers key stands for: a URL's host ("https://index.docker.io/v1/"
 * -> "docker.io"), docker's other names of docker.io as docker.io, else the key itself. */
void authfile_key_host(const char *key, char *out, size_t size);
/* The file writes go to (authfile.h); malloc'd, NULL when out of memory. */
char *authfile_write_path(const char *authfile);
/* The files read, in order, without repeats (authfile.h). */
int authfile_read_paths(const char *authfile, char ***out);
/* The helper a file names for host (credHelpers, else credsStore), or NULL. */
const char *authfile_helper_for(struct json_object *j, const char *host);

/* docker-credential-NAME get / store / erase for host (docker.io as docker's
 * https://index.docker.io/v1/). get: -ENOENT when the helper has nothing. */
int authfile_helper_get(const char *name, const char *host, struct registry_creds *c, struct diyc_error *err);
int authfile_helper_store(const char *name, const char *host, const struct registry_creds *c, struct diyc_error *err);
int authfile_helper_erase(const char *name, const char *host, struct diyc_error *err);
