/* SPDX-License-Identifier: MIT */
/* paths.h: where diyc keeps its data (images, layers, containers) and its runtime
 * files, for root and for a normal user. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "error.h"

struct diyc_paths {
	bool rootless;         /* true unless the effective uid is 0 */
	uid_t uid;
	gid_t gid;
	char data[PATH_MAX];   /* $XDG_DATA_HOME/diyc or /var/lib/diyc */
	/* $XDG_RUNTIME_DIR/diyc or /run/diyc; without XDG_RUNTIME_DIR, /run/user/UID/diyc
	 * when that directory is the user's, else DATA/run */
	char run[PATH_MAX];
};

/* Computes the paths from the environment; creates nothing. */
int paths_init(struct diyc_paths *p, struct diyc_error *err);
/* Creates DATA/SUB (and parents), mode 0700 for the top directories. */
int paths_ensure_data(const struct diyc_paths *p, const char *sub, struct diyc_error *err);
int paths_ensure_run(const struct diyc_paths *p, const char *sub, struct diyc_error *err);
