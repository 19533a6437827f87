/* SPDX-License-Identifier: MIT */
/* reference.c: docker's reference grammar (distribution/reference) and its normalisation
 * onto docker.io, with a message per kind of mistake rather than one "invalid reference
 * format". Only sha256 digests are taken: they are the only ones registries serve. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "lib/util.h"
#include "reference.h"

#define DOCKER_DOMAIN "docker.io"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A domain-component: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static bool valid_label(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool valid_host(const char *s, size_t n)
{
	if (n == 0 || n > REF_DOMAIN_MAX)
		return false;
	if (s[0] == '[') {
		/* [IPv6]: what inet_pton takes, as docker's grammar allows any IPv6 form */
		char buf[64];
		if (s[n - 1] != ']' || n - 2 >= sizeof(buf) || n < 3)
			return false;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		struct in6_addr a;
		return inet_pton(AF_INET6, buf, &a) == 1;
	}
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!valid_label(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static bool valid_port(const char *s, size_t n)
{
	if (n == 0 || n > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535;
}

/* Why s (n bytes) is no host[:port], or NULL when it is one. */
static const char *domain_problem(const char *s, size_t n)
{
	if (n > REF_DOMAIN_MAX)
		return "the registry name is too long";
	const char *colon = NULL;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close && (size_t)(close - s) + 1 < n)
			colon = close + 1;
		if (colon && *colon != ':')
			return "the registry is not a valid host[:port]";
	} else {
		colon = memchr(s, ':', n);
	}
	size_t hn = colon ? (size_t)(colon - s) : n;
	if (hn == 0)
		return colon ? "a port without a host" : "the registry name is empty";
	if (!valid_host(s, hn))
		return "the registry is not a valid host name or address";
	if (colon && !valid_port(colon + 1, n - hn - 1))
		return "the registry's port is not a number from 0 to 65535";
	return NULL;
}

bool reference_valid_domain(const char *s)
{
	return s && domain_problem(s, strlen(s)) == NULL;
}

/* Why the path component s (n bytes) breaks [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*, or NULL. */
static const char *component_problem(const char *s, size_t n)
{
	if (n == 0)
		return "a path component is empty (`//`, or `/` at the start or the end)";
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return "`.` and `..` are not path components";
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return "repository names must be lowercase";
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return "a path component must start and end with a lowercase letter or a digit";
	for (size_t i = 1; i < n;) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		size_t k = j - i;
		bool dashes = true;
		for (size_t m = i; m < j; m++)
			dashes = dashes && s[m] == '-';
		if (!(dashes || (k == 1 && (s[i] == '.' || s[i] == '_')) || (k == 2 && s[i] == '_' && s[i + 1] == '_')))
			return "a path component may only join letters and digits with `.`, `_`, `__` or dashes";
		i = j;
	}
	return NULL;
}

static const char *path_problem(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			const char *p = component_problem(s + start, i - start);
			if (p)
				return p;
			start = i + 1;
		}
	}
	return NULL;
}

const char *reference_location_problem(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t dn = slash ? (size_t)(slash - s) : strlen(s);
	const char *p = domain_problem(s, dn);
	if (!p && slash)
		p = path_problem(slash + 1, strlen(slash + 1));
	if (!p && strlen(s) > REF_DOMAIN_MAX + 1 + REF_PATH_MAX)
		p = "it is too long";
	return p;
}

