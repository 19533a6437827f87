/* SPDX-License-Identifier: MIT */
/* layer.h: the layer store: DATA/layers/<sha256 of the uncompressed tar>/diff. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "digest.h"
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"

/* What a source directory holds. */
enum layer_dir_kind {
	LAYER_DIR_PLAIN,    /* a root filesystem, taken as it is */
	LAYER_DIR_OVERLAY,  /* a stored layer: overlay whiteouts and opaque xattrs */
	LAYER_DIR_UPPER,    /* a container's upper dir: the same, less diyc's mount points */
};

struct layer_opts {
	const char *src;            /* a tar file (compressed or not), a directory, or "-"; with from_fd,
				     * only its name in messages */
	bool from_fd;               /* the source is fd, opened once by the caller: a tar stream (a
				     * file from its start, a pipe) or a directory */
	int fd;
	enum layer_dir_kind dir_kind;
	bool image_layer;           /* from an image format: whiteouts apply */
	const char *expect_diff_id; /* the digest the uncompressed tar must have, or NULL */
	uint64_t max_bytes;         /* the most its tar stream may expand to; 0: no limit */
	/* Device nodes are extracted as root. Rootless, a user namespace cannot make them,
	 * so they are left out (their tar headers stay in the record: an export gives them
	 * back) and counted here; where this is NULL, layer_import warns about them itself. */
	unsigned *skipped_devices;
};

/* Extracts the layer and stores it under its digest (returned in diff_id), with a
 * record of its tar headers (image/tarsplit.h). When that layer is in the store already, the
 * new copy is dropped and *created stays false. *expanded: the uncompressed stream's
 * length. */
int layer_import(const struct diyc_paths *p, const struct userns_plan *plan, const struct layer_opts *o,
		 char diff_id[DIGEST_HEX_LEN + 1], uint64_t *size, uint64_t *expanded, bool *created,
		 struct diyc_error *err);
/* Writes the layer as its tar stream to fd: the exact stream it was imported from when
 * its record allows, else a new tar of its files (whiteouts as `.wh.` files). Runs in
 * the user namespace of plan (the files may belong to subordinate ids). diff_id gets
 * the digest of what was written. */
int layer_export(const struct diyc_paths *p, const struct userns_plan *plan, const char *layer, int fd,
		 char diff_id[DIGEST_HEX_LEN + 1], struct diyc_error *err);
/* The one warning of an import that left device nodes out (none when n is 0). */
void layer_warn_skipped_devices(unsigned n);
bool layer_exists(const struct diyc_paths *p, const char *diff_id);
/* The size of its files as recorded at import (0 when unknown). */
uint64_t layer_size(const struct diyc_paths *p, const char *diff_id);
