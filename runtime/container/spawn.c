/* SPDX-License-Identifier: MIT */
/* spawn.c: the process roles of a running container and how they synchronize.
 *
 *   parent (diyc)  --clone(NEW*)-->  child = container PID 1 (init)  --fork-->  command
 *
 * The parent writes the id maps (newuidmap/newgidmap), then releases the child over
 * the sync socket. The child builds the root filesystem, pivots into it and either
 * becomes the minimal init (forking the command) or execs the command itself. Any
 * error on the container side travels back over the sync socket as one message; the
 * socket is close-on-exec, so EOF tells the parent the command was executed. */
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

const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
const int n_forwarded_signals = ARRAY_SIZE(forwarded_signals);

void sync_send_error(int syncfd, const struct diyc_error *err)
{
	struct sync_msg m = { .type = SYNC_ERROR, .errnum = err->errnum,
			      .status = err->status ? err->status : DIYC_EXIT_RUNTIME };
	snprintf(m.msg, sizeof(m.msg), "%s", err->msg);
	ssize_t n = send(syncfd, &m, sizeof(m), MSG_NOSIGNAL);
	(void)n;
}

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

int pty_to_parent(int syncfd, int *slave, struct diyc_error *err)
{
	int master;
	int r = terminal_open_pty(&master, slave, err);
	if (r < 0)
		return r;
	r = send_fd(syncfd, master, &(uint32_t){ SYNC_PTY }, sizeof(uint32_t));
	close(master);
	if (r < 0) {
		close(*slave);
		*slave = -1;
		return diyc_error(err, -r, "pass the terminal to diyc");
	}
	return 0;
}

