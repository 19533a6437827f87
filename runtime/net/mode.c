/* SPDX-License-Identifier: MIT */
/* mode.c: the names of the network modes (net/mode.h). */
#include <errno.h>
#include <string.h>
#include "mode.h"

const char *const net_mode_names[] = {
	[NET_NONE] = "none",
	[NET_HOST] = "host",
	[NET_SLIRP] = "slirp",
	[NET_BRIDGE] = "bridge",
	NULL,
};
#define N_MODES (sizeof(net_mode_names) / sizeof(net_mode_names[0]) - 1)

const char *net_mode_name(enum net_mode m)
{
	if ((unsigned)m >= N_MODES)
		return net_mode_names[NET_NONE];
	return net_mode_names[m];
}

int net_mode_parse(const char *s, enum net_mode *out)
{
	for (size_t i = 0; i < N_MODES; i++)
		if (!strcmp(s, net_mode_names[i])) {
			*out = (enum net_mode)i;
			return 0;
		}
	return -EINVAL;
}
