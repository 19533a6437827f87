/* SPDX-License-Identifier: MIT */
/* volume.c: -v HOST:CONTAINER[:ro|rw] bind mounts, --tmpfs PATH[:OPTIONS], volumes of the
 * store (-v NAME:CONTAINER, -v CONTAINER, --mount type=volume) and docker's --mount grammar
 * for all three: parsing and checking before the container starts, mounting below the new
 * root in the container child.
 *
 * Choices made here, as docker does unless said otherwise:
 * - -v options: `ro` and `rw` together are refused (docker says "invalid mode" too); the
 *   same one twice is accepted. `nocopy` is for volumes.
 * - --tmpfs options: flags are applied in order and the later wins (`ro,rw` is read-write),
 *   as with mount(8). size=0 means no limit (the kernel's meaning); size=N% takes 1 to 100.
 *   The default is nosuid,nodev,mode=1777 (docker and podman add noexec; diyc does not).
 * - A HOST without `/` is a volume's name, checked by the rule of container names; a HOST
 *   with `/` must be absolute (a bind mount).
 * - `..` is refused in both paths rather than resolved: the user says what they mean.
 * - --mount: fields are split at `,` (docker's CSV quoting is not read: a path with `,`
 *   cannot be given); a key given twice, under any of its aliases, is refused; type
 *   defaults to volume, as in docker. */
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
#include <linux/openat2.h>
#include "inroot.h"
#include "lib/util.h"
#include "volume.h"
#include "volume-seed.h"

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

bool mount_volume_name_valid(const char *name)
{
	return store_name_valid(name, MOUNT_VOLUME_NAME_MAX);
}

static int bad_volume_name(const char *what, const char *spec, const char *name, struct diyc_error *err)
{
	return diyc_error_plain(err, EINVAL, "invalid %s `%s`: `%s` is not a valid volume name: use letters, digits "
				"and `_.-`, starting with a letter or digit, at most %d characters (a host path must "
				"be absolute)", what, spec, name, MOUNT_VOLUME_NAME_MAX);
}

/* -v's options: ro, rw and (volumes) nocopy */
static int volume_options(const char *spec, char *opts, bool is_volume, bool *ro, bool *nocopy,
			  struct diyc_error *err)
{
	bool rw = false;
	if (!*opts)
		return diyc_error_plain(err, EINVAL, "invalid volume `%s`: the options after the last `:` are empty: "
					"give ro or rw, or drop the `:`", spec);
	for (char *o, *rest = opts; (o = strsep(&rest, ","));) {
		if (!strcmp(o, "ro"))
			*ro = true;
		else if (!strcmp(o, "rw"))
			rw = true;
		else if (!strcmp(o, "nocopy") && is_volume)
			*nocopy = true;
		else if (!strcmp(o, "nocopy"))
			return diyc_error_plain(err, EINVAL, "invalid volume `%s`: nocopy is for volumes, not for a "
						"host path", spec);
		else if (!*o)
			return diyc_error_plain(err, EINVAL, "invalid volume `%s`: empty option in the list: give ro "
						"or rw", spec);
		else
			return diyc_error_plain(err, EINVAL, "invalid volume `%s`: unknown option `%s`: use ro or rw%s",
						spec, o, is_volume ? " (and nocopy)" : "");
	}
	if (*ro && rw)
		return diyc_error_plain(err, EINVAL, "invalid volume `%s`: options `ro` and `rw` contradict each other: "
					"give one", spec);
	return 0;
}

