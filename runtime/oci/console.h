/* SPDX-License-Identifier: MIT */
/* console.h: a foreground `run` or `exec`: with a terminal and no console socket,
 * diyc-oci receives the pty master itself and relays it to its own stdio; without one, it
 * forwards signals and waits. */
#pragma once
#include <sys/types.h>
#include "lib/error.h"

/* A socket pair standing in for the engine's console socket: *ours receives the master,
 * *theirs is what the container's side sends it over. */
int oci_console_pair(int *ours, int *theirs, struct diyc_error *err);
/* Takes the master from ours, then relays stdin to it and it to stdout (the caller's
 * terminal in raw mode, its window size followed) until pid is reaped; *status its exit
 * status. The caller is pid's parent or subreaper, with every signal blocked. */
int oci_console_relay(int ours, pid_t pid, int *status, struct diyc_error *err);
/* Without a terminal: forwards the signals we get to pid and waits for it (the caller is
 * its parent or its subreaper); its exit status, 128+N for a signal, 255 when it is lost. */
int oci_wait_forwarding(pid_t pid);
