/* SPDX-License-Identifier: MIT */
/* spec.c: reading an OCI bundle's config.json into struct oci_spec. Every value is checked
 * here, once, so that the code that builds the container never meets a surprise: a
 * wrong type, an unknown namespace, capability, rlimit or mount option is an error that
 * names the field. Any ociVersion 1.x is accepted: a runtime that refuses a newer minor
 * version breaks every engine that upgrades before it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <json-c/json.h>
#include "spec.h"
#include "spec-internal.h"
#include "lib/util.h"

#define CONFIG_MAX (4 << 20)

const char *const oci_hook_names[OCI_HOOK_KINDS] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

struct json_object *spec_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) &&
	    !json_object_is_type(v, json_type_null))
		return v;
	return NULL;
}

int spec_want(struct json_object *v, enum json_type t, const char *what, struct diyc_error *err)
{
	if (!json_object_is_type(v, t))
		return diyc_error_plain(err, EINVAL, "%s must be %s", what,
			t == json_type_object ? "an object" : t == json_type_array ? "an array" :
			t == json_type_string ? "a string" : t == json_type_boolean ? "true or false" : "a number");
	return 0;
}

int spec_string(struct json_object *o, const char *key, const char *what, char **out, struct diyc_error *err)
{
	struct json_object *v = spec_member(o, key);
	if (!v)
		return 0;
	int r = spec_want(v, json_type_string, what, err);
	if (r < 0)
		return r;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : diyc_error(err, ENOMEM, "%s", what);
}

int spec_bool(struct json_object *o, const char *key, const char *what, bool *out, struct diyc_error *err)
{
	struct json_object *v = spec_member(o, key);
	if (!v)
		return 0;
	int r = spec_want(v, json_type_boolean, what, err);
	if (r == 0)
		*out = json_object_get_boolean(v);
	return r;
}

/* An integer within [min, max]; *given says whether the key was there. */
int spec_int(struct json_object *o, const char *key, const char *what, int64_t min, int64_t max,
		   int64_t *out, bool *given, struct diyc_error *err)
{
	struct json_object *v = spec_member(o, key);
	if (given)
		*given = v != NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return diyc_error_plain(err, EINVAL, "%s must be an integer", what);
	errno = 0;
	int64_t n = json_object_get_int64(v);
	/* json-c keeps values above INT64_MAX as uint64 */
	if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return diyc_error_plain(err, ERANGE, "%s is out of range", what);
	if (n < min || n > max)
		return diyc_error_plain(err, ERANGE, "%s is out of range (%lld)", what, (long long)n);
	*out = n;
	return 0;
}

int spec_u64(struct json_object *o, const char *key, const char *what, uint64_t *out, bool *given,
		   struct diyc_error *err)
{
	struct json_object *v = spec_member(o, key);
	if (given)
		*given = v != NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return diyc_error_plain(err, EINVAL, "%s must be a non-negative integer", what);
	*out = json_object_get_uint64(v);
	return 0;
}

/* An array of strings as a NULL-terminated list (NULL when the key is missing). */
int spec_strv(struct json_object *o, const char *key, const char *what, char ***out, struct diyc_error *err)
{
	struct json_object *v = spec_member(o, key);
	if (!v)
		return 0;
	int r = spec_want(v, json_type_array, what, err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v);
	char **list = calloc(n + 1, sizeof(*list));
	if (!list)
		return diyc_error(err, ENOMEM, "%s", what);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			strv_free(list);
			return diyc_error_plain(err, EINVAL, "%s[%zu] must be a string", what, i);
		}
		list[i] = strdup(json_object_get_string(e));
		if (!list[i]) {
			strv_free(list);
			return diyc_error(err, ENOMEM, "%s", what);
		}
	}
	*out = list;
	return 0;
}

/* An object of strings as "KEY=VALUE" pairs. */
int spec_pairs(struct json_object *o, const char *key, const char *what, char ***out, struct diyc_error *err)
{
	struct json_object *v = spec_member(o, key);
	if (!v)
		return 0;
	int r = spec_want(v, json_type_object, what, err);
	if (r < 0)
		return r;
	char **list = calloc(json_object_object_length(v) + 1, sizeof(*list));
	size_t n = 0;
	if (!list)
		return diyc_error(err, ENOMEM, "%s", what);
	json_object_object_foreach(v, k, val)
	{
		if (!json_object_is_type(val, json_type_string) && !json_object_is_type(val, json_type_int)) {
			strv_free(list);
			return diyc_error_plain(err, EINVAL, "%s.%s must be a string", what, k);
		}
		list[n] = xasprintf("%s=%s", k, json_object_get_string(val));
		if (!list[n++]) {
			strv_free(list);
			return diyc_error(err, ENOMEM, "%s", what);
		}
	}
	*out = list;
	return 0;
}

