/* SPDX-License-Identifier: MIT */
/* create.c: `create`, the runtime side. It checks the bundle, makes the state directory,
 * the exec fifo and the cgroup, compiles the seccomp filter, clones the container's init
 * (through a short-lived joining child when namespaces are given by path), writes the id
 * maps, runs prestart and createRuntime when init asks, and once init reports created
 * writes the state and the pid file and returns: init stays behind, waiting for `start`,
 * a child of whoever ran create (the engine's shim, a subreaper, once create exits). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include "oci.h"
#include "cgroups.h"
#include "hooks.h"
#include "sync.h"
#include "lib/child.h"
#include "lib/fdpass.h"
#include "lib/util.h"

/* What a create holds until it returns; released (on failure: undone) by create_undo. */
struct create_ctx {
	const struct oci_create_opts *o;
	struct oci_spec spec;
	int dirfd;               /* ROOT/ID, locked */
	struct oci_cgroup cg;
	bool have_cgroup;
	struct seccomp_prog seccomp;
	pid_t pid;               /* init, once cloned */
	struct oci_state st;
};

static void create_undo(struct create_ctx *c, bool failed)
{
	struct diyc_error ignored = { 0 };
	if (failed && c->pid > 0)
		kill_and_reap(c->pid);
	if (failed && c->have_cgroup)
		oci_cgroup_destroy(&c->cg, &ignored);
	if (failed && c->dirfd >= 0)
		oci_state_remove(c->o->root, c->o->id, &ignored);
	if (c->dirfd >= 0)
		close(c->dirfd);
	seccomp_prog_free(&c->seccomp);
	oci_state_free(&c->st);
	oci_spec_free(&c->spec);
}

int oci_console_connect(const char *path, struct diyc_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (stat(path, &st) < 0)
		return diyc_error(err, errno, "the console socket %s", path);
	if (!S_ISSOCK(st.st_mode))
		return diyc_error_plain(err, ENOTSOCK, "the console socket %s is not a socket", path);
	if (strlen(path) >= sizeof(sa.sun_path))
		return diyc_error_plain(err, ENAMETOOLONG, "the console socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return diyc_error(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return diyc_error(err, e, "connect to the console socket %s", path);
	}
	return fd;
}

/* clone3 into new namespaces and the cgroup, with a pidfd. */
static pid_t clone_init(unsigned long flags, int cgroup_fd, int *pidfd)
{
	struct clone_args args = {
		.flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
		.pidfd = (uint64_t)(uintptr_t)pidfd, .exit_signal = SIGCHLD, .cgroup = (uint64_t)(cgroup_fd >= 0 ? cgroup_fd : 0),
	};
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* The host pid of a pidfd, from its fdinfo (translated into our PID namespace). */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_file_at(AT_FDCWD, path, 4096, &text, &len) < 0)
		return -1;
	char *p = strstr(text, "\nPid:");
	pid_t pid = p ? (pid_t)atoi(p + 5) : -1;
	free(text);
	return pid;
}

static unsigned long new_namespaces(const struct oci_spec *s, bool *joins)
{
	unsigned long flags = 0;
	*joins = false;
	for (size_t i = 0; i < s->n_namespaces; i++) {
		if (s->namespaces[i].path)
			*joins = true;
		else
			flags |= s->namespaces[i].type;
	}
	return flags;
}

/* A child that enters the namespaces given by path (the user namespace first, so that
 * it owns the others) and clones init from there; it passes init's pidfd and exits. */
static void __attribute__((noreturn)) joiner_fail(const struct oci_init_args *a, struct diyc_error *err)
{
	sync_send_error(a->syncfd, err);
	_exit(DIYC_EXIT_RUNTIME);
}

