/* SPDX-License-Identifier: MIT */
/* paths.c: the store locations, following the XDG base directory rules for a normal user. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "paths.h"
#include "util.h"

static int set_path(char *dst, struct diyc_error *err, const char *fmt, const char *a)
{
	if (snprintf(dst, PATH_MAX, fmt, a) >= PATH_MAX)
		return diyc_error(err, ENAMETOOLONG, "store path below `%s`", a);
	return 0;
}

/* No XDG_RUNTIME_DIR (su, sudo -u, runuser, ssh without systemd-logind). Not a fixed name
 * in /tmp: another user could make it first, and every diyc command of this user would
 * then fail. /run/user/UID when it is this user's own (logind makes it, in a directory
 * only root can write, so nobody else can have made it), only its owner writing there, as
 * podman takes it; otherwise below the data directory, which is in the user's home. */
static int runtime_fallback(struct diyc_paths *p, struct diyc_error *err)
{
	char dir[64];
	struct stat st;
	snprintf(dir, sizeof(dir), "/run/user/%u", p->uid);
	if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == p->uid && !(st.st_mode & 022))
		return set_path(p->run, err, "%s/diyc", dir);
	return set_path(p->run, err, "%s/run", p->data);
}

int paths_init(struct diyc_paths *p, struct diyc_error *err)
{
	memset(p, 0, sizeof(*p));
	p->uid = geteuid();
	p->gid = getegid();
	p->rootless = p->uid != 0;
	if (!p->rootless) {
		strcpy(p->data, "/var/lib/diyc");
		strcpy(p->run, "/run/diyc");
		return 0;
	}
	const char *xdg_data = getenv("XDG_DATA_HOME");
	int r;
	if (xdg_data && xdg_data[0] == '/') {
		r = set_path(p->data, err, "%s/diyc", xdg_data);
	} else {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(p->uid);
			if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
				return diyc_error_plain(err, ENOENT,
					"cannot find a home directory for uid %u: set HOME or XDG_DATA_HOME", p->uid);
			home = pw->pw_dir;
		}
		r = set_path(p->data, err, "%s/.local/share/diyc", home);
	}
	if (r < 0)
		return r;
	const char *xdg_run = getenv("XDG_RUNTIME_DIR");
	if (xdg_run && xdg_run[0] == '/')
		return set_path(p->run, err, "%s/diyc", xdg_run);
	return runtime_fallback(p, err);
}

static int ensure(const char *base, const char *sub, uid_t uid, mode_t mode, struct diyc_error *err)
{
	struct stat st;
	if (mkdir(base, mode) < 0) {
		if (errno == ENOENT) {
			int r = mkdir_p(base, mode);
			if (r < 0)
				return diyc_error(err, -r, "create `%s`", base);
		} else if (errno != EEXIST) {
			return diyc_error(err, errno, "create `%s`", base);
		}
	}
	if (lstat(base, &st) < 0)
		return diyc_error(err, errno, "`%s`", base);
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid)
		return diyc_error_plain(err, EPERM,
			"`%s` is not a directory owned by uid %u: remove it or point XDG_DATA_HOME/XDG_RUNTIME_DIR elsewhere",
			base, uid);
	if ((st.st_mode & 07777) != mode && (st.st_mode & 07777) == 0700)
		chmod(base, mode); /* made 0700 by an older diyc */
	if (!sub || !*sub)
		return 0;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", base, sub) >= (int)sizeof(path))
		return diyc_error(err, ENAMETOOLONG, "`%s/%s`", base, sub);
	int r = mkdir_p(path, 0700);
	if (r < 0)
		return diyc_error(err, -r, "create `%s`", path);
	return 0;
}

int paths_ensure_data(const struct diyc_paths *p, const char *sub, struct diyc_error *err)
{
	return ensure(p->data, sub, p->uid, 0700, err);
}

int paths_ensure_run(const struct diyc_paths *p, const char *sub, struct diyc_error *err)
{
	/* root's /run/diyc also holds net/, the bridge's leases, which users read (`network ls`)
	 * and reach through it: it may be crossed, not listed; its containers/ stays 0700 */
	return ensure(p->run, sub, p->uid, p->uid == 0 ? 0711 : 0700, err);
}