/* The host part of -v: an absolute path without `..` (its trailing `/` dropped), or a name */
static int volume_source(const char *spec, char *host, bool *is_volume, struct diyc_error *err)
{
	if (!*host)
		return diyc_error_plain(err, EINVAL, "invalid volume `%s`: the host path is empty", spec);
	*is_volume = !strchr(host, '/');
	if (*is_volume)
		return mount_volume_name_valid(host) ? 0 : bad_volume_name("volume", spec, host, err);
	if (host[0] != '/')
		return diyc_error_plain(err, EINVAL, "invalid volume `%s`: the host path `%s` must be absolute",
					spec, host);
	if (has_dotdot(host))
		return diyc_error_plain(err, EINVAL,
					"invalid volume `%s`: the host path `%s` has a `..` component: "
					"give the path without it", spec, host);
	/* the source is kept as given, but for trailing slashes ("/" stays "/") */
	for (size_t len = strlen(host); len > 1 && host[len - 1] == '/'; len--)
		host[len - 1] = '\0';
	return 0;
}

int volume_anonymous(const char *path, struct mount_entry *out, struct diyc_error *err)
{
	_cleanup_free_ char *target = NULL;
	int r = container_path("volume", path, path, &target, err);
	if (r < 0)
		return r;
	*out = (struct mount_entry){ .kind = MOUNT_VOLUME, .target = steal_ptr(target), .anonymous = true };
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
	if (colons == 0 && spec[0] == '/')
		return volume_anonymous(spec, out, err);
	if (colons == 0)
		return diyc_error_plain(err, EINVAL,
					"invalid volume `%s`: expected HOST:CONTAINER[:OPTIONS], NAME:CONTAINER[:OPTIONS] "
					"or an absolute CONTAINER path alone (an anonymous volume)", spec);
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
	bool is_volume = false, ro = false, nocopy = false;
	if ((r = volume_source(spec, host, &is_volume, err)) < 0)
		return r;
	if (opts && (r = volume_options(spec, opts, is_volume, &ro, &nocopy, err)) < 0)
		return r;
	_cleanup_free_ char *target = NULL;
	r = container_path("volume", spec, ctr, &target, err);
	if (r < 0)
		return r;
	char *source = strdup(host);
	if (!source)
		return diyc_error(err, ENOMEM, "invalid volume `%s`", spec);
	*out = (struct mount_entry){
		.kind = is_volume ? MOUNT_VOLUME : MOUNT_BIND,
		.source = source,
		.target = steal_ptr(target),
		.readonly = ro,
		.nocopy = nocopy,
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

/* ---- --mount type=bind|volume|tmpfs,KEY=VALUE,... ---- */

enum mount_key { KEY_TYPE, KEY_SOURCE, KEY_TARGET, KEY_READONLY, KEY_NOCOPY, KEY_TMPFS_SIZE, KEY_TMPFS_MODE, N_KEYS };

/* docker's keys and their aliases */
static const struct {
	const char *name;
	enum mount_key key;
} mount_keys[] = {
	{ "type", KEY_TYPE },           { "source", KEY_SOURCE },        { "src", KEY_SOURCE },
	{ "destination", KEY_TARGET },  { "dst", KEY_TARGET },           { "target", KEY_TARGET },
	{ "readonly", KEY_READONLY },   { "ro", KEY_READONLY },          { "volume-nocopy", KEY_NOCOPY },
	{ "tmpfs-size", KEY_TMPFS_SIZE }, { "tmpfs-mode", KEY_TMPFS_MODE },
};

/* docker's keys that diyc does not take, and what to do instead */
static const struct {
	const char *name, *why;
} mount_unsupported[] = {
	{ "bind-propagation", "a container's mounts are private (no propagation to or from the host)" },
	{ "bind-nonrecursive", "bind mounts are recursive" },
	{ "bind-recursive", "bind mounts are recursive" },
	{ "volume-driver", "diyc's volumes have the local driver only" },
	{ "volume-label", "create the volume first with `volume create --label`" },
	{ "volume-opt", "create the volume first with `volume create --opt`" },
	{ "volume-subpath", "mount the whole volume" },
	{ "tmpfs-options", "use --tmpfs PATH:OPTIONS" },
	{ "consistency", "it has a meaning on macOS only" },
};

struct mount_fields {
	char *val[N_KEYS];
	const char *name[N_KEYS]; /* the name it was given under */
	bool given[N_KEYS];
};

static int mount_key_find(const char *spec, const char *key, size_t len, struct diyc_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_keys); i++)
		if (strlen(mount_keys[i].name) == len && !strncmp(key, mount_keys[i].name, len))
			return (int)i;
	for (size_t i = 0; i < ARRAY_SIZE(mount_unsupported); i++)
		if (strlen(mount_unsupported[i].name) == len && !strncmp(key, mount_unsupported[i].name, len))
			return diyc_error_plain(err, ENOTSUP, "invalid --mount `%s`: `%s` is not supported: %s", spec,
						mount_unsupported[i].name, mount_unsupported[i].why);
	return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: unknown key `%.*s`: use type, source (src), "
				"destination (dst, target), readonly (ro), volume-nocopy, tmpfs-size or tmpfs-mode",
				spec, (int)len, key);
}

