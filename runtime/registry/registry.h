/* SPDX-License-Identifier: MIT */
/* registry.h: what the front ends ask of registries: pull an image into the store, push
 * one from it, log in and out. Nothing here prints: progress goes to a callback. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "client.h"
#include "image/image.h"
#include "lib/error.h"
#include "lib/paths.h"
#include "lib/userns.h"

/* One layer of a pull or push, as a progress display shows it. */
enum transfer_state {
	LAYER_WAITING, LAYER_EXISTS, LAYER_DOWNLOADING, LAYER_RETRYING, LAYER_EXTRACTING, LAYER_DONE,
	LAYER_PREPARING, LAYER_UPLOADING, LAYER_PUSHED, LAYER_MOUNTED,
};
struct transfer_layer {
	char id[13];            /* the blob's digest, short */
	enum transfer_state state;
	uint64_t done, total;   /* bytes transferred and expected (total 0: unknown) */
	unsigned attempt;       /* retries so far */
};
struct transfer_status {
	const char *name;       /* the image, fully qualified */
	const struct transfer_layer *layers;
	size_t n_layers;
	bool finished;          /* the last call */
};
typedef void transfer_progress_fn(const struct transfer_status *s, void *data);

struct registry_pull_opts {
	const struct diyc_paths *p;
	const struct userns_plan *plan;
	const struct registry_opts *ro;
	const char *platform;            /* os/arch[/variant], NULL: the host's */
	bool tty;                        /* a terminal is there (short-name-mode enforcing) */
	transfer_progress_fn *progress;  /* NULL: none */
	void *progress_data;
	volatile sig_atomic_t *cancel;   /* set (by a signal handler) to stop the pull cleanly */
};
struct registry_pull_result {
	char id[IMAGE_ID_LEN + 1];
	char name[600];         /* what was pulled: HOST/PATH:TAG or HOST/PATH@DIGEST */
	char repo_digest[600];  /* HOST/PATH@sha256:... */
	bool downloaded;        /* something was fetched (else the image was up to date) */
};
/* Pulls ref (a short name resolved through registries.conf, or a qualified one) into the
 * store and names it. */
int registry_pull(const struct registry_pull_opts *o, const char *ref, struct registry_pull_result *res,
		  struct diyc_error *err);
/* The qualified names a reference may be stored under (itself when qualified; else its
 * candidates by registries.conf), for a front end that looks in the store before pulling.
 * *out: malloc'd, NULL-terminated. */
int registry_local_names(const char *ref, bool tty, char ***out, struct diyc_error *err);

struct registry_push_opts {
	const struct diyc_paths *p;
	const struct userns_plan *plan;
	const struct registry_opts *ro;
	transfer_progress_fn *progress;  /* NULL: none */
	void *progress_data;
	volatile sig_atomic_t *cancel;
};
struct registry_push_result {
	char name[600];         /* where it went: HOST/PATH:TAG */
	char digest[80];        /* sha256:... of the manifest pushed */
	char repo_digest[700];
};
/* Pushes the image (NAME[:TAG] or id) to dest (HOST[:PORT]/PATH[:TAG]; NULL: the image's
 * own name). */
int registry_push(const struct registry_push_opts *o, const char *image, const char *dest,
		  struct registry_push_result *res, struct diyc_error *err);
