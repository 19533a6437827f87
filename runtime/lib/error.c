/* SPDX-License-Identifier: MIT */
/* error.c: error recording, the few functions that write diagnostics to stderr, and the
 * escaping that every string diyc prints from elsewhere goes through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The length of the valid UTF-8 sequence at s (2 to 4 bytes, no overlong form, no
 * surrogate, at most U+10FFFF), 0 when s does not start one. *cp gets its code point. */
static size_t utf8_seq(const unsigned char *s, unsigned *cp)
{
	size_t n;
	unsigned v, min;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, v = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, v = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, v = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

size_t str_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;
	if (!size)
		return 0;
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c;) {
		unsigned cp = 0;
		size_t len = *c < 0x80 ? 1 : utf8_seq(c, &cp);
		char piece[16];
		size_t k;
		if (*c == '\n') {
			k = (size_t)snprintf(piece, sizeof(piece), "\\n");
		} else if (*c < 0x20 || *c == 0x7f) {
			k = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *c);
		} else if (len == 0) {
			/* not UTF-8: a lone byte, which a terminal may take for a C1 control */
			k = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *c);
			len = 1;
		} else if (len == 2 && cp < 0xa0) {
			/* U+0080..U+009F, the C1 controls, written in UTF-8 */
			k = (size_t)snprintf(piece, sizeof(piece), "\\x%02x\\x%02x", c[0], c[1]);
		} else {
			memcpy(piece, c, len);
			k = len;
		}
		if (n + k >= size)
			break;
		memcpy(out + n, piece, k);
		n += k;
		c += len;
	}
	out[n] = '\0';
	return n;
}

char *str_escape_dup(const char *s)
{
	size_t size = 4 * strlen(s ? s : "") + 1;
	char *out = malloc(size);
	if (out)
		str_escape(s, out, size);
	return out;
}

size_t str_columns(const char *s)
{
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		n += (*c & 0xc0) != 0x80;
	return n;
}

void print_cell(FILE *f, const char *s, size_t width)
{
	fputs(s, f);
	for (size_t n = str_columns(s); n < width; n++)
		fputc(' ', f);
}

void print_json_text(FILE *f, const char *json)
{
	/* json-c escapes the C0 controls but writes DEL, C1 controls in UTF-8 and bytes that
	 * are not UTF-8 as they are: \u escapes for those (a stray byte taken as Latin-1), so
	 * that the text stays valid JSON and nothing reaches the terminal as a control */
	for (const unsigned char *c = (const unsigned char *)(json ? json : "null"); *c;) {
		unsigned cp = 0;
		size_t len = *c < 0x80 ? 1 : utf8_seq(c, &cp);
		if (*c == 0x7f || len == 0 || (len == 2 && cp < 0xa0)) {
			fprintf(f, "\\u%04x", len == 2 ? cp : *c);
			c += len == 2 ? 2 : 1;
			continue;
		}
		fwrite(c, 1, len, f);
		c += len;
	}
	fputc('\n', f);
}

void diyc_print_line(const char *prefix, const char *msg)
{
	/* one line, whatever the user typed: control characters are shown escaped */
	char out[4 * sizeof(((struct diyc_error *)0)->msg) + 1];
	str_escape(msg, out, sizeof(out));
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
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "diyc[%d] %ld.%06ld: ", getpid(), (long)ts.tv_sec, ts.tv_nsec / 1000);
	diyc_print_line(prefix, buf);
}