void child_await_release(int syncfd)
{
	/* it dies with the diyc that supervises it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	char go;
	if (read(syncfd, &go, 1) != 1)
		_exit(DIYC_EXIT_RUNTIME);
}

void stdin_from_null(void)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
}

/* What diyc's init keeps once the command runs: it only waits and forwards signals, and
 * any process of the container's root may reach it (/proc/1/mem, ptrace: same uid), so it
 * must have nothing that root lacks. Its stdio (the caller's terminal with -t, which
 * only the pty may reach) becomes /dev/null; it keeps CAP_KILL, for a command that runs
 * as another user, and nothing else; it runs under a seccomp filter that allows only
 * what it does (security/confine.c). As
 * root (no user namespace) it is also not dumpable: the host's root still reaches it
 * (diyc exec joins its namespaces), the container's root not even with CAP_KILL alone.
 * A rootless init must stay dumpable: the user's diyc on the host has no CAP_SYS_PTRACE
 * in the host's namespace, which the kernel would then ask for to open /proc/PID/ns. */
static int init_confine(const struct container_security *sec, bool host_userns)
{
	struct diyc_error err = { 0 };
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		return -1;
	close(null);
	if (host_userns && prctl(PR_SET_DUMPABLE, 0) < 0)
		return -1;
	const cap_mask kill_only = CAP_BIT(CAP_KILL);
	if (caps_bound(kill_only, &err) < 0 || caps_apply(kill_only, true, &err) < 0)
		return -1;
	/* its own filter, last (no_new_privs: init executes nothing): only what it does from
	 * here on, less than any container's filter allows, and installed in microseconds */
	if (!sec->privileged && confine_init(&err) < 0)
		return -1;
	return 0;
}

/* The child's first steps once released: a session of its own, none of the caller's fds
 * but stdio and the sync socket, and detached from the diyc binary while the host's tree is
 * still in reach (see security/selfexe.c); the command and init inherit that. */
static int child_detach(int syncfd, struct diyc_error *err)
{
	setsid();
	if (syncfd > 3)
		syscall(SYS_close_range, 3, syncfd - 1, 0);
	syscall(SYS_close_range, syncfd + 1, ~0U, 0);
	int exe = selfexe_open_private();
	int r = selfexe_detach(exe, -1, err);
	if (exe >= 0)
		close(exe);
	if (r < 0)
		return r;
	diyc_debug(selfexe_sealed() ? "running from a sealed copy of diyc (the kernel has no PR_SET_MM_MAP)"
				    : "detached from the diyc binary");
	return 0;
}

/* The container's root filesystem (rootfs/mount.c), built from what its spec says. */
static int child_rootfs(const struct container_spec *spec, struct diyc_error *err)
{
	const struct rootfs_spec rootfs = {
		.lowerdirs = spec->lowerdirs, .upperdir = spec->upperdir, .workdir = spec->workdir,
		.volatile_upper = spec->volatile_upper, .rootfs = spec->rootfs, .hostfiles = spec->hostfiles,
		.userns = spec->userns, .mounts = spec->mounts, .n_mounts = spec->n_mounts,
		.own_cgroup = spec->own_cgroup, .cgroup_delegated = spec->cgroup_delegated,
		.read_only = spec->security->read_only, .privileged = spec->security->privileged,
	};
	return rootfs_setup(&rootfs, err);
}

/* The user the command runs as must be mapped in the container's user namespace. */
static int user_mapped(const struct userns_plan *userns, const struct process_user *u, struct diyc_error *err)
{
	if (!userns->enabled)
		return 0;
	uint32_t top_uid = idmap_size(&userns->uids), top_gid = idmap_size(&userns->gids);
	if (u->uid >= top_uid || u->gid >= top_gid)
		return diyc_error_plain(err, EINVAL,
			"user %u:%u is not mapped in the container: it maps uids 0-%u and gids 0-%u "
			"(see /etc/subuid and /etc/subgid)", u->uid, u->gid, top_uid - 1, top_gid - 1);
	return 0;
}

/* The container's PID 1. Never returns. */
static void __attribute__((noreturn))
container_child(const struct container_spec *spec, int syncfd)
{
	struct diyc_error err = { 0 };
	int slave = -1;

	child_await_release(syncfd);
	diyc_debug("child released");
	if (child_detach(syncfd, &err) < 0)
		goto fail;
	if (spec->net != NET_HOST && loopback_up(&err) < 0)
		goto fail;
	if (spec->net == NET_SLIRP) {
		int tap;
		if (slirp_tap_setup(&spec->slirp, &tap, &err) < 0)
			goto fail;
		int r = send_fd(syncfd, tap, &(uint32_t){ SYNC_TAP }, sizeof(uint32_t));
		close(tap);
		if (r < 0) {
			diyc_error(&err, -r, "pass the tap device to diyc");
			goto fail;
		}
	}
	if (sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
		diyc_error(&err, errno, "set hostname `%s`", spec->hostname);
		goto fail;
	}
	if (child_rootfs(spec, &err) < 0)
		goto fail;
	/* the container's own null device, not the host's (which root could chmod) */
	if (!spec->interactive && !spec->tty)
		stdin_from_null();
	if (spec->net == NET_BRIDGE) {
		/* the parent made our veth meanwhile: its address comes over the sync socket */
		struct lease_grant g;
		if (recv(syncfd, &g, sizeof(g), 0) != (ssize_t)sizeof(g))
			_exit(DIYC_EXIT_RUNTIME); /* the parent failed, and says why */
		if (bridge_configure_peer(&g, &err) < 0)
			goto fail;
	}
	if (spec->tty && pty_to_parent(syncfd, &slave, &err) < 0)
		goto fail;
	struct process_user u;
	if (user_resolve_here(spec->user, &u, &err) < 0 || user_mapped(spec->userns, &u, &err) < 0)
		goto fail;
	char **envp = env_build(spec->env, spec->hostname, u.home, spec->tty);
	if (!envp) {
		diyc_error(&err, ENOMEM, "environment");
		goto fail;
	}
	diyc_debug("command prepared");
	struct command_plan plan = {
		.argv = spec->argv, .envp = envp, .user = &u,
		.set_groups = spec->userns->enabled ? !spec->userns->single : true,
		.workdir = spec->workdir_in, .slave = slave, .new_session = spec->init, .exe_detached = true,
		.security = spec->security, .gate = -1,
	};
	if (!spec->init)
		command_exec(&plan, syncfd);

	/* the command executes once init has given up its privileges (init_confine): under
	 * sudo with CAP_SYS_PTRACE it could otherwise trace an init that still has them */
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) < 0) {
		diyc_error(&err, errno, "pipe");
		goto fail;
	}
	pid_t cmd = fork();
	if (cmd < 0) {
		diyc_error(&err, errno, "fork the container command");
		goto fail;
	}
	if (cmd == 0) {
		close(gate[1]);
		plan.gate = gate[0];
		command_exec(&plan, syncfd);
	}
	close(gate[0]);
	close(syncfd);
	if (slave >= 0)
		close(slave);
	prctl(PR_SET_NAME, "diyc-init");
	proc_title_set("diyc-init");
	proc_env_clear();
	/* what start-up allocated and freed (compiling a seccomp profile takes ~1 MB) goes back:
	 * once the monitor trims its own, init would be the only one holding those pages */
	malloc_trim(0);
	unmap_code_pages();
	if (init_confine(spec->security, !spec->userns->enabled) < 0) {
		kill(cmd, SIGKILL);
		_exit(DIYC_EXIT_RUNTIME);
	}
	close(gate[1]);
	_exit(init_supervise(cmd));
