/* SPDX-License-Identifier: MIT */
/* exec.c: a new process inside a running container.
 *
 *   diyc exec (S) --fork--> joiner (J) --setns(pidfd of PID 1)--> clone(CLONE_PARENT) --> command (C)
 *
 * J joins every namespace the container's PID 1 has that diyc does not share, user
 * namespace first, in one setns() on a pidfd (all or nothing). Joining a PID namespace
 * only places J's children in it, so J clones C as a sibling (CLONE_PARENT): C is in the
 * container's PID namespace, is S's child, and S supervises it as `run` supervises a
 * container. J is not dumpable and has no PID in the container, so nothing there can
 * see or trace it while it holds diyc's memory: it closes diyc's fds, and does all
 * that needs the container's root (the working directory, the bounding set, seccomp,
 * the user and capabilities: command_confine) before it clones C, which is born with
 * nothing left to give up. C's root is the container's, set by setns.
 * S moves C into the container's cgroup before releasing it: J cannot, once it is in the
 * container's cgroup namespace. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cgroup/cgroup.h"
#include "exec.h"
#include "process.h"
#include "security/security.h"
#include "security/selfexe.h"
#include "terminal.h"
#include "lib/child.h"
#include "lib/util.h"

static const struct {
	int flag;
	const char *name;
} ns_types[] = {
	{ CLONE_NEWUSER, "user" }, { CLONE_NEWNS, "mnt" }, { CLONE_NEWPID, "pid" }, { CLONE_NEWUTS, "uts" },
	{ CLONE_NEWIPC, "ipc" }, { CLONE_NEWNET, "net" }, { CLONE_NEWCGROUP, "cgroup" },
};

/* The namespaces of PID that differ from ours: joining one we are in already is
 * pointless, and for the host's network namespace (--net host) not even allowed. */
static int ns_to_join(pid_t pid, int *flags)
{
	*flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ns_types); i++) {
		char path[64];
		struct stat theirs, ours;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_types[i].name);
		if (stat(path, &theirs) < 0)
			return -errno;
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_types[i].name);
		if (stat(path, &ours) < 0)
			return -errno;
		if (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
			*flags |= ns_types[i].flag;
	}
	return 0;
}

/* setgroups is denied in a user namespace with only the caller's id mapped */
static bool setgroups_allowed(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *s = NULL;
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	if (read_file_at(AT_FDCWD, path, 64, &s, NULL) < 0)
		return true;
	return strncmp(s, "deny", 4) != 0;
}

struct exec_ctx {
	const struct container_config *cfg;
	struct stdio_relay *stdio; /* without -t: pipes for the caller's terminal, or all as root (container/container.h) */
	const struct container_security *sec;
	const struct exec_opts *o;
	int pidfd, nsflags;
	bool set_groups;
};

/* What J prepares for C: the plan, and the working directory it opened. */
struct exec_prep {
	struct process_user user;
	struct command_plan plan;
	int wd;
};

/* C: born with nothing left to give up (see J), waits to be released, then its stdin or
 * terminal, and the command. */
static void __attribute__((noreturn)) exec_command_child(const struct exec_ctx *x, struct exec_prep *prep,
							 int syncfd)
{
	struct diyc_error err = { 0 };
	child_await_release(syncfd);
	if (!x->o->interactive && !x->o->tty)
		stdin_from_null();
	if (x->o->tty && pty_to_parent(syncfd, &prep->plan.slave, &err) < 0) {
		sync_send_error(syncfd, &err);
		_exit(DIYC_EXIT_RUNTIME);
	}
	command_start(&prep->plan, prep->wd, syncfd);
}

/* J, after joining: the command's user and environment, then everything that needs the
 * container's root (command_confine), here where no process of the container can see or
 * trace it, so that C is born confined. /proc/self is J's in the host's proc only (J has
 * no PID in the container's PID namespace): hostproc. */
static int exec_prepare(const struct exec_ctx *x, int hostproc, struct exec_prep *prep, struct diyc_error *err)
{
	int r = user_resolve_here(x->o->user ? x->o->user : x->cfg->user, &prep->user, err);
	if (r < 0)
		return r;
	char **given = strv_concat(x->cfg->env, x->o->env);
	char **envp = given ? env_build(given, x->cfg->hostname, prep->user.home, x->o->tty) : NULL;
	if (!envp)
		return diyc_error(err, ENOMEM, "environment");
	prep->plan = (struct command_plan){
		.argv = x->o->argv, .envp = envp, .user = &prep->user, .set_groups = x->set_groups,
		.workdir = x->o->workdir ? x->o->workdir : x->cfg->workdir, .slave = -1, .new_session = true,
		.security = x->sec, .gate = -1, .exe_detached = true,
	};
	if ((r = selfexe_detach(-1, hostproc, err)) < 0)
		return r;
	return command_confine(&prep->plan, &prep->wd, err);
}

