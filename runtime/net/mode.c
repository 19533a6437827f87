/* SPDX-License-Identifier: MIT */
/* mode.c: the names of the network modes (net/mode.h). */
#include <errno.h>
#include <string.h>
#include "mode.h"

static const char *const names[] = {
	[NET_NONE] = "none",
	[NET_HOST] = "host",
	[NET_SLIRP] = "slirp",
	[NET_BRIDGE] = "bridge",
};

const char *net_mode_name(enum net_mode m)
{
	if ((unsigned)m >= sizeof(names) / sizeof(names[0]))
		return names[NET_NONE];
	return names[m];
}

int net_mode_parse(const char *s, enum net_mode *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum net_mode)i;
			return 0;
		}
	return -EINVAL;
}