fail:
	sync_send_error(syncfd, &err);
	_exit(DIYC_EXIT_RUNTIME);
}

static int block_signals(sigset_t *set, sigset_t *old)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (int i = 0; i < n_forwarded_signals; i++)
		sigaddset(set, forwarded_signals[i]);
	return sigprocmask(SIG_BLOCK, set, old);
}

static int exit_status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return DIYC_EXIT_RUNTIME;
}

static void handle_sync(int syncfd, int *master, int *tap, bool *have_error, struct diyc_error *err, bool *eof)
{
	struct sync_msg m;
	int fd = -1;
	int n = recv_fd(syncfd, &fd, &m, sizeof(m));
	if (n <= 0) {
		*eof = true;
		return;
	}
	if (m.type == SYNC_PTY && fd >= 0) {
		if (*master >= 0)
			close(*master);
		*master = fd;
		return;
	}
	if (m.type == SYNC_TAP && fd >= 0 && tap && *tap < 0) {
		*tap = fd;
		return;
	}
	if (fd >= 0)
		close(fd);
	if (m.type == SYNC_ERROR && n == (int)sizeof(m) && !*have_error) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		if (err) {
			snprintf(err->msg, sizeof(err->msg), "%s", m.msg);
			err->errnum = m.errnum;
			err->status = m.status;
		}
		*have_error = true;
	}
}

/* A stream of the caller's that no container may be given as it is without -t: a
 * terminal, whose input it could read (through fd 1 too: a terminal is opened read-write),
 * whose settings and window size it could change for good, and into which it could push
 * input. Any character device but the kernel's null, zero and full counts as one. */
static bool stdio_is_terminal(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return false; /* closed: nothing to give */
	if (isatty(fd))
		return true;
	if (!S_ISCHR(st->st_mode))
		return false;
	unsigned int mi = minor(st->st_rdev);
	return !(major(st->st_rdev) == 1 && (mi == 3 || mi == 5 || mi == 7));
}

/* stdout and stderr one open file (2>&1), or one terminal: one pipe for both, so that
 * what the container writes to them stays in its order */
static bool stdio_same(const struct stat *st1, const struct stat *st2)
{
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 1, 2) == 0)
		return true;
	return S_ISCHR(st1->st_mode) && S_ISCHR(st2->st_mode) && st1->st_rdev == st2->st_rdev;
}

/* A pipe: the container's end at child, ours at ours. */
static int relay_pipe(int *child, int *ours, bool ours_writes, struct diyc_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	*child = ours_writes ? p[0] : p[1];
	*ours = ours_writes ? p[1] : p[0];
	return 0;
}

