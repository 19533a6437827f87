/* SPDX-License-Identifier: MIT */
/* cgroupfs.c: the cgroupfs backend (cgroup/backend.h): the container's cgroup made as a
 * directory by diyc itself, either as root without systemd (/sys/fs/cgroup/diyc/NAME) or
 * inside a cgroup already delegated to diyc (systemd-run --scope -p Delegate=yes, another
 * container: a child diyc-NAME of it, diyc's own processes moved into a leaf). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backend.h"
#include "paths.h"
#include "lib/util.h"

static int setup_dir(const char *parent_rel, const char *leaf, const struct cgroup_limits *l, struct cgroup *cg,
		     struct diyc_error *err)
{
	char parent[PATH_MAX], abs[PATH_MAX];
	cg_path(parent, sizeof(parent), parent_rel, NULL);
	snprintf(abs, sizeof(abs), "%s/%s", parent, leaf);
	/* what a monitor killed with -9 left (its processes died with the container's PID 1) */
	int r = cg_remove_tree(abs, false, 0);
	if (r < 0 && r != -EBUSY)
		return diyc_error(err, -r, "remove the old cgroup %s", abs);
	if (r == -EBUSY)
		return diyc_error_plain(err, EBUSY, "cgroup %s is still in use", abs);
	if (mkdir(abs, 0755) < 0)
		return diyc_error(err, errno, "create cgroup %s", abs);
	snprintf(cg->path, sizeof(cg->path), "%s/%s", strcmp(parent_rel, "/") ? parent_rel : "", leaf);
	return cgroup_write_limits(abs, l, err);
}

/* Root without systemd: /sys/fs/cgroup/diyc/NAME. */
static int create_root_dir(const char *name, const struct cgroup_limits *l, struct cgroup *cg,
			   struct diyc_error *err)
{
	char diyc_dir[] = CGROUP_ROOT "/diyc";
	int r = cgroup_enable_controllers(CGROUP_ROOT, l, false, err);
	/* another diyc may remove the shared parent (empty for a moment) between our
	 * mkdir and the mkdir of the container's cgroup in it: then again */
	for (int tries = 0; r == 0; tries++) {
		if (mkdir(diyc_dir, 0755) < 0 && errno != EEXIST) {
			r = diyc_error(err, errno, "create cgroup %s", diyc_dir);
			break;
		}
		r = cgroup_enable_controllers(diyc_dir, l, false, err);
		if (r == 0)
			r = setup_dir("/diyc", name, l, cg, err);
		if (r != -ENOENT || *cg->path || tries == 4)
			break;
		r = 0;
	}
	cg->own_parent = true;
	return r;
}

/* Inside the cgroup parent delegated to diyc: PARENT/diyc-NAME. */
static int create_delegated(const char *name, const char *parent, const struct cgroup_limits *l, struct cgroup *cg,
			    struct diyc_error *err)
{
	char abs[PATH_MAX];
	cg_path(abs, sizeof(abs), parent, NULL);
	_cleanup_free_ char *enabled = NULL;
	/* controllers already on for the children: no need to move anyone */
	bool ready = cg_read(abs, "cgroup.subtree_control", &enabled) == 0 && cgroup_controllers_enabled(enabled, l);
	int r = ready ? 0 : move_all_to_leaf(abs, SUPERVISOR_LEAF, err);
	if (r == 0)
		r = cgroup_enable_controllers(abs, l, geteuid() != 0, err);
	char leaf[160]; /* diyc-NAME */
	snprintf(leaf, sizeof(leaf), "diyc-%s", name);
	if (r == 0)
		r = setup_dir(parent, leaf, l, cg, err);
	return r;
}

static int cgroupfs_create(const char *name, const char *parent, const struct cgroup_limits *l, struct cgroup *cg,
			   struct diyc_error *err)
{
	return parent ? create_delegated(name, parent, l, cg, err) : create_root_dir(name, l, cg, err);
}

static int cgroupfs_attach(const char *path, const char *unit, bool system_bus, pid_t pid, struct diyc_error *err)
{
	char abs[PATH_MAX], v[32];
	cg_path(abs, sizeof(abs), path, NULL);
	snprintf(v, sizeof(v), "%d", (int)pid);
	int r = cg_write(abs, "cgroup.procs", v);
	if (r < 0)
		return diyc_error(err, -r, "move the process into the container's cgroup %s", abs);
	return 0;
}

const struct cgroup_backend cgroup_backend_cgroupfs = {
	.name = "cgroupfs",
	.create = cgroupfs_create,
	.attach = cgroupfs_attach,
};
