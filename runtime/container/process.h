/* SPDX-License-Identifier: MIT */
/* process.h: the container command's identity and environment: -u resolved against
 * the image's /etc/passwd and /etc/group, HOME, PATH and the rest of the environment. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "lib/error.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct process_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char home[256];
};

/* Resolves "UID[:GID]" or "NAME[:GROUP]" against passwd/group contents (either may be NULL). */
int user_resolve(const char *spec, const char *passwd, const char *group, struct process_user *u,
		 struct diyc_error *err);
/* Builds the final environment: defaults, then the given KEY=VAL list overriding them. */
char **env_build(char **given, const char *hostname, const char *home, bool tty);
/* Looks up KEY in a KEY=VAL list. */
const char *env_get(char **env, const char *key);
/* Opens the working directory dir (NULL: /) below the current root, never leaving it
 * (no "..", symlink or /proc magic link out of it), creating it if missing: an O_PATH fd. */
int workdir_open(const char *dir, struct diyc_error *err);
/* Drops to the user (groups, gid, uid). */
int process_become(const struct process_user *u, bool set_groups, struct diyc_error *err);
