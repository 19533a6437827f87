/* SPDX-License-Identifier: MIT */
/* cgroups.c: an OCI container's cgroup on cgroup v2 (oci/cgroups.h), as runc and crun make
 * it, on the shared cgroup helpers of cgroup/paths.h and cgroup/systemd.h.
 *
 * Where it goes: linux.cgroupsPath "/a/b" is /sys/fs/cgroup/a/b, a relative "a/b" (and an
 * empty one: the container's id) is below the cgroup of the calling process, as runc's fs2
 * manager does. With --systemd-cgroup it is "slice:prefix:name": a transient scope
 * prefix-name.scope with Delegate=yes in slice (default system.slice, user.slice rootless),
 * started with the container's init pid once it exists (oci_cgroup_enter), as runc does.
 *
 * What goes in: linux.resources mapped to the v2 files as runc maps them (cpu.shares to
 * cpu.weight by runc's linear formula: crun >= 1.8 uses a quadratic one that keeps 1024 at
 * 100, which we do not follow), unified last so that it wins; the device rules as a
 * BPF_PROG_TYPE_CGROUP_DEVICE program, last match wins, default deny, nothing added to what
 * the spec says (engines send the full list). The device program needs root in the initial
 * user namespace: rootless, it is left out (a rootless container cannot make device nodes).
 *
 * Without a usable cgroup v2 (not cgroup2 at /sys/fs/cgroup, not writable, controllers not
 * there) a spec with limits is refused; one without runs without a cgroup, with a warning.
 * Controllers are enabled in the parents' cgroup.subtree_control where they are missing and
 * we may write it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cgroups.h"
#include "cgroup/paths.h"
#include "cgroup/systemd.h"
#include "lib/util.h"

/* -- the pure parts --------------------------------------------------------------------------- */

uint64_t oci_cpu_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	/* the kernel's range of cpu.shares; below 2 the formula would wrap */
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t oci_io_weight(uint64_t w)
{
	if (w == 0)
		return 0;
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + (w - 10) * 9999 / 990;
}

