/* SPDX-License-Identifier: MIT */
/* volume.c: -v HOST:CONTAINER[:ro|rw] bind mounts and --tmpfs PATH[:OPTIONS]: parsing and
 * checking before the container starts, mounting below the new root in the container child.
 *
 * Choices made here, as docker does unless said otherwise:
 * - -v options: `ro` and `rw` together are refused (docker says "invalid mode" too); the
 *   same one twice is accepted.
 * - --tmpfs options: flags are applied in order and the later wins (`ro,rw` is read-write),
 *   as with mount(8). size=0 means no limit (the kernel's meaning); size=N% takes 1 to 100.
 *   The default is nosuid,nodev,mode=1777 (docker and podman add noexec; diyc does not).
 * - A HOST without `/` is a docker named volume, which diyc does not have: refused.
 * - `..` is refused in both paths rather than resolved: the user says what they mean. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "inroot.h"
#include "lib/util.h"
#include "volume.h"

/* Longest -v or --tmpfs argument taken: bounds every buffer below. */
#define SPEC_MAX PATH_MAX
/* uid and gid: 32 bits, (uid_t)-1 excluded */
#define ID_MAX 4294967294ULL

static bool has_dotdot(const char *path)
{
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += len;
		p += strspn(p, "/");
	}
	return false;
}

/* An absolute path without `..`: collapses `//`, drops `.` components and a trailing `/`.
 * Returns a malloc'd string ("/" when nothing is left) or NULL when out of memory. */
