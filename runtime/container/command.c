/* SPDX-License-Identifier: MIT */
/* command.c: the container's command process: who it runs as (the image's own passwd and
 * group, read in the container), what it gives up before it runs (confinement), and
 * executing it, after the gate that diyc's init opens once it has confined itself. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include "security/confine.h"
#include "container.h"
#include "init.h"
#include "rootfs/mount.h"
#include "net/iface.h"
#include "net/bridge.h"
#include "process.h"
#include "security/selfexe.h"
#include "terminal.h"
#include "lib/fdpass.h"
#include "lib/util.h"

/* Executes argv[0] looked up in the PATH of envp (not diyc's own PATH). */
int exec_command(char **argv, char **envp, struct diyc_error *err)
{
	const char *cmd = argv[0];
	err->status = DIYC_EXIT_NOT_FOUND;
	if (!cmd || !*cmd)
		return diyc_error_plain(err, ENOENT, "no command given and the image has none");
	if (strchr(cmd, '/')) {
		execve(cmd, argv, envp);
		int e = errno;
		err->status = (e == ENOENT || e == ENOTDIR) ? DIYC_EXIT_NOT_FOUND : DIYC_EXIT_CANNOT_EXEC;
		return diyc_error(err, e, "exec `%s`", cmd);
	}
	const char *path = env_get(envp, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	int saw_eacces = 0, last = ENOENT;
	char buf[4096];
	for (const char *p = path;;) {
		const char *end = strchrnul(p, ':');
		int len = end - p;
		if (len == 0)
			snprintf(buf, sizeof(buf), "%s", cmd);
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", len, p, cmd);
		execve(buf, argv, envp);
		if (errno == EACCES)
			saw_eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			last = errno;
		if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) {
			/* found but not executable in another way (ENOEXEC, ...): stop here */
			err->status = DIYC_EXIT_CANNOT_EXEC;
			return diyc_error(err, last, "exec `%s`", buf);
		}
		if (!*end)
			break;
		p = end + 1;
	}
	if (saw_eacces) {
		err->status = DIYC_EXIT_CANNOT_EXEC;
		return diyc_error(err, EACCES, "exec `%s`", cmd);
	}
	err->status = DIYC_EXIT_NOT_FOUND;
	return diyc_error_plain(err, ENOENT, "exec `%s`: executable file not found in $PATH", cmd);
}

static void unblock_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

int command_confine(const struct command_plan *p, int *wd, struct diyc_error *err)
{
	const struct container_security *sec = p->security;
	/* no fd of diyc's or of the caller's reaches the command, except stdio and the sync
	 * socket, which closes on exec: marked now, before a filter that might not allow it */
	if (fds_set_cloexec(3) < 0)
		return diyc_error(err, errno, "mark the inherited file descriptors close-on-exec");
	int r;
	if (!p->exe_detached && (r = selfexe_detach(-1, -1, err)) < 0)
		return r;
	/* resolved as root, inside the root; entered as the user */
	*wd = workdir_open(p->workdir, err);
	if (*wd < 0)
		return *wd;
	if ((r = caps_bound(sec->caps, err)) < 0)
		return r;
	if (sec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return diyc_error(err, errno, "set no_new_privs");
	/* without no_new_privs loading a filter takes CAP_SYS_ADMIN, which the user change
	 * drops: loaded now, it must allow what follows (docker's profiles all do) */
	if (sec->seccomp && !sec->no_new_privs && (r = seccomp_install(sec->seccomp, err)) < 0)
		return r;
	if ((r = process_become(p->user, p->set_groups, err)) < 0)
		return r;
	return caps_apply(sec->caps, p->user->uid == 0, err);
}

void __attribute__((noreturn)) command_start(const struct command_plan *p, int wd, int syncfd)
{
	struct diyc_error err = { 0 };
	const struct container_security *sec = p->security;
	/* dropping privileges reset it; this process still holds diyc's memory */
	prctl(PR_SET_DUMPABLE, 0);
	if (p->new_session)
		setsid();
	if (p->slave >= 0 && terminal_make_controlling(p->slave, &err) < 0)
		goto fail;
	/* changing credentials cleared the parent-death signal: without it a command that
	 * is PID 1 itself (--no-init) would outlive a killed monitor. Armed again, then the
	 * monitor's end of the sync socket tells whether it died in between. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct pollfd peer = { syncfd, POLLRDHUP, 0 };
	if (poll(&peer, 1, 0) > 0 && (peer.revents & (POLLHUP | POLLRDHUP)))
		_exit(DIYC_EXIT_RUNTIME);
	if (fchdir(wd) < 0) {
		diyc_error(&err, errno, "change to working directory `%s`", p->workdir ? p->workdir : "/");
		goto fail;
	}
	close(wd);
	unblock_signals();
	if (sec->seccomp && sec->no_new_privs && seccomp_install(sec->seccomp, &err) < 0)
		goto fail;
	/* nothing of the container's runs before init has given up its privileges */
	if (p->gate >= 0) {
		char c;
		while (read(p->gate, &c, 1) < 0 && errno == EINTR)
			;
	}
	exec_command(p->argv, p->envp, &err);
fail:
	if (!err.status)
		err.status = DIYC_EXIT_RUNTIME;
	sync_send_error(syncfd, &err);
	_exit(err.status);
}

void __attribute__((noreturn)) command_exec(const struct command_plan *p, int syncfd)
{
	struct diyc_error err = { 0 };
	int wd = -1;
	if (command_confine(p, &wd, &err) == 0)
		command_start(p, wd, syncfd);
	if (!err.status)
		err.status = DIYC_EXIT_RUNTIME;
	sync_send_error(syncfd, &err);
	_exit(err.status);
}

/* The image's /etc/passwd or /etc/group, read by a privileged process: only a regular
 * file of the image's (a link to /proc/kmsg or a FIFO would be read or waited on with
 * root's power), else as if missing. */
static int read_small(const char *path, char **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	struct statfs sf;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fstatfs(fd, &sf) < 0 ||
	    sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC)
		return 0;
	return read_fd_all(fd, 1 << 20, out, NULL);
}

int user_resolve_here(const char *user, struct process_user *u, struct diyc_error *err)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	if (user) {
		read_small("/etc/passwd", &passwd);
		read_small("/etc/group", &group);
	}
	return user_resolve(user ? user : "0", passwd, group, u, err);
}
