/* SPDX-License-Identifier: MIT */
/* certsd.c: containers-certs.d(5) and docker's certs.d: the first HOST[:PORT] directory of
 * the user's, containers' and docker's, its *.crt as extra CAs (concatenated, in name
 * order) and a NAME.cert with its NAME.key as the client certificate. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "certsd.h"
#include "lib/util.h"
#include "reference.h"

#define CERT_MAX_SIZE (1 << 20)
#define CA_MAX_TOTAL (16 << 20)

void registry_tls_free(struct registry_tls *t)
{
	free(t->dir);
	free(t->ca_pem);
	free(t->cert_path);
	free(t->key_path);
	memset(t, 0, sizeof(*t));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && !strcmp(s + n - k, suffix);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends dir/name (a regular file once links are followed) to the CAs. */
static int add_ca(struct registry_tls *t, int dfd, const char *name, struct diyc_error *err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return diyc_error(err, errno, "reading %s/%s", t->dir, name);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return diyc_error_plain(err, EINVAL, "%s/%s is not a regular file", t->dir, name);
	_cleanup_free_ char *pem = NULL;
	size_t len;
	int r = read_fd_all(fd, CERT_MAX_SIZE, &pem, &len);
	if (r < 0)
		return diyc_error(err, -r, "reading %s/%s", t->dir, name);
	if (t->ca_len + len + 1 > CA_MAX_TOTAL)
		return diyc_error_plain(err, EFBIG, "%s: the CA files are larger than %d bytes", t->dir, CA_MAX_TOTAL);
	char *v = realloc(t->ca_pem, t->ca_len + len + 2);
	if (!v)
		return diyc_error(err, ENOMEM, "%s", t->dir);
	t->ca_pem = v;
	memcpy(v + t->ca_len, pem, len);
	t->ca_len += len;
	if (len && pem[len - 1] != '\n')
		v[t->ca_len++] = '\n'; /* so that the next file's BEGIN starts a line */
	v[t->ca_len] = '\0';
	return 0;
}

/* A regular file (links followed) in dfd. */
static bool regular_at(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* NAME.cert with NAME.key (and a .key with no .cert: docker refuses both halves alone). */
static int client_pair(struct registry_tls *t, int dfd, const char *name, struct diyc_error *err)
{
	bool cert = ends_with(name, ".cert");
	size_t stem = strlen(name) - (cert ? 5 : 4);
	_cleanup_free_ char *other = xasprintf("%.*s%s", (int)stem, name, cert ? ".key" : ".cert");
	if (!other)
		return diyc_error(err, ENOMEM, "%s", t->dir);
	if (!regular_at(dfd, other))
		return diyc_error_plain(err, ENOENT, "%s/%s has no %s beside it", t->dir, name, other);
	if (!cert || t->cert_path)
		return 0; /* the first pair by name is the one used */
	t->cert_path = xasprintf("%s/%s", t->dir, name);
	t->key_path = xasprintf("%s/%s", t->dir, other);
	if (!t->cert_path || !t->key_path)
		return diyc_error(err, ENOMEM, "%s", t->dir);
	return 0;
}

static int read_dir(struct registry_tls *t, struct diyc_error *err)
{
	_cleanup_close_ int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return diyc_error(err, errno, "reading %s", t->dir);
	int dfd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
	if (!d) {
		int e = errno;
		if (dfd2 >= 0)
			close(dfd2);
		return diyc_error(err, e, "reading %s", t->dir);
	}
	_cleanup_closedir_ DIR *dd = d;
	_cleanup_strv_ char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (ends_with(de->d_name, ".crt") || ends_with(de->d_name, ".cert") || ends_with(de->d_name, ".key"))
			if (strv_push(&names, &n, strdup(de->d_name)) < 0)
				return diyc_error(err, ENOMEM, "%s", t->dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		int r = ends_with(names[i], ".crt") ? add_ca(t, dfd, names[i], err) : client_pair(t, dfd, names[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int certsd_find(const char *hostport, struct registry_tls *t, struct diyc_error *err)
{
	memset(t, 0, sizeof(*t));
	if (!reference_valid_domain(hostport)) {
		_cleanup_free_ char *e = str_escape_dup(hostport ? hostport : "");
		return diyc_error_plain(err, EINVAL, "`%s` is no registry host[:port] to look up certs.d for", e ? e : "?");
	}
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	_cleanup_free_ char *user = xdg && *xdg ? xasprintf("%s/containers/certs.d", xdg)
				  : home && *home ? xasprintf("%s/.config/containers/certs.d", home) : NULL;
	const char *roots[] = { user, "/etc/containers/certs.d", "/etc/docker/certs.d" };
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		if (!roots[i])
			continue;
		_cleanup_free_ char *dir = xasprintf("%s/%s", roots[i], hostport);
		struct stat st;
		if (!dir)
			return diyc_error(err, ENOMEM, "certs.d");
		if (stat(dir, &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return diyc_error(err, errno, "looking at %s", dir);
		}
		if (!S_ISDIR(st.st_mode))
			return diyc_error_plain(err, ENOTDIR, "%s is not a directory", dir);
		t->dir = steal_ptr(dir);
		int r = read_dir(t, err);
		if (r < 0)
			registry_tls_free(t);
		return r;
	}
	return 0;
}