int oci_swap_max(int64_t limit, int64_t swap, int64_t *out)
{
	/* runc: an unlimited memory without a swap setting leaves swap unlimited too */
	if (swap == 0) {
		*out = limit == -1 ? -1 : OCI_SWAP_UNSET;
		return 0;
	}
	if (swap == -1) {
		*out = -1;
		return 0;
	}
	if (limit <= 0 || swap < limit)
		return -EINVAL;
	*out = swap - limit;
	return 0;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static int access_mask(const char *a)
{
	int m = 0;
	for (; *a; a++)
		m |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : *a == 'm' ? BPF_DEVCG_ACC_MKNOD : -1;
	return m < 0 ? -1 : m ? m : (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
}

/* One rule's block: checks that jump past it when they fail, then return allow or deny. */
static int rule_block(const struct oci_device_rule *d, struct bpf_insn *b, size_t *n, bool *all)
{
	const int all_acc = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
	int acc = access_mask(d->access);
	if (acc < 0 || (d->type != 'a' && d->type != 'c' && d->type != 'b') || d->major < -1 || d->minor < -1 ||
	    d->major > INT32_MAX || d->minor > INT32_MAX)
		return -EINVAL;
	size_t k = 0;
	/* off is set below, once the block's length is known */
	if (d->type != 'a')
		b[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0, d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
	if (acc != all_acc) {
		/* the access asked for must be a subset of the rule's: (R3 & acc) == R3 */
		b[k++] = INSN(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0);
		b[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, acc);
		b[k++] = INSN(BPF_JMP | BPF_JNE | BPF_X, 1, 3, 0, 0);
	}
	if (d->major >= 0)
		b[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, (int32_t)d->major);
	if (d->minor >= 0)
		b[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, (int32_t)d->minor);
	*all = k == 0;
	size_t checks = k;
	b[k++] = INSN(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, d->allow ? 1 : 0);
	b[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* (BPF_AND has the same op bits as BPF_JNE: the class tells them apart) */
	for (size_t i = 0; i < checks; i++)
		if (BPF_CLASS(b[i].code) == BPF_JMP)
			b[i].off = (int16_t)(k - i - 1);
	*n = k;
	return 0;
}

int oci_device_program(const struct oci_device_rule *rules, size_t n, struct bpf_insn **insns, size_t *n_insns)
{
	/* prologue (6) + at most 8 per rule + the default (2) */
	struct bpf_insn *p = calloc(6 + 8 * n + 2, sizeof(*p));
	if (!p)
		return -ENOMEM;
	size_t k = 0;
	/* struct bpf_cgroup_dev_ctx: access_type (type | access << 16), major, minor */
	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);
	p[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0);
	p[k++] = INSN(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);
	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);
	p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);
	bool all = false;
	/* the last rule that matches wins: the blocks go in reverse, the first match returns */
	for (size_t i = n; i-- > 0 && !all;) {
		size_t len;
		if (rule_block(&rules[i], p + k, &len, &all) < 0) {
			free(p);
			return -EINVAL;
		}
		k += len;
	}
	/* a rule matching everything ends the program itself: what follows would be dead code,
	 * which the verifier refuses */
	if (!all) {
		p[k++] = INSN(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 0);
		p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	*insns = p;
	*n_insns = k;
	return 0;
}

/* -- the device program in the kernel ------------------------------------------------------- */

static int bpf(int cmd, union bpf_attr *a)
{
	long r = syscall(SYS_bpf, cmd, a, sizeof(*a));
	return r < 0 ? -errno : (int)r;
}

/* The ids of the device programs attached to the cgroup itself (not inherited). */
static int device_progs(int cgfd, uint32_t *ids, uint32_t *n)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = cgfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = *n;
	int r = bpf(BPF_PROG_QUERY, &a);
	*n = r < 0 ? 0 : a.query.prog_cnt;
	return r;
}

/* Loads the program of the rules and attaches it to cgfd; replace: then detaches the ones
 * attached before (BPF_F_ALLOW_MULTI: while both are there, both must allow). */
static int attach_devices(int cgfd, const char *abs, const struct oci_device_rule *rules, size_t n, bool replace,
			  struct diyc_error *err)
{
	uint32_t old[64], n_old = ARRAY_SIZE(old);
	if (replace && device_progs(cgfd, old, &n_old) < 0)
		n_old = 0;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n_insns;
	if (oci_device_program(rules, n, &insns, &n_insns) < 0)
		return diyc_error_plain(err, EINVAL, "linux.resources.devices has a rule the device controller cannot "
					"express (type a, b or c; access of rwm; major and minor -1 or a number)");
	char log[4096] = "";
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = (uint32_t)n_insns;
	a.license = (uintptr_t)"MIT";
	/* without the verifier's log: a log longer than its buffer fails the load (ENOSPC) */
	_cleanup_close_ int prog = bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		int e = -prog;
		/* again with the log, for the reason: only its end, where the verifier says why */
		a.log_buf = (uintptr_t)log;
		a.log_size = sizeof(log);
		a.log_level = 1;
		int again = bpf(BPF_PROG_LOAD, &a);
		if (again >= 0)
			close(again);
		size_t len = strnlen(log, sizeof(log));
		return diyc_error(err, e, "load the device program of linux.resources.devices (%zu rules)%s%.200s", n,
				  len ? ": " : "", len > 200 ? log + len - 200 : log);
	}
	memset(&a, 0, sizeof(a));
	a.target_fd = cgfd;
	a.attach_bpf_fd = prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	int r = bpf(BPF_PROG_ATTACH, &a);
	if (r < 0)
		return diyc_error(err, -r, "attach the device program to cgroup %s", abs);
	for (uint32_t i = 0; i < n_old; i++) {
		memset(&a, 0, sizeof(a));
		a.prog_id = old[i];
		_cleanup_close_ int fd = bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.target_fd = cgfd;
		a.attach_bpf_fd = fd;
		a.attach_type = BPF_CGROUP_DEVICE;
		r = bpf(BPF_PROG_DETACH, &a);
		if (r < 0 && r != -ENOENT)
			return diyc_error(err, -r, "detach the previous device program from cgroup %s", abs);
	}
	return 0;
}

/* root in the initial user namespace: only there may we load a device program */
static bool initial_root(void)
{
	if (geteuid() != 0)
		return false;
	_cleanup_free_ char *map = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL) < 0)
		return false;
	unsigned long a, b, c;
	return sscanf(map, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL;
}

/* What runc and crun allow after the spec's own rules, and engines count on (docker's and
 * podman's specs name neither /dev/ptmx nor /dev/pts/N): mknod of any node (opening one is
 * another matter), the nodes every container's /dev has, the console and ptys, tun. */
static const struct oci_device_rule default_devices[] = {
	{ true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },
	{ true, 'c', 1, 3, "rwm" }, { true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 7, "rwm" },
	{ true, 'c', 1, 8, "rwm" }, { true, 'c', 1, 9, "rwm" }, { true, 'c', 5, 0, "rwm" },
	{ true, 'c', 5, 1, "rwm" }, { true, 'c', 5, 2, "rwm" }, { true, 'c', 136, -1, "rwm" },
	{ true, 'c', 10, 200, "rwm" },
};

/* The spec's rules, then the defaults, then the nodes the spec makes (linux.devices): the
 * last match wins, as in runc. */
