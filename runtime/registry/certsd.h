/* SPDX-License-Identifier: MIT */
/* certsd.h: per-registry TLS files as podman and docker keep them: the first of
 * $XDG_CONFIG_HOME/containers/certs.d/HOST[:PORT]/ ($HOME/.config/...),
 * /etc/containers/certs.d/HOST[:PORT]/, /etc/docker/certs.d/HOST[:PORT]/ that exists:
 * *.crt are CAs (added to the system's), NAME.cert with NAME.key a client certificate. */
#pragma once
#include <stddef.h>
#include "lib/error.h"

struct registry_tls {
	char *dir;          /* the directory found, or NULL: nothing configured */
	char *ca_pem;       /* the *.crt files concatenated, or NULL */
	size_t ca_len;
	char *cert_path, *key_path; /* a client certificate and its key, or NULL */
};
/* 0 (with t->dir NULL when no directory exists), or a negative errno with err set (an
 * unreadable file, a .cert without its .key). The files are the user's or root's own
 * configuration (symlinks into /etc/ssl are common): they are followed, and what is read
 * must be a regular file. */
int certsd_find(const char *hostport, struct registry_tls *t, struct diyc_error *err);
void registry_tls_free(struct registry_tls *t);