int stdio_relay_open(struct stdio_relay *r, bool interactive, bool all, struct diyc_error *err)
{
	struct stdio_relay n = STDIO_RELAY_NONE;
	struct stat st[3] = { 0 };
	bool relay[3];
	for (int fd = 0; fd < 3; fd++)
		relay[fd] = stdio_is_terminal(fd, &st[fd]) || all;
	/* without -i the container's stdin is its own /dev/null */
	relay[0] = relay[0] && interactive;
	bool one = relay[1] && relay[2] && stdio_same(&st[1], &st[2]);
	int ret = 0;
	if (relay[0] && (ret = relay_pipe(&n.child[0], &n.in, true, err)) < 0)
		goto fail;
	/* stdin's end is written without blocking (see supervise) */
	if (n.in >= 0 && fcntl(n.in, F_SETFL, O_NONBLOCK) < 0) {
		ret = diyc_error(err, errno, "pipe");
		goto fail;
	}
	if (relay[1] && (ret = relay_pipe(&n.child[1], &n.out, false, err)) < 0)
		goto fail;
	if (one)
		n.child[2] = n.child[1];
	else if (relay[2] && (ret = relay_pipe(&n.child[2], &n.err, false, err)) < 0)
		goto fail;
	*r = n;
	return 0;
fail:
	stdio_relay_close(&n);
	return ret;
}

bool stdio_relay_active(const struct stdio_relay *r)
{
	return r->child[0] >= 0 || r->child[1] >= 0 || r->child[2] >= 0;
}

void stdio_relay_child(const struct stdio_relay *r)
{
	if (!r)
		return;
	for (int fd = 0; fd < 3; fd++)
		if (r->child[fd] >= 0)
			dup2(r->child[fd], fd);
}

void stdio_relay_parent(struct stdio_relay *r)
{
	if (r && r->child[2] == r->child[1])
		r->child[2] = -1; /* one pipe for both */
	for (int fd = 0; r && fd < 3; fd++)
		if (r->child[fd] >= 0)
			close(steal_fd(&r->child[fd]));
}

void stdio_relay_close(struct stdio_relay *r)
{
	if (!r)
		return;
	stdio_relay_parent(r);
	if (r->in >= 0)
		close(steal_fd(&r->in));
	if (r->out >= 0)
		close(steal_fd(&r->out));
	if (r->err >= 0)
		close(steal_fd(&r->err));
}

/* Copies what is readable on from to to; returns false at EOF or error. */
static bool pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return write_all(to, buf, n) == 0;
}

/* The path of diyc-nethelper, next to the running diyc (security/selfexe.c), which a normal
 * user's diyc asks for a veth on the bridge; "" for root, who needs none. */
static int nethelper_path(char *buf, size_t size, struct diyc_error *err)
{
	buf[0] = '\0';
	if (geteuid() == 0)
		return 0;
	char self[PATH_MAX];
	int r = selfexe_host_path(self, sizeof(self), err);
	if (r < 0)
		return r;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if (snprintf(buf, size, "%s/" BRIDGE_NETHELPER, self) >= (int)size)
		return diyc_error(err, ENAMETOOLONG, "%s/" BRIDGE_NETHELPER, self);
	return 0;
}

/* The slirp stack on the container's tap, then its published ports. */
static int network_start(pid_t pid, const struct supervise_opts *o, int tap, struct slirp_net **net,
			 struct port_relay **relay, struct diyc_error *err)
{
	/* libslirp and the relay write to sockets whose peer may be gone: that must be EPIPE,
	 * not a signal that ends a foreground diyc (a detached monitor ignores it already) */
	signal(SIGPIPE, SIG_IGN);
	/* the slirp process confines itself as the supervisor does (security/confine.c)
	 * before the first frame */
	int r = slirp_net_start(o->slirp, tap, confine_supervisor, net, err);
	if (r == 0)
		r = port_relay_start(o->ports, o->n_ports, o->port_fds, pid, o->join_userns, SLIRP_GUEST_ADDR, relay,
				     err);
	if (r < 0 && !err->status)
		err->status = DIYC_EXIT_RUNTIME;
	return r;
}

