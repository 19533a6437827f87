/* SPDX-License-Identifier: MIT */
/* store.c: a container on disk: its directories, config.json, state.json and the lock
 * file, and the rules for names. Claiming a name is one atomic step: a directory
 * prepared under a temporary name (with the lock file, already locked) is renamed to
 * DATA/containers/NAME with RENAME_NOREPLACE; of two `run --name X` at once, one rename
 * wins and the other gets EEXIST. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <json-c/json.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "store.h"
#include "lib/userns.h"
#include "lib/util.h"
#include "storage/disk-quota.h"

bool container_name_valid(const char *name)
{
	return store_name_valid(name, CONTAINER_NAME_MAX);
}

bool hostname_valid(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 63)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!alnum && !(c == '-' && label > 0))
			return false;
		label++;
	}
	return label > 0 && h[n - 1] != '-';
}

void hostname_from_name(const char *name, char *out, size_t outsz)
{
	size_t n = 0;
	for (const char *c = name; *c && n < 63 && n + 1 < outsz; c++)
		out[n++] = (*c == '_') ? '-' : *c;
	while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.'))
		n--;
	out[n] = '\0';
	if (!hostname_valid(out))
		snprintf(out, outsz, "diyc");
}

static const char *adjectives[] = {
	"brave", "calm", "clever", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lively",
	"lucid", "merry", "nimble", "proud", "quiet", "quick", "sharp", "shiny", "silent", "steady",
	"swift", "tidy", "vivid", "witty", "bold", "bright", "crisp", "daring", "fond", "noble",
};
static const char *nouns[] = {
	"otter", "falcon", "maple", "comet", "badger", "heron", "lynx", "cedar", "panda", "raven",
	"walrus", "orca", "ibex", "koala", "marten", "osprey", "puffin", "quokka", "robin", "salmon",
	"tapir", "viper", "wombat", "yak", "zebra", "bison", "crane", "dingo", "egret", "gecko",
};

static void fill_dirs(const struct diyc_paths *p, const char *name, struct container_dirs *d)
{
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->data, sizeof(d->data), "%s/containers/%s", p->data, name);
	snprintf(d->run, sizeof(d->run), "%s/containers/%s", p->run, name);
	snprintf(d->upper, sizeof(d->upper), "%s/upper", d->data);
	snprintf(d->work, sizeof(d->work), "%s/work", d->data);
	snprintf(d->rootfs, sizeof(d->rootfs), "%s/rootfs", d->run);
}

static int ofd_lock(int fd, int byte, short type, bool wait)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &l) < 0) {
		if (errno == EINTR && wait)
			continue;
		return (errno == EAGAIN || errno == EACCES) ? -EBUSY : -errno;
	}
	return 0;
}

static void generate_name(char *out, size_t size, int tries)
{
	unsigned char rnd[3] = { 0 };
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd[2] = (unsigned char)getpid();
	const char *a = adjectives[rnd[0] % ARRAY_SIZE(adjectives)];
	const char *n = nouns[rnd[1] % ARRAY_SIZE(nouns)];
	if (tries < 8)
		snprintf(out, size, "%s_%s", a, n);
	else
		snprintf(out, size, "%s_%s_%u", a, n, (unsigned)rnd[2] * 256 + tries);
}

int container_claim(const struct diyc_paths *p, const char *name, struct container *c, struct diyc_error *err)
{
	memset(c, 0, sizeof(*c));
	c->dirfd = c->lockfd = -1;
	int r = paths_ensure_data(p, "containers", err);
	if (r < 0)
		return r;
	if ((r = paths_ensure_run(p, "containers", err)) < 0)
		return r;
	char cdir[PATH_MAX], tmp[48], rnd[17];
	snprintf(cdir, sizeof(cdir), "%s/containers", p->data);
	_cleanup_close_ int cfd = open(cdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		return diyc_error(err, errno, "open `%s`", cdir);
	random_hex(rnd, 8);
	/* the creator's pid in the name: a leftover of a dead creator goes at once */
	snprintf(tmp, sizeof(tmp), ".new-%d-%s", (int)getpid(), rnd);
	if (mkdirat(cfd, tmp, 0700) < 0)
		return diyc_error(err, errno, "create a container directory in `%s`", cdir);
	c->dirfd = openat(cfd, tmp, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (c->dirfd >= 0)
		c->lockfd = openat(c->dirfd, "lock", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (c->lockfd < 0 || ofd_lock(c->lockfd, 0, F_WRLCK, false) < 0 || ofd_lock(c->lockfd, 1, F_WRLCK, false) < 0) {
		r = diyc_error(err, errno, "create the lock of a new container");
		goto fail;
	}
	c->locked = true;
	for (int tries = 0;; tries++) {
		char gen[CONTAINER_NAME_MAX + 1];
		if (!name)
			generate_name(gen, sizeof(gen), tries);
		const char *n = name ? name : gen;
		if (renameat2(cfd, tmp, cfd, n, RENAME_NOREPLACE) == 0) {
			fill_dirs(p, n, &c->d);
			return 0;
		}
		if (errno == EEXIST && name) {
			r = diyc_error_hint(err, diyc_error_plain(err, EEXIST, "the container name `%s` is already in use",
								  name), DIYC_HINT_NAME_TAKEN, name);
			goto fail;
		}
		if (errno != EEXIST || tries > 64) {
			r = diyc_error(err, errno, "name the container directory `%s`", n);
			goto fail;
		}
	}
fail:
	if (c->lockfd >= 0)
		unlinkat(c->dirfd, "lock", 0);
	unlinkat(cfd, tmp, AT_REMOVEDIR);
	container_close(c);
	return r;
}

int container_open(const struct diyc_paths *p, const char *name, struct container *c, struct diyc_error *err)
{
	memset(c, 0, sizeof(*c));
	c->dirfd = c->lockfd = -1;
	if (!container_name_valid(name))
		return diyc_error_hint(err, diyc_error_plain(err, ENOENT, "no such container `%s`", name),
				       DIYC_HINT_NO_CONTAINER, name);
	fill_dirs(p, name, &c->d);
	c->dirfd = open(c->d.data, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (c->dirfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return diyc_error_hint(err, diyc_error_plain(err, ENOENT, "no such container `%s`", name),
					       DIYC_HINT_NO_CONTAINER, name);
		return diyc_error(err, errno, "open container `%s`", name);
	}
	c->lockfd = openat(c->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lockfd < 0) {
		int r = diyc_error(err, errno, "open the lock of container `%s`", name);
		container_close(c);
		return r;
	}
	_cleanup_free_ char *json = NULL;
	if (read_file_at(c->dirfd, "config.json", 1 << 20, &json, NULL) == 0) {
		struct diyc_error ignore = { 0 };
		c->have_config = config_from_json(json, &c->cfg, &ignore) == 0;
	}
	return container_refresh(c, err);
}

void container_close(struct container *c)
{
	if (c->lockfd >= 0)
		close(c->lockfd);
	if (c->dirfd >= 0)
		close(c->dirfd);
	c->lockfd = c->dirfd = -1;
	c->locked = false;
	if (c->have_config)
		config_free(&c->cfg);
	c->have_config = false;
}

int container_lock(struct container *c, struct diyc_error *err)
{
	int r = ofd_lock(c->lockfd, 0, F_WRLCK, true);
	if (r < 0)
		return diyc_error(err, -r, "lock container `%s`", c->d.name);
	c->locked = true;
	return 0;
}

void container_unlock(struct container *c)
{
	if (c->locked)
		ofd_lock(c->lockfd, 0, F_UNLCK, false);
	c->locked = false;
}

int container_take_monitor(struct container *c)
{
	return ofd_lock(c->lockfd, 1, F_WRLCK, false);
}

void container_release_monitor(struct container *c)
{
	ofd_lock(c->lockfd, 1, F_UNLCK, false);
}

bool container_monitor_alive(const struct container *c)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	if (fcntl(c->lockfd, F_OFD_GETLK, &l) < 0)
		return false;
	return l.l_type != F_UNLCK;
}

const char *container_status_name(enum container_status s)
{
	switch (s) {
	case STATUS_RUNNING: return "running";
	case STATUS_EXITED: return "exited";
	default: return "created";
	}
}

static void copy_json_str(struct json_object *j, const char *key, char *out, size_t size)
{
	struct json_object *v;
	if (json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(v));
}

static int64_t json_int(struct json_object *j, const char *key)
{
	struct json_object *v;
	if (json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return 0;
}

int container_refresh(struct container *c, struct diyc_error *err)
{
	struct container_state *st = &c->st;
	memset(st, 0, sizeof(*st));
	_cleanup_free_ char *json = NULL;
	int r = read_file_at(c->dirfd, "state.json", 1 << 16, &json, NULL);
	if (r < 0 && r != -ENOENT)
		return diyc_error(err, -r, "read the state of container `%s`", c->d.name);
	struct json_object *j = json ? json_tokener_parse(json) : NULL;
	if (j && json_object_is_type(j, json_type_object)) {
		char status[16] = "";
		copy_json_str(j, "status", status, sizeof(status));
		st->status = !strcmp(status, "running") ? STATUS_RUNNING
			   : !strcmp(status, "exited") ? STATUS_EXITED : STATUS_CREATED;
		st->pid = (pid_t)json_int(j, "pid");
		st->pid_start = (uint64_t)json_int(j, "pid_start");
		st->monitor_pid = (pid_t)json_int(j, "monitor_pid");
		st->exit_code = (int)json_int(j, "exit_code");
		copy_json_str(j, "started_at", st->started_at, sizeof(st->started_at));
		copy_json_str(j, "finished_at", st->finished_at, sizeof(st->finished_at));
		copy_json_str(j, "cgroup", st->cgroup, sizeof(st->cgroup));
		copy_json_str(j, "cgroup_scope", st->cgroup_scope, sizeof(st->cgroup_scope));
		copy_json_str(j, "ip", st->ip, sizeof(st->ip));
		copy_json_str(j, "bridge", st->bridge, sizeof(st->bridge));
		struct json_object *v;
		st->oom_killed = json_object_object_get_ex(j, "oom_killed", &v) && json_object_get_boolean(v);
	}
	json_object_put(j);
	if (container_monitor_alive(c)) {
		if (st->status != STATUS_RUNNING) {
			/* being started: the monitor holds the container, its PID 1 is not recorded yet */
			st->pid = 0;
			st->status = STATUS_RUNNING;
		}
	} else if (st->status == STATUS_RUNNING) {
		st->status = STATUS_EXITED;
		st->exit_code = 128 + 9;
		st->monitor_lost = true;
	}
	return 0;
}

int container_write_state(struct container *c, const struct container_state *st, bool durable,
			  struct diyc_error *err)
{
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "status", json_object_new_string(container_status_name(st->status)));
	json_object_object_add(j, "pid", json_object_new_int64(st->pid));
	json_object_object_add(j, "pid_start", json_object_new_int64((int64_t)st->pid_start));
	json_object_object_add(j, "monitor_pid", json_object_new_int64(st->monitor_pid));
	json_object_object_add(j, "exit_code", json_object_new_int(st->exit_code));
	json_object_object_add(j, "started_at", json_object_new_string(st->started_at));
	json_object_object_add(j, "finished_at", json_object_new_string(st->finished_at));
	json_object_object_add(j, "cgroup", json_object_new_string(st->cgroup));
	json_object_object_add(j, "cgroup_scope", json_object_new_string(st->cgroup_scope));
	json_object_object_add(j, "oom_killed", json_object_new_boolean(st->oom_killed));
	if (st->ip[0]) {
		json_object_object_add(j, "ip", json_object_new_string(st->ip));
		json_object_object_add(j, "bridge", json_object_new_string(st->bridge));
	}
	const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	int r = durable ? write_file_atomic(c->dirfd, "state.json", s, strlen(s), 0600)
			: write_file_atomic_nosync(c->dirfd, "state.json", s, strlen(s), 0600);
	json_object_put(j);
	if (r < 0)
		return diyc_error(err, -r, "write the state of container `%s`", c->d.name);
	return 0;
}

int container_write_config(struct container *c, const char *json, bool durable, struct diyc_error *err)
{
	int r = durable ? write_file_atomic(c->dirfd, "config.json", json, strlen(json), 0600)
			: write_file_atomic_nosync(c->dirfd, "config.json", json, strlen(json), 0600);
	if (r < 0)
		return diyc_error(err, -r, "write the configuration of container `%s`", c->d.name);
	return 0;
}

int container_populate(const struct container *c, struct diyc_error *err)
{
	const struct container_dirs *d = &c->d;
	int r = 0;
	/* a run dir left by a crash is stale: its mounts lived in the container's namespace */
	if (mkdir(d->run, 0700) < 0 && errno == EEXIST) {
		rm_rf(d->run);
		r = mkdir(d->run, 0700) < 0 ? -errno : 0;
	}
	if (r == 0 && mkdir(d->upper, 0755) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0 && mkdir(d->work, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0 && mkdir(d->rootfs, 0755) < 0)
		r = -errno;
	if (r < 0)
		return diyc_error(err, -r, "create the directories of container `%s`", d->name);
	return 0;
}

/* Removes a container's data dir (DATA/containers/.rm-*), and what held its disk size: the
 * image's loop device is gone first, the project id is freed after its files. */
static int remove_data(const struct userns_plan *plan, const char *path, struct diyc_error *err)
{
	_cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	uint32_t id = 0;
	if (dfd >= 0) {
		if (project_quota_of(dfd, "upper", &id) < 0)
			id = 0;
		if (disk_image_wait_unused(dfd, DISK_IMAGE_NAME, 5000) < 0)
			diyc_warn("a loop device still holds the disk image of `%s`", path);
	}
	int r = remove_tree(plan, path, err);
	if (r == 0 && id != 0) {
		struct diyc_error e = { 0 };
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(path, '/') - path), path);
		_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0 || project_quota_release(pfd, id, &e) < 0)
			diyc_warn("project quota id %u of `%s` stays limited: %s", id, path, e.msg);
	}
	return r;
}

