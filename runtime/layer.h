/* SPDX-License-Identifier: MIT */
/* layer.h: the layer store: DATA/layers/<sha256 of the uncompressed tar>/diff. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"
#include "paths.h"
#include "userns.h"

struct layer_opts {
	const char *src;            /* a tar file (compressed or not), a directory, or "-" */
	bool image_layer;           /* from an image format: whiteouts apply, device nodes are refused */
	const char *expect_diff_id; /* the digest the uncompressed tar must have, or NULL */
};

/* Extracts the layer and stores it under its digest (returned in diff_id). When that
 * layer is in the store already, the new copy is dropped and *created stays false. */
int layer_import(const struct diyc_paths *p, const struct userns_plan *plan, const struct layer_opts *o,
		 char diff_id[DIGEST_HEX_LEN + 1], uint64_t *size, bool *created, struct diyc_error *err);
bool layer_exists(const struct diyc_paths *p, const char *diff_id);
/* The size of its files as recorded at import (0 when unknown). */
uint64_t layer_size(const struct diyc_paths *p, const char *diff_id);
