/* SPDX-License-Identifier: MIT */
/* cgroup.c: resource limits in cgroup v2.
 *
 * A container with limits gets a cgroup of its own, found in one of three ways:
 *   - systemd runs: a transient scope with Delegate=yes (cgroup/systemd.c), from the
 *     user's manager for a normal user, from the system manager for root. Inside it,
 *     supervisor/ holds diyc's monitor and container/ the container: cgroup v2 allows
 *     processes only in leaves once controllers are enabled for the children.
 *   - diyc already runs in a cgroup delegated to it (systemd-run --scope -p Delegate=yes,
 *     another container): a child diyc-NAME of it.
 *   - root without systemd: /sys/fs/cgroup/diyc/NAME.
 * The container is cloned straight into its cgroup (CLONE_INTO_CGROUP) with a cgroup
 * namespace rooted there. When it ends, diyc reads memory.events (an OOM kill) and
 * removes the cgroup; a scope goes away by itself once its processes are gone, also
 * when diyc was killed. Where no cgroup v2 can hold the limits, asking for one is an
 * error: a limit is never ignored. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cgroup.h"
#include "systemd.h"
#include "lib/util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define MEMORY_MIN (6ULL << 20) /* docker's minimum */
#define PIDS_MAX 4194304ULL     /* the kernel's PID_MAX_LIMIT */
/* where the processes of an already delegated cgroup go: no container's diyc-NAME can
 * be called that */
#define SUPERVISOR_LEAF "diyc_supervisor"

static const char size_help[] = "expected a size such as 512m (units b, k, m, g; a plain number is MiB)";

int cgroup_parse_memory(const char *flag, const char *s, uint64_t *out, struct diyc_error *err)
{
	uint64_t v;
	if (s[0] == '-')
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: a size must be positive", flag, s);
	int r = parse_size(s, 1 << 20, &v);
	if (r == -ERANGE)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: too large", flag, s);
	if (r < 0)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: %s", flag, s, size_help);
	if (v == 0)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: a size must be positive", flag, s);
	if (v < MEMORY_MIN)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: the minimum is 6m", flag, s);
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		uint64_t total = (uint64_t)si.totalram * si.mem_unit;
		if (!strcmp(flag, "--memory-swap"))
			total += (uint64_t)si.totalswap * si.mem_unit;
		if (v > total) {
			char h[32];
			human_bytes(h, sizeof(h), total);
			return diyc_error_plain(err, EINVAL, "invalid %s `%s`: more than this machine has (%s%s)", flag,
						s, h, !strcmp(flag, "--memory-swap") ? " of memory and swap" : " of memory");
		}
	}
	*out = v;
	return 0;
}

