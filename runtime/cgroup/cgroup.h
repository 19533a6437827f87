/* SPDX-License-Identifier: MIT */
/* cgroup.h: a container's resource limits and the cgroup v2 directory that holds them. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>
#include "lib/error.h"

enum cgroup_manager { CGROUP_MANAGER_AUTO, CGROUP_MANAGER_SYSTEMD, CGROUP_MANAGER_CGROUPFS, CGROUP_MANAGER_NONE };

/* What `run` was asked for; 0 means "not set" for every field. */
struct cgroup_limits {
	uint64_t memory;        /* bytes (memory.max) */
	int64_t memory_swap;    /* memory + swap in bytes, as docker counts it; -1: unlimited swap */
	uint64_t pids;          /* pids.max */
	uint64_t cpu_quota;     /* cpu.max: QUOTA per CPU_PERIOD microseconds */
	enum cgroup_manager manager;
};
#define CPU_PERIOD 100000

/* Flag parsers: 0, or -EINVAL with err saying what is wrong with the value. */
int cgroup_parse_memory(const char *flag, const char *s, uint64_t *out, struct diyc_error *err);
int cgroup_parse_memory_swap(const char *s, int64_t *out, struct diyc_error *err);
int cgroup_parse_pids(const char *s, uint64_t *out, struct diyc_error *err);
int cgroup_parse_cpus(const char *s, uint64_t *quota, struct diyc_error *err);
int cgroup_parse_manager(const char *s, enum cgroup_manager *out, struct diyc_error *err);
const char *cgroup_manager_name(enum cgroup_manager m);
/* Checks the combination (--memory-swap needs --memory and is at least it, ...). */
int cgroup_limits_check(const struct cgroup_limits *l, struct diyc_error *err);
/* Whether the container gets a cgroup of its own: a limit, or a manager asked for by name. */
bool cgroup_wanted(const struct cgroup_limits *l);
/* The first limit flag set ("--memory", ...), for messages. */
const char *cgroup_first_flag(const struct cgroup_limits *l);

/* The cgroup v2 path ("/user.slice/...") of pid, from /proc/PID/cgroup (0: ourselves);
 * -ENOENT without a cgroup v2 line. */
int cgroup_of_pid(pid_t pid, char *out, size_t size);

/* Refuses early (before anything is created) when this host cannot hold the limits:
 * no cgroup v2 at /sys/fs/cgroup, no systemd user session, ... */
int cgroup_precheck(const struct cgroup_limits *l, struct diyc_error *err);

/* The cgroup of one running container. */
struct cgroup {
	char path[PATH_MAX];    /* the container's cgroup, relative to /sys/fs/cgroup ("/a/b/container") */
	char scope[256];        /* the systemd unit holding it, "" when none */
	bool own_parent;        /* path's parent is /sys/fs/cgroup/diyc: removed after it when empty */
	bool system_bus;        /* the scope is the system manager's (root) */
	int fd;                 /* O_PATH|O_DIRECTORY of the container's cgroup, for CLONE_INTO_CGROUP */
};
#define CGROUP_INIT { .fd = -1 }

/* Creates the container's cgroup (through systemd or directly) and writes the limits.
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
