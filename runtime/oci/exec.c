/* SPDX-License-Identifier: MIT */
/* exec.c: a process in a running OCI container (`exec`). A first child detaches from the
 * diyc binary while the host is still in reach (a container's root must never find it
 * through /proc/PID/exe), enters the container's cgroup and, through a pidfd of its init,
 * all of its namespaces at once; it forks the process, which is then in the container's
 * PID namespace, reports its pid and exits. The process takes its identity, filter and
 * terminal as init did, and executes; the sync socket closing on exec says it runs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "oci.h"
#include <limits.h>
#include "console.h"
#include "process.h"
#include "sync.h"
#include "container/terminal.h"
#include "security/selfexe.h"
#include "lib/child.h"
#include "lib/fdpass.h"
#include "lib/util.h"

struct exec_ctx {
	const struct oci_exec_opts *o;
	const struct oci_process *p;
	struct oci_state st;
	struct seccomp_prog seccomp;
	int pidfd;               /* the container's init */
	int console;             /* connected console socket, or -1 */
	unsigned long ns_flags;  /* the namespaces to enter */
};

static void __attribute__((noreturn)) exec_fail(int syncfd, struct diyc_error *err)
{
	sync_send_error(syncfd, err);
	_exit(err->status ? err->status : DIYC_EXIT_RUNTIME);
}

/* The namespaces of init that differ from ours (entering our own user namespace again is
 * refused by the kernel). */
static unsigned long differing_namespaces(pid_t pid)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} kinds[] = {
		{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID }, { "net", CLONE_NEWNET },
		{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "cgroup", CLONE_NEWCGROUP },
	};
	unsigned long flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		char theirs[64], ours[64];
		struct stat a, b;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", pid, kinds[i].name);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", kinds[i].name);
		if (stat(theirs, &a) == 0 && stat(ours, &b) == 0 && (a.st_ino != b.st_ino || a.st_dev != b.st_dev))
			flags |= kinds[i].flag;
	}
	return flags;
}

static void __attribute__((noreturn)) exec_process(const struct exec_ctx *c, int syncfd)
{
	struct diyc_error err = { 0 };
	const struct oci_process *p = c->p;
	char exe[4096];
	int slave = -1;
	if (oci_process_limits(p, &err) < 0)
		exec_fail(syncfd, &err);
	setsid();
	if (p->terminal) {
		int master;
		if (terminal_open_pty(&master, &slave, &err) < 0)
			exec_fail(syncfd, &err);
		if (p->console_height || p->console_width) {
			struct winsize ws = { .ws_row = p->console_height, .ws_col = p->console_width };
			ioctl(slave, TIOCSWINSZ, &ws);
		}
		int r = send_fd(c->console, master, "/dev/console", 12);
		close(master);
		if (r < 0) {
			diyc_error(&err, -r, "send the terminal over the console socket");
			exec_fail(syncfd, &err);
		}
		if (terminal_make_controlling(slave, &err) < 0)
			exec_fail(syncfd, &err);
	}
	if (c->console >= 0)
		close(c->console);
	fds_set_cloexec(3 + c->o->preserve_fds);
	if (oci_process_find(p, exe, sizeof(exe), &err) < 0 || oci_process_apparmor(p, &err) < 0)
		exec_fail(syncfd, &err);
	if (!p->no_new_privileges && oci_process_seccomp(p, c->seccomp.len ? &c->seccomp : NULL, &err) < 0)
		exec_fail(syncfd, &err);
	if (oci_process_become(p, true, &err) < 0)
		exec_fail(syncfd, &err);
	if (p->no_new_privileges && oci_process_seccomp(p, c->seccomp.len ? &c->seccomp : NULL, &err) < 0)
		exec_fail(syncfd, &err);
	oci_process_exec(p, exe, &err);
	exec_fail(syncfd, &err);
}

/* The first child: out of the binary's reach, into the container, then the process. */
static void __attribute__((noreturn)) exec_joiner(const struct exec_ctx *c, int syncfd)
{
	struct diyc_error err = { 0 };
	char go;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(syncfd, &go, 1) != 1)
		_exit(DIYC_EXIT_RUNTIME);
	int exe = selfexe_open_private();
	int r = selfexe_detach(exe, -1, &err);
	if (exe >= 0)
		close(exe);
	if (r < 0)
		exec_fail(syncfd, &err);
	if (c->ns_flags && setns(c->pidfd, (int)c->ns_flags) < 0) {
		diyc_error(&err, errno, "enter the container's namespaces");
		exec_fail(syncfd, &err);
	}
	pid_t pid = fork();
	if (pid < 0) {
		diyc_error(&err, errno, "fork the process");
		exec_fail(syncfd, &err);
	}
	if (pid == 0)
		exec_process(c, syncfd);
	uint32_t msg[2] = { OCI_SYNC_PIDFD, (uint32_t)pid };
	_exit(send(syncfd, msg, sizeof(msg), MSG_NOSIGNAL) == sizeof(msg) ? 0 : DIYC_EXIT_RUNTIME);
}

