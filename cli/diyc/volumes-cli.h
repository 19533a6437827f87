/* SPDX-License-Identifier: MIT */
/* volumes-cli.h: what `run`, `start`, `rm -v`, `ps --filter volume=` and the `volume`
 * commands share about the volumes of containers (volumes-cli.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "container/config.h"
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"

/* Before a container starts: each volume of mounts gets its store entry (an anonymous one
 * without a name a new one; a named one that is missing is created, as docker does, also
 * for `start`: a volume removed meanwhile is made again, empty) and is opened (its _data
 * checked, the directory and the identity the container child checks recorded in the
 * entry). created (may be NULL) gets the names this made, for cli_volumes_undo. */
int cli_volumes_prepare(const struct diyc_paths *p, struct mount_entry *mounts, size_t n, char ***created,
			struct diyc_error *err);
/* Removes the volumes of created (a run that failed) and frees the list. */
void cli_volumes_undo(const struct diyc_paths *p, const struct userns_plan *plan, char **created);
/* Whether cfg mounts volume NAME. */
bool cli_config_uses_volume(const struct container_config *cfg, const char *name);
/* The containers whose configuration mounts volume NAME (sorted, NULL-terminated). */
int cli_volume_users(const struct diyc_paths *p, const char *name, char ***users, struct diyc_error *err);
/* The anonymous volumes of a removed container go with it (rm -v); one that another
 * container mounts stays, with a warning. */
void cli_volumes_remove_anonymous(const struct diyc_paths *p, const struct container_config *cfg,
				  const struct userns_plan *plan);