static struct oci_device_rule *device_rules(const struct oci_resources *r, const struct oci_device *nodes,
					   size_t n_nodes, size_t *n)
{
	struct oci_device_rule *all = calloc(r->n_devices + ARRAY_SIZE(default_devices) + n_nodes + 1, sizeof(*all));
	if (!all)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < r->n_devices; i++)
		all[(*n)++] = r->devices[i];
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
		all[(*n)++] = default_devices[i];
	for (size_t i = 0; i < n_nodes; i++)
		if (nodes[i].type == 'c' || nodes[i].type == 'b')
			all[(*n)++] = (struct oci_device_rule){ true, nodes[i].type, nodes[i].major, nodes[i].minor, "rwm" };
	return all;
}

static int apply_devices(const char *abs, const struct oci_resources *r, const struct oci_device *nodes,
			 size_t n_nodes, struct diyc_error *err)
{
	if (!initial_root()) {
		diyc_debug("linux.resources.devices: no device program outside the initial user namespace as root");
		return 0;
	}
	_cleanup_close_ int fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return diyc_error(err, errno, "open cgroup %s", abs);
	size_t n;
	_cleanup_free_ struct oci_device_rule *rules = device_rules(r, nodes, n_nodes, &n);
	if (!rules)
		return diyc_error(err, ENOMEM, "device rules");
	/* replace: the cgroup may be one that was there before (update, an existing path) */
	return attach_devices(fd, abs, rules, n, true, err);
}

/* -- controllers ------------------------------------------------------------------------------ */

/* The controllers the resources need, each with the setting that needs it. */
struct need {
	char controller[32];
	const char *label;
};

static void add_need(struct need *out, size_t max, size_t *n, const char *c, size_t len, const char *label)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen(out[i].controller) == len && !strncmp(out[i].controller, c, len))
			return;
	if (*n >= max || len >= sizeof(out->controller))
		return;
	memcpy(out[*n].controller, c, len);
	out[*n].controller[len] = '\0';
	out[(*n)++].label = label;
}

static size_t needs_of(const struct oci_resources *r, struct need *out, size_t max)
{
	size_t n = 0;
#define NEED(c, l) add_need(out, max, &n, (c), strlen(c), (l))
	if (r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap)
		NEED("memory", "linux.resources.memory");
	if (r->has_pids_limit)
		NEED("pids", "linux.resources.pids");
	if (r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period)
		NEED("cpu", "linux.resources.cpu");
	if (r->cpuset_cpus || r->cpuset_mems)
		NEED("cpuset", "linux.resources.cpu (cpus, mems)");
	if (r->has_io_weight)
		NEED("io", "linux.resources.blockIO");
	if (r->hugetlb && r->hugetlb[0])
		NEED("hugetlb", "linux.resources.hugepageLimits");
#undef NEED
	/* unified: the controller is the file name's prefix ("memory.high"); cgroup.* are the core's */
	for (char **u = r->unified; u && *u; u++) {
		size_t k = strcspn(*u, ".=");
		if (k && (*u)[k] == '.' && strncmp(*u, "cgroup.", 7))
			add_need(out, max, &n, *u, k, "linux.resources.unified");
	}
	return n;
}

static const char *const all_controllers[] = { "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc" };

/* Enables in dir's subtree_control what it offers of all_controllers (the engines read
 * their stats), best effort: the container's cgroup is checked for what it needs after. */
static void enable_controllers(const char *dir)
{
	_cleanup_free_ char *avail = NULL, *enabled = NULL;
	if (cg_read(dir, "cgroup.controllers", &avail) < 0 || cg_read(dir, "cgroup.subtree_control", &enabled) < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(all_controllers); i++) {
		const char *c = all_controllers[i];
		char one[16];
		if (!word_in(avail, c) || word_in(enabled, c))
			continue;
		snprintf(one, sizeof(one), "+%s", c);
		int r = cg_write(dir, "cgroup.subtree_control", one);
		if (r < 0)
			diyc_debug("enable the %s controller in %s: %s", c, dir, strerror(-r));
	}
}

/* Every controller r needs is in the cgroup abs (its cgroup.controllers). */
static int check_controllers(const char *abs, const struct oci_resources *r, struct diyc_error *err)
{
	struct need needs[24];
	size_t n = needs_of(r, needs, ARRAY_SIZE(needs));
	if (!n)
		return 0;
	_cleanup_free_ char *have = NULL;
	int e = cg_read(abs, "cgroup.controllers", &have);
	if (e < 0)
		return diyc_error(err, -e, "read %s/cgroup.controllers", abs);
	for (size_t i = 0; i < n; i++) {
		if (word_in(have, needs[i].controller))
			continue;
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", abs);
		*strrchr(parent, '/') = '\0';
		_cleanup_free_ char *procs = NULL, *offer = NULL;
		bool busy = cg_read(parent, "cgroup.procs", &procs) == 0 && *procs && strcmp(parent, CGROUP_ROOT);
		bool offered = cg_read(parent, "cgroup.controllers", &offer) == 0 && word_in(offer, needs[i].controller);
		return diyc_error_plain(err, ENOTSUP, "cgroup v2 with the %s controller is needed for %s: %s %s%s",
					needs[i].controller, needs[i].label, parent,
					!offered ? "does not offer it to its children (not delegated?)"
						 : "offers it, but it could not be enabled in its cgroup.subtree_control",
					offered && busy ? " (that cgroup has processes of its own, and cgroup v2 enables "
							  "controllers only for cgroups without)" : "");
	}
	return 0;
}

