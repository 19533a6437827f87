/* SPDX-License-Identifier: MIT */
/* state.c: ROOT/ID/state.json of a container an engine drives, written atomically under
 * the directory's flock, and the status read from the live process each time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "state.h"
#include "cgroups.h"
#include "lib/util.h"

const char *const oci_status_names[] = { "creating", "created", "running", "paused", "stopped" };

int oci_id_check(const char *id, struct diyc_error *err)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") != n ||
	    !strcmp(id, ".") || !strcmp(id, ".."))
		return diyc_error_plain(err, EINVAL, "invalid container id `%s`: use letters, digits and `_+-.` only",
					id);
	return 0;
}

/* Whether we run in a user namespace other than the initial one (uid_map is not the
 * identity of every id). */
static bool in_user_namespace(void)
{
	char buf[128] = "";
	_cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return false;
	unsigned long a, b, c;
	return sscanf(buf, "%lu %lu %lu", &a, &b, &c) != 3 || a != 0 || b != 0 || c != 4294967295UL;
}

/* Root of a user namespace that rootless podman made (USER is not root there) keeps its
 * state where the user's is, as runc decides. */
static bool use_xdg_runtime_dir(void)
{
	if (geteuid() != 0)
		return true;
	const char *user = getenv("USER");
	return in_user_namespace() && (!user || strcmp(user, "root") != 0);
}

int oci_root_default(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (!use_xdg_runtime_dir())
		n = snprintf(buf, size, "/run/diyc-oci");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/diyc-oci", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/diyc-oci");
	else
		n = snprintf(buf, size, "/tmp/diyc-oci-%u", (unsigned)geteuid());
	return n < (int)size ? 0 : -ENAMETOOLONG;
}

static int open_root(const char *root, bool create, struct diyc_error *err)
{
	if (create && mkdir_p(root, 0700) < 0 && errno != EEXIST)
		return diyc_error(err, errno, "create the state directory %s", root);
	int fd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return diyc_error(err, errno, "open the state directory %s", root);
	/* another user may have made it first (the default without XDG_RUNTIME_DIR is in
	 * /tmp): state, pid files and the exec fifo go only where nobody else may write */
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		int r = diyc_error_plain(err, EPERM, "the state directory %s is not a directory of yours that only you "
					 "may write (owner uid %u, mode %04o): remove it or choose another --root", root,
					 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return r;
	}
	return fd;
}

int oci_state_create_dir(const char *root, const char *id, int *dirfd, struct diyc_error *err)
{
	_cleanup_close_ int rootfd = open_root(root, true, err);
	if (rootfd < 0)
		return rootfd;
	if (mkdirat(rootfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return diyc_error_plain(err, EEXIST, "container with id exists: %s", id);
		return diyc_error(err, errno, "create %s/%s", root, id);
	}
	int fd = openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlinkat(rootfd, id, AT_REMOVEDIR);
		return diyc_error(err, e, "open %s/%s", root, id);
	}
	*dirfd = fd;
	return 0;
}

int oci_state_open(const char *root, const char *id, int lock, int *dirfd, struct diyc_error *err)
{
	int r = oci_id_check(id, err);
	if (r < 0)
		return r;
	_cleanup_close_ int rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int fd = rootfd < 0 ? -1 : openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return diyc_error_plain(err, ENOENT, "container %s does not exist", id);
		return diyc_error(err, errno, "open the state of container %s in %s", id, root);
	}
	if (lock && flock(fd, lock) < 0) {
		close(fd);
		return diyc_error(err, errno, "lock the state of container %s", id);
	}
	*dirfd = fd;
	return 0;
}

int oci_state_write(int dirfd, const struct oci_state *st, struct diyc_error *err)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(st->pid_start));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "owner", json_object_new_int64(st->owner));
	json_object_object_add(o, "annotations",
			       json_tokener_parse(st->annotations_json ? st->annotations_json : "{}"));
	json_object_object_add(o, "cgroup", json_object_new_string(st->cgroup));
	json_object_object_add(o, "systemd", json_object_new_boolean(st->systemd));
	json_object_object_add(o, "scope", json_object_new_string(st->scope));
	json_object_object_add(o, "own_pidns", json_object_new_boolean(st->own_pidns));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int r = write_file_atomic_nosync(dirfd, OCI_STATE_FILE, text, strlen(text), 0600);
	json_object_put(o);
	return r < 0 ? diyc_error(err, -r, "write the state of container %s", st->id) : 0;
}

