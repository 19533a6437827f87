/* SPDX-License-Identifier: MIT */
/* progress.c: a pull's or push's progress on a terminal, as docker draws it: one line per
 * layer (its short digest, what is happening to it, bytes and speed), redrawn in place. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "output.h"
#include "progress.h"
#include "lib/util.h"

static const char *state_word(enum transfer_state s)
{
	switch (s) {
	case LAYER_WAITING: return "Waiting";
	case LAYER_EXISTS: return "Already exists";
	case LAYER_DOWNLOADING: return "Downloading";
	case LAYER_RETRYING: return "Retrying";
	case LAYER_EXTRACTING: return "Extracting";
	case LAYER_DONE: return "Pull complete";
	case LAYER_PREPARING: return "Preparing";
	case LAYER_UPLOADING: return "Pushing";
	case LAYER_PUSHED: return "Pushed";
	case LAYER_MOUNTED: return "Layer already exists";
	}
	return "";
}

/* Bytes per second of layer i since the last drawing. */
static double speed(struct progress *pg, size_t i, uint64_t done, double now)
{
	if (i >= PROGRESS_MAX_LAYERS)
		return 0;
	double dt = now - pg->last_time[i];
	if (pg->last_time[i] == 0 || dt <= 0) {
		pg->last_time[i] = now;
		pg->last_done[i] = done;
		return pg->rate[i];
	}
	if (dt >= 0.5) {
		double r = (done - pg->last_done[i]) / dt;
		pg->rate[i] = pg->rate[i] ? 0.5 * pg->rate[i] + 0.5 * r : r;
		pg->last_time[i] = now;
		pg->last_done[i] = done;
	}
	return pg->rate[i];
}

static void draw_line(struct progress *pg, size_t i, const struct transfer_layer *l, double now)
{
	fprintf(pg->out, "\r\033[K%s: %s", l->id, state_word(l->state));
	if ((l->state == LAYER_DOWNLOADING || l->state == LAYER_UPLOADING || l->state == LAYER_RETRYING) && l->total) {
		char done[16], total[16], rate[16];
		int width = 30, fill = (int)(width * (double)l->done / (double)l->total);
		if (fill > width)
			fill = width;
		output_size(done, sizeof(done), l->done);
		output_size(total, sizeof(total), l->total);
		output_size(rate, sizeof(rate), (uint64_t)speed(pg, i, l->done, now));
		fprintf(pg->out, " [%.*s%s%*s] %8s/%-8s %s/s", fill > 0 ? fill - 1 : 0,
			"==============================", fill > 0 && fill < width ? ">" : fill == width ? "=" : "",
			width - fill, "", done, total, rate);
		if (l->attempt)
			fprintf(pg->out, " (retry %u)", l->attempt);
	}
	fputc('\n', pg->out);
}

void progress_draw(const struct transfer_status *s, void *data)
{
	struct progress *pg = data;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = ts.tv_sec + ts.tv_nsec / 1e9;
	if (!s->n_layers)
		return;
	if (pg->lines)
		fprintf(pg->out, "\033[%zuA", pg->lines);
	for (size_t i = 0; i < s->n_layers; i++)
		draw_line(pg, i, &s->layers[i], now);
	pg->lines = s->n_layers;
	fflush(pg->out);
}
