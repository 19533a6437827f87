/* SPDX-License-Identifier: MIT */
/* bridge.h: bridge networking as diyc does it: the bridge diyc0 and its NAT (`diyc
 * network`), and a container's veth on it: made by diyc itself as root, through the
 * set-uid diyc-nethelper for a normal user (the caller finds the helper: net/ knows only
 * its protocol). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>
#include "lib/error.h"
#include "lease.h"

#define BRIDGE_DEFAULT "diyc0"
#define BRIDGE_DEFAULT_SUBNET "172.16.0.0/16"
/* the helper's file name, installed set-uid root next to diyc */
#define BRIDGE_NETHELPER "diyc-nethelper"

/* -- a container on the bridge ------------------------------------------------------------ */

/* Opens the namespaces of the container whose PID 1 is pid that bridge_attach needs:
 * its network namespace and (userns: it has one of its own) its user namespace, else -1. */
int bridge_open_ns(pid_t pid, bool userns, int *netns, int *user, struct diyc_error *err);
/* Gives the container of those namespaces an address on bridge (want_ip: that one, NULL:
 * any free) and its veth: the peer, BRIDGE_PEER_NAME, is in its network namespace,
 * still down. helper: the path of diyc-nethelper, which a normal user's diyc asks (root
 * does it itself and needs none). label: what the caller calls this network, to begin the
 * messages about what the helper said with. */
int bridge_attach(int netns, int userns, const char *bridge, const char *want_ip, const char *helper,
		  const char *label, struct lease_grant *out, struct diyc_error *err);
/* Gives the address back and deletes the veth (if the namespace has not taken it along),
 * through helper as bridge_attach. */
void bridge_detach(const struct lease_grant *g, const char *helper);
/* Inside the container's network namespace: the address, route and MTU of its end. */
int bridge_configure_peer(const struct lease_grant *g, struct diyc_error *err);

/* -- the bridge itself (root) ---------------------------------------------------------------- */

/* CIDR "A.B.C.D/N" with 8 <= N <= 30, any host bits ignored: the network and prefix. */
int subnet_parse(const char *s, struct in_addr *net, int *prefix, struct diyc_error *err);
/* Creates bridge with the first address of net/prefix, turns on IPv4 forwarding and
 * installs the NAT of the subnet. Done already with the same subnet: changes nothing. */
int bridge_setup(const char *bridge, struct in_addr net, int prefix, struct diyc_error *err);
/* Removes what bridge_setup made: NAT rules, the bridge, its leases, and forwarding if
 * setup turned it on. Nothing there: nothing to do. */
int bridge_teardown(const char *bridge, struct diyc_error *err);
