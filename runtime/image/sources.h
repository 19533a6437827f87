/* SPDX-License-Identifier: MIT */
/* sources.h: reading images in the forms other tools write them: an OCI image layout
 * (directory), an OCI archive (the layout as a tar), a docker archive (`docker save`:
 * manifest.json, a config and layer tarballs). What comes out is a config and a list
 * of layer blobs with the digests they must have. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "digest.h"
#include "lib/error.h"
#include "lib/paths.h"

enum image_src_kind { SRC_ROOTFS_DIR, SRC_ROOTFS_TAR, SRC_OCI_LAYOUT, SRC_OCI_ARCHIVE, SRC_DOCKER_ARCHIVE };

struct layer_src {
	char *blob;                             /* the blob file's name, for messages */
	int fd;                                 /* the blob file, opened once (a regular file) */
	char blob_digest[DIGEST_HEX_LEN + 1];   /* its sha256, "" when the format records none */
	char diff_id[DIGEST_HEX_LEN + 1];       /* sha256 of the uncompressed tar (rootfs.diff_ids) */
};

struct image_src {
	enum image_src_kind kind;
	char *unpacked;         /* a temporary directory holding an archive's contents, or NULL */
	char *config;           /* the config blob, as it was stored */
	size_t config_len;
	char config_digest[DIGEST_HEX_LEN + 1];
	struct layer_src *layers; /* bottom first */
	size_t n_layers;
	char *ref_name;         /* the name the source gives the image (a docker archive's RepoTag), or NULL */
	uint64_t unpacked_bytes; /* what unpacking an archive took of the import's size limit */
};

/* What the source opened as fd (named path) is: a rootfs directory or tarball, or one of
 * the image formats. A file is read from its start again afterwards. */
int image_src_detect(int fd, const char *path, enum image_src_kind *kind, struct diyc_error *err);
/* Opens an image source of an image format, opened as srcfd (named path in messages):
 * archives are unpacked into tmpdir first
 * (at most max_bytes of them, 0: no limit).
 * platform ("os/arch[/variant]", NULL: the host's) and ref (NULL: the only one or the
 * platform's) choose among several images. Every digest on the way is checked. */
int image_src_open(int srcfd, const char *path, enum image_src_kind kind, const char *tmpdir, const char *platform,
		   const char *ref, uint64_t max_bytes, struct image_src *s, struct diyc_error *err);
void image_src_close(struct image_src *s);
/* The string at key of object j, or NULL (absent, or not a string). */
const char *json_get_string(struct json_object *j, const char *key);
/* The value at key of object j when it is of type, or NULL. */
struct json_object *json_get_typed(struct json_object *j, const char *key, enum json_type type);
/* Parses len bytes of JSON; NULL unless it is all valid and of that type. */
struct json_object *json_parse_text(const char *text, size_t len, enum json_type type);
/* Whether an image config (its os, architecture, variant) is of platform "os/arch[/variant]"
 * (linux/arm64 also matches an arm64 config of variant v8). */
bool image_config_is_platform(const char *config, size_t len, const char *platform);
/* The host's platform as OCI names it (linux/amd64, linux/arm64, ...). */
void host_platform(char *out, size_t size);
