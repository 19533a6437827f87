/* SPDX-License-Identifier: MIT */
/* iface.h: interfaces of the container's own network namespace, set up from inside it. */
#pragma once
#include <netinet/in.h>
#include "lib/error.h"

/* Brings up `lo` in the caller's network namespace. */
int loopback_up(struct diyc_error *err);
/* Gives link `name` addr/prefix (and mtu, unless 0), brings it up and routes everything
 * else via gateway. */
int iface_ipv4_up(const char *name, struct in_addr addr, int prefix, struct in_addr gateway, unsigned mtu,
		  struct diyc_error *err);