static void copy_str(struct json_object *o, const char *key, char *out, size_t size)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(v));
}

int oci_state_read(int dirfd, const char *id, struct oci_state *st, struct diyc_error *err)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->id, sizeof(st->id), "%s", id);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(dirfd, OCI_STATE_FILE, 1 << 20, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return diyc_error(err, -r, "read the state of container %s", id);
	struct json_object *o = json_tokener_parse(text), *v;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return diyc_error_plain(err, EINVAL, "the state of container %s is damaged", id);
	}
	if (json_object_object_get_ex(o, "pid", &v))
		st->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "pid_start", &v))
		st->pid_start = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "owner", &v))
		st->owner = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "systemd", &v))
		st->systemd = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "own_pidns", &v))
		st->own_pidns = json_object_get_boolean(v);
	copy_str(o, "bundle", st->bundle, sizeof(st->bundle));
	copy_str(o, "rootfs", st->rootfs, sizeof(st->rootfs));
	copy_str(o, "created", st->created, sizeof(st->created));
	copy_str(o, "cgroup", st->cgroup, sizeof(st->cgroup));
	copy_str(o, "scope", st->scope, sizeof(st->scope));
	st->annotations_json = strdup(json_object_object_get_ex(o, "annotations", &v)
					      ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "{}");
	json_object_put(o);
	return st->annotations_json ? 0 : diyc_error(err, ENOMEM, "state");
}

void oci_state_free(struct oci_state *st)
{
	free(st->annotations_json);
	st->annotations_json = NULL;
}

bool oci_pid_alive(pid_t pid, uint64_t start)
{
	bool zombie = false;
	return pid > 0 && proc_start_time(pid, &zombie) == start && start && !zombie;
}

enum oci_status oci_state_status(int dirfd, const struct oci_state *st)
{
	if (st->pid <= 0) {
		/* no state yet: a create at work holds the lock (or it died: stopped) */
		_cleanup_close_ int probe = openat(dirfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (probe >= 0 && flock(probe, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
			return OCI_CREATING;
		return OCI_STOPPED;
	}
	if (!oci_pid_alive(st->pid, st->pid_start))
		return OCI_STOPPED;
	if (faccessat(dirfd, OCI_EXEC_FIFO, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return OCI_CREATED;
	if (st->cgroup[0]) {
		struct oci_cgroup cg = { .systemd = st->systemd };
		snprintf(cg.path, sizeof(cg.path), "%s", st->cgroup);
		if (oci_cgroup_is_frozen(&cg))
			return OCI_PAUSED;
	}
	return OCI_RUNNING;
}

char *oci_state_json(const struct oci_state *st, enum oci_status status, bool pretty)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(status == OCI_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status", json_object_new_string(oci_status_names[status]));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "owner", json_object_new_string(""));
	struct json_object *ann = json_tokener_parse(st->annotations_json ? st->annotations_json : "{}");
	json_object_object_add(o, "annotations", ann ? ann : json_object_new_object());
	char *s = strdup(json_object_to_json_string_ext(o, pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE
								    : JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

int oci_state_remove(const char *root, const char *id, struct diyc_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, id);
	if (!path)
		return diyc_error(err, ENOMEM, "remove");
	int r = rm_rf(path);
	return r < 0 ? diyc_error(err, -r, "remove %s", path) : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int oci_state_list(const char *root, char ***ids, struct diyc_error *err)
{
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;
	*ids = NULL;
	if (!v)
		return diyc_error(err, ENOMEM, "list");
	_cleanup_closedir_ DIR *d = opendir(root);
	if (!d) {
		if (errno == ENOENT) {
			*ids = v;
			return 0;
		}
		free(v);
		return diyc_error(err, errno, "read the state directory %s", root);
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.' && strv_push(&v, &n, strdup(e->d_name)) < 0) {
			strv_free(v);
			return diyc_error(err, ENOMEM, "list");
		}
	qsort(v, n, sizeof(char *), cmp_str);
	*ids = v;
	return 0;
}
