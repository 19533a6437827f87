/* SPDX-License-Identifier: MIT */
/* control.c: a container from start to end, and what other commands do to it.
 *
 * Whoever supervises the container is its monitor: the `diyc run`/`start -a` the user
 * waits on, or, for a detached container, a process forked for it (`diyc-monitor`)
 * whose stdout and stderr are the container's log file. The monitor holds byte 1 of
 * the container's lock for as long as the container can run, writes state.json
 * (running, then exited with the status), and is the parent of the container's PID 1,
 * which the kernel kills (PR_SET_PDEATHSIG) if the monitor dies. So "running" is never
 * a stale record: no monitor, no container. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "cgroup/cgroup.h"
#include "security/confine.h"
#include "disk.h"
#include "hostfiles.h"
#include "net/ports.h"
#include "control.h"
#include "security/security.h"
#include "lib/child.h"
#include "lib/util.h"
#include "storage/volume-store.h"

/* What the detached monitor tells the `diyc` that waits for it: started or failed. */
struct launch_result {
	int32_t r, status;
	struct diyc_error err;
};

struct launch_ctx {
	struct container *c;
	const struct container_config *cfg;
	const struct launch_opts *o;
	struct container_state st;
	struct cgroup cg;
	bool released;
	int result_fd;
	int *port_fds; /* cfg->n_ports host sockets, bound by container_launch */
	int userns_fd; /* the container's user namespace, kept to remove its files at the end */
	struct lease_grant grant; /* --net=bridge: its address there */
	struct container_security sec; /* its capabilities and compiled seccomp filter */
	struct seccomp_prog prog;
	int disk_fd; /* --storage-opt size= on an image: its mount, for the child to attach */
	char upper_fs[PATH_MAX], upper[PATH_MAX], work[PATH_MAX]; /* and the dirs on it */
};

