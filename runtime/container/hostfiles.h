/* SPDX-License-Identifier: MIT */
/* hostfiles.h: the per-container /etc/hostname, /etc/hosts and /etc/resolv.conf. */
#pragma once
#include <stdbool.h>
#include "lib/error.h"

/* Writes hostname, hosts and resolv.conf into DIRFD. own_netns: the container does
 * not share the host's network namespace, so loopback resolvers are unreachable.
 * dns: the one nameserver the container uses instead of the host's (slirp's forwarder),
 * or NULL. */
int hostfiles_write(int dirfd, const char *hostname, bool own_netns, const char *dns, struct diyc_error *err);
/* The host's resolv.conf with its nameserver lines replaced by one for dns (search and
 * options kept). Returns malloc'd text. */
char *resolv_conf_with_nameserver(const char *host_contents, const char *dns);
/* resolv.conf for the container from the host's contents: loopback nameservers
 * dropped when own_netns. Returns malloc'd text. Exposed for unit tests. */
char *resolv_conf_filter(const char *host_contents, bool own_netns);
/* True when the contents point at a local stub resolver (127.0.0.53 of systemd-resolved). */
bool resolv_conf_is_stub(const char *contents);
