/* SPDX-License-Identifier: MIT */
/* cgroup.h: a container's resource limits (resources.h) and the cgroup v2 directory that
 * holds them: where it goes, made by one of the backends (backend.h), and what is read and
 * done there later (usage, OOM kills, exec, removal). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/error.h"
#include "backend.h"
#include "resources.h"

/* Refuses early (before anything is created) when this host cannot hold the limits:
 * no cgroup v2 at /sys/fs/cgroup, no systemd user session, ... */
int cgroup_precheck(const struct cgroup_limits *l, struct diyc_error *err);

/* Creates the container's cgroup (the systemd or the cgroupfs backend) and writes the limits.
 * The calling process (the container's monitor) is moved out of the way as needed. */
int cgroup_setup(const char *name, const struct cgroup_limits *l, struct cgroup *cg, struct diyc_error *err);
/* Whether the host's cgroup2 is mounted with nsdelegate (systemd mounts it so): then a
 * cgroup namespace is a delegation boundary, and a process inside cannot write the
 * interface files (limits) of its namespace's root, only make cgroups below it and move
 * its processes there. */
bool cgroup_ns_delegates(void);
/* After the container ended: whether the kernel's OOM killer struck in it. */
bool cgroup_oom_killed(const struct cgroup *cg);
/* Removes what cgroup_setup made, killing what is left in it (a systemd scope goes away
 * by itself once empty). false: the cgroup is still there (path and scope kept). */
bool cgroup_teardown(struct cgroup *cg);
/* Removes a cgroup left by a monitor that died (kill -9): /sys/fs/cgroup/PATH, if empty. */
void cgroup_remove_stale(const char *path);
/* Moves pid into the container's cgroup path (for `exec`): into the cgroup of its PID 1
 * pid1 when that is below path. scope, when set, is asked to do it when diyc may not. */
int cgroup_attach(const char *path, pid_t pid1, const char *scope, bool system_bus, pid_t pid,
		  struct diyc_error *err);

struct cgroup_usage {
	bool have_memory, have_pids;
	uint64_t memory, memory_max;     /* memory_max: UINT64_MAX = unlimited */
	uint64_t pids, pids_max;         /* pids_max: UINT64_MAX = unlimited */
	uint64_t cpu_usec;
};
int cgroup_read_usage(const char *path, struct cgroup_usage *u, struct diyc_error *err);