static int launch_prepare(void *arg, struct diyc_error *err)
{
	struct launch_ctx *x = arg;
	int r = container_populate(x->c, err);
	if (r == 0)
		r = container_disk_prepare(x->c, x->cfg, err);
	if (r == 0 && x->o->first_run)
		r = container_write_config(x->c, x->o->config_json, !x->cfg->rm, err);
	if (r < 0)
		return r;
	_cleanup_close_ int runfd = open(x->c->d.run, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (runfd < 0)
		return diyc_error(err, errno, "open `%s`", x->c->d.run);
	r = hostfiles_write(runfd, x->cfg->hostname, x->cfg->net != NET_HOST,
			    x->cfg->net == NET_SLIRP ? SLIRP_DNS_ADDR : NULL, err);
	diyc_debug("container `%s` prepared", x->c->d.name);
	return r;
}

static int launch_released(void *arg, pid_t pid, struct diyc_error *err)
{
	struct launch_ctx *x = arg;
	struct container_state *st = &x->st;
	memset(st, 0, sizeof(*st));
	st->status = STATUS_RUNNING;
	st->pid = pid;
	st->pid_start = proc_start_time(pid, NULL);
	st->monitor_pid = getpid();
	time_now_rfc3339(st->started_at, sizeof(st->started_at));
	/* so that exec, stats and rm find the cgroup, also after a crash of the monitor */
	snprintf(st->cgroup, sizeof(st->cgroup), "%s", x->cg.path);
	snprintf(st->cgroup_scope, sizeof(st->cgroup_scope), "%s", x->cg.scope);
	if (x->grant.veth[0]) {
		inet_ntop(AF_INET, &x->grant.addr, st->ip, sizeof(st->ip));
		snprintf(st->bridge, sizeof(st->bridge), "%s", x->grant.bridge);
	}
	/* only true while a monitor holds the lock: no need to survive a power loss */
	int r = container_write_state(x->c, st, false, err);
	if (r < 0)
		return r;
	x->released = true;
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/user", pid);
	if (x->userns_fd < 0)
		x->userns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	diyc_debug("state recorded");
	return 0;
}

static void report(struct launch_ctx *x, int r, int status, const struct diyc_error *err)
{
	if (x->result_fd < 0)
		return;
	struct launch_result res = { .r = r, .status = status };
	if (err)
		res.err = *err;
	write_all(x->result_fd, &res, sizeof(res));
	close(x->result_fd);
	x->result_fd = -1;
}

static void launch_started(void *arg)
{
	struct launch_ctx *x = arg;
	/* byte 0 was held since the claim or the start: whoever waits for it (exec, stop,
	 * kill) finds the container set up, its command executed */
	container_unlock(x->c);
	if (x->result_fd < 0)
		return;
	report(x, 0, 0, NULL);
	/* the child has its own copy of the command line by now: the configuration pointed into it */
	char title[32 + CONTAINER_NAME_MAX];
	snprintf(title, sizeof(title), "diyc-monitor %s", x->c->d.name);
	proc_title_set(title);
	/* what start-up allocated is not needed in the poll loop */
	malloc_trim(0);
	unmap_code_pages();
	/* from here on the supervisor relays the published ports (libslirp runs in a
	 * sandboxed process of its own, see net/slirp.c) */
	struct diyc_error cerr = { 0 };
	if (x->cfg->net == NET_SLIRP && confine_supervisor(&cerr) < 0)
		diyc_warn("%s", cerr.msg);
}

/* After the container ended (or failed to start): the state, then the cleanup. */
static void launch_finish(struct launch_ctx *x, const struct userns_plan *given, int r, int status)
{
	struct container *c = x->c;
	struct diyc_error ignore = { 0 };
	/* a confined supervisor cannot run the set-uid newuidmap: it enters the namespace
	 * the container had, which it kept open */
	struct userns_plan joined = *given;
	const struct userns_plan *plan = given;
	if (x->userns_fd >= 0 && given->enabled) {
		joined.join = true;
		joined.join_fd = x->userns_fd;
		plan = &joined;
	}
	container_lock(c, &ignore);
	if (c->cfg.rm || x->cfg->rm || (r < 0 && x->o->first_run)) {
		diyc_debug("removing");
		if (container_remove(c, plan, &ignore) < 0)
			diyc_warn("could not remove container `%s`: %s", c->d.name, ignore.msg);
		/* its anonymous volumes go with it (storage/volume-store.h) */
		for (size_t i = 0; i < x->cfg->n_mounts; i++) {
			const struct mount_entry *m = &x->cfg->mounts[i];
			if (m->kind == MOUNT_VOLUME && m->anonymous && m->source && x->o->data_dir &&
			    volume_remove_anonymous(x->o->data_dir, m->source, plan, &ignore) < 0)
				diyc_warn("could not remove volume `%s`: %s", m->source, ignore.msg);
		}
	} else {
		if (x->released) {
			x->st.status = STATUS_EXITED;
			x->st.exit_code = status;
			x->st.ip[0] = x->st.bridge[0] = '\0'; /* the lease was given back */
			/* empty when cgroup_teardown removed it; else for `rm` to try again */
			snprintf(x->st.cgroup, sizeof(x->st.cgroup), "%s", x->cg.path);
			snprintf(x->st.cgroup_scope, sizeof(x->st.cgroup_scope), "%s", x->cg.scope);
			time_now_rfc3339(x->st.finished_at, sizeof(x->st.finished_at));
			if (container_write_state(c, &x->st, true, &ignore) < 0)
				diyc_warn("%s", ignore.msg);
		}
		/* the runtime part (mount point, generated files) is rebuilt at the next start */
		rm_rf(c->d.run);
	}
	/* the end is on record: let go of the container before byte 0, so whoever takes
	 * byte 0 next finds it stopped */
	container_release_monitor(c);
	container_unlock(c);
	if (x->userns_fd >= 0) {
		close(x->userns_fd);
		x->userns_fd = -1;
	}
	diyc_debug("done");
}

static void spec_from(struct container_spec *spec, const struct container *c, const struct container_config *cfg,
		      char *const *lowerdirs, const struct userns_plan *plan, bool interactive)
{
	*spec = (struct container_spec){
		.name = c->d.name, .hostname = cfg->hostname, .lowerdirs = lowerdirs,
		.upperdir = c->d.upper, .workdir = c->d.work, .volatile_upper = cfg->rm, .rootfs = c->d.rootfs,
		.hostfiles = c->d.run,
		.argv = cfg->command, .env = cfg->env, .workdir_in = cfg->workdir, .user = cfg->user,
		.tty = cfg->tty, .interactive = interactive, .init = cfg->init, .net = cfg->net, .slirp = cfg->slirp,
		.userns = plan, .mounts = cfg->mounts, .n_mounts = cfg->n_mounts, .cgroup_fd = -1,
		.ports = cfg->ports, .n_ports = cfg->n_ports, .bridge = cfg->bridge, .bridge_ip = cfg->ip,
	};
}

/* A disk size: the upper and work dirs on the container's own filesystem, or under a
 * project quota (container/disk.c). The image's mount is made here, before the child is
 * cloned, so that the child has its fd. */
static int upper_limit_from(struct launch_ctx *x, struct container_spec *spec, struct diyc_error *err)
{
	const struct container_config *cfg = x->cfg;
	struct upper_limit *l = &spec->upper_limit;
	switch (cfg->storage_kind) {
	case DISK_QUOTA_NONE:
		return 0;
	case DISK_QUOTA_PROJECT:
		l->kind = UPPER_LIMIT_PROJECT;
		return 0;
	case DISK_QUOTA_IMAGE:
	case DISK_QUOTA_TMPFS:
		break;
	}
	snprintf(x->upper_fs, sizeof(x->upper_fs), "%s/upperfs", x->c->d.data);
	snprintf(x->upper, sizeof(x->upper), "%s/upper", x->upper_fs);
	snprintf(x->work, sizeof(x->work), "%s/work", x->upper_fs);
	spec->upperdir = x->upper;
	spec->workdir = x->work;
	l->dir = x->upper_fs;
	if (cfg->storage_kind == DISK_QUOTA_TMPFS) {
		l->kind = UPPER_LIMIT_TMPFS;
		l->tmpfs_size = cfg->storage_size;
		return 0;
	}
	l->kind = UPPER_LIMIT_MOUNT;
	int r = container_disk_open(x->c, cfg, &x->disk_fd, err);
	l->mount_fd = x->disk_fd;
	return r;
}

static int run_monitored(struct launch_ctx *x, char *const *lowerdirs, const struct userns_plan *plan,
			 bool interactive, int *status, struct diyc_error *err)
{
	struct container_spec spec;
	spec_from(&spec, x->c, x->cfg, lowerdirs, plan, interactive);
	spec.security = &x->sec;
	spec.port_fds = x->port_fds;
	spec.slirp.ipv6 = spec.net == NET_SLIRP && slirp_host_has_ipv6();
	struct supervise_opts hooks = {
		/* a detached container's stdin is the monitor's: nothing to relay */
		.interactive = interactive && !x->o->detach, .prepare = launch_prepare, .released = launch_released,
		.started = launch_started, .hook_arg = x, .grant = &x->grant,
	};
	*status = DIYC_EXIT_RUNTIME;
	int r = 0;
	/* the monitor makes the cgroup: systemd moves the monitor into the scope it asks for */
	if (cgroup_wanted(&x->cfg->limits))
		r = cgroup_setup(x->c->d.name, &x->cfg->limits, &x->cg, err);
	if (r == 0)
		r = upper_limit_from(x, &spec, err);
	spec.cgroup_fd = x->cg.fd;
	spec.own_cgroup = x->cg.fd >= 0;
	spec.cgroup_delegated = spec.own_cgroup && cgroup_ns_delegates();
	if (r == 0)
		r = container_run(&spec, &hooks, status, err);
	if (r < 0)
		*status = err->status ? err->status : DIYC_EXIT_RUNTIME;
	/* with the container's mount namespace gone, this lets the image's loop device go */
	if (x->disk_fd >= 0)
		close(steal_fd(&x->disk_fd));
	/* the ports are free again the moment the container ended */
	ports_close(x->port_fds, x->cfg->n_ports);
	x->st.oom_killed = cgroup_oom_killed(&x->cg);
	cgroup_teardown(&x->cg);
	launch_finish(x, plan, r, *status);
	return r;
}

/* The detached monitor: its own session, stdin from nowhere (or a pipe it keeps open,
 * so `-di` does not see end of input), stdout and stderr into the log. */
static void __attribute__((noreturn))
monitor_main(struct launch_ctx *x, char *const *lowerdirs, const struct userns_plan *plan, int logfd,
	     int in_read, int in_write)
{
	setsid();
	prctl(PR_SET_NAME, "diyc-monitor");

	signal(SIGPIPE, SIG_IGN);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(in_read >= 0 ? in_read : null, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	int keep[4 + x->cfg->n_ports];
	size_t n_keep = 0;
	keep[n_keep++] = x->c->lockfd;
	keep[n_keep++] = x->c->dirfd;
	keep[n_keep++] = x->result_fd;
	keep[n_keep++] = in_write;
	for (size_t i = 0; i < x->cfg->n_ports; i++)
		keep[n_keep++] = x->port_fds[i];
	close_fds_except(keep, n_keep);
	if (chdir("/") < 0)
		_exit(DIYC_EXIT_RUNTIME);
	struct diyc_error err = { 0 };
	int status;
	int r = run_monitored(x, lowerdirs, plan, x->o->interactive, &status, &err);
	report(x, r, status, &err);
	_exit(0);
}

int container_launch(struct container *c, const struct container_config *cfg, char *const *lowerdirs,
		     const struct userns_plan *plan, const struct launch_opts *o, int *status,
		     struct diyc_error *err)
{
	int port_fds[cfg->n_ports + 1];
	for (size_t i = 0; i < cfg->n_ports; i++)
		port_fds[i] = -1;
	struct launch_ctx x = { .c = c, .cfg = cfg, .o = o, .cg = CGROUP_INIT, .result_fd = -1, .port_fds = port_fds,
				.userns_fd = -1, .disk_fd = -1 };
	_cleanup_close_ int logfd = -1;
	/* res: the monitor's result, in: its stdin under -i without a terminal */
	_cleanup_fd_pair_ struct fd_pair res = FD_PAIR_INIT, in = FD_PAIR_INIT;
	/* before anything runs: a profile libseccomp refuses stops the container here */
	int r = security_prepare(&cfg->security, o->data_dir, &x.sec, &x.prog, err);
	/* a first run checked its volumes before claiming the name; a start checks them now */
	for (size_t i = 0; !o->first_run && i < cfg->n_mounts && r == 0; i++)
		r = volume_check_host(&cfg->mounts[i], err);
	/* a port in use stops the container here, before anything of it runs */
	if (r == 0 && o->port_fds) {
		for (size_t i = 0; i < cfg->n_ports; i++)
			port_fds[i] = steal_fd(&o->port_fds[i]);
	} else if (r == 0) {
		r = ports_bind(cfg->ports, cfg->n_ports, port_fds, err);
	}
	if (r < 0)
		goto fail;
	if (!o->detach)
		return run_monitored(&x, lowerdirs, plan, o->interactive, status, err);

	logfd = openat(c->dirfd, "container.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
					   O_NOFOLLOW, 0600);
	if (logfd < 0) {
		r = diyc_error(err, errno, "open the log of container `%s`", c->d.name);
		goto fail;
	}
	if (fd_pair_pipe(&res, O_CLOEXEC) < 0 || (o->interactive && !cfg->tty && fd_pair_pipe(&in, O_CLOEXEC) < 0)) {
		r = diyc_error(err, errno, "pipe");
		goto fail;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = diyc_error(err, errno, "fork the monitor");
		goto fail;
	}
	if (pid == 0) {
		close(res.fd[0]);
		x.result_fd = res.fd[1];
		monitor_main(&x, lowerdirs, plan, logfd, in.fd[0], in.fd[1]);
	}
	close(steal_fd(&res.fd[1]));
	/* the monitor holds the ports now: ours would keep them bound after it ended */
	ports_close(port_fds, cfg->n_ports);
	fd_pair_close(&in);
	/* the monitor holds the lock now (the same open file): drop our fd without unlocking */
	c->locked = false;
	struct launch_result result;
	ssize_t n;
	do
		n = read(res.fd[0], &result, sizeof(result));
	while (n < 0 && errno == EINTR);
	close(steal_fd(&res.fd[0]));
	if (n != (ssize_t)sizeof(result)) {
		reap(pid, NULL);
		return diyc_error_hint(err, diyc_error_plain(err, EIO, "the monitor of container `%s` ended before "
							     "the container started", c->d.name),
				       DIYC_HINT_SEE_LOGS, c->d.name);
	}
	if (result.r != 0) {
		/* it failed: the monitor has cleaned up and exits */
		reap(pid, NULL);
		*err = result.err;
		*status = result.status;
		return result.r;
	}
	*status = 0;
	return 0;
fail:
	/* closed before the cleanup below, which may start processes of its own */
	fd_pair_close(&res);
	fd_pair_close(&in);
	ports_close(port_fds, cfg->n_ports);
	x.released = false;
	launch_finish(&x, plan, r, DIYC_EXIT_RUNTIME);
	return r;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A pidfd for the container's PID 1 if it is still the recorded process. */
static int open_pid1(const struct container *c)
{
	if (c->st.pid <= 0)
		return -ESRCH;
	int fd = pidfd_open(c->st.pid);
	if (fd < 0)
		return -errno;
	/* checked after the pidfd pins the process, so it cannot be reused in between */
	if (proc_start_time(c->st.pid, NULL) != c->st.pid_start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/* Re-reads the state; while the container is being started (its PID 1 not recorded
 * yet) waits for the starter to finish, which it does holding byte 0. */
static int refresh_settled(struct container *c, struct diyc_error *err)
{
	int r = container_lock(c, err);
	if (r < 0)
		return r;
	r = container_refresh(c, err);
	container_unlock(c);
	return r;
}

int container_signal(struct container *c, int sig, struct diyc_error *err)
{
	int r = refresh_settled(c, err);
	if (r < 0)
		return r;
	if (c->st.status != STATUS_RUNNING)
		return diyc_error_plain(err, ESRCH, "container `%s` is not running", c->d.name);
	_cleanup_close_ int pidfd = open_pid1(c);
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
		/* it is ending: its monitor is about to record that */
		return diyc_error_plain(err, ESRCH, "container `%s` is not running", c->d.name);
	}
	return 0;
}

/* Waits until the run whose PID 1 is on record has ended: its monitor recorded the end
 * and let go of the container. A run started meanwhile by someone else is not waited for. */
static int wait_stopped(struct container *c, struct diyc_error *err)
{
	const pid_t pid = c->st.pid;
	const uint64_t start = c->st.pid_start;
	const pid_t monitor = c->st.monitor_pid;
	/* after SIGKILL the monitor only records the status: seconds are plenty */
	for (int waited = 0;; waited += 5) {
		int r = container_refresh(c, err);
		if (r < 0)
			return r;
		bool same_run = c->st.status == STATUS_RUNNING && c->st.pid == pid && c->st.pid_start == start;
		/* pid 0: a monitor holds the container with no PID 1 on record, which is also how
		 * ours looks between recording the end and letting go: not settled yet */
		bool settling = c->st.status == STATUS_RUNNING && c->st.pid == 0;
		if (!same_run && !settling)
			return 0;
		if (waited >= 15000)
			return diyc_error_plain(err, ETIMEDOUT, "container `%s` did not stop: its monitor (pid %d) is "
						"not responding", c->d.name, (int)monitor);
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int container_stop(struct container *c, unsigned timeout_s, struct diyc_error *err)
{
	int r = refresh_settled(c, err);
	if (r < 0 || c->st.status != STATUS_RUNNING)
		return r;
	_cleanup_close_ int pidfd = open_pid1(c);
	if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) == 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };
		int ms = timeout_s > 86400 ? 86400 * 1000 : (int)timeout_s * 1000;
		int n;
		do
			n = poll(&p, 1, ms);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			diyc_debug("no exit after %us: SIGKILL", timeout_s);
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		}
	}
	return wait_stopped(c, err);
}

int container_rm(struct container *c, bool force, const struct userns_plan *plan, struct diyc_error *err)
{
	_cleanup_close_ int stray = -1;
	int r;
	for (int tries = 0;; tries++) {
		if ((r = container_lock(c, err)) < 0)
			return r;
		if ((r = container_refresh(c, err)) < 0)
			goto out;
		if (c->st.status != STATUS_RUNNING)
			break;
		if (!force || tries >= 5) {
			r = !force ? diyc_error_hint(err, diyc_error_plain(err, EBUSY, "container `%s` is running",
									   c->d.name), DIYC_HINT_CONTAINER_RUNNING, c->d.name)
				   : diyc_error_plain(err, EBUSY, "container `%s` keeps being started again: stop whatever "
						      "starts it", c->d.name);
			goto out;
		}
		container_unlock(c);
		_cleanup_close_ int pidfd = open_pid1(c);
		if (pidfd >= 0)
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		if ((r = wait_stopped(c, err)) < 0)
			return r;
	}
	/* not running, and we hold byte 0: byte 1 is free. Holding it too, nobody can start
	 * the container while it goes. */
	if (container_take_monitor(c) < 0) {
		r = diyc_error_plain(err, EBUSY, "container `%s` was started again while being removed", c->d.name);
		goto out;
	}
	/* a PID 1 that outlived its monitor (a set-user-ID command run as PID 1 loses the
	 * parent-death signal) goes with its container */
	stray = open_pid1(c);
	if (stray >= 0) {
		syscall(SYS_pidfd_send_signal, stray, SIGKILL, NULL, 0);
		struct pollfd p = { stray, POLLIN, 0 };
		poll(&p, 1, 5000);
	}
	/* the cgroup a killed monitor could not remove */
	if (c->st.cgroup[0])
		cgroup_remove_stale(c->st.cgroup);
	r = container_remove(c, plan, err);
out:
	container_unlock(c);
	return r;
}

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL }, { "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT }, { "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "POLL", SIGPOLL }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

int signal_parse(const char *s)
{
	uint64_t n;
	if (parse_u64(s, SIGRTMAX, &n) == 0)
		return n >= 1 ? (int)n : -EINVAL;
	const char *name = (strncasecmp(s, "SIG", 3) == 0) ? s + 3 : s;
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (!strcasecmp(name, signal_names[i].name))
			return signal_names[i].sig;
	if (!strncasecmp(name, "RTMIN+", 6) && parse_u64(name + 6, SIGRTMAX - SIGRTMIN, &n) == 0)
		return SIGRTMIN + (int)n;
	if (!strcasecmp(name, "RTMIN"))
		return SIGRTMIN;
	if (!strcasecmp(name, "RTMAX"))
		return SIGRTMAX;
	return -EINVAL;
}
