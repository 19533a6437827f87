/* SPDX-License-Identifier: MIT */
/* nsexec.c: a host command in new namespaces: `diyc nsexec -p -m ps` shows a process
 * tree that starts at PID 1. A normal user gets a user namespace first, which is what
 * allows the others. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include "container.h"
#include "mount.h"
#include "nsexec.h"
#include "util.h"

extern char **environ;

static void __attribute__((noreturn)) nsexec_child(const struct nsexec_opts *o, int syncfd)
{
	struct diyc_error err = { 0 };
	char go;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(syncfd, &go, 1) != 1)
		_exit(DIYC_EXIT_RUNTIME);
	if (o->flags & CLONE_NEWNS) {
		if (mount_make_private(&err) < 0)
			goto fail;
		if ((o->flags & CLONE_NEWPID) && mount_fresh_proc(&err) < 0)
			goto fail;
	}
	if ((o->flags & CLONE_NEWUTS) && o->hostname &&
	    sethostname(o->hostname, strlen(o->hostname)) < 0) {
		diyc_error(&err, errno, "set hostname `%s`", o->hostname);
		goto fail;
	}
	if (o->flags & CLONE_NEWNET) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct ifreq ifr = { 0 };
		strcpy(ifr.ifr_name, "lo");
		if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			ioctl(s, SIOCSIFFLAGS, &ifr);
		}
		if (s >= 0)
			close(s);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	exec_command(o->argv, environ, &err);
fail:
	if (!err.status)
		err.status = DIYC_EXIT_RUNTIME;
	sync_send_error(syncfd, &err);
	_exit(err.status);
}

int nsexec_run(const struct nsexec_opts *o, int *status, struct diyc_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return diyc_error(err, errno, "socketpair");
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; i < n_forwarded_signals; i++)
		sigaddset(&set, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	unsigned long flags = o->flags | (o->userns->enabled ? CLONE_NEWUSER : 0);
	pid_t pid = clone_fork(flags);
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return diyc_error(err, e, "create namespaces");
	}
	if (pid == 0) {
		close(sv[0]);
		nsexec_child(o, sv[1]);
	}
	close(sv[1]);
	_cleanup_close_ int syncfd = sv[0];
	int r = (flags & CLONE_NEWUSER) ? userns_write_maps(o->userns, pid, err) : 0;
	if (r == 0 && write(syncfd, "g", 1) != 1)
		r = diyc_error(err, errno, "start the child");
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	struct supervise_opts so = { .forward_winch = true };
	r = supervise(pid, syncfd, &so, status, err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
