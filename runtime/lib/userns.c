/* SPDX-License-Identifier: MIT */
/* userns.c: user namespace id maps (subuid/subgid, newuidmap/newgidmap, the single
 * mapping fallback) and running code inside a mapped user namespace. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <linux/sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "child.h"
#include "userns.h"
#include "util.h"

extern char **environ;

int subid_parse(const char *contents, const char *name, uint32_t id, struct id_range *out, int max)
{
	char idstr[16];
	snprintf(idstr, sizeof(idstr), "%u", id);
	int n = 0;
	const char *line = contents;
	while (line && *line) {
		const char *eol = strchrnul(line, '\n');
		char buf[512];
		size_t len = eol - line;
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			char *c1 = strchr(buf, ':');
			char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			if (buf[0] != '#' && c1 && c2 && !strchr(c2 + 1, ':')) {
				*c1 = *c2 = '\0';
				uint64_t start, count;
				if (((name && !strcmp(buf, name)) || !strcmp(buf, idstr)) &&
				    parse_u64(c1 + 1, UINT32_MAX - 1, &start) == 0 &&
				    parse_u64(c2 + 1, UINT32_MAX, &count) == 0 && count > 0 &&
				    start + count <= UINT32_MAX && n < max) {
					out[n].start = start;
					out[n].count = count;
					n++;
				}
			}
		}
		line = *eol ? eol + 1 : NULL;
	}
	return n;
}

void idmap_build(struct idmap *m, uint32_t outside_id, const struct id_range *r, int n)
{
	m->n = 0;
	m->ent[m->n++] = (struct idmap_entry){ 0, outside_id, 1 };
	uint32_t next = 1;
	for (int i = 0; i < n && m->n < IDMAP_MAX; i++) {
		uint32_t count = r[i].count;
		if ((uint64_t)next + count > UINT32_MAX)
			break;
		m->ent[m->n++] = (struct idmap_entry){ next, r[i].start, count };
		next += count;
	}
}

uint32_t idmap_size(const struct idmap *m)
{
	uint32_t top = 0;
	for (int i = 0; i < m->n; i++)
		if (m->ent[i].inside + m->ent[i].count > top)
			top = m->ent[i].inside + m->ent[i].count;
	return top;
}

static int read_ranges(const char *file, const char *name, uint32_t id, struct id_range *r, int max)
{
	_cleanup_free_ char *contents = NULL;
	if (read_file_at(AT_FDCWD, file, 1 << 22, &contents, NULL) < 0)
		return 0;
	int n = subid_parse(contents, name, id, r, max);
	return n < 0 ? 0 : n;
}

int userns_plan_init(struct userns_plan *plan, struct diyc_error *err)
{
	return userns_plan_init_quiet(plan, false, err);
}

int userns_plan_init_quiet(struct userns_plan *plan, bool quiet, struct diyc_error *err)
{
	memset(plan, 0, sizeof(*plan));
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (uid == 0)
		return 0;
	plan->enabled = true;
	struct passwd *pw = getpwuid(uid);
	const char *name = pw ? pw->pw_name : NULL;
	struct id_range ur[IDMAP_MAX - 1], gr[IDMAP_MAX - 1];
	int nu = read_ranges("/etc/subuid", name, uid, ur, IDMAP_MAX - 1);
	int ng = read_ranges("/etc/subgid", name, uid, gr, IDMAP_MAX - 1);
	const char *path = getenv("PATH");
	if (nu > 0 && ng > 0) {
		plan->newuidmap = find_in_path("newuidmap", path);
		plan->newgidmap = find_in_path("newgidmap", path);
	}
	if (quiet) {
		/* removing files needs whatever map there is; the warning is for starting containers */
	} else if (nu == 0 || ng == 0) {
		diyc_warn("no subordinate ids for user %s in /etc/subuid and /etc/subgid: only root is mapped "
			  "in the container (add a range with `usermod --add-subuids`)", name ? name : "?");
	} else if (!plan->newuidmap || !plan->newgidmap) {
		diyc_warn("newuidmap/newgidmap not found in PATH: only root is mapped in the container "
			  "(install the `uidmap` package)");
	}
	if (nu == 0 || ng == 0 || !plan->newuidmap || !plan->newgidmap) {
		free(steal_ptr(plan->newuidmap));
		free(steal_ptr(plan->newgidmap));
		plan->single = true;
		nu = ng = 0;
	}
	idmap_build(&plan->uids, uid, ur, nu);
	idmap_build(&plan->gids, gid, gr, ng);
	return 0;
}

