/* SPDX-License-Identifier: MIT */
/* systemd.h: asking systemd (over D-Bus, with sd-bus) for a delegated cgroup. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "lib/error.h"

/* Starts the transient scope UNIT holding pid, with Delegate=yes, and waits until pid
 * is in it. system_bus: the system manager (root), else the caller's user manager. */
int systemd_start_scope(bool system_bus, const char *unit, pid_t pid, const char *description,
			struct diyc_error *err);
/* The same in SLICE ("machine.slice"; NULL: the manager's default). */
int systemd_start_scope_in(bool system_bus, const char *slice, const char *unit, pid_t pid,
			   const char *description, struct diyc_error *err);
/* Moves pid into SUBCGROUP ("/container") of the delegated UNIT: systemd may move
 * processes where the caller may not (out of a login session's scope). */
int systemd_attach(bool system_bus, const char *unit, const char *subcgroup, pid_t pid, struct diyc_error *err);
/* Whether the unit pid runs in (a scope or a service) has Delegate=yes: 1, 0, or a
 * negative errno. systemd's user manager marks delegated cgroups in no way a process can
 * read, so it is asked. */
int systemd_pid_delegated(bool system_bus, pid_t pid, struct diyc_error *err);
/* Stops UNIT (kills what is left in it), not waiting for the job. */
void systemd_stop_unit(bool system_bus, const char *unit);
