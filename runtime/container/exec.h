/* SPDX-License-Identifier: MIT */
/* exec.h: running a new command inside a running container (`diyc exec`). */
#pragma once
#include <stdbool.h>
#include "container.h"
#include "lib/error.h"
#include "store.h"

struct exec_opts {
	char **argv;
	char **env;             /* -e KEY=VAL, after the container's own; NULL-terminated or NULL */
	const char *workdir;    /* NULL: the container's -w, else / */
	const char *user;       /* NULL: the container's -u, else root */
	bool tty, interactive;
	const char *data_dir;   /* diyc's data directory (the seccomp filter cache) */
};

/* Runs the command in c (opened and refreshed) and waits for it. Returns like
 * container_run: 0 with *status, 1 when it could not be executed (126/127), or a
 * negative errno. */
int container_exec(const struct container *c, const struct exec_opts *o, int *status, struct diyc_error *err);
