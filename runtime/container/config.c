/* SPDX-License-Identifier: MIT */
/* config.c: config.json, read and written with json-c. The file is diyc's own; a
 * field of the wrong type means the file was damaged, and the container is then only
 * good for `diyc rm`. */
#include <errno.h>
#include <json-c/json.h>
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

static void add_str(struct json_object *j, const char *key, const char *v)
{
	if (v)
		json_object_object_add(j, key, json_object_new_string(v));
}

struct json_object *labels_json(char **labels)
{
	struct json_object *o = json_object_new_object();
	for (; labels && *labels; labels++) {
		size_t k = strcspn(*labels, "=");
		_cleanup_free_ char *key = strndup(*labels, k);
		if (key)
			json_object_object_add(o, key, json_object_new_string((*labels)[k] ? *labels + k + 1 : ""));
	}
	return o;
}

struct json_object *exposed_json(char **ports)
{
	struct json_object *o = json_object_new_object();
	for (; ports && *ports; ports++)
		json_object_object_add(o, *ports, json_object_new_object());
	return o;
}

static struct json_object *strv_json(char **v)
{
	struct json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

char *config_to_json(const struct container_config *c)
{
	struct json_object *j = json_object_new_object();
	if (!j)
		return NULL;
	add_str(j, "name", c->name);
	add_str(j, "image", c->image);
	add_str(j, "image_id", c->image_id);
	json_object_object_add(j, "command", strv_json(c->command));
	if (c->entrypoint_len >= 0)
		json_object_object_add(j, "entrypoint_len", json_object_new_int(c->entrypoint_len));
	json_object_object_add(j, "env", strv_json(c->env));
	json_object_object_add(j, "labels", strv_json(c->labels));
	json_object_object_add(j, "exposed_ports", strv_json(c->exposed));
	add_str(j, "hostname", c->hostname);
	add_str(j, "workdir", c->workdir);
	add_str(j, "user", c->user);
	add_str(j, "network", c->net == NET_HOST ? "host" : c->net == NET_SLIRP ? "slirp" :
			      c->net == NET_BRIDGE ? "bridge" : "none");
	if (c->net == NET_SLIRP) {
		json_object_object_add(j, "mtu", json_object_new_int((int)c->slirp.mtu));
		json_object_object_add(j, "allow_host_loopback", json_object_new_boolean(c->slirp.allow_host_loopback));
	}
	if (c->net == NET_BRIDGE) {
		add_str(j, "bridge", c->bridge);
		add_str(j, "ip", c->ip);
	}
	if (c->net == NET_SLIRP || c->net == NET_BRIDGE) {
		struct json_object *ports = json_object_new_array();
		for (size_t i = 0; i < c->n_ports; i++) {
			char spec[96];
			json_object_array_add(ports, json_object_new_string(port_map_spec(&c->ports[i], spec, sizeof(spec))));
		}
		json_object_object_add(j, "ports", ports);
	}
	json_object_object_add(j, "tty", json_object_new_boolean(c->tty));
	json_object_object_add(j, "interactive", json_object_new_boolean(c->interactive));
	json_object_object_add(j, "init", json_object_new_boolean(c->init));
	json_object_object_add(j, "rm", json_object_new_boolean(c->rm));
	struct json_object *mounts = json_object_new_array();
	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct mount_entry *m = &c->mounts[i];
		struct json_object *o = json_object_new_object();
		add_str(o, "type", m->kind == MOUNT_BIND ? "bind" : "tmpfs");
		add_str(o, "source", m->source);
		add_str(o, "target", m->target);
		json_object_object_add(o, "readonly", json_object_new_boolean(m->readonly));
		add_str(o, "options", m->options);
		json_object_array_add(mounts, o);
	}
	json_object_object_add(j, "mounts", mounts);
	const struct cgroup_limits *l = &c->limits;
	if (cgroup_wanted(l) || l->manager != CGROUP_MANAGER_AUTO) {
		struct json_object *res = json_object_new_object();
		json_object_object_add(res, "memory", json_object_new_int64((int64_t)l->memory));
		json_object_object_add(res, "memory_swap", json_object_new_int64(l->memory_swap));
		json_object_object_add(res, "pids", json_object_new_int64((int64_t)l->pids));
		json_object_object_add(res, "cpu_quota", json_object_new_int64((int64_t)l->cpu_quota));
		add_str(res, "cgroup_manager", l->manager == CGROUP_MANAGER_AUTO ? "auto" : cgroup_manager_name(l->manager));
		json_object_object_add(j, "resources", res);
	}
	const struct security_config *sec = &c->security;
	struct json_object *so = json_object_new_object();
	json_object_object_add(so, "cap_add", strv_json(sec->cap_add));
	json_object_object_add(so, "cap_drop", strv_json(sec->cap_drop));
	json_object_object_add(so, "privileged", json_object_new_boolean(sec->privileged));
	json_object_object_add(so, "read_only", json_object_new_boolean(sec->read_only));
	json_object_object_add(so, "no_new_privileges", json_object_new_boolean(sec->no_new_privs));
	add_str(so, "seccomp", sec->seccomp == SECCOMP_UNCONFINED ? "unconfined" :
			       sec->seccomp == SECCOMP_PROFILE ? "profile" : "default");
	add_str(so, "seccomp_profile", sec->seccomp_profile);
	json_object_object_add(j, "security", so);
	add_str(j, "created", c->created);
	const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = s ? strdup(s) : NULL;
	json_object_put(j);
	return out;
}

