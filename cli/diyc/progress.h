/* SPDX-License-Identifier: MIT */
/* progress.h: drawing a registry transfer's progress on a terminal (progress.c). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "registry/registry.h"

#define PROGRESS_MAX_LAYERS 256

struct progress {
	FILE *out;              /* a terminal */
	size_t lines;           /* drawn last time: redrawn in place */
	double last_time[PROGRESS_MAX_LAYERS], rate[PROGRESS_MAX_LAYERS];
	uint64_t last_done[PROGRESS_MAX_LAYERS];
};

/* A transfer_progress_fn: data is a struct progress. */
void progress_draw(const struct transfer_status *s, void *data);
