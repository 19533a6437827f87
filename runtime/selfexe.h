/* SPDX-License-Identifier: MIT */
/* selfexe.h: keeping the diyc binary out of the container's reach. */
#pragma once
#include <stdbool.h>
#include "error.h"

/* procfd: a proc where the caller has a PID (-1: /proc). Makes the calling process's /proc/PID/exe an empty sealed memfd instead of the diyc
 * binary: copies every mapping of the binary into anonymous memory in place, then
 * replaces the process's executable file (PR_SET_MM_MAP, which needs CAP_SYS_RESOURCE or
 * CAP_CHECKPOINT_RESTORE in the process's user namespace). The code keeps running. */
int selfexe_detach(int private_fd, int procfd, struct diyc_error *err);
/* The diyc binary opened through a detached read-only clone of its mount, for
 * selfexe_detach to map its unchanged parts from (shared with other diycs, unwritable);
 * -errno where the caller cannot make mounts. */
int selfexe_open_private(void);
