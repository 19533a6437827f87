/* SPDX-License-Identifier: MIT */
/* net-slirp.h: user-mode networking for a rootless container: a tap device in the
 * container, libslirp in diyc's supervising process. */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define SLIRP_MTU_DEFAULT 65520

struct slirp_opts {
	unsigned mtu;
	bool allow_host_loopback;
};

/* Container side, in its network namespace, before pivot_root (it needs the host's
 * /dev/net/tun): creates and configures tap0 (10.0.2.100/24, gateway 10.0.2.2) and
 * returns its fd in *fd. */
int slirp_tap_setup(const struct slirp_opts *o, int *fd, struct diyc_error *err);

/* The supervising side: the slirp stack, fed by the tap fd, polled with the rest of the
 * supervisor's fds. */
struct slirp_net;
/* Takes tapfd (closed on failure too). */
int slirp_net_start(const struct slirp_opts *o, int tapfd, struct slirp_net **out, struct diyc_error *err);
/* Appends the stack's fds to *fds (growing it), from index n; returns the new count and
 * lowers *timeout_ms to the next timer. */
size_t slirp_net_fill(struct slirp_net *s, struct pollfd **fds, size_t *cap, size_t n, int *timeout_ms);
/* After poll(): fds as filled, n of them from the stack's first one. */
void slirp_net_done(struct slirp_net *s, const struct pollfd *fds, size_t n, bool poll_failed);
void slirp_net_stop(struct slirp_net *s);
