/* SPDX-License-Identifier: MIT */
/* config.c: a container's configuration (struct container_config, config.h) and diyc's
 * own config.json, which is one way of writing it down. The file is described by one
 * table of fields (its key, the kind of value, where it is in the struct, required or
 * its default) that both config_to_json and config_from_json walk; the few fields that
 * are more than a value (published ports, the cgroup manager, `created`) have handlers
 * of their own. The file is diyc's own: a field of the wrong type means it was damaged,
 * and the container is then only good for `diyc rm`. Another format of the same
 * configuration (an OCI config.json) would be a second reader and writer of the struct
 * with a table of its own; config_free knows the struct alone. Also the docker-style
 * JSON of labels and exposed ports that inspect shows. */
#include <errno.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "lib/util.h"

void time_now_rfc3339(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- A JSON object and a C struct, field by field, as a table says ---- */

enum field_kind {
	FIELD_STR,      /* char *: a string; null counts as absent */
	FIELD_BOOL,     /* bool */
	FIELD_INT,      /* int or unsigned: an integer from min to max */
	FIELD_INT64,    /* int64_t or uint64_t: an integer from min to max */
	FIELD_STRV,     /* char **, NULL-terminated: an array of strings, always written */
	FIELD_ENUM,     /* an enum: the string names[value]; null counts as absent */
	FIELD_OBJECT,   /* a struct inside: an object with the fields of sub */
	FIELD_ARRAY,    /* a pointer to structs, their size_t count at count_at: an array of objects of sub */
	FIELD_CUSTOM,   /* read and write do it */
};

struct json_table;
struct json_field {
	const char *key;
	enum field_kind kind;
	size_t at;                      /* offsetof the member in the table's struct */
	bool required;                  /* absent is damaged; else an absent field gets def (or 0) */
	int64_t min, max, def;          /* FIELD_INT, FIELD_INT64; def also for FIELD_BOOL */
	const char *const *names;       /* FIELD_ENUM: indexed by value, NULL-terminated */
	const struct json_table *sub;   /* FIELD_OBJECT, FIELD_ARRAY */
	size_t count_at;                /* FIELD_ARRAY */
	/* read and written only when this holds of the struct (the fields of one network) */
	bool (*when)(const void *base);
	/* not written when this holds of the struct: the value says "not set" */
	bool (*omit)(const void *base);
	/* FIELD_CUSTOM: called when the key is there, v NULL for null; NULL from write: not written */
	int (*read)(struct json_object *v, void *base);
	struct json_object *(*write)(const void *base);
};

struct json_table {
	const struct json_field *fields;
	size_t n;
	size_t size;                    /* of the struct (an array's element) */
	int (*check)(void *base);       /* once the fields are read: what they must say together */
};

#define FIELD(type, member, k, kd, ...) \
	{ .key = k, .kind = FIELD_##kd, .at = offsetof(type, member), __VA_ARGS__ }
#define TABLE(f, type, chk) { .fields = f, .n = ARRAY_SIZE(f), .size = sizeof(type), .check = chk }

static struct json_object *strv_json(char **v)
{
	struct json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static struct json_object *write_fields(const struct json_table *t, const void *base);

static struct json_object *write_array(const struct json_field *f, const void *base)
{
	const char *elems = *(const char *const *)((const char *)base + f->at);
	size_t n = *(const size_t *)((const char *)base + f->count_at);
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, write_fields(f->sub, elems + i * f->sub->size));
	return a;
}

static const char *enum_name(const struct json_field *f, int v)
{
	for (int i = 0; f->names[i]; i++)
		if (i == v)
			return f->names[i];
	return f->names[0];
}

static struct json_object *write_value(const struct json_field *f, const void *base)
{
	const void *p = (const char *)base + f->at;
	switch (f->kind) {
	case FIELD_STR:
		return *(char *const *)p ? json_object_new_string(*(char *const *)p) : NULL;
	case FIELD_BOOL:
		return json_object_new_boolean(*(const bool *)p);
	case FIELD_INT:
		return json_object_new_int(*(const int *)p);
	case FIELD_INT64:
		return json_object_new_int64(*(const int64_t *)p);
	case FIELD_STRV:
		return strv_json(*(char **const *)p);
	case FIELD_ENUM:
		return json_object_new_string(enum_name(f, *(const int *)p));
	case FIELD_OBJECT:
		return write_fields(f->sub, p);
	case FIELD_ARRAY:
		return write_array(f, base);
	case FIELD_CUSTOM:
		return f->write(base);
	}
	return NULL;
}

static struct json_object *write_fields(const struct json_table *t, const void *base)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	for (size_t i = 0; i < t->n; i++) {
		const struct json_field *f = &t->fields[i];
		if ((f->when && !f->when(base)) || (f->omit && f->omit(base)))
			continue;
		struct json_object *v = write_value(f, base);
		if (v)
			json_object_object_add(o, f->key, v);
	}
	return o;
}

static int read_fields(struct json_object *o, const struct json_table *t, void *base);

/* On failure *out holds what was copied so far, for the caller to free. */
static int read_strv(struct json_object *v, char ***out)
{
	if (!json_object_is_type(v, json_type_array))
		return -EINVAL;
	size_t n = json_object_array_length(v);
	char **a = calloc(n + 1, sizeof(char *));
	if (!a)
		return -ENOMEM;
	*out = a;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string))
			return -EINVAL;
		if (!(a[i] = strdup(json_object_get_string(e))))
			return -ENOMEM;
	}
	return 0;
}

