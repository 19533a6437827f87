/* SPDX-License-Identifier: MIT */
/* slirp.h: user-mode networking for a rootless container: a tap device in the
 * container, libslirp in diyc's supervising process. */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

#define SLIRP_MTU_DEFAULT 65520
/* the container's address on tap0 */
#define SLIRP_GUEST_ADDR "10.0.2.100"
/* libslirp's DNS forwarder: queries to it go to the host's first nameserver */
#define SLIRP_DNS_ADDR "10.0.2.3"

struct slirp_opts {
	unsigned mtu;
	bool allow_host_loopback;
	bool ipv6; /* not configuration: whether this host has IPv6, found at each start */
};

/* The host has an IPv6 address of global scope, so the container gets IPv6 as well. */
bool slirp_host_has_ipv6(void);

/* Container side, in its network namespace, before pivot_root (it needs the host's
 * /dev/net/tun): creates and configures tap0 (10.0.2.100/24, gateway 10.0.2.2; with
 * ipv6 also fd00::100/64, gateway fd00::2) and returns its fd in *fd. */
int slirp_tap_setup(const struct slirp_opts *o, int *fd, struct diyc_error *err);

/* The supervising side: the slirp stack, fed by the tap fd, in a process of its own (a
 * child of the supervisor) whose root is an empty tmpfs. */
struct slirp_net;
/* Forks the slirp process and waits until its stack is up and it has left the host's
 * file system; its error, if any, comes back in err. Takes tapfd (closed on failure too).
 * confine (required) is the process's last step before it reads the container's first
 * frame, after it dropped its capabilities: the caller's confinement (diyc's is the
 * supervisor's seccomp filter with no_new_privs); a failure stops the process. */
int slirp_net_start(const struct slirp_opts *o, int tapfd, int (*confine)(struct diyc_error *err),
		    struct slirp_net **out, struct diyc_error *err);
/* Appends the fd that tells when the slirp process is gone to *fds (growing it), from
 * index n; returns the new count (*timeout_ms is left as it is). */
size_t slirp_net_fill(struct slirp_net *s, struct pollfd **fds, size_t *cap, size_t n, int *timeout_ms);
/* After poll(): fds as filled, n of them from the first one slirp_net_fill added; warns
 * once if the slirp process has ended. */
void slirp_net_done(struct slirp_net *s, const struct pollfd *fds, size_t n, bool poll_failed);
/* Kills the slirp process and waits for it. */
void slirp_net_stop(struct slirp_net *s);
