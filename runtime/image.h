/* SPDX-License-Identifier: MIT */
/* image.h: the image store: layers (extracted root filesystems), images (a stack of
 * layers plus metadata) and names (NAME:TAG -> image id). */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include "error.h"
#include "paths.h"
#include "userns.h"

#define IMAGE_ID_LEN 64

/* What the image's config asks of a container (docker's Config), NULL when unset. */
struct image_defaults {
	char **env, **entrypoint, **cmd; /* NULL-terminated */
	char *workdir, *user;
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
/* How to choose one image in a source holding several. */
struct import_opts {
	const char *platform;   /* os/arch[/variant]; NULL: the host's */
	const char *ref;        /* an OCI ref name or a docker archive RepoTag; NULL: the only one */
};
/* Imports a root filesystem (directory, tarball, "-") or an image (OCI layout or
 * archive, docker archive) and names it REF when not NULL (else the name the source
 * gives, if any). */
int image_import(const struct diyc_paths *p, const struct userns_plan *plan, const char *src, const char *ref,
		 const struct import_opts *o, char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err);
int image_list(const struct diyc_paths *p, FILE *out, bool quiet, struct diyc_error *err);
int image_remove(const struct diyc_paths *p, const struct userns_plan *plan, const char *ref, bool force,
		 FILE *out, struct diyc_error *err);
/* Adds the image's description (docker's inspect fields: Id, RepoTags, Created, Size,
 * Architecture, Os, Config, RootFS) to arr. */
struct json_object;
int image_inspect(const struct diyc_paths *p, const char *ref, struct json_object *arr, struct diyc_error *err);
/* Removes images without a name that no container uses, then layers no image lists. */
int image_prune(const struct diyc_paths *p, const struct userns_plan *plan, FILE *out, struct diyc_error *err);
/* Removes a tree that may hold files owned by subordinate ids: plainly first, then
 * from inside a user namespace with the caller's maps. */
int remove_tree(const struct userns_plan *plan, const char *path, struct diyc_error *err);
