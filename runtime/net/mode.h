/* SPDX-License-Identifier: MIT */
/* mode.h: a container's kind of network, and its name as --net and config.json spell it
 * (none, host, slirp, bridge). */
#pragma once

enum net_mode { NET_NONE, NET_HOST, NET_SLIRP, NET_BRIDGE };

/* The names, indexed by mode, NULL-terminated: the one table of them. */
extern const char *const net_mode_names[];
/* "none", "host", "slirp" or "bridge" ("none" for a value out of range). */
const char *net_mode_name(enum net_mode m);
/* The mode named s exactly (no options): 0, or -EINVAL for another name. */
int net_mode_parse(const char *s, enum net_mode *out);
