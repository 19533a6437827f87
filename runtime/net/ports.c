/* SPDX-License-Identifier: MIT */
/* ports.c: published ports (-p).
 *
 * The host side of every port is bound by diyc itself before the container starts, so a
 * port in use is an error before anything runs, and the sockets belong to the process
 * that supervises the container: they close when it ends, freeing the port at once.
 *
 * TCP does not go through libslirp (whose host forwarding copies every byte through its
 * own TCP stack and the tap). The supervisor accepts on the host and connects to the
 * container from a socket that lives in the container's network namespace, then moves
 * the bytes between the two with splice() through a pipe each way: the data never
 * enters user space. A socket belongs to the network namespace it was created in, so a
 * small helper process joins the container's user and network namespaces once, drops
 * everything, and only answers "a socket, please" with a fresh socket passed over
 * SCM_RIGHTS. The supervisor itself stays outside the container.
 *
 * UDP is relayed the same way, one socket in the container per host peer (a "flow",
 * forgotten after a minute without traffic). libslirp's own UDP forwarding cannot be used:
 * it shows the container a client on the host's loopback as 10.0.2.2, and with the
 * host's loopback closed to the container (the default) the replies to 10.0.2.2 are
 * dropped. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/capability.h>
#include "ports.h"
#include "lib/child.h"
#include "lib/fdpass.h"
#include "lib/util.h"

#define RELAY_PIPE_SIZE (1 << 20)

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	uint64_t v;
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_u64(buf, 65535, &v) < 0 || v == 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int port_map_parse(const char *spec, struct port_map *out, struct diyc_error *err)
{
	*out = (struct port_map){ .proto = PORT_TCP, .family = AF_INET };
	snprintf(out->host_ip, sizeof(out->host_ip), "0.0.0.0");
	const char *usage = "expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], ports from 1 to 65535";
	char body[128];
	const char *slash = strrchr(spec, '/');
	size_t blen = slash ? (size_t)(slash - spec) : strlen(spec);
	if (blen >= sizeof(body))
		return diyc_error_plain(err, EINVAL, "invalid -p `%s`: %s", spec, usage);
	memcpy(body, spec, blen);
	body[blen] = '\0';
	if (slash) {
		if (!strcmp(slash + 1, "udp"))
			out->proto = PORT_UDP;
		else if (strcmp(slash + 1, "tcp"))
			return diyc_error_plain(err, EINVAL, "invalid -p `%s`: unknown protocol `%s`: use tcp or udp",
						spec, slash + 1);
	}
	/* the container port after the last colon, the host port before it, the address before that */
	char *last = strrchr(body, ':');
	if (!last)
		return diyc_error_plain(err, EINVAL, "invalid -p `%s`: a host port is needed (%s)", spec, usage);
	if (parse_port(last + 1, strlen(last + 1), &out->container_port) < 0)
		return diyc_error_plain(err, EINVAL, "invalid -p `%s`: bad container port `%s` (%s)", spec, last + 1,
					usage);
	*last = '\0';
	char *hport = strrchr(body, ':');
	char *ip = NULL;
	if (hport) {
		*hport++ = '\0';
		ip = body;
	} else {
		hport = body;
	}
	if (strchr(hport, '-'))
		return diyc_error_plain(err, EINVAL, "invalid -p `%s`: port ranges are not supported: give each port "
					"with its own -p", spec);
	if (parse_port(hport, strlen(hport), &out->host_port) < 0)
		return diyc_error_plain(err, EINVAL, "invalid -p `%s`: bad host port `%s` (%s)", spec, hport, usage);
	if (ip && *ip) {
		size_t len = strlen(ip);
		struct in6_addr a6;
		struct in_addr a4;
		if (ip[0] == '[' && ip[len - 1] == ']') {
			ip[len - 1] = '\0';
			ip++;
			if (inet_pton(AF_INET6, ip, &a6) != 1)
				return diyc_error_plain(err, EINVAL, "invalid -p `%s`: bad IPv6 address `%s`", spec, ip);
			out->family = AF_INET6;
			inet_ntop(AF_INET6, &a6, out->host_ip, sizeof(out->host_ip));
		} else if (inet_pton(AF_INET, ip, &a4) == 1) {
			inet_ntop(AF_INET, &a4, out->host_ip, sizeof(out->host_ip));
		} else {
			return diyc_error_plain(err, EINVAL, "invalid -p `%s`: bad host address `%s` (an IPv4 address, "
						"or an IPv6 one in brackets)", spec, ip);
		}
	} else if (ip) {
		return diyc_error_plain(err, EINVAL, "invalid -p `%s`: empty host address", spec);
	}
	return 0;
}

