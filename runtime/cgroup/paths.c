/* SPDX-License-Identifier: MIT */
/* paths.c: the cgroup v2 tree as the backends and the limits use it (cgroup/paths.h):
 * a process's cgroup, reading and writing a cgroup's files, leaves, removal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "paths.h"
#include "lib/util.h"

int cgroup_of_pid(pid_t pid, char *out, size_t size)
{
	char file[64];
	if (pid)
		snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(file, sizeof(file), "/proc/self/cgroup");
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(AT_FDCWD, file, 1 << 16, &s, NULL);
	if (r < 0)
		return r;
	for (char *line = s; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (str_has_prefix(line, "0::")) {
			snprintf(out, size, "%s", line + 3);
			return 0;
		}
		line = next;
	}
	return -ENOENT;
}

void cg_path(char *out, size_t size, const char *rel, const char *file)
{
	snprintf(out, size, CGROUP_ROOT "%s%s%s", strcmp(rel, "/") ? rel : "", file ? "/" : "", file ? file : "");
}

int cg_write(const char *dir, const char *file, const char *value)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

int cg_read(const char *dir, const char *file, char **out)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return read_file_at(AT_FDCWD, p, 1 << 16, out, NULL);
}

/* The value of KEY in a flat-keyed file (memory.events, cpu.stat). */
int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *out)
{
	_cleanup_free_ char *s = NULL;
	int r = cg_read(dir, file, &s);
	if (r < 0)
		return r;
	size_t k = strlen(key);
	for (char *line = s; line && *line;) {
		if (!strncmp(line, key, k) && line[k] == ' ')
			return parse_u64(strtok(line + k + 1, "\n"), UINT64_MAX, out);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* Removes an empty cgroup, waiting a little for the kernel to let go of exited tasks. */
static int cg_rmdir(const char *abs)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(abs) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

/* Removes a cgroup and what is below it, depth-first: a container may have made cgroups
 * of its own inside. kill: first kill what is left in it (cgroup.kill, Linux 5.14). */
int cg_remove_tree(const char *abs, bool kill, int depth)
{
	if (kill && depth == 0)
		cg_write(abs, "cgroup.kill", "1");
	DIR *d = depth < 32 ? opendir(abs) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		if (snprintf(sub, sizeof(sub), "%s/%s", abs, e->d_name) < (int)sizeof(sub))
			cg_remove_tree(sub, false, depth + 1);
	}
	if (d)
		closedir(d);
	return cg_rmdir(abs);
}

/* Moves every process of dir into dir/leaf, so that dir may enable controllers for its
 * children (cgroup v2 allows processes only in leaves then). */
int move_all_to_leaf(const char *dir, const char *leaf, struct diyc_error *err)
{
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/%s", dir, leaf);
	if (mkdir(sub, 0755) < 0 && errno != EEXIST)
		return diyc_error(err, errno, "create cgroup %s", sub);
	for (int round = 0; round < 10; round++) {
		_cleanup_free_ char *procs = NULL;
		int r = cg_read(dir, "cgroup.procs", &procs);
		if (r < 0)
			return diyc_error(err, -r, "read %s/cgroup.procs", dir);
		if (!*procs)
			return 0;
		for (char *tok = strtok(procs, "\n"); tok; tok = strtok(NULL, "\n")) {
			r = cg_write(sub, "cgroup.procs", tok);
			if (r < 0 && r != -ESRCH)
				return diyc_error(err, -r, "move process %s into cgroup %s", tok, sub);
		}
	}
	return diyc_error_plain(err, EBUSY, "cgroup %s keeps getting new processes", dir);
}
