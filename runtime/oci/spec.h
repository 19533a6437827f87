/* SPDX-License-Identifier: MIT */
/* spec.h: an OCI bundle's config.json (runtime-spec 1.0 to 1.3) as plain C data, read once
 * by oci_spec_load, and its `process` object, which `exec --process` reads on its own. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/error.h"
#include "security/caps.h"

struct json_object;

/* One entry of `mounts`, its options already turned into what mount(2) and
 * mount_setattr(2) take. */
struct oci_mount {
	char *destination;     /* absolute, resolved inside the root when mounted */
	char *type;            /* NULL for a bind mount without a type */
	char *source;          /* for a bind mount: absolute (relative ones are made so against the bundle) */
	unsigned long flags;   /* MS_* from the options (MS_BIND, MS_REC, MS_RDONLY, ...) */
	unsigned long clear;   /* MS_* the options turn off (rw, suid, dev, exec, ...): matters for a remount */
	unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE, | MS_REC; 0 none */
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* of the recursive options (rro, rnosuid, ...) */
	char *data;            /* the options mount(2) does not know, comma-joined, or NULL */
	bool bind;             /* MS_BIND (bind or rbind, or type "bind") */
};

struct oci_idmap {
	uint32_t container_id, host_id, size;
};

/* linux.namespaces: the CLONE_NEW* type, and a path to join (NULL: a new one). */
struct oci_namespace {
	int type;
	char *path;
};

struct oci_rlimit {
	int resource;          /* RLIMIT_* */
	uint64_t soft, hard;
};

/* What process.user, capabilities and the rest ask for. Also the whole of an
 * `exec --process` file. */
struct oci_process {
	bool terminal;
	unsigned short console_height, console_width; /* 0: not given */
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	bool has_umask;
	mode_t umask;
	char **args;           /* NULL-terminated, at least one */
	char **env;            /* NULL-terminated, may be empty */
	char *cwd;             /* absolute */
	bool has_caps;         /* process.capabilities was given; else every set is empty */
	cap_mask bounding, effective, permitted, inheritable, ambient;
	bool no_new_privileges;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile, *selinux_label; /* kept, not applied (no LSM of that kind here) */
};

enum oci_hook_kind {
	OCI_HOOK_PRESTART,
	OCI_HOOK_CREATE_RUNTIME,
	OCI_HOOK_CREATE_CONTAINER,
	OCI_HOOK_START_CONTAINER,
	OCI_HOOK_POSTSTART,
	OCI_HOOK_POSTSTOP,
	OCI_HOOK_KINDS
};
extern const char *const oci_hook_names[OCI_HOOK_KINDS]; /* "prestart", "createRuntime", ... */

struct oci_hook {
	char *path;            /* absolute */
	char **args;           /* NULL-terminated; NULL: just the path */
	char **env;            /* NULL-terminated; NULL: empty */
	int timeout;           /* seconds, 0: none */
};

/* linux.devices: a node to make in the container's /dev. */
struct oci_device {
	char *path;            /* absolute, below /dev */
	char type;             /* 'c', 'u' (as 'c'), 'b' or 'p' */
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	mode_t mode;           /* permission bits */
	uid_t uid;
	gid_t gid;
};

/* linux.resources.devices: one rule of the device controller. */
struct oci_device_rule {
	bool allow;
	char type;             /* 'a', 'c' or 'b' */
	int64_t major, minor;  /* -1: any */
	char access[4];        /* of "rwm" */
};

/* linux.resources, for cgroup v2. has_* say what was given (0 is a valid value for some). */
struct oci_resources {
	bool has_memory_limit, has_memory_reservation, has_memory_swap, has_pids_limit;
	int64_t memory_limit, memory_reservation, memory_swap; /* -1: unlimited */
	int64_t pids_limit;                                      /* <= 0: unlimited */
	bool has_cpu_shares, has_cpu_quota, has_cpu_period, has_io_weight;
	uint64_t cpu_shares, cpu_period, io_weight;
	int64_t cpu_quota;                                       /* -1: unlimited */
	char *cpuset_cpus, *cpuset_mems;
	char **hugetlb;        /* "PAGESIZE=LIMIT" pairs, NULL-terminated, or NULL */
	char **unified;        /* "FILE=VALUE" pairs, NULL-terminated, or NULL */
	struct oci_device_rule *devices;
	size_t n_devices;
	bool any;              /* any limit at all (the device rules do not count) */
};

struct oci_spec {
	char *bundle;          /* absolute path of the bundle directory */
	char *json;            /* config.json as read (oci_spec_load only) */
	char *oci_version;
	char *root_path;       /* absolute (made so against the bundle) */
	bool root_readonly;
	char *hostname, *domainname;
	bool has_process;
	struct oci_process process;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hook *hooks[OCI_HOOK_KINDS];
	size_t n_hooks[OCI_HOOK_KINDS];
	char *annotations_json; /* the annotations object as JSON text ("{}" when none) */
	/* linux */
	struct oci_namespace namespaces[8];
	size_t n_namespaces;
	struct oci_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	char **sysctl;         /* "KEY=VALUE", NULL-terminated, or NULL */
	char **masked_paths, **readonly_paths; /* NULL-terminated, or NULL */
	unsigned long rootfs_propagation; /* MS_* | MS_REC, 0: not given */
	char *cgroups_path;
	bool has_resources;
	struct oci_resources resources;
	struct oci_device *devices;
	size_t n_devices;
	char *seccomp_json;    /* linux.seccomp as JSON text, or NULL */
	char *mount_label;
	char **personality;    /* kept, not applied */
};

/* Reads BUNDLE/config.json and checks it: a clear error for anything wrong (not JSON, an
 * ociVersion that is not 1.x, an unknown namespace or mount option, a relative mount
 * destination, ...). */
int oci_spec_load(const char *bundle, struct oci_spec *spec, struct diyc_error *err);
/* The same from text (for the fuzzer and the unit tests); bundle is used to make relative
 * paths absolute. */
int oci_spec_parse(const char *json, const char *bundle, struct oci_spec *spec, struct diyc_error *err);
/* A process object (the `process` of config.json, or an `exec --process` file). */
int oci_process_parse(struct json_object *obj, struct oci_process *p, struct diyc_error *err);
int oci_process_parse_text(const char *json, struct oci_process *p, struct diyc_error *err);
void oci_process_free(struct oci_process *p);
void oci_spec_free(struct oci_spec *spec);

/* The namespace of type CLONE_NEW* in the spec, or NULL when it has none of that type. */
const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec, int type);

/* A mount's options, as oci_spec_parse turns them into m (used for exec too). */
int oci_mount_options(struct json_object *options, struct oci_mount *m, struct diyc_error *err);
