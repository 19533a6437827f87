/* SPDX-License-Identifier: MIT */
/* init.c: the minimal init that is PID 1 of every container by default (as docker's
 * --init). A command running as PID 1 gets no default signal actions and nobody reaps
 * its orphans; this process does both and passes the command's status on. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include "container.h"
#include "init.h"
#include "lib/error.h"

int init_supervise(pid_t cmd)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; i < n_forwarded_signals; i++)
		sigaddset(&set, forwarded_signals[i]);
	/* blocked signals are queued even for a namespace's init, so sigwaitinfo sees
	 * what the parent diyc forwards */
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return DIYC_EXIT_RUNTIME;
		}
		if (sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		int status;
		pid_t p;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != cmd)
				continue;
			diyc_debug("init: command ended");
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			if (WIFSIGNALED(status))
				return 128 + WTERMSIG(status);
		}
	}
}