int container_remove(struct container *c, const struct userns_plan *plan, struct diyc_error *err)
{
	char parent[PATH_MAX], gone[PATH_MAX], rnd[9];
	snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(c->d.data, '/') - c->d.data), c->d.data);
	random_hex(rnd, 4);
	snprintf(gone, sizeof(gone), "%s/.rm-%s-%s", parent, rnd, c->d.name);
	if (rename(c->d.data, gone) < 0)
		return diyc_error(err, errno, "remove container `%s`", c->d.name);
	int r1 = remove_tree(plan, c->d.run, err);
	int r2 = remove_data(plan, gone, err);
	return r1 < 0 ? r1 : r2;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int container_list(const struct diyc_paths *p, char ***names, struct diyc_error *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/containers", p->data);
	*names = calloc(1, sizeof(char *));
	if (!*names)
		return diyc_error(err, ENOMEM, "list containers");
	_cleanup_closedir_ DIR *dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : diyc_error(err, errno, "open `%s`", dir);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		if (!container_name_valid(e->d_name))
			continue;
		char **m = realloc(*names, (n + 2) * sizeof(char *));
		if (!m)
			return diyc_error(err, ENOMEM, "list containers");
		*names = m;
		if (!(m[n] = strdup(e->d_name)))
			return diyc_error(err, ENOMEM, "list containers");
		m[++n] = NULL;
	}
	qsort(*names, n, sizeof(char *), cmp_str);
	return 0;
}

