/* SPDX-License-Identifier: MIT */
/* process.c: an OCI process's identity and confinement: rlimits, oom_score_adj, the
 * user with its additional groups, the five capability sets, no_new_privs, seccomp and
 * the exec. Capabilities are kept across the uid change (PR_SET_KEEPCAPS) and then set
 * to exactly what the spec lists, as runc does, so a non-root process gets the sets it
 * was given and no more. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/capability.h>
#include "process.h"
#include "security/caps.h"
#include "lib/util.h"

int capset(cap_user_header_t header, const cap_user_data_t data);

int oci_process_limits(const struct oci_process *p, struct diyc_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct oci_rlimit *l = &p->rlimits[i];
		struct rlimit rl = { l->soft, l->hard };
		if (setrlimit(l->resource, &rl) < 0)
			return diyc_error(err, errno, "set rlimit %d to %llu/%llu", l->resource,
					  (unsigned long long)l->soft, (unsigned long long)l->hard);
	}
	if (p->has_oom_score_adj) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, buf, n) != n)
			return diyc_error(err, errno, "set oom_score_adj to %d", p->oom_score_adj);
	}
	return 0;
}

static const char *env_path(char **env)
{
	for (char **e = env; e && *e; e++)
		if (str_has_prefix(*e, "PATH="))
			return *e + 5;
	return NULL;
}

static bool executable(const char *path, bool *exists)
{
	struct stat st;
	if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
		return false;
	*exists = true;
	return access(path, X_OK) == 0 || faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

int oci_process_find(const struct oci_process *p, char *out, size_t size, struct diyc_error *err)
{
	const char *cmd = p->args[0];
	bool exists = false;
	if (strchr(cmd, '/')) {
		snprintf(out, size, "%s", cmd);
		if (executable(cmd, &exists))
			return 0;
		err->status = exists ? 126 : 127;
		return exists ? diyc_error_plain(err, EACCES, "exec: \"%s\": permission denied", cmd)
			      : diyc_error_plain(err, ENOENT, "exec: \"%s\": stat %s: no such file or directory", cmd, cmd);
	}
	const char *path = env_path(p->env);
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *dir = path;;) {
		const char *end = strchrnul(dir, ':');
		int len = (int)(end - dir);
		snprintf(out, size, "%.*s%s%s", len, dir, len ? "/" : "", cmd);
		if (executable(out, &exists))
			return 0;
		if (!*end)
			break;
		dir = end + 1;
	}
	err->status = exists ? 126 : 127;
	return exists ? diyc_error_plain(err, EACCES, "exec: \"%s\": permission denied", cmd)
		      : diyc_error_plain(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
}

static int set_caps(const struct oci_process *p, struct diyc_error *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)p->effective, (uint32_t)p->permitted, (uint32_t)p->inheritable },
		{ (uint32_t)(p->effective >> 32), (uint32_t)(p->permitted >> 32), (uint32_t)(p->inheritable >> 32) },
	};
	if (capset(&h, d) < 0)
		return diyc_error(err, errno, "set the capabilities of the process");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return diyc_error(err, errno, "clear the ambient capabilities");
	for (int c = 0; c < 64; c++)
		if ((p->ambient & CAP_BIT(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return diyc_error(err, errno, "raise ambient capability %d (it must be permitted and inheritable)", c);
	return 0;
}

/* A capability the process asks for that we do not have ourselves cannot be given: say
 * which, rather than the EPERM of capset. */
static int caps_available(const struct oci_process *p, struct diyc_error *err)
{
	cap_mask ours = caps_all();
	cap_mask missing = (p->bounding | p->effective | p->permitted | p->inheritable | p->ambient) & ~ours;
	for (int c = 0; c < 64; c++)
		if (missing & CAP_BIT(c)) {
			_cleanup_strv_ char **names = NULL;
			caps_names(CAP_BIT(c), &names);
			return diyc_error_plain(err, EPERM, "process.capabilities: %s is not in the bounding set diyc-oci "
						"runs with, so the container cannot get it", names && names[0] ? names[0] : "?");
		}
	return 0;
}

int oci_process_become(const struct oci_process *p, bool set_groups, struct diyc_error *err)
{
	if (caps_available(p, err) < 0)
		return -err->errnum;
	/* as root first: a directory only the container's root may enter is fine; then again
	 * as the user below, for one that root cannot enter (root-squashed network mounts) */
	bool in_cwd = chdir(p->cwd) == 0;
	int cwd_errno = errno;
	if (caps_bound(p->bounding, err) < 0)
		return -err->errnum;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return diyc_error(err, errno, "keep capabilities");
	if (set_groups && setgroups(p->n_additional_gids, p->additional_gids) < 0)
		return diyc_error(err, errno, "set the additional groups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return diyc_error(err, errno, "set gid %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return diyc_error(err, errno, "set uid %u", (unsigned)p->uid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (set_caps(p, err) < 0)
		return -err->errnum;
	if (!in_cwd && chdir(p->cwd) < 0)
		return diyc_error(err, cwd_errno ? cwd_errno : errno, "chdir to %s (process.cwd)", p->cwd);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return diyc_error(err, errno, "set no_new_privs");
	if (p->has_umask)
		umask(p->umask);
	return 0;
}

static bool apparmor_enabled(void)
{
	char c = 0;
	_cleanup_close_ int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

int oci_process_apparmor(const struct oci_process *p, struct diyc_error *err)
{
	if (!p->apparmor_profile || !p->apparmor_profile[0])
		return 0;
	if (!apparmor_enabled()) {
		diyc_debug("process.apparmorProfile %s: AppArmor is not enabled here", p->apparmor_profile);
		return 0;
	}
	/* the profile the exec changes to; the newer interface first, as runc writes it */
	int fd = open("/proc/self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/proc/self/attr/exec", O_WRONLY | O_CLOEXEC);
	_cleanup_free_ char *cmd = xasprintf("exec %s", p->apparmor_profile);
	int r = fd >= 0 && cmd ? write_all(fd, cmd, strlen(cmd)) : -errno;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return diyc_error(err, -r, "apply the AppArmor profile %s (process.apparmorProfile; is it loaded?)",
				  p->apparmor_profile);
	return 0;
}

int oci_process_seccomp(const struct oci_process *p, const struct seccomp_prog *prog, struct diyc_error *err)
{
	if (!prog || !prog->len)
		return 0;
	return seccomp_install(prog, err);
}

int oci_process_exec(const struct oci_process *p, const char *path, struct diyc_error *err)
{
	execve(path, p->args, p->env);
	int e = errno;
	err->status = e == ENOENT ? 127 : 126;
	return diyc_error(err, e, "exec %s", path);
}
