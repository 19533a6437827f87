/* SPDX-License-Identifier: MIT */
/* spec-linux.c: the `linux` object of config.json: namespaces, id mappings, devices,
 * resources, seccomp, sysctl, masked and read-only paths, rootfs propagation. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "spec.h"
#include "spec-internal.h"
#include "lib/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int type;
} ns_types[] = {
	{ "pid", CLONE_NEWPID }, { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS }, { "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS }, { "user", CLONE_NEWUSER }, { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static int parse_namespaces(struct json_object *v, struct oci_spec *s, struct diyc_error *err)
{
	int r = spec_want(v, json_type_array, "linux.namespaces", err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		_cleanup_free_ char *type = NULL, *path = NULL;
		if ((r = spec_want(e, json_type_object, "linux.namespaces[]", err)) < 0 ||
		    (r = spec_string(e, "type", "linux.namespaces[].type", &type, err)) < 0 ||
		    (r = spec_string(e, "path", "linux.namespaces[].path", &path, err)) < 0)
			return r;
		int t = 0;
		for (size_t k = 0; type && k < ARRAY_SIZE(ns_types); k++)
			if (!strcmp(type, ns_types[k].name))
				t = ns_types[k].type;
		if (!t)
			return diyc_error_plain(err, EINVAL, "linux.namespaces[%zu]: unknown namespace type `%s` "
						"(pid, network, mount, ipc, uts, user, cgroup or time)", i, type ? type : "");
		if (oci_spec_namespace(s, t))
			return diyc_error_plain(err, EINVAL, "linux.namespaces: `%s` is given twice", type);
		if (path && path[0] != '/')
			return diyc_error_plain(err, EINVAL, "linux.namespaces[%zu]: the path must be absolute", i);
		s->namespaces[s->n_namespaces].type = t;
		s->namespaces[s->n_namespaces++].path = path && path[0] ? steal_ptr(path) : NULL;
	}
	return 0;
}

static int parse_idmaps(struct json_object *v, const char *what, struct oci_idmap **out, size_t *n_out,
			struct diyc_error *err)
{
	int r = spec_want(v, json_type_array, what, err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v);
	if (n > 340)
		return diyc_error_plain(err, E2BIG, "%s: too many entries (%zu)", what, n);
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return diyc_error(err, ENOMEM, "%s", what);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		int64_t c = 0, h = 0, sz = 0;
		if ((r = spec_int(e, "containerID", what, 0, UINT32_MAX - 1, &c, NULL, err)) < 0 ||
		    (r = spec_int(e, "hostID", what, 0, UINT32_MAX - 1, &h, NULL, err)) < 0 ||
		    (r = spec_int(e, "size", what, 1, UINT32_MAX, &sz, NULL, err)) < 0)
			return r;
		(*out)[i] = (struct oci_idmap){ (uint32_t)c, (uint32_t)h, (uint32_t)sz };
	}
	*n_out = n;
	return 0;
}

static int parse_device(struct json_object *e, struct oci_device *d, struct diyc_error *err)
{
	_cleanup_free_ char *type = NULL;
	int64_t v = 0;
	bool given;
	int r;
	if ((r = spec_want(e, json_type_object, "linux.devices[]", err)) < 0 ||
	    (r = spec_string(e, "path", "linux.devices[].path", &d->path, err)) < 0 ||
	    (r = spec_string(e, "type", "linux.devices[].type", &type, err)) < 0)
		return r;
	if (!d->path || d->path[0] != '/')
		return diyc_error_plain(err, EINVAL, "linux.devices[]: the path must be absolute");
	if (!type || strlen(type) != 1 || !strchr("cubp", type[0]))
		return diyc_error_plain(err, EINVAL, "linux.devices[] %s: the type must be c, u, b or p", d->path);
	d->type = type[0] == 'u' ? 'c' : type[0];
	if ((r = spec_int(e, "major", "linux.devices[].major", 0, UINT32_MAX, &d->major, &given, err)) < 0 ||
	    (r = spec_int(e, "minor", "linux.devices[].minor", 0, UINT32_MAX, &d->minor, &given, err)) < 0)
		return r;
	if ((r = spec_int(e, "fileMode", "linux.devices[].fileMode", 0, 07777, &v, &d->has_mode, err)) < 0)
		return r;
	d->mode = v;
	if ((r = spec_int(e, "uid", "linux.devices[].uid", 0, UINT32_MAX - 1, &v, &d->has_uid, err)) < 0)
		return r;
	d->uid = v;
	if ((r = spec_int(e, "gid", "linux.devices[].gid", 0, UINT32_MAX - 1, &v, &d->has_gid, err)) < 0)
		return r;
	d->gid = v;
	return 0;
}

static int parse_devices(struct json_object *v, struct oci_spec *s, struct diyc_error *err)
{
	int r = spec_want(v, json_type_array, "linux.devices", err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v);
	s->devices = calloc(n ? n : 1, sizeof(*s->devices));
	if (!s->devices)
		return diyc_error(err, ENOMEM, "devices");
	for (size_t i = 0; i < n; i++) {
		s->n_devices = i + 1;
		if ((r = parse_device(json_object_array_get_idx(v, i), &s->devices[i], err)) < 0)
			return r;
	}
	return 0;
}

static int parse_device_rules(struct json_object *v, struct oci_resources *res, struct diyc_error *err)
{
	int r = spec_want(v, json_type_array, "linux.resources.devices", err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v);
	res->devices = calloc(n ? n : 1, sizeof(*res->devices));
	if (!res->devices)
		return diyc_error(err, ENOMEM, "device rules");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		struct oci_device_rule *d = &res->devices[i];
		_cleanup_free_ char *type = NULL, *access = NULL;
		bool given;
		d->major = d->minor = -1;
		if ((r = spec_bool(e, "allow", "linux.resources.devices[].allow", &d->allow, err)) < 0 ||
		    (r = spec_string(e, "type", "linux.resources.devices[].type", &type, err)) < 0 ||
		    (r = spec_string(e, "access", "linux.resources.devices[].access", &access, err)) < 0 ||
		    (r = spec_int(e, "major", "linux.resources.devices[].major", -1, UINT32_MAX, &d->major, &given, err)) < 0 ||
		    (r = spec_int(e, "minor", "linux.resources.devices[].minor", -1, UINT32_MAX, &d->minor, &given, err)) < 0)
			return r;
		d->type = type && type[0] ? type[0] : 'a';
		if ((type && strlen(type) > 1) || !strchr("acb", d->type))
			return diyc_error_plain(err, EINVAL, "linux.resources.devices[%zu]: the type must be a, c or b", i);
		if (access && (strlen(access) > 3 || strspn(access, "rwm") != strlen(access)))
			return diyc_error_plain(err, EINVAL, "linux.resources.devices[%zu]: access `%s` is not of rwm",
						i, access);
		snprintf(d->access, sizeof(d->access), "%s", access ? access : "rwm");
		res->n_devices = i + 1;
	}
	return 0;
}

static int parse_memory_cpu(struct json_object *res_obj, struct oci_resources *res, struct diyc_error *err)
{
	int r;
	struct json_object *mem = spec_member(res_obj, "memory"), *cpu = spec_member(res_obj, "cpu");
	if (mem && ((r = spec_int(mem, "limit", "linux.resources.memory.limit", -1, INT64_MAX, &res->memory_limit,
				  &res->has_memory_limit, err)) < 0 ||
		    (r = spec_int(mem, "reservation", "linux.resources.memory.reservation", -1, INT64_MAX,
				  &res->memory_reservation, &res->has_memory_reservation, err)) < 0 ||
		    (r = spec_int(mem, "swap", "linux.resources.memory.swap", -1, INT64_MAX, &res->memory_swap,
				  &res->has_memory_swap, err)) < 0))
		return r;
	if (cpu && ((r = spec_u64(cpu, "shares", "linux.resources.cpu.shares", &res->cpu_shares, &res->has_cpu_shares,
				  err)) < 0 ||
		    (r = spec_int(cpu, "quota", "linux.resources.cpu.quota", -1, INT64_MAX, &res->cpu_quota,
				  &res->has_cpu_quota, err)) < 0 ||
		    (r = spec_u64(cpu, "period", "linux.resources.cpu.period", &res->cpu_period, &res->has_cpu_period,
				  err)) < 0 ||
		    (r = spec_string(cpu, "cpus", "linux.resources.cpu.cpus", &res->cpuset_cpus, err)) < 0 ||
		    (r = spec_string(cpu, "mems", "linux.resources.cpu.mems", &res->cpuset_mems, err)) < 0))
		return r;
	/* an empty string means "as the parent", which is what no value means */
	if (res->cpuset_cpus && !res->cpuset_cpus[0])
		free(steal_ptr(res->cpuset_cpus));
	if (res->cpuset_mems && !res->cpuset_mems[0])
		free(steal_ptr(res->cpuset_mems));
	return 0;
}

