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
#include "lib/child.h"
#include "lib/fdpass.h"
#include "lib/util.h"
void sync_send_error(int syncfd, const struct diyc_error *err)
{
	struct sync_msg m = { .type = SYNC_ERROR, .errnum = err->errnum,
			      .status = err->status ? err->status : DIYC_EXIT_RUNTIME, .hint = err->hint };
	snprintf(m.msg, sizeof(m.msg), "%s", err->msg);
	snprintf(m.hint_arg, sizeof(m.hint_arg), "%s", err->hint_arg);
	ssize_t n = send(syncfd, &m, sizeof(m), MSG_NOSIGNAL);
	(void)n;
}

int pty_to_parent(int syncfd, int *slave, struct diyc_error *err)
{
	int master;
	int r = terminal_open_pty(&master, slave, err);
	if (r < 0)
		return r;
	/* the caller's window size, before the command can ask for it (diyc follows it from
	 * then on): our stdio is still the caller's terminal */
	terminal_copy_winsize(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, *slave);
	r = send_fd(syncfd, master, &(uint32_t){ SYNC_PTY }, sizeof(uint32_t));
	close(master);
	if (r < 0) {
		close(*slave);
		*slave = -1;
		return diyc_error(err, -r, "pass the terminal to diyc");
	}
	return 0;
}

char child_await_release(int syncfd)
{
	/* it dies with the diyc that supervises it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	char go;
	if (read(syncfd, &go, 1) != 1)
		_exit(DIYC_EXIT_RUNTIME);
	return go;
}

/* The container is set up and its command ready: says so, and waits until the parent
 * starts it (one byte), or dies with it. Not when it was released to start at once. */
static void child_hold_until_started(int syncfd, bool start_at_once)
{
	uint32_t ready = SYNC_READY;
	char go;
	if (start_at_once)
		return;
	if (send(syncfd, &ready, sizeof(ready), MSG_NOSIGNAL) != sizeof(ready) || read(syncfd, &go, 1) != 1)
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
/* Keeps only the sync socket and the fds the root filesystem is built from (the upper dir's
 * own filesystem, the volumes' data dirs), which the parent opened before the clone. */
static void child_close_fds(int syncfd, const struct container_spec *spec)
{
	int keep[2 + spec->n_mounts];
	size_t n = 0;
	keep[n++] = syncfd;
	if (spec->upper_limit.kind == UPPER_LIMIT_MOUNT)
		keep[n++] = spec->upper_limit.mount_fd;
	close_fds_except(keep, n);
}

static int child_detach(int syncfd, const struct container_spec *spec, struct diyc_error *err)
{
	setsid();
	child_close_fds(syncfd, spec);
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
		.volatile_upper = spec->volatile_upper, .upper_limit = spec->upper_limit, .rootfs = spec->rootfs,
		.hostfiles = spec->hostfiles, .userns = spec->userns, .mounts = spec->mounts, .n_mounts = spec->n_mounts,
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

/* Forks the command, held at a gate until the container is started and init has given up
 * its privileges, and becomes the container's init. Never returns. */
static void __attribute__((noreturn))
become_init(const struct container_spec *spec, struct command_plan *plan, int slave, int syncfd,
	    bool start_at_once)
{
	struct diyc_error err = { 0 };
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
		plan->gate = gate[0];
		command_exec(plan, syncfd);
	}
	close(gate[0]);
	/* created: the command is held at the gate until the parent starts the container */
	child_hold_until_started(syncfd, start_at_once);
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

/* The container's PID 1. Never returns. */
static void __attribute__((noreturn))
container_child(const struct container_spec *spec, int syncfd)
{
	struct diyc_error err = { 0 };
	int slave = -1;

	bool start_at_once = child_await_release(syncfd) == 'S';
	diyc_debug("child released");
	if (child_detach(syncfd, spec, &err) < 0)
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
	if (!spec->init) {
		child_hold_until_started(syncfd, start_at_once);
		command_exec(&plan, syncfd);
	}

	become_init(spec, &plan, slave, syncfd, start_at_once);
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
	/* 'S': nobody holds the container once created, it starts at once (no round trip) */
	if (r == 0 && write(syncfd, o->holds && !o->created ? "S" : "g", 1) != 1)
		r = diyc_error(err, errno, "release the child");
	if (r == 0 && o->bridge) {
		r = nethelper_path(helper, sizeof(helper), err);
		if (r == 0)
			r = bridge_attach(netns, userns, o->bridge, o->bridge_ip, helper, "--net=bridge", o->grant,
					  err);
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
	o.holds = true;
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
