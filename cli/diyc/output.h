/* SPDX-License-Identifier: MIT */
/* output.h: everything diyc prints goes through here or through stdio in a cmd-*.c: errors
 * with the advice of their hint, warnings and debug messages of the library, table cells
 * and JSON, all escaped for a terminal. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