static int parse_hugetlb(struct json_object *v, struct oci_resources *res, struct diyc_error *err)
{
	int r = spec_want(v, json_type_array, "linux.resources.hugepageLimits", err);
	if (r < 0)
		return r;
	size_t n = json_object_array_length(v), count = 0;
	res->hugetlb = calloc(n + 1, sizeof(char *));
	if (!res->hugetlb)
		return diyc_error(err, ENOMEM, "hugepageLimits");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		_cleanup_free_ char *size = NULL;
		uint64_t limit = 0;
		if ((r = spec_string(e, "pageSize", "linux.resources.hugepageLimits[].pageSize", &size, err)) < 0 ||
		    (r = spec_u64(e, "limit", "linux.resources.hugepageLimits[].limit", &limit, NULL, err)) < 0)
			return r;
		if (!size || !size[0] || strchr(size, '/') || strchr(size, '.'))
			return diyc_error_plain(err, EINVAL, "linux.resources.hugepageLimits[%zu]: bad pageSize", i);
		if (!(res->hugetlb[count++] = xasprintf("%s=%llu", size, (unsigned long long)limit)))
			return diyc_error(err, ENOMEM, "hugepageLimits");
	}
	return 0;
}

static int parse_resources(struct json_object *v, struct oci_resources *res, struct diyc_error *err)
{
	int r = spec_want(v, json_type_object, "linux.resources", err);
	if (r < 0)
		return r;
	struct json_object *pids = spec_member(v, "pids"), *blkio = spec_member(v, "blockIO"), *dev, *huge;
	if ((r = parse_memory_cpu(v, res, err)) < 0)
		return r;
	if (pids && (r = spec_int(pids, "limit", "linux.resources.pids.limit", INT64_MIN, INT64_MAX, &res->pids_limit,
				  &res->has_pids_limit, err)) < 0)
		return r;
	if (blkio && (r = spec_u64(blkio, "weight", "linux.resources.blockIO.weight", &res->io_weight,
				   &res->has_io_weight, err)) < 0)
		return r;
	if ((huge = spec_member(v, "hugepageLimits")) && (r = parse_hugetlb(huge, res, err)) < 0)
		return r;
	if ((r = spec_pairs(v, "unified", "linux.resources.unified", &res->unified, err)) < 0)
		return r;
	for (char **u = res->unified; u && *u; u++)
		if (strchr(*u, '/') < strchr(*u, '=') && strchr(*u, '/'))
			return diyc_error_plain(err, EINVAL, "linux.resources.unified: `%.*s` is not a file name",
						(int)(strchr(*u, '=') - *u), *u);
	if ((dev = spec_member(v, "devices")) && (r = parse_device_rules(dev, res, err)) < 0)
		return r;
	res->any = res->has_memory_limit || res->has_memory_reservation || res->has_memory_swap ||
		   (res->has_pids_limit && res->pids_limit > 0) || res->has_cpu_shares || res->has_cpu_quota ||
		   res->has_cpu_period || res->cpuset_cpus || res->cpuset_mems || res->has_io_weight ||
		   (res->hugetlb && res->hugetlb[0]) || (res->unified && res->unified[0]);
	return 0;
}

