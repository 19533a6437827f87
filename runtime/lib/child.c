/* SPDX-License-Identifier: MIT */
/* child.c: kill-and-reap of a child process, reaping that retries EINTR, and pairs of
 * fds closed together (child.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "child.h"

pid_t reap(pid_t pid, int *status)
{
	pid_t r;
	while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR)
		;
	return r;
}

void kill_and_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	int e = errno;
	kill(pid, SIGKILL);
	reap(pid, NULL);
	errno = e;
}

int fd_pair_pipe(struct fd_pair *p, int flags)
{
	if (pipe2(p->fd, flags) < 0) {
		p->fd[0] = p->fd[1] = -1;
		return -errno;
	}
	return 0;
}

void fd_pair_close(struct fd_pair *p)
{
	int e = errno;
	for (int i = 0; i < 2; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
	errno = e;
}
