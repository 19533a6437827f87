/* SPDX-License-Identifier: MIT */
/* cgroup.c: a container's cgroup v2: where it goes and which backend makes it.
 *
 * A container with limits gets a cgroup of its own, found in one of three ways:
 *   - systemd runs: a transient scope with Delegate=yes (the systemd backend, systemd.c),
 *     from the user's manager for a normal user, from the system manager for root.
 *   - diyc already runs in a cgroup delegated to it (systemd-run --scope -p Delegate=yes,
 *     another container): a child diyc-NAME of it (the cgroupfs backend, cgroupfs.c).
 *   - root without systemd: /sys/fs/cgroup/diyc/NAME (cgroupfs.c).
 * The manager asked for (auto, systemd, cgroupfs) and the host decide which. The container
 * is cloned straight into its cgroup (CLONE_INTO_CGROUP) with a cgroup namespace rooted
 * there. When it ends, diyc reads memory.events (an OOM kill) and removes the cgroup; a
 * scope goes away by itself once its processes are gone, also when diyc was killed. Where
 * no cgroup v2 can hold the limits, asking for one is an error: a limit is never ignored.
 * The limits themselves are resources.c's, the paths and files paths.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cgroup.h"
#include "paths.h"
#include "lib/util.h"

/* -- where the container's cgroup goes ------------------------------------------------- */

/* a scope (systemd.c), /sys/fs/cgroup/diyc/NAME or below our delegated cgroup (cgroupfs.c) */
enum placement { PLACE_SCOPE, PLACE_ROOT_DIR, PLACE_DELEGATED };

