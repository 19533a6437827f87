/* SPDX-License-Identifier: MIT */
/* cgroups.h: an OCI container's cgroup on cgroup v2: where linux.cgroupsPath puts it
 * (a directory, or a systemd transient scope), linux.resources written into it, the device
 * rules as a BPF program, and what the runc verbs do with it later (update, pause/resume,
 * ps, kill, delete). cgroup v1 is not supported. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/bpf.h>
#include "lib/error.h"
#include "spec.h"

struct oci_cgroup {
	char path[PATH_MAX];   /* below /sys/fs/cgroup, no leading slash; "" when the container has none */
	bool systemd;          /* a transient scope made through systemd */
	char scope[256];       /* its unit name */
	/* private to cgroups.c between oci_cgroup_create and oci_cgroup_enter */
	char slice[256];       /* the slice the scope goes into */
	bool need;             /* the spec has limits: a cgroup that cannot be made is an error */
};

/* Decides and makes the container's cgroup (see cgroups.c for the rules): spec->cgroups_path
 * as a cgroupfs path, or with systemd_cgroup "slice:prefix:name". Without a usable cgroup v2
 * a spec with limits is refused, one without runs without a cgroup (cg->path "", a warning).
 *
 * cgroupfs: the directory is made, the resources written and the device program attached
 * here; clone the init into oci_cgroup_open()'s fd. systemd: only the names are decided here
 * (cg->path stays ""): the scope is started with the init's pid by oci_cgroup_enter, as runc
 * and crun do (a scope cannot exist empty). Call oci_cgroup_enter after the clone either way. */
int oci_cgroup_create(const struct oci_spec *spec, const char *id, bool systemd_cgroup, struct oci_cgroup *cg,
		      struct diyc_error *err);
/* Puts the container's init pid into its cgroup: the systemd scope is started with it (then
 * the resources and devices are applied); a cgroupfs cgroup gets pid written into its
 * cgroup.procs unless pid is already there (cloned into it). Without a cgroup: nothing. */
int oci_cgroup_enter(struct oci_cgroup *cg, const struct oci_spec *spec, pid_t pid, struct diyc_error *err);
/* An fd of the cgroup directory (O_RDONLY|O_DIRECTORY|O_CLOEXEC), for clone3(CLONE_INTO_CGROUP)
 * (lib's clone_fork_into(flags, cgroup_fd)); -1 if none (yet). */
int oci_cgroup_open(const struct oci_cgroup *cg);
/* `update --resources`: writes what r gives; device rules, when r has any, replace the
 * program attached before. */
int oci_cgroup_update(const struct oci_cgroup *cg, const struct oci_resources *r, struct diyc_error *err);
/* cgroup.freeze, waiting until cgroup.events says frozen (or thawed). */
int oci_cgroup_freeze(const struct oci_cgroup *cg, bool frozen, struct diyc_error *err);
bool oci_cgroup_is_frozen(const struct oci_cgroup *cg);
/* The pids of cgroup.procs, recursively (malloc'd into *pids). */
int oci_cgroup_pids(const struct oci_cgroup *cg, pid_t **pids, size_t *n, struct diyc_error *err);
/* cgroup.kill for SIGKILL where the kernel has it, else each pid; a frozen cgroup is thawed
 * after signalling so that the signals land. */
int oci_cgroup_kill_all(const struct oci_cgroup *cg, int sig, struct diyc_error *err);
/* Kills what is left and removes the cgroup (children first); a systemd scope is stopped.
 * cg is cleared. */
int oci_cgroup_destroy(struct oci_cgroup *cg, struct diyc_error *err);

/* -- the pure parts (for the unit test) ------------------------------------------------------ */

/* cpu.shares (v1, 2..262144) to cpu.weight (1..10000), runc's linear conversion; 0: not set. */
uint64_t oci_cpu_weight(uint64_t shares);
/* blkio.weight (10..1000) to io.weight (1..10000), as runc converts it; 0: not set. */
uint64_t oci_io_weight(uint64_t blkio_weight);
#define OCI_SWAP_UNSET (-2)
/* memory.swap.max from the spec's memory+swap: *out is the value, -1 for "max", or
 * OCI_SWAP_UNSET when there is nothing to write. limit, swap: 0 when not given. -EINVAL for
 * a swap limit without a memory limit, or below it. */
int oci_swap_max(int64_t limit, int64_t swap, int64_t *out);
/* The BPF_PROG_TYPE_CGROUP_DEVICE program of the rules, evaluated last-match-wins, default
 * deny (malloc'd into *insns). -EINVAL for a rule it cannot express. */
int oci_device_program(const struct oci_device_rule *rules, size_t n, struct bpf_insn **insns, size_t *n_insns);