/* Whether the process named in `.new-PID-RANDOM` is gone (not just another user's). */
static bool creator_dead(const char *entry)
{
	return pid_prefix_gone(entry + strlen(".new-")) > 0;
}

void container_clean_leftovers(const struct diyc_paths *p, const struct userns_plan *plan)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/containers", p->data);
	_cleanup_closedir_ DIR *dp = opendir(dir);
	if (!dp)
		return;
	struct dirent *e;
	while ((e = readdir(dp))) {
		bool fresh = str_has_prefix(e->d_name, ".new-"), removing = str_has_prefix(e->d_name, ".rm-");
		if (!fresh && !removing)
			continue;
		_cleanup_close_ int dfd = openat(dirfd(dp), e->d_name, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd < 0)
			continue;
		_cleanup_close_ int lfd = openat(dfd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (lfd < 0) {
			/* a `.new-` directory gets its lock file right after mkdir: give its creator
			 * time, unless it is dead */
			struct stat sb;
			if (fresh && !creator_dead(e->d_name) && (fstat(dfd, &sb) < 0 || sb.st_mtime > time(NULL) - 60))
				continue;
		} else if (ofd_lock(lfd, 1, F_WRLCK, false) < 0) {
			continue; /* its creator or remover is at work */
		}
		char path[PATH_MAX];
		struct diyc_error ignore = { 0 };
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		remove_data(plan, path, &ignore);
	}
}

