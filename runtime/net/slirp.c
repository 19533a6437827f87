/* SPDX-License-Identifier: MIT */
/* slirp.c: user-mode networking without any privilege, as slirp4netns does it but
 * inside diyc. The container's PID 1, still holding the host's /dev, creates a tap
 * device in the container's network namespace and hands its fd to the supervising diyc
 * over the sync socket. The supervisor forks the slirp process, which alone runs libslirp
 * (a TCP/IP stack in user space): it reads the container's Ethernet frames from the tap
 * and turns its connections into ordinary sockets of its own, in the host's network
 * namespace, and back.
 *
 * That process parses what the container sends, so it leaves the host's file system
 * before the first frame, as slirp4netns' sandbox does: a mount namespace (and a user
 * namespace, for a normal user) of its own, pivot_root into a read-only tmpfs that holds
 * only etc/resolv.conf (the host's nameservers, what libslirp reads), no capability,
 * then the confinement the caller gives (container/ gives the supervisor's: no_new_privs
 * and its seccomp filter, security/confine.c). Its loop is event-driven (the tap,
 * slirp's sockets and its timers), never busy. libslirp (and glib under it) is loaded
 * with dlopen() only for a container that uses it, by the supervisor just before the fork
 * (the supervisor never calls into it). */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <slirp/libslirp.h>
#include "lib/child.h"
#include "lib/dl.h"
#include "iface.h"
#include "slirp.h"
#include "lib/util.h"

#define TAP_NAME "tap0"
#define TAP_ADDR SLIRP_GUEST_ADDR
#define GATEWAY "10.0.2.2"
#define PREFIX 24
#define NETMASK "255.255.255.0"
#define PREFIX6 "fd00::"
#define TAP_ADDR6 "fd00::100"
#define GATEWAY6 "fd00::2"
#define DNS6 "fd00::3"

bool slirp_host_has_ipv6(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/net/if_inet6", "re");
	if (!f)
		return false;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		char addr[40], dev[32];
		unsigned idx, plen, scope, flags;
		/* address, index, prefix length, scope (0: global), flags, device */
		if (sscanf(line, "%39s %x %x %x %x %31s", addr, &idx, &plen, &scope, &flags, dev) == 6 && scope == 0 &&
		    strcmp(dev, "lo"))
			return true;
	}
	return false;
}

static int write_sysctl(const char *path, const char *value)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		return -errno;
	return 0;
}

/* fd00::100/64 on tap0 and a default route via fd00::2. Addresses are static, as the
 * IPv4 ones: no duplicate detection (nothing else is on this link) and no router
 * advertisements to wait for. */
static int tap_setup_ipv6(struct diyc_error *err)
{
	write_sysctl("/proc/sys/net/ipv6/conf/" TAP_NAME "/accept_dad", "0");
	write_sysctl("/proc/sys/net/ipv6/conf/" TAP_NAME "/accept_ra", "0");
	_cleanup_close_ int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return diyc_error(err, errno, "socket to configure IPv6 on " TAP_NAME);
	int ifindex = (int)if_nametoindex(TAP_NAME);
	/* the kernel's struct in6_ifreq (linux/ipv6.h does not mix with glibc's headers) */
	struct {
		struct in6_addr addr;
		uint32_t prefixlen;
		int ifindex;
	} ifr6 = { .prefixlen = 64, .ifindex = ifindex };
	inet_pton(AF_INET6, TAP_ADDR6, &ifr6.addr);
	if (ioctl(s, SIOCSIFADDR, &ifr6) < 0)
		return diyc_error(err, errno, "set the IPv6 address of " TAP_NAME);
	struct in6_rtmsg rt = { .rtmsg_dst_len = 0, .rtmsg_metric = 1, .rtmsg_flags = RTF_UP | RTF_GATEWAY,
				.rtmsg_ifindex = ifindex };
	inet_pton(AF_INET6, GATEWAY6, &rt.rtmsg_gateway);
	if (ioctl(s, SIOCADDRT, &rt) < 0)
		return diyc_error(err, errno, "add the IPv6 default route via " GATEWAY6);
	return 0;
}