const char *port_map_spec(const struct port_map *m, char *buf, size_t size)
{
	bool v6 = m->family == AF_INET6;
	snprintf(buf, size, "%s%s%s:%u:%u/%s", v6 ? "[" : "", m->host_ip, v6 ? "]" : "", m->host_port,
		 m->container_port, m->proto == PORT_UDP ? "udp" : "tcp");
	return buf;
}

const char *port_map_format(const struct port_map *m, char *buf, size_t size)
{
	bool v6 = m->family == AF_INET6;
	snprintf(buf, size, "%s%s%s:%u->%u/%s", v6 ? "[" : "", m->host_ip, v6 ? "]" : "", m->host_port,
		 m->container_port, m->proto == PORT_UDP ? "udp" : "tcp");
	return buf;
}

socklen_t port_map_host_addr(const struct port_map *m, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (m->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(m->host_port);
		inet_pton(AF_INET6, m->host_ip, &s6->sin6_addr);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(m->host_port);
	inet_pton(AF_INET, m->host_ip, &s4->sin_addr);
	return sizeof(*s4);
}

static unsigned unprivileged_port_start(void)
{
	_cleanup_free_ char *s = NULL;
	uint64_t v;
	if (read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_unprivileged_port_start", 64, &s, NULL) < 0)
		return 1024;
	s[strcspn(s, "\n")] = '\0';
	if (parse_u64(s, 65536, &v) < 0)
		return 1024;
	return (unsigned)v;
}

static int bind_one(const struct port_map *m, int *fd, struct diyc_error *err)
{
	char what[96];
	port_map_format(m, what, sizeof(what));
	int type = m->proto == PORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
	_cleanup_close_ int s = socket(m->family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return diyc_error(err, errno, "publish %s: socket", what);
	int one = 1;
	/* TCP: a port left in TIME_WAIT by the last run is free to use; UDP: no SO_REUSEADDR,
	 * which would share the port with another process's socket */
	if (type == SOCK_STREAM)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (m->family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	struct sockaddr_storage ss;
	socklen_t len = port_map_host_addr(m, &ss);
	if (bind(s, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		if (e == EADDRINUSE)
			return diyc_error_plain(err, e, "publish %s: host port %u/%s is already in use (see `ss -ltnup "
						"'sport = %u'`); choose another port", what, m->host_port,
						m->proto == PORT_UDP ? "udp" : "tcp", m->host_port);
		if (e == EACCES) {
			unsigned start = unprivileged_port_start();
			return diyc_error_plain(err, e, "publish %s: host port %u is privileged: this host lets users bind "
						"ports from %u up (sysctl net.ipv4.ip_unprivileged_port_start); choose "
						"a port of at least %u, or run diyc as root", what, m->host_port, start,
						start);
		}
		if (e == EADDRNOTAVAIL)
			return diyc_error_plain(err, e, "publish %s: %s is not an address of this host", what, m->host_ip);
		return diyc_error(err, e, "publish %s", what);
	}
	if (type == SOCK_STREAM && listen(s, SOMAXCONN) < 0)
		return diyc_error(err, errno, "publish %s: listen", what);
	*fd = steal_fd(&s);
	return 0;
}

int ports_bind(const struct port_map *maps, size_t n, int *fds, struct diyc_error *err)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int r = bind_one(&maps[i], &fds[i], err);
		if (r < 0) {
			ports_close(fds, n);
			return r;
		}
	}
	return 0;
}

void ports_close(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* -- the socket maker in the container's network namespace ---------------------------------- */

static int open_ns(pid_t pid, const char *ns)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Never returns. It holds no fd but its socket; a request is one byte, the answer one
 * byte and, if it is 'y', a new non-blocking socket of the container's namespace: TCP for
 * 't', UDP for 'u'. */
static void __attribute__((noreturn)) socket_maker(int sock, int userns, int netns)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	/* the supervisor's fds (the container's lock among them) are not ours to hold */
	int keep[] = { sock, userns, netns };
	close_fds_except(keep, ARRAY_SIZE(keep));
	if (userns >= 0 && setns(userns, CLONE_NEWUSER) < 0)
		_exit(2);
	if (setns(netns, CLONE_NEWNET) < 0)
		_exit(3);
	/* from here on it needs no capability at all, and no fd but its socket */
	cap_t none = cap_init();
	if (!none || cap_set_proc(none) < 0)
		_exit(4);
	cap_free(none);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0);
	if (dup2(sock, 3) < 0)
		_exit(5);
	syscall(SYS_close_range, 0, 2, 0);
	syscall(SYS_close_range, 4, ~0U, 0);
	prctl(PR_SET_NAME, "diyc-netns");
	for (;;) {
		char req;
		ssize_t n = read(3, &req, 1);
		if (n <= 0)
			_exit(0);
		int type = req == 'u' ? SOCK_DGRAM : SOCK_STREAM;
		int s = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		char ok = s >= 0 ? 'y' : 'n';
		if (s >= 0) {
			int r = send_fd(3, s, &ok, 1);
			close(s);
			if (r < 0)
				_exit(0);
		} else if (write(3, &ok, 1) != 1) {
			_exit(0);
		}
	}
}

static int socket_maker_start(pid_t pid, bool join_userns, pid_t *maker, int *sock, struct diyc_error *err)
{
	_cleanup_close_ int userns = join_userns ? open_ns(pid, "user") : -1;
	_cleanup_close_ int netns = open_ns(pid, "net");
	if (netns < 0 || (join_userns && userns < 0)) {
		/* a process that has exited has no namespaces left to show */
		if (errno == ENOENT)
			return -ENOENT;
		return diyc_error(err, errno, "open the namespaces of the container (pid %d)", pid);
	}
	_cleanup_fd_pair_ struct fd_pair sv = FD_PAIR_INIT;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.fd) < 0)
		return diyc_error(err, errno, "socketpair");
	pid_t p = fork();
	if (p < 0)
		return diyc_error(err, errno, "fork");
	if (p == 0) {
		close(sv.fd[0]);
		socket_maker(sv.fd[1], userns, netns);
	}
	close(steal_fd(&sv.fd[1]));
	*maker = p;
	*sock = steal_fd(&sv.fd[0]);
	return 0;
}