#define TRY(x) do { int _e = (x); if (_e < 0) return _e; } while (0)

/* -- the resources ---------------------------------------------------------------------------- */

static int write_one(const char *abs, const char *file, const char *value, const char *label, struct diyc_error *err)
{
	int r = cg_write(abs, file, value);
	if (r < 0)
		return diyc_error(err, -r, "%s: write %s to %s/%s", label, value, abs, file);
	return 0;
}

static void num_or_max(char *out, size_t size, int64_t v)
{
	if (v < 0)
		snprintf(out, size, "max");
	else
		snprintf(out, size, "%lld", (long long)v);
}

static int write_memory(const char *abs, const struct oci_resources *r, struct diyc_error *err)
{
	static const char label[] = "linux.resources.memory";
	char v[32];
	int64_t swap;
	if (oci_swap_max(r->has_memory_limit ? r->memory_limit : 0, r->has_memory_swap ? r->memory_swap : 0, &swap) < 0)
		return diyc_error_plain(err, EINVAL, "%s: swap (%lld) is the limit of memory and swap together: it needs "
					"a memory limit and must be at least it (-1: no limit)", label,
					(long long)r->memory_swap);
	if (swap != OCI_SWAP_UNSET) {
		num_or_max(v, sizeof(v), swap);
		int e = cg_write(abs, "memory.swap.max", v);
		/* no swap accounting in this kernel: an error only for a real limit */
		if (e < 0 && !(e == -ENOENT && swap == -1))
			return diyc_error(err, -e, "%s: write %s to %s/memory.swap.max", label, v, abs);
	}
	if (r->has_memory_limit && r->memory_limit != 0) {
		num_or_max(v, sizeof(v), r->memory_limit);
		TRY(write_one(abs, "memory.max", v, label, err));
	}
	if (r->has_memory_reservation && r->memory_reservation != 0) {
		num_or_max(v, sizeof(v), r->memory_reservation);
		TRY(write_one(abs, "memory.low", v, label, err));
	}
	return 0;
}

static int write_cpu(const char *abs, const struct oci_resources *r, struct diyc_error *err)
{
	static const char label[] = "linux.resources.cpu";
	char v[64];
	if (r->has_cpu_shares && r->cpu_shares) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)oci_cpu_weight(r->cpu_shares));
		TRY(write_one(abs, "cpu.weight", v, label, err));
	}
	if (r->has_cpu_quota || (r->has_cpu_period && r->cpu_period)) {
		char quota[24] = "max";
		if (r->has_cpu_quota && r->cpu_quota > 0)
			snprintf(quota, sizeof(quota), "%lld", (long long)r->cpu_quota);
		/* only a period (update): keep the quota there is */
		_cleanup_free_ char *cur = NULL;
		if (!r->has_cpu_quota && cg_read(abs, "cpu.max", &cur) == 0)
			snprintf(quota, sizeof(quota), "%.*s", (int)strcspn(cur, " \n"), cur);
		snprintf(v, sizeof(v), "%s %llu", quota,
			 (unsigned long long)(r->has_cpu_period && r->cpu_period ? r->cpu_period : 100000));
		TRY(write_one(abs, "cpu.max", v, label, err));
	}
	/* mems before cpus does not matter in v2; both only narrow the parent's */
	if (r->cpuset_cpus)
		TRY(write_one(abs, "cpuset.cpus", r->cpuset_cpus, "linux.resources.cpu.cpus", err));
	if (r->cpuset_mems)
		TRY(write_one(abs, "cpuset.mems", r->cpuset_mems, "linux.resources.cpu.mems", err));
	return 0;
}

static bool safe_name(const char *s, size_t n)
{
	return n > 0 && !memchr(s, '/', n) && !(n == 1 && s[0] == '.') && !(n == 2 && !strncmp(s, "..", 2)) &&
	       strncmp(s, "..", 2);
}

