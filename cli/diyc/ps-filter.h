/* SPDX-License-Identifier: MIT */
/* ps-filter.h: `ps --filter KEY=VALUE`, docker's keys that diyc's containers have: name,
 * label, status, exited, ancestor, volume (ps-filter.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "container/store.h"

enum ps_filter_key { PS_FILTER_NAME, PS_FILTER_LABEL, PS_FILTER_STATUS, PS_FILTER_EXITED, PS_FILTER_ANCESTOR,
		     PS_FILTER_VOLUME, PS_FILTER_KEYS };

/* The values given for each key: a container matches when, for every key given, one of its
 * values matches (docker's rule). */
struct ps_filters {
	char **values[PS_FILTER_KEYS];
	size_t n[PS_FILTER_KEYS];
};

/* Adds --filter ARG (KEY=VALUE): 0, or 125 after printing why it is refused (`diyc CMD`). */
int ps_filter_add(const char *cmd, struct ps_filters *f, const char *arg);
/* Whether the filters ask for stopped containers too (status=, exited=), as docker shows
 * them without -a. */
bool ps_filters_want_all(const struct ps_filters *f);
bool ps_filters_match(const struct ps_filters *f, const struct container *c);
void ps_filters_free(struct ps_filters *f);
