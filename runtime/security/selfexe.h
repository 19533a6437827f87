/* SPDX-License-Identifier: MIT */
/* selfexe.h: keeping the diyc binary out of the container's reach. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

/* For a command that starts processes in a container, before anything else (argv as main
 * got it): asks the kernel once whether it can repoint a process's executable
 * (PR_SET_MM_MAP). Where it can, returns 0 and selfexe_detach does the work in each
 * process. Where it cannot, executes diyc again from a copy in a write-sealed memfd and
 * does not return, unless that fails; the copy, on its start, takes its own execute bits
 * away and returns 0 with selfexe_sealed() true. */
int selfexe_prepare(char **argv, struct diyc_error *err);
/* This process is a sealed copy (or a fork of one): nothing to detach. */
bool selfexe_sealed(void);
/* The path of the diyc binary on the host (where its helpers are installed), also when
 * running from the sealed copy. */
int selfexe_host_path(char *buf, size_t size, struct diyc_error *err);

/* procfd: a proc where the caller has a PID (-1: /proc). Makes the calling process's /proc/PID/exe an empty sealed memfd instead of the diyc
 * binary: copies every mapping of the binary into anonymous memory in place, then
 * replaces the process's executable file (PR_SET_MM_MAP, which needs CAP_SYS_RESOURCE or
 * CAP_CHECKPOINT_RESTORE in the process's user namespace). The code keeps running.
 * Does nothing in a sealed copy. */
int selfexe_detach(int private_fd, int procfd, struct diyc_error *err);
/* The diyc binary opened through a detached read-only clone of its mount, for
 * selfexe_detach to map its unchanged parts from (shared with other diycs, unwritable);
 * -errno where the caller cannot make mounts. */
int selfexe_open_private(void);
