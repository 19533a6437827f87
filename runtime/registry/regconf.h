/* SPDX-License-Identifier: MIT */
/* regconf.h: containers-registries.conf(5), version 2, as podman reads it:
 *   unqualified-search-registries = ["..."], short-name-mode = "enforcing|permissive|disabled",
 *   [aliases] "name" = "host/path", and
 *   [[registry]] prefix, location, insecure, blocked, mirror-by-digest-only, with
 *   [[registry.mirror]] location, insecure, pull-from-mirror = "all|digest-only|tag-only".
 * Files: $CONTAINERS_REGISTRIES_CONF alone when set; else $XDG_CONFIG_HOME/containers/
 * registries.conf ($HOME/.config/...) when it exists, or /etc/containers/registries.conf;
 * then the drop-ins of /etc/containers/registries.conf.d/ and $XDG_CONFIG_HOME/containers/
 * registries.conf.d/ (*.conf, in lexical order), each overriding what it sets. No C TOML
 * library ships with Debian 12, so regconf-toml.c reads the subset of TOML these files use
 * (tables, arrays of tables, strings, booleans, arrays of strings, comments) and refuses
 * the rest with the file and line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"
#include "reference.h"

enum short_name_mode { SHORT_NAME_PERMISSIVE, SHORT_NAME_ENFORCING, SHORT_NAME_DISABLED };
enum pull_from_mirror { PULL_FROM_MIRROR_ALL, PULL_FROM_MIRROR_DIGEST_ONLY, PULL_FROM_MIRROR_TAG_ONLY };

struct registry_mirror {
	char *location;             /* host[:port][/path] */
	bool insecure;
	enum pull_from_mirror pull_from;
};

struct registry_entry {
	char *prefix;               /* what it matches: host[:port][/path], or *.example.com */
	char *location;             /* where it is: the prefix when not set */
	bool insecure, blocked, mirror_by_digest_only;
	struct registry_mirror *mirrors;
	size_t n_mirrors;
	char *file;                 /* the file that set it, and where, for messages */
	int line;
};

struct registries_conf {
	char **search;              /* unqualified-search-registries, NULL-terminated */
	enum short_name_mode short_name_mode;
	char **alias_names, **alias_values; /* [aliases], NULL-terminated, same length */
	struct registry_entry *regs;
	size_t n_regs;
	char **files;               /* the files read, in order, NULL-terminated (for messages) */
};

/* Reads the files above; none existing is no error (an empty configuration). */
int regconf_load(struct registries_conf *c, struct diyc_error *err);
/* The same with the files given: conf (NULL for none), then the *.conf of each directory of
 * dirs (NULL-terminated, may be NULL) in lexical order. For tests and --registries-conf. */
int regconf_load_paths(struct registries_conf *c, const char *conf, const char *const *dirs,
		       struct diyc_error *err);
/* Parses one file's text into c (what it sets overrides what c had). name: for messages. */
int regconf_parse(struct registries_conf *c, const char *text, size_t len, const char *name,
		  struct diyc_error *err);
void regconf_free(struct registries_conf *c);

/* One place to pull a repository from: mirrors first, then the registry itself. */
struct pull_endpoint {
	char host[REF_DOMAIN_MAX + 1]; /* host[:port] */
	char path[REF_PATH_MAX + 1];   /* the repository's path there (a location may move it) */
	bool insecure;                 /* http allowed, and TLS not verified */
	bool mirror;
};
/* The endpoints to try for a qualified reference, in order (the [[registry]] whose prefix
 * matches it longest: its mirrors that apply to a tag or digest pull, then its location);
 * a blocked registry is an error naming the file. *out is malloc'd. */
int regconf_endpoints(const struct registries_conf *c, const struct image_reference *r,
		      struct pull_endpoint **out, size_t *n, struct diyc_error *err);
/* Whether host[:port] is insecure by the configuration (for push, login). */
bool regconf_insecure(const struct registries_conf *c, const char *host);
/* The fully qualified candidates for a short name (r->qualified false): its alias if it has
 * one (a single candidate), else one per search registry (docker.io gets `library/` for a
 * one-component name); with no search registries, docker.io alone. short-name-mode
 * enforcing with several candidates and no terminal (tty false) is an error that lists
 * them; disabled ignores aliases. *out is a malloc'd array of references. */
int regconf_candidates(const struct registries_conf *c, const struct image_reference *r, bool tty,
		       struct image_reference **out, size_t *n, struct diyc_error *err);