int slirp_tap_setup(const struct slirp_opts *o, int *fd, struct diyc_error *err)
{
	_cleanup_close_ int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tap < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			return diyc_error_hint(err, diyc_error(err, e, "open /dev/net/tun for slirp: it must be usable "
							       "by you (mode 0666, as on standard Debian: `ls -l "
							       "/dev/net/tun`)"),
					       DIYC_HINT_NET_TUN_DENIED, NULL);
		return diyc_error(err, e, "open /dev/net/tun for slirp (is the tun module there?)");
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_NAME);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(tap, TUNSETIFF, &ifr) < 0)
		return diyc_error(err, errno, "create the tap device " TAP_NAME);
	/* persistent: closing the last fd then only detaches it. Otherwise that close would
	 * unregister the device, which waits for RCU grace periods (15 ms here) in the
	 * supervisor, at the end of every container; this way the kernel removes tap0 with
	 * the network namespace, in its own worker (a tap holds no reference to its
	 * namespace, so nothing is left) */
	if (ioctl(tap, TUNSETPERSIST, 1) < 0)
		return diyc_error(err, errno, "make " TAP_NAME " persistent");
	struct in_addr addr, gateway;
	inet_pton(AF_INET, TAP_ADDR, &addr);
	inet_pton(AF_INET, GATEWAY, &gateway);
	int r = iface_ipv4_up(TAP_NAME, addr, PREFIX, gateway, o->mtu, err);
	if (r < 0)
		return r;
	if (o->ipv6 && tap_setup_ipv6(err) < 0)
		return -err->errnum;
	*fd = steal_fd(&tap);
	return 0;
}

/* -- the stack ----------------------------------------------------------------------------- */

#define SLIRP_FUNCS(X) \
	X(slirp_new) X(slirp_cleanup) X(slirp_pollfds_fill) X(slirp_pollfds_poll) X(slirp_input) \
	X(slirp_handle_timer)

static struct {
	SLIRP_FUNCS(DL_FIELD)
} sl;

static int sl_load(struct diyc_error *err)
{
	static const char *const names[] = { SLIRP_FUNCS(DL_NAME) };
	return dl_load("libslirp.so.0", "libslirp0", names, (void **)&sl, ARRAY_SIZE(names), err);
}

struct slirp_timer {
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	struct slirp_timer *next;
};

struct slirp_stack {
	Slirp *slirp;
	int tapfd;
	struct slirp_timer *timers;
	/* during one fill/done round: where slirp's fds start in the caller's array */
	struct pollfd **fds;
	size_t *cap, n, first;
	unsigned mtu;
	uint8_t *frame;
};

static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_stack *s = opaque;
	ssize_t n;
	do
		n = write(s->tapfd, buf, len);
	while (n < 0 && errno == EINTR);
	/* the container is not reading: drop it, TCP sends again */
	if (n < 0 && errno == EAGAIN)
		return (ssize_t)len;
	return n;
}

static void guest_error(const char *msg, void *opaque)
{
	diyc_debug("slirp: %s", msg);
}

static int64_t clock_get_ns(void *opaque)
{
	return monotonic_ns();
}

static void *timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct slirp_stack *s = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct slirp_timer){ .id = id, .cb_opaque = cb_opaque, .expire_ms = -1, .next = s->timers };
	s->timers = t;
	return t;
}

static void timer_free(void *timer, void *opaque)
{
	struct slirp_stack *s = opaque;
	for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next)
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
}

static void timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	((struct slirp_timer *)timer)->expire_ms = expire_time;
}

static void register_poll_fd(int fd, void *opaque)
{
}

static void unregister_poll_fd(int fd, void *opaque)
{
}

static void notify(void *opaque)
{
}

static const SlirpCb callbacks = {
	.send_packet = send_packet, .guest_error = guest_error, .clock_get_ns = clock_get_ns,
	.timer_free = timer_free, .timer_mod = timer_mod, .register_poll_fd = register_poll_fd,
	.unregister_poll_fd = unregister_poll_fd, .notify = notify, .timer_new_opaque = timer_new_opaque,
};

static void stack_stop(struct slirp_stack *s);

