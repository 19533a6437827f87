/* SPDX-License-Identifier: MIT */
/* system-internal.h: the layers of the store and their sizes, shared by df.c and prune.c. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "image/digest.h"
#include "lib/du.h"
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"

struct layer_usage {
	char digest[DIGEST_HEX_LEN + 1];
	uint64_t ino;           /* of its directory: a layer stored again is another directory */
	int64_t ctime_ns;
	uint64_t bytes;
	bool measured;          /* known: from the record, or measured by this call */
	bool gone;              /* removed while it was measured (bytes 0) */
};

/* Whether a container's mount is a volume of the store (named or anonymous): source is
 * its name. */
struct mount_entry;
bool mount_is_volume(const struct mount_entry *m);

/* Every layer in DATA/layers, sorted by digest. */
struct layer_set {
	struct layer_usage *v;
	size_t n;
	bool changed;           /* the record of sizes must be written again */
	size_t *todo;           /* indexes of v without a recorded size */
	size_t n_todo;
};

/* Lists the layers and takes the sizes recorded in DATA/system/layer-sizes; *trees gets one
 * du_tree per layer still to measure (n_todo of them, malloc'd). */
int layer_set_load(const struct diyc_paths *p, struct layer_set *ls, struct du_tree **trees,
		   struct diyc_error *err);
/* Takes the measured sizes of the trees layer_set_load gave (closing their fds) and records
 * what changed. A layer removed meanwhile stays in the set, gone and of 0 bytes. */
int layer_set_finish(const struct diyc_paths *p, struct layer_set *ls, struct du_tree *trees,
		     struct diyc_error *err);
/* Both, with the measuring between. */
int layer_set_measure(const struct diyc_paths *p, const struct userns_plan *plan, struct layer_set *ls,
		      struct diyc_error *err);
/* The entry of digest, or NULL. */
const struct layer_usage *layer_set_find(const struct layer_set *ls, const char *digest);
void layer_set_free(struct layer_set *ls);
