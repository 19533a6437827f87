/* SPDX-License-Identifier: MIT */
/* each.h: the commands over NAME... (rm, inspect of containers and volumes): each name
 * handled in turn, a failure printed and the others still done, the exit status 125 when
 * any failed (each.c). */
#pragma once
#include "lib/error.h"

struct json_object;

/* Acts on one name: 0 when done, 1 when there was nothing to do, or a negative errno with
 * err set. */
typedef int (*name_action)(const char *name, void *data, struct diyc_error *err);
/* Calls fn on names[0] to names[n - 1], and prints each name on stdout when fn returns 0,
 * its error when fn fails. Returns 0, or the exit status of the last failure. */
int act_on_each(char **names, int n, name_action fn, void *data);

/* One name's JSON object, or NULL with err set. */
typedef struct json_object *(*name_json)(const char *name, void *data, struct diyc_error *err);
/* `inspect NAME...`: prints the objects fn gives for names[0] to names[n - 1] as one JSON
 * array (unless every name failed), and the error of each name it fails on. Returns 0, or
 * the exit status of the last failure. */
int inspect_each(char **names, int n, name_json fn, void *data);
