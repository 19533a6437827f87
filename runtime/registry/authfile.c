/* SPDX-License-Identifier: MIT */
/* authfile.c: registry credentials in podman's auth.json and docker's config.json: which
 * files, in podman's order; which entry of a file applies to a repository (the longest key,
 * docker's URL keys such as https://index.docker.io/v1/ counted as their host); base64
 * through nettle, loaded at first use; credHelpers and credsStore run as
 * docker-credential-NAME (authfile-helper.c); writes that keep what else the file holds,
 * 0600, atomically, under a lock. Secrets are never put into a message or a log, and the
 * buffers that held them are wiped before they are freed. */
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <libgen.h>
#include <limits.h>
#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "authfile-internal.h"
#include "authfile.h"
#include "lib/dl.h"
#include "lib/util.h"
#include "reference.h"

#define AUTHFILE_MAX_SIZE (4 << 20)

static struct {
	DL_FIELD(nettle_base64_encode_raw)
	DL_FIELD(nettle_base64_decode_init)
	DL_FIELD(nettle_base64_decode_update)
	DL_FIELD(nettle_base64_decode_final)
} b64;

static int b64_load(struct diyc_error *err)
{
	static const char *const names[] = { DL_NAME(nettle_base64_encode_raw) DL_NAME(nettle_base64_decode_init)
						     DL_NAME(nettle_base64_decode_update) DL_NAME(nettle_base64_decode_final) };
	return dl_load("libnettle.so.8", "libnettle8", names, (void **)&b64, ARRAY_SIZE(names), err);
}

/* base64 of n bytes, malloc'd; NULL when out of memory. */
static char *b64_encode(const char *s, size_t n)
{
	char *out = malloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);
	if (out) {
		b64.nettle_base64_encode_raw(out, n, (const uint8_t *)s);
		out[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
	}
	return out;
}

/* The bytes s encodes, NUL-terminated, malloc'd. -EINVAL when it is no base64. */
static int b64_decode(const char *s, char **out)
{
	size_t n = strlen(s), len = BASE64_DECODE_LENGTH(n);
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	struct base64_decode_ctx ctx;
	b64.nettle_base64_decode_init(&ctx);
	if (!b64.nettle_base64_decode_update(&ctx, &len, (uint8_t *)buf, n, s) || !b64.nettle_base64_decode_final(&ctx) ||
	    memchr(buf, '\0', len)) {
		explicit_bzero(buf, len);
		free(buf);
		return -EINVAL;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void registry_creds_free(struct registry_creds *c)
{
	free(c->username);
	free_secret(c->password);
	free_secret(c->identity_token);
	memset(c, 0, sizeof(*c));
}

void authfile_key_host(const char *key, char *out, size_t size)
{
	const char *s = key;
	bool url = false;
	if (str_has_prefix(s, "https://") || str_has_prefix(s, "http://")) {
		s = strstr(s, "://") + 3;
		url = true;
	}
	size_t n = url ? strcspn(s, "/") : strlen(s);
	snprintf(out, size, "%.*s", (int)n, s);
	if (!strcmp(out, "index.docker.io") || !strcmp(out, "registry-1.docker.io"))
		snprintf(out, size, "docker.io");
}

/* Appends a copy of s to the list unless it holds it already. */
static int push_unique(char ***v, size_t *n, char *s)
{
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*v)[i], s)) {
			free(s);
			return 0;
		}
	}
	return strv_push(v, n, s);
}

/* $XDG_RUNTIME_DIR/containers/auth.json, or podman's /run/containers/UID/auth.json. */
static char *runtime_auth_path(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (rt && *rt)
		return xasprintf("%s/containers/auth.json", rt);
	return xasprintf("/run/containers/%u/auth.json", (unsigned)getuid());
}

char *authfile_write_path(const char *authfile)
{
	const char *env = getenv("REGISTRY_AUTH_FILE");
	if (authfile && *authfile)
		return strdup(authfile);
	if (env && *env)
		return strdup(env);
	return runtime_auth_path();
}

