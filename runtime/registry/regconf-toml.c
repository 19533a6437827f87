/* SPDX-License-Identifier: MIT */
/* regconf-toml.c: a strict reader of the TOML subset registries.conf files are written in
 * (Debian 12 ships no TOML library for C): `key = "basic"`, `'literal'`, true/false and
 * arrays of strings (over several lines, with a trailing comma), bare, quoted and dotted
 * keys, [tables], [[arrays.of.tables]] and # comments. Everything else (numbers, dates,
 * inline tables, multi-line strings) is refused with the file and line rather than guessed
 * at, as is what TOML itself forbids: a key set twice, a table defined twice. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/util.h"
#include "regconf-internal.h"

/* bounds for hostile input: real files have a few dozen keys */
#define TOML_MAX_KEYS 4096
#define TOML_MAX_ITEMS 4096
#define TOML_MAX_DEPTH 16

struct parser {
	const char *s, *end;
	const char *name;
	int line;
	struct diyc_error *err;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return diyc_error_plain(p->err, EINVAL, "%s:%d: %s", p->name, p->line, msg);
}

/* The return value of a failure already recorded in p->err. */
static int failed(struct parser *p)
{
	return p->err->errnum ? -p->err->errnum : -EINVAL;
}

static void node_free(struct toml_node *n);

void toml_free(struct toml_node *n)
{
	free(n->key);
	free(n->str);
	for (size_t i = 0; n->strs && i < n->n; i++)
		free(n->strs[i]);
	free(n->strs);
	for (size_t i = 0; n->kids && i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	memset(n, 0, sizeof(*n));
}

static void node_free(struct toml_node *n)
{
	if (n) {
		toml_free(n);
		free(n);
	}
}

struct toml_node *toml_get(const struct toml_node *t, const char *key)
{
	if (!t || t->type != TOML_TABLE)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->kids[i]->key, key))
			return t->kids[i];
	return NULL;
}

/* A new node, key taken over, appended to t's kids. NULL when out of memory or full. */
static struct toml_node *add_kid(struct parser *p, struct toml_node *t, char *key, enum toml_type type)
{
	if (t->n >= (t->type == TOML_TABLE ? TOML_MAX_KEYS : TOML_MAX_ITEMS)) {
		free(key);
		fail(p, "more than %d entries in one table or array", TOML_MAX_KEYS);
		return NULL;
	}
	struct toml_node **k = realloc(t->kids, (t->n + 1) * sizeof(*k));
	struct toml_node *n = calloc(1, sizeof(*n));
	if (k)
		t->kids = k;
	if (!k || !n) {
		free(key);
		free(n);
		diyc_error(p->err, ENOMEM, "%s", p->name);
		return NULL;
	}
	n->key = key;
	n->type = type;
	n->line = p->line;
	t->kids[t->n++] = n;
	return n;
}

static void skip_ws(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t'))
		p->s++;
}

/* After a value or a header: spaces, a comment, then the end of the line (or file). */
static int end_of_line(struct parser *p)
{
	skip_ws(p);
	if (p->s < p->end && *p->s == '#') {
		while (p->s < p->end && *p->s != '\n') {
			unsigned char c = *p->s;
			if ((c < 0x20 && c != '\t' && !(c == '\r' && p->s + 1 < p->end && p->s[1] == '\n')) || c == 0x7f)
				return fail(p, "a control character (\\x%02x) in a comment", c);
			p->s++;
		}
	}
	if (p->s < p->end && *p->s == '\r' && p->s + 1 < p->end && p->s[1] == '\n')
		p->s++;
	if (p->s < p->end && *p->s != '\n') {
		char c[8];
		str_escape((char[]){ *p->s, 0 }, c, sizeof(c));
		return fail(p, "unexpected `%s` after the value: one key = value or [table] per line", c);
	}
	if (p->s < p->end) {
		p->s++;
		p->line++;
	}
	return 0;
}

