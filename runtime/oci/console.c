/* SPDX-License-Identifier: MIT */
/* console.c: relaying a container's pty to diyc-oci's own stdio for `run` and `exec` in
 * the foreground without a console socket, as runc does for a user at a shell. Signals
 * (blocked by the caller) arrive through a signalfd: SIGWINCH copies the window size,
 * SIGCHLD reaps, others are forwarded to the process. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "console.h"
#include "container/terminal.h"
#include "lib/fdpass.h"
#include "lib/util.h"

int oci_console_pair(int *ours, int *theirs, struct diyc_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return diyc_error(err, errno, "socketpair");
	*ours = sv[0];
	*theirs = sv[1];
	return 0;
}

/* Copies what is there from one fd to the other; false at its end. */
static bool pump(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	return n > 0 && write_all(to, buf, n) == 0;
}

static bool reaped(pid_t pid, int *status)
{
	int st;
	pid_t got;
	while ((got = waitpid(-1, &st, WNOHANG)) > 0)
		if (got == pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return true;
		}
	return got < 0 && errno == ECHILD;
}

static void on_signal(int sfd, int master, pid_t pid)
{
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH)
		terminal_copy_winsize(0, master);
	else if (si.ssi_signo != SIGCHLD)
		kill(pid, (int)si.ssi_signo);
}

int oci_console_relay(int ours, pid_t pid, int *status, struct diyc_error *err)
{
	char name[64];
	_cleanup_close_ int master = -1;
	int r = recv_fd(ours, &master, name, sizeof(name));
	if (r < 0 || master < 0)
		return diyc_error(err, r < 0 ? -r : EPROTO, "receive the container's terminal");
	sigset_t all;
	sigfillset(&all);
	_cleanup_close_ int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		return diyc_error(err, errno, "signalfd");
	bool tty = isatty(0) && terminal_raw(0) == 0;
	if (isatty(0))
		terminal_copy_winsize(0, master);
	struct pollfd p[3] = { { sfd, POLLIN, 0 }, { master, POLLIN, 0 }, { 0, POLLIN, 0 } };
	*status = 255;
	bool done = false, out_open = true;
	while (!done || out_open) {
		if (poll(p, 3, done ? 100 : -1) <= 0) {
			if (done)
				break;
			continue;
		}
		if (p[0].revents & POLLIN)
			on_signal(sfd, master, pid);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR) && !pump(master, 1))
			out_open = false, p[1].fd = -1;
		if (p[2].revents & (POLLIN | POLLHUP) && !pump(0, master))
			p[2].fd = -1;
		if (!done)
			done = reaped(pid, status);
	}
	if (tty)
		terminal_restore();
	return 0;
}

int oci_wait_forwarding(pid_t pid)
{
	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		int status;
		pid_t got = waitpid(-1, &status, WNOHANG);
		if (got == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (got < 0 && errno == ECHILD)
			return 255;
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig > 0 && sig != SIGCHLD)
			kill(pid, sig);
	}
}