int spec_abs_path(const char *bundle, const char *p, char **out, struct diyc_error *err)
{
	*out = p[0] == '/' ? strdup(p) : xasprintf("%s/%s", bundle, p);
	return *out ? 0 : diyc_error(err, ENOMEM, "path");
}

/* ---- process ---- */

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

static int parse_rlimits(struct json_object *v, struct oci_process *p, struct diyc_error *err)
{
	int r = spec_want(v, json_type_array, "process.rlimits", err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v);
	p->rlimits = calloc(n ? n : 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return diyc_error(err, ENOMEM, "rlimits");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		struct json_object *type = spec_member(e, "type");
		if (!type || !json_object_is_type(type, json_type_string))
			return diyc_error_plain(err, EINVAL, "process.rlimits[%zu].type must be a string", i);
		const char *name = json_object_get_string(type);
		int res = -1;
		for (size_t k = 0; k < ARRAY_SIZE(rlimit_names); k++)
			if (!strcmp(name, rlimit_names[k].name))
				res = rlimit_names[k].resource;
		if (res < 0)
			return diyc_error_plain(err, EINVAL, "process.rlimits: unknown resource `%s` (this kernel "
						"knows RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE, ...)", name);
		struct oci_rlimit *l = &p->rlimits[p->n_rlimits++];
		l->resource = res;
		if ((r = spec_u64(e, "soft", "process.rlimits[].soft", &l->soft, NULL, err)) < 0 ||
		    (r = spec_u64(e, "hard", "process.rlimits[].hard", &l->hard, NULL, err)) < 0)
			return r;
		if (l->soft > l->hard)
			return diyc_error_plain(err, EINVAL, "process.rlimits: %s has a soft limit above its hard limit",
						name);
	}
	return 0;
}

static int parse_capset(struct json_object *caps, const char *key, cap_mask *out, struct diyc_error *err)
{
	_cleanup_strv_ char **names = NULL;
	char what[64];
	snprintf(what, sizeof(what), "process.capabilities.%s", key);
	int r = spec_strv(caps, key, what, &names, err);
	if (r < 0)
		return r;
	*out = 0;
	for (char **n = names; n && *n; n++) {
		/* caps_value knows the names of this kernel's capabilities only */
		int c = str_has_prefix(*n, "CAP_") ? caps_value(*n) : -1;
		if (c < 0)
			return diyc_error_plain(err, EINVAL, "%s: unknown capability `%s` (not one of this kernel's)",
						what, *n);
		*out |= CAP_BIT(c);
	}
	return 0;
}

static int parse_user(struct json_object *user, struct oci_process *p, struct diyc_error *err)
{
	int64_t n = 0;
	bool given;
	int r = spec_int(user, "uid", "process.user.uid", 0, UINT32_MAX - 1, &n, &given, err);
	if (r < 0)
		return r;
	p->uid = n;
	n = 0;
	if ((r = spec_int(user, "gid", "process.user.gid", 0, UINT32_MAX - 1, &n, &given, err)) < 0)
		return r;
	p->gid = n;
	if ((r = spec_int(user, "umask", "process.user.umask", 0, 07777, &n, &p->has_umask, err)) < 0)
		return r;
	p->umask = n;
	struct json_object *gids = spec_member(user, "additionalGids");
	if (!gids)
		return 0;
	if ((r = spec_want(gids, json_type_array, "process.user.additionalGids", err)) < 0)
		return r;
	size_t count = json_object_array_length(gids);
	p->additional_gids = calloc(count ? count : 1, sizeof(gid_t));
	if (!p->additional_gids)
		return diyc_error(err, ENOMEM, "additionalGids");
	for (size_t i = 0; i < count; i++) {
		struct json_object *g = json_object_array_get_idx(gids, i);
		if (!json_object_is_type(g, json_type_int) || json_object_get_int64(g) < 0 ||
		    json_object_get_int64(g) >= UINT32_MAX)
			return diyc_error_plain(err, EINVAL, "process.user.additionalGids[%zu] must be a gid", i);
		p->additional_gids[p->n_additional_gids++] = json_object_get_int64(g);
	}
	return 0;
}