/* Splits SPEC (a copy, cut in place) into f: every key once, each with a value but the flags. */
static int mount_fields_read(const char *spec, char *copy, struct mount_fields *f, struct diyc_error *err)
{
	for (char *field, *rest = copy; (field = strsep(&rest, ","));) {
		if (!*field)
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: an empty field (`,,` or a `,` at "
						"an end)", spec);
		char *eq = strchr(field, '=');
		int i = mount_key_find(spec, field, eq ? (size_t)(eq - field) : strlen(field), err);
		if (i < 0)
			return i;
		enum mount_key k = mount_keys[i].key;
		if (f->given[k])
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: `%s` is given twice%s%s%s", spec,
						mount_keys[i].name, strcmp(f->name[k], mount_keys[i].name) ? " (as `" : "",
						strcmp(f->name[k], mount_keys[i].name) ? f->name[k] : "",
						strcmp(f->name[k], mount_keys[i].name) ? "`)" : "");
		bool flag = k == KEY_READONLY || k == KEY_NOCOPY;
		if (!eq && !flag)
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: `%s` needs a value: %s=VALUE", spec,
						field, field);
		if (eq && !eq[1])
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: `%s` has an empty value", spec, field);
		f->given[k] = true;
		f->name[k] = mount_keys[i].name;
		f->val[k] = eq ? eq + 1 : NULL;
	}
	return 0;
}

/* readonly, volume-nocopy: alone, or =true|false|1|0 */
static int mount_flag(const char *spec, const struct mount_fields *f, enum mount_key k, bool *out,
		      struct diyc_error *err)
{
	const char *v = f->val[k];
	*out = false;
	if (!f->given[k])
		return 0;
	if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (strcmp(v, "false") && strcmp(v, "0"))
		return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: `%s` takes true or false, not `%s`", spec,
					f->name[k], v);
	return 0;
}

/* What only one type takes, given to another */
static int mount_type_keys(const char *spec, const char *type, const struct mount_fields *f,
			   struct diyc_error *err)
{
	static const struct {
		enum mount_key key;
		const char *type;
	} only[] = { { KEY_NOCOPY, "volume" }, { KEY_TMPFS_SIZE, "tmpfs" }, { KEY_TMPFS_MODE, "tmpfs" } };
	for (size_t i = 0; i < ARRAY_SIZE(only); i++)
		if (f->given[only[i].key] && strcmp(type, only[i].type))
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: `%s` is for type=%s, not type=%s",
						spec, f->name[only[i].key], only[i].type, type);
	if (!strcmp(type, "tmpfs") && f->given[KEY_SOURCE])
		return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: type=tmpfs takes no source (`%s`)", spec,
					f->name[KEY_SOURCE]);
	if (!strcmp(type, "bind") && !f->given[KEY_SOURCE])
		return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: type=bind needs a source: src=/HOST/PATH",
					spec);
	return 0;
}

