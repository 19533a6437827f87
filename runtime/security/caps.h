/* SPDX-License-Identifier: MIT */
/* caps.h: the capabilities a container's processes hold. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <linux/capability.h>
#include "lib/error.h"

/* A set of capabilities, bit N = capability N. */
typedef uint64_t cap_mask;
#define CAP_BIT(c) ((cap_mask)1 << (c))

/* docker's default set: what a container's root gets unless told otherwise. */
extern const cap_mask caps_default;

/* Every capability this kernel knows (/proc/sys/kernel/cap_last_cap): for root, those its
 * bounding set has (a rootless container's user namespace has a full bounding set). */
cap_mask caps_all(void);
/* Normalizes a name given to --cap-add/--cap-drop ("net_admin", "CAP_NET_ADMIN", "ALL") into
 * out ("CAP_NET_ADMIN" or "ALL"); an error for a name libcap does not know. */
int caps_normalize(const char *name, char *out, size_t size, struct diyc_error *err);
/* The number of a capability by name ("CAP_SYS_ADMIN", any case, CAP_ optional); -1 if unknown. */
int caps_value(const char *name);
/* The set after the adds and drops (normalized names, NULL-terminated lists), as docker
 * does it: ALL in adds starts from every capability, ALL in drops from none. */
int caps_compute(char **add, char **drop, cap_mask *out, struct diyc_error *err);
/* Names of the set, "CAP_CHOWN,CAP_KILL,..." for messages and inspect. */
int caps_names(cap_mask set, char ***out);

/* Shrinks the bounding set to set: needs CAP_SETPCAP, so done before the user changes. */
int caps_bound(cap_mask set, struct diyc_error *err);
/* After the user change: permitted and effective are set for uid 0 and empty for any
 * other uid (as docker: a non-root user gets capabilities only from file capabilities,
 * within the bounding set); inheritable and ambient are always empty, so nothing passes
 * through exec that the executed file does not ask for. */
int caps_apply(cap_mask set, bool root, struct diyc_error *err);
