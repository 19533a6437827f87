/* SPDX-License-Identifier: MIT */
/* lifecycle.c: start, state, kill, delete, ps, pause and update of a container that
 * `create` left behind. Every signal goes through a pidfd opened after the process's
 * start time was checked, so a pid the kernel has given to someone else is never hit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <json-c/json.h>
#include "oci.h"
#include "cgroups.h"
#include "hooks.h"
#include "spec.h"
#include "spec-internal.h"
#include "lib/util.h"

#define STOP_WAIT_MS 10000

struct opened {
	int dirfd;
	struct oci_state st;
	enum oci_status status;
};

static void opened_close(struct opened *o)
{
	if (o->dirfd >= 0)
		close(o->dirfd);
	oci_state_free(&o->st);
}
#define _cleanup_opened_ __attribute__((cleanup(opened_close)))

static int open_container(const char *root, const char *id, int lock, struct opened *o, struct diyc_error *err)
{
	o->dirfd = -1;
	memset(&o->st, 0, sizeof(o->st));
	int r = oci_state_open(root, id, lock, &o->dirfd, err);
	if (r == 0)
		r = oci_state_read(o->dirfd, id, &o->st, err);
	if (r == 0)
		o->status = oci_state_status(o->dirfd, &o->st);
	return r;
}

/* A pidfd of the container's init, or -ESRCH when it is gone (or the pid reused). */
static int init_pidfd(const struct oci_state *st)
{
	if (st->pid <= 0)
		return -ESRCH;
	int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (fd < 0)
		return -errno;
	/* checked after the open: the pidfd now pins the process the start time names */
	if (!oci_pid_alive(st->pid, st->pid_start)) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

static struct oci_cgroup state_cgroup(const struct oci_state *st)
{
	struct oci_cgroup cg = { .systemd = st->systemd };
	snprintf(cg.path, sizeof(cg.path), "%s", st->cgroup);
	snprintf(cg.scope, sizeof(cg.scope), "%s", st->scope);
	return cg;
}

/* The spec kept at create (for the hooks of start and delete), NULL when unreadable. */
static int kept_spec(const struct opened *o, struct oci_spec *spec)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct diyc_error ignored = { 0 };
	if (read_file_at(o->dirfd, OCI_CONFIG_COPY, 4 << 20, &text, &len) < 0)
		return -ENOENT;
	return oci_spec_parse(text, o->st.bundle, spec, &ignored);
}

static void warn_hooks(const struct opened *o, enum oci_hook_kind kind, enum oci_status status)
{
	struct oci_spec spec;
	if (kept_spec(o, &spec) < 0)
		return;
	_cleanup_free_ char *json = oci_state_json(&o->st, status, false);
	if (json)
		oci_hooks_run_warn(&spec, kind, json);
	oci_spec_free(&spec);
}

