/* SPDX-License-Identifier: MIT */
/* process.c: who the container command runs as and with what environment. Names in
 * -u are looked up in the image's own /etc/passwd and /etc/group, read after
 * pivot_root, never the host's. */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "rootfs/inroot.h"
#include "process.h"
#include "lib/util.h"

#define ID_MAX 4294967294ULL /* (uid_t)-1 is "no id" */

/* Finds the line of a passwd/group file whose field 0 (by name) or field 2 (by id) matches.
 * Copies up to 8 fields into f (pointing into buf). */
static int find_entry(const char *contents, const char *name, long long id, char *buf, size_t bufsz,
		      char **f, int nf)
{
	if (!contents)
		return 0;
	for (const char *line = contents; *line;) {
		const char *eol = strchrnul(line, '\n');
		size_t len = eol - line;
		if (len < bufsz && line[0] != '#') {
			memcpy(buf, line, len);
			buf[len] = '\0';
			int k = 0;
			char *p = buf;
			while (k < nf) {
				f[k++] = p;
				p = strchr(p, ':');
				if (!p)
					break;
				*p++ = '\0';
			}
			for (int i = k; i < nf; i++)
				f[i] = "";
			uint64_t v;
			if (k >= 3 && ((name && !strcmp(f[0], name)) ||
				       (!name && parse_u64(f[2], ID_MAX, &v) == 0 && (long long)v == id)))
				return 1;
		}
		line = *eol ? eol + 1 : eol;
	}
	return 0;
}

static bool is_member(const char *members, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = members; *p;) {
		const char *end = strchrnul(p, ',');
		if ((size_t)(end - p) == n && !strncmp(p, name, n))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* The groups of the image's /etc/group that list username as a member, after u->gid. */
static void add_supplementary_groups(const char *group, const char *username, struct process_user *u)
{
	char line[1024];
	uint64_t v;
	for (const char *l = group; *l && u->ngroups < (int)ARRAY_SIZE(u->groups);) {
		const char *eol = strchrnul(l, '\n');
		size_t len = eol - l;
		if (len < sizeof(line)) {
			memcpy(line, l, len);
			line[len] = '\0';
			char *g[4] = { 0 };
			int k = 0;
			for (char *p = line; p && k < 4; k++) {
				g[k] = p;
				p = strchr(p, ':');
				if (p)
					*p++ = '\0';
			}
			if (k == 4 && is_member(g[3], username) && parse_u64(g[2], ID_MAX, &v) == 0 && v != u->gid)
				u->groups[u->ngroups++] = v;
		}
		l = *eol ? eol + 1 : eol;
	}
}

int user_resolve(const char *spec, const char *passwd, const char *group, struct process_user *u,
		 struct diyc_error *err)
{
	char ubuf[256], gbuf[256] = "";
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (ulen == 0 || ulen >= sizeof(ubuf) || (colon && (!colon[1] || strlen(colon + 1) >= sizeof(gbuf))))
		return diyc_error_plain(err, EINVAL, "invalid user `%s`: expected UID[:GID] or NAME[:GROUP]", spec);
	memcpy(ubuf, spec, ulen);
	ubuf[ulen] = '\0';
	if (colon)
		snprintf(gbuf, sizeof(gbuf), "%s", colon + 1);

	memset(u, 0, sizeof(*u));
	char line[1024], *f[7];
	uint64_t v;
	bool found;
	char username[256] = "";
	if (parse_u64(ubuf, ID_MAX, &v) == 0) {
		u->uid = v;
		found = find_entry(passwd, NULL, v, line, sizeof(line), f, 7);
	} else if (ubuf[0] >= '0' && ubuf[0] <= '9') {
		return diyc_error_plain(err, EINVAL, "invalid user `%s`: uid out of range", spec);
	} else {
		found = find_entry(passwd, ubuf, 0, line, sizeof(line), f, 7);
		if (!found)
			return diyc_error_plain(err, ENOENT,
				"unable to find user `%s`: no matching entry in the image's /etc/passwd", ubuf);
		if (parse_u64(f[2], ID_MAX, &v) < 0)
			return diyc_error_plain(err, EINVAL, "bad uid for `%s` in the image's /etc/passwd", ubuf);
		u->uid = v;
	}
	u->gid = 0;
	snprintf(u->home, sizeof(u->home), "%s", u->uid == 0 ? "/root" : "/");
	if (found) {
		snprintf(username, sizeof(username), "%s", f[0]);
		if (parse_u64(f[3], ID_MAX, &v) == 0)
			u->gid = v;
		if (f[5][0] == '/')
			snprintf(u->home, sizeof(u->home), "%s", f[5]);
	}
	if (gbuf[0]) {
		if (parse_u64(gbuf, ID_MAX, &v) == 0) {
			u->gid = v;
		} else if (gbuf[0] >= '0' && gbuf[0] <= '9') {
			return diyc_error_plain(err, EINVAL, "invalid group in `%s`: gid out of range", spec);
		} else {
			if (!find_entry(group, gbuf, 0, line, sizeof(line), f, 4) || parse_u64(f[2], ID_MAX, &v) < 0)
				return diyc_error_plain(err, ENOENT,
					"unable to find group `%s`: no matching entry in the image's /etc/group", gbuf);
			u->gid = v;
		}
	}
	u->groups[u->ngroups++] = u->gid;
	if (username[0] && group)
		add_supplementary_groups(group, username, u);
	return 0;
}

const char *env_get(char **env, const char *key)
{
	size_t n = strlen(key);
	for (char **e = env; e && *e; e++)
		if (!strncmp(*e, key, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static int env_set(char **env, int *n, char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (int i = 0; i < *n; i++)
		if (!strncmp(env[i], kv, klen) && env[i][klen] == '=') {
			env[i] = kv;
			return 0;
		}
	env[(*n)++] = kv;
	return 0;
}

char **env_build(char **given, const char *hostname, const char *home, bool tty)
{
	size_t ng = 0;
	while (given && given[ng])
		ng++;
	char **env = calloc(ng + 5, sizeof(char *));
	if (!env)
		return NULL;
	int n = 0;
	env[n++] = "PATH=" DEFAULT_PATH;
	env[n++] = xasprintf("HOSTNAME=%s", hostname);
	env[n++] = xasprintf("HOME=%s", home);
	if (tty)
		env[n++] = "TERM=xterm";
	for (size_t i = 0; i < ng; i++)
		env_set(env, &n, given[i]);
	env[n] = NULL;
	for (int i = 0; i < n; i++)
		if (!env[i])
			return NULL;
	return env;
}

int workdir_open(const char *dir, struct diyc_error *err)
{
	const char *path = dir ? dir : "/";
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return diyc_error(err, errno, "open /");
	int fd = mount_target_in_root(root, path, false);
	if (fd < 0)
		return diyc_error(err, -fd, "working directory `%s`", path);
	return fd;
}

int process_become(const struct process_user *u, bool set_groups, struct diyc_error *err)
{
	if (set_groups && setgroups(u->ngroups, u->groups) < 0)
		return diyc_error(err, errno, "set supplementary groups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return diyc_error(err, errno, "set gid %u", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return diyc_error(err, errno, "set uid %u", u->uid);
	return 0;
}
