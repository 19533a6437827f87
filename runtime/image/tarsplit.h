/* SPDX-License-Identifier: MIT */
/* tarsplit.h: recording a layer's tar stream without file contents while it is
 * extracted, and rebuilding the exact stream from the record and the layer's files. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "archive-dl.h"
#include "lib/error.h"

struct tarsplit {
	const struct archive_lib *A;
	struct archive *w;      /* the gzip'd record being written; NULL when not recording */
	const char *path;
	bool broken;            /* the stream is one a record cannot describe */
	char *pend;             /* stream bytes not yet written, from offset pend_off */
	size_t pend_len, pend_cap;
	uint64_t pend_off;
	uint64_t skip_to;       /* bytes below this offset are a file's contents */
	uint64_t expect_header; /* where the next entry's header must start */
};

/* Starts a record at path; on failure nothing is recorded (and extraction goes on). */
int tarsplit_open(struct tarsplit *t, const struct archive_lib *A, const char *path);
/* Every byte of the uncompressed stream, in order: off is the offset of buf[0]. */
void tarsplit_take(struct tarsplit *t, uint64_t off, const char *buf, size_t n);
/* An entry was read: its header starts at header_pos, its data at data_pos. file (its
 * path in the layer) when its size bytes of data are a regular file's contents that the
 * layer keeps; NULL when its data (if any) stays in the record. */
void tarsplit_entry(struct tarsplit *t, uint64_t header_pos, uint64_t data_pos, uint64_t size, const char *file);
/* After the whole stream was taken; end_pos is where the end-of-archive marker starts.
 * 0 when the record was written, else it is removed. */
int tarsplit_finish(struct tarsplit *t, uint64_t end_pos);
void tarsplit_abort(struct tarsplit *t);

/* Rebuilds the stream: the record's bytes and the files below layerfd, in order, are
 * handed to sink. A file whose size changed is an error (ESTALE). */
typedef int (*tarsplit_sink)(void *arg, const void *buf, size_t n, struct diyc_error *err);
int tarsplit_replay(const struct archive_lib *A, const char *split_path, int layerfd, tarsplit_sink sink, void *arg,
		    struct diyc_error *err);