int cgroup_parse_memory_swap(const char *s, int64_t *out, struct diyc_error *err)
{
	if (!strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	uint64_t v;
	int r = cgroup_parse_memory("--memory-swap", s, &v, err);
	if (r < 0)
		return r;
	*out = (int64_t)v;
	return 0;
}

int cgroup_parse_pids(const char *s, uint64_t *out, struct diyc_error *err)
{
	uint64_t v;
	if (parse_u64(s, UINT64_MAX, &v) < 0 || v == 0)
		return diyc_error_plain(err, EINVAL, "invalid --pids-limit `%s`: expected a number of processes "
					"from 1 to %llu", s, PIDS_MAX);
	if (v > PIDS_MAX)
		return diyc_error_plain(err, EINVAL, "invalid --pids-limit `%s`: at most %llu", s, PIDS_MAX);
	*out = v;
	return 0;
}

/* X or X.Y as CPUs, into a quota of microseconds per CPU_PERIOD. */
int cgroup_parse_cpus(const char *s, uint64_t *quota, struct diyc_error *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	uint64_t whole = 0, frac = 0, scale = 1;
	const char *p = s;
	size_t n = strspn(p, "0123456789");
	bool ok = n > 0 && n <= 6;
	for (size_t i = 0; ok && i < n; i++)
		whole = whole * 10 + (uint64_t)(p[i] - '0');
	p += n;
	if (ok && *p == '.') {
		p++;
		size_t m = strspn(p, "0123456789");
		ok = m > 0 && m <= 9;
		for (size_t i = 0; ok && i < m; i++) {
			frac = frac * 10 + (uint64_t)(p[i] - '0');
			scale *= 10;
		}
		p += m;
	}
	ok = ok && *p == '\0';
	/* microseconds per period, rounded down; the kernel's minimum quota is 1 ms */
	uint64_t q = ok ? whole * CPU_PERIOD + frac * CPU_PERIOD / scale : 0;
	if (!ok || q < 1000 || whole > (uint64_t)ncpu || (whole == (uint64_t)ncpu && frac))
		return diyc_error_plain(err, EINVAL, "invalid --cpus `%s`: expected a number of CPUs from 0.01 to "
					"%ld (this machine has %ld)", s, ncpu, ncpu);
	*quota = q;
	return 0;
}

int cgroup_parse_manager(const char *s, enum cgroup_manager *out, struct diyc_error *err)
{
	if (!strcmp(s, "systemd"))
		*out = CGROUP_MANAGER_SYSTEMD;
	else if (!strcmp(s, "cgroupfs"))
		*out = CGROUP_MANAGER_CGROUPFS;
	else if (!strcmp(s, "none"))
		*out = CGROUP_MANAGER_NONE;
	else
		return diyc_error_plain(err, EINVAL, "invalid --cgroup-manager `%s`: use systemd, cgroupfs or none", s);
	return 0;
}

const char *cgroup_manager_name(enum cgroup_manager m)
{
	switch (m) {
	case CGROUP_MANAGER_SYSTEMD: return "systemd";
	case CGROUP_MANAGER_CGROUPFS: return "cgroupfs";
	case CGROUP_MANAGER_NONE: return "none";
	default: return "";
	}
}

static bool has_limit(const struct cgroup_limits *l)
{
	return l->memory || l->memory_swap || l->pids || l->cpu_quota;
}

const char *cgroup_first_flag(const struct cgroup_limits *l)
{
	return l->memory ? "--memory" : l->memory_swap ? "--memory-swap" : l->pids ? "--pids-limit"
	     : l->cpu_quota ? "--cpus" : "--cgroup-manager";
}

int cgroup_limits_check(const struct cgroup_limits *l, struct diyc_error *err)
{
	if (l->memory_swap && !l->memory)
		return diyc_error_plain(err, EINVAL, "--memory-swap needs --memory: it is the limit of memory and swap "
					"together");
	if (l->memory_swap > 0 && (uint64_t)l->memory_swap < l->memory)
		return diyc_error_plain(err, EINVAL, "--memory-swap must be at least --memory: it is the limit of "
					"memory and swap together (-1: no limit on swap)");
	if (l->manager == CGROUP_MANAGER_NONE && has_limit(l))
		return diyc_error_plain(err, EINVAL, "%s needs a cgroup: --cgroup-manager none cannot hold limits",
					cgroup_first_flag(l));
	return 0;
}

bool cgroup_wanted(const struct cgroup_limits *l)
{
	if (l->manager == CGROUP_MANAGER_NONE)
		return false;
	return has_limit(l) || l->manager != CGROUP_MANAGER_AUTO;
}

/* -- where the container's cgroup goes ------------------------------------------------- */

enum placement { PLACE_SCOPE, PLACE_ROOT_DIR, PLACE_DELEGATED };

static bool systemd_running(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

int cgroup_of_pid(pid_t pid, char *out, size_t size)
{
	char file[64];
	if (pid)
		snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(file, sizeof(file), "/proc/self/cgroup");
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(AT_FDCWD, file, 1 << 16, &s, NULL);
	if (r < 0)
		return r;
	for (char *line = s; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (str_has_prefix(line, "0::")) {
			snprintf(out, size, "%s", line + 3);
			return 0;
		}
		line = next;
	}
	return -ENOENT;
}

static int own_cgroup(char *out, size_t size)
{
	return cgroup_of_pid(0, out, size);
}

static void cg_path(char *out, size_t size, const char *rel, const char *file)
{
	snprintf(out, size, CGROUP_ROOT "%s%s%s", strcmp(rel, "/") ? rel : "", file ? "/" : "", file ? file : "");
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
	return systemd_pid_delegated(false, getpid(), &ignore) == 1;
}

static int not_v2_error(const struct cgroup_limits *l, struct diyc_error *err)
{
	return diyc_error_plain(err, ENOTSUP, "cannot apply %s: resource limits need cgroup v2 mounted at "
				CGROUP_ROOT ", and this host has cgroup v1 or a hybrid layout (controllers bound to v1). "
				"Boot with systemd.unified_cgroup_hierarchy=1, or run without resource limits; see "
				"docs/cgroups.md", cgroup_first_flag(l));
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
					cgroup_first_flag(l));
	/* a diyc before us moved everything into its leaf: the delegated cgroup is its parent */
	char *last = strrchr(own, '/');
	if (last && last != own && !strcmp(last + 1, SUPERVISOR_LEAF))
		*last = '\0';
	bool systemd = systemd_running();
	enum cgroup_manager m = l->manager;
	if (m == CGROUP_MANAGER_AUTO)
		m = systemd ? CGROUP_MANAGER_SYSTEMD : CGROUP_MANAGER_CGROUPFS;
	if (m == CGROUP_MANAGER_SYSTEMD && !systemd)
		return diyc_error_plain(err, ENOTSUP, "cannot apply %s: --cgroup-manager systemd, but systemd is not "
					"running on this host (/run/systemd/system is missing); use --cgroup-manager "
					"cgroupfs", cgroup_first_flag(l));
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
		return diyc_error_plain(err, EACCES, "cannot apply %s with --cgroup-manager cgroupfs: your cgroup %s is "
					"not delegated to you (not writable). Use --cgroup-manager systemd, or run diyc "
					"inside a delegated cgroup (systemd-run --user --scope -p Delegate=yes diyc run ...)",
					cgroup_first_flag(l), own);
	const char *bus = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char sock[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/bus", rt ? rt : "");
	if (!(bus && *bus) && (!rt || access(sock, F_OK) < 0)) {
		const char *user = getenv("USER");
		return diyc_error_plain(err, ENOTSUP, "cannot apply %s: resource limits need your systemd user session "
					"(a user manager that delegates a cgroup to you), and there is none: no "
					"DBUS_SESSION_BUS_ADDRESS and no %s. Log in through systemd-logind (not su) or run "
					"`loginctl enable-linger %s`; see docs/cgroups.md", cgroup_first_flag(l),
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

/* -- files of a cgroup ---------------------------------------------------------------------- */

static int cg_write(const char *dir, const char *file, const char *value)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

static int cg_read(const char *dir, const char *file, char **out)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return read_file_at(AT_FDCWD, p, 1 << 16, out, NULL);
}

/* The value of KEY in a flat-keyed file (memory.events, cpu.stat). */
static int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *out)
{
	_cleanup_free_ char *s = NULL;
	int r = cg_read(dir, file, &s);
	if (r < 0)
		return r;
	size_t k = strlen(key);
	for (char *line = s; line && *line;) {
		if (!strncmp(line, key, k) && line[k] == ' ')
			return parse_u64(strtok(line + k + 1, "\n"), UINT64_MAX, out);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static const char *const controllers[] = { "memory", "pids", "cpu" };

static bool controller_needed(const struct cgroup_limits *l, const char *c)
{
	return (!strcmp(c, "memory") && (l->memory || l->memory_swap)) || (!strcmp(c, "pids") && l->pids) ||
	       (!strcmp(c, "cpu") && l->cpu_quota);
}

/* Enables memory, pids and cpu for the children of dir: all that are there (for
 * stats), and an error naming a needed one that is not. */
static int enable_controllers(const char *dir, const struct cgroup_limits *l, bool user, struct diyc_error *err)
{
	_cleanup_free_ char *avail = NULL, *enabled = NULL;
	int r = cg_read(dir, "cgroup.controllers", &avail);
	if (r < 0)
		return diyc_error(err, -r, "read %s/cgroup.controllers", dir);
	r = cg_read(dir, "cgroup.subtree_control", &enabled);
	if (r < 0)
		return diyc_error(err, -r, "read %s/cgroup.subtree_control", dir);
	char want[64] = "";
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		const char *c = controllers[i];
		if (!word_in(avail, c)) {
			if (!controller_needed(l, c))
				continue;
			if (user)
				return diyc_error_plain(err, ENOTSUP, "cannot apply %s: the %s controller is not "
					"delegated to you by systemd (your cgroup offers: %.*s). Delegate it to user "
					"managers (systemctl edit user@.service: [Service] Delegate=pids memory cpu) and "
					"log in again; see docs/cgroups.md",
					c[0] == 'm' ? "--memory" : c[0] == 'p' ? "--pids-limit" : "--cpus", c,
					(int)strcspn(avail, "\n"), *avail ? avail : "none");
			return diyc_error_plain(err, ENOTSUP, "cannot apply %s: the %s controller is not available "
				"in %s (it offers: %.*s); see docs/cgroups.md",
				c[0] == 'm' ? "--memory" : c[0] == 'p' ? "--pids-limit" : "--cpus", c, dir,
				(int)strcspn(avail, "\n"), *avail ? avail : "none");
		}
		if (!word_in(enabled, c)) {
			size_t n = strlen(want);
			snprintf(want + n, sizeof(want) - n, "%s+%s", n ? " " : "", c);
		}
	}
	if (!*want)
		return 0;
	r = cg_write(dir, "cgroup.subtree_control", want);
	if (r == 0)
		return 0;
	/* one that is only there for stats must not stand in the way of the limits */
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		const char *c = controllers[i];
		char one[16];
		snprintf(one, sizeof(one), "+%s", c);
		if (!word_in(want, one))
			continue;
		r = cg_write(dir, "cgroup.subtree_control", one);
		if (r < 0 && controller_needed(l, c))
			return diyc_error(err, -r, "enable the %s controller in %s", c, dir);
	}
	return 0;
}

static int write_limits(const char *dir, const struct cgroup_limits *l, struct diyc_error *err)
{
	char v[64];
	int r = 0;
	if (l->memory) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
		r = cg_write(dir, "memory.max", v);
		if (r < 0)
			return diyc_error(err, -r, "write memory.max in %s", dir);
		/* docker's default: as much swap as memory; -1: no limit */
		if (l->memory_swap < 0)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%llu", (unsigned long long)(l->memory_swap ? (uint64_t)l->memory_swap -
									     l->memory : l->memory));
		r = cg_write(dir, "memory.swap.max", v);
		/* no swap accounting in this kernel: only an error when a swap limit was asked for */
		if (r < 0 && !(r == -ENOENT && !l->memory_swap))
			return diyc_error(err, -r, "write memory.swap.max in %s (--memory-swap)", dir);
	}
	if (l->pids) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids);
		r = cg_write(dir, "pids.max", v);
		if (r < 0)
			return diyc_error(err, -r, "write pids.max in %s", dir);
	}
	if (l->cpu_quota) {
		snprintf(v, sizeof(v), "%llu %d", (unsigned long long)l->cpu_quota, CPU_PERIOD);
		r = cg_write(dir, "cpu.max", v);
		if (r < 0)
			return diyc_error(err, -r, "write cpu.max in %s", dir);
	}
	return 0;
}