/* Spaces, newlines and comments, as allowed inside an array. */
static int skip_blank(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		if (p->s >= p->end)
			return 0;
		if (*p->s == '#' || *p->s == '\n' || (*p->s == '\r' && p->s + 1 < p->end && p->s[1] == '\n')) {
			int r = end_of_line(p);
			if (r < 0)
				return r;
			continue;
		}
		return 0;
	}
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = cp;
	} else if (cp < 0x800) {
		out[(*n)++] = 0xc0 | (cp >> 6);
		out[(*n)++] = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		out[(*n)++] = 0xe0 | (cp >> 12);
		out[(*n)++] = 0x80 | ((cp >> 6) & 0x3f);
		out[(*n)++] = 0x80 | (cp & 0x3f);
	} else {
		out[(*n)++] = 0xf0 | (cp >> 18);
		out[(*n)++] = 0x80 | ((cp >> 12) & 0x3f);
		out[(*n)++] = 0x80 | ((cp >> 6) & 0x3f);
		out[(*n)++] = 0x80 | (cp & 0x3f);
	}
}

/* \uXXXX or \UXXXXXXXX at p->s (after the u), into out. */
static int unicode_escape(struct parser *p, int digits, char *out, size_t *n)
{
	uint32_t cp = 0;
	for (int i = 0; i < digits; i++, p->s++) {
		char c = p->s < p->end ? *p->s : 0;
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return fail(p, "a \\%c escape needs %d hex digits", digits == 4 ? 'u' : 'U', digits);
		cp = cp * 16 + v;
	}
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return fail(p, "\\u%04X is no character a string may hold", cp);
	put_utf8(out, n, cp);
	return 0;
}

static int escape(struct parser *p, char *out, size_t *n)
{
	char c = p->s < p->end ? *p->s : 0;
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	const char *f = c ? strchr(from, c) : NULL;
	p->s++;
	if (f) {
		out[(*n)++] = to[f - from];
		return 0;
	}
	if (c == 'u' || c == 'U')
		return unicode_escape(p, c == 'u' ? 4 : 8, out, n);
	char e[8];
	str_escape((char[]){ c, 0 }, e, sizeof(e));
	return fail(p, "unknown escape `\\%s` in a string", e);
}