static int write_pairs(const char *abs, char **pairs, const char *fmt, const char *label, struct diyc_error *err)
{
	for (char **p = pairs; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		if (!eq || !safe_name(*p, (size_t)(eq - *p)))
			return diyc_error_plain(err, EINVAL, "%s: `%s` is not NAME=VALUE with a plain file name", label, *p);
		char file[256];
		snprintf(file, sizeof(file), fmt, (int)(eq - *p), *p);
		int e = cg_write(abs, file, eq + 1);
		if (e == -ENOENT)
			return diyc_error_plain(err, ENOENT, "%s: cgroup %s has no file %s (a controller that is not "
						"enabled, or not in this kernel)", label, abs, file);
		if (e < 0)
			return diyc_error(err, -e, "%s: write %s to %s/%s", label, eq + 1, abs, file);
	}
	return 0;
}

static int write_resources(const char *abs, const struct oci_resources *r, struct diyc_error *err)
{
	char v[32];
	TRY(write_memory(abs, r, err));
	TRY(write_cpu(abs, r, err));
	if (r->has_pids_limit) {
		num_or_max(v, sizeof(v), r->pids_limit > 0 ? r->pids_limit : -1);
		TRY(write_one(abs, "pids.max", v, "linux.resources.pids", err));
	}
	if (r->has_io_weight && r->io_weight) {
		/* io.weight where the kernel has it (runc converts the v1 range), else bfq's own, v1's range */
		char p[PATH_MAX], q[PATH_MAX];
		snprintf(p, sizeof(p), "%s/io.weight", abs);
		snprintf(q, sizeof(q), "%s/io.bfq.weight", abs);
		bool io = access(p, F_OK) == 0;
		if (!io && access(q, F_OK) < 0)
			return diyc_error_plain(err, ENOTSUP, "linux.resources.blockIO.weight: cgroup %s has neither io.weight "
						"nor io.bfq.weight (this kernel has no I/O weight: neither iocost nor the BFQ "
						"scheduler)", abs);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)(io ? oci_io_weight(r->io_weight) : r->io_weight));
		TRY(write_one(abs, io ? "io.weight" : "io.bfq.weight", v, "linux.resources.blockIO.weight", err));
	}
	TRY(write_pairs(abs, r->hugetlb, "hugetlb.%.*s.max", "linux.resources.hugepageLimits", err));
	/* last: what it says wins over the mapped settings */
	return write_pairs(abs, r->unified, "%.*s", "linux.resources.unified", err);
}

/* -- where the cgroup goes -------------------------------------------------------------------- */

static bool have_v2(void)
{
	struct statfs sf;
	return statfs(CGROUP_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static void abs_of(char *out, size_t size, const char *rel)
{
	snprintf(out, size, CGROUP_ROOT "/%s", rel);
}

/* No cgroup for the container (why: what is wrong): an error when the spec has limits,
 * else a warning (a debug message when nothing asked for a cgroup at all). */
static int no_cgroup(struct oci_cgroup *cg, const struct oci_spec *spec, int errnum, const char *why,
		     struct diyc_error *err)
{
	const struct oci_resources *r = &spec->resources;
	if (cg->need) {
		struct need needs[24];
		size_t n = needs_of(r, needs, ARRAY_SIZE(needs));
		if (n)
			return diyc_error_plain(err, errnum ? errnum : ENOTSUP, "cgroup v2 with the %s controller is needed "
						"for %s: %s", needs[0].controller, needs[0].label, why);
		return diyc_error_plain(err, errnum ? errnum : ENOTSUP, "cgroup v2 is needed for linux.resources: %s", why);
	}
	bool devices = spec->has_resources && r->n_devices && initial_root();
	if ((spec->cgroups_path && *spec->cgroups_path) || devices)
		diyc_warn("the container runs without a cgroup: %s%s", why,
			  devices ? " (linux.resources.devices is not enforced)" : "");
	else
		diyc_debug("no cgroup: %s", why);
	memset(cg, 0, sizeof(*cg));
	return 0;
}

/* The cgroupfs path (no leading slash) of cgroupsPath: absolute below the root, relative (or
 * empty: the container's id) below the cgroup of this process. */
static int resolve_path(const char *cgroups_path, const char *id, char *out, size_t size, struct diyc_error *err)
{
	const char *p = cgroups_path && *cgroups_path ? cgroups_path : id;
	char base[PATH_MAX] = "";
	if (*p != '/') {
		int r = cgroup_of_pid(0, base, sizeof(base));
		if (r < 0)
			return diyc_error(err, -r, "find this process's cgroup v2 (linux.cgroupsPath `%s` is relative)", p);
	}
	_cleanup_free_ char *buf = xasprintf("%s/%s", base, p);
	if (!buf)
		return diyc_error(err, ENOMEM, "linux.cgroupsPath");
	size_t n = 0;
	out[0] = '\0';
	for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, ".."))
			return diyc_error_plain(err, EINVAL, "linux.cgroupsPath `%s`: `..` is not allowed", p);
		int k = snprintf(out + n, size - n, "%s%s", n ? "/" : "", c);
		if (k < 0 || (size_t)k >= size - n)
			return diyc_error_plain(err, ENAMETOOLONG, "linux.cgroupsPath `%s` is too long", p);
		n += (size_t)k;
	}
	if (!n)
		return diyc_error_plain(err, EINVAL, "linux.cgroupsPath `%s` is the root cgroup", p);
	return 0;
}