/* Removes an empty cgroup, waiting a little for the kernel to let go of exited tasks. */
static int cg_rmdir(const char *abs)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(abs) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

/* Removes a cgroup and what is below it, depth-first: a container may have made cgroups
 * of its own inside. kill: first kill what is left in it (cgroup.kill, Linux 5.14). */
static int cg_remove_tree(const char *abs, bool kill, int depth)
{
	if (kill && depth == 0)
		cg_write(abs, "cgroup.kill", "1");
	DIR *d = depth < 32 ? opendir(abs) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		if (snprintf(sub, sizeof(sub), "%s/%s", abs, e->d_name) < (int)sizeof(sub))
			cg_remove_tree(sub, false, depth + 1);
	}
	if (d)
		closedir(d);
	return cg_rmdir(abs);
}

/* Moves every process of dir into dir/leaf, so that dir may enable controllers for its
 * children (cgroup v2 allows processes only in leaves then). */
static int move_all_to_leaf(const char *dir, const char *leaf, struct diyc_error *err)
{
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/%s", dir, leaf);
	if (mkdir(sub, 0755) < 0 && errno != EEXIST)
		return diyc_error(err, errno, "create cgroup %s", sub);
	for (int round = 0; round < 10; round++) {
		_cleanup_free_ char *procs = NULL;
		int r = cg_read(dir, "cgroup.procs", &procs);
		if (r < 0)
			return diyc_error(err, -r, "read %s/cgroup.procs", dir);
		if (!*procs)
			return 0;
		for (char *tok = strtok(procs, "\n"); tok; tok = strtok(NULL, "\n")) {
			r = cg_write(sub, "cgroup.procs", tok);
			if (r < 0 && r != -ESRCH)
				return diyc_error(err, -r, "move process %s into cgroup %s", tok, sub);
		}
	}
	return diyc_error_plain(err, EBUSY, "cgroup %s keeps getting new processes", dir);
}

