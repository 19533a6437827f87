/* SPDX-License-Identifier: MIT */
/* system.h: what the store holds and what can go: images (their layers, a layer shared by
 * several images counted once), containers (their changes: the upper dir) and volumes, as
 * `system df` shows them (df.c) and `system prune` removes them (prune.c); and the facts
 * about the store that `system info` shows (info.c). Sizes are du's: the blocks allocated,
 * a hard-linked file once. The library returns data; the front end formats it. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "container/store.h"
#include "image/image.h"
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"
#include "storage/volume-store.h"

struct df_image {
	char id[IMAGE_ID_LEN + 1];
	char repo[NAME_MAX + 1], tag[NAME_MAX + 1]; /* its first name, "<none>" both without one */
	char created[64];                           /* RFC 3339 as recorded, "" when unknown */
	uint64_t size;        /* its layers */
	uint64_t shared_size; /* those of its layers another image lists too */
	unsigned containers;  /* how many containers were made from it */
};

struct df_container {
	char name[CONTAINER_NAME_MAX + 1];
	char *image;          /* as given to run ("" when its configuration is unreadable) */
	char **command;       /* NULL-terminated, never NULL */
	char created[32], started_at[32], finished_at[32];
	enum container_status status;
	int exit_code;
	unsigned volumes;     /* its mounts of named or anonymous volumes */
	uint64_t size;        /* its changes: the upper dir (and the image file of a disk size) */
};

struct df_volume {
	char name[VOLUME_NAME_MAX + 1];
	char mountpoint[PATH_MAX];
	bool anonymous;
	unsigned links;       /* how many containers mount it */
	uint64_t size;
};

/* One line of `system df`: docker's TOTAL, ACTIVE, SIZE and RECLAIMABLE. */
struct df_summary {
	size_t total, active; /* active: images a container uses, running containers, volumes in use */
	uint64_t size, reclaimable;
};

struct system_df {
	struct df_image *images;         /* one per image, named ones first */
	size_t n_images;
	struct df_container *containers; /* sorted by name */
	size_t n_containers;
	struct df_volume *volumes;       /* sorted by name */
	size_t n_volumes;
	/* image_sum.size: every layer in the store once; image_sum.reclaimable: those no image
	 * in use lists (what `system prune -a` frees once the containers are gone) */
	struct df_summary image_sum, container_sum, volume_sum;
};

/* Measures the store. Layers are measured once and their sizes kept in DATA/system (a layer
 * never changes once stored); upper dirs and volumes are walked at every call. */
int system_df(const struct diyc_paths *p, const struct userns_plan *plan, struct system_df *df,
	      struct diyc_error *err);
void system_df_free(struct system_df *df);

/* What `system prune` removes: containers that are not running, then (volumes) every volume
 * no container uses, then images without a name no container uses (all_images: every image
 * no container uses), and layers no image lists. */
struct system_prune_opts {
	bool all_images, volumes;
};
enum system_pruned {
	SYSTEM_PRUNED_CONTAINER, /* what: its name */
	SYSTEM_PRUNED_VOLUME,    /* what: its name */
	SYSTEM_PRUNED_UNTAGGED,  /* what: NAME:TAG, a name of an image removed */
	SYSTEM_PRUNED_IMAGE,     /* what: the image's id */
	SYSTEM_PRUNED_LAYER,     /* what: the digest of a layer no image listed */
};
struct system_prune_ops {
	void (*removed)(enum system_pruned kind, const char *what, void *data); /* each thing gone */
	void *data;
};
/* *reclaimed: what the things removed took (du's figure of each, measured before). A
 * container or volume that became used meanwhile is left. */
int system_prune(const struct diyc_paths *p, const struct userns_plan *plan, const struct system_prune_opts *o,
		 const struct system_prune_ops *ops, uint64_t *reclaimed, struct diyc_error *err);

/* What `system info` says of the store and of the caller's ids. */
struct system_info {
	char data[PATH_MAX], run[PATH_MAX];
	bool rootless;
	const char *driver;            /* "overlay" */
	char backing_fs[32];           /* the type of the filesystem holding the store */
	bool project_quota;            /* it accounts and enforces project quotas */
	size_t images, containers, running, stopped, volumes;
	char user[64];
	struct id_range subuid[IDMAP_MAX], subgid[IDMAP_MAX]; /* the caller's ranges */
	int n_subuid, n_subgid;
};
int system_info(const struct diyc_paths *p, struct system_info *info, struct diyc_error *err);