/* Makes CGROUP_ROOT/rel and the parents it lacks, enabling controllers in each parent on the
 * way. *made: the length of rel's part that was there before (strlen(rel): all of it), so that
 * a failure removes only what was made here. */
static int make_path(const char *rel, size_t *made)
{
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), rel);
	size_t root_len = strlen(CGROUP_ROOT);
	*made = strlen(rel);
	for (char *s = abs + root_len + 1;;) {
		char *slash = strchr(s, '/');
		s[-1] = '\0';
		enable_controllers(abs);
		s[-1] = '/';
		if (slash)
			*slash = '\0';
		if (mkdir(abs, 0755) == 0) {
			if (*made == strlen(rel))
				*made = s > abs + root_len + 1 ? (size_t)(s - abs - root_len - 2) : 0;
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (!slash)
			return 0;
		*slash = '/';
		s = slash + 1;
	}
}

/* Removes what make_path made of rel, deepest first. */
static void remove_made(const char *rel, size_t made)
{
	char p[PATH_MAX];
	abs_of(p, sizeof(p), rel);
	size_t keep = strlen(CGROUP_ROOT) + 1 + made;
	while (strlen(p) > keep) {
		if (rmdir(p) < 0)
			break;
		char *slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
}

static int create_fs(const struct oci_spec *spec, const char *id, struct oci_cgroup *cg, struct diyc_error *err)
{
	char rel[PATH_MAX], abs[PATH_MAX];
	TRY(resolve_path(spec->cgroups_path, id, rel, sizeof(rel), err));
	abs_of(abs, sizeof(abs), rel);
	size_t made;
	int e = make_path(rel, &made);
	if (e < 0) {
		char why[PATH_MAX + 128];
		snprintf(why, sizeof(why), "cannot create cgroup %s: %s%s", abs, strerror(-e),
			 (e == -EACCES || e == -EPERM || e == -EROFS) && geteuid() != 0 ? " (not delegated to this user)" : "");
		return no_cgroup(cg, spec, -e, why, err);
	}
	const struct oci_resources *r = &spec->resources;
	if (spec->has_resources) {
		e = check_controllers(abs, r, err);
		if (e == 0)
			e = write_resources(abs, r, err);
	}
	/* always, as runc: without rules of its own, a container gets the default devices only */
	if (e == 0)
		e = apply_devices(abs, r, spec->devices, spec->n_devices, err);
	if (e < 0) {
		remove_made(rel, made);
		return e;
	}
	snprintf(cg->path, sizeof(cg->path), "%s", rel);
	diyc_debug("cgroup %s", abs);
	return 0;
}

/* "slice:prefix:name" into cg's slice and scope, as runc reads it. */
static int parse_systemd_path(const char *cgroups_path, const char *id, struct oci_cgroup *cg, struct diyc_error *err)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", cgroups_path && *cgroups_path ? cgroups_path : "");
	if (!*buf)
		snprintf(buf, sizeof(buf), ":diyc-oci:%s", id);
	char *prefix = strchr(buf, ':'), *name = prefix ? strchr(prefix + 1, ':') : NULL;
	if (!name || strchr(name + 1, ':') || !name[1] || strchr(buf, '/'))
		return diyc_error_plain(err, EINVAL, "linux.cgroupsPath `%s`: with systemd cgroups it is "
					"slice:prefix:name (as system.slice:docker:ID)", cgroups_path);
	*prefix++ = '\0';
	*name++ = '\0';
	size_t ns = strlen(buf), nn = strlen(name);
	if (ns && (ns < 7 || strcmp(buf + ns - 6, ".slice")))
		return diyc_error_plain(err, EINVAL, "linux.cgroupsPath `%s`: `%s` is not a slice (NAME.slice)",
					cgroups_path, buf);
	if (nn > 6 && !strcmp(name + nn - 6, ".slice"))
		return diyc_error_plain(err, ENOTSUP, "linux.cgroupsPath `%s`: a slice as the container's own unit is "
					"not supported, only a scope", cgroups_path);
	snprintf(cg->slice, sizeof(cg->slice), "%s", ns ? buf : initial_root() ? "system.slice" : "user.slice");
	int k = snprintf(cg->scope, sizeof(cg->scope), "%s%s%s.scope", prefix, *prefix ? "-" : "", name);
	if (k < 0 || (size_t)k >= sizeof(cg->scope))
		return diyc_error_plain(err, ENAMETOOLONG, "linux.cgroupsPath `%s` is too long for a unit name",
					cgroups_path);
	cg->systemd = true;
	return 0;
}