int authfile_read_paths(const char *authfile, char ***out)
{
	_cleanup_strv_ char **v = NULL;
	size_t n = 0;
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME"), *docker = getenv("DOCKER_CONFIG");
	int r = push_unique(&v, &n, authfile_write_path(authfile));
	if (r == 0 && ((authfile && *authfile) || getenv("REGISTRY_AUTH_FILE")))
		r = push_unique(&v, &n, runtime_auth_path());
	if (r == 0 && xdg && *xdg)
		r = push_unique(&v, &n, xasprintf("%s/containers/auth.json", xdg));
	else if (r == 0 && home && *home)
		r = push_unique(&v, &n, xasprintf("%s/.config/containers/auth.json", home));
	if (r == 0 && docker && *docker)
		r = push_unique(&v, &n, xasprintf("%s/config.json", docker));
	else if (r == 0 && home && *home)
		r = push_unique(&v, &n, xasprintf("%s/.docker/config.json", home));
	if (r < 0)
		return r;
	*out = steal_ptr(v);
	return 0;
}

/* The file's JSON object into *out (a new empty one for an empty file); -ENOENT when the
 * file does not exist. */
static int read_json(const char *path, struct json_object **out, struct diyc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, AUTHFILE_MAX_SIZE, &text, &len);
	if (r == -ENOENT || r == -ENOTDIR)
		return -ENOENT;
	if (r == -EFBIG)
		return diyc_error_plain(err, EFBIG, "%s: larger than %d bytes", path, AUTHFILE_MAX_SIZE);
	if (r < 0)
		return diyc_error(err, -r, "reading %s", path);
	if (strspn(text, " \t\r\n") == len) {
		*out = json_object_new_object();
		return *out ? 0 : diyc_error(err, ENOMEM, "%s", path);
	}
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return diyc_error(err, ENOMEM, "%s", path);
	struct json_object *j = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	bool trailing = j && (size_t)json_tokener_get_parse_end(tok) < len &&
			strspn(text + json_tokener_get_parse_end(tok), " \t\r\n") != len - json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	explicit_bzero(text, len);
	if (!j || e != json_tokener_success || trailing) {
		json_object_put(j);
		return diyc_error_plain(err, EINVAL, "%s is not valid JSON: %s", path,
					trailing ? "text after the object" : json_tokener_error_desc(e));
	}
	if (!json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		return diyc_error_plain(err, EINVAL, "%s is not a JSON object", path);
	}
	*out = j;
	return 0;
}

