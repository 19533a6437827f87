/* SPDX-License-Identifier: MIT */
/* error.c: error recording and the few functions that write diagnostics to stderr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "error.h"

int diyc_verbose;

static int record(struct diyc_error *err, int errnum, int with_strerror, const char *fmt, va_list ap)
{
	if (err) {
		int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		if (with_strerror && errnum && n >= 0 && (size_t)n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
		err->errnum = errnum;
		if (!err->status)
			err->status = DIYC_EXIT_RUNTIME;
	}
	return errnum > 0 ? -errnum : -EINVAL;
}

int diyc_error(struct diyc_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = record(err, errnum, 1, fmt, ap);
	va_end(ap);
	return r;
}

int diyc_error_plain(struct diyc_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = record(err, errnum, 0, fmt, ap);
	va_end(ap);
	return r;
}

void diyc_print_line(const char *prefix, const char *msg)
{
	/* one line, whatever the user typed: control characters are shown escaped */
	char out[4 * sizeof(((struct diyc_error *)0)->msg) + 1];
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)msg; *c && n + 5 < sizeof(out); c++) {
		if (*c == '\n')
			n += snprintf(out + n, sizeof(out) - n, "\\n");
		else if (*c < 0x20 || *c == 0x7f)
			n += snprintf(out + n, sizeof(out) - n, "\\x%02x", *c);
		else
			out[n++] = *c;
	}
	out[n] = '\0';
	fprintf(stderr, "%s%s\n", prefix, out);
}

void diyc_error_print(const struct diyc_error *err)
{
	diyc_print_line("diyc: ", err->msg[0] ? err->msg : "unknown error");
}

void diyc_warn(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diyc_print_line("diyc: warning: ", buf);
}

void diyc_debug(const char *fmt, ...)
{
	if (!diyc_verbose)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "diyc[%d] %ld.%06ld: %s\n", getpid(), (long)ts.tv_sec, ts.tv_nsec / 1000, buf);
}
