/* SPDX-License-Identifier: MIT */
/* ports.h: published ports (-p): host sockets bound before the container starts,
 * TCP relayed by the supervising diyc to sockets opened in the container's network
 * namespace, UDP too, one socket per host peer. */
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/error.h"

enum port_proto { PORT_TCP, PORT_UDP };

struct port_map {
	enum port_proto proto;
	int family;                 /* AF_INET or AF_INET6: of host_ip */
	char host_ip[INET6_ADDRSTRLEN]; /* numeric; 0.0.0.0 when not given */
	uint16_t host_port, container_port;
};

/* [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], HOST_IP IPv4 or [IPv6]. */
int port_map_parse(const char *spec, struct port_map *out, struct diyc_error *err);
/* The canonical -p form, "127.0.0.1:8080:80/tcp", into buf. */
const char *port_map_spec(const struct port_map *m, char *buf, size_t size);
/* "127.0.0.1:8080->80/tcp", as docker ps shows it. Into buf. */
const char *port_map_format(const struct port_map *m, char *buf, size_t size);
/* The host's socket address of m. */
socklen_t port_map_host_addr(const struct port_map *m, struct sockaddr_storage *ss);

/* Binds every host port of maps, in order, into fds (TCP: listening). A port in use, or a privileged port the host does
 * not give to users, is an error that names it; nothing stays bound then. */
int ports_bind(const struct port_map *maps, size_t n, int *fds, struct diyc_error *err);
void ports_close(int *fds, size_t n);

/* The relay of the published ports, run in the supervisor's poll loop. pid is the
 * container's PID 1: a helper process joins its network namespace and makes the sockets
 * that connect to container_ip; 0 when container_ip is reachable from the caller's own
 * namespace (a bridge). Takes the fds of listen_fds (set to -1). */
struct port_relay;
int port_relay_start(const struct port_map *maps, size_t n, int *listen_fds, pid_t pid, bool join_userns,
		     const char *container_ip, struct port_relay **out, struct diyc_error *err);
/* Appends its fds to *fds from index n (growing it), lowers *timeout_ms (-1: none) to
 * the next expiry of a UDP flow; returns the new count. */
size_t port_relay_fill(struct port_relay *pr, struct pollfd **fds, size_t *cap, size_t n, int *timeout_ms);
/* After poll(): the whole array as filled, n entries. */
void port_relay_done(struct port_relay *pr, const struct pollfd *fds, size_t n);
void port_relay_stop(struct port_relay *pr);