/* -- the relay ------------------------------------------------------------------------------- */

struct half {
	struct fd_pair pipe;
	size_t queued;  /* bytes in the pipe */
	bool eof, shut; /* the reading side ended; the writing side was shut down */
};

struct relay_conn {
	int host, cont;
	bool connecting;
	struct half up, down; /* up: host -> container; down: container -> host */
	int i_host, i_cont;   /* in the last poll array, -1: not there */
	struct relay_conn *next;
};

#define UDP_FLOW_IDLE_MS 60000
#define UDP_FLOWS_MAX 1024

struct udp_flow {
	struct sockaddr_storage peer; /* the host's client */
	socklen_t peer_len;
	int fd;                       /* connected to the container's port */
	int64_t last_ms;
	int index;
	struct udp_flow *next;
};

struct relay_listener {
	int fd;
	enum port_proto proto;
	struct sockaddr_in target;
	int index;
	struct udp_flow *flows;
	size_t n_flows;
};

struct port_relay {
	struct relay_listener *ls;
	size_t n_ls;
	struct relay_conn *conns;
	int maker;
	pid_t maker_pid;
	bool gone; /* the container had ended when the relay started: nothing to connect to */
};

/* An fd with nothing to wait for is left out (poll skips negative fds): otherwise a
 * hang-up it reports, that nothing can act on yet, would spin the loop. */
