/* SPDX-License-Identifier: MIT */
/* error.c: error recording and wrapping, the escaping that every string diyc prints from
 * elsewhere goes through, and warnings handed to the front end's handler. */
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
		err->hint = DIYC_HINT_NONE; /* a new error: an earlier one's advice does not apply */
		err->hint_arg[0] = '\0';
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

int diyc_error_hint(struct diyc_error *err, int ret, enum diyc_hint hint, const char *arg)
{
	if (err) {
		err->hint = hint;
		snprintf(err->hint_arg, sizeof(err->hint_arg), "%s", arg ? arg : "");
	}
	return ret;
}

int diyc_error_wrap(struct diyc_error *err, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	char what[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	char msg[sizeof(err->msg)];
	snprintf(msg, sizeof(msg), "%s: %s", what, err->msg[0] ? err->msg : "unknown error");
	memcpy(err->msg, msg, sizeof(err->msg));
	if (!err->status)
		err->status = DIYC_EXIT_RUNTIME;
	return err->errnum > 0 ? -err->errnum : -EINVAL;
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
size_t utf8_seq(const unsigned char *s, unsigned *cp)
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

static diyc_log_fn *log_handler;

void diyc_set_log_handler(diyc_log_fn *fn)
{
	log_handler = fn;
}

void diyc_warn(const char *fmt, ...)
{
	if (!log_handler)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_handler(DIYC_LOG_WARN, buf);
}

void diyc_debug(const char *fmt, ...)
{
	if (!diyc_verbose || !log_handler)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_handler(DIYC_LOG_DEBUG, buf);
}
