/* SPDX-License-Identifier: MIT */
/* caps.c: capabilities. A container's processes keep docker's default set, changed by
 * --cap-add and --cap-drop, in their bounding set (the most any of them can ever get,
 * also through set-uid or file-capability programs), and root's permitted and effective
 * sets; inheritable and ambient are empty. The same applies to `diyc exec`. */
#include <ctype.h>
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
#include "lib/util.h"

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
	bool root = geteuid() == 0;
	for (int c = 0, last = last_cap(); c <= last; c++)
		if (!root || prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			all |= BIT(c);
	return all;
}

/* The number of a capability named NAME or CAP_NAME in any case; -1 if unknown. */
static int lookup(const char *name)
{
	const char *bare = strncasecmp(name, "CAP_", 4) ? name : name + 4;
	char full[64] = "cap_";
	size_t n = strlen(bare);
	if (n == 0 || n + 4 >= sizeof(full))
		return -1;
	/* libcap knows the names in lower case; only letters, digits and _ may reach it */
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)bare[i]) && bare[i] != '_')
			return -1;
		full[4 + i] = (char)tolower((unsigned char)bare[i]);
	}
	cap_value_t v;
	return cap_from_name(full, &v) == 0 && v >= 0 && v <= last_cap() ? (int)v : -1;
}

/* "CAP_CHOWN" for CAP_CHOWN: libcap's name, upper case */
static char *name_of(int c)
{
	char *lower = cap_to_name(c);
	char *upper = lower ? strdup(lower) : NULL;
	cap_free(lower);
	for (char *p = upper; p && *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return upper;
}

int caps_normalize(const char *name, char *out, size_t size, struct diyc_error *err)
{
	if (!strcasecmp(name, "ALL")) {
		snprintf(out, size, "ALL");
		return 0;
	}
	int v = lookup(name);
	if (v < 0)
		return diyc_error_plain(err, EINVAL, "unknown capability `%s` (names as in capabilities(7): "
					"NET_ADMIN or CAP_NET_ADMIN, or ALL)", name);
	_cleanup_free_ char *upper = name_of(v);
	if (!upper)
		return diyc_error(err, ENOMEM, "capability name");
	snprintf(out, size, "%s", upper);
	return 0;
}

int caps_value(const char *name)
{
	return strcasecmp(name, "ALL") ? lookup(name) : -1;
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
		if (!(v[i++] = name_of(c))) {
			strv_free(v);
			return -ENOMEM;
		}
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