static char *path_normalize(const char *path)
{
	char *out = malloc(strlen(path) + 2);
	if (!out)
		return NULL;
	size_t n = 0;
	for (const char *p = path; *p;) {
		p += strspn(p, "/");
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p += len;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

/* Checks the container path of SPEC (KIND is "volume" or "tmpfs") and stores it normalized. */
static int container_path(const char *kind, const char *spec, const char *path, char **out,
			  struct diyc_error *err)
{
	if (!*path)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: the container path is empty", kind, spec);
	if (path[0] != '/')
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: the container path `%s` must be absolute",
					kind, spec, path);
	if (has_dotdot(path))
		return diyc_error_plain(err, EINVAL,
					"invalid %s `%s`: the container path `%s` has a `..` component: "
					"give the path without it", kind, spec, path);
	char *norm = path_normalize(path);
	if (!norm)
		return diyc_error(err, ENOMEM, "invalid %s `%s`", kind, spec);
	if (!strcmp(norm, "/")) {
		free(norm);
		return diyc_error_plain(err, EINVAL,
					"invalid %s `%s`: cannot mount over the container root `/`: "
					"give a path below it", kind, spec);
	}
	*out = norm;
	return 0;
}

static int check_spec_length(const char *kind, const char *spec, struct diyc_error *err)
{
	if (strlen(spec) > SPEC_MAX)
		return diyc_error_plain(err, ENAMETOOLONG, "invalid %s: longer than %d characters", kind, SPEC_MAX);
	return 0;
}

int volume_parse(const char *spec, struct mount_entry *out, struct diyc_error *err)
{
	int r = check_spec_length("volume", spec, err);
	if (r < 0)
		return r;
	size_t colons = 0;
	for (const char *c = spec; (c = strchr(c, ':')); c++)
		colons++;
	if (colons == 0)
		return diyc_error_plain(err, EINVAL,
					"invalid volume `%s`: expected HOST:CONTAINER[:ro|rw] "
					"(anonymous volumes are not supported)", spec);
	if (colons > 2)
		return diyc_error_plain(err, EINVAL,
					"invalid volume `%s`: too many `:`: expected HOST:CONTAINER[:ro|rw] "
					"(paths with `:` are not supported)", spec);

	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return diyc_error(err, ENOMEM, "invalid volume `%s`", spec);
	char *host = copy, *ctr = strchr(copy, ':');
	*ctr++ = '\0';
	char *opts = strchr(ctr, ':');
	if (opts)
		*opts++ = '\0';

	if (!*host)
		return diyc_error_plain(err, EINVAL, "invalid volume `%s`: the host path is empty", spec);
	if (!strchr(host, '/'))
		return diyc_error_plain(err, EINVAL,
					"invalid volume `%s`: `%s` would be a named volume, which diyc does not "
					"support: give an absolute host path", spec, host);
	if (host[0] != '/')
		return diyc_error_plain(err, EINVAL, "invalid volume `%s`: the host path `%s` must be absolute",
					spec, host);
	if (has_dotdot(host))
		return diyc_error_plain(err, EINVAL,
					"invalid volume `%s`: the host path `%s` has a `..` component: "
					"give the path without it", spec, host);

	bool ro = false, rw = false;
	if (opts) {
		if (!*opts)
			return diyc_error_plain(err, EINVAL,
						"invalid volume `%s`: the options after the last `:` are empty: "
						"give ro or rw, or drop the `:`", spec);
		for (char *o, *rest = opts; (o = strsep(&rest, ","));) {
			if (!strcmp(o, "ro"))
				ro = true;
			else if (!strcmp(o, "rw"))
				rw = true;
			else if (!*o)
				return diyc_error_plain(err, EINVAL,
							"invalid volume `%s`: empty option in the list: "
							"give ro or rw", spec);
			else
				return diyc_error_plain(err, EINVAL,
							"invalid volume `%s`: unknown option `%s`: use ro or rw",
							spec, o);
		}
		if (ro && rw)
			return diyc_error_plain(err, EINVAL,
						"invalid volume `%s`: options `ro` and `rw` contradict each other: "
						"give one", spec);
	}

	_cleanup_free_ char *target = NULL;
	r = container_path("volume", spec, ctr, &target, err);
	if (r < 0)
		return r;
	/* the source is kept as given, but for trailing slashes ("/" stays "/") */
	for (size_t len = strlen(host); len > 1 && host[len - 1] == '/'; len--)
		host[len - 1] = '\0';
	char *source = strdup(host);
	if (!source)
		return diyc_error(err, ENOMEM, "invalid volume `%s`", spec);
	*out = (struct mount_entry){
		.kind = MOUNT_BIND,
		.source = source,
		.target = steal_ptr(target),
		.readonly = ro,
		.options = NULL,
	};
	return 0;
}

/* Digits with an optional k, m or g suffix (either case), or when percent is true digits
 * followed by `%` (1 to 100). Bounded so that the kernel's arithmetic cannot overflow. */
static bool tmpfs_number_ok(const char *v, bool percent)
{
	size_t len = strlen(v);
	if (len == 0 || len > 32)
		return false;
	char digits[33];
	memcpy(digits, v, len + 1);
	uint64_t max = UINT64_MAX >> 30, n;
	char last = digits[len - 1];
	if (percent && last == '%') {
		digits[len - 1] = '\0';
		return parse_u64(digits, 100, &n) == 0 && n >= 1;
	}
	if (strchr("kKmMgG", last))
		digits[len - 1] = '\0';
	return parse_u64(digits, max, &n) == 0;
}

static bool tmpfs_size_ok(const char *v) { return tmpfs_number_ok(v, true); }
static bool tmpfs_count_ok(const char *v) { return tmpfs_number_ok(v, false); }
static bool tmpfs_id_ok(const char *v) { uint64_t id; return parse_u64(v, ID_MAX, &id) == 0; }

static bool tmpfs_mode_ok(const char *v)
{
	size_t len = strlen(v);
	return len >= 1 && len <= 4 && strspn(v, "01234567") == len;
}

/* --tmpfs options that are mount flags, applied in order */
static const struct {
	const char *name;
	unsigned long set, clear;
} tmpfs_flags[] = {
	{ "ro", MS_RDONLY, 0 },     { "rw", 0, MS_RDONLY },     { "exec", 0, MS_NOEXEC },
	{ "noexec", MS_NOEXEC, 0 }, { "suid", 0, MS_NOSUID },   { "nosuid", MS_NOSUID, 0 },
	{ "dev", 0, MS_NODEV },     { "nodev", MS_NODEV, 0 },
};

/* --tmpfs options KEY=VALUE, passed to the kernel as data */
static const struct {
	const char *key;
	bool (*ok)(const char *value);
	const char *hint;
} tmpfs_values[] = {
	{ "size", tmpfs_size_ok, "size=N takes a number of bytes with an optional k, m or g suffix, "
				 "or a percentage of memory such as 50%" },
	{ "nr_inodes", tmpfs_count_ok, "nr_inodes=N takes a number with an optional k, m or g suffix" },
	{ "mode", tmpfs_mode_ok, "mode= takes at most 4 octal digits, such as mode=1777" },
	{ "uid", tmpfs_id_ok, "uid= takes a number from 0 to 4294967294" },
	{ "gid", tmpfs_id_ok, "gid= takes a number from 0 to 4294967294" },
};

/* Checks one --tmpfs option O of SPEC: a flag is applied to *flags (returns 0), a valid
 * KEY=VALUE returns 1 and sets *mode for mode=. */
static int tmpfs_option(const char *spec, const char *o, unsigned long *flags, bool *mode, struct diyc_error *err)
{
	if (!*o)
		return diyc_error_plain(err, EINVAL, "invalid tmpfs `%s`: empty option in the list", spec);
	for (size_t i = 0; i < ARRAY_SIZE(tmpfs_flags); i++) {
		if (!strcmp(o, tmpfs_flags[i].name)) {
			*flags = (*flags & ~tmpfs_flags[i].clear) | tmpfs_flags[i].set;
			return 0;
		}
	}
	const char *eq = strchr(o, '=');
	size_t klen = eq ? (size_t)(eq - o) : strlen(o);
	for (size_t i = 0; i < ARRAY_SIZE(tmpfs_values); i++) {
		const char *key = tmpfs_values[i].key;
		if (klen != strlen(key) || strncmp(o, key, klen))
			continue;
		if (!eq)
			return diyc_error_plain(err, EINVAL, "invalid tmpfs `%s`: option `%s` needs a value: %s=VALUE",
						spec, o, o);
		if (!tmpfs_values[i].ok(eq + 1))
			return diyc_error_plain(err, EINVAL, "invalid tmpfs `%s`: bad option `%s`: %s", spec, o,
						tmpfs_values[i].hint);
		if (!strcmp(key, "mode"))
			*mode = true;
		return 1;
	}
	return diyc_error_plain(err, EINVAL,
				"invalid tmpfs `%s`: unknown option `%s`: use ro, rw, exec, noexec, suid, nosuid, "
				"dev, nodev, size=, mode=, uid=, gid= or nr_inodes=", spec, o);
}

/* Checks the --tmpfs options OPTS (may be NULL) of SPEC and gives the mount flags and the
 * data for mount(2) (malloc'd: size, mode, uid, gid and nr_inodes as given, in order, with
 * mode=1777 when no mode is given). data may be NULL to only check. */
static int tmpfs_options(const char *spec, const char *opts, unsigned long *flags, char **data,
			 struct diyc_error *err)
{
	unsigned long f = MS_NOSUID | MS_NODEV;
	bool mode = false;
	size_t len = opts ? strlen(opts) : 0;
	if (len > SPEC_MAX)
		return diyc_error_plain(err, ENAMETOOLONG, "invalid tmpfs `%s`: options longer than %d characters",
					spec, SPEC_MAX);
	if (opts && !*opts)
		return diyc_error_plain(err, EINVAL,
					"invalid tmpfs `%s`: the options after `:` are empty: give them or drop "
					"the `:`", spec);
	_cleanup_free_ char *copy = strdup(opts ? opts : "");
	_cleanup_free_ char *out = malloc(len + sizeof(",mode=1777"));
	if (!copy || !out)
		return diyc_error(err, ENOMEM, "invalid tmpfs `%s`", spec);
	size_t n = 0;
	for (char *o, *rest = opts ? copy : NULL; rest && (o = strsep(&rest, ","));) {
		int r = tmpfs_option(spec, o, &f, &mode, err);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (n)
			out[n++] = ',';
		memcpy(out + n, o, strlen(o));
		n += strlen(o);
	}
	if (!mode)
		n += sprintf(out + n, "%smode=1777", n ? "," : "");
	out[n] = '\0';
	*flags = f;
	if (data)
		*data = steal_ptr(out);
	return 0;
}

int tmpfs_parse(const char *spec, struct mount_entry *out, struct diyc_error *err)
{
	int r = check_spec_length("tmpfs", spec, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return diyc_error(err, ENOMEM, "invalid tmpfs `%s`", spec);
	char *opts = strchr(copy, ':');
	if (opts)
		*opts++ = '\0';
	_cleanup_free_ char *target = NULL;
	r = container_path("tmpfs", spec, copy, &target, err);
	if (r < 0)
		return r;
	unsigned long flags;
	r = tmpfs_options(spec, opts, &flags, NULL, err);
	if (r < 0)
		return r;
	char *options = NULL;
	if (opts && !(options = strdup(opts)))
		return diyc_error(err, ENOMEM, "invalid tmpfs `%s`", spec);
	*out = (struct mount_entry){
		.kind = MOUNT_TMPFS,
		.source = NULL,
		.target = steal_ptr(target),
		.readonly = flags & MS_RDONLY,
		.options = options,
	};
	return 0;
}

int volume_check_host(const struct mount_entry *m, struct diyc_error *err)
{
	if (m->kind != MOUNT_BIND)
		return 0;
	const char *h = m->source, *c = m->target;
	struct stat st;
	if (stat(h, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return diyc_error_plain(err, ENOENT,
						"host path `%s` of volume `%s:%s` does not exist: create it first",
						h, h, c);
		if (errno == EACCES)
			return diyc_error_plain(err, EACCES,
						"you cannot reach host path `%s` of volume `%s:%s`: a directory "
						"above it is not searchable by you", h, h, c);
		return diyc_error(err, errno, "host path `%s` of volume `%s:%s`", h, h, c);
	}
	bool dir = S_ISDIR(st.st_mode);
	if (access(h, R_OK | (dir ? X_OK : 0)) < 0) {
		if (errno == EACCES)
			return diyc_error_plain(err, EACCES,
						"you cannot read host path `%s` of volume `%s:%s`: give yourself "
						"read%s permission or choose another path",
						h, h, c, dir ? " and search (r-x)" : "");
		return diyc_error(err, errno, "host path `%s` of volume `%s:%s`", h, h, c);
	}
	return 0;
}

static int mount_bind(int rootfd, const struct mount_entry *m, bool nodev, struct diyc_error *err)
{
	/* the host object is opened once, so the file-or-directory decision and the mount
	 * are about the same object even if the host path changes meanwhile */
	_cleanup_close_ int src = open(m->source, O_PATH | O_CLOEXEC);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0)
		return diyc_error(err, errno, "cannot mount volume `%s:%s`: host path `%s`", m->source, m->target,
				  m->source);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
	struct diyc_error e = { 0 };
	/* the kernel ignores the type of an MS_BIND mount: "bind" only names it in messages */
	int r = mount_in_root(rootfd, m->target, !S_ISDIR(st.st_mode), proc, "bind", MS_BIND | MS_REC, NULL, &e);
	if (r == 0 && (m->readonly || nodev))
		r = mount_set_attr(rootfd, m->target, (m->readonly ? MOUNT_ATTR_RDONLY : 0) |
			(nodev ? MOUNT_ATTR_NODEV : 0), true, &e);
	if (r < 0)
		return diyc_error_plain(err, e.errnum, "cannot mount volume `%s:%s%s`: %s", m->source, m->target,
					m->readonly ? ":ro" : "", e.msg);
	return 0;
}

static int mount_tmpfs(int rootfd, const struct mount_entry *m, struct diyc_error *err)
{
	_cleanup_free_ char *spec = xasprintf("%s%s%s", m->target, m->options ? ":" : "", m->options ? m->options : "");
	if (!spec)
		return diyc_error(err, ENOMEM, "tmpfs on `%s`", m->target);
	/* checked again: the entry may come from a configuration on disk */
	unsigned long flags;
	_cleanup_free_ char *data = NULL;
	int r = tmpfs_options(spec, m->options, &flags, &data, err);
	if (r < 0)
		return r;
	if (m->readonly)
		flags |= MS_RDONLY;
	struct diyc_error e = { 0 };
	r = mount_in_root(rootfd, m->target, false, "tmpfs", "tmpfs", flags, data, &e);
	if (r < 0)
		return diyc_error_plain(err, e.errnum, "cannot mount tmpfs `%s`: %s", spec, e.msg);
	return 0;
}

int volumes_mount(int rootfd, const struct mount_entry *m, size_t n, bool nodev, struct diyc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct mount_entry *e = &m[i];
		if (!e->target || e->target[0] != '/' || has_dotdot(e->target) ||
		    (e->kind == MOUNT_BIND && (!e->source || e->source[0] != '/')) ||
		    (e->kind != MOUNT_BIND && e->kind != MOUNT_TMPFS))
			return diyc_error_plain(err, EINVAL, "invalid mount entry %zu in the configuration", i + 1);
		int r = e->kind == MOUNT_BIND ? mount_bind(rootfd, e, nodev, err) : mount_tmpfs(rootfd, e, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int mount_entry_copy(const struct mount_entry *from, struct mount_entry *to)
{
	struct mount_entry c = {
		.kind = from->kind,
		.readonly = from->readonly,
		.source = from->source ? strdup(from->source) : NULL,
		.target = from->target ? strdup(from->target) : NULL,
		.options = from->options ? strdup(from->options) : NULL,
	};
	if ((from->source && !c.source) || (from->target && !c.target) || (from->options && !c.options)) {
		mount_entry_free(&c);
		return -ENOMEM;
	}
	*to = c;
	return 0;
}

void mount_entry_free(struct mount_entry *m)
{
	if (!m)
		return;
	free(m->source);
	free(m->target);
	free(m->options);
	m->source = m->target = m->options = NULL;
}
