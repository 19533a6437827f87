/* SPDX-License-Identifier: MIT */
/* state.h: a container's directories and configuration on disk, and the rules for
 * container names and hostnames. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include "error.h"
#include "paths.h"
#include "userns.h"

#define CONTAINER_NAME_MAX 128

struct container_dirs {
	char name[CONTAINER_NAME_MAX + 1];
	char data[PATH_MAX];   /* DATA/containers/NAME: config.json, upper/, work/ */
	char run[PATH_MAX];    /* RUN/containers/NAME: rootfs/, hostname, hosts, resolv.conf */
	char upper[PATH_MAX], work[PATH_MAX], rootfs[PATH_MAX];
};

/* [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most CONTAINER_NAME_MAX: no `/`, no `..`. */
bool container_name_valid(const char *name);
/* RFC 1123 labels separated by dots, at most 63 characters in all (sethostname's limit is 64). */
bool hostname_valid(const char *h);
/* The hostname a container gets by default: its name, cut to a valid hostname. */
void hostname_from_name(const char *name, char *out, size_t outsz);

/* Claims the name by creating DATA/containers/NAME and fills in the paths; NAME NULL
 * picks an unused generated name. Fails with a clear message when the name is taken. */
int container_create(const struct diyc_paths *p, const char *name, struct container_dirs *d,
		     struct diyc_error *err);
/* Creates the rest: upper/, work/, and the run dir with the rootfs mount point. */
int container_populate(const struct container_dirs *d, struct diyc_error *err);
/* Writes config.json atomically (fsync when durable). */
int container_write_config(const struct container_dirs *d, const char *json, bool durable,
			   struct diyc_error *err);
/* Removes both directories (files owned by subordinate ids included). */
int container_remove_dirs(const struct container_dirs *d, const struct userns_plan *plan,
			  struct diyc_error *err);
