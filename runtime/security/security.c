/* SPDX-License-Identifier: MIT */
/* security.c: a container's security configuration (config.json's "security": what
 * --cap-add, --cap-drop, --privileged, --read-only and --security-opt asked for) turned
 * into what its processes get, by `run`, `start` and `exec` alike. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include "security.h"
#include "lib/util.h"

int security_prepare(const struct security_config *cfg, const char *data_dir, struct container_security *out,
		     struct seccomp_prog *prog, struct diyc_error *err)
{
	*out = (struct container_security){ .no_new_privs = cfg->no_new_privs, .read_only = cfg->read_only,
					    .privileged = cfg->privileged };
	*prog = (struct seccomp_prog){ 0 };
	if (cfg->privileged) {
		out->caps = caps_all();
		return 0;
	}
	int r = caps_compute(cfg->cap_add, cfg->cap_drop, &out->caps, err);
	if (r < 0 || cfg->seccomp == SECCOMP_UNCONFINED)
		return r;
	char cache[PATH_MAX];
	if (snprintf(cache, sizeof(cache), "%s/seccomp", data_dir) >= (int)sizeof(cache))
		return diyc_error(err, ENAMETOOLONG, "%s", data_dir);
	if (mkdir(cache, 0700) < 0 && errno != EEXIST)
		diyc_debug("no seccomp cache in %s: %m", cache);
	r = seccomp_prepare(cfg->seccomp == SECCOMP_PROFILE ? cfg->seccomp_profile : NULL, out->caps, cache, prog,
			    err);
	if (r < 0)
		return r;
	out->seccomp = prog;
	return 0;
}
