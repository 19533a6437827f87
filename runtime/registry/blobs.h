/* SPDX-License-Identifier: MIT */
/* blobs.h: downloading an image's layers from a registry, several at once, each streamed
 * into the layer store as it arrives. */
#pragma once
#include <signal.h>
#include "client.h"
#include "manifest.h"
#include "registry.h"

struct layer_job {
	const struct blob_desc *desc;
	char diff_id[DIGEST_HEX_LEN + 1];   /* what the config says the layer's content is */
	struct transfer_layer *status;
	uint64_t size;                      /* of its files, once stored */
	bool created;
};

struct blob_fetch {
	struct registry_client *c;
	const char *name;                   /* the repository's path on that registry */
	const struct diyc_paths *p;
	const struct userns_plan *plan;
	uint64_t max_bytes;                 /* the most one layer may expand to (0: none) */
	void (*tick)(void *data);           /* progress: called often, and at state changes */
	void *tick_data;
	volatile sig_atomic_t *cancel;
};

/* Fetches and stores the layers of jobs. On failure, whatever it had begun is gone. */
int blobs_fetch_layers(const struct blob_fetch *f, struct layer_job *jobs, size_t n, struct diyc_error *err);
