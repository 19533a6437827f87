/* SPDX-License-Identifier: MIT */
/* volume-store.c: the volume store (volume-store.h): DATA/volumes/NAME/volume.json, what
 * `volume inspect` shows, and DATA/volumes/NAME/_data, what containers mount.
 *
 * - Creating and removing hold an exclusive flock() on DATA/volumes itself (no container
 *   reaches that directory: they get _data alone). A volume is made complete under a
 *   temporary name `.new-PID-RANDOM` and renamed into place, and removed by renaming it to
 *   `.rm-RANDOM-NAME` first, so a name is either all there or free; a crash leaves a dot
 *   name, which no volume name can be, and volume_clean_leftovers() removes it.
 * - _data is opened for a container only through openat2() below DATA/volumes with no
 *   symlink anywhere: whoever swaps _data (or NAME) for a link gets an error, never a
 *   mount of where it points.
 * - `--opt size=` is a project quota on _data (storage/disk-quota.h), which only root can
 *   set and only where the filesystem has project quotas; elsewhere it is refused before
 *   anything is made. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "disk-quota.h"
#include "lib/du.h"
#include "lib/util.h"
#include "volume-store.h"

#define VOLUME_JSON_MAX (1 << 20)

bool volume_name_valid(const char *name)
{
	return store_name_valid(name, VOLUME_NAME_MAX);
}

static int check_name(const char *name, struct diyc_error *err)
{
	if (volume_name_valid(name))
		return 0;
	return diyc_error_plain(err, EINVAL, "invalid volume name `%s`: use letters, digits and `_.-`, starting with "
				"a letter or digit, at most %d characters", name, VOLUME_NAME_MAX);
}

static void volumes_dir(const struct diyc_paths *p, char *out, size_t size)
{
	snprintf(out, size, "%s/volumes", p->data);
}

/* DATA/volumes, created when missing; locked (exclusive) when lock is true. */
static int open_volumes(const struct diyc_paths *p, bool create, bool lock, struct diyc_error *err)
{
	char dir[PATH_MAX];
	volumes_dir(p, dir, sizeof(dir));
	if (create) {
		int r = paths_ensure_data(p, "volumes", err);
		if (r < 0)
			return r;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : diyc_error(err, errno, "open `%s`", dir);
	if (lock && flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return diyc_error(err, e, "lock `%s`", dir);
	}
	return fd;
}

static int no_such_volume(const char *name, struct diyc_error *err)
{
	return diyc_error_hint(err, diyc_error_plain(err, ENOENT, "no such volume `%s`", name), DIYC_HINT_NO_VOLUME,
			       name);
}

/* DATA/volumes for a look at volume NAME (a valid name; no DATA/volumes: no such volume) */
static int open_volumes_for(const struct diyc_paths *p, const char *name, bool lock, struct diyc_error *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	int fd = open_volumes(p, false, lock, err);
	return fd == -ENOENT ? no_such_volume(name, err) : fd;
}

/* ---- volume.json ---- */

struct json_object *volume_kv_json(char *const *kv)
{
	struct json_object *o = json_object_new_object();
	for (; kv && *kv; kv++) {
		const char *eq = strchr(*kv, '=');
		_cleanup_free_ char *key = eq ? strndup(*kv, eq - *kv) : strdup(*kv);
		if (key)
			json_object_object_add(o, key, json_object_new_string(eq ? eq + 1 : ""));
	}
	return o;
}

static char **kv_list(struct json_object *o)
{
	size_t n = 0;
	char **v = calloc((o ? json_object_object_length(o) : 0) + 1, sizeof(char *));
	if (!v || !o)
		return v;
	json_object_object_foreach(o, key, val) {
		if (!json_object_is_type(val, json_type_string))
			continue;
		if (!(v[n++] = xasprintf("%s=%s", key, json_object_get_string(val)))) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

static char *info_json(const struct volume_info *v)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "driver", json_object_new_string("local"));
	json_object_object_add(o, "created", json_object_new_string(v->created));
	json_object_object_add(o, "labels", volume_kv_json(v->labels));
	json_object_object_add(o, "options", volume_kv_json(v->options));
	json_object_object_add(o, "anonymous", json_object_new_boolean(v->anonymous));
	json_object_object_add(o, "size_limit", json_object_new_int64((int64_t)v->size_limit));
	json_object_object_add(o, "project_id", json_object_new_int64(v->project_id));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = s ? strdup(s) : NULL;
	json_object_put(o);
	return out;
}

static int info_parse(const char *text, struct volume_info *v)
{
	struct json_object *o = json_tokener_parse(text), *x;
	int r = -EINVAL;
	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	if (!json_object_object_get_ex(o, "name", &x) || !json_object_is_type(x, json_type_string) ||
	    strcmp(json_object_get_string(x), v->name))
		goto out;
	if (json_object_object_get_ex(o, "created", &x) && json_object_is_type(x, json_type_string))
		snprintf(v->created, sizeof(v->created), "%s", json_object_get_string(x));
	json_object_object_get_ex(o, "labels", &x);
	v->labels = kv_list(json_object_is_type(x, json_type_object) ? x : NULL);
	x = NULL;
	json_object_object_get_ex(o, "options", &x);
	v->options = kv_list(json_object_is_type(x, json_type_object) ? x : NULL);
	if (json_object_object_get_ex(o, "anonymous", &x))
		v->anonymous = json_object_get_boolean(x);
	if (json_object_object_get_ex(o, "size_limit", &x) && json_object_get_int64(x) > 0)
		v->size_limit = (uint64_t)json_object_get_int64(x);
	if (json_object_object_get_ex(o, "project_id", &x) && json_object_get_int64(x) > 0 &&
	    json_object_get_int64(x) <= UINT32_MAX)
		v->project_id = (uint32_t)json_object_get_int64(x);
	r = v->labels && v->options ? 0 : -ENOMEM;
out:
	json_object_put(o);
	return r;
}

static int open_dir_beneath(int dirfd, const char *name);
static int open_error(const struct diyc_paths *p, const char *name, int parentfd, const char *what, int e,
		      struct diyc_error *err);

/* Reads NAME's volume.json below volfd into v (name and mountpoint already set). */
static int info_read(const struct diyc_paths *p, int volfd, const char *name, struct volume_info *v,
		     struct diyc_error *err)
{
	_cleanup_close_ int dfd = open_dir_beneath(volfd, name);
	if (dfd < 0)
		return open_error(p, name, volfd, name, errno, err);
	_cleanup_close_ int fd = open_regular_at(dfd, "volume.json", RESOLVE_BENEATH, NULL);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = fd < 0 ? fd : read_fd_all(fd, VOLUME_JSON_MAX, &text, &len);
	if (r == 0 && strlen(text) != len)
		r = -EINVAL;
	if (r == 0)
		r = info_parse(text, v);
	if (r == -ENOMEM)
		return diyc_error(err, ENOMEM, "volume `%s`", name);
	if (r < 0)
		return diyc_error_hint(err, diyc_error_plain(err, EBADMSG, "volume `%s` is damaged (its volume.json is "
							     "missing or unreadable)", name),
				       DIYC_HINT_VOLUME_REPLACED, name);
	return 0;
}

static void time_now_utc(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void info_init(const struct diyc_paths *p, const char *name, struct volume_info *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->mountpoint, sizeof(v->mountpoint), "%s/volumes/%s/_data", p->data, name);
}

int volume_get(const struct diyc_paths *p, const char *name, struct volume_info *info, struct diyc_error *err)
{
	memset(info, 0, sizeof(*info));
	_cleanup_close_ int volfd = open_volumes_for(p, name, false, err);
	if (volfd < 0)
		return volfd;
	info_init(p, name, info);
	int r = info_read(p, volfd, name, info, err);
	if (r < 0)
		volume_info_free(info);
	return r;
}

void volume_info_free(struct volume_info *v)
{
	if (!v)
		return;
	strv_free(v->labels);
	strv_free(v->options);
	v->labels = v->options = NULL;
}

/* ---- creating ---- */

/* Whether the KEY=VALUE list given says the same as stored (the later of a key wins). */
static bool same_kv(char *const *given, char *const *stored)
{
	_cleanup_strv_ char **g = strv_dedup((char **)given, true);
	size_t ng = 0, ns = 0;
	if (!g)
		return false;
	for (char **a = g; *a; a++, ng++) {
		bool found = false;
		for (char *const *b = stored; b && *b && !found; b++)
			found = !strcmp(*a, *b) || (!strchr(*a, '=') && !strncmp(*b, *a, strlen(*a)) &&
						    !strcmp(*b + strlen(*a), "="));
		if (!found)
			return false;
	}
	for (char *const *b = stored; b && *b; b++)
		ns++;
	return ng == ns;
}

/* The --opt list: size=SIZE is all diyc can truly give (see the top). *size gets it. */
static int check_options(char *const *opts, uint64_t *size, struct diyc_error *err)
{
	*size = 0;
	for (char *const *o = opts; o && *o; o++) {
		const char *eq = strchr(*o, '=');
		size_t klen = eq ? (size_t)(eq - *o) : strlen(*o);
		if (klen == 4 && !strncmp(*o, "size", 4)) {
			if (!eq)
				return diyc_error_plain(err, EINVAL, "volume option `size` needs a value: size=SIZE");
			int r = disk_size_parse("--opt size", eq + 1, size, err);
			if (r < 0)
				return r;
			continue;
		}
		if ((klen == 4 && !strncmp(*o, "type", 4)) || (klen == 6 && !strncmp(*o, "device", 6)) ||
		    (klen == 1 && **o == 'o'))
			return diyc_error_plain(err, ENOTSUP, "volume option `%.*s` is not supported: docker's local "
						"driver hands type, device and o to mount(2) as the daemon's root, and "
						"diyc's volumes are directories in its store. For a host directory use "
						"a bind mount (-v /HOST/PATH:/PATH), for memory --tmpfs", (int)klen, *o);
		return diyc_error_plain(err, EINVAL, "unknown volume option `%.*s`: the one diyc takes is size=SIZE",
					(int)klen, *o);
	}
	return 0;
}

/* A size limit: root only, and only on a filesystem with project quotas (checked before
 * anything is made). */
static int check_size_possible(const struct diyc_paths *p, int volfd, uint64_t size, struct diyc_error *err)
{
	if (geteuid() != 0)
		return diyc_error_plain(err, EPERM, "--opt size needs root: a volume's size is a project quota on its "
					"directory, which only root can set (on a store on xfs mounted with prjquota, "
					"or ext4 with the project feature and quota)");
	if (!project_quota_available(volfd))
		return diyc_error_plain(err, ENOTSUP, "--opt size: the filesystem of the store (%s) has no project "
					"quotas; a volume's size needs xfs mounted with prjquota, or ext4 with the "
					"project feature and quota", p->data);
	char dir[PATH_MAX];
	volumes_dir(p, dir, sizeof(dir));
	return disk_size_check_free("--opt size", dir, size, err);
}

/* Fills the temporary directory tmpfd: _data (with its quota) and volume.json. */
static int fill_new(const struct diyc_paths *p, int tmpfd, struct volume_info *v, struct diyc_error *err)
{
	if (mkdirat(tmpfd, "_data", 0755) < 0)
		return diyc_error(err, errno, "create the data directory of volume `%s`", v->name);
	if (v->size_limit) {
		const char *dirs[] = { "_data" };
		int r = project_quota_assign(tmpfd, dirs, 1, v->size_limit, p->data, &v->project_id, err);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *json = info_json(v);
	if (!json)
		return diyc_error(err, ENOMEM, "volume `%s`", v->name);
	int r = write_file_atomic(tmpfd, "volume.json", json, strlen(json), 0600);
	if (r < 0)
		return diyc_error(err, -r, "write volume.json of volume `%s`", v->name);
	return 0;
}

/* Makes volume v->name complete under a temporary name and renames it into place. */
static int create_new(const struct diyc_paths *p, int volfd, struct volume_info *v, struct diyc_error *err)
{
	char tmp[64], rnd[17];
	if (random_hex(rnd, 8) < 0)
		return diyc_error(err, EIO, "random name");
	snprintf(tmp, sizeof(tmp), ".new-%d-%s", (int)getpid(), rnd);
	if (mkdirat(volfd, tmp, 0700) < 0)
		return diyc_error(err, errno, "create volume `%s`", v->name);
	_cleanup_close_ int tmpfd = openat(volfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = tmpfd < 0 ? diyc_error(err, errno, "create volume `%s`", v->name) : fill_new(p, tmpfd, v, err);
	if (r == 0 && renameat2(volfd, tmp, volfd, v->name, RENAME_NOREPLACE) < 0)
		r = diyc_error(err, errno, "create volume `%s`", v->name);
	if (r == 0)
		return 0;
	rm_rf_at(volfd, tmp);
	struct diyc_error ignore = { 0 };
	if (v->project_id)
		project_quota_release(volfd, v->project_id, &ignore);
	return r;
}

/* NAME exists: what it is, and an error when labels or opts (when given) say otherwise */
static int existing(const struct diyc_paths *p, int volfd, const char *name, char *const *labels,
		    char *const *opts, struct volume_info *info, struct diyc_error *err)
{
	int r = info_read(p, volfd, name, info, err);
	if (r < 0)
		return r;
	if ((labels && !same_kv(labels, info->labels)) || (opts && !same_kv(opts, info->options)))
		return diyc_error_plain(err, EEXIST, "volume `%s` exists already with other %s", name,
					opts && !same_kv(opts, info->options) ? "options" : "labels");
	return 0;
}

int volume_create(const struct diyc_paths *p, const char *name, char *const *labels, char *const *opts,
		  bool anonymous, struct volume_info *info, bool *existed, struct diyc_error *err)
{
	memset(info, 0, sizeof(*info));
	*existed = false;
	char gen[65];
	if (!name) {
		if (random_hex(gen, 32) < 0)
			return diyc_error(err, EIO, "random name");
		name = gen;
	}
	uint64_t size;
	int r = check_name(name, err);
	if (r == 0)
		r = check_options(opts, &size, err);
	if (r < 0)
		return r;
	_cleanup_close_ int volfd = open_volumes(p, true, true, err);
	if (volfd < 0)
		return volfd;
	info_init(p, name, info);
	struct stat st;
	if (fstatat(volfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		*existed = true;
		r = existing(p, volfd, name, labels, opts, info, err);
	} else if (errno != ENOENT) {
		r = diyc_error(err, errno, "volume `%s`", name);
	} else if (!size || (r = check_size_possible(p, volfd, size, err)) == 0) {
		time_now_utc(info->created, sizeof(info->created));
		info->anonymous = anonymous;
		info->size_limit = size;
		info->labels = strv_dedup((char **)labels, true);
		info->options = strv_dedup((char **)opts, true);
		r = info->labels && info->options ? create_new(p, volfd, info, err)
						  : diyc_error(err, ENOMEM, "volume `%s`", name);
	}
	if (r < 0)
		volume_info_free(info);
	return r;
}

/* ---- listing, opening, removing ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int volume_list(const struct diyc_paths *p, char ***names, struct diyc_error *err)
{
	*names = calloc(1, sizeof(char *));
	if (!*names)
		return diyc_error(err, ENOMEM, "list volumes");
	int fd = open_volumes(p, false, false, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	_cleanup_closedir_ DIR *dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return diyc_error(err, errno, "list volumes");
	}
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		struct stat st;
		if (!volume_name_valid(e->d_name) || fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (strv_push(names, &n, strdup(e->d_name)) < 0)
			return diyc_error(err, ENOMEM, "list volumes");
	}
	qsort(*names, n, sizeof(char *), cmp_str);
	return 0;
}

/* openat2 of one component below dirfd, as an O_PATH directory, no symlink at all */
static int open_dir_beneath(int dirfd, const char *name)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	return openat2_retry(dirfd, name, &how);
}

/* Why NAME (what: NAME itself or "_data", below parentfd) could not be opened */
static int open_error(const struct diyc_paths *p, const char *name, int parentfd, const char *what, int e,
		      struct diyc_error *err)
{
	bool data = strcmp(what, name);
	if (e == ENOENT && !data)
		return no_such_volume(name, err);
	if (e == ENOENT)
		return diyc_error_hint(err, diyc_error_plain(err, ENOENT, "volume `%s` has no data directory (_data)",
							     name), DIYC_HINT_VOLUME_REPLACED, name);
	if (e != ELOOP && e != ENOTDIR && e != EXDEV)
		return diyc_error(err, e, "open volume `%s`", name);
	struct stat st;
	bool link = fstatat(parentfd, what, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
	return diyc_error_hint(err, diyc_error_plain(err, ELOOP, "volume `%s`: `%s/volumes/%s%s%s` is %s, not the "
						     "directory diyc made: refusing to follow it", name, p->data, name,
						     data ? "/" : "", data ? what : "",
						     link ? "a symbolic link" : e == EXDEV ? "another mount"
						     : "not a directory"),
			       DIYC_HINT_VOLUME_REPLACED, name);
}

int volume_open_data(const struct diyc_paths *p, const char *name, struct diyc_error *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	char dir[PATH_MAX];
	volumes_dir(p, dir, sizeof(dir));
	_cleanup_close_ int volfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (volfd < 0)
		return errno == ENOENT ? no_such_volume(name, err) : diyc_error(err, errno, "open `%s`", dir);
	_cleanup_close_ int namefd = open_dir_beneath(volfd, name);
	if (namefd < 0)
		return open_error(p, name, volfd, name, errno, err);
	int fd = open_dir_beneath(namefd, "_data");
	if (fd < 0)
		return open_error(p, name, namefd, "_data", errno, err);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return open_error(p, name, namefd, "_data", ENOTDIR, err);
	}
	return fd;
}

int volume_remove(const struct diyc_paths *p, const char *name, const struct userns_plan *plan,
		  struct diyc_error *err)
{
	_cleanup_close_ int volfd = open_volumes_for(p, name, true, err);
	if (volfd < 0)
		return volfd;
	struct stat st;
	if (fstatat(volfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? no_such_volume(name, err) : diyc_error(err, errno, "volume `%s`", name);
	struct volume_info v;
	info_init(p, name, &v);
	struct diyc_error ignore = { 0 };
	/* a damaged volume.json does not keep the volume: only its quota id is then unknown */
	info_read(p, volfd, name, &v, &ignore);
	volume_info_free(&v);
	char gone[VOLUME_NAME_MAX + 32], rnd[17];
	random_hex(rnd, 8);
	snprintf(gone, sizeof(gone), ".rm-%s-%s", rnd, name);
	if (renameat(volfd, name, volfd, gone) < 0)
		return diyc_error(err, errno, "remove volume `%s`", name);
	/* the name is free: the rest needs no lock */
	flock(volfd, LOCK_UN);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/volumes/%s", p->data, gone);
	int r = remove_tree(plan, path, err);
	if (r == 0 && v.project_id && project_quota_release(volfd, v.project_id, &ignore) < 0)
		diyc_warn("volume `%s`: %s", name, ignore.msg);
	return r;
}

int volume_remove_anonymous(const char *data_dir, const char *name, const struct userns_plan *plan,
			    struct diyc_error *err)
{
	struct diyc_paths p = { .rootless = geteuid() != 0, .uid = geteuid(), .gid = getegid() };
	if (snprintf(p.data, sizeof(p.data), "%s", data_dir) >= (int)sizeof(p.data))
		return diyc_error(err, ENAMETOOLONG, "%s", data_dir);
	struct volume_info v;
	int r = volume_get(&p, name, &v, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	bool anonymous = v.anonymous;
	volume_info_free(&v);
	return anonymous ? volume_remove(&p, name, plan, err) : 0;
}

void volume_clean_leftovers(const struct diyc_paths *p, const struct userns_plan *plan)
{
	struct diyc_error ignore = { 0 };
	int fd = open_volumes(p, false, false, &ignore);
	if (fd < 0)
		return;
	_cleanup_closedir_ DIR *dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(dp))) {
		bool fresh = str_has_prefix(e->d_name, ".new-"), removing = str_has_prefix(e->d_name, ".rm-");
		/* a `.new-` directory whose creator lives is being made */
		if (!removing && !(fresh && pid_prefix_gone(e->d_name + 5) > 0))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/volumes/%s", p->data, e->d_name);
		remove_tree(plan, path, &ignore);
	}
}

/* ---- disk usage ---- */

int volume_disk_usage(const struct diyc_paths *p, const char *name, const struct userns_plan *plan, uint64_t *bytes,
		      struct diyc_error *err)
{
	*bytes = 0;
	struct du_tree t = { .fd = volume_open_data(p, name, err) };
	if (t.fd < 0)
		return t.fd;
	int r = du_trees(plan, &t, 1, err);
	close(t.fd);
	if (r == 0 && t.error < 0)
		r = diyc_error(err, -t.error, "measure volume `%s`", name);
	if (r == 0)
		*bytes = t.bytes;
	return r;
}