int oci_start(const char *root, const char *id, struct diyc_error *err)
{
	_cleanup_opened_ struct opened o;
	int r = open_container(root, id, LOCK_EX, &o, err);
	if (r < 0)
		return r;
	if (o.status != OCI_CREATED)
		return diyc_error_plain(err, EINVAL, "cannot start container %s: it is %s, not created", id,
					oci_status_names[o.status]);
	/* the pidfd first: once the fifo is open, the process may run and be gone at once */
	_cleanup_close_ int pidfd = init_pidfd(&o.st);
	if (pidfd < 0)
		return diyc_error_plain(err, ESRCH, "cannot start container %s: its process has exited", id);
	_cleanup_close_ int fifo = openat(o.dirfd, OCI_EXEC_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0)
		return diyc_error(err, errno, "open the exec fifo of container %s", id);
	/* init opens its end once we have ours and writes one byte; its end is close-on-exec,
	 * so the end of file says the process was executed: poststart runs after that */
	struct pollfd p[2] = { { fifo, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
	bool got_byte = false;
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return diyc_error(err, errno, "wait for container %s to start", id);
		char byte;
		ssize_t n = (p[0].revents & (POLLIN | POLLHUP)) ? read(fifo, &byte, 1) : -1;
		if (n == 1)
			got_byte = true;
		else if (n == 0 && got_byte)
			break;
		if (!got_byte && (p[1].revents & POLLIN))
			return diyc_error_plain(err, ESRCH, "cannot start container %s: its process has exited", id);
		if (got_byte && (p[1].revents & POLLIN))
			break; /* started, and already gone */
	}
	unlinkat(o.dirfd, OCI_EXEC_FIFO, 0);
	warn_hooks(&o, OCI_HOOK_POSTSTART, OCI_RUNNING);
	return 0;
}

int oci_state(const char *root, const char *id, char **json, struct diyc_error *err)
{
	_cleanup_opened_ struct opened o;
	int r = open_container(root, id, 0, &o, err);
	if (r < 0)
		return r;
	*json = oci_state_json(&o.st, o.status, true);
	return *json ? 0 : diyc_error(err, ENOMEM, "state");
}

/* Processes in init's PID namespace, for a container without a cgroup of its own. */
static int pidns_pids(const struct oci_state *st, pid_t **pids, size_t *n)
{
	char path[64];
	struct stat init_ns, ns;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", st->pid);
	*n = 0;
	*pids = calloc(1, sizeof(pid_t));
	if (!*pids)
		return -ENOMEM;
	if (stat(path, &init_ns) < 0)
		return 0;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *e;
	size_t cap = 1;
	while (d && (e = readdir(d))) {
		pid_t pid = atoi(e->d_name);
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		if (pid <= 0 || stat(path, &ns) < 0 || ns.st_ino != init_ns.st_ino || ns.st_dev != init_ns.st_dev)
			continue;
		if (*n == cap) {
			pid_t *more = realloc(*pids, (cap *= 2) * sizeof(pid_t));
			if (!more)
				return -ENOMEM;
			*pids = more;
		}
		(*pids)[(*n)++] = pid;
	}
	return 0;
}

static int container_pids(const struct oci_state *st, pid_t **pids, size_t *n, struct diyc_error *err)
{
	if (st->cgroup[0]) {
		struct oci_cgroup cg = state_cgroup(st);
		return oci_cgroup_pids(&cg, pids, n, err);
	}
	if (st->own_pidns) {
		int r = pidns_pids(st, pids, n);
		return r < 0 ? diyc_error(err, -r, "list the container's processes") : 0;
	}
	*pids = calloc(1, sizeof(pid_t));
	*n = 0;
	if (!*pids)
		return diyc_error(err, ENOMEM, "pids");
	if (oci_pid_alive(st->pid, st->pid_start))
		(*pids)[(*n)++] = st->pid;
	return 0;
}

static int signal_all(const struct opened *o, int sig, struct diyc_error *err)
{
	if (o->st.cgroup[0]) {
		struct oci_cgroup cg = state_cgroup(&o->st);
		return oci_cgroup_kill_all(&cg, sig, err);
	}
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int r = container_pids(&o->st, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		kill(pids[i], sig);
	return r;
}

int oci_kill(const char *root, const char *id, int sig, bool all, struct diyc_error *err)
{
	_cleanup_opened_ struct opened o;
	int r = open_container(root, id, LOCK_SH, &o, err);
	if (r < 0)
		return r;
	if (all && (o.st.cgroup[0] || o.status != OCI_STOPPED))
		return signal_all(&o, sig, err);
	if (o.status == OCI_STOPPED || o.status == OCI_CREATING)
		return diyc_error_plain(err, ESRCH, "container not running");
	_cleanup_close_ int pidfd = init_pidfd(&o.st);
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return diyc_error_plain(err, ESRCH, "container not running: no such process");
	return 0;
}

/* Kills whatever runs and waits until init is gone (a zombie counts as gone). */
static int stop_all(const struct opened *o, struct diyc_error *err)
{
	_cleanup_close_ int pidfd = init_pidfd(&o->st);
	if (o->st.cgroup[0]) {
		int r = signal_all(o, SIGKILL, err);
		if (r < 0)
			return r;
	} else if (pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	if (pidfd >= 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };
		if (poll(&p, 1, STOP_WAIT_MS) == 0)
			return diyc_error_plain(err, ETIMEDOUT, "the container's process %d did not exit after SIGKILL",
						o->st.pid);
	}
	return 0;
}

int oci_delete(const char *root, const char *id, bool force, struct diyc_error *err)
{
	_cleanup_opened_ struct opened o;
	int r = open_container(root, id, LOCK_EX, &o, err);
	if (r < 0)
		return r;
	if ((o.status == OCI_RUNNING || o.status == OCI_PAUSED) && !force)
		return diyc_error_plain(err, EBUSY, "cannot delete container %s that is not stopped: %s", id,
					oci_status_names[o.status]);
	if (o.status != OCI_STOPPED && (r = stop_all(&o, err)) < 0)
		return r;
	if (o.st.cgroup[0]) {
		struct oci_cgroup cg = state_cgroup(&o.st);
		if ((r = oci_cgroup_destroy(&cg, err)) < 0)
			return r;
	}
	warn_hooks(&o, OCI_HOOK_POSTSTOP, OCI_STOPPED);
	return oci_state_remove(root, id, err);
}

int oci_ps(const char *root, const char *id, pid_t **pids, size_t *n, struct diyc_error *err)
{
	_cleanup_opened_ struct opened o;
	int r = open_container(root, id, 0, &o, err);
	if (r < 0)
		return r;
	return container_pids(&o.st, pids, n, err);
}

int oci_pause(const char *root, const char *id, bool pause, struct diyc_error *err)
{
	_cleanup_opened_ struct opened o;
	int r = open_container(root, id, LOCK_EX, &o, err);
	if (r < 0)
		return r;
	if (!o.st.cgroup[0])
		return diyc_error_plain(err, ENOTSUP, "container %s has no cgroup of its own: %s needs the cgroup v2 "
					"freezer", id, pause ? "pause" : "resume");
	if (pause ? o.status != OCI_RUNNING : o.status != OCI_PAUSED)
		return diyc_error_plain(err, EINVAL, "container %s is %s, not %s", id, oci_status_names[o.status],
					pause ? "running" : "paused");
	struct oci_cgroup cg = state_cgroup(&o.st);
	return oci_cgroup_freeze(&cg, pause, err);
}

int oci_update(const char *root, const char *id, const char *resources_json, struct diyc_error *err)
{
	_cleanup_opened_ struct opened o;
	int r = open_container(root, id, LOCK_EX, &o, err);
	if (r < 0)
		return r;
	if (o.status == OCI_STOPPED)
		return diyc_error_plain(err, ESRCH, "container not running");
	if (!o.st.cgroup[0])
		return diyc_error_plain(err, ENOTSUP, "container %s has no cgroup of its own to update", id);
	/* parsed as the linux.resources of a spec, with the same checks */
	_cleanup_free_ char *doc = xasprintf("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"/\"},"
					     "\"linux\":{\"resources\":%s}}", resources_json);
	struct oci_spec spec;
	if (!doc)
		return diyc_error(err, ENOMEM, "update");
	if ((r = oci_spec_parse(doc, "/", &spec, err)) < 0)
		return diyc_error_wrap(err, "the resources");
	struct oci_cgroup cg = state_cgroup(&o.st);
	r = oci_cgroup_update(&cg, &spec.resources, err);
	oci_spec_free(&spec);
	return r;
}