int supervise(pid_t pid, int syncfd, const struct supervise_opts *o, int *status, struct diyc_error *err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; i < n_forwarded_signals; i++)
		sigaddset(&set, forwarded_signals[i]);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return diyc_error(err, errno, "signalfd");
	int master = -1, tap = -1;
	bool eof = false, have_error = false, exited = false, stdin_open = o->tty && o->interactive;
	bool raw = false;
	int wstatus = 0;
	struct slirp_net *net = NULL;
	struct port_relay *relay = NULL;
	size_t cap = 8;
	_cleanup_free_ struct pollfd *p = malloc(cap * sizeof(*p));
	if (!p)
		return diyc_error(err, ENOMEM, "supervise");
	if (o->grant && o->grant->veth[0] && o->n_ports) {
		/* on a bridge the container's address is reachable from here */
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &o->grant->addr, addr, sizeof(addr));
		signal(SIGPIPE, SIG_IGN);
		if (port_relay_start(o->ports, o->n_ports, o->port_fds, 0, false, addr, &relay, err) < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			if (!err->status)
				err->status = DIYC_EXIT_RUNTIME;
			return -(err->errnum ? err->errnum : EINVAL);
		}
	}

	struct stdio_relay *io = o->stdio;
	/* what was read from stdin and is not yet in the container's pipe: never a blocking
	 * write, which would stop the copying of its output (that it may be waiting on) */
	char inbuf[16384];
	size_t in_len = 0, in_off = 0;
	if (io && io->in >= 0)
		signal(SIGPIPE, SIG_IGN);
	while (!exited) {
		int n = 0, i_sig = n++, i_sync = -1, i_master = -1, i_in = -1, i_out = -1, i_err = -1, i_rin = -1;
		p[i_sig] = (struct pollfd){ sfd, POLLIN, 0 };
		if (io && io->out >= 0) {
			i_out = n++;
			p[i_out] = (struct pollfd){ io->out, POLLIN, 0 };
		}
		if (io && io->err >= 0) {
			i_err = n++;
			p[i_err] = (struct pollfd){ io->err, POLLIN, 0 };
		}
		if (io && io->in >= 0) {
			i_rin = n++;
			p[i_rin] = in_off < in_len ? (struct pollfd){ io->in, POLLOUT, 0 } : (struct pollfd){ 0, POLLIN, 0 };
		}
		if (!eof) {
			i_sync = n++;
			p[i_sync] = (struct pollfd){ syncfd, POLLIN, 0 };
		}
		if (master >= 0) {
			i_master = n++;
			p[i_master] = (struct pollfd){ master, POLLIN, 0 };
			if (stdin_open) {
				i_in = n++;
				p[i_in] = (struct pollfd){ 0, POLLIN, 0 };
			}
		}
		int timeout = -1;
		size_t n_relay = port_relay_fill(relay, &p, &cap, n, &timeout);
		size_t n_all = net ? slirp_net_fill(net, &p, &cap, n_relay, &timeout) : n_relay;
		int pr = poll(p, n_all, timeout);
		if (net)
			slirp_net_done(net, p + n_relay, n_all - n_relay, pr < 0);
		if (pr > 0)
			port_relay_done(relay, p, n_relay);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (i_sync >= 0 && p[i_sync].revents) {
			handle_sync(syncfd, &master, &tap, &have_error, err, &eof);
			if (tap >= 0 && !net && o->slirp) {
				if (network_start(pid, o, tap, &net, &relay, err) < 0) {
					/* the command must not run without the ports it was promised */
					have_error = true;
					kill(pid, SIGKILL);
				}
				tap = -2; /* taken */
			}
			if (eof && !have_error && o->started)
				o->started(o->hook_arg);
			if (master >= 0 && !raw) {
				raw = true;
				if (isatty(0))
					terminal_raw(0);
				terminal_copy_winsize(isatty(0) ? 0 : 1, master);
			}
		}
		if (i_out >= 0 && p[i_out].revents && !pump(io->out, 1))
			close(steal_fd(&io->out));
		if (i_err >= 0 && p[i_err].revents && !pump(io->err, 2))
			close(steal_fd(&io->err));
		if (i_rin >= 0 && p[i_rin].revents && in_off < in_len) {
			ssize_t w = write(io->in, inbuf + in_off, in_len - in_off);
			if (w > 0)
				in_off += w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				close(steal_fd(&io->in)); /* the container closed its stdin */
			if (in_off == in_len)
				in_off = in_len = 0;
		} else if (i_rin >= 0 && p[i_rin].revents) {
			ssize_t k = read(0, inbuf, sizeof(inbuf));
			if (k > 0)
				in_len = k;
			else if (k == 0 || (errno != EINTR && errno != EAGAIN))
				close(steal_fd(&io->in)); /* end of diyc's input: the container's too */
		}
		if (i_master >= 0 && p[i_master].revents && !pump(master, 1)) {
			close(master);
			master = -1;
		}
		if (i_in >= 0 && p[i_in].revents && master >= 0 && !pump(0, master)) {
			stdin_open = false;
			/* end of input: send the terminal's EOF character to the container */
			struct termios t;
			char eofc = tcgetattr(master, &t) == 0 ? t.c_cc[VEOF] : 4;
			write_all(master, &eofc, 1);
		}
		if (p[i_sig].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = si.ssi_signo;
				if (sig == SIGCHLD) {
					if (waitpid(pid, &wstatus, WNOHANG) == pid)
						exited = true;
				} else if (sig == SIGWINCH && master >= 0) {
					terminal_copy_winsize(isatty(0) ? 0 : 1, master);
				} else if (sig != SIGWINCH || o->forward_winch) {
					kill(pid, sig);
				}
			}
		}
	}
	/* what the container wrote last is still in the pty */
	if (master >= 0) {
		fcntl(master, F_SETFL, O_NONBLOCK);
		struct pollfd p = { master, POLLIN, 0 };
		while (poll(&p, 1, 50) > 0 && pump(master, 1))
			;
		close(master);
	}
	if (raw)
		terminal_restore();
	/* what the container wrote last is still in the pipes: until every writer is gone */
	for (int k = 0; io && k < 2; k++) {
		int *fd = k ? &io->err : &io->out;
		struct pollfd pf = { *fd, POLLIN, 0 };
		while (*fd >= 0 && poll(&pf, 1, 1000) > 0 && pump(*fd, k ? 2 : 1))
			;
	}
	stdio_relay_close(io);
	if (!eof) {
		/* an error message is in the socket already if the child sent one */
		struct pollfd p = { syncfd, POLLIN, 0 };
		while (!eof && poll(&p, 1, 0) > 0)
			handle_sync(syncfd, &master, &tap, &have_error, err, &eof);
		if (master >= 0)
			close(master);
	}
	port_relay_stop(relay);
	slirp_net_stop(net);
	if (tap >= 0)
		close(tap);
	if (!exited)
		return diyc_error(err, errno, "wait for the container");
	*status = exit_status_of(wstatus);
	if (have_error) {
		if (err->status == DIYC_EXIT_RUNTIME)
			return -(err->errnum ? err->errnum : EINVAL);
		*status = err->status;
		return 1; /* the command could not be executed; err says why */
	}
	return 0;
}

