/* SPDX-License-Identifier: MIT */
/* control.h: starting a container in the foreground or under a detached monitor,
 * recording its state, and signalling, stopping and removing it. */
#pragma once
#include <stdbool.h>
#include "config.h"
#include "lib/error.h"
#include "store.h"
#include "lib/userns.h"

struct launch_opts {
	bool detach;            /* a monitor process runs the container in the background */
	bool interactive;       /* keep stdin connected (foreground) or open (detached) */
	bool first_run;         /* just claimed: config.json is written while the id maps are,
				 * and a container that fails to start is removed */
	const char *config_json;
	int *port_fds;          /* the host ports of cfg, bound already (taken over), or NULL:
				 * the launch binds them */
	const char *data_dir;   /* diyc's data directory (the seccomp filter cache is there) */
};

/* Runs the container described by cfg on the read-only lowerdirs (top first, NULL-terminated:
 * an image's layers, or one directory).  c must hold bytes 0 and 1 of its lock; the
 * launch owns them from here on and leaves c only to be closed. Returns like
 * container_run: 0 (*status: the command's status, or 0 once a detached container's
 * command was executed), 1 when the command could not be executed (*status 126/127),
 * or a negative errno. */
int container_launch(struct container *c, const struct container_config *cfg, char *const *lowerdirs,
		     const struct userns_plan *plan, const struct launch_opts *o, int *status,
		     struct diyc_error *err);

/* Sends sig to the container's PID 1 (checked against pid reuse). -ESRCH (err set) when
 * the container is not running. */
int container_signal(struct container *c, int sig, struct diyc_error *err);
/* SIGTERM, then SIGKILL after timeout_s; returns once the monitor recorded the end. */
int container_stop(struct container *c, unsigned timeout_s, struct diyc_error *err);
/* Removes a container that is not running; with force, kills it first. */
int container_rm(struct container *c, bool force, const struct userns_plan *plan, struct diyc_error *err);

/* Parses a signal name (KILL, SIGKILL, kill) or number; -EINVAL when unknown. */
int signal_parse(const char *s);
