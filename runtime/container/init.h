/* SPDX-License-Identifier: MIT */
/* init.h: the container's minimal PID 1: forwards signals to the command and reaps
 * every zombie until the command ends. */
#pragma once
#include <sys/types.h>

/* Runs until cmd ends; returns the exit status to pass on (128+N for a signal).
 * The forwarded signals and SIGCHLD must be blocked in the caller. */
int init_supervise(pid_t cmd);
