/* SPDX-License-Identifier: MIT */
/* seccomp-filter.h: the system call filter of a container's processes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "caps.h"
#include "lib/error.h"

/* A compiled filter, ready for the kernel. */
struct seccomp_prog {
	void *insns; /* struct sock_filter[len] */
	unsigned short len;
};

/* The built-in profile (runtime/seccomp-default.json, docker's format). */
extern const char seccomp_default_profile[];

/* Reads a profile file given to --security-opt seccomp=PATH and checks it: docker's JSON
 * format, actions, operators and architectures known. *json gets its text. */
int seccomp_profile_load(const char *path, char **json, struct diyc_error *err);
/* Checks a profile's text as seccomp_profile_load does. */
int seccomp_profile_check(const char *json, struct diyc_error *err);
/* The filter for a container with capabilities caps: profile NULL is the built-in one.
 * Compiled with libseccomp once, then kept in cache_dir (NULL: not kept) under a key of
 * the profile, the capabilities and the kernel, and read from there the next time. */
int seccomp_prepare(const char *profile, cap_mask caps, const char *cache_dir, struct seccomp_prog *out,
		    struct diyc_error *err);
/* Installs the filter in the calling thread: the caller has no_new_privs set or
 * CAP_SYS_ADMIN in its user namespace. */
int seccomp_install(const struct seccomp_prog *p, struct diyc_error *err);
void seccomp_prog_free(struct seccomp_prog *p);