static int push(struct pollfd **fds, size_t *cap, size_t *n, int fd, short events)
{
	return pollfd_push(fds, cap, n, events ? fd : -1, events);
}

int port_relay_start(const struct port_map *maps, size_t n, int *listen_fds, pid_t pid, bool join_userns,
		     const char *container_ip, struct port_relay **out, struct diyc_error *err)
{
	*out = NULL;
	if (n == 0)
		return 0;
	struct port_relay *pr = calloc(1, sizeof(*pr));
	if (!pr || !(pr->ls = calloc(n, sizeof(*pr->ls)))) {
		free(pr);
		return diyc_error(err, ENOMEM, "publish ports");
	}
	pr->maker = -1;
	/* pid 0: the container's address is reachable from here (a bridge), no maker needed */
	int r = pid ? socket_maker_start(pid, join_userns, &pr->maker_pid, &pr->maker, err) : 0;
	if (r == -ENOENT) {
		/* PID 1 ended already (a short command, before the relay could start): the
		 * supervisor is about to end too; until then a connection is refused */
		diyc_debug("the container ended before its ports were relayed");
		pr->gone = true;
		r = 0;
	}
	if (r < 0) {
		free(pr->ls);
		free(pr);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct relay_listener *l = &pr->ls[pr->n_ls++];
		l->fd = steal_fd(&listen_fds[i]);
		l->proto = maps[i].proto;
		l->target.sin_family = AF_INET;
		l->target.sin_port = htons(maps[i].container_port);
		inet_pton(AF_INET, container_ip, &l->target.sin_addr);
	}
	/* every connection takes six fds: allow as many as the hard limit lets us */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	*out = pr;
	return 0;
}

