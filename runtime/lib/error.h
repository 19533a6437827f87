/* SPDX-License-Identifier: MIT */
/* error.h: the error struct that carries one message from where a failure happens
 * up to the command layer, the only place that prints it. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct diyc_error {
	int errnum;      /* errno of the failure, 0 when it is not a system error */
	int status;      /* exit status the command should end with (125 by default) */
	char msg[1024];
};

#define DIYC_EXIT_RUNTIME 125
#define DIYC_EXIT_CANNOT_EXEC 126
#define DIYC_EXIT_NOT_FOUND 127

/* Records "MSG: strerror(errnum)" (or just MSG when errnum is 0) and returns -errnum
 * (-EINVAL when errnum is 0), so callers can write `return diyc_error(err, errno, ...)`. */
int diyc_error(struct diyc_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with no strerror suffix. */
int diyc_error_plain(struct diyc_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prints "diyc: MSG" to stderr. */
void diyc_error_print(const struct diyc_error *err);
/* Prints PREFIX MSG as one line, escaping control characters. */
void diyc_print_line(const char *prefix, const char *msg);
/* Text from an image, a container, a name, a user or the kernel, made safe to print on a
 * terminal: a newline as \\n; the C0 controls, DEL, the C1 controls (U+0080..U+009F) and
 * bytes that are not UTF-8 as \\xNN; valid UTF-8 as it is. Into out (size bytes, cut at a
 * character, always NUL-terminated); returns its length. */
size_t str_escape(const char *s, char *out, size_t size);
/* The same, malloc'd (NULL when out of memory). */
char *str_escape_dup(const char *s);
/* The terminal columns UTF-8 text takes (a column per character). */
size_t str_columns(const char *s);
/* Prints s, then spaces up to width columns. */
void print_cell(FILE *f, const char *s, size_t width);
/* Prints JSON text as json-c wrote it, and a newline, with what json-c leaves raw that a
 * terminal could take for a control (DEL, C1, bytes that are not UTF-8) as \\u escapes. */
void print_json_text(FILE *f, const char *json);
void diyc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int diyc_verbose;
void diyc_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