static int parse_process_more(struct json_object *obj, struct oci_process *p, struct diyc_error *err)
{
	int r;
	struct json_object *caps = spec_member(obj, "capabilities");
	if (caps) {
		if ((r = spec_want(caps, json_type_object, "process.capabilities", err)) < 0 ||
		    (r = parse_capset(caps, "bounding", &p->bounding, err)) < 0 ||
		    (r = parse_capset(caps, "effective", &p->effective, err)) < 0 ||
		    (r = parse_capset(caps, "permitted", &p->permitted, err)) < 0 ||
		    (r = parse_capset(caps, "inheritable", &p->inheritable, err)) < 0 ||
		    (r = parse_capset(caps, "ambient", &p->ambient, err)) < 0)
			return r;
		p->has_caps = true;
	}
	struct json_object *rl = spec_member(obj, "rlimits");
	if (rl && (r = parse_rlimits(rl, p, err)) < 0)
		return r;
	int64_t oom = 0;
	if ((r = spec_int(obj, "oomScoreAdj", "process.oomScoreAdj", -1000, 1000, &oom, &p->has_oom_score_adj, err)) < 0)
		return r;
	p->oom_score_adj = oom;
	if ((r = spec_bool(obj, "noNewPrivileges", "process.noNewPrivileges", &p->no_new_privileges, err)) < 0 ||
	    (r = spec_string(obj, "apparmorProfile", "process.apparmorProfile", &p->apparmor_profile, err)) < 0 ||
	    (r = spec_string(obj, "selinuxLabel", "process.selinuxLabel", &p->selinux_label, err)) < 0)
		return r;
	return 0;
}

int oci_process_parse(struct json_object *obj, struct oci_process *p, struct diyc_error *err)
{
	memset(p, 0, sizeof(*p));
	int r = spec_want(obj, json_type_object, "process", err);
	if (r < 0)
		return r;
	if ((r = spec_bool(obj, "terminal", "process.terminal", &p->terminal, err)) < 0)
		return r;
	struct json_object *cs = spec_member(obj, "consoleSize");
	if (cs) {
		int64_t h = 0, w = 0;
		if ((r = spec_int(cs, "height", "process.consoleSize.height", 0, 65535, &h, NULL, err)) < 0 ||
		    (r = spec_int(cs, "width", "process.consoleSize.width", 0, 65535, &w, NULL, err)) < 0)
			return r;
		p->console_height = h;
		p->console_width = w;
	}
	struct json_object *user = spec_member(obj, "user");
	if (user && ((r = spec_want(user, json_type_object, "process.user", err)) < 0 || (r = parse_user(user, p, err)) < 0))
		return r;
	if ((r = spec_strv(obj, "args", "process.args", &p->args, err)) < 0 ||
	    (r = spec_strv(obj, "env", "process.env", &p->env, err)) < 0 ||
	    (r = spec_string(obj, "cwd", "process.cwd", &p->cwd, err)) < 0)
		return r;
	if (!p->args || !p->args[0] || !p->args[0][0])
		return diyc_error_plain(err, EINVAL, "process.args must name the command to run");
	if (!p->env && !(p->env = calloc(1, sizeof(char *))))
		return diyc_error(err, ENOMEM, "env");
	if (!p->cwd && !(p->cwd = strdup("/")))
		return diyc_error(err, ENOMEM, "cwd");
	if (p->cwd[0] != '/')
		return diyc_error_plain(err, EINVAL, "process.cwd must be an absolute path, not `%s`", p->cwd);
	return parse_process_more(obj, p, err);
}

int oci_process_parse_text(const char *json, struct oci_process *p, struct diyc_error *err)
{
	enum json_tokener_error jerr;
	struct json_object *root = json_tokener_parse_verbose(json, &jerr);
	if (!root)
		return diyc_error_plain(err, EINVAL, "the process is not valid JSON: %s", json_tokener_error_desc(jerr));
	int r = oci_process_parse(root, p, err);
	json_object_put(root);
	return r;
}

void oci_process_free(struct oci_process *p)
{
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	free(p->additional_gids);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}

/* ---- mounts ---- */

static const struct {
	const char *name;
	unsigned long set, clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 }, { "remount", MS_REMOUNT, 0 },
	{ "mand", MS_MANDLOCK, 0 }, { "nomand", 0, MS_MANDLOCK },
	{ "atime", 0, MS_NOATIME }, { "noatime", MS_NOATIME, 0 },
	{ "diratime", 0, MS_NODIRATIME }, { "nodiratime", MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
	{ "bind", MS_BIND, 0 }, { "rbind", MS_BIND | MS_REC, 0 },
	{ "silent", MS_SILENT, 0 }, { "loud", 0, MS_SILENT },
};