int spawn_in_namespaces(unsigned long flags, const struct userns_plan *plan, int cgroup_fd, child_fn child,
			const void *child_arg, const struct supervise_opts *o, int *status, struct diyc_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return diyc_error(err, errno, "socketpair");
	/* blocked before the clone, so no forwarded signal is lost and the child inherits the mask */
	sigset_t set, old;
	block_signals(&set, &old);
	if (plan->enabled)
		flags |= CLONE_NEWUSER;
	pid_t pid = clone_fork_into(flags, cgroup_fd);
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (cgroup_fd >= 0 && (e == EACCES || e == EPERM || e == EBUSY || e == ENOSYS))
			return diyc_error(err, e, "create the container in its cgroup%s",
					  e == ENOSYS ? " (clone3 is not allowed here: a seccomp filter of "
							"whatever runs diyc?)" : "");
		if (e == EPERM || e == ENOSPC)
			return diyc_error(err, e, "create namespaces (are unprivileged user namespaces enabled? "
				"see /proc/sys/user/max_user_namespaces)");
		return diyc_error(err, e, "create namespaces");
	}
	if (pid == 0) {
		close(sv[0]);
		stdio_relay_child(o->stdio);
		child(child_arg, sv[1]);
	}
	close(sv[1]);
	stdio_relay_parent(o->stdio);
	_cleanup_close_ int syncfd = sv[0];
	diyc_debug("child %d started", pid);

	struct map_helpers maps;
	int r = (flags & CLONE_NEWUSER) ? userns_maps_start(plan, pid, &maps, err) : 0;
	if (!(flags & CLONE_NEWUSER))
		maps.started = 0;
	if (r == 0 && o->prepare) {
		r = o->prepare(o->hook_arg, err);
		if (r < 0)
			userns_maps_finish(&maps, NULL);
	}
	if (r == 0)
		r = userns_maps_finish(&maps, err);
	diyc_debug("id maps written");
	/* the bridge's veth is made while the child builds its root filesystem */
	_cleanup_close_ int netns = -1, userns = -1;
	char helper[PATH_MAX] = "";
	if (r == 0 && o->bridge)
		r = bridge_open_ns(pid, flags & CLONE_NEWUSER, &netns, &userns, err);
	if (r == 0 && write(syncfd, "g", 1) != 1)
		r = diyc_error(err, errno, "release the child");
	if (r == 0 && o->bridge) {
		r = nethelper_path(helper, sizeof(helper), err);
		if (r == 0)
			r = bridge_attach(netns, userns, o->bridge, o->bridge_ip, helper, o->grant, err);
		/* a child that cannot take it has failed on its own: supervise() reports why */
		if (r == 0)
			send(syncfd, o->grant, sizeof(*o->grant), MSG_NOSIGNAL);
		/* not kept: the namespace must go with the container, taking its veth along */
		close(steal_fd(&netns));
		if (userns >= 0)
			close(steal_fd(&userns));
	}
	if (r == 0 && o->released)
		r = o->released(o->hook_arg, pid, err);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (o->bridge)
			bridge_detach(o->grant, helper);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	r = supervise(pid, syncfd, o, status, err);
	if (o->bridge)
		bridge_detach(o->grant, helper);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void __attribute__((noreturn)) container_child_fn(const void *arg, int syncfd)
{
	container_child(arg, syncfd);
}

