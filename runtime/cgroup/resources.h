/* SPDX-License-Identifier: MIT */
/* resources.h: a container's resource limits (memory, swap, pids, CPU) and the cgroup manager
 * asked for: parsing and checking them, and writing them into a cgroup directory. The
 * messages name each setting as the front end calls it (struct cgroup_labels). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

enum cgroup_manager { CGROUP_MANAGER_AUTO, CGROUP_MANAGER_SYSTEMD, CGROUP_MANAGER_CGROUPFS, CGROUP_MANAGER_NONE };

/* What the front end calls each setting in messages (its flags, as "--memory"). */
struct cgroup_labels {
	const char *memory, *memory_swap, *pids, *cpus, *manager;
};

/* What `run` was asked for; 0 means "not set" for every field. */
struct cgroup_limits {
	uint64_t memory;        /* bytes (memory.max) */
	int64_t memory_swap;    /* memory + swap in bytes, as docker counts it; -1: unlimited swap */
	uint64_t pids;          /* pids.max */
	uint64_t cpu_quota;     /* cpu.max: QUOTA per CPU_PERIOD microseconds */
	enum cgroup_manager manager;
	/* the names messages use (not configuration: the front end sets them for each
	 * command); NULL: the settings' own names) */
	const struct cgroup_labels *labels;
};
#define CPU_PERIOD 100000

/* Parsers of one setting, what: its name in the message. 0, or -EINVAL with err saying
 * what is wrong with the value. */
int cgroup_limit_parse_memory(const char *what, const char *s, uint64_t *out, struct diyc_error *err);
int cgroup_limit_parse_memory_swap(const char *what, const char *s, int64_t *out, struct diyc_error *err);
int cgroup_limit_parse_pids(const char *what, const char *s, uint64_t *out, struct diyc_error *err);
int cgroup_limit_parse_cpus(const char *what, const char *s, uint64_t *quota, struct diyc_error *err);
int cgroup_limit_parse_manager(const char *what, const char *s, enum cgroup_manager *out, struct diyc_error *err);
const char *cgroup_manager_name(enum cgroup_manager m);
/* Checks the combination (memory_swap needs memory and is at least it, ...). */
int cgroup_limits_check(const struct cgroup_limits *l, struct diyc_error *err);
/* Whether the container gets a cgroup of its own: a limit, or a manager asked for by name. */
bool cgroup_wanted(const struct cgroup_limits *l);
/* The label of the first setting given (memory, swap, pids, CPU, else the manager), for
 * messages. */
const char *cgroup_first_label(const struct cgroup_limits *l);
/* The labels of l (its own, or the settings' own names). */
const struct cgroup_labels *cgroup_labels_of(const struct cgroup_limits *l);

/* -- in a cgroup directory (used by the backends) -------------------------------------------- */

/* Enables memory, pids and cpu for the children of dir: all that are there (for stats),
 * and an error naming a needed one that is not. user: a normal user's cgroup, which
 * systemd delegated (the message says how to delegate more). */
int cgroup_enable_controllers(const char *dir, const struct cgroup_limits *l, bool user, struct diyc_error *err);
/* Every controller the limits need is enabled in enabled (a cgroup.subtree_control). */
bool cgroup_controllers_enabled(const char *enabled, const struct cgroup_limits *l);
/* Writes memory.max, memory.swap.max, pids.max and cpu.max of dir as l asks. */
int cgroup_write_limits(const char *dir, const struct cgroup_limits *l, struct diyc_error *err);