static void __attribute__((noreturn)) joiner(const struct oci_init_args *a, unsigned long flags, int cgroup_fd)
{
	struct diyc_error err = { 0 };
	const struct oci_spec *s = a->spec;
	static const int order[] = { CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID,
				     CLONE_NEWCGROUP, CLONE_NEWNS, 0x80 /* CLONE_NEWTIME */ };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const struct oci_namespace *ns = oci_spec_namespace(s, order[i]);
		if (!ns || !ns->path)
			continue;
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, ns->type) < 0) {
			diyc_error(&err, errno, "join the namespace %s", ns->path);
			joiner_fail(a, &err);
		}
		close(fd);
	}
	int pidfd = -1;
	pid_t pid = clone_init(flags, cgroup_fd, &pidfd);
	if (pid < 0) {
		diyc_error(&err, errno, "create the container's namespaces");
		joiner_fail(a, &err);
	}
	if (pid == 0)
		oci_init(a);
	uint32_t type = OCI_SYNC_PIDFD;
	_exit(send_fd(a->syncfd, pidfd, &type, sizeof(type)) < 0 ? DIYC_EXIT_RUNTIME : 0);
}

static int write_map(pid_t pid, const char *file, const struct oci_idmap *m, size_t n, struct diyc_error *err)
{
	char buf[8192], path[64];
	size_t len = 0;
	for (size_t i = 0; i < n && len < sizeof(buf) - 40; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return diyc_error(err, errno, "write the container's %s (linux.%s)", file,
				  !strcmp(file, "uid_map") ? "uidMappings" : "gidMappings");
	return 0;
}

/* The id maps of init's new user namespace; setgroups stays allowed unless we may not. */
static int write_maps(const struct oci_spec *s, pid_t pid, bool *set_groups, struct diyc_error *err)
{
	*set_groups = true;
	if (!s->n_uid_maps && !s->n_gid_maps)
		return 0;
	int r = write_map(pid, "uid_map", s->uid_maps, s->n_uid_maps, err);
	if (r == 0 && s->n_gid_maps && (r = write_map(pid, "gid_map", s->gid_maps, s->n_gid_maps, err)) < 0 &&
	    geteuid() != 0) {
		/* an unprivileged caller may map its own gid only once setgroups is denied */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0 && write(fd, "deny", 4) == 4) {
			*set_groups = false;
			r = write_map(pid, "gid_map", s->gid_maps, s->n_gid_maps, err);
		}
	}
	return r;
}