int oci_cgroup_create(const struct oci_spec *spec, const char *id, bool systemd_cgroup, struct oci_cgroup *cg,
		      struct diyc_error *err)
{
	memset(cg, 0, sizeof(*cg));
	cg->need = spec->has_resources && spec->resources.any;
	if (!have_v2())
		return no_cgroup(cg, spec, ENOTSUP, CGROUP_ROOT " is not a cgroup2 mount (cgroup v1 or hybrid is not "
				 "supported)", err);
	if (!systemd_cgroup)
		return create_fs(spec, id, cg, err);
	TRY(parse_systemd_path(spec->cgroups_path, id, cg, err));
	if (access("/run/systemd/system", F_OK) < 0) {
		bool need = cg->need;
		memset(cg, 0, sizeof(*cg));
		cg->need = need;
		return no_cgroup(cg, spec, ENOTSUP, "systemd cgroups were asked for, but systemd is not running "
				 "(no /run/systemd/system)", err);
	}
	return 0;
}

/* Starts the scope with pid in it, then applies the resources to its cgroup. */
static int enter_systemd(struct oci_cgroup *cg, const struct oci_spec *spec, pid_t pid, struct diyc_error *err)
{
	/* root of podman's user namespace is a normal user to systemd: its user manager */
	bool system_bus = initial_root();
	char desc[300];
	snprintf(desc, sizeof(desc), "diyc-oci container %s", cg->scope);
	struct diyc_error e1;
	int e = systemd_start_scope_in(system_bus, cg->slice, cg->scope, pid, desc, &e1);
	if (e < 0)
		return no_cgroup(cg, spec, -e, e1.msg, err);
	char own[PATH_MAX], abs[PATH_MAX];
	e = cgroup_of_pid(pid, own, sizeof(own));
	if (e < 0)
		e = diyc_error(err, -e, "read the cgroup of process %d in scope %s", (int)pid, cg->scope);
	else
		snprintf(cg->path, sizeof(cg->path), "%s", own + strspn(own, "/"));
	abs_of(abs, sizeof(abs), cg->path);
	if (e == 0 && spec->has_resources) {
		e = check_controllers(abs, &spec->resources, err);
		if (e == 0)
			e = write_resources(abs, &spec->resources, err);
	}
	if (e == 0)
		e = apply_devices(abs, &spec->resources, spec->devices, spec->n_devices, err);
	if (e < 0) {
		systemd_stop_unit(system_bus, cg->scope);
		memset(cg, 0, sizeof(*cg));
		return e;
	}
	diyc_debug("cgroup %s (scope %s)", abs, cg->scope);
	return 0;
}

int oci_cgroup_enter(struct oci_cgroup *cg, const struct oci_spec *spec, pid_t pid, struct diyc_error *err)
{
	if (cg->systemd && !*cg->path)
		return enter_systemd(cg, spec, pid, err);
	if (!*cg->path)
		return 0;
	char cur[PATH_MAX], abs[PATH_MAX], v[24];
	if (cgroup_of_pid(pid, cur, sizeof(cur)) == 0 && !strcmp(cur + strspn(cur, "/"), cg->path))
		return 0;
	abs_of(abs, sizeof(abs), cg->path);
	snprintf(v, sizeof(v), "%d", (int)pid);
	int e = cg_write(abs, "cgroup.procs", v);
	if (e < 0)
		return diyc_error(err, -e, "move process %d into cgroup %s", (int)pid, abs);
	return 0;
}

int oci_cgroup_open(const struct oci_cgroup *cg)
{
	if (!*cg->path)
		return -1;
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), cg->path);
	return open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* -- later: update, freeze, ps, kill, delete -------------------------------------------------- */

static int no_cgroup_for(const char *what, struct diyc_error *err)
{
	return diyc_error_plain(err, ENOTSUP, "the container has no cgroup (it was created without cgroup v2): "
				"cannot %s", what);
}

int oci_cgroup_update(const struct oci_cgroup *cg, const struct oci_resources *r, struct diyc_error *err)
{
	if (!*cg->path)
		return r->any || r->n_devices ? no_cgroup_for("update its resources", err) : 0;
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), cg->path);
	TRY(check_controllers(abs, r, err));
	TRY(write_resources(abs, r, err));
	/* an update without device rules keeps the program there is */
	return r->n_devices ? apply_devices(abs, r, NULL, 0, err) : 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int write_freeze(const char *abs, bool frozen, struct diyc_error *err)
{
	int e = cg_write(abs, "cgroup.freeze", frozen ? "1" : "0");
	if (e == -ENOENT)
		return diyc_error_plain(err, ENOTSUP, "cgroup %s has no cgroup.freeze (the cgroup v2 freezer needs "
					"Linux 5.2)", abs);
	if (e < 0)
		return diyc_error(err, -e, "write %s/cgroup.freeze", abs);
	return 0;
}