static int stack_start(const struct slirp_opts *o, int tapfd, struct slirp_stack **out, struct diyc_error *err)
{
	int r = sl_load(err);
	if (r < 0) {
		close(tapfd);
		return r;
	}
	struct slirp_stack *s = calloc(1, sizeof(*s));
	uint8_t *frame = malloc(o->mtu + 64);
	if (!s || !frame) {
		free(s);
		free(frame);
		close(tapfd);
		return diyc_error(err, ENOMEM, "slirp");
	}
	s->tapfd = tapfd;
	s->mtu = o->mtu;
	s->frame = frame;
	fcntl(tapfd, F_SETFL, fcntl(tapfd, F_GETFL) | O_NONBLOCK);
	SlirpConfig cfg = {
		.version = 4, .in_enabled = true, .if_mtu = o->mtu, .if_mru = o->mtu,
		.disable_host_loopback = !o->allow_host_loopback, .vhostname = "diyc",
		/* addresses are static: no DHCP server to offer to the container */
		.disable_dhcp = true, .in6_enabled = o->ipv6, .vprefix_len = 64,
	};
	inet_pton(AF_INET6, PREFIX6, &cfg.vprefix_addr6);
	inet_pton(AF_INET6, GATEWAY6, &cfg.vhost6);
	inet_pton(AF_INET6, DNS6, &cfg.vnameserver6);
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, NETMASK, &cfg.vnetmask);
	inet_pton(AF_INET, GATEWAY, &cfg.vhost);
	inet_pton(AF_INET, SLIRP_DNS_ADDR, &cfg.vnameserver);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	s->slirp = sl.slirp_new(&cfg, &callbacks, s);
	if (!s->slirp) {
		stack_stop(s);
		return diyc_error_plain(err, EINVAL, "libslirp could not start");
	}
	*out = s;
	diyc_debug("slirp up, mtu %u", o->mtu);
	return 0;
}

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_stack *s = opaque;
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	int i = pollfd_push(s->fds, s->cap, &s->n, fd, ev);
	return i < 0 ? -1 : (int)(i - s->first);
}

static size_t stack_fill(struct slirp_stack *s, struct pollfd **fds, size_t *cap, size_t n, int *timeout_ms)
{
	s->fds = fds;
	s->cap = cap;
	s->n = n;
	/* the tap first, then slirp's sockets; indexes given to slirp count from first */
	add_poll(s->tapfd, SLIRP_POLL_IN, s);
	s->first = s->n;
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	sl.slirp_pollfds_fill(s->slirp, &t, add_poll, s);
	int64_t now = (monotonic_ns() / 1000000);
	for (struct slirp_timer *tm = s->timers; tm; tm = tm->next)
		if (tm->expire_ms >= 0) {
			int64_t left = tm->expire_ms - now;
			if (left < 0)
				left = 0;
			if ((uint64_t)left < t)
				t = (uint32_t)left;
		}
	*timeout_ms = t == UINT32_MAX ? -1 : (int)(t > INT32_MAX ? INT32_MAX : t);
	return s->n;
}

struct revents_ctx {
	const struct pollfd *fds;
	size_t n;
};

