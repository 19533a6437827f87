/* SPDX-License-Identifier: MIT */
/* store.h: a container's directories and configuration on disk, and the rules for
 * container names and hostnames. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"
#include "config.h"
#include <stdint.h>
#include <sys/types.h>

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

enum container_status { STATUS_CREATED, STATUS_RUNNING, STATUS_EXITED };

/* state.json: what happened to the container, as its monitor recorded it. */
struct container_state {
	enum container_status status;
	pid_t pid;              /* the container's PID 1, as the host sees it */
	uint64_t pid_start;     /* its start time (/proc/PID/stat field 22): pid reuse check */
	pid_t monitor_pid;
	int exit_code;
	bool monitor_lost;      /* recorded running, but its monitor died without saying how it ended */
	bool oom_killed;        /* the kernel's OOM killer struck in its cgroup */
	char started_at[32], finished_at[32];
	char cgroup[PATH_MAX];  /* its cgroup under /sys/fs/cgroup while it runs, "" when none */
	char cgroup_scope[256]; /* the systemd scope holding that cgroup, "" when none */
	char ip[16];            /* its address on the bridge while it runs, "" when none */
	char bridge[16];        /* and that bridge */
};

/* An open container. The lock file has two byte-range locks (OFD locks, tied to the
 * open file, so inherited by a forked monitor and released when its last fd closes):
 * byte 0 is held briefly by whoever changes the state; byte 1 is held by the monitor
 * for as long as the container may be running, so "running" can never outlive a
 * crashed monitor. */
struct container {
	struct container_dirs d;
	int dirfd, lockfd;
	bool have_config;
	struct container_config cfg;
	struct container_state st;  /* recorded state, corrected by the lock: see container_refresh */
	bool locked;                /* we hold byte 0 */
};

/* Claims the name (NULL: a generated one) by renaming a prepared directory holding the
 * lock file into place (RENAME_NOREPLACE); returns with bytes 0 and 1 held. */
int container_claim(const struct diyc_paths *p, const char *name, struct container *c, struct diyc_error *err);
/* Opens an existing container; "no such container" when there is none. */
int container_open(const struct diyc_paths *p, const char *name, struct container *c, struct diyc_error *err);
void container_close(struct container *c);
/* Byte 0, waiting for it. */
int container_lock(struct container *c, struct diyc_error *err);
void container_unlock(struct container *c);
/* Takes byte 1 without waiting: -EBUSY when a monitor holds it. */
int container_take_monitor(struct container *c);
/* Lets go of byte 1 (for everyone sharing our open lock file). */
void container_release_monitor(struct container *c);
/* Whether another process holds byte 1. */
bool container_monitor_alive(const struct container *c);
/* Re-reads state.json and applies the lock: recorded running without a monitor is
 * exited (137, the SIGKILL its PID 1 got from the kernel when the monitor died). */
int container_refresh(struct container *c, struct diyc_error *err);
/* Writes state.json atomically (fsync when durable). */
int container_write_state(struct container *c, const struct container_state *st, bool durable,
			  struct diyc_error *err);
/* Writes config.json atomically (fsync when durable). */
int container_write_config(struct container *c, const char *json, bool durable, struct diyc_error *err);
/* Creates upper/, work/ (kept when present) and a fresh run dir with the rootfs mount point. */
int container_populate(const struct container *c, struct diyc_error *err);
/* Removes the container: renamed out of the way first (so the name is free at once and a
 * crash leaves a `.rm-*` directory that prune removes), then deleted. */
int container_remove(struct container *c, const struct userns_plan *plan, struct diyc_error *err);
/* Names of all containers, sorted, NULL-terminated (malloc'd). */
int container_list(const struct diyc_paths *p, char ***names, struct diyc_error *err);
/* Removes `.new-*` and `.rm-*` directories left by crashes (those nobody holds). */
void container_clean_leftovers(const struct diyc_paths *p, const struct userns_plan *plan);
const char *container_status_name(enum container_status s);