int oci_cgroup_freeze(const struct oci_cgroup *cg, bool frozen, struct diyc_error *err)
{
	if (!*cg->path)
		return no_cgroup_for(frozen ? "pause it" : "resume it", err);
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), cg->path);
	TRY(write_freeze(abs, frozen, err));
	/* the kernel freezes each task at its next return to user space: a task in a long
	 * uninterruptible sleep keeps the cgroup from being frozen */
	for (int i = 0; i < 1000; i++) {
		uint64_t f;
		if (cg_read_key(abs, "cgroup.events", "frozen", &f) == 0 && (f != 0) == frozen)
			return 0;
		sleep_ms(i < 20 ? 1 : 10);
	}
	if (frozen)
		cg_write(abs, "cgroup.freeze", "0");
	return diyc_error_plain(err, ETIMEDOUT, "cgroup %s did not %s within 10 s", abs, frozen ? "freeze" : "thaw");
}

bool oci_cgroup_is_frozen(const struct oci_cgroup *cg)
{
	if (!*cg->path)
		return false;
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), cg->path);
	uint64_t f = 0;
	return cg_read_key(abs, "cgroup.events", "frozen", &f) == 0 && f;
}

static int collect_pids(const char *dir, int depth, pid_t **v, size_t *n, size_t *cap)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(AT_FDCWD, p, 1 << 24, &s, NULL);
	if (r < 0)
		return r == -ENOENT && depth ? 0 : r; /* a child cgroup removed meanwhile */
	for (char *save = NULL, *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 64;
			pid_t *nv = realloc(*v, c * sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = c;
		}
		(*v)[(*n)++] = (pid_t)atoi(t);
	}
	_cleanup_closedir_ DIR *d = depth < 32 ? opendir(dir) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		r = collect_pids(p, depth + 1, v, n, cap);
		if (r < 0)
			return r;
	}
	return 0;
}

int oci_cgroup_pids(const struct oci_cgroup *cg, pid_t **pids, size_t *n, struct diyc_error *err)
{
	*pids = NULL;
	*n = 0;
	if (!*cg->path)
		return no_cgroup_for("list its processes", err);
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), cg->path);
	size_t cap = 0;
	int r = collect_pids(abs, 0, pids, n, &cap);
	if (r < 0) {
		free(*pids);
		*pids = NULL;
		*n = 0;
		return diyc_error(err, -r, "read the processes of cgroup %s", abs);
	}
	return 0;
}

int oci_cgroup_kill_all(const struct oci_cgroup *cg, int sig, struct diyc_error *err)
{
	if (!*cg->path)
		return no_cgroup_for("signal all its processes", err);
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), cg->path);
	bool frozen = oci_cgroup_is_frozen(cg);
	/* cgroup.kill (Linux 5.14) reaches every process, also one forked meanwhile */
	if (sig != SIGKILL || cg_write(abs, "cgroup.kill", "1") < 0) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n;
		TRY(oci_cgroup_pids(cg, &pids, &n, err));
		for (size_t i = 0; i < n; i++)
			if (kill(pids[i], sig) < 0 && errno != ESRCH)
				return diyc_error(err, errno, "send signal %d to process %d", sig, (int)pids[i]);
	}
	if (frozen)
		TRY(write_freeze(abs, false, err));
	return 0;
}

int oci_cgroup_destroy(struct oci_cgroup *cg, struct diyc_error *err)
{
	if (!*cg->path) {
		memset(cg, 0, sizeof(*cg));
		return 0;
	}
	char abs[PATH_MAX];
	abs_of(abs, sizeof(abs), cg->path);
	if (access(abs, F_OK) == 0) {
		struct diyc_error ignore;
		oci_cgroup_kill_all(cg, SIGKILL, &ignore);
	}
	if (cg->systemd) {
		/* systemd removes the scope's cgroup, and what the container made below it */
		systemd_stop_unit(initial_root(), cg->scope);
		for (int i = 0; i < 200 && access(abs, F_OK) == 0; i++)
			sleep_ms(10);
	}
	int r = access(abs, F_OK) == 0 ? cg_remove_tree(abs, true, 0) : 0;
	if (r < 0 && r != -ENOENT)
		return diyc_error(err, -r, "remove cgroup %s", abs);
	memset(cg, 0, sizeof(*cg));
	return 0;
}
