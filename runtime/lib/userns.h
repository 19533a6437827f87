/* SPDX-License-Identifier: MIT */
/* userns.h: the user namespace id maps: reading the caller's subordinate ranges,
 * writing the maps with newuidmap/newgidmap or a single mapping, and running a
 * function inside a fresh user namespace with those maps. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define IDMAP_MAX 32

struct id_range {
	uint32_t start, count;
};

struct idmap_entry {
	uint32_t inside, outside, count;
};

struct idmap {
	struct idmap_entry ent[IDMAP_MAX];
	int n;
};

struct userns_plan {
	bool enabled;          /* false under root: no user namespace is created */
	bool single;           /* only the caller's own uid/gid is mapped */
	char *newuidmap, *newgidmap;
	struct idmap uids, gids;
	/* join: userns_run enters join_fd, a user namespace with these maps that exists
	 * already (a container's), instead of making one: no set-uid newuidmap needed */
	bool join;
	int join_fd;
};

/* Parses subuid/subgid file contents for the ranges of user NAME or numeric ID.
 * Returns the number of ranges found (0..max) or a negative errno. */
int subid_parse(const char *contents, const char *name, uint32_t id, struct id_range *out, int max);
/* Builds the map: container 0 -> outside_id, then 1.. over the ranges in order. */
void idmap_build(struct idmap *m, uint32_t outside_id, const struct id_range *r, int n);

/* Decides how the caller's user namespace is mapped. Prints the one-line warning
 * when it has to fall back to a single mapping. */
int userns_plan_init(struct userns_plan *plan, struct diyc_error *err);
/* The same, without the warning about a missing range when quiet. */
int userns_plan_init_quiet(struct userns_plan *plan, bool quiet, struct diyc_error *err);
void userns_plan_free(struct userns_plan *plan);
/* Writes the maps of process PID (which must be in a new user namespace) in two steps,
 * so the caller can work while newuidmap/newgidmap run. */
struct map_helpers {
	pid_t pid[2];
	int errfd[2];
	const char *tool[2];
	int started;
};
int userns_maps_start(const struct userns_plan *plan, pid_t pid, struct map_helpers *h, struct diyc_error *err);
int userns_maps_finish(struct map_helpers *h, struct diyc_error *err);
/* Highest container uid/gid mapped + 1 (for chown checks). */
uint32_t idmap_size(const struct idmap *m);

/* clone() with fork semantics and the given CLONE_NEW* flags. */
pid_t clone_fork(unsigned long flags);
/* The same, the child starting in the cgroup cgroup_fd (CLONE_INTO_CGROUP); -1: ours. */
pid_t clone_fork_into(unsigned long flags, int cgroup_fd);

/* Runs fn(arg) in a child inside a new user namespace (plus extra_flags namespaces)
 * with the plan's maps, and waits for it. An error set by fn is carried back. Under
 * root (plan not enabled) the child gets only extra_flags. */
int userns_run(const struct userns_plan *plan, unsigned long extra_flags,
	       int (*fn)(void *arg, struct diyc_error *err), void *arg, struct diyc_error *err);

/* Removes a tree that may hold files owned by subordinate ids: plainly first, then
 * from inside a user namespace with the caller's maps. */
int remove_tree(const struct userns_plan *plan, const char *path, struct diyc_error *err);