static int open_cgroup_dir(struct cgroup *cg, struct diyc_error *err)
{
	char abs[PATH_MAX];
	cg_path(abs, sizeof(abs), cg->path, NULL);
	cg->fd = open(abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd < 0)
		return diyc_error(err, errno, "open cgroup %s", abs);
	return 0;
}

static int setup_scope(const char *name, const struct cgroup_limits *l, struct cgroup *cg, struct diyc_error *err)
{
	char rnd[9];
	if (random_hex(rnd, 4) < 0)
		return diyc_error(err, EIO, "random scope name");
	snprintf(cg->scope, sizeof(cg->scope), "diyc-%s-%s.scope", name, rnd);
	cg->system_bus = geteuid() == 0;
	char desc[200];
	snprintf(desc, sizeof(desc), "diyc container %s", name);
	int r = systemd_start_scope(cg->system_bus, cg->scope, getpid(), desc, err);
	if (r < 0) {
		cg->scope[0] = '\0';
		return r;
	}
	char scope[PATH_MAX], abs[PATH_MAX], sub[PATH_MAX];
	if (own_cgroup(scope, sizeof(scope)) < 0)
		return diyc_error_plain(err, ENOENT, "diyc's cgroup is not in /proc/self/cgroup");
	cg_path(abs, sizeof(abs), scope, NULL);
	r = move_all_to_leaf(abs, "supervisor", err);
	if (r == 0)
		r = enable_controllers(abs, l, !cg->system_bus, err);
	if (r < 0)
		return r;
	snprintf(sub, sizeof(sub), "%s/container", abs);
	if (mkdir(sub, 0755) < 0)
		return diyc_error(err, errno, "create cgroup %s", sub);
	snprintf(cg->path, sizeof(cg->path), "%s/container", scope);
	return write_limits(sub, l, err);
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
	return write_limits(abs, l, err);
}