static bool systemd_running(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

static int own_cgroup(char *out, size_t size)
{
	return cgroup_of_pid(0, out, size);
}

/* Writable by us, and (where systemd runs) delegated by systemd: root's system manager
 * marks such cgroups with the trusted.delegate attribute; the user manager (systemd 252)
 * marks nothing, and is asked. */
static bool own_cgroup_delegated(const char *rel, bool ask_systemd)
{
	char p[PATH_MAX];
	cg_path(p, sizeof(p), rel, NULL);
	if (access(p, W_OK) < 0)
		return false;
	cg_path(p, sizeof(p), rel, "cgroup.procs");
	if (access(p, W_OK) < 0)
		return false;
	cg_path(p, sizeof(p), rel, "cgroup.subtree_control");
	if (access(p, W_OK) < 0)
		return false;
	if (!ask_systemd)
		return true;
	cg_path(p, sizeof(p), rel, NULL);
	char v[8] = "";
	ssize_t n = getxattr(p, geteuid() == 0 ? "trusted.delegate" : "user.delegate", v, sizeof(v) - 1);
	if (n > 0)
		return v[0] == '1';
	if (geteuid() == 0)
		return false;
	struct diyc_error ignore;
	return cgroup_backend_systemd.pid_delegated(false, getpid(), &ignore) == 1;
}

static int not_v2_error(const struct cgroup_limits *l, struct diyc_error *err)
{
	return diyc_error_plain(err, ENOTSUP, "cannot apply %s: resource limits need cgroup v2 mounted at "
				CGROUP_ROOT ", and this host has cgroup v1 or a hybrid layout (controllers bound to v1). "
				"Boot with systemd.unified_cgroup_hierarchy=1, or run without resource limits; see "
				"docs/cgroups.md", cgroup_first_label(l));
}

/* Where the container's cgroup goes. probe: only whether it can go somewhere (the check
 * before anything is made), without asking systemd over D-Bus: the monitor asks once,
 * when it makes the cgroup. */
static int place(const struct cgroup_limits *l, bool probe, enum placement *where, char *own, size_t own_size,
		 struct diyc_error *err)
{
	struct statfs sf;
	if (statfs(CGROUP_ROOT, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
		return not_v2_error(l, err);
	if (own_cgroup(own, own_size) < 0)
		return diyc_error_plain(err, ENOENT, "cannot apply %s: diyc's own cgroup v2 is not in /proc/self/cgroup",
					cgroup_first_label(l));
	/* a diyc before us moved everything into its leaf: the delegated cgroup is its parent */
	char *last = strrchr(own, '/');
	if (last && last != own && !strcmp(last + 1, SUPERVISOR_LEAF))
		*last = '\0';
	bool systemd = systemd_running();
	enum cgroup_manager m = l->manager;
	if (m == CGROUP_MANAGER_AUTO)
		m = systemd ? CGROUP_MANAGER_SYSTEMD : CGROUP_MANAGER_CGROUPFS;
	if (m == CGROUP_MANAGER_SYSTEMD && !systemd)
		return diyc_error_hint(err, diyc_error_plain(err, ENOTSUP, "cannot apply %s: %s systemd, but systemd is "
					"not running on this host (/run/systemd/system is missing)", cgroup_first_label(l),
					cgroup_labels_of(l)->manager), DIYC_HINT_CGROUP_NO_SYSTEMD, NULL);
	if (geteuid() == 0) {
		/* inside a scope systemd delegated to root (systemd-run --scope -p Delegate=yes) */
		if (m == CGROUP_MANAGER_SYSTEMD && strcmp(own, "/") && own_cgroup_delegated(own, true))
			*where = PLACE_DELEGATED;
		else
			*where = m == CGROUP_MANAGER_SYSTEMD ? PLACE_SCOPE : PLACE_ROOT_DIR;
		return 0;
	}
	/* already in a cgroup of our own: use it, systemd need not be asked */
	if (own_cgroup_delegated(own, systemd && m != CGROUP_MANAGER_CGROUPFS && !probe)) {
		*where = PLACE_DELEGATED;
		return 0;
	}
	if (m == CGROUP_MANAGER_CGROUPFS)
		return diyc_error_hint(err, diyc_error_plain(err, EACCES, "cannot apply %s with %s cgroupfs: your cgroup "
					"%s is not delegated to you (not writable)", cgroup_first_label(l),
					cgroup_labels_of(l)->manager, own), DIYC_HINT_CGROUP_NOT_DELEGATED, NULL);
	const char *bus = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char sock[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/bus", rt ? rt : "");
	if (!(bus && *bus) && (!rt || access(sock, F_OK) < 0)) {
		const char *user = getenv("USER");
		return diyc_error_plain(err, ENOTSUP, "cannot apply %s: resource limits need your systemd user session "
					"(a user manager that delegates a cgroup to you), and there is none: no "
					"DBUS_SESSION_BUS_ADDRESS and no %s. Log in through systemd-logind (not su) or run "
					"`loginctl enable-linger %s`; see docs/cgroups.md", cgroup_first_label(l),
					rt ? sock : "$XDG_RUNTIME_DIR/bus", user ? user : "$USER");
	}
	*where = PLACE_SCOPE;
	return 0;
}

int cgroup_precheck(const struct cgroup_limits *l, struct diyc_error *err)
{
	if (!cgroup_wanted(l))
		return 0;
	enum placement where;
	char own[PATH_MAX];
	return place(l, true, &where, own, sizeof(own), err);
}

/* -- the container's cgroup ----------------------------------------------------------------- */

static int open_cgroup_dir(struct cgroup *cg, struct diyc_error *err)
{
	char abs[PATH_MAX];
	cg_path(abs, sizeof(abs), cg->path, NULL);
	cg->fd = open(abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd < 0)
		return diyc_error(err, errno, "open cgroup %s", abs);
	return 0;
}

/* The last .scope or .service component of a cgroup path: the unit it belongs to. */
static void unit_of(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	for (const char *p = path; (p = strchr(p, '/'));) {
		p++;
		size_t n = strcspn(p, "/");
		if (n < size && ((n > 6 && !strncmp(p + n - 6, ".scope", 6)) ||
				 (n > 8 && !strncmp(p + n - 8, ".service", 8)))) {
			memcpy(out, p, n);
			out[n] = '\0';
		}
	}
}

int cgroup_setup(const char *name, const struct cgroup_limits *l, struct cgroup *cg, struct diyc_error *err)
{
	*cg = (struct cgroup)CGROUP_INIT;
	enum placement where;
	char own[PATH_MAX];
	int r = place(l, false, &where, own, sizeof(own), err);
	if (r < 0)
		return r;
	switch (where) {
	case PLACE_SCOPE:
		r = cgroup_backend_systemd.create(name, NULL, l, cg, err);
		break;
	case PLACE_ROOT_DIR:
		r = cgroup_backend_cgroupfs.create(name, NULL, l, cg, err);
		break;
	case PLACE_DELEGATED:
		r = cgroup_backend_cgroupfs.create(name, own, l, cg, err);
		/* the unit that delegated it, for exec: systemd may move a process into it
		 * where we may not */
		if (r == 0 && systemd_running())
			unit_of(own, cg->scope, sizeof(cg->scope));
		cg->system_bus = geteuid() == 0;
		break;
	}
	if (r == 0)
		r = open_cgroup_dir(cg, err);
	if (r < 0) {
		cgroup_teardown(cg);
		return r;
	}
	diyc_debug("cgroup %s%s%s", cg->path, *cg->scope ? " in " : "", cg->scope);
	return 0;
}

bool cgroup_ns_delegates(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS */
		char mnt[256], fstype[32], superopts[512];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    sscanf(dash + 3, "%31s %*s %511s", fstype, superopts) != 2)
			continue;
		if (!strcmp(mnt, CGROUP_ROOT) && !strcmp(fstype, "cgroup2"))
			for (char *save = NULL, *o = strtok_r(superopts, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (!strcmp(o, "nsdelegate"))
					return true;
	}
	return false;
}

bool cgroup_oom_killed(const struct cgroup *cg)
{
	if (!*cg->path)
		return false;
	char abs[PATH_MAX];
	cg_path(abs, sizeof(abs), cg->path, NULL);
	uint64_t n = 0;
	return cg_read_key(abs, "memory.events", "oom_kill", &n) == 0 && n > 0;
}

bool cgroup_teardown(struct cgroup *cg)
{
	if (cg->fd >= 0)
		close(cg->fd);
	cg->fd = -1;
	if (!*cg->path)
		return true;
	char abs[PATH_MAX];
	cg_path(abs, sizeof(abs), cg->path, NULL);
	int r = cg_remove_tree(abs, true, 0);
	if (r < 0) {
		diyc_warn("could not remove cgroup %s: %s", abs, strerror(-r));
		return false;
	}
	/* /sys/fs/cgroup/diyc, once no container uses it (EBUSY otherwise) */
	if (cg->own_parent)
		rmdir(CGROUP_ROOT "/diyc");
	cg->path[0] = cg->scope[0] = '\0';
	return true;
}

void cgroup_remove_stale(const char *path)
{
	/* only what diyc makes without systemd; a scope is systemd's to remove */
	const char *leaf = strrchr(path, '/');
	if (!leaf || !(str_has_prefix(path, "/diyc/") || str_has_prefix(leaf, "/diyc-")) || strstr(path, ".."))
		return;
	char abs[PATH_MAX];
	cg_path(abs, sizeof(abs), path, NULL);
	int r = cg_remove_tree(abs, false, 0);
	if (r < 0)
		diyc_debug("remove stale cgroup %s: %s", abs, strerror(-r));
}

/* path is below the unit's own cgroup */
static bool below_unit(const char *path, const char *unit)
{
	char needle[300];
	snprintf(needle, sizeof(needle), "/%s/", unit);
	return strstr(path, needle) != NULL;
}

int cgroup_attach(const char *recorded, pid_t pid1, const char *scope, bool system_bus, pid_t pid,
		  struct diyc_error *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", recorded);
	char cur[PATH_MAX];
	size_t n = strlen(recorded);
	if (cgroup_of_pid(pid1, cur, sizeof(cur)) == 0 && !strncmp(cur, recorded, n) && cur[n] == '/')
		snprintf(path, sizeof(path), "%s", cur);
	int r = cgroup_backend_cgroupfs.attach(path, scope, system_bus, pid, err);
	/* a normal user may not move a process out of a cgroup systemd gave to a login
	 * session; the manager that owns the scope can */
	if (r < 0 && scope && *scope && (r == -EACCES || r == -EPERM || r == -ENOENT) && below_unit(path, scope))
		return cgroup_backend_systemd.attach(path, scope, system_bus, pid, err);
	return r;
}

/* CONTROLLER.current and CONTROLLER.max ("max": UINT64_MAX); false without the controller. */
static bool read_current_max(const char *dir, const char *controller, uint64_t *cur, uint64_t *max)
{
	char file[32];
	_cleanup_free_ char *s = NULL, *m = NULL;
	snprintf(file, sizeof(file), "%s.current", controller);
	if (cg_read(dir, file, &s) < 0 || parse_u64(strtok(s, "\n"), UINT64_MAX, cur) < 0)
		return false;
	*max = UINT64_MAX;
	snprintf(file, sizeof(file), "%s.max", controller);
	if (cg_read(dir, file, &m) == 0 && strncmp(m, "max", 3))
		parse_u64(strtok(m, "\n"), UINT64_MAX, max);
	return true;
}

int cgroup_read_usage(const char *path, struct cgroup_usage *u, struct diyc_error *err)
{
	memset(u, 0, sizeof(*u));
	char abs[PATH_MAX];
	cg_path(abs, sizeof(abs), path, NULL);
	if (access(abs, F_OK) < 0)
		return diyc_error(err, errno, "open cgroup %s", abs);
	u->have_memory = read_current_max(abs, "memory", &u->memory, &u->memory_max);
	u->have_pids = read_current_max(abs, "pids", &u->pids, &u->pids_max);
	cg_read_key(abs, "cpu.stat", "usage_usec", &u->cpu_usec);
	return 0;
}
