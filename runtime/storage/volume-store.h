/* SPDX-License-Identifier: MIT */
/* volume-store.h: named and anonymous volumes in the store, as podman keeps them:
 * DATA/volumes/NAME/volume.json (what `volume inspect` shows) and DATA/volumes/NAME/_data
 * (what is mounted), _data owned by the container's root through the user namespace. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"

#define VOLUME_NAME_MAX 128

struct volume_info {
	char name[VOLUME_NAME_MAX + 1];
	char created[32];          /* RFC 3339, UTC */
	char **labels;             /* KEY=VALUE (--label), NULL-terminated, never NULL */
	char **options;            /* KEY=VALUE (--opt), NULL-terminated, never NULL */
	bool anonymous;            /* made for an image's Volumes or `-v /path`: goes with its container */
	uint64_t size_limit;       /* --opt size=, bytes; 0: none */
	uint32_t project_id;       /* the project quota id holding size_limit, 0: none */
	char mountpoint[PATH_MAX]; /* DATA/volumes/NAME/_data */
};

/* The rule of container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most VOLUME_NAME_MAX. */
bool volume_name_valid(const char *name);
/* Creates volume NAME (NULL: an anonymous one with a generated 64-hex name). labels and
 * opts may be NULL. When it exists already, *existed is set and info describes it (an
 * error when opts or labels differ, as docker says; NULL labels or opts ask nothing of
 * it, as `run -v NAME:/path` does). opts: size=SIZE alone (a project quota: root, and a
 * store with project quotas); docker's type, device and o are refused. */
int volume_create(const struct diyc_paths *p, const char *name, char *const *labels, char *const *opts,
		  bool anonymous, struct volume_info *info, bool *existed, struct diyc_error *err);
/* Reads volume NAME: -ENOENT with "no such volume `NAME`" when there is none. */
int volume_get(const struct diyc_paths *p, const char *name, struct volume_info *info, struct diyc_error *err);
/* Names of all volumes, sorted, NULL-terminated (malloc'd). */
int volume_list(const struct diyc_paths *p, char ***names, struct diyc_error *err);
/* Removes volume NAME and its data (files of subordinate ids too, through plan). Whether it is
 * in use is the caller's question (containers are not this module's). */
int volume_remove(const struct diyc_paths *p, const char *name, const struct userns_plan *plan,
		  struct diyc_error *err);
/* An O_PATH | O_DIRECTORY fd of NAME's _data, opened below DATA/volumes without following any
 * symlink (a _data swapped for a link is an error, never followed). */
int volume_open_data(const struct diyc_paths *p, const char *name, struct diyc_error *err);
void volume_info_free(struct volume_info *v);
/* KEY=VALUE entries (KEY alone: an empty value) as the JSON object {"KEY": "VALUE"}, as
 * volume.json and `volume inspect` show labels and options. */
struct json_object;
struct json_object *volume_kv_json(char *const *kv);
/* Removes volume NAME of the store at DATA_DIR when its volume.json says it is anonymous
 * (what a container's configuration says is not trusted to remove a named one); a missing
 * volume is no error. For a container's end (--rm, rm -v). */
int volume_remove_anonymous(const char *data_dir, const char *name, const struct userns_plan *plan,
			    struct diyc_error *err);
/* Removes what a crash left: `.new-PID-*` of a dead creator, `.rm-*`. */
void volume_clean_leftovers(const struct diyc_paths *p, const struct userns_plan *plan);
/* The disk space NAME's data takes, as `system df` counts it (lib/du.h: blocks, each
 * hard-linked file once); files of subordinate ids are counted from inside a user namespace
 * with plan's maps. */
int volume_disk_usage(const struct diyc_paths *p, const char *name, const struct userns_plan *plan, uint64_t *bytes,
		      struct diyc_error *err);