/* The object under key of j, NULL when missing; an error when it is no object. */
static int get_object(struct json_object *j, const char *key, const char *path, struct json_object **out,
		      struct diyc_error *err)
{
	*out = NULL;
	struct json_object *v;
	if (!json_object_object_get_ex(j, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return diyc_error_plain(err, EINVAL, "%s: `%s` is not an object", path, key);
	*out = v;
	return 0;
}

static const char *get_string(struct json_object *j, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* One "auths" entry into c: 0, -ENOENT when it holds nothing (docker's `{}` beside a
 * credsStore), or an error naming the file and key (never the value). */
static int entry_creds(struct json_object *e, const char *path, const char *key, struct registry_creds *c,
		       struct diyc_error *err)
{
	_cleanup_free_ char *k = str_escape_dup(key);
	if (!json_object_is_type(e, json_type_object))
		return diyc_error_plain(err, EINVAL, "%s: auths.%s is not an object", path, k ? k : "?");
	const char *auth = get_string(e, "auth"), *token = get_string(e, "identitytoken");
	const char *user = get_string(e, "username"), *pass = get_string(e, "password");
	memset(c, 0, sizeof(*c));
	if (auth && *auth) {
		int r = b64_load(err);
		if (r < 0)
			return r;
		char *plain = NULL;
		r = b64_decode(auth, &plain);
		if (r == -ENOMEM)
			return diyc_error(err, ENOMEM, "%s", path);
		char *colon = r == 0 ? strchr(plain, ':') : NULL;
		if (!colon) {
			free_secret(plain);
			return diyc_error_plain(err, EINVAL, "%s: auths.%s.auth is not the base64 of USER:PASSWORD", path,
						k ? k : "?");
		}
		c->username = strndup(plain, colon - plain);
		c->password = strdup(colon + 1);
		free_secret(plain);
	} else if (user && *user && pass) {
		c->username = strdup(user);
		c->password = strdup(pass);
	}
	if (token && *token)
		c->identity_token = strdup(token);
	if (!c->username && !c->password && !c->identity_token)
		return -ENOENT;
	if ((auth && *auth && (!c->username || !c->password)) || (token && *token && !c->identity_token)) {
		registry_creds_free(c);
		return diyc_error(err, ENOMEM, "%s", path);
	}
	return 0;
}

/* The "auths" entry for repo: the longest key, down to the host, whose host-only keys
 * also match docker's URL forms. */
static int auths_lookup(struct json_object *auths, const char *path, const char *repo, struct registry_creds *c,
			struct diyc_error *err)
{
	char key[REF_DOMAIN_MAX + REF_PATH_MAX + 2];
	snprintf(key, sizeof(key), "%s", repo);
	for (;;) {
		struct json_object *e;
		if (json_object_object_get_ex(auths, key, &e)) {
			int r = entry_creds(e, path, key, c, err);
			if (r != -ENOENT)
				return r;
		}
		char *slash = strrchr(key, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	char host[REF_DOMAIN_MAX + 1];
	authfile_key_host(key, host, sizeof(host));
	json_object_object_foreach(auths, k, v) {
		char kh[REF_DOMAIN_MAX + 1];
		if (strchr(k, '/') && !strstr(k, "://"))
			continue; /* a podman key with a path: matched exactly above */
		authfile_key_host(k, kh, sizeof(kh));
		if (strcmp(kh, host))
			continue;
		int r = entry_creds(v, path, k, c, err);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

/* The credHelpers entry for host, or NULL. */
static const char *cred_helper(struct json_object *j, const char *host)
{
	struct json_object *helpers;
	if (!json_object_object_get_ex(j, "credHelpers", &helpers) || !json_object_is_type(helpers, json_type_object))
		return NULL;
	json_object_object_foreach(helpers, k, v) {
		char kh[REF_DOMAIN_MAX + 1];
		authfile_key_host(k, kh, sizeof(kh));
		if (!strcmp(kh, host) && json_object_is_type(v, json_type_string) && *json_object_get_string(v))
			return json_object_get_string(v);
	}
	return NULL;
}

const char *authfile_helper_for(struct json_object *j, const char *host)
{
	const char *h = cred_helper(j, host), *store = get_string(j, "credsStore");
	return h ? h : store && *store ? store : NULL;
}

/* What one file says for repo: its credHelper for the host, else its entry, else its
 * credsStore. */
static int file_lookup(struct json_object *j, const char *path, const char *repo, struct registry_creds *c,
		       struct diyc_error *err)
{
	char first[REF_DOMAIN_MAX + 1], host[REF_DOMAIN_MAX + 1];
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(repo, "/"), repo);
	authfile_key_host(first, host, sizeof(host));
	struct json_object *helpers, *auths;
	int r = get_object(j, "credHelpers", path, &helpers, err);
	if (r == 0)
		r = get_object(j, "auths", path, &auths, err);
	if (r < 0)
		return r;
	const char *helper = cred_helper(j, host), *store = get_string(j, "credsStore");
	if (helper)
		return authfile_helper_get(helper, host, c, err);
	r = auths ? auths_lookup(auths, path, repo, c, err) : -ENOENT;
	if (r == -ENOENT && store && *store)
		r = authfile_helper_get(store, host, c, err);
	return r;
}

int authfile_get(const char *authfile, const char *repo, struct registry_creds *c, struct diyc_error *err)
{
	_cleanup_strv_ char **paths = NULL;
	memset(c, 0, sizeof(*c));
	if (authfile_read_paths(authfile, &paths) < 0)
		return diyc_error(err, ENOMEM, "credentials");
	for (size_t i = 0; paths[i]; i++) {
		struct json_object *j = NULL;
		int r = read_json(paths[i], &j, err);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		r = file_lookup(j, paths[i], repo, c, err);
		json_object_put(j);
		if (r != -ENOENT) {
			if (r == 0)
				diyc_debug("credentials for %s from %s", repo, paths[i]);
			return r;
		}
	}
	return -ENOENT;
}

/* Locks path's directory's .NAME.lock (made with its parents, 0700) and reads path. */
static int open_locked(const char *path, int *lock, struct json_object **j, struct diyc_error *err)
{
	_cleanup_free_ char *dir_copy = strdup(path), *base_copy = strdup(path);
	if (!dir_copy || !base_copy)
		return diyc_error(err, ENOMEM, "%s", path);
	const char *dir = dirname(dir_copy);
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return diyc_error(err, -r, "creating %s", dir);
	_cleanup_free_ char *lockpath = xasprintf("%s/.%s.lock", dir, basename(base_copy));
	if (!lockpath)
		return diyc_error(err, ENOMEM, "%s", path);
	_cleanup_close_ int fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return diyc_error(err, errno, "opening %s", lockpath);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return diyc_error(err, errno, "locking %s", lockpath);
	r = read_json(path, j, err);
	if (r == -ENOENT && !(*j = json_object_new_object()))
		return diyc_error(err, ENOMEM, "%s", path);
	if (r < 0 && r != -ENOENT)
		return r;
	*lock = steal_fd(&fd);
	return r == -ENOENT ? 1 : 0;
}

/* Writes j to path (a symlink's target, as docker does), 0600, atomically. */
static int write_json(const char *path, struct json_object *j, struct diyc_error *err)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	const char *target = real ? real : path;
	_cleanup_free_ char *dir_copy = strdup(target), *base_copy = strdup(target);
	if (!dir_copy || !base_copy)
		return diyc_error(err, ENOMEM, "%s", path);
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
								      JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *data = text ? xasprintf("%s\n", text) : NULL;
	if (!data)
		return diyc_error(err, ENOMEM, "%s", path);
	_cleanup_close_ int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : write_file_atomic(dfd, basename(base_copy), data, strlen(data), 0600);
	explicit_bzero(data, strlen(data));
	if (r < 0)
		return diyc_error(err, -r, "writing %s", target);
	return 0;
}

/* auths of j, made when missing. */
static int auths_of(struct json_object *j, const char *path, struct json_object **auths, struct diyc_error *err)
{
	int r = get_object(j, "auths", path, auths, err);
	if (r < 0 || *auths)
		return r;
	*auths = json_object_new_object();
	if (!*auths || json_object_object_add(j, "auths", *auths) < 0)
		return diyc_error(err, ENOMEM, "%s", path);
	return 0;
}

static int new_entry(const char *key, const struct registry_creds *c, struct json_object **out, struct diyc_error *err)
{
	const char *token = c->identity_token ? c->identity_token : c->password;
	bool is_token = c->username && !strcmp(c->username, "<token>");
	_cleanup_free_ char *k = str_escape_dup(key);
	if (!is_token && (!c->username || !c->password))
		return diyc_error_plain(err, EINVAL, "credentials for %s need a user name and a password", k ? k : "?");
	if (!is_token && strchr(c->username, ':'))
		return diyc_error_plain(err, EINVAL, "a user name with `:` cannot be stored (for %s)", k ? k : "?");
	if (is_token && !token)
		return diyc_error_plain(err, EINVAL, "no identity token to store for %s", k ? k : "?");
	struct json_object *e = json_object_new_object();
	if (!e)
		return diyc_error(err, ENOMEM, "%s", key);
	char *plain = is_token ? NULL : xasprintf("%s:%s", c->username, c->password);
	char *enc = plain ? b64_encode(plain, strlen(plain)) : NULL;
	free_secret(plain);
	struct json_object *v = json_object_new_string(is_token ? token : enc ? enc : "");
	free_secret(enc);
	if (!v || (!is_token && !enc) || json_object_object_add(e, is_token ? "identitytoken" : "auth", v) < 0) {
		json_object_put(v);
		json_object_put(e);
		return diyc_error(err, ENOMEM, "%s", key);
	}
	*out = e;
	return 0;
}

static int check_key(const char *key, struct diyc_error *err)
{
	if (key && *key && !reference_location_problem(key))
		return 0;
	_cleanup_free_ char *k = str_escape_dup(key ? key : "");
	return diyc_error_plain(err, EINVAL, "`%s` is not a registry host[:port][/path] to keep credentials for",
				k ? k : "?");
}

int authfile_set(const char *authfile, const char *key, const struct registry_creds *c, char **written,
		 struct diyc_error *err)
{
	int r = check_key(key, err);
	if (r == 0)
		r = b64_load(err);
	_cleanup_free_ char *path = authfile_write_path(authfile);
	if (r == 0 && !path)
		r = diyc_error(err, ENOMEM, "credentials");
	if (r < 0)
		return r;
	_cleanup_close_ int lock = -1;
	struct json_object *j = NULL, *auths = NULL, *e = NULL;
	r = open_locked(path, &lock, &j, err);
	if (r < 0)
		return r;
	char host[REF_DOMAIN_MAX + 1];
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(key, "/"), key);
	const char *helper = strchr(key, '/') ? NULL : authfile_helper_for(j, host);
	if (helper) {
		r = authfile_helper_store(helper, host, c, err);
	} else {
		r = auths_of(j, path, &auths, err);
		if (r == 0)
			r = new_entry(key, c, &e, err);
		if (r == 0 && json_object_object_add(auths, key, e) < 0) {
			json_object_put(e);
			r = diyc_error(err, ENOMEM, "%s", path);
		}
		if (r == 0)
			r = write_json(path, j, err);
	}
	json_object_put(j);
	if (r == 0 && written)
		*written = steal_ptr(path);
	return r;
}

/* Deletes key's entries from auths (a host: also docker's URL forms of it). The count. */
static size_t delete_key(struct json_object *auths, const char *key)
{
	size_t n = 0;
	bool host_only = !strchr(key, '/');
	char host[REF_DOMAIN_MAX + 1];
	authfile_key_host(key, host, sizeof(host));
	for (bool again = true; again;) {
		again = false;
		json_object_object_foreach(auths, k, v) {
			(void)v;
			char kh[REF_DOMAIN_MAX + 1];
			authfile_key_host(k, kh, sizeof(kh));
			if (strcmp(k, key) && !(host_only && (!strchr(k, '/') || strstr(k, "://")) && !strcmp(kh, host)))
				continue;
			json_object_object_del(auths, k);
			n++;
			again = true; /* the iteration is over the object just changed */
			break;
		}
	}
	return n;
}

int authfile_remove(const char *authfile, const char *key, bool all, struct diyc_error *err)
{
	int r = all ? 0 : check_key(key, err);
	_cleanup_free_ char *path = authfile_write_path(authfile);
	if (r == 0 && !path)
		r = diyc_error(err, ENOMEM, "credentials");
	if (r < 0)
		return r;
	_cleanup_close_ int lock = -1;
	struct json_object *j = NULL, *auths = NULL;
	r = open_locked(path, &lock, &j, err);
	if (r < 0)
		return r;
	bool missing = r == 1;
	r = get_object(j, "auths", path, &auths, err);
	size_t n = 0;
	if (r == 0 && all) {
		n = auths ? json_object_object_length(auths) : 0;
		if (auths)
			json_object_object_del(j, "auths");
	} else if (r == 0) {
		char host[REF_DOMAIN_MAX + 1];
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(key, "/"), key);
		const char *helper = strchr(key, '/') ? NULL : authfile_helper_for(j, host);
		n = auths ? delete_key(auths, key) : 0;
		if (helper) {
			r = authfile_helper_erase(helper, host, err);
			n += r == 0;
			r = r == -ENOENT ? 0 : r;
		}
	}
	if (r == 0 && n && !missing)
		r = write_json(path, j, err);
	json_object_put(j);
	if (r == 0 && !n && !all) {
		_cleanup_free_ char *k = str_escape_dup(key);
		return diyc_error_plain(err, ENOENT, "no credentials for %s in %s", k ? k : "?", path);
	}
	return r;
}
