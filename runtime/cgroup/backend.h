/* SPDX-License-Identifier: MIT */
/* backend.h: the cgroup of one running container, and the two ways to make it behind one
 * ops table: cgroupfs (cgroupfs.c: directories made directly, by root or inside a cgroup
 * delegated to diyc) and systemd (systemd.c: a transient scope with Delegate=yes, asked
 * for over D-Bus). cgroup.c chooses one. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "lib/error.h"
#include "resources.h"

/* The cgroup of one running container. */
struct cgroup {
	char path[PATH_MAX];    /* the container's cgroup, relative to /sys/fs/cgroup ("/a/b/container") */
	char scope[256];        /* the systemd unit holding it, "" when none */
	bool own_parent;        /* path's parent is /sys/fs/cgroup/diyc: removed after it when empty */
	bool system_bus;        /* the scope is the system manager's (root) */
	int fd;                 /* O_PATH|O_DIRECTORY of the container's cgroup, for CLONE_INTO_CGROUP */
};
#define CGROUP_INIT { .fd = -1 }

struct cgroup_backend {
	const char *name;       /* "cgroupfs", "systemd" */
	/* Makes the container's cgroup for the container name with the limits written: below
	 * parent (a cgroup delegated to diyc, relative to /sys/fs/cgroup) or, parent NULL,
	 * where the backend puts its own (/sys/fs/cgroup/diyc/NAME; a scope). Sets cg's path
	 * (and scope, system_bus, own_parent), not its fd. The calling process (the
	 * container's monitor) is moved out of the way as needed. */
	int (*create)(const char *name, const char *parent, const struct cgroup_limits *l, struct cgroup *cg,
		      struct diyc_error *err);
	/* Moves pid into the cgroup path (relative to /sys/fs/cgroup) of the container held
	 * by the unit scope (system_bus: the system manager's); NULL when it has no way
	 * cgroupfs has not. */
	int (*attach)(const char *path, const char *scope, bool system_bus, pid_t pid, struct diyc_error *err);
	/* Whether the unit pid runs in is delegated: 1, 0 or a negative errno; NULL: cannot tell. */
	int (*pid_delegated)(bool system_bus, pid_t pid, struct diyc_error *err);
};

extern const struct cgroup_backend cgroup_backend_cgroupfs;
extern const struct cgroup_backend cgroup_backend_systemd;