/* The source of a bind (an absolute host path) or a volume (a name), into *out */
static int mount_source(const char *spec, const char *type, char *src, char **out, struct diyc_error *err)
{
	if (!src)
		return 0;
	if (!strcmp(type, "volume")) {
		if (strchr(src, '/'))
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: the source of a volume is its name, "
						"not a path: for a host path use type=bind", spec);
		if (!mount_volume_name_valid(src))
			return bad_volume_name("--mount", spec, src, err);
	} else {
		if (src[0] != '/')
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: the host path `%s` must be absolute",
						spec, src);
		if (has_dotdot(src))
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: the host path `%s` has a `..` "
						"component: give the path without it", spec, src);
		for (size_t len = strlen(src); len > 1 && src[len - 1] == '/'; len--)
			src[len - 1] = '\0';
	}
	if (!(*out = strdup(src)))
		return diyc_error(err, ENOMEM, "--mount");
	return 0;
}

/* tmpfs-size (bytes, or with k, m, g) and tmpfs-mode (octal) as --tmpfs options */
static int mount_tmpfs_options(const char *spec, const struct mount_fields *f, char **out, struct diyc_error *err)
{
	char size[40] = "", mode[16] = "";
	uint64_t bytes;
	if (f->given[KEY_TMPFS_SIZE]) {
		if (parse_size(f->val[KEY_TMPFS_SIZE], 1, &bytes) < 0 || bytes > (UINT64_MAX >> 30))
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: tmpfs-size takes a number of bytes, "
						"with an optional unit k, m or g (as 64m)", spec);
		snprintf(size, sizeof(size), "size=%llu", (unsigned long long)bytes);
	}
	if (f->given[KEY_TMPFS_MODE]) {
		if (!tmpfs_mode_ok(f->val[KEY_TMPFS_MODE]))
			return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: tmpfs-mode takes at most 4 octal "
						"digits, as 1777", spec);
		snprintf(mode, sizeof(mode), "mode=%s", f->val[KEY_TMPFS_MODE]);
	}
	if (!*size && !*mode)
		return 0;
	*out = xasprintf("%s%s%s", size, *size && *mode ? "," : "", mode);
	return *out ? 0 : diyc_error(err, ENOMEM, "--mount");
}