static int get_revents(int idx, void *opaque)
{
	const struct revents_ctx *c = opaque;
	if (idx < 0 || (size_t)idx >= c->n)
		return 0;
	short re = c->fds[idx].revents;
	int ev = 0;
	if (re & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (re & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (re & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (re & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (re & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void stack_done(struct slirp_stack *s, const struct pollfd *fds, size_t n, bool poll_failed)
{
	if (n == 0)
		return;
	/* frames from the container */
	if (fds[0].revents & POLLIN) {
		for (int i = 0; i < 64; i++) {
			ssize_t len = read(s->tapfd, s->frame, s->mtu + 64);
			if (len <= 0)
				break;
			sl.slirp_input(s->slirp, s->frame, (int)len);
		}
	}
	struct revents_ctx c = { fds + 1, n - 1 };
	sl.slirp_pollfds_poll(s->slirp, poll_failed, get_revents, &c);
	int64_t now = (monotonic_ns() / 1000000);
	for (struct slirp_timer *tm = s->timers, *next; tm; tm = next) {
		next = tm->next;
		if (tm->expire_ms >= 0 && tm->expire_ms <= now) {
			tm->expire_ms = -1;
			sl.slirp_handle_timer(s->slirp, tm->id, tm->cb_opaque);
		}
	}
}

static void stack_stop(struct slirp_stack *s)
{
	if (!s)
		return;
	if (s->slirp)
		sl.slirp_cleanup(s->slirp);
	while (s->timers)
		timer_free(s->timers, s);
	if (s->tapfd >= 0)
		close(s->tapfd);
	free(s->frame);
	free(s);
}

/* -- the sandboxed process ------------------------------------------------------------------ */

/* The host's nameservers, all libslirp reads of /etc/resolv.conf (the address a query
 * to 10.0.2.3 goes to), taken before the process leaves the host's file system. */
static int read_nameservers(char *out, size_t size)
{
	out[0] = '\0';
	_cleanup_fclose_ FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512];
	size_t n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (!str_has_prefix(line, "nameserver") || !strchr(" \t", line[10]))
			continue;
		size_t len = strlen(line);
		if (len && line[len - 1] != '\n')
			continue; /* cut: not an address */
		if (n + len >= size)
			break;
		memcpy(out + n, line, len + 1);
		n += len;
	}
	return (int)n;
}

static int write_proc_self(const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/%s", file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -errno;
	return 0;
}

/* A mount namespace of its own (in a user namespace of its own for a normal user, where
 * the user's one id maps to itself), then the root becomes a small read-only tmpfs that
 * holds only etc/resolv.conf: no file of the user, no socket, no /proc. */
static int enter_empty_root(const char *nameservers, int (*confine)(struct diyc_error *err),
			    struct diyc_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	if (unshare(uid ? CLONE_NEWUSER | CLONE_NEWNS : CLONE_NEWNS) < 0)
		return diyc_error(err, errno, "slirp sandbox: unshare a mount namespace");
	if (uid) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		int r = write_proc_self("setgroups", "deny");
		if (r == 0 && (r = write_proc_self("uid_map", map)) == 0) {
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
			r = write_proc_self("gid_map", map);
		}
		if (r < 0)
			return diyc_error(err, -r, "slirp sandbox: map the user namespace");
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,nr_inodes=8,mode=0755") < 0)
		return diyc_error(err, errno, "slirp sandbox: mount a tmpfs");
	_cleanup_close_ int root = open("/tmp", O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (root < 0 || mkdirat(root, "etc", 0755) < 0 || mkdirat(root, "old", 0755) < 0)
		return diyc_error(err, errno, "slirp sandbox: make its root");
	int r = write_file_at(root, "etc/resolv.conf", nameservers, strlen(nameservers), 0444);
	if (r < 0)
		return diyc_error(err, -r, "slirp sandbox: write etc/resolv.conf");
	if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", "old") < 0 || chdir("/") < 0 ||
	    umount2("/old", MNT_DETACH) < 0 || rmdir("/old") < 0)
		return diyc_error(err, errno, "slirp sandbox: pivot_root into its empty root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return diyc_error(err, errno, "slirp sandbox: make its root read-only");
	/* no capability (a normal user had all of them in the new namespace), no new ones */
	cap_t none = cap_init();
	r = none && cap_set_proc(none) == 0 ? 0 : -errno;
	cap_free(none);
	if (r < 0)
		return diyc_error(err, -r, "slirp sandbox: drop capabilities");
	return confine(err);
}

struct ready_msg {
	int r;
	struct diyc_error err;
};

/* The process that runs libslirp: sets the stack up while it still sees the host (the
 * library, glib's seed from /dev/urandom, the nameservers), leaves the host's file
 * system, says so on ctl, then serves the container's packets until ctl closes. */
static void __attribute__((noreturn)) slirp_process(const struct slirp_opts *o, int tapfd,
						    int (*confine)(struct diyc_error *err), int ctl, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	int keep[] = { tapfd, ctl };
	close_fds_except(keep, ARRAY_SIZE(keep));
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* stderr only for --verbose: it may be the container's log */
	if (null >= 0 && (dup2(null, 0) < 0 || dup2(null, 1) < 0 || (!diyc_verbose && dup2(null, 2) < 0)))
		_exit(1);
	if (null > 2)
		close(null);
	/* the signals the supervisor forwards stay blocked, as there, and a session of its
	 * own: a ^C on the terminal is for the container, not for its network */
	setsid();
	prctl(PR_SET_NAME, "diyc-slirp");
	struct ready_msg m = { 0 };
	struct slirp_stack *s = NULL;
	char nameservers[4096];
	read_nameservers(nameservers, sizeof(nameservers));
	m.r = stack_start(o, tapfd, &s, &m.err);
	if (m.r == 0)
		m.r = enter_empty_root(nameservers, confine, &m.err);
	if (write(ctl, &m, sizeof(m)) != sizeof(m) || m.r < 0)
		_exit(1);
	size_t cap = 8;
	struct pollfd *fds = malloc(cap * sizeof(*fds));
	if (!fds)
		_exit(1);
	for (;;) {
		int timeout = -1;
		fds[0] = (struct pollfd){ ctl, POLLIN, 0 };
		size_t n = stack_fill(s, &fds, &cap, 1, &timeout);
		int pr = poll(fds, n, timeout);
		if (pr < 0 && errno != EINTR)
			_exit(1);
		if (pr > 0 && fds[0].revents)
			_exit(0); /* the supervisor is done with it */
		stack_done(s, fds + 1, n - 1, pr < 0);
	}
}

struct slirp_net {
	pid_t pid;
	int ctl;
};

int slirp_net_start(const struct slirp_opts *o, int tapfd, int (*confine)(struct diyc_error *err),
		    struct slirp_net **out, struct diyc_error *err)
{
	_cleanup_close_ int tap = tapfd;
	/* never a slirp process without its confinement */
	if (!confine)
		return diyc_error_plain(err, EINVAL, "the slirp process needs a confinement");
	/* loaded here, once: in a forked child the loader's work costs more (copy on write
	 * of what it touches), and a missing library is said before any fork */
	int r = sl_load(err);
	if (r < 0)
		return r;
	/* fd[0] is ours (ctl), fd[1] the slirp process's */
	_cleanup_fd_pair_ struct fd_pair sv = FD_PAIR_INIT;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.fd) < 0)
		return diyc_error(err, errno, "socketpair for the slirp process");
	struct slirp_net *n = calloc(1, sizeof(*n));
	if (!n)
		return diyc_error(err, ENOMEM, "slirp");
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		free(n);
		return diyc_error(err, errno, "fork the slirp process");
	}
	if (pid == 0)
		slirp_process(o, tap, confine, sv.fd[1], parent);
	close(steal_fd(&sv.fd[1]));
	*n = (struct slirp_net){ .pid = pid, .ctl = steal_fd(&sv.fd[0]) };
	struct ready_msg m;
	ssize_t k;
	do
		k = read(n->ctl, &m, sizeof(m));
	while (k < 0 && errno == EINTR);
	if (k != sizeof(m) || m.r < 0) {
		if (k == sizeof(m))
			*err = m.err;
		else
			diyc_error_plain(err, EPIPE, "the slirp process ended while it started");
		slirp_net_stop(n);
		return k == sizeof(m) ? m.r : -EPIPE;
	}
	*out = n;
	diyc_debug("slirp up in process %d, mtu %u", (int)pid, o->mtu);
	return 0;
}

size_t slirp_net_fill(struct slirp_net *s, struct pollfd **fds, size_t *cap, size_t n, int *timeout_ms)
{
	/* the process's end of ctl closes if it dies: the container has lost its network */
	if (s->ctl >= 0)
		pollfd_push(fds, cap, &n, s->ctl, POLLIN);
	return n;
}

void slirp_net_done(struct slirp_net *s, const struct pollfd *fds, size_t n, bool poll_failed)
{
	if (n == 0 || s->ctl < 0 || !fds[0].revents)
		return;
	diyc_warn("the slirp process (pid %d) ended: the container has no network any more", (int)s->pid);
	close(steal_fd(&s->ctl));
}

void slirp_net_stop(struct slirp_net *s)
{
	if (!s)
		return;
	kill_and_reap(s->pid);
	if (s->ctl >= 0)
		close(s->ctl);
	free(s);
}
