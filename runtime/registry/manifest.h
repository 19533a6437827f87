/* SPDX-License-Identifier: MIT */
/* manifest.h: an image's manifest from a registry: fetched with every media type diyc
 * reads, checked (size, media type, digest), an index resolved to one platform. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "client.h"
#include "image/digest.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
/* the most a manifest or config may take (what containerd allows) */
#define MANIFEST_MAX (4 << 20)

struct blob_desc {
	char media_type[128];
	char digest[DIGEST_HEX_LEN + 1]; /* hex of sha256 */
	int64_t size;
	char **urls;        /* a foreign layer's, NULL-terminated, or NULL */
};

struct image_manifest {
	char digest[DIGEST_HEX_LEN + 1];      /* of what the reference named (an index, or the manifest) */
	char image_digest[DIGEST_HEX_LEN + 1];/* of the image manifest chosen */
	char media_type[128];                 /* the image manifest's */
	char *raw;                            /* the image manifest's bytes */
	size_t raw_len;
	struct blob_desc config;
	struct blob_desc *layers;             /* bottom first */
	size_t n_layers;
	char platform[64];                    /* chosen from an index, "" otherwise */
};
void image_manifest_free(struct image_manifest *m);

/* GETs NAME's manifest for ref (a tag or "sha256:..."), checks it, and when it is an index
 * chooses the platform's (platform: "os/arch[/variant]", NULL for the host's, where a
 * compatible variant also fits). A 404 is -ENOENT with err set. */
int manifest_fetch(struct registry_client *c, const char *name, const char *ref, const char *platform,
		   struct image_manifest *m, struct diyc_error *err);
/* Parses an image manifest (OCI or docker schema 2) into m's config and layers. */
int manifest_parse_image(const char *raw, size_t len, struct image_manifest *m, struct diyc_error *err);
/* sha256 hex of len bytes */
void digest_bytes(const void *data, size_t len, char out[DIGEST_HEX_LEN + 1]);