/* J: joins, confines itself, clones C beside itself, tells S who C is, and leaves. */
static void __attribute__((noreturn)) exec_joiner(const struct exec_ctx *x, int syncfd)
{
	struct diyc_error err = { 0 };
	prctl(PR_SET_DUMPABLE, 0);
	stdio_relay_child(x->stdio);
	int hostproc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hostproc < 0) {
		diyc_error(&err, errno, "open /proc");
		goto fail;
	}
	if (setns(x->pidfd, x->nsflags) < 0) {
		diyc_error(&err, errno, "join the namespaces of the container");
		goto fail;
	}
	/* only stdio, the sync socket and the host's /proc for the moment: C inherits what J has */
	int keep[] = { syncfd, hostproc };
	close_fds_except(keep, ARRAY_SIZE(keep));
	/* nor the caller's terminal: C is born in a session of its own, and with -t (whose pty
	 * comes later) with the container's /dev/null as stdio. A root container's process
	 * with CAP_SYS_PTRACE could otherwise take the terminal through C before it runs the
	 * command (/proc/C/fd/0: chmod it, read it, TIOCSTI into the caller's shell) */
	setsid();
	if (x->o->tty) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
			diyc_error(&err, errno, "open /dev/null in the container");
			goto fail;
		}
		close(null);
	}
	struct exec_prep prep = { .wd = -1 };
	int r = exec_prepare(x, hostproc, &prep, &err);
	close(hostproc);
	if (r < 0)
		goto fail;
	pid_t pid = clone_fork(CLONE_PARENT);
	if (pid < 0) {
		diyc_error(&err, errno, "start a process in the container");
		goto fail;
	}
	if (pid == 0)
		exec_command_child(x, &prep, syncfd);
	struct sync_msg m = { .type = SYNC_PID, .status = pid };
	_exit(send(syncfd, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m) ? 0 : DIYC_EXIT_RUNTIME);
fail:
	if (!err.status)
		err.status = DIYC_EXIT_RUNTIME;
	sync_send_error(syncfd, &err);
	_exit(DIYC_EXIT_RUNTIME);
}

/* Puts the command the joiner started under the container's limits, lets it run and
 * supervises it; on an error before it runs, it is killed and reaped. */
static int run_command(const struct container *c, pid_t pid, int syncfd, const struct exec_opts *o,
		       struct stdio_relay *stdio, int *status, struct diyc_error *err)
{
	_cleanup_child_ pid_t cmd = pid;
	int r;
	/* under the container's limits, before it runs anything: in the cgroup of its PID 1,
	 * which is below the recorded one if the container made cgroups of its own */
	if (c->st.cgroup[0] &&
	    (r = cgroup_attach(c->st.cgroup, c->st.pid, c->st.cgroup_scope, geteuid() == 0, cmd, err)) < 0)
		return r;
	if (write(syncfd, "g", 1) != 1)
		return diyc_error(err, errno, "release the process in the container");
	struct supervise_opts so = { .tty = o->tty, .interactive = o->interactive, .forward_winch = !o->tty,
				     .stdio = stdio };
	return supervise(disarm_child(&cmd), syncfd, &so, status, err);
}

int container_exec(const struct container *c, const struct exec_opts *o, int *status, struct diyc_error *err)
{
	if (c->st.status != STATUS_RUNNING || c->st.pid <= 0)
		return diyc_error_hint(err, diyc_error_plain(err, ESRCH, "container `%s` is not running", c->d.name),
				       DIYC_HINT_NOT_RUNNING, c->d.name);
	struct container_security sec;
	__attribute__((cleanup(seccomp_prog_free))) struct seccomp_prog prog;
	int r = security_prepare(&c->cfg.security, o->data_dir, &sec, &prog, err);
	if (r < 0)
		return r;
	struct exec_ctx x = { .cfg = &c->cfg, .sec = &sec, .o = o, .set_groups = setgroups_allowed(c->st.pid) };
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, c->st.pid, 0);
	if (pidfd < 0 || proc_start_time(c->st.pid, NULL) != c->st.pid_start)
		return diyc_error_plain(err, ESRCH, "container `%s` is not running", c->d.name);
	x.pidfd = pidfd;
	r = ns_to_join(c->st.pid, &x.nsflags);
	if (r < 0)
		return diyc_error(err, -r, "read the namespaces of container `%s`", c->d.name);

	/* fd[0] is ours (the sync socket), fd[1] the joiner's */
	_cleanup_fd_pair_ struct fd_pair sv = FD_PAIR_INIT;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.fd) < 0)
		return diyc_error(err, errno, "socketpair");
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; i < n_forwarded_signals; i++)
		sigaddset(&set, forwarded_signals[i]);
	/* without -t: pipes for what is a terminal, and as root into a root container for every
	 * stream (see container/container.h) */
	struct stdio_relay io = STDIO_RELAY_NONE;
	if (!o->tty) {
		bool all = geteuid() == 0 && !(x.nsflags & CLONE_NEWUSER);
		if ((r = stdio_relay_open(&io, o->interactive, all, err)) < 0)
			return r;
		x.stdio = stdio_relay_active(&io) ? &io : NULL;
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t joiner = fork();
	if (joiner < 0) {
		r = diyc_error(err, errno, "fork");
		close(steal_fd(&sv.fd[1]));
		goto out;
	}
	if (joiner == 0) {
		close(steal_fd(&sv.fd[0]));
		exec_joiner(&x, sv.fd[1]);
	}
	close(steal_fd(&sv.fd[1]));
	stdio_relay_parent(&io);
	struct sync_msg m;
	ssize_t n = recv(sv.fd[0], &m, sizeof(m), 0);
	reap(joiner, NULL);
	if (n != (ssize_t)sizeof(m)) {
		r = diyc_error_plain(err, EIO, "could not start a process in container `%s`", c->d.name);
		goto out;
	}
	if (m.type == SYNC_ERROR) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		snprintf(err->msg, sizeof(err->msg), "%s", m.msg);
		err->errnum = m.errnum;
		r = -(m.errnum ? m.errnum : EIO);
		goto out;
	}
	r = run_command(c, m.status, sv.fd[0], o, x.stdio, status, err);
out:
	stdio_relay_close(&io);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
