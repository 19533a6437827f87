/* SPDX-License-Identifier: MIT */
/* nsexec.c: a host command in new namespaces: `diyc nsexec -p -m ps` shows a process
 * tree that starts at PID 1. A normal user gets a user namespace first, which is what
 * allows the others. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "container.h"
#include "rootfs/mount.h"
#include "net/iface.h"
#include "nsexec.h"
#include "lib/util.h"

extern char **environ;

static void __attribute__((noreturn)) nsexec_child(const void *arg, int syncfd)
{
	const struct nsexec_opts *o = arg;
	struct diyc_error err = { 0 };
	child_await_release(syncfd);
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
	if ((o->flags & CLONE_NEWNET) && loopback_up(&err) < 0)
		goto fail;
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
	struct supervise_opts so = { .forward_winch = true };
	return spawn_in_namespaces(o->flags, o->userns, -1, nsexec_child, o, &so, status, err);
}
