/* SPDX-License-Identifier: MIT */
/* error.h: the error struct that carries one message from where a failure happens
 * up to the command layer, the only place that prints it. */
#pragma once
#include <stdarg.h>

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
void diyc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int diyc_verbose;
void diyc_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