static int parse_propagation(struct json_object *l, unsigned long *out, struct diyc_error *err)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} names[] = {
		{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC }, { "shared", MS_SHARED },
		{ "rshared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	_cleanup_free_ char *p = NULL;
	int r = spec_string(l, "rootfsPropagation", "linux.rootfsPropagation", &p, err);
	if (r < 0 || !p || !p[0])
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(p, names[i].name)) {
			*out = names[i].flags;
			return 0;
		}
	return diyc_error_plain(err, EINVAL, "linux.rootfsPropagation: unknown value `%s`", p);
}

static int parse_seccomp(struct json_object *v, struct oci_spec *s, struct diyc_error *err)
{
	int r = spec_want(v, json_type_object, "linux.seccomp", err);
	if (r < 0)
		return r;
	if (spec_member(v, "listenerPath"))
		return diyc_error_plain(err, ENOTSUP, "linux.seccomp.listenerPath: seccomp notify is not supported");
	s->seccomp_json = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return s->seccomp_json ? 0 : diyc_error(err, ENOMEM, "seccomp");
}

int spec_parse_linux(struct json_object *l, struct oci_spec *s, struct diyc_error *err)
{
	int r = spec_want(l, json_type_object, "linux", err);
	struct json_object *v;
	if (r < 0)
		return r;
	if ((v = spec_member(l, "namespaces")) && (r = parse_namespaces(v, s, err)) < 0)
		return r;
	if ((v = spec_member(l, "uidMappings")) &&
	    (r = parse_idmaps(v, "linux.uidMappings", &s->uid_maps, &s->n_uid_maps, err)) < 0)
		return r;
	if ((v = spec_member(l, "gidMappings")) &&
	    (r = parse_idmaps(v, "linux.gidMappings", &s->gid_maps, &s->n_gid_maps, err)) < 0)
		return r;
	if ((v = spec_member(l, "devices")) && (r = parse_devices(v, s, err)) < 0)
		return r;
	if ((v = spec_member(l, "resources")) && (r = parse_resources(v, &s->resources, err)) < 0)
		return r;
	s->has_resources = v != NULL;
	if ((v = spec_member(l, "seccomp")) && (r = parse_seccomp(v, s, err)) < 0)
		return r;
	if ((r = spec_pairs(l, "sysctl", "linux.sysctl", &s->sysctl, err)) < 0 ||
	    (r = spec_strv(l, "maskedPaths", "linux.maskedPaths", &s->masked_paths, err)) < 0 ||
	    (r = spec_strv(l, "readonlyPaths", "linux.readonlyPaths", &s->readonly_paths, err)) < 0 ||
	    (r = spec_string(l, "cgroupsPath", "linux.cgroupsPath", &s->cgroups_path, err)) < 0 ||
	    (r = spec_string(l, "mountLabel", "linux.mountLabel", &s->mount_label, err)) < 0 ||
	    (r = parse_propagation(l, &s->rootfs_propagation, err)) < 0)
		return r;
	for (char **k = s->sysctl; k && *k; k++)
		if (strstr(*k, "..") || (*k)[0] == '/' || (*k)[0] == '=')
			return diyc_error_plain(err, EINVAL, "linux.sysctl: `%s` is not a sysctl name", *k);
	if (s->n_uid_maps && !oci_spec_namespace(s, CLONE_NEWUSER))
		return diyc_error_plain(err, EINVAL, "linux.uidMappings are given without a user namespace");
	return 0;
}