static const struct {
	const char *name;
	unsigned long flags;
} propagations[] = {
	{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static const struct {
	const char *name;
	uint64_t set, clear;
} recursive_attrs[] = {
	{ "rro", MOUNT_ATTR_RDONLY, 0 }, { "rrw", 0, MOUNT_ATTR_RDONLY },
	{ "rnosuid", MOUNT_ATTR_NOSUID, 0 }, { "rsuid", 0, MOUNT_ATTR_NOSUID },
	{ "rnodev", MOUNT_ATTR_NODEV, 0 }, { "rdev", 0, MOUNT_ATTR_NODEV },
	{ "rnoexec", MOUNT_ATTR_NOEXEC, 0 }, { "rexec", 0, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", MOUNT_ATTR_NODIRATIME, 0 }, { "rdiratime", 0, MOUNT_ATTR_NODIRATIME },
	{ "rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME }, { "rnorelatime", 0, MOUNT_ATTR__ATIME },
	{ "rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME }, { "ratime", 0, MOUNT_ATTR__ATIME },
	{ "rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME }, { "rnostrictatime", 0, MOUNT_ATTR__ATIME },
	{ "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0 }, { "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
};

static bool mount_option(const char *o, struct oci_mount *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_flags); i++)
		if (!strcmp(o, mount_flags[i].name)) {
			m->flags = (m->flags & ~mount_flags[i].clear) | mount_flags[i].set;
			m->clear = (m->clear & ~mount_flags[i].set) | mount_flags[i].clear;
			return true;
		}
	for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
		if (!strcmp(o, propagations[i].name)) {
			m->propagation = propagations[i].flags;
			return true;
		}
	for (size_t i = 0; i < ARRAY_SIZE(recursive_attrs); i++)
		if (!strcmp(o, recursive_attrs[i].name)) {
			m->attr_set = (m->attr_set & ~recursive_attrs[i].clear) | recursive_attrs[i].set;
			m->attr_clr = (m->attr_clr & ~recursive_attrs[i].set) | recursive_attrs[i].clear;
			return true;
		}
	/* crun's and podman's own hints for the runtime: nothing to do here */
	return !strcmp(o, "tmpcopyup") || !strcmp(o, "notmpcopyup") || !strcmp(o, "copy-symlink") ||
	       !strcmp(o, "z") || !strcmp(o, "Z");
}

int oci_mount_options(struct json_object *options, struct oci_mount *m, struct diyc_error *err)
{
	if (!options)
		return 0;
	int r = spec_want(options, json_type_array, "mounts[].options", err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(options), len = 0;
	_cleanup_free_ char *data = NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(options, i);
		if (!json_object_is_type(e, json_type_string))
			return diyc_error_plain(err, EINVAL, "mounts[].options[%zu] must be a string", i);
		const char *o = json_object_get_string(e);
		if (!strcmp(o, "idmap") || !strcmp(o, "ridmap"))
			return diyc_error_plain(err, ENOTSUP, "mount %s: id-mapped mounts (`%s`) are not supported",
						m->destination, o);
		if (mount_option(o, m))
			continue;
		size_t ol = strlen(o);
		char *d = realloc(data, len + ol + 2);
		if (!d)
			return diyc_error(err, ENOMEM, "mount options");
		data = d;
		if (len)
			data[len++] = ',';
		memcpy(data + len, o, ol + 1);
		len += ol;
	}
	m->data = steal_ptr(data);
	return 0;
}

static int parse_mount(struct json_object *e, size_t i, const char *bundle, struct oci_mount *m,
		       struct diyc_error *err)
{
	int r = spec_want(e, json_type_object, "mounts[]", err);
	if (r < 0)
		return r;
	if ((r = spec_string(e, "destination", "mounts[].destination", &m->destination, err)) < 0 ||
	    (r = spec_string(e, "type", "mounts[].type", &m->type, err)) < 0)
		return r;
	if (!m->destination || m->destination[0] != '/')
		return diyc_error_plain(err, EINVAL, "mounts[%zu]: the destination must be an absolute path, not `%s`",
					i, m->destination ? m->destination : "");
	_cleanup_free_ char *source = NULL;
	if ((r = spec_string(e, "source", "mounts[].source", &source, err)) < 0 ||
	    (r = oci_mount_options(spec_member(e, "options"), m, err)) < 0)
		return r;
	if (m->type && (!strcmp(m->type, "bind") || !strcmp(m->type, "none") || !m->type[0])) {
		free(m->type);
		m->type = NULL;
		m->flags |= MS_BIND;
	}
	m->bind = m->flags & MS_BIND;
	if (!m->type && !m->bind)
		return diyc_error_plain(err, EINVAL, "mounts[%zu] (%s): no type, and not a bind mount", i,
					m->destination);
	if (m->bind) {
		if (!source || !source[0])
			return diyc_error_plain(err, EINVAL, "mounts[%zu] (%s): a bind mount needs a source", i,
						m->destination);
		return spec_abs_path(bundle, source, &m->source, err);
	}
	m->source = source ? steal_ptr(source) : strdup(m->type);
	return m->source ? 0 : diyc_error(err, ENOMEM, "mounts");
}

static int parse_mounts(struct json_object *v, struct oci_spec *s, struct diyc_error *err)
{
	int r = spec_want(v, json_type_array, "mounts", err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v);
	s->mounts = calloc(n ? n : 1, sizeof(*s->mounts));
	if (!s->mounts)
		return diyc_error(err, ENOMEM, "mounts");
	for (size_t i = 0; i < n; i++) {
		r = parse_mount(json_object_array_get_idx(v, i), i, s->bundle, &s->mounts[i], err);
		s->n_mounts = i + 1;
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- hooks ---- */

static int parse_hooks(struct json_object *hooks, struct oci_spec *s, struct diyc_error *err)
{
	int r = spec_want(hooks, json_type_object, "hooks", err);
	if (r < 0)
		return r;
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		struct json_object *list = spec_member(hooks, oci_hook_names[k]);
		if (!list)
			continue;
		char what[64];
		snprintf(what, sizeof(what), "hooks.%s", oci_hook_names[k]);
		if ((r = spec_want(list, json_type_array, what, err)) < 0)
			return r;
		size_t n = json_object_array_length(list);
		s->hooks[k] = calloc(n ? n : 1, sizeof(struct oci_hook));
		if (!s->hooks[k])
			return diyc_error(err, ENOMEM, "hooks");
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(list, i);
			struct oci_hook *h = &s->hooks[k][i];
			int64_t timeout = 0;
			bool given;
			s->n_hooks[k] = i + 1;
			if ((r = spec_want(e, json_type_object, what, err)) < 0 ||
			    (r = spec_string(e, "path", what, &h->path, err)) < 0 ||
			    (r = spec_strv(e, "args", what, &h->args, err)) < 0 ||
			    (r = spec_strv(e, "env", what, &h->env, err)) < 0 ||
			    (r = spec_int(e, "timeout", what, 1, INT_MAX, &timeout, &given, err)) < 0)
				return diyc_error_wrap(err, "%s[%zu]", what, i);
			h->timeout = timeout;
			if (!h->path || h->path[0] != '/')
				return diyc_error_plain(err, EINVAL, "%s[%zu]: the path must be absolute", what, i);
		}
	}
	return 0;
}

void oci_spec_free(struct oci_spec *s)
{
	free(s->bundle);
	free(s->json);
	free(s->oci_version);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	oci_process_free(&s->process);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		for (size_t i = 0; i < s->n_hooks[k]; i++) {
			free(s->hooks[k][i].path);
			strv_free(s->hooks[k][i].args);
			strv_free(s->hooks[k][i].env);
		}
		free(s->hooks[k]);
	}
	free(s->annotations_json);
	for (size_t i = 0; i < s->n_namespaces; i++)
		free(s->namespaces[i].path);
	free(s->uid_maps);
	free(s->gid_maps);
	strv_free(s->sysctl);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	free(s->cgroups_path);
	free(s->resources.cpuset_cpus);
	free(s->resources.cpuset_mems);
	strv_free(s->resources.hugetlb);
	strv_free(s->resources.unified);
	free(s->resources.devices);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	free(s->seccomp_json);
	free(s->mount_label);
	strv_free(s->personality);
	memset(s, 0, sizeof(*s));
}

const struct oci_namespace *oci_spec_namespace(const struct oci_spec *s, int type)
{
	for (size_t i = 0; i < s->n_namespaces; i++)
		if (s->namespaces[i].type == type)
			return &s->namespaces[i];
	return NULL;
}

static int parse_top(struct json_object *root, struct oci_spec *s, struct diyc_error *err)
{
	int r = spec_want(root, json_type_object, "config.json", err);
	if (r < 0)
		return r;
	if ((r = spec_string(root, "ociVersion", "ociVersion", &s->oci_version, err)) < 0)
		return r;
	if (!s->oci_version)
		return diyc_error_plain(err, EINVAL, "config.json has no ociVersion");
	if (strncmp(s->oci_version, "1.", 2) != 0)
		return diyc_error_plain(err, EINVAL, "ociVersion %s is not supported: diyc runs bundles of "
					"runtime-spec 1.x", s->oci_version);
	struct json_object *root_obj = spec_member(root, "root");
	_cleanup_free_ char *root_path = NULL;
	if (!root_obj)
		return diyc_error_plain(err, EINVAL, "config.json has no root");
	if ((r = spec_want(root_obj, json_type_object, "root", err)) < 0 ||
	    (r = spec_string(root_obj, "path", "root.path", &root_path, err)) < 0 ||
	    (r = spec_bool(root_obj, "readonly", "root.readonly", &s->root_readonly, err)) < 0)
		return r;
	if (!root_path || !root_path[0])
		return diyc_error_plain(err, EINVAL, "root.path is missing");
	if ((r = spec_abs_path(s->bundle, root_path, &s->root_path, err)) < 0)
		return r;
	if ((r = spec_string(root, "hostname", "hostname", &s->hostname, err)) < 0 ||
	    (r = spec_string(root, "domainname", "domainname", &s->domainname, err)) < 0)
		return r;
	struct json_object *proc = spec_member(root, "process");
	if (proc) {
		if ((r = oci_process_parse(proc, &s->process, err)) < 0)
			return r;
		s->has_process = true;
	}
	struct json_object *v;
	if ((v = spec_member(root, "mounts")) && (r = parse_mounts(v, s, err)) < 0)
		return r;
	if ((v = spec_member(root, "hooks")) && (r = parse_hooks(v, s, err)) < 0)
		return r;
	v = spec_member(root, "annotations");
	if (v && (r = spec_want(v, json_type_object, "annotations", err)) < 0)
		return r;
	s->annotations_json = strdup(v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "{}");
	if (!s->annotations_json)
		return diyc_error(err, ENOMEM, "annotations");
	if ((v = spec_member(root, "linux")) && (r = spec_parse_linux(v, s, err)) < 0)
		return r;
	return 0;
}

int oci_spec_parse(const char *json, const char *bundle, struct oci_spec *s, struct diyc_error *err)
{
	memset(s, 0, sizeof(*s));
	s->bundle = strdup(bundle);
	if (!s->bundle)
		return diyc_error(err, ENOMEM, "bundle");
	enum json_tokener_error jerr;
	struct json_object *root = json_tokener_parse_verbose(json, &jerr);
	if (!root) {
		oci_spec_free(s);
		return diyc_error_plain(err, EINVAL, "config.json is not valid JSON: %s", json_tokener_error_desc(jerr));
	}
	int r = parse_top(root, s, err);
	json_object_put(root);
	if (r < 0)
		oci_spec_free(s);
	return r;
}

int oci_spec_load(const char *bundle, struct oci_spec *s, struct diyc_error *err)
{
	char abs[PATH_MAX];
	memset(s, 0, sizeof(*s));
	if (!realpath(bundle, abs))
		return diyc_error(err, errno, "the bundle %s", bundle);
	_cleanup_close_ int dir = open(abs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dir < 0)
		return diyc_error(err, errno, "the bundle %s", abs);
	_cleanup_free_ char *json = NULL;
	size_t len;
	int fd = open_regular_at(dir, "config.json", RESOLVE_BENEATH, NULL);
	if (fd < 0)
		return diyc_error_plain(err, -fd, "%s/config.json: %s", abs,
					fd == -ENOENT ? "does not exist" : open_regular_error(fd));
	int r = read_fd_all(fd, CONFIG_MAX, &json, &len);
	close(fd);
	if (r < 0)
		return diyc_error(err, -r, "read %s/config.json", abs);
	if (strlen(json) != len)
		return diyc_error_plain(err, EINVAL, "%s/config.json holds a NUL byte", abs);
	r = oci_spec_parse(json, abs, s, err);
	if (r < 0)
		return diyc_error_wrap(err, "%s/config.json", abs);
	s->json = steal_ptr(json);
	return 0;
}
