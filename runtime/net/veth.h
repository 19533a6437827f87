/* SPDX-License-Identifier: MIT */
/* veth.h: links on the host made over netlink (libnl-3 route): the bridge, and the
 * veth pairs that plug containers into it. Shared by diyc and diyc-nethelper. */
#pragma once
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

struct netlink;

/* A bridge as the kernel has it. addr/prefix: its first IPv4 address (prefix 0: none). */
struct bridge_info {
	int ifindex;
	unsigned mtu;
	bool up;
	struct in_addr addr;
	int prefix;
};

/* "NETWORK/PREFIX" of addr/prefix into buf (prefix 0: ""). */
void subnet_format(struct in_addr addr, int prefix, char buf[32]);

int netlink_open(struct netlink **nl, struct diyc_error *err);
void netlink_close(struct netlink *nl);

/* -ENODEV (err set) when there is no link `name`, -EMEDIUMTYPE when it is not a bridge. */
int bridge_query(struct netlink *nl, const char *name, struct bridge_info *out, struct diyc_error *err);
/* A new bridge `name` with addr/prefix, up. */
int bridge_create(struct netlink *nl, const char *name, struct in_addr addr, int prefix, struct diyc_error *err);

/* A veth pair: host_name plugged into the bridge bridge_ifindex and up, its peer
 * peer_name created directly in the network namespace netns_fd (left down). Both get mtu. */
int veth_create(struct netlink *nl, const char *host_name, int bridge_ifindex, unsigned mtu, int netns_fd,
		const char *peer_name, struct diyc_error *err);

/* A link of the host: its index and name. */
struct link_ref {
	int ifindex;
	char name[IFNAMSIZ];
};
/* The links plugged into the bridge of index bridge_ifindex whose names start with
 * prefix, into *out (malloc'ed; NULL when none) and *n. */
int bridge_ports(struct netlink *nl, int bridge_ifindex, const char *prefix, struct link_ref **out, size_t *n,
		 struct diyc_error *err);
/* Deletes link `name` of the caller's network namespace: -ENODEV when there is none. */
int link_delete(struct netlink *nl, const char *name, struct diyc_error *err);
/* Whether the caller's network namespace has a link `name`: 1, 0 (it has none), or a
 * negative errno when that cannot be told (never taken for "none"). */
int link_state(const char *name);
/* The index of link `name`, 0 when there is none, or a negative errno. */
int link_index(const char *name);
/* Deletes the link of index ifindex (a name may be taken again by a new link meanwhile;
 * an index is not): -ENODEV when it is gone. */
int link_delete_index(struct netlink *nl, int ifindex, struct diyc_error *err);
