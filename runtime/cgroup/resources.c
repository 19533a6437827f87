/* SPDX-License-Identifier: MIT */
/* resources.c: a container's resource limits (cgroup/resources.h): the parsers of each setting,
 * their combination rules, and writing them into a cgroup (enabling the controllers they
 * need first). Messages name a setting by the label the front end gives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "resources.h"
#include "paths.h"
#include "lib/util.h"

#define MEMORY_MIN (6ULL << 20) /* docker's minimum */
#define PIDS_MAX 4194304ULL     /* the kernel's PID_MAX_LIMIT */

static const char size_help[] = "expected a size such as 512m (units b, k, m, g; a plain number is MiB)";

/* a front end that sets no labels gets the settings' own names */
static const struct cgroup_labels neutral_labels = {
	.memory = "memory", .memory_swap = "memory+swap", .pids = "pids", .cpus = "cpus", .manager = "cgroup manager",
};

const struct cgroup_labels *cgroup_labels_of(const struct cgroup_limits *l)
{
	return l->labels ? l->labels : &neutral_labels;
}

/* swap: the limit of memory and swap together (the machine's swap counts too). */
static int parse_size_limit(const char *what, const char *s, bool swap, uint64_t *out, struct diyc_error *err)
{
	uint64_t v;
	int r = parse_size_positive(what, s, size_help, &v, err);
	if (r < 0)
		return r;
	if (v < MEMORY_MIN)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: the minimum is 6m", what, s);
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		uint64_t total = (uint64_t)si.totalram * si.mem_unit;
		if (swap)
			total += (uint64_t)si.totalswap * si.mem_unit;
		if (v > total) {
			char h[32];
			human_bytes(h, sizeof(h), total);
			return diyc_error_plain(err, EINVAL, "invalid %s `%s`: more than this machine has (%s%s)", what,
						s, h, swap ? " of memory and swap" : " of memory");
		}
	}
	*out = v;
	return 0;
}

int cgroup_limit_parse_memory(const char *what, const char *s, uint64_t *out, struct diyc_error *err)
{
	return parse_size_limit(what, s, false, out, err);
}

int cgroup_limit_parse_memory_swap(const char *what, const char *s, int64_t *out, struct diyc_error *err)
{
	if (!strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	uint64_t v = 0;
	int r = parse_size_limit(what, s, true, &v, err);
	if (r < 0)
		return r;
	*out = (int64_t)v;
	return 0;
}

int cgroup_limit_parse_pids(const char *what, const char *s, uint64_t *out, struct diyc_error *err)
{
	uint64_t v;
	if (parse_u64(s, UINT64_MAX, &v) < 0 || v == 0)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: expected a number of processes "
					"from 1 to %llu", what, s, PIDS_MAX);
	if (v > PIDS_MAX)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: at most %llu", what, s, PIDS_MAX);
	*out = v;
	return 0;
}

/* X or X.Y as CPUs, into a quota of microseconds per CPU_PERIOD. */
int cgroup_limit_parse_cpus(const char *what, const char *s, uint64_t *quota, struct diyc_error *err)
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
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: expected a number of CPUs from 0.01 to "
					"%ld (this machine has %ld)", what, s, ncpu, ncpu);
	*quota = q;
	return 0;
}

int cgroup_limit_parse_manager(const char *what, const char *s, enum cgroup_manager *out, struct diyc_error *err)
{
	if (!strcmp(s, "systemd"))
		*out = CGROUP_MANAGER_SYSTEMD;
	else if (!strcmp(s, "cgroupfs"))
		*out = CGROUP_MANAGER_CGROUPFS;
	else if (!strcmp(s, "none"))
		*out = CGROUP_MANAGER_NONE;
	else
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: use systemd, cgroupfs or none", what, s);
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

const char *cgroup_first_label(const struct cgroup_limits *l)
{
	const struct cgroup_labels *n = cgroup_labels_of(l);
	return l->memory ? n->memory : l->memory_swap ? n->memory_swap : l->pids ? n->pids
	     : l->cpu_quota ? n->cpus : n->manager;
}

int cgroup_limits_check(const struct cgroup_limits *l, struct diyc_error *err)
{
	const struct cgroup_labels *n = cgroup_labels_of(l);
	if (l->memory_swap && !l->memory)
		return diyc_error_plain(err, EINVAL, "%s needs %s: it is the limit of memory and swap together",
					n->memory_swap, n->memory);
	if (l->memory_swap > 0 && (uint64_t)l->memory_swap < l->memory)
		return diyc_error_plain(err, EINVAL, "%s must be at least %s: it is the limit of memory and swap "
					"together (-1: no limit on swap)", n->memory_swap, n->memory);
	if (l->manager == CGROUP_MANAGER_NONE && has_limit(l))
		return diyc_error_plain(err, EINVAL, "%s needs a cgroup: %s none cannot hold limits",
					cgroup_first_label(l), n->manager);
	return 0;
}

bool cgroup_wanted(const struct cgroup_limits *l)
{
	if (l->manager == CGROUP_MANAGER_NONE)
		return false;
	return has_limit(l) || l->manager != CGROUP_MANAGER_AUTO;
}

/* -- in a cgroup directory ------------------------------------------------------------------ */

static const char *const controllers[] = { "memory", "pids", "cpu" };

static bool controller_needed(const struct cgroup_limits *l, const char *c)
{
	return (!strcmp(c, "memory") && (l->memory || l->memory_swap)) || (!strcmp(c, "pids") && l->pids) ||
	       (!strcmp(c, "cpu") && l->cpu_quota);
}

/* The label of the limit that needs controller c. */
static const char *controller_label(const struct cgroup_limits *l, const char *c)
{
	const struct cgroup_labels *n = cgroup_labels_of(l);
	return c[0] == 'm' ? n->memory : c[0] == 'p' ? n->pids : n->cpus;
}

bool cgroup_controllers_enabled(const char *enabled, const struct cgroup_limits *l)
{
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (controller_needed(l, controllers[i]) && !word_in(enabled, controllers[i]))
			return false;
	return true;
}

int cgroup_enable_controllers(const char *dir, const struct cgroup_limits *l, bool user, struct diyc_error *err)
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
					controller_label(l, c), c, (int)strcspn(avail, "\n"), *avail ? avail : "none");
			return diyc_error_plain(err, ENOTSUP, "cannot apply %s: the %s controller is not available "
				"in %s (it offers: %.*s); see docs/cgroups.md",
				controller_label(l, c), c, dir,
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

int cgroup_write_limits(const char *dir, const struct cgroup_limits *l, struct diyc_error *err)
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
			return diyc_error(err, -r, "write memory.swap.max in %s (%s)", dir, cgroup_labels_of(l)->memory_swap);
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