/* The elements read so far are counted, for the caller to free. */
static int read_array(struct json_object *v, const struct json_field *f, void *base)
{
	if (!json_object_is_type(v, json_type_array))
		return -EINVAL;
	size_t n = json_object_array_length(v);
	if (n == 0)
		return 0;
	char *elems = calloc(n, f->sub->size);
	if (!elems)
		return -ENOMEM;
	*(char **)((char *)base + f->at) = elems;
	size_t *count = (size_t *)((char *)base + f->count_at);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		*count = i + 1;
		if (!json_object_is_type(e, json_type_object))
			return -EINVAL;
		int r = read_fields(e, f->sub, elems + i * f->sub->size);
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_enum(struct json_object *v, const struct json_field *f, int *out)
{
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	for (int i = 0; f->names[i]; i++)
		if (!strcmp(json_object_get_string(v), f->names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

static int read_absent(const struct json_field *f, void *p)
{
	if (f->required)
		return -EINVAL;
	if (f->kind == FIELD_BOOL)
		*(bool *)p = f->def;
	else if (f->kind == FIELD_INT)
		*(int *)p = (int)f->def;
	else if (f->kind == FIELD_INT64)
		*(int64_t *)p = f->def;
	return 0;
}

static int read_value(struct json_object *v, const struct json_field *f, void *base)
{
	void *p = (char *)base + f->at;
	int64_t n;
	switch (f->kind) {
	case FIELD_STR:
		if (!json_object_is_type(v, json_type_string))
			return -EINVAL;
		return (*(char **)p = strdup(json_object_get_string(v))) ? 0 : -ENOMEM;
	case FIELD_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		*(bool *)p = json_object_get_boolean(v);
		return 0;
	case FIELD_INT:
	case FIELD_INT64:
		n = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || n < f->min || n > f->max)
			return -EINVAL;
		if (f->kind == FIELD_INT)
			*(int *)p = (int)n;
		else
			*(int64_t *)p = n;
		return 0;
	case FIELD_STRV:
		return read_strv(v, (char ***)p);
	case FIELD_ENUM:
		return read_enum(v, f, (int *)p);
	case FIELD_OBJECT:
		return json_object_is_type(v, json_type_object) ? read_fields(v, f->sub, p) : -EINVAL;
	case FIELD_ARRAY:
		return read_array(v, f, base);
	case FIELD_CUSTOM:
		return f->read(v, base);
	}
	return -EINVAL;
}

/* What is read is in base, also on failure, for the caller to free. */
static int read_fields(struct json_object *o, const struct json_table *t, void *base)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct json_field *f = &t->fields[i];
		struct json_object *v = NULL;
		if (f->when && !f->when(base))
			continue;
		bool present = json_object_object_get_ex(o, f->key, &v);
		int r;
		if (f->kind == FIELD_CUSTOM)
			r = present ? f->read(v, base) : 0;
		else if (!present || (!v && (f->kind == FIELD_STR || f->kind == FIELD_ENUM)))
			r = read_absent(f, (char *)base + f->at);
		else
			r = read_value(v, f, base);
		if (r < 0)
			return r;
	}
	return t->check ? t->check(base) : 0;
}

/* ---- config.json ---- */

/* -v, --tmpfs and --mount, in order; a volume's run-time fields (where the store keeps it,
 * the identity of its _data) are never written */
static int mount_check(void *base)
{
	const struct mount_entry *m = base;
	if (m->kind == MOUNT_BIND && !(m->source && m->source[0] == '/'))
		return -EINVAL;
	/* a volume's name becomes a path below the store: its rule holds here too */
	if (m->kind == MOUNT_VOLUME && !(m->source && mount_volume_name_valid(m->source)))
		return -EINVAL;
	return m->target[0] == '/' ? 0 : -EINVAL;
}

/* "source": a string with a NUL inside would be cut short by strdup: damaged */
static int mount_source_read(struct json_object *v, void *base)
{
	struct mount_entry *m = base;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return -EINVAL;
	return (m->source = strdup(json_object_get_string(v))) ? 0 : -ENOMEM;
}

static struct json_object *mount_source_write(const void *base)
{
	const struct mount_entry *m = base;
	return m->source ? json_object_new_string(m->source) : NULL;
}

static bool not_volume(const void *base)
{
	return ((const struct mount_entry *)base)->kind != MOUNT_VOLUME;
}

static const char *const mount_kinds[] = {
	[MOUNT_BIND] = "bind", [MOUNT_TMPFS] = "tmpfs", [MOUNT_VOLUME] = "volume", NULL
};
#define MOUNT(...) FIELD(struct mount_entry, __VA_ARGS__)
static const struct json_field mount_fields[] = {
	MOUNT(kind, "type", ENUM, .required = true, .names = mount_kinds),
	MOUNT(source, "source", CUSTOM, .read = mount_source_read, .write = mount_source_write),
	MOUNT(target, "target", STR, .required = true),
	MOUNT(readonly, "readonly", BOOL),
	MOUNT(options, "options", STR),
	/* volumes only; absent in configurations older than volumes */
	MOUNT(anonymous, "anonymous", BOOL, .omit = not_volume),
	MOUNT(nocopy, "nocopy", BOOL, .omit = not_volume),
};
static const struct json_table mount_table = TABLE(mount_fields, struct mount_entry, mount_check);

/* "resources": cgroup limits, only there when a limit or a manager was asked for */
static int manager_read(struct json_object *v, void *base)
{
	struct cgroup_limits *l = base;
	struct diyc_error ignore;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	const char *s = json_object_get_string(v);
	if (strcmp(s, "auto") && cgroup_limit_parse_manager("cgroup_manager", s, &l->manager, &ignore) < 0)
		return -EINVAL;
	return 0;
}

static struct json_object *manager_write(const void *base)
{
	const struct cgroup_limits *l = base;
	const char *s = l->manager == CGROUP_MANAGER_AUTO ? "auto" : cgroup_manager_name(l->manager);
	return s ? json_object_new_string(s) : NULL;
}

static int limits_check(void *base)
{
	struct diyc_error ignore;
	const struct cgroup_limits *l = base;
	/* what `run` would have refused never runs (unlimited, or with wrapped-around swap) */
	if (cgroup_limits_check(l, &ignore) < 0 || l->cpu_quota > 1000000000ULL)
		return -EINVAL;
	return 0;
}

#define LIMIT(...) FIELD(struct cgroup_limits, __VA_ARGS__)
static const struct json_field limit_fields[] = {
	LIMIT(memory, "memory", INT64, .min = 0, .max = INT64_MAX),
	LIMIT(memory_swap, "memory_swap", INT64, .min = -1, .max = INT64_MAX),
	LIMIT(pids, "pids", INT64, .min = 0, .max = INT64_MAX),
	LIMIT(cpu_quota, "cpu_quota", INT64, .min = 0, .max = INT64_MAX),
	LIMIT(manager, "cgroup_manager", CUSTOM, .read = manager_read, .write = manager_write),
};
static const struct json_table limits_table = TABLE(limit_fields, struct cgroup_limits, limits_check);

/* "security": absent in configurations older than the hardening: docker's defaults */
static int security_check(void *base)
{
	const struct security_config *sec = base;
	return sec->seccomp == SECCOMP_PROFILE && !sec->seccomp_profile ? -EINVAL : 0;
}

static const char *const seccomp_modes[] = {
	[SECCOMP_DEFAULT] = "default", [SECCOMP_UNCONFINED] = "unconfined", [SECCOMP_PROFILE] = "profile", NULL
};
#define SECURITY(...) FIELD(struct security_config, __VA_ARGS__)
static const struct json_field security_fields[] = {
	SECURITY(cap_add, "cap_add", STRV, .required = true),
	SECURITY(cap_drop, "cap_drop", STRV, .required = true),
	SECURITY(privileged, "privileged", BOOL),
	SECURITY(read_only, "read_only", BOOL),
	SECURITY(no_new_privs, "no_new_privileges", BOOL),
	SECURITY(seccomp, "seccomp", ENUM, .required = true, .names = seccomp_modes),
	SECURITY(seccomp_profile, "seccomp_profile", STR),
};
static const struct json_table security_table = TABLE(security_fields, struct security_config, security_check);

static bool on_slirp(const void *base)
{
	return ((const struct container_config *)base)->net == NET_SLIRP;
}

static bool on_bridge(const void *base)
{
	return ((const struct container_config *)base)->net == NET_BRIDGE;
}

static bool publishes(const void *base)
{
	return on_slirp(base) || on_bridge(base);
}

static bool no_entrypoint_len(const void *base)
{
	return ((const struct container_config *)base)->entrypoint_len < 0;
}

static bool no_storage(const void *base)
{
	return ((const struct container_config *)base)->storage_size == 0;
}

static bool no_limits(const void *base)
{
	const struct cgroup_limits *l = &((const struct container_config *)base)->limits;
	return !cgroup_wanted(l) && l->manager == CGROUP_MANAGER_AUTO;
}

/* "ports": published ports in -p's own form; absent in configurations older than -p */
static int ports_read(struct json_object *v, void *base)
{
	struct container_config *c = base;
	_cleanup_strv_ char **specs = NULL;
	int r = read_strv(v, &specs);
	if (r < 0)
		return r;
	size_t n = 0;
	while (specs[n])
		n++;
	c->ports = calloc(n ? n : 1, sizeof(*c->ports));
	if (!c->ports)
		return -ENOMEM;
	struct diyc_error ignore;
	for (; c->n_ports < n; c->n_ports++)
		if (port_map_parse(specs[c->n_ports], &c->ports[c->n_ports], &ignore) < 0)
			return -EINVAL;
	return 0;
}

static struct json_object *ports_write(const void *base)
{
	const struct container_config *c = base;
	struct json_object *ports = json_object_new_array();
	for (size_t i = 0; i < c->n_ports; i++) {
		char spec[96];
		json_object_array_add(ports, json_object_new_string(port_map_spec(&c->ports[i], spec, sizeof(spec))));
	}
	return ports;
}

/* "created": informational; a value of another type is passed over */
static int created_read(struct json_object *v, void *base)
{
	struct container_config *c = base;
	if (json_object_is_type(v, json_type_string))
		snprintf(c->created, sizeof(c->created), "%s", json_object_get_string(v));
	return 0;
}

static struct json_object *created_write(const void *base)
{
	return json_object_new_string(((const struct container_config *)base)->created);
}

static int config_check(void *base)
{
	const struct container_config *c = base;
	size_t n = 0;
	while (c->command[n])
		n++;
	if (n == 0 || (c->entrypoint_len > 0 && (size_t)c->entrypoint_len > n))
		return -EINVAL;
	/* a size with nothing to hold it, or the reverse, was never written by run */
	if ((c->storage_size != 0) != (c->storage_kind != DISK_QUOTA_NONE))
		return -EINVAL;
	return 0;
}

#define CONFIG(...) FIELD(struct container_config, __VA_ARGS__)
/* In the order written. A field added later is optional (older files lack it). */
static const struct json_field config_fields[] = {
	CONFIG(name, "name", STR, .required = true),
	CONFIG(image, "image", STR, .required = true),
	CONFIG(image_id, "image_id", STR, .required = true),
	CONFIG(command, "command", STRV, .required = true),
	CONFIG(entrypoint_len, "entrypoint_len", INT, .min = 0, .max = INT32_MAX, .def = -1,
	       .omit = no_entrypoint_len),
	CONFIG(env, "env", STRV, .required = true),
	CONFIG(labels, "labels", STRV),
	CONFIG(exposed, "exposed_ports", STRV),
	CONFIG(hostname, "hostname", STR, .required = true),
	CONFIG(workdir, "workdir", STR),
	CONFIG(user, "user", STR),
	CONFIG(net, "network", ENUM, .required = true, .names = net_mode_names),
	CONFIG(slirp.mtu, "mtu", INT, .min = 576, .max = 65521, .def = SLIRP_MTU_DEFAULT, .when = on_slirp),
	CONFIG(slirp.allow_host_loopback, "allow_host_loopback", BOOL, .when = on_slirp),
	CONFIG(bridge, "bridge", STR, .required = true, .when = on_bridge),
	CONFIG(ip, "ip", STR, .when = on_bridge),
	CONFIG(ports, "ports", CUSTOM, .when = publishes, .read = ports_read, .write = ports_write),
	CONFIG(tty, "tty", BOOL),
	CONFIG(interactive, "interactive", BOOL),
	CONFIG(init, "init", BOOL, .def = true),
	CONFIG(rm, "rm", BOOL),
	CONFIG(mounts, "mounts", ARRAY, .sub = &mount_table,
	       .count_at = offsetof(struct container_config, n_mounts)),
	CONFIG(limits, "resources", OBJECT, .sub = &limits_table, .omit = no_limits),
	CONFIG(security, "security", OBJECT, .sub = &security_table),
	CONFIG(storage_size, "storage_size", INT64, .min = DISK_SIZE_MIN, .max = INT64_MAX, .omit = no_storage),
	CONFIG(storage_kind, "storage_backing", ENUM, .names = disk_quota_kind_names, .omit = no_storage),
	CONFIG(created, "created", CUSTOM, .read = created_read, .write = created_write),
};
static const struct json_table config_table = TABLE(config_fields, struct container_config, config_check);

char *config_to_json(const struct container_config *c)
{
	struct json_object *j = write_fields(&config_table, c);
	if (!j)
		return NULL;
	const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = s ? strdup(s) : NULL;
	json_object_put(j);
	return out;
}

int config_from_json(const char *json, struct container_config *c, struct diyc_error *err)
{
	memset(c, 0, sizeof(*c));
	struct json_object *j = json_tokener_parse(json);
	if (!j || !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		return diyc_error_plain(err, EINVAL, "config.json is not a JSON object");
	}
	int r = read_fields(j, &config_table, c);
	json_object_put(j);
	if (r < 0) {
		config_free(c);
		if (r == -ENOMEM)
			return diyc_error(err, ENOMEM, "read config.json");
		return diyc_error_plain(err, EINVAL, "config.json is damaged (a field is missing or of the wrong type)");
	}
	return 0;
}

/* ---- the struct itself, whatever it was read from ---- */

void config_free(struct container_config *c)
{
	free(c->name);
	free(c->image);
	free(c->image_id);
	strv_free(c->command);
	strv_free(c->env);
	strv_free(c->labels);
	strv_free(c->exposed);
	free(c->hostname);
	free(c->workdir);
	free(c->user);
	for (size_t i = 0; i < c->n_mounts; i++)
		mount_entry_free(&c->mounts[i]);
	free(c->mounts);
	free(c->ports);
	free(c->bridge);
	free(c->ip);
	strv_free(c->security.cap_add);
	strv_free(c->security.cap_drop);
	free(c->security.seccomp_profile);
	memset(c, 0, sizeof(*c));
}
