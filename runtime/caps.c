/* SPDX-License-Identifier: MIT */
/* caps.c: capabilities. A container's processes keep docker's default set, changed by
 * --cap-add and --cap-drop, in their bounding set (the most any of them can ever get,
 * also through set-uid or file-capability programs), and root's permitted and effective
 * sets; inheritable and ambient are empty. The same applies to `diyc exec`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "caps.h"
#include "util.h"

#define BIT(c) ((cap_mask)1 << (c))

const cap_mask caps_default = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
			      BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
			      BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
			      BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

static int last_cap(void)
{
	static int last = -1;
	if (last >= 0)
		return last;
	_cleanup_free_ char *s = NULL;
	uint64_t v;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 32, &s, NULL) == 0 &&
	    parse_u64(strtok(s, "\n"), 63, &v) == 0)
		last = (int)v;
	else
		last = CAP_LAST_CAP;
	return last;
}

cap_mask caps_all(void)
{
	/* what this kernel knows. A rootless container's user namespace starts with a full
	 * bounding set of its own; root's container keeps diyc's, so for root it is what
	 * diyc's bounding set still has (one that lacks a capability cannot give it) */
	cap_mask all = 0;
	for (int c = 0; c <= last_cap(); c++)
		if (geteuid() != 0 || prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			all |= BIT(c);
	return all;
}

int caps_normalize(const char *name, char *out, size_t size, struct diyc_error *err)
{
	if (!strcasecmp(name, "ALL")) {
		snprintf(out, size, "ALL");
		return 0;
	}
	const char *bare = strncasecmp(name, "CAP_", 4) ? name : name + 4;
	char full[64];
	cap_value_t v;
	/* libcap knows the names in lower case; only letters, digits and _ may reach it */
	size_t n = strlen(bare);
	bool ok = n > 0 && n + 4 < sizeof(full);
	for (size_t i = 0; ok && i < n; i++)
		ok = (bare[i] >= 'a' && bare[i] <= 'z') || (bare[i] >= 'A' && bare[i] <= 'Z') ||
		     (bare[i] >= '0' && bare[i] <= '9') || bare[i] == '_';
	if (ok) {
		snprintf(full, sizeof(full), "cap_%s", bare);
		for (char *p = full; *p; p++)
			*p = (*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p;
		ok = cap_from_name(full, &v) == 0 && v >= 0 && v <= last_cap();
	}
	if (!ok)
		return diyc_error_plain(err, EINVAL, "unknown capability `%s` (names as in capabilities(7): "
					"NET_ADMIN or CAP_NET_ADMIN, or ALL)", name);
	char *upper = cap_to_name(v);
	if (!upper)
		return diyc_error(err, ENOMEM, "capability name");
	snprintf(out, size, "%s", upper);
	cap_free(upper);
	for (char *p = out; *p; p++)
		*p = (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p;
	return 0;
}

int caps_value(const char *name)
{
	char norm[64];
	struct diyc_error ignore;
	cap_value_t v;
	if (caps_normalize(name, norm, sizeof(norm), &ignore) < 0 || !strcmp(norm, "ALL"))
		return -1;
	for (char *p = norm; *p; p++)
		*p = (*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p;
	return cap_from_name(norm, &v) == 0 ? (int)v : -1;
}

static int mask_of(char **names, bool *all, cap_mask *set, struct diyc_error *err)
{
	*all = false;
	*set = 0;
	for (char **n = names; n && *n; n++) {
		char norm[64];
		int r = caps_normalize(*n, norm, sizeof(norm), err);
		if (r < 0)
			return r;
		if (!strcmp(norm, "ALL")) {
			*all = true;
			continue;
		}
		int v = caps_value(norm);
		if (v < 0)
			return diyc_error_plain(err, EINVAL, "unknown capability `%s`", *n);
		*set |= BIT(v);
	}
	return 0;
}

int caps_compute(char **add, char **drop, cap_mask *out, struct diyc_error *err)
{
	bool add_all, drop_all;
	cap_mask a, d;
	int r = mask_of(add, &add_all, &a, err);
	if (r == 0)
		r = mask_of(drop, &drop_all, &d, err);
	if (r < 0)
		return r;
	/* only what diyc has itself to give */
	if (add_all)
		*out = caps_all() & ~d;
	else if (drop_all)
		*out = a & caps_all();
	else
		*out = ((caps_default | a) & ~d) & caps_all();
	return 0;
}

int caps_names(cap_mask set, char ***out)
{
	int n = 0;
	for (int c = 0; c < 64; c++)
		n += !!(set & BIT(c));
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	int i = 0;
	for (int c = 0; c < 64 && i < n; c++) {
		if (!(set & BIT(c)))
			continue;
		char *name = cap_to_name(c);
		if (!name || !(v[i] = strdup(name))) {
			cap_free(name);
			strv_free(v);
			return -ENOMEM;
		}
		cap_free(name);
		for (char *p = v[i]; *p; p++)
			*p = (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p;
		i++;
	}
	*out = v;
	return 0;
}

int caps_bound(cap_mask set, struct diyc_error *err)
{
	int last = last_cap();
	for (int c = 0; c <= last; c++) {
		if (set & BIT(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return diyc_error(err, errno, "drop capability %d from the bounding set", c);
	}
	return 0;
}

int caps_apply(cap_mask set, bool root, struct diyc_error *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	if (root) {
		d[0].permitted = d[0].effective = (uint32_t)set;
		d[1].permitted = d[1].effective = (uint32_t)(set >> 32);
	}
	if (capset(&h, d) < 0)
		return diyc_error(err, errno, "set the capabilities of the container's process");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return diyc_error(err, errno, "clear the ambient capabilities");
	return 0;
}
