/* SPDX-License-Identifier: MIT */
/* confine.h: the supervising diyc's confinement once the container runs (and the slirp
 * process's, which also leaves the host's file system: net/slirp.c). */
#pragma once
#include "lib/error.h"

/* no_new_privs and a seccomp filter refusing what the supervisor never needs. For the
 * calling process and whatever it forks from now on. */
int confine_supervisor(struct diyc_error *err);
/* no_new_privs and a filter allowing only what diyc's init does once the command runs
 * (smaller than any container's: init needs less than the container's root). */
int confine_init(struct diyc_error *err);
