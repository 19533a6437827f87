/* SPDX-License-Identifier: MIT */
/* authfile.h: registry credentials where podman and docker keep them, read in podman's
 * order: --authfile, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * $XDG_CONFIG_HOME/containers/auth.json ($HOME/.config/...), ~/.docker/config.json (and
 * $DOCKER_CONFIG/config.json). Entries: "auths": {"KEY": {"auth": base64(user:pass),
 * "identitytoken": "..."}}, where KEY is host[:port][/path] (podman) or a URL
 * ("https://index.docker.io/v1/" for docker.io, docker); "credHelpers": {"host": "NAME"}
 * and "credsStore": "NAME" run docker-credential-NAME (get/store/erase, JSON on stdin and
 * stdout). Writes go to the first of --authfile, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, keeping every other key of the file, 0600,
 * atomically (temp + rename) under a lock. No function here prints or logs a secret. */
#pragma once
#include <stdbool.h>
#include "lib/error.h"

struct registry_creds {
	char *username, *password;  /* NULL when none */
	char *identity_token;       /* an OAuth2 refresh token (identitytoken), or NULL */
};
void registry_creds_free(struct registry_creds *c);

/* The credentials for a repository ("host[:port]/path", matched longest key first down to
 * "host[:port]"), from the first file in the order above that has an entry (or a helper
 * it names). 0 with c filled, -ENOENT when no file has any, or another negative errno with
 * err set (a malformed file, a helper that failed). authfile: --authfile or NULL. */
int authfile_get(const char *authfile, const char *repo, struct registry_creds *c, struct diyc_error *err);
/* Stores user/password (or an identity token when user is "<token>") for key (host[:port]
 * or host[:port]/path). *written: the file written, for the message (may be NULL). */
int authfile_set(const char *authfile, const char *key, const struct registry_creds *c, char **written,
		 struct diyc_error *err);
/* Removes key's entry (all entries when all) from the write file; -ENOENT when it had none. */
int authfile_remove(const char *authfile, const char *key, bool all, struct diyc_error *err);