static void conn_free(struct relay_conn *c, bool reset)
{
	if (reset) {
		/* the peer learns the connection failed, not that it ended */
		struct linger lg = { 1, 0 };
		setsockopt(c->host, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->host);
	if (c->cont >= 0)
		close(c->cont);
	fd_pair_close(&c->up.pipe);
	fd_pair_close(&c->down.pipe);
	free(c);
}

static int new_pipe(struct half *h)
{
	int r = fd_pair_pipe(&h->pipe, O_CLOEXEC | O_NONBLOCK);
	if (r < 0)
		return r;
	/* bigger than the default 64 KiB, fewer trips; the kernel caps it for users */
	fcntl(h->pipe.fd[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
	return 0;
}

/* A socket of the container's namespace, from the maker. */
static int container_socket(struct port_relay *pr, enum port_proto proto)
{
	if (pr->gone)
		return -ENETUNREACH;
	if (pr->maker < 0) {
		int fd = socket(AF_INET, (proto == PORT_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		return fd < 0 ? -errno : fd;
	}
	if (send(pr->maker, proto == PORT_UDP ? "u" : "t", 1, MSG_NOSIGNAL) != 1)
		return -EPIPE;
	int fd = -1;
	char ok;
	int n = recv_fd(pr->maker, &fd, &ok, 1);
	if (n <= 0 || ok != 'y' || fd < 0) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	return fd;
}

static void accept_on(struct port_relay *pr, struct relay_listener *l)
{
	for (int i = 0; i < 16; i++) {
		int h = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (h < 0)
			return;
		struct relay_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(h);
			return;
		}
		c->host = h;
		c->up.pipe = c->down.pipe = (struct fd_pair)FD_PAIR_INIT;
		c->cont = container_socket(pr, PORT_TCP);
		if (c->cont < 0 || new_pipe(&c->up) < 0 || new_pipe(&c->down) < 0) {
			conn_free(c, true);
			continue;
		}
		int one = 1;
		setsockopt(h, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
		setsockopt(c->cont, IPPROTO_TCP, 1, &one, sizeof(one));
		if (connect(c->cont, (struct sockaddr *)&l->target, sizeof(l->target)) < 0 && errno != EINPROGRESS) {
			conn_free(c, true);
			continue;
		}
		c->connecting = true;
		c->next = pr->conns;
		pr->conns = c;
	}
}

/* Moves what it can from one socket to the other; false when the connection broke. */
static bool pump(struct half *h, int from, int to)
{
	for (int round = 0; round < 64; round++) {
		if (h->queued > 0) {
			ssize_t n = splice(h->pipe.fd[0], NULL, to, NULL, h->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR;
			h->queued -= (size_t)n;
			if (h->queued > 0)
				return true; /* the receiver is full: wait until it can take more */
		}
		if (h->eof) {
			if (!h->shut) {
				shutdown(to, SHUT_WR);
				h->shut = true;
			}
			return true;
		}
		ssize_t n = splice(from, NULL, h->pipe.fd[1], NULL, RELAY_PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == 0)
			h->eof = true;
		else if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		else
			h->queued += (size_t)n;
	}
	return true;
}

static short wanted(const struct half *in, const struct half *out)
{
	/* events on one socket: read for the half it feeds, write for the half it drains */
	short ev = 0;
	if (!in->eof && in->queued == 0)
		ev |= POLLIN;
	if (out->queued > 0)
		ev |= POLLOUT;
	return ev;
}

static void flow_free(struct udp_flow *f)
{
	close(f->fd);
	free(f);
}

static struct udp_flow *flow_for(struct port_relay *pr, struct relay_listener *l, const struct sockaddr_storage *peer,
				 socklen_t len, int64_t now)
{
	for (struct udp_flow *f = l->flows; f; f = f->next)
		if (f->peer_len == len && !memcmp(&f->peer, peer, len))
			return f;
	if (l->n_flows >= UDP_FLOWS_MAX)
		return NULL;
	int fd = container_socket(pr, PORT_UDP);
	if (fd < 0)
		return NULL;
	struct udp_flow *f = calloc(1, sizeof(*f));
	if (!f || connect(fd, (struct sockaddr *)&l->target, sizeof(l->target)) < 0) {
		close(fd);
		free(f);
		return NULL;
	}
	memcpy(&f->peer, peer, len);
	f->peer_len = len;
	f->fd = fd;
	f->last_ms = now;
	f->index = -1;
	f->next = l->flows;
	l->flows = f;
	l->n_flows++;
	return f;
}

static char datagram[65536];

/* Datagrams from host clients to the container. */
static void udp_in(struct port_relay *pr, struct relay_listener *l, int64_t now)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		ssize_t n = recvfrom(l->fd, datagram, sizeof(datagram), 0, (struct sockaddr *)&peer, &len);
		if (n < 0)
			return;
		struct udp_flow *f = flow_for(pr, l, &peer, len, now);
		if (!f)
			continue; /* dropped, as UDP may be */
		f->last_ms = now;
		/* a refused earlier datagram shows up here as ECONNREFUSED: nothing to do */
		ssize_t w = send(f->fd, datagram, (size_t)n, 0);
		(void)w;
	}
}

/* Replies of the container, and flows gone idle. */
static void udp_out(struct relay_listener *l, const struct pollfd *fds, size_t n, int64_t now)
{
	for (struct udp_flow **pf = &l->flows, *f; (f = *pf);) {
		if (f->index >= 0 && (size_t)f->index < n && (fds[f->index].revents & POLLIN)) {
			for (int i = 0; i < 64; i++) {
				ssize_t got = recv(f->fd, datagram, sizeof(datagram), 0);
				if (got < 0)
					break;
				ssize_t w = sendto(l->fd, datagram, (size_t)got, 0, (struct sockaddr *)&f->peer, f->peer_len);
				(void)w;
				f->last_ms = now;
			}
		}
		if (now - f->last_ms >= UDP_FLOW_IDLE_MS) {
			*pf = f->next;
			l->n_flows--;
			flow_free(f);
			continue;
		}
		pf = &f->next;
	}
}

size_t port_relay_fill(struct port_relay *pr, struct pollfd **fds, size_t *cap, size_t n, int *timeout_ms)
{
	if (!pr)
		return n;
	int64_t now = monotonic_ns() / 1000000;
	for (size_t i = 0; i < pr->n_ls; i++) {
		struct relay_listener *l = &pr->ls[i];
		l->index = push(fds, cap, &n, l->fd, POLLIN);
		for (struct udp_flow *f = l->flows; f; f = f->next) {
			f->index = push(fds, cap, &n, f->fd, POLLIN);
			int64_t left = f->last_ms + UDP_FLOW_IDLE_MS - now;
			if (left < 0)
				left = 0;
			if (*timeout_ms < 0 || left < *timeout_ms)
				*timeout_ms = (int)left;
		}
	}
	for (struct relay_conn *c = pr->conns; c; c = c->next) {
		if (c->connecting) {
			c->i_host = -1;
			c->i_cont = push(fds, cap, &n, c->cont, POLLOUT);
			continue;
		}
		c->i_host = push(fds, cap, &n, c->host, wanted(&c->up, &c->down));
		c->i_cont = push(fds, cap, &n, c->cont, wanted(&c->down, &c->up));
	}
	return n;
}

static short revents_at(const struct pollfd *fds, size_t n, int i)
{
	return i >= 0 && (size_t)i < n ? fds[i].revents : 0;
}

void port_relay_done(struct port_relay *pr, const struct pollfd *fds, size_t n)
{
	if (!pr)
		return;
	/* fds is the whole array; our indexes count from its start */
	for (struct relay_conn **pc = &pr->conns, *c; (c = *pc);) {
		short rh = revents_at(fds, n, c->i_host), rc = revents_at(fds, n, c->i_cont);
		bool ok = true, reset = false;
		if (c->connecting && rc) {
			int e = 0;
			socklen_t len = sizeof(e);
			getsockopt(c->cont, SOL_SOCKET, SO_ERROR, &e, &len);
			if (e) {
				ok = false;
				reset = true;
			} else {
				c->connecting = false;
			}
		} else if (!c->connecting && (rh || rc)) {
			ok = pump(&c->up, c->host, c->cont) && pump(&c->down, c->cont, c->host);
			reset = !ok;
			if (ok && c->up.shut && c->down.shut)
				ok = false;
		}
		if (!ok) {
			*pc = c->next;
			conn_free(c, reset);
			continue;
		}
		pc = &c->next;
	}
	int64_t now = monotonic_ns() / 1000000;
	for (size_t i = 0; i < pr->n_ls; i++) {
		struct relay_listener *l = &pr->ls[i];
		if (l->proto == PORT_UDP) {
			udp_out(l, fds, n, now);
			if (revents_at(fds, n, l->index) & POLLIN)
				udp_in(pr, l, now);
		} else if (revents_at(fds, n, l->index) & POLLIN) {
			accept_on(pr, l);
		}
	}
}

void port_relay_stop(struct port_relay *pr)
{
	if (!pr)
		return;
	while (pr->conns) {
		struct relay_conn *c = pr->conns;
		pr->conns = c->next;
		conn_free(c, false);
	}
	for (size_t i = 0; i < pr->n_ls; i++) {
		while (pr->ls[i].flows) {
			struct udp_flow *f = pr->ls[i].flows;
			pr->ls[i].flows = f->next;
			flow_free(f);
		}
		close(pr->ls[i].fd);
	}
	if (pr->maker >= 0)
		close(pr->maker);
	kill_and_reap(pr->maker_pid);
	free(pr->ls);
	free(pr);
}
