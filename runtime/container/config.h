/* SPDX-License-Identifier: MIT */
/* config.h: a container's configuration as `run` fixed it, kept in config.json so that
 * `start` runs the same container again and `inspect` can show it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "cgroup/cgroup.h"
#include "container.h"
#include "lib/error.h"
#include "rootfs/volume.h"
#include "security/security.h" /* struct security_config */
#include "storage/disk-quota.h"

struct container_config {
	char *name, *image, *image_id;
	char **command;         /* NULL-terminated */
	int entrypoint_len;     /* how many words of command are the entrypoint; -1: unknown */
	char **env;             /* KEY=VAL given with -e, NULL-terminated */
	char **labels;          /* KEY=VALUE: the image's, then --label; NULL-terminated or NULL */
	char **exposed;         /* PORT/PROTO: the image's ExposedPorts and --expose; or NULL */
	char *hostname, *workdir, *user; /* workdir, user: NULL when not given */
	enum net_mode net;
	struct slirp_opts slirp; /* with net == NET_SLIRP */
	char *bridge, *ip;       /* with net == NET_BRIDGE: its name, and --ip (NULL: any) */
	struct port_map *ports;  /* -p (slirp and bridge) */
	size_t n_ports;
	bool tty, interactive, init, rm;
	struct mount_entry *mounts;
	size_t n_mounts;
	struct cgroup_limits limits;
	struct security_config security;
	/* --storage-opt size=: the limit on its upper dir, and what holds it (chosen at run) */
	uint64_t storage_size;
	enum disk_quota_kind storage_kind;
	char created[32];       /* RFC 3339, UTC */
};

/* The configuration as pretty JSON (malloc'd), NULL when out of memory. */
char *config_to_json(const struct container_config *c);
/* Parses config.json; fields that are missing or of the wrong type are an error. */
int config_from_json(const char *json, struct container_config *c, struct diyc_error *err);
void config_free(struct container_config *c);
/* Current time as RFC 3339 UTC with seconds. */
void time_now_rfc3339(char *out, size_t size);