static int get_str(struct json_object *j, const char *key, bool required, char **out)
{
	struct json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(j, key, &v) || json_object_is_type(v, json_type_null))
		return required ? -EINVAL : 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

static int get_bool(struct json_object *j, const char *key, bool *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(j, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_strv(struct json_object *j, const char *key, char ***out)
{
	struct json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(j, key, &v))
		return -EINVAL;
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

/* "ports": published ports in -p's own form; absent in configurations older than -p */
static int get_ports(struct json_object *j, struct container_config *c)
{
	struct json_object *v;
	if (!json_object_object_get_ex(j, "ports", &v))
		return 0;
	_cleanup_strv_ char **specs = NULL;
	int r = get_strv(j, "ports", &specs);
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

static int get_mounts(struct json_object *j, struct container_config *c)
{
	struct json_object *v;
	if (!json_object_object_get_ex(j, "mounts", &v))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return -EINVAL;
	size_t n = json_object_array_length(v);
	if (n == 0)
		return 0;
	if (!(c->mounts = calloc(n, sizeof(*c->mounts))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(v, i);
		struct mount_entry *m = &c->mounts[i];
		_cleanup_free_ char *type = NULL;
		c->n_mounts = i + 1;
		if (!json_object_is_type(o, json_type_object))
			return -EINVAL;
		int r = get_str(o, "type", true, &type);
		if (r == 0)
			r = get_str(o, "target", true, &m->target);
		if (r == 0)
			r = get_str(o, "source", false, &m->source);
		if (r == 0)
			r = get_str(o, "options", false, &m->options);
		if (r == 0)
			r = get_bool(o, "readonly", &m->readonly);
		if (r < 0)
			return r;
		if (!strcmp(type, "bind") && m->source && m->source[0] == '/')
			m->kind = MOUNT_BIND;
		else if (!strcmp(type, "tmpfs"))
			m->kind = MOUNT_TMPFS;
		else
			return -EINVAL;
		if (m->target[0] != '/')
			return -EINVAL;
	}
	return 0;
}

/* "security": absent in configurations older than the hardening: docker's defaults */
static int get_security(struct json_object *j, struct security_config *sec)
{
	struct json_object *so;
	if (!json_object_object_get_ex(j, "security", &so))
		return 0;
	if (!json_object_is_type(so, json_type_object))
		return -EINVAL;
	_cleanup_free_ char *mode = NULL;
	int r = get_strv(so, "cap_add", &sec->cap_add);
	if (r == 0)
		r = get_strv(so, "cap_drop", &sec->cap_drop);
	if (r == 0)
		r = get_bool(so, "privileged", &sec->privileged);
	if (r == 0)
		r = get_bool(so, "read_only", &sec->read_only);
	if (r == 0)
		r = get_bool(so, "no_new_privileges", &sec->no_new_privs);
	if (r == 0)
		r = get_str(so, "seccomp", true, &mode);
	if (r == 0)
		r = get_str(so, "seccomp_profile", false, &sec->seccomp_profile);
	if (r < 0)
		return r;
	if (!strcmp(mode, "default"))
		sec->seccomp = SECCOMP_DEFAULT;
	else if (!strcmp(mode, "unconfined"))
		sec->seccomp = SECCOMP_UNCONFINED;
	else if (!strcmp(mode, "profile") && sec->seccomp_profile)
		sec->seccomp = SECCOMP_PROFILE;
	else
		return -EINVAL;
	return 0;
}

static int get_u64(struct json_object *j, const char *key, int64_t min, int64_t *out)
{
	struct json_object *v;
	*out = 0;
	if (!json_object_object_get_ex(j, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min)
		return -EINVAL;
	*out = json_object_get_int64(v);
	return 0;
}

static int get_limits(struct json_object *j, struct cgroup_limits *l)
{
	struct json_object *res;
	if (!json_object_object_get_ex(j, "resources", &res))
		return 0;
	if (!json_object_is_type(res, json_type_object))
		return -EINVAL;
	int64_t memory, pids, cpu;
	_cleanup_free_ char *manager = NULL;
	int r = get_u64(res, "memory", 0, &memory);
	if (r == 0)
		r = get_u64(res, "memory_swap", -1, &l->memory_swap);
	if (r == 0)
		r = get_u64(res, "pids", 0, &pids);
	if (r == 0)
		r = get_u64(res, "cpu_quota", 0, &cpu);
	if (r == 0)
		r = get_str(res, "cgroup_manager", false, &manager);
	if (r < 0)
		return r;
	l->memory = (uint64_t)memory;
	l->pids = (uint64_t)pids;
	l->cpu_quota = (uint64_t)cpu;
	struct diyc_error ignore;
	if (manager && strcmp(manager, "auto") && cgroup_parse_manager(manager, &l->manager, &ignore) < 0)
		return -EINVAL;
	/* what `run` would have refused never runs (unlimited, or with wrapped-around swap) */
	if (cgroup_limits_check(l, &ignore) < 0 || l->cpu_quota > 1000000000ULL)
		return -EINVAL;
	return 0;
}

int config_from_json(const char *json, struct container_config *c, struct diyc_error *err)
{
	memset(c, 0, sizeof(*c));
	c->init = true;
	c->entrypoint_len = -1;
	struct json_object *j = json_tokener_parse(json);
	if (!j || !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		return diyc_error_plain(err, EINVAL, "config.json is not a JSON object");
	}
	_cleanup_free_ char *net = NULL;
	int r = get_str(j, "name", true, &c->name);
	if (r == 0)
		r = get_str(j, "image", true, &c->image);
	if (r == 0)
		r = get_str(j, "image_id", true, &c->image_id);
	if (r == 0)
		r = get_strv(j, "command", &c->command);
	if (r == 0)
		r = get_strv(j, "env", &c->env);
	if (r == 0 && json_object_object_get_ex(j, "labels", NULL))
		r = get_strv(j, "labels", &c->labels);
	if (r == 0 && json_object_object_get_ex(j, "exposed_ports", NULL))
		r = get_strv(j, "exposed_ports", &c->exposed);
	if (r == 0) {
		struct json_object *v;
		if (json_object_object_get_ex(j, "entrypoint_len", &v)) {
			int64_t n = json_object_get_int64(v);
			if (!json_object_is_type(v, json_type_int) || n < 0 || n > INT32_MAX)
				r = -EINVAL;
			else
				c->entrypoint_len = (int)n;
		}
	}
	if (r == 0)
		r = get_str(j, "hostname", true, &c->hostname);
	if (r == 0)
		r = get_str(j, "workdir", false, &c->workdir);
	if (r == 0)
		r = get_str(j, "user", false, &c->user);
	if (r == 0)
		r = get_str(j, "network", true, &net);
	if (r == 0)
		r = get_bool(j, "tty", &c->tty);
	if (r == 0)
		r = get_bool(j, "interactive", &c->interactive);
	if (r == 0)
		r = get_bool(j, "init", &c->init);
	if (r == 0)
		r = get_bool(j, "rm", &c->rm);
	if (r == 0)
		r = get_mounts(j, c);
	if (r == 0)
		r = get_limits(j, &c->limits);
	if (r == 0)
		r = get_security(j, &c->security);
	if (r == 0) {
		struct json_object *v;
		if (json_object_object_get_ex(j, "created", &v) && json_object_is_type(v, json_type_string))
			snprintf(c->created, sizeof(c->created), "%s", json_object_get_string(v));
	}
	if (r == 0) {
		if (!strcmp(net, "host"))
			c->net = NET_HOST;
		else if (!strcmp(net, "none"))
			c->net = NET_NONE;
		else if (!strcmp(net, "slirp")) {
			c->net = NET_SLIRP;
			int64_t mtu = SLIRP_MTU_DEFAULT;
			struct json_object *v;
			if (json_object_object_get_ex(j, "mtu", &v))
				mtu = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
			if (mtu < 576 || mtu > 65521)
				r = -EINVAL;
			c->slirp.mtu = (unsigned)mtu;
			if (r == 0)
				r = get_bool(j, "allow_host_loopback", &c->slirp.allow_host_loopback);
			if (r == 0)
				r = get_ports(j, c);
		} else if (!strcmp(net, "bridge")) {
			c->net = NET_BRIDGE;
			r = get_str(j, "bridge", true, &c->bridge);
			if (r == 0)
				r = get_str(j, "ip", false, &c->ip);
			if (r == 0)
				r = get_ports(j, c);
		} else
			r = -EINVAL;
	}
	json_object_put(j);
	if (r == 0 && !c->command[0])
		r = -EINVAL;
	if (r == 0 && c->entrypoint_len > 0) {
		size_t n = 0;
		while (c->command[n])
			n++;
		if ((size_t)c->entrypoint_len > n)
			r = -EINVAL;
	}
	if (r < 0) {
		config_free(c);
		if (r == -ENOMEM)
			return diyc_error(err, ENOMEM, "read config.json");
		return diyc_error_plain(err, EINVAL, "config.json is damaged (a field is missing or of the wrong type)");
	}
	return 0;
}

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
