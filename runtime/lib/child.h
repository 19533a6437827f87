/* SPDX-License-Identifier: MIT */
/* child.h: cleanup helpers for child processes and pipes, in the style of lib/util.h's:
 * a child that is killed and reaped when its variable goes out of scope (unless
 * disarmed), reaping that retries EINTR, and a pair of fds closed together. */
#pragma once
#include <sys/types.h>

/* waitpid(pid, status, 0), again when a signal interrupts it. pid, or -1 with errno set.
 * status may be NULL. */
pid_t reap(pid_t pid, int *status);
/* SIGKILL to pid and reap it; nothing for pid <= 0. errno is left as it was. */
void kill_and_reap(pid_t pid);
static inline void kill_and_reapp(pid_t *pid) { kill_and_reap(*pid); }
/* A pid_t whose child is SIGKILLed and reaped at the end of the scope, unless disarmed. */
#define _cleanup_child_ __attribute__((cleanup(kill_and_reapp)))
/* The child is the caller's again (its variable no longer kills it); returns it. */
static inline pid_t disarm_child(pid_t *pid) { pid_t p = *pid; *pid = -1; return p; }

/* Two fds made together (pipe2: fd[0] the read end, fd[1] the write end; socketpair).
 * -1 for an end that is closed or was taken with steal_fd(&p.fd[i]). */
struct fd_pair {
	int fd[2];
};
#define FD_PAIR_INIT { { -1, -1 } }
/* pipe2(p->fd, flags). 0 or -errno (p->fd both -1 then). */
int fd_pair_pipe(struct fd_pair *p, int flags);
/* Closes the ends that are open and sets them to -1. errno is left as it was. */
void fd_pair_close(struct fd_pair *p);
#define _cleanup_fd_pair_ __attribute__((cleanup(fd_pair_close)))
