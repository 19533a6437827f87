/* SPDX-License-Identifier: MIT */
/* commit.h: a container's changes as a new image. */
#pragma once
#include "image.h"
#include "container/store.h"

struct commit_opts {
	const char *ref;     /* NAME[:TAG] for the new image, or NULL */
	const char *message; /* the history entry's comment, or NULL */
	const char *author;  /* or NULL */
};

/* Stores the container's upper dir as a layer and writes an image of its image's
 * layers plus that one; id_out gets the new image's id. */
int image_commit(const struct diyc_paths *p, const struct userns_plan *plan, const struct container *c,
		 const struct commit_opts *o, char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err);