static const char *tag_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "the tag after `:` is empty";
	if (n > REF_TAG_MAX)
		return "the tag is longer than 128 characters";
	if (!(is_alnum(s[0]) || s[0] == '_'))
		return "a tag must start with a letter, a digit or `_`";
	for (size_t i = 1; i < n; i++)
		if (!(is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return "a tag may only hold letters, digits, `_`, `.` and `-`";
	return NULL;
}

static const char *digest_problem(const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return "the digest is not ALGORITHM:HEX";
	if ((size_t)(colon - s) != 6 || strncmp(s, "sha256", 6) != 0)
		return "only sha256 digests are supported";
	const char *hex = colon + 1;
	size_t n = strlen(hex);
	for (size_t i = 0; i < n; i++) {
		if (hex[i] >= 'A' && hex[i] <= 'F')
			return "the digest's hex must be lowercase";
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return "the digest holds something other than hex digits";
	}
	if (n != 64)
		return "a sha256 digest has 64 hex digits";
	return NULL;
}

static int invalid(struct diyc_error *err, const char *s, const char *why)
{
	_cleanup_free_ char *e = str_escape_dup(s);
	return diyc_error_plain(err, EINVAL, "invalid reference `%s`: %s", e ? e : "?", why);
}

/* Whether the text before the first `/` names a registry, as docker decides it. */
static bool names_domain(const char *s, size_t n)
{
	if (memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !memcmp(s, "localhost", 9)))
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

static bool all_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* name (n bytes, no tag or digest) into r's domain and path. */
static const char *split_name(const char *name, size_t n, struct image_reference *r)
{
	const char *slash = memchr(name, '/', n);
	const char *path = name;
	size_t pn = n;
	if (slash && names_domain(name, slash - name)) {
		size_t dn = slash - name;
		const char *p = domain_problem(name, dn);
		if (p)
			return p;
		memcpy(r->domain, name, dn);
		r->domain[dn] = '\0';
		if (!strcmp(r->domain, "index.docker.io"))
			strcpy(r->domain, DOCKER_DOMAIN);
		r->qualified = true;
		path = slash + 1;
		pn = n - dn - 1;
	} else {
		if (n > 0 && name[0] == ':')
			return "a port without a host";
		if (all_hex64(name, n))
			return "a 64-hex-digit name is an image id, not a repository";
		strcpy(r->domain, DOCKER_DOMAIN);
	}
	const char *p = path_problem(path, pn);
	if (p)
		return p;
	bool library = !strcmp(r->domain, DOCKER_DOMAIN) && !memchr(path, '/', pn);
	if (pn + (library ? 8 : 0) > REF_PATH_MAX)
		return "the repository path is longer than 255 characters";
	snprintf(r->path, sizeof(r->path), "%s%.*s", library ? "library/" : "", (int)pn, path);
	return NULL;
}

int reference_parse(const char *s, struct image_reference *r, struct diyc_error *err)
{
	memset(r, 0, sizeof(*r));
	if (!s || !*s)
		return invalid(err, "", "it is empty");
	size_t len = strlen(s);
	if (len > REF_DOMAIN_MAX + 1 + REF_PATH_MAX + 1 + REF_TAG_MAX + 1 + sizeof(r->digest))
		return invalid(err, s, "it is too long");
	const char *at = strchr(s, '@');
	size_t name_end = at ? (size_t)(at - s) : len;
	if (at) {
		const char *p = digest_problem(at + 1);
		if (p)
			return invalid(err, s, p);
		snprintf(r->digest, sizeof(r->digest), "%s", at + 1);
	}
	/* the tag's colon is the last one after the last slash (a port's comes before it) */
	const char *colon = NULL;
	for (size_t i = 0; i < name_end; i++)
		if (s[i] == ':')
			colon = s + i;
		else if (s[i] == '/')
			colon = NULL;
	if (colon && colon == s)
		colon = NULL; /* ":5000" alone: a port without a host, said below */
	if (colon) {
		char tag[REF_TAG_MAX + 2];
		size_t tn = name_end - (colon - s) - 1;
		if (tn > REF_TAG_MAX)
			return invalid(err, s, "the tag is longer than 128 characters");
		memcpy(tag, colon + 1, tn);
		tag[tn] = '\0';
		const char *p = tag_problem(tag);
		if (p)
			return invalid(err, s, p);
		memcpy(r->tag, tag, tn + 1);
		name_end = colon - s;
	}
	if (name_end == 0)
		return invalid(err, s, "the name is empty");
	if (name_end > 255)
		return invalid(err, s, "the name is longer than 255 characters");
	const char *p = split_name(s, name_end, r);
	if (p)
		return invalid(err, s, p);
	/* docker counts the name as normalised, so that what parsed prints back parses */
	if (strlen(r->domain) + 1 + strlen(r->path) > 255)
		return invalid(err, s, "the name is longer than 255 characters with its registry");
	if (!r->tag[0] && !r->digest[0])
		strcpy(r->tag, "latest");
	return 0;
}

void reference_short_path(const struct image_reference *r, char *out, size_t size)
{
	const char *p = r->path;
	if (!strcmp(r->domain, DOCKER_DOMAIN) && str_has_prefix(p, "library/") && !strchr(p + 8, '/'))
		p += 8;
	snprintf(out, size, "%s", p);
}

void reference_repo(const struct image_reference *r, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", r->domain, r->path);
}

void reference_format(const struct image_reference *r, char *out, size_t size)
{
	snprintf(out, size, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
		 r->digest[0] ? "@" : "", r->digest);
}
