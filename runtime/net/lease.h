/* SPDX-License-Identifier: MIT */
/* lease.h: the addresses of a bridge's subnet that containers hold, and the veth
 * pair that carries each. Shared by diyc (as root) and diyc-nethelper (for a user).
 *
 * The leases of bridge B are lines "ADDRESS VETH UID" in NET_RUNDIR/B.leases, changed
 * only under an exclusive flock of NET_RUNDIR/B.lock and replaced atomically (temp file
 * and rename). A lease whose veth is gone is stale: the kernel removed the veth with the
 * container's network namespace, after a crash too, and the next change drops it.
 * Every veth of ours has its lease: the lease is written before the veth is created and
 * goes only once the veth is deleted, so a process killed at any instant leaves at worst
 * a stale lease. A port of the bridge whose name starts with LEASE_VETH_PREFIX and that
 * no lease holds is nobody's (one an older diyc left), and the next change deletes it. */
#pragma once
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "lib/error.h"

#ifndef DIYC_NET_RUNDIR
#define DIYC_NET_RUNDIR "/run/diyc/net"
#endif
/* The container's end of its veth. */
#define BRIDGE_PEER_NAME "eth0"
#define LEASES_MAX 65536

struct lease {
	struct in_addr addr;
	char veth[IFNAMSIZ];
	uid_t uid;
};

/* What a container got: its address on the bridge's subnet, and the veth that carries it. */
struct lease_grant {
	char bridge[IFNAMSIZ];
	char veth[IFNAMSIZ];
	struct in_addr addr, gateway;
	int prefix;
	unsigned mtu;
};

/* The host ends of our veths are named this and the address in 8 hex digits. */
#define LEASE_VETH_PREFIX "vdiyc"

/* [A-Za-z0-9_-][A-Za-z0-9_.-]*, shorter than IFNAMSIZ. */
bool bridge_name_valid(const char *name);
/* The host end's name of the veth that carries addr: "vdiyc" and its 8 hex digits. */
void lease_veth_name(struct in_addr addr, char name[IFNAMSIZ]);

/* Leases an address of bridge's subnet to uid (want: that one, NULL: the lowest free)
 * and creates its veth pair, the peer BRIDGE_PEER_NAME in the network namespace
 * netns_fd. quota: the most leases uid may hold on the bridge, 0 for no limit. */
int lease_acquire(const char *bridge, uid_t uid, const struct in_addr *want, unsigned quota, int netns_fd,
		  struct lease_grant *out, struct diyc_error *err);
/* Whether a port of the bridge named port is one of ours (LEASE_VETH_PREFIX) that none
 * of the n leases v holds. */
bool lease_port_orphan(const struct lease *v, size_t n, const char *port);
/* Deletes the veth of uid's lease of addr on bridge, waiting for the kernel (some 20 ms),
 * then gives the lease back; any_owner: whoever holds it (root). -ENOENT when there is
 * no such lease, -EPERM when it is another's; on any error the lease stays. */
int lease_release(const char *bridge, uid_t uid, bool any_owner, struct in_addr addr, struct diyc_error *err);
/* The live leases of bridge (stale ones left out), read under a shared lock. *out is
 * malloc'ed; none is 0 leases, also when the bridge never had any. */
int lease_list(const char *bridge, struct lease **out, size_t *n, struct diyc_error *err);
/* Removes bridge's lease files (its teardown). */
int lease_forget(const char *bridge, struct diyc_error *err);

/* Parses the text of a leases file (for tests). -EINVAL with the line in err. */
int leases_parse(const char *text, struct lease **out, size_t *n, struct diyc_error *err);
