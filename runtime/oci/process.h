/* SPDX-License-Identifier: MIT */
/* process.h: turning the calling process (the container's init, or an exec'd process in
 * the container) into what an OCI `process` object describes, step by step in the order
 * the kernel requires: limits while privileged, the executable found before the start,
 * then the bounding set, the user, the capability sets, no_new_privs, seccomp, exec. */
#pragma once
#include <stdbool.h>
#include "lib/error.h"
#include "security/seccomp-filter.h"
#include "spec.h"

/* rlimits and oomScoreAdj (needs the privileges the process still has). */
int oci_process_limits(const struct oci_process *p, struct diyc_error *err);
/* Finds args[0] in the process's PATH (or as given) below the current root: the
 * resolved path into out. Not found: status 127 and runc's words ("executable file not
 * found in $PATH"), not executable: 126. */
int oci_process_find(const struct oci_process *p, char *out, size_t size, struct diyc_error *err);
/* The working directory, the bounding set, the groups, gid and uid, then the
 * capability sets (effective, permitted, inheritable, ambient), no_new_privs.
 * set_groups: setgroups() is allowed (a user namespace where it is denied has false). */
int oci_process_become(const struct oci_process *p, bool set_groups, struct diyc_error *err);
/* process.apparmorProfile, for the exec that follows (where the kernel has AppArmor
 * enabled; elsewhere an engine asks for none). The engine loaded the profile. */
int oci_process_apparmor(const struct oci_process *p, struct diyc_error *err);
/* The seccomp filter (NULL: none), installed last before exec. */
int oci_process_seccomp(const struct oci_process *p, const struct seccomp_prog *prog, struct diyc_error *err);
/* execve(path, args, env). Returns only on failure (err, status 126/127). */
int oci_process_exec(const struct oci_process *p, const char *path, struct diyc_error *err);
