/* SPDX-License-Identifier: MIT */
/* hooks.c: one hook is a child process that gets the state JSON on stdin, an environment
 * of its own only, and a deadline; what it prints is kept (the first 2 KiB) for the error
 * that names it, as engines show that error to the user. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hooks.h"
#include "lib/child.h"
#include "lib/util.h"

static void __attribute__((noreturn)) hook_child(const struct oci_hook *h, int in, int out)
{
	static char *const empty[] = { NULL };
	char *const argv_path[] = { h->path, NULL };
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	close_fds_except(NULL, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(h->path, h->args && h->args[0] ? h->args : argv_path, h->env ? h->env : empty);
	dprintf(1, "exec %s: %s", h->path, strerror(errno));
	_exit(127);
}

/* Reads what the hook prints until it closes its end or the deadline passes; -ETIME then. */
static int collect(int fd, int64_t deadline, char *buf, size_t size, size_t *len)
{
	for (;;) {
		int wait_ms = -1;
		if (deadline) {
			int64_t left = deadline - monotonic_ns();
			if (left <= 0)
				return -ETIME;
			wait_ms = (int)(left / 1000000) + 1;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		int n = poll(&p, 1, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			continue;
		char tmp[1024];
		ssize_t got = read(fd, tmp, sizeof(tmp));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		size_t keep = (size_t)got < size - 1 - *len ? (size_t)got : size - 1 - *len;
		memcpy(buf + *len, tmp, keep);
		*len += keep;
		buf[*len] = '\0';
	}
}

static int run_one(const struct oci_hook *h, const char *name, size_t i, const char *state_json,
		   struct diyc_error *err)
{
	_cleanup_fd_pair_ struct fd_pair in = FD_PAIR_INIT, out = FD_PAIR_INIT;
	if (fd_pair_pipe(&in, O_CLOEXEC) < 0 || fd_pair_pipe(&out, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	_cleanup_child_ pid_t pid = fork();
	if (pid < 0)
		return diyc_error(err, errno, "fork the %s hook", name);
	if (pid == 0)
		hook_child(h, in.fd[0], out.fd[1]);
	close(steal_fd(&in.fd[0]));
	close(steal_fd(&out.fd[1]));
	/* a hook that does not read its stdin gets EPIPE, not us a SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	write_all(in.fd[1], state_json, strlen(state_json));
	close(steal_fd(&in.fd[1]));
	char output[2048] = "";
	size_t len = 0;
	int64_t deadline = h->timeout ? monotonic_ns() + (int64_t)h->timeout * 1000000000 : 0;
	if (collect(out.fd[0], deadline, output, sizeof(output), &len) == -ETIME)
		return diyc_error_plain(err, ETIME, "the %s hook #%zu (%s) did not finish within its timeout of %d s",
					name, i, h->path, h->timeout);
	int status;
	if (reap(disarm_child(&pid), &status) < 0)
		return diyc_error(err, errno, "wait for the %s hook", name);
	while (len && (output[len - 1] == '\n' || output[len - 1] == ' '))
		output[--len] = '\0';
	if (WIFSIGNALED(status))
		return diyc_error_plain(err, EIO, "the %s hook #%zu (%s) was killed by signal %d%s%s", name, i,
					h->path, WTERMSIG(status), len ? ": " : "", output);
	if (WEXITSTATUS(status) != 0)
		return diyc_error_plain(err, EIO, "the %s hook #%zu (%s) failed with exit status %d%s%s", name, i,
					h->path, WEXITSTATUS(status), len ? ": " : "", output);
	return 0;
}

int oci_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
		  struct diyc_error *err)
{
	for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
		int r = run_one(&spec->hooks[kind][i], oci_hook_names[kind], i, state_json, err);
		if (r < 0)
			return r;
	}
	return 0;
}

void oci_hooks_run_warn(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json)
{
	for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
		struct diyc_error err = { 0 };
		if (run_one(&spec->hooks[kind][i], oci_hook_names[kind], i, state_json, &err) < 0)
			diyc_warn("%s", err.msg);
	}
}
