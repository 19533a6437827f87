/* SPDX-License-Identifier: MIT */
/* security.h: a container's security configuration (what `run` was asked for, kept in
 * config.json) and what its processes get from it (capabilities, no_new_privs, the
 * compiled seccomp filter), and security_prepare, which turns the one into the other. */
#pragma once
#include <stdbool.h>
#include "caps.h"
#include "seccomp-filter.h"
#include "lib/error.h"

/* --cap-add, --cap-drop, --privileged, --read-only and --security-opt. */
enum seccomp_mode { SECCOMP_DEFAULT, SECCOMP_UNCONFINED, SECCOMP_PROFILE };
struct security_config {
	char **cap_add, **cap_drop; /* normalized names (CAP_X or ALL), NULL-terminated or NULL */
	bool privileged, read_only, no_new_privs;
	enum seccomp_mode seccomp;
	char *seccomp_profile;      /* SECCOMP_PROFILE: the profile's text, copied at `run` */
};

/* What a container's processes may do (caps.c, seccomp-filter.c; read_only and privileged
 * also shape its root filesystem, rootfs/mount.c). */
struct container_security {
	cap_mask caps;             /* bounding set; root's permitted and effective */
	bool no_new_privs;         /* --security-opt no-new-privileges */
	bool read_only;            /* --read-only */
	bool privileged;           /* --privileged: every capability, no masked paths, no filter */
	struct seccomp_prog *seccomp; /* NULL: none (unconfined) */
};

/* Computes the capability set and compiles (or reads back from DATA/seccomp) the seccomp
 * filter of cfg into out, which then points at prog. */
int security_prepare(const struct security_config *cfg, const char *data_dir, struct container_security *out,
		     struct seccomp_prog *prog, struct diyc_error *err);