int mount_spec_parse(const char *spec, struct mount_entry *out, struct diyc_error *err)
{
	int r = check_spec_length("--mount", spec, err);
	if (r < 0)
		return r;
	if (!*spec)
		return diyc_error_plain(err, EINVAL, "invalid --mount ``: expected type=bind|volume|tmpfs,dst=/PATH,...");
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return diyc_error(err, ENOMEM, "--mount");
	struct mount_fields f = { 0 };
	if ((r = mount_fields_read(spec, copy, &f, err)) < 0)
		return r;
	const char *type = f.given[KEY_TYPE] ? f.val[KEY_TYPE] : "volume";
	if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs"))
		return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: unknown type `%s`: use bind, volume or tmpfs",
					spec, type);
	if (!f.given[KEY_TARGET])
		return diyc_error_plain(err, EINVAL, "invalid --mount `%s`: no destination: give dst=/PATH (or target=, "
					"destination=)", spec);
	bool ro, nocopy;
	if ((r = mount_type_keys(spec, type, &f, err)) < 0 || (r = mount_flag(spec, &f, KEY_READONLY, &ro, err)) < 0 ||
	    (r = mount_flag(spec, &f, KEY_NOCOPY, &nocopy, err)) < 0)
		return r;
	_cleanup_free_ char *target = NULL, *source = NULL, *options = NULL;
	if ((r = mount_source(spec, type, f.val[KEY_SOURCE], &source, err)) < 0 ||
	    (r = mount_tmpfs_options(spec, &f, &options, err)) < 0 ||
	    (r = container_path("--mount", spec, f.val[KEY_TARGET], &target, err)) < 0)
		return r;
	enum mount_kind kind = !strcmp(type, "bind") ? MOUNT_BIND : !strcmp(type, "tmpfs") ? MOUNT_TMPFS : MOUNT_VOLUME;
	*out = (struct mount_entry){
		.kind = kind,
		.source = steal_ptr(source),
		.target = steal_ptr(target),
		.readonly = ro,
		.options = steal_ptr(options),
		.anonymous = kind == MOUNT_VOLUME && !f.given[KEY_SOURCE],
		.nocopy = nocopy,
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

/* The volume's _data, opened again below the store's volumes directory in this mount
 * namespace without following any symlink, and only when it is the directory the store
 * opened before the container was made (the same device and inode). */
static int open_volume_data(const struct mount_entry *m, struct diyc_error *err)
{
	if (!m->volumes_dir || !m->data_ino)
		return diyc_error_plain(err, EINVAL, "volume `%s` on `%s` was not opened before the container started",
					m->source, m->target);
	_cleanup_close_ int dir = open(m->volumes_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return diyc_error(err, errno, "open `%s`", m->volumes_dir);
	char rel[MOUNT_VOLUME_NAME_MAX + 8];
	snprintf(rel, sizeof(rel), "%s/_data", m->source);
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = openat2_retry(dir, rel, &how);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == m->data_dev && st.st_ino == m->data_ino)
		return fd;
	int e = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	if (e == ELOOP || e == ENOTDIR || e == EXDEV || e == 0)
		return diyc_error_plain(err, ELOOP, "volume `%s` changed while the container started: `%s/%s` is not "
					"the directory diyc opened (a symbolic link now?): refusing it", m->source,
					m->volumes_dir, rel);
	return diyc_error(err, e, "open volume `%s`", m->source);
}

static int mount_volume(int rootfd, const struct mount_entry *m, bool nodev, struct diyc_error *err)
{
	_cleanup_close_ int data = open_volume_data(m, err);
	if (data < 0)
		return data;
	/* copy-up: after the overlay, before the volume covers that path */
	if (!m->nocopy) {
		int r = volume_seed(rootfd, m->target, data, m->source, err);
		if (r < 0)
			return r;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", data);
	struct diyc_error e = { 0 };
	int r = mount_in_root(rootfd, m->target, false, proc, "bind", MS_BIND | MS_REC, NULL, &e);
	if (r == 0 && (m->readonly || nodev))
		r = mount_set_attr(rootfd, m->target, (m->readonly ? MOUNT_ATTR_RDONLY : 0) |
			(nodev ? MOUNT_ATTR_NODEV : 0), true, &e);
	if (r < 0)
		return diyc_error_plain(err, e.errnum, "cannot mount volume `%s` on `%s`: %s", m->source, m->target,
					e.msg);
	return 0;
}

static bool entry_valid(const struct mount_entry *e)
{
	if (!e->target || e->target[0] != '/' || has_dotdot(e->target))
		return false;
	switch (e->kind) {
	case MOUNT_BIND: return e->source && e->source[0] == '/';
	case MOUNT_TMPFS: return true;
	case MOUNT_VOLUME: return e->source && mount_volume_name_valid(e->source);
	}
	return false;
}

int volumes_mount(int rootfd, const struct mount_entry *m, size_t n, bool nodev, struct diyc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct mount_entry *e = &m[i];
		if (!entry_valid(e))
			return diyc_error_plain(err, EINVAL, "invalid mount entry %zu in the configuration", i + 1);
		int r = e->kind == MOUNT_BIND ? mount_bind(rootfd, e, nodev, err)
			: e->kind == MOUNT_VOLUME ? mount_volume(rootfd, e, nodev, err) : mount_tmpfs(rootfd, e, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int mount_entry_copy(const struct mount_entry *from, struct mount_entry *to)
{
	struct mount_entry c = *from;
	c.source = from->source ? strdup(from->source) : NULL;
	c.target = from->target ? strdup(from->target) : NULL;
	c.options = from->options ? strdup(from->options) : NULL;
	c.volumes_dir = from->volumes_dir ? strdup(from->volumes_dir) : NULL;
	if ((from->source && !c.source) || (from->target && !c.target) || (from->options && !c.options) ||
	    (from->volumes_dir && !c.volumes_dir)) {
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
	free(m->volumes_dir);
	m->source = m->target = m->options = m->volumes_dir = NULL;
}
