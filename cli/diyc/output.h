/* SPDX-License-Identifier: MIT */
/* output.h: everything diyc prints goes through here or through stdio in a cmd-*.c: errors
 * with the advice of their hint, warnings and debug messages of the library, table cells
 * and JSON, all escaped for a terminal; sizes and the lines of the prunes as docker prints them. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include "lib/error.h"

/* Prints PREFIX MSG to stderr as one line, escaping control characters. */
void diyc_print_line(const char *prefix, const char *msg);
/* Prints "diyc: MSG" and the advice its hint names (DIYC_HINT_*) to stderr. */
void diyc_error_print(const struct diyc_error *err);
/* The message and its advice as one string, into out. */
void diyc_error_text(const struct diyc_error *err, char *out, size_t size);
/* Prints s, then spaces up to width columns. */
void print_cell(FILE *f, const char *s, size_t width);
/* Prints JSON text as json-c wrote it, and a newline, with what json-c leaves raw that a
 * terminal could take for a control (DEL, C1, bytes that are not UTF-8) as \\u escapes. */
void print_json_text(FILE *f, const char *json);
/* The library's warnings ("diyc: warning: ...") and --verbose messages, on stderr. */
void output_log_handler(enum diyc_log_level level, const char *msg);
/* A size as docker prints it (decimal units: 1.98MB), three significant digits. */
void output_size(char *buf, size_t n, uint64_t v);
/* docker's units.HumanSize (system df, the prunes): decimal units, four significant digits
 * (16.43MB). */
void output_human_size(char *buf, size_t n, uint64_t v);

struct json_object;
/* Prints o on stdout as indented JSON (print_json_text). */
void print_json(struct json_object *o);

/* The lines of docker's prune commands: a heading ("Deleted Volumes:") before each group
 * of what was removed, a blank line between groups, then the space reclaimed. */
struct prune_output {
	const char *heading; /* of the group printed last; NULL: nothing printed yet */
};
/* Prints PREFIX WHAT (escaped) under heading, which starts a group when it is not the one
 * printed last. */
void prune_output_item(struct prune_output *o, const char *heading, const char *prefix, const char *what);
/* "Total reclaimed space: 16.43MB", after a blank line when anything was printed. */
void prune_output_total(const struct prune_output *o, uint64_t bytes);
/* docker's question after a warning the caller printed: "Are you sure you want to continue?
 * [y/N]" on stdout, the answer from stdin; true for y or yes (no input: no). */
bool output_confirm(void);