/* A basic "..." or literal '...' string at p->s, malloc'd into *out. */
static int string(struct parser *p, char **out)
{
	char q = *p->s;
	if (p->end - p->s >= 3 && p->s[1] == q && p->s[2] == q)
		return fail(p, "multi-line strings are not supported");
	p->s++;
	/* the result is never longer than the text (an escape of 2..10 bytes gives 1..4) */
	const char *close = p->s;
	while (close < p->end && *close != '\n')
		close++;
	_cleanup_free_ char *buf = malloc(close - p->s + 1);
	if (!buf)
		return diyc_error(p->err, ENOMEM, "%s", p->name);
	size_t n = 0;
	for (;;) {
		if (p->s >= p->end || *p->s == '\n')
			return fail(p, "a string is not closed on its line");
		unsigned char c = *p->s;
		if (c == (unsigned char)q) {
			p->s++;
			break;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, "a control character (\\x%02x) in a string", c);
		if (c >= 0x80) {
			/* utf8_seq may read 4 bytes: the text need not be NUL-terminated */
			unsigned char seq[5] = { 0 };
			unsigned cp;
			memcpy(seq, p->s, p->end - p->s < 4 ? (size_t)(p->end - p->s) : 4);
			size_t k = utf8_seq(seq, &cp);
			if (k == 0)
				return fail(p, "a string that is not UTF-8 (byte \\x%02x)", c);
			memcpy(buf + n, p->s, k);
			n += k;
			p->s += k;
			continue;
		}
		p->s++;
		if (c == '\\' && q == '"') {
			int r = escape(p, buf, &n);
			if (r < 0)
				return r;
			continue;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	*out = steal_ptr(buf);
	return 0;
}

static bool bare_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* One key segment (bare or quoted) into *out. */
static int key_segment(struct parser *p, char **out)
{
	skip_ws(p);
	if (p->s < p->end && (*p->s == '"' || *p->s == '\''))
		return string(p, out);
	const char *b = p->s;
	while (p->s < p->end && bare_key_char(*p->s))
		p->s++;
	if (p->s == b)
		return fail(p, "a key is missing (a bare key is letters, digits, `_` and `-`, or quote it)");
	*out = strndup(b, p->s - b);
	return *out ? 0 : diyc_error(p->err, ENOMEM, "%s", p->name);
}

/* A dotted key (a."b".c) into keys[] (up to TOML_MAX_DEPTH). */
static int dotted_key(struct parser *p, char **keys, size_t *n)
{
	*n = 0;
	for (;;) {
		if (*n == TOML_MAX_DEPTH)
			return fail(p, "a key of more than %d parts", TOML_MAX_DEPTH);
		int r = key_segment(p, &keys[*n]);
		if (r < 0)
			return r;
		(*n)++;
		skip_ws(p);
		if (p->s >= p->end || *p->s != '.')
			return 0;
		p->s++;
	}
}

static void keys_free(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
}

/* Joins keys for a message, escaped: "registry.mirror". */
static void keys_text(char **keys, size_t n, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		if (i)
			out[o++] = '.';
		o += str_escape(keys[i], out + o, size - o);
	}
}

/* The table below t named key, made when missing; an array of tables gives its last one.
 * dotted: reached through a dotted key of an assignment (header otherwise). */
static struct toml_node *descend(struct parser *p, struct toml_node *t, char **key, bool dotted)
{
	struct toml_node *k = toml_get(t, *key);
	if (!k) {
		k = add_kid(p, t, steal_ptr(*key), TOML_TABLE);
		if (k)
			k->dotted = dotted;
		return k;
	}
	if (k->type == TOML_TABLE_ARRAY && !dotted && k->n > 0)
		return k->kids[k->n - 1];
	if (k->type != TOML_TABLE || (dotted && k->header)) {
		char e[256];
		str_escape(*key, e, sizeof(e));
		fail(p, "`%s` is already set on line %d, not as a table", e, k->line);
		return NULL;
	}
	return k;
}

static int value(struct parser *p, struct toml_node *n);

/* key = value, at p->s, into the table t. */
static int assignment(struct parser *p, struct toml_node *t)
{
	char *keys[TOML_MAX_DEPTH];
	size_t nk;
	int r = dotted_key(p, keys, &nk);
	if (r < 0) {
		keys_free(keys, nk);
		return r;
	}
	for (size_t i = 0; t && i + 1 < nk; i++)
		t = descend(p, t, &keys[i], true);
	if (t && toml_get(t, keys[nk - 1])) {
		char e[512];
		keys_text(keys, nk, e, sizeof(e));
		r = fail(p, "`%s` is set twice (first on line %d)", e, toml_get(t, keys[nk - 1])->line);
		t = NULL;
	}
	struct toml_node *n = t ? add_kid(p, t, steal_ptr(keys[nk - 1]), TOML_STRING) : NULL;
	keys_free(keys, nk);
	if (!n)
		return r < 0 ? r : failed(p);
	skip_ws(p);
	if (p->s >= p->end || *p->s != '=')
		return fail(p, "`=` expected after the key");
	p->s++;
	skip_ws(p);
	r = value(p, n);
	return r < 0 ? r : end_of_line(p);
}

static int array(struct parser *p, struct toml_node *n)
{
	n->type = TOML_ARRAY;
	p->s++; /* [ */
	for (;;) {
		int r = skip_blank(p);
		if (r < 0)
			return r;
		if (p->s >= p->end)
			return fail(p, "an array is not closed");
		if (*p->s == ']') {
			p->s++;
			return 0;
		}
		if (*p->s != '"' && *p->s != '\'')
			return fail(p, "only arrays of strings are supported");
		if (n->n >= TOML_MAX_ITEMS)
			return fail(p, "an array of more than %d strings", TOML_MAX_ITEMS);
		char **v = realloc(n->strs, (n->n + 2) * sizeof(*v));
		if (!v)
			return diyc_error(p->err, ENOMEM, "%s", p->name);
		n->strs = v;
		n->strs[n->n] = NULL;
		r = string(p, &n->strs[n->n]);
		if (r < 0)
			return r;
		n->strs[++n->n] = NULL;
		r = skip_blank(p);
		if (r < 0)
			return r;
		if (p->s < p->end && *p->s == ',')
			p->s++;
		else if (p->s < p->end && *p->s != ']')
			return fail(p, "`,` or `]` expected in an array");
	}
}

static int value(struct parser *p, struct toml_node *n)
{
	if (p->s >= p->end || *p->s == '\n' || *p->s == '#')
		return fail(p, "a value is missing after `=`");
	char c = *p->s;
	if (c == '"' || c == '\'') {
		n->type = TOML_STRING;
		return string(p, &n->str);
	}
	if (c == '[')
		return array(p, n);
	size_t left = p->end - p->s;
	if (left >= 4 && !memcmp(p->s, "true", 4) && (left == 4 || !bare_key_char(p->s[4]))) {
		n->type = TOML_BOOL;
		n->b = true;
		p->s += 4;
		return 0;
	}
	if (left >= 5 && !memcmp(p->s, "false", 5) && (left == 5 || !bare_key_char(p->s[5]))) {
		n->type = TOML_BOOL;
		p->s += 5;
		return 0;
	}
	if (c == '{')
		return fail(p, "inline tables ({...}) are not supported");
	return fail(p, "unsupported value: only \"strings\", 'strings', true, false and [arrays of strings] are");
}

/* [a.b] or [[a.b]] at p->s: the table that the following keys go into. */
static int header(struct parser *p, struct toml_node *root, struct toml_node **cur)
{
	bool aot = p->end - p->s >= 2 && p->s[1] == '[';
	p->s += aot ? 2 : 1;
	char *keys[TOML_MAX_DEPTH];
	size_t nk;
	int r = dotted_key(p, keys, &nk);
	if (r < 0) {
		keys_free(keys, nk);
		return r;
	}
	char kt[512];
	keys_text(keys, nk, kt, sizeof(kt));
	struct toml_node *t = root;
	for (size_t i = 0; t && i + 1 < nk; i++)
		t = descend(p, t, &keys[i], false);
	struct toml_node *k = t ? toml_get(t, keys[nk - 1]) : NULL;
	bool made = false;
	if (t && !k) {
		k = add_kid(p, t, steal_ptr(keys[nk - 1]), aot ? TOML_TABLE_ARRAY : TOML_TABLE);
		made = true;
	}
	keys_free(keys, nk);
	if (!k)
		return failed(p);
	if (aot) {
		if (k->type != TOML_TABLE_ARRAY)
			return fail(p, "[[%s]]: `%s` is already a table or a value (line %d)", kt, kt, k->line);
		k = add_kid(p, k, NULL, TOML_TABLE);
		if (!k)
			return failed(p);
	} else if (k->type == TOML_TABLE_ARRAY) {
		return fail(p, "[%s]: `%s` is an array of tables (line %d): use [[%s]]", kt, kt, k->line, kt);
	} else if (k->type != TOML_TABLE) {
		return fail(p, "[%s]: `%s` is already set on line %d, not as a table", kt, kt, k->line);
	} else if (!made && (k->header || k->dotted)) {
		return fail(p, "[%s] is defined twice (first on line %d)", kt, k->line);
	}
	k->header = true;
	k->line = p->line;
	skip_ws(p);
	if (p->end - p->s < (aot ? 2 : 1) || p->s[0] != ']' || (aot && p->s[1] != ']'))
		return fail(p, "`%s` expected after the table's name", aot ? "]]" : "]");
	p->s += aot ? 2 : 1;
	*cur = k;
	return end_of_line(p);
}

int toml_parse(const char *text, size_t len, const char *name, struct toml_node *root, struct diyc_error *err)
{
	struct parser p = { .s = text, .end = text + len, .name = name, .line = 1, .err = err };
	if (memchr(text, '\0', len))
		return diyc_error_plain(err, EINVAL, "%s: the file holds a NUL byte: it is no text", name);
	root->type = TOML_TABLE;
	root->line = 1;
	struct toml_node *cur = root;
	for (;;) {
		int r = skip_blank(&p);
		if (r < 0)
			return r;
		if (p.s >= p.end)
			return 0;
		r = *p.s == '[' ? header(&p, root, &cur) : assignment(&p, cur);
		if (r < 0)
			return r;
	}
}