static void now_rfc3339(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

static int fill_state(struct create_ctx *c, struct diyc_error *err)
{
	struct oci_state *st = &c->st;
	snprintf(st->id, sizeof(st->id), "%s", c->o->id);
	snprintf(st->bundle, sizeof(st->bundle), "%s", c->spec.bundle);
	snprintf(st->rootfs, sizeof(st->rootfs), "%s", c->spec.root_path);
	st->own_pidns = oci_spec_namespace(&c->spec, CLONE_NEWPID) != NULL;
	st->owner = geteuid();
	now_rfc3339(st->created, sizeof(st->created));
	st->annotations_json = strdup(c->spec.annotations_json);
	return st->annotations_json ? 0 : diyc_error(err, ENOMEM, "state");
}

/* prestart and createRuntime in our namespaces, then the state for init's hooks. */
static int run_runtime_hooks(struct create_ctx *c, int syncfd, struct diyc_error *err)
{
	c->st.pid = c->pid;
	_cleanup_free_ char *json = oci_state_json(&c->st, OCI_CREATED, false);
	if (!json)
		return diyc_error(err, ENOMEM, "state");
	int r = oci_hooks_run(&c->spec, OCI_HOOK_PRESTART, json, err);
	if (r == 0)
		r = oci_hooks_run(&c->spec, OCI_HOOK_CREATE_RUNTIME, json, err);
	if (r < 0)
		return r;
	if (send(syncfd, json, strlen(json), MSG_NOSIGNAL) < 0)
		return diyc_error(err, errno, "pass the state to the container");
	return 0;
}

/* Reads init's messages until it reports created. */
static int await_created(struct create_ctx *c, int syncfd, struct diyc_error *err)
{
	for (;;) {
		struct sync_msg m;
		int fd = -1;
		int n = recv_fd(syncfd, &fd, &m, sizeof(m));
		if (fd >= 0) {
			/* a joining child's pidfd: init's host pid */
			c->pid = pidfd_pid(fd);
			close(fd);
			if (c->pid <= 0)
				return diyc_error_plain(err, ESRCH, "the container's init is gone");
			return 1;
		}
		if (n < 0)
			return diyc_error(err, -n, "read from the container's init");
		if (n == 0)
			return diyc_error_plain(err, EPIPE, "the container's init exited while it was being set up");
		if (m.type == OCI_SYNC_ERROR) {
			diyc_error_plain(err, m.errnum, "%s", m.msg);
			err->status = m.status;
			return -(m.errnum ? m.errnum : EINVAL);
		}
		if (m.type == OCI_SYNC_HOOKS) {
			int r = run_runtime_hooks(c, syncfd, err);
			if (r < 0)
				return r;
		} else if (m.type == OCI_SYNC_READY)
			return 0;
	}
}

static int write_pid_file(const char *path, pid_t pid, struct diyc_error *err)
{
	char dir[4096], buf[32];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	_cleanup_close_ int dirfd = open(slash ? dir : ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int n = snprintf(buf, sizeof(buf), "%d", pid);
	int r = dirfd < 0 ? -errno : write_file_atomic_nosync(dirfd, name, buf, n, 0644);
	return r < 0 ? diyc_error(err, -r, "write the pid file %s", path) : 0;
}

/* Everything before the clone: bundle, state directory, fifo, filter, cgroup. */
static int create_prepare(struct create_ctx *c, struct diyc_error *err)
{
	const struct oci_create_opts *o = c->o;
	int r = oci_id_check(o->id, err);
	if (r == 0)
		r = oci_spec_load(o->bundle, &c->spec, err);
	if (r < 0)
		return r;
	if (!oci_spec_namespace(&c->spec, CLONE_NEWNS))
		return diyc_error_plain(err, EINVAL, "linux.namespaces must have a mount namespace: the container "
					"needs its own root");
	if (c->spec.process.terminal && !o->console_socket && o->console_fd < 0)
		return diyc_error_plain(err, EINVAL, "process.terminal is true, but no --console-socket was given to "
					"pass the terminal through");
	if ((r = oci_state_create_dir(o->root, o->id, &c->dirfd, err)) < 0)
		return r;
	if ((r = fill_state(c, err)) < 0)
		return r;
	if (mkfifoat(c->dirfd, OCI_EXEC_FIFO, 0600) < 0 || fchmodat(c->dirfd, OCI_EXEC_FIFO, 0622, 0) < 0)
		return diyc_error(err, errno, "create the exec fifo");
	if (c->spec.seccomp_json && c->spec.has_process) {
		if ((r = seccomp_prepare(c->spec.seccomp_json, c->spec.process.bounding, NULL, &c->seccomp, err)) < 0)
			return diyc_error_wrap(err, "linux.seccomp");
	}
	/* delete runs poststop, and exec applies the filter, from this copy: the bundle may change */
	if ((r = write_file_atomic_nosync(c->dirfd, OCI_CONFIG_COPY, c->spec.json, strlen(c->spec.json), 0600)) < 0)
		return diyc_error(err, -r, "keep a copy of config.json");
	if (o->no_cgroup && c->spec.resources.any)
		return diyc_error_plain(err, EINVAL, "linux.resources asks for limits, but the cgroup manager is "
					"disabled: there is no cgroup to hold them");
	if (!o->no_cgroup && (r = oci_cgroup_create(&c->spec, o->id, o->systemd_cgroup, &c->cg, err)) < 0)
		return r;
	c->have_cgroup = true;
	return 0;
}

/* Clones init (through a joining child when namespaces are given by path). */
static int create_clone(struct create_ctx *c, struct oci_init_args *a, int syncfd, struct diyc_error *err)
{
	bool joins;
	unsigned long flags = new_namespaces(&c->spec, &joins);
	_cleanup_close_ int cgfd = oci_cgroup_open(&c->cg);
	int pidfd = -1;
	a->new_userns = flags & CLONE_NEWUSER;
	a->joined = joins;
	pid_t pid = joins ? fork() : clone_init(flags, cgfd, &pidfd);
	if (pid < 0 && cgfd >= 0 && (errno == EOPNOTSUPP || errno == EBUSY))
		return diyc_error(err, errno, "create the container in cgroup %s (cgroup v2 puts no process in a "
				  "cgroup whose children have controllers while it has processes of its own: give "
				  "linux.cgroupsPath a cgroup apart from the caller's)", c->cg.path);
	if (pid < 0)
		return diyc_error(err, errno, "create the container's namespaces");
	if (pid == 0) {
		if (joins)
			joiner(a, flags, cgfd);
		oci_init(a);
	}
	if (!joins) {
		close(pidfd);
		c->pid = pid;
		return 0;
	}
	int status;
	int r = await_created(c, syncfd, err);
	reap(pid, &status);
	if (r < 0)
		return r;
	return 0;
}

/* After the clone: the maps, the go, the hooks, created. */
static int create_run(struct create_ctx *c, struct diyc_error *err)
{
	const struct oci_create_opts *o = c->o;
	_cleanup_fd_pair_ struct fd_pair sv = FD_PAIR_INIT;
	_cleanup_close_ int fifo = openat(c->dirfd, OCI_EXEC_FIFO, O_PATH | O_CLOEXEC);
	_cleanup_close_ int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int console = -1;
	if (fifo < 0 || proc < 0)
		return diyc_error(err, errno, "open the exec fifo");
	if (c->spec.process.terminal && o->console_fd >= 0)
		console = fcntl(o->console_fd, F_DUPFD_CLOEXEC, 3);
	else if (c->spec.process.terminal && (console = oci_console_connect(o->console_socket, err)) < 0)
		return console;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.fd) < 0)
		return diyc_error(err, errno, "socketpair");
	struct oci_init_args a = {
		.spec = &c->spec, .opts = o, .syncfd = sv.fd[1], .fifo = fifo, .state_dir = c->dirfd, .console = console, .proc = proc,
		.seccomp = c->seccomp.len ? &c->seccomp : NULL,
	};
	int r = create_clone(c, &a, sv.fd[0], err);
	if (r < 0)
		return r;
	close(steal_fd(&sv.fd[1]));
	if ((r = oci_cgroup_enter(&c->cg, &c->spec, c->pid, err)) < 0)
		return r;
	snprintf(c->st.cgroup, sizeof(c->st.cgroup), "%s", c->cg.path);
	snprintf(c->st.scope, sizeof(c->st.scope), "%s", c->cg.scope);
	c->st.systemd = c->cg.path[0] && c->cg.systemd;
	bool set_groups;
	if (a.new_userns && (r = write_maps(&c->spec, c->pid, &set_groups, err)) < 0)
		return r;
	if (write(sv.fd[0], "g", 1) != 1)
		return diyc_error(err, errno, "start the container's init");
	return await_created(c, sv.fd[0], err);
}

int oci_create(const struct oci_create_opts *o, pid_t *pid, struct diyc_error *err)
{
	struct create_ctx c = { .o = o, .dirfd = -1 };
	int r = create_prepare(&c, err);
	if (r == 0)
		r = create_run(&c, err);
	if (r == 0) {
		c.st.pid = c.pid;
		c.st.pid_start = proc_start_time(c.pid, NULL);
		r = oci_state_write(c.dirfd, &c.st, err);
	}
	if (r == 0 && o->pid_file)
		r = write_pid_file(o->pid_file, c.pid, err);
	if (r == 0)
		*pid = c.pid;
	create_undo(&c, r < 0);
	return r;
}
