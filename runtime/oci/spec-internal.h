/* SPDX-License-Identifier: MIT */
/* spec-internal.h: the typed readers of JSON values that spec.c and spec-linux.c share.
 * Each names the field in its error ("process.user.uid must be an integer"); a missing
 * or null key leaves *out as it was. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "lib/error.h"

struct oci_spec;

struct json_object *spec_member(struct json_object *o, const char *key);
int spec_want(struct json_object *v, enum json_type t, const char *what, struct diyc_error *err);
int spec_string(struct json_object *o, const char *key, const char *what, char **out, struct diyc_error *err);
int spec_bool(struct json_object *o, const char *key, const char *what, bool *out, struct diyc_error *err);
int spec_int(struct json_object *o, const char *key, const char *what, int64_t min, int64_t max, int64_t *out,
	     bool *given, struct diyc_error *err);
int spec_u64(struct json_object *o, const char *key, const char *what, uint64_t *out, bool *given,
	     struct diyc_error *err);
int spec_strv(struct json_object *o, const char *key, const char *what, char ***out, struct diyc_error *err);
int spec_pairs(struct json_object *o, const char *key, const char *what, char ***out, struct diyc_error *err);
int spec_abs_path(const char *bundle, const char *p, char **out, struct diyc_error *err);
/* The `linux` object (spec-linux.c). */
int spec_parse_linux(struct json_object *linux_obj, struct oci_spec *s, struct diyc_error *err);
