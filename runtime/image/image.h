/* SPDX-License-Identifier: MIT */
/* image.h: the image store: layers (extracted root filesystems), images (a stack of
 * layers plus metadata) and names (NAME:TAG -> image id). It returns data and never
 * prints; what it needs to know of containers, its caller tells it. */
#pragma once
#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include "digest.h"
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"

#define IMAGE_ID_LEN 64

/* What the image's config asks of a container (docker's Config), NULL when unset. */
struct image_defaults {
	char **env, **entrypoint, **cmd; /* NULL-terminated */
	char *workdir, *user;
	char **labels;  /* KEY=VALUE, from Labels */
	char **exposed; /* PORT/PROTO, the keys of ExposedPorts */
	char **volumes; /* paths in the container, the keys of Volumes (anonymous volumes at run) */
	bool has_entrypoint, has_cmd;
};

struct image {
	char id[IMAGE_ID_LEN + 1];
	char **layer_dirs; /* top first, NULL-terminated, malloc'd */
	struct image_defaults defaults;
};

/* Validates and normalizes NAME[:TAG] into "name:tag" (tag `latest` by default). */
int image_ref_normalize(const char *ref, char *out, size_t outsz, struct diyc_error *err);
int image_resolve(const struct diyc_paths *p, const char *ref, struct image *img, struct diyc_error *err);
void image_free(struct image *img);
/* Labels as an image config has them ({"KEY": "VALUE"}) and exposed ports ({"80/tcp": {}}),
 * as commit writes them and inspect shows them (commit.c). */
struct json_object;
struct json_object *image_labels_json(char **labels);
struct json_object *image_exposed_json(char **ports);
/* How to choose one image in a source holding several. */
struct import_opts {
	const char *platform;   /* os/arch[/variant]; NULL: the host's */
	const char *ref;        /* an OCI ref name or a docker archive RepoTag; NULL: the only one */
	uint64_t max_size;      /* the most the import may unpack; 0: the store's free space */
};
/* Imports a root filesystem (directory, tarball, "-") or an image (OCI layout or
 * archive, docker archive) and names it REF when not NULL (else the name the source
 * gives, if any). */
int image_import(const struct diyc_paths *p, const struct userns_plan *plan, const char *src, const char *ref,
		 const struct import_opts *o, char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err);
/* One line of the image list: an image under one of its names, or under none. */
struct image_row {
	char repo[NAME_MAX + 1], tag[NAME_MAX + 1]; /* "<none>" both, for an image without a name */
	char id[IMAGE_ID_LEN + 1];
	bool have_size;
	uint64_t size;     /* bytes of its layers, when have_size */
	char created[64];  /* RFC 3339 as recorded, "" when unknown */
	char digest[80];   /* sha256:... of the manifest it was pulled by from repo, "" when none */
};
/* The named images (sorted by name, an image once per name), then those without a name;
 * *rows is malloc'd. */
int image_list(const struct diyc_paths *p, struct image_row **rows, size_t *n, struct diyc_error *err);
/* What removing images needs of its caller, which knows the containers: whether a
 * container uses an image, and what to do with each thing removed. */
enum image_removed {
	IMAGE_UNTAGGED,      /* a name went; what: NAME:TAG */
	IMAGE_DELETED,       /* an image went; what: its id */
	IMAGE_PRUNED_IMAGE,  /* prune removed an image; what: its id */
	IMAGE_PRUNED_LAYER,  /* prune removed a layer no image lists; what: its digest */
};
struct image_remove_ops {
	/* whether a container uses the image (its full id); who gets the container's name */
	bool (*in_use)(const char *image_id, char *who, size_t whosz, void *data);
	/* called for each thing removed, when it is gone (NULL: nobody is told) */
	void (*removed)(enum image_removed kind, const char *what, void *data);
	void *data;
};
int image_remove(const struct diyc_paths *p, const struct userns_plan *plan, const char *ref, bool force,
		 const struct image_remove_ops *ops, struct diyc_error *err);
/* Adds the image's description (docker's inspect fields: Id, RepoTags, Created, Size,
 * Architecture, Os, Config, RootFS) to arr. */
struct json_object;
int image_inspect(const struct diyc_paths *p, const char *ref, struct json_object *arr, struct diyc_error *err);
/* Removes what interrupted imports and exports left: temporary layers and directories
 * whose creator is gone (it holds a lock on them while it works), or a day old. */
void image_clean_leftovers(const struct diyc_paths *p, const struct userns_plan *plan);
/* Removes images without a name that no container uses, then layers no image lists;
 * *reclaimed gets the bytes their records and layers said they took. */
int image_prune(const struct diyc_paths *p, const struct userns_plan *plan, const struct image_remove_ops *ops,
		uint64_t *reclaimed, struct diyc_error *err);
/* For the modules that read and write the store (image/export.c, image/commit.c). */
struct json_object;
/* Finds an image by NAME[:TAG] (normalized into norm) or by full or short id. */
int image_lookup(const struct diyc_paths *p, const char *ref, char norm[PATH_MAX], char id[IMAGE_ID_LEN + 1],
		 bool *by_id, struct diyc_error *err);
/* images/<id>.json: the store's record (id, created, size, layers top first, config, source). */
struct json_object *image_read_json(const struct diyc_paths *p, const char *id);
/* Writes an image's record and its config blob (whose sha256 is id); layers bottom first. */
int image_write(const struct diyc_paths *p, const char *id, const char *config, size_t config_len,
		char layers[][DIGEST_HEX_LEN + 1], size_t n, uint64_t size, const char *source, struct diyc_error *err);
/* Records that REPO@sha256:DIGEST (a registry's manifest) names the image: inspect's
 * RepoDigests, and what `REPO@sha256:DIGEST` finds. One per repository, the newest. */
int image_add_repo_digest(const struct diyc_paths *p, const char *id, const char *repo_digest, struct diyc_error *err);
/* Points the name (normalized NAME:TAG) at the image, replacing what it named. */
int image_set_name(const struct diyc_paths *p, const char *norm, const char *id, struct diyc_error *err);
/* An image's blobs staged for a registry: its layers as files in the store's tmp/ (bottom
 * first, uncompressed: the exact tar streams, so their digests are the diff_ids), its config
 * and an OCI manifest of them. */
struct image_staged_layer {
	char digest[DIGEST_HEX_LEN + 1];
	int fd;
	uint64_t size;
};
struct image_staged {
	char id[IMAGE_ID_LEN + 1];
	char *config, *manifest;
	size_t config_len, manifest_len;
	char config_digest[DIGEST_HEX_LEN + 1], manifest_digest[DIGEST_HEX_LEN + 1];
	struct image_staged_layer *layers;
	size_t n;
	char stage[PATH_MAX];
	int stage_lock;
};
int image_stage(const struct diyc_paths *p, const struct userns_plan *plan, const char *id, struct image_staged *st,
		struct diyc_error *err);
void image_staged_free(struct image_staged *st);
/* Writes the image as an OCI archive to dest ("-": standard output). */
int image_export(const struct diyc_paths *p, const struct userns_plan *plan, const char *ref, const char *dest,
		 struct diyc_error *err);