int cgroup_setup(const char *name, const struct cgroup_limits *l, struct cgroup *cg, struct diyc_error *err)
{
	*cg = (struct cgroup)CGROUP_INIT;
	enum placement where;
	char own[PATH_MAX];
	int r = place(l, false, &where, own, sizeof(own), err);
	if (r < 0)
		return r;
	char leaf[160]; /* diyc-NAME */
	switch (where) {
	case PLACE_SCOPE:
		r = setup_scope(name, l, cg, err);
		break;
	case PLACE_ROOT_DIR: {
		char diyc_dir[] = CGROUP_ROOT "/diyc";
		r = enable_controllers(CGROUP_ROOT, l, false, err);
		/* another diyc may remove the shared parent (empty for a moment) between our
		 * mkdir and the mkdir of the container's cgroup in it: then again */
		for (int tries = 0; r == 0; tries++) {
			if (mkdir(diyc_dir, 0755) < 0 && errno != EEXIST) {
				r = diyc_error(err, errno, "create cgroup %s", diyc_dir);
				break;
			}
			r = enable_controllers(diyc_dir, l, false, err);
			if (r == 0)
				r = setup_dir("/diyc", name, l, cg, err);
			if (r != -ENOENT || *cg->path || tries == 4)
				break;
			r = 0;
		}
		cg->own_parent = true;
		break;
	}
	case PLACE_DELEGATED: {
		char abs[PATH_MAX];
		cg_path(abs, sizeof(abs), own, NULL);
		_cleanup_free_ char *avail = NULL, *enabled = NULL;
		/* controllers already on for the children: no need to move anyone */
		bool ready = cg_read(abs, "cgroup.subtree_control", &enabled) == 0;
		for (size_t i = 0; ready && i < ARRAY_SIZE(controllers); i++)
			if (controller_needed(l, controllers[i]) && !word_in(enabled, controllers[i]))
				ready = false;
		r = ready ? 0 : move_all_to_leaf(abs, SUPERVISOR_LEAF, err);
		if (r == 0)
			r = enable_controllers(abs, l, geteuid() != 0, err);
		snprintf(leaf, sizeof(leaf), "diyc-%s", name);
		if (r == 0)
			r = setup_dir(own, leaf, l, cg, err);
		/* the unit that delegated it, for exec: systemd may move a process into it
		 * where we may not */
		if (r == 0 && systemd_running())
			unit_of(own, cg->scope, sizeof(cg->scope));
		cg->system_bus = geteuid() == 0;
		break;
	}
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

int cgroup_attach(const char *recorded, pid_t pid1, const char *scope, bool system_bus, pid_t pid,
		  struct diyc_error *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", recorded);
	char cur[PATH_MAX];
	size_t n = strlen(recorded);
	if (cgroup_of_pid(pid1, cur, sizeof(cur)) == 0 && !strncmp(cur, recorded, n) && cur[n] == '/')
		snprintf(path, sizeof(path), "%s", cur);
	char abs[PATH_MAX], v[32];
	cg_path(abs, sizeof(abs), path, NULL);
	snprintf(v, sizeof(v), "%d", (int)pid);
	int r = cg_write(abs, "cgroup.procs", v);
	if (r == 0)
		return 0;
	/* a normal user may not move a process out of a cgroup systemd gave to a login
	 * session; the manager that owns the scope can */
	if (scope && *scope && (r == -EACCES || r == -EPERM || r == -ENOENT)) {
		/* the part of the path below the unit's own cgroup */
		char needle[300];
		snprintf(needle, sizeof(needle), "/%s/", scope);
		const char *at = strstr(path, needle);
		if (at)
			return systemd_attach(system_bus, scope, at + strlen(needle) - 1, pid, err);
	}
	return diyc_error(err, -r, "move the process into the container's cgroup %s", abs);
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