void userns_plan_free(struct userns_plan *plan)
{
	free(steal_ptr(plan->newuidmap));
	free(steal_ptr(plan->newgidmap));
}

static int write_proc(pid_t pid, const char *file, const char *data)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, data, strlen(data));
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(data) ? 0 : -EIO;
}

static int spawn_map_helper(struct map_helpers *h, int i, const char *tool, pid_t target, const struct idmap *m,
			    struct diyc_error *err)
{
	char *argv[2 + 3 * IDMAP_MAX + 1];
	char nums[3 * IDMAP_MAX + 1][12];
	int a = 0, k = 0;
	argv[a++] = (char *)tool;
	snprintf(nums[k], sizeof(nums[k]), "%d", target);
	argv[a++] = nums[k++];
	for (int j = 0; j < m->n; j++) {
		uint32_t v[3] = { m->ent[j].inside, m->ent[j].outside, m->ent[j].count };
		for (int x = 0; x < 3; x++) {
			snprintf(nums[k], sizeof(nums[k]), "%u", v[x]);
			argv[a++] = nums[k++];
		}
	}
	argv[a] = NULL;
	_cleanup_fd_pair_ struct fd_pair pipefd = FD_PAIR_INIT;
	if (fd_pair_pipe(&pipefd, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd.fd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	int r = posix_spawn(&h->pid[i], tool, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(steal_fd(&pipefd.fd[1]));
	if (r != 0)
		return diyc_error(err, r, "run `%s`", tool);
	h->errfd[i] = steal_fd(&pipefd.fd[0]);
	h->tool[i] = tool;
	h->started = i + 1;
	return 0;
}

static int finish_map_helper(struct map_helpers *h, int i, struct diyc_error *err, int prev)
{
	char out[512];
	ssize_t n = 0, k;
	while (n < (ssize_t)sizeof(out) - 1 && (k = read(h->errfd[i], out + n, sizeof(out) - 1 - n)) > 0)
		n += k;
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	close(h->errfd[i]);
	int status;
	reap(h->pid[i], &status);
	if (prev < 0)
		return prev;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *nl;
		while ((nl = strchr(out, '\n')))
			*nl = ' ';
		return diyc_error_plain(err, EPERM,
			"`%s` failed to write the id map: %s (check /etc/subuid and /etc/subgid, and that %s is setuid root)",
			h->tool[i], n ? out : "no output", h->tool[i]);
	}
	return 0;
}

int userns_maps_start(const struct userns_plan *plan, pid_t pid, struct map_helpers *h, struct diyc_error *err)
{
	memset(h, 0, sizeof(*h));
	if (!plan->enabled)
		return 0;
	if (plan->single) {
		char buf[64];
		snprintf(buf, sizeof(buf), "0 %u 1\n", plan->uids.ent[0].outside);
		int r = write_proc(pid, "uid_map", buf);
		if (r < 0)
			return diyc_error(err, -r, "write uid_map of %d", pid);
		r = write_proc(pid, "setgroups", "deny");
		if (r < 0)
			return diyc_error(err, -r, "write setgroups of %d", pid);
		snprintf(buf, sizeof(buf), "0 %u 1\n", plan->gids.ent[0].outside);
		r = write_proc(pid, "gid_map", buf);
		if (r < 0)
			return diyc_error(err, -r, "write gid_map of %d", pid);
		return 0;
	}
	/* both helpers are setuid programs that take a while to start: run them at once */
	int r = spawn_map_helper(h, 0, plan->newuidmap, pid, &plan->uids, err);
	if (r == 0)
		r = spawn_map_helper(h, 1, plan->newgidmap, pid, &plan->gids, err);
	if (r < 0)
		userns_maps_finish(h, NULL);
	return r;
}

int userns_maps_finish(struct map_helpers *h, struct diyc_error *err)
{
	int r = 0;
	for (int i = 0; i < h->started; i++)
		r = finish_map_helper(h, i, err, err ? r : -ECANCELED);
	h->started = 0;
	return r;
}

static int userns_write_maps(const struct userns_plan *plan, pid_t pid, struct diyc_error *err)
{
	struct map_helpers h;
	int r = userns_maps_start(plan, pid, &h, err);
	if (r < 0)
		return r;
	return userns_maps_finish(&h, err);
}

pid_t clone_fork(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

pid_t clone_fork_into(unsigned long flags, int cgroup_fd)
{
	if (cgroup_fd < 0)
		return clone_fork(flags);
	struct clone_args args = {
		.flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd,
	};
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

int userns_run(const struct userns_plan *plan, unsigned long extra_flags,
	       int (*fn)(void *arg, struct diyc_error *err), void *arg, struct diyc_error *err)
{
	_cleanup_fd_pair_ struct fd_pair sync = FD_PAIR_INIT, errpipe = FD_PAIR_INIT;
	if (fd_pair_pipe(&sync, O_CLOEXEC) < 0 || fd_pair_pipe(&errpipe, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	bool join = plan->enabled && plan->join;
	unsigned long flags = extra_flags | (plan->enabled && !join ? CLONE_NEWUSER : 0);
	pid_t pid = clone_fork(join ? 0 : flags);
	if (pid < 0)
		return diyc_error(err, errno, "create a user namespace (are unprivileged user namespaces enabled?)");
	if (pid == 0) {
		close(sync.fd[1]);
		close(errpipe.fd[0]);
		char c;
		if (read(sync.fd[0], &c, 1) != 1)
			_exit(DIYC_EXIT_RUNTIME);
		struct diyc_error cerr = { 0 };
		int r = 0;
		if (join && (setns(plan->join_fd, CLONE_NEWUSER) < 0 || (extra_flags && unshare(extra_flags) < 0)))
			r = diyc_error(&cerr, errno, "enter the container's user namespace");
		if (r == 0)
			r = fn(arg, &cerr);
		if (r < 0) {
			write_all(errpipe.fd[1], &cerr, sizeof(cerr));
			_exit(DIYC_EXIT_RUNTIME);
		}
		_exit(0);
	}
	close(steal_fd(&sync.fd[0]));
	close(steal_fd(&errpipe.fd[1]));
	int r = join ? 0 : userns_write_maps(plan, pid, err);
	if (r == 0 && write(sync.fd[1], "g", 1) != 1)
		r = diyc_error(err, errno, "start the user namespace child");
	close(steal_fd(&sync.fd[1]));
	struct diyc_error cerr;
	ssize_t n = read(errpipe.fd[0], &cerr, sizeof(cerr));
	close(steal_fd(&errpipe.fd[0]));
	int status;
	reap(pid, &status);
	if (r < 0)
		return r;
	if (n == (ssize_t)sizeof(cerr)) {
		cerr.msg[sizeof(cerr.msg) - 1] = '\0';
		if (err)
			*err = cerr;
		return cerr.errnum ? -cerr.errnum : -EINVAL;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return diyc_error_plain(err, EIO, "the user namespace helper process died unexpectedly");
	return 0;
}

static int rm_in_userns(void *arg, struct diyc_error *err)
{
	int r = rm_rf(arg);
	if (r < 0)
		return diyc_error(err, -r, "remove `%s`", (const char *)arg);
	return 0;
}

int remove_tree(const struct userns_plan *plan, const char *path, struct diyc_error *err)
{
	int r = rm_rf(path);
	if (r == 0)
		return 0;
	if ((r == -EACCES || r == -EPERM || r == -ENOTEMPTY) && plan->enabled)
		return userns_run(plan, 0, rm_in_userns, (void *)path, err);
	return diyc_error(err, -r, "remove `%s`", path);
}
