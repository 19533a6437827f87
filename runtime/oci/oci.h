/* SPDX-License-Identifier: MIT */
/* oci.h: the runc-style life cycle of a container an engine drives: create leaves the
 * container's process set up and waiting, start lets it run, kill and delete end it, and
 * no diyc process stays between the container and the engine (whose shim reaps it). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "lib/error.h"
#include "spec.h"
#include "state.h"

struct oci_create_opts {
	const char *root;           /* the state directory (--root) */
	const char *id;
	const char *bundle;
	const char *pid_file;       /* NULL: none */
	const char *console_socket; /* NULL: none (process.terminal needs one, or console_fd) */
	int console_fd;             /* else a socket to send the pty master over, or -1 */
	bool no_pivot, no_new_keyring, systemd_cgroup;
	bool no_cgroup;             /* --cgroup-manager=disabled: none, and no limits */
	int preserve_fds;           /* fds 3 .. 3+N-1 pass to the process */
};

/* Creates the container: on return its process waits for oci_start, its pid is written
 * to the pid file and *pid. */
int oci_create(const struct oci_create_opts *o, pid_t *pid, struct diyc_error *err);
/* Lets a created container's process run (the exec fifo), then the poststart hooks. */
int oci_start(const char *root, const char *id, struct diyc_error *err);
/* A signal to the container's init, or with all to every process of the container. */
int oci_kill(const char *root, const char *id, int sig, bool all, struct diyc_error *err);
/* Removes a created or stopped container (force: a running one too, killed first):
 * its processes, cgroup and state; then the poststop hooks. */
int oci_delete(const char *root, const char *id, bool force, struct diyc_error *err);
/* The state of one container: *json the spec's state JSON. */
int oci_state(const char *root, const char *id, char **json, struct diyc_error *err);
/* The pids of the container's processes (host pids), sorted. */
int oci_ps(const char *root, const char *id, pid_t **pids, size_t *n, struct diyc_error *err);
/* cgroup v2 freezer. */
int oci_pause(const char *root, const char *id, bool pause, struct diyc_error *err);
/* New limits from a resources object (JSON text). */
int oci_update(const char *root, const char *id, const char *resources_json, struct diyc_error *err);

struct oci_exec_opts {
	const char *root, *id;
	const char *process_json;   /* the whole process object (--process FILE), or NULL */
	struct oci_process process; /* else this, filled from the flags */
	const char *pid_file, *console_socket;
	bool detach;
	int preserve_fds;
};
/* Runs a process in the container. Detached: returns once it runs (*pid). Else waits
 * for it and *status is its exit status. */
int oci_exec(const struct oci_exec_opts *o, pid_t *pid, int *status, struct diyc_error *err);