/* Reads the joiner's report (the pid) and then waits for the exec (EOF) or an error. */
static int await_exec(int syncfd, pid_t *pid, struct diyc_error *err)
{
	*pid = 0;
	for (;;) {
		struct sync_msg m;
		ssize_t n = recv(syncfd, &m, sizeof(m), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return diyc_error(err, errno, "read from the process");
		if (n == 0)
			return *pid > 0 ? 0 : diyc_error_plain(err, EPIPE, "the process could not be started");
		if (m.type == OCI_SYNC_ERROR) {
			diyc_error_plain(err, m.errnum, "%s", m.msg);
			err->status = m.status;
			return -(m.errnum ? m.errnum : EINVAL);
		}
		if (m.type == OCI_SYNC_PIDFD && n >= 8)
			*pid = (pid_t)((uint32_t *)&m)[1];
	}
}

static int exec_prepare(struct exec_ctx *c, int dirfd, struct diyc_error *err)
{
	enum oci_status status = oci_state_status(dirfd, &c->st);
	if (status != OCI_RUNNING && status != OCI_CREATED)
		return diyc_error_plain(err, EINVAL, "cannot exec in container %s: it is %s", c->o->id,
					status == OCI_STOPPED ? "not running" : oci_status_names[status]);
	c->pidfd = (int)syscall(SYS_pidfd_open, c->st.pid, 0);
	if (c->pidfd < 0 || !oci_pid_alive(c->st.pid, c->st.pid_start))
		return diyc_error_plain(err, ESRCH, "container not running");
	if (c->p->terminal && !c->o->console_socket && c->o->detach)
		return diyc_error_plain(err, EINVAL, "process.terminal is true, but no --console-socket was given "
					"to pass the terminal of a detached process");
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct oci_spec spec;
	if (read_file_at(dirfd, OCI_CONFIG_COPY, 4 << 20, &text, &len) == 0 &&
	    oci_spec_parse(text, c->st.bundle, &spec, err) == 0) {
		int r = spec.seccomp_json ? seccomp_prepare(spec.seccomp_json, c->p->bounding, NULL, &c->seccomp, err) : 0;
		oci_spec_free(&spec);
		if (r < 0)
			return r;
	}
	c->ns_flags = differing_namespaces(c->st.pid);
	return 0;
}

static int exec_spawn(struct exec_ctx *c, pid_t *pid, struct diyc_error *err)
{
	_cleanup_fd_pair_ struct fd_pair sv = FD_PAIR_INIT;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.fd) < 0)
		return diyc_error(err, errno, "socketpair");
	_cleanup_child_ pid_t joiner = fork();
	if (joiner < 0)
		return diyc_error(err, errno, "fork");
	if (joiner == 0) {
		close(sv.fd[0]);
		exec_joiner(c, sv.fd[1]);
	}
	close(steal_fd(&sv.fd[1]));
	if (c->st.cgroup[0]) {
		char procs[PATH_MAX + 64], num[16];
		snprintf(procs, sizeof(procs), "/sys/fs/cgroup/%s/cgroup.procs", c->st.cgroup);
		int n = snprintf(num, sizeof(num), "%d", joiner);
		_cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, num, n) != n)
			return diyc_error(err, errno, "enter the container's cgroup %s", c->st.cgroup);
	}
	if (write(sv.fd[0], "g", 1) != 1)
		return diyc_error(err, errno, "start the process");
	int r = await_exec(sv.fd[0], pid, err);
	reap(disarm_child(&joiner), NULL);
	return r;
}

int oci_exec(const struct oci_exec_opts *o, pid_t *pid, int *status, struct diyc_error *err)
{
	struct exec_ctx c = { .o = o, .pidfd = -1, .console = -1 };
	struct oci_process from_file;
	_cleanup_close_ int dirfd = -1;
	int r = oci_state_open(o->root, o->id, 0, &dirfd, err);
	if (r == 0)
		r = oci_state_read(dirfd, o->id, &c.st, err);
	if (r < 0)
		return r;
	c.p = &o->process;
	if (o->process_json) {
		if ((r = oci_process_parse_text(o->process_json, &from_file, err)) < 0) {
			oci_state_free(&c.st);
			return diyc_error_wrap(err, "--process");
		}
		c.p = &from_file;
	}
	if (!o->detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	r = exec_prepare(&c, dirfd, err);
	/* a terminal without a console socket: ours, relayed to our stdio */
	_cleanup_close_ int relay = -1;
	if (r == 0 && c.p->terminal)
		r = o->console_socket ? (c.console = oci_console_connect(o->console_socket, err))
				      : oci_console_pair(&relay, &c.console, err);
	if (r > 0)
		r = 0;
	if (r == 0)
		r = exec_spawn(&c, pid, err);
	if (c.console >= 0)
		close(c.console);
	if (c.pidfd >= 0)
		close(c.pidfd);
	seccomp_prog_free(&c.seccomp);
	oci_state_free(&c.st);
	if (o->process_json)
		oci_process_free(&from_file);
	if (r == 0 && relay >= 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		return oci_console_relay(relay, *pid, status, err);
	}
	if (r == 0 && !o->detach)
		*status = oci_wait_forwarding(*pid);
	return r;
}