int container_run(const struct container_spec *spec, const struct supervise_opts *hooks, int *status,
		  struct diyc_error *err)
{
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
	if (spec->net != NET_HOST)
		flags |= CLONE_NEWNET;
	struct supervise_opts o = *hooks;
	o.tty = spec->tty;
	o.forward_winch = !spec->tty;
	o.slirp = spec->net == NET_SLIRP ? &spec->slirp : NULL;
	struct lease_grant grant = { 0 };
	if (spec->net == NET_BRIDGE) {
		o.bridge = spec->bridge;
		o.bridge_ip = spec->bridge_ip;
		if (!o.grant)
			o.grant = &grant;
	}
	o.ports = spec->ports;
	o.port_fds = spec->port_fds;
	o.n_ports = spec->n_ports;
	o.join_userns = spec->userns->enabled;
	/* without -t: pipes for what is a terminal, and as root for every stream (container/container.h) */
	struct stdio_relay io = STDIO_RELAY_NONE;
	if (!spec->tty) {
		int r = stdio_relay_open(&io, spec->interactive, !spec->userns->enabled, err);
		if (r < 0)
			return r;
		o.stdio = stdio_relay_active(&io) ? &io : NULL;
	}
	int r = spawn_in_namespaces(flags, spec->userns, spec->cgroup_fd, container_child_fn, spec, &o, status, err);
	stdio_relay_close(&io);
	diyc_debug("container exited, status %d", *status);
	return r;
}
