/* SPDX-License-Identifier: MIT */
/* commit.h: a directory of changes (a container's overlay upper dir) as a new image on
 * top of the image it was made from. The caller reads the container; this takes plain
 * data. */
#pragma once
#include "image.h"

/* The settings a container ran with, which replace its image's in the new image's Config
 * (as docker commit does). */
struct commit_config {
	char **env;         /* KEY=VALUE, NULL-terminated (the last of a key wins) */
	char **command;     /* the entrypoint's words, then the command's; NULL-terminated */
	int entrypoint_len; /* how many words of command are the entrypoint; -1: unknown (keep the image's) */
	const char *workdir, *user; /* NULL: keep the image's */
	char **labels;      /* KEY=VALUE, NULL-terminated; NULL or empty: keep the image's */
	char **exposed;     /* PORT/PROTO, NULL-terminated; NULL or empty: keep the image's */
};

/* What is committed. */
struct commit_source {
	const char *name;     /* the container's name, for messages and the image's source */
	const char *upper;    /* the directory of its changes, read as an overlay upper dir */
	const char *image_id; /* the image it was made from */
	struct commit_config config;
};

struct commit_opts {
	const char *ref;     /* NAME[:TAG] for the new image, or NULL */
	const char *message; /* the history entry's comment, or NULL */
	const char *author;  /* or NULL */
};

/* Stores the upper dir as a layer and writes an image of the parent image's layers plus
 * that one; id_out gets the new image's id. */
int image_commit(const struct diyc_paths *p, const struct userns_plan *plan, const struct commit_source *src,
		 const struct commit_opts *o, char id_out[IMAGE_ID_LEN + 1], struct diyc_error *err);
