/* SPDX-License-Identifier: MIT */
/* bridge.c: bridge networking. Root sets up the bridge once (`diyc network setup`):
 * the link, its address, IPv4 forwarding and a NAT rule for its subnet, loaded into
 * nftables as one ruleset (iptables where nft is missing), all tagged with the bridge's
 * name so that teardown removes exactly them. A container then gets a veth pair on it:
 * diyc makes it itself as root, and a normal user's diyc asks the set-uid
 * diyc-nethelper (at the path the caller gives), handing it the container's namespaces
 * as fds 3 and 4. The container's PID 1 configures its end from inside, where it has the
 * right to. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bridge.h"
#include "veth.h"
#include "iface.h"
#include "lib/child.h"
#include "lib/util.h"

#define NETHELPER BRIDGE_NETHELPER
#define OUTPUT_MAX 4096

/* Runs path with argv and no environment; input (if any) on its stdin, fd3/fd4 (if >= 0)
 * as its fds 3 and 4. Collects its stdout and stderr (each cut to OUTPUT_MAX). */
static int spawn_capture(const char *path, char *const argv[], const char *input, int fd3, int fd4, char *out,
			 char *errout, int *status, struct diyc_error *err)
{
	_cleanup_fd_pair_ struct fd_pair opipe = FD_PAIR_INIT, epipe = FD_PAIR_INIT, ipipe = FD_PAIR_INIT;
	/* above 4, so that dup2 to 3 and 4 always makes copies that survive the exec */
	_cleanup_close_ int hi3 = fd3 >= 0 ? fcntl(fd3, F_DUPFD_CLOEXEC, 10) : -1;
	_cleanup_close_ int hi4 = fd4 >= 0 ? fcntl(fd4, F_DUPFD_CLOEXEC, 10) : -1;
	if ((fd3 >= 0 && hi3 < 0) || (fd4 >= 0 && hi4 < 0) || fd_pair_pipe(&opipe, O_CLOEXEC) < 0 ||
	    fd_pair_pipe(&epipe, O_CLOEXEC) < 0 || (input && fd_pair_pipe(&ipipe, O_CLOEXEC) < 0))
		return diyc_error(err, errno, "run %s", path);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (input)
		posix_spawn_file_actions_adddup2(&fa, ipipe.fd[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, opipe.fd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, epipe.fd[1], 2);
	if (hi3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, hi3, 3);
	if (hi4 >= 0)
		posix_spawn_file_actions_adddup2(&fa, hi4, 4);
	char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	pid_t pid;
	int r = strchr(path, '/') ? posix_spawn(&pid, path, &fa, NULL, argv, envp)
				  : posix_spawnp(&pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(steal_fd(&opipe.fd[1]));
	close(steal_fd(&epipe.fd[1]));
	if (input)
		close(steal_fd(&ipipe.fd[0]));
	if (r != 0)
		return diyc_error(err, r, "run %s", path);
	if (input) {
		write_all(ipipe.fd[1], input, strlen(input));
		close(steal_fd(&ipipe.fd[1]));
	}
	size_t n_out = 0, n_err = 0;
	/* the read ends are the loop's from here: it closes each when it ends */
	struct pollfd p[2] = { { steal_fd(&opipe.fd[0]), POLLIN, 0 }, { steal_fd(&epipe.fd[0]), POLLIN, 0 } };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			char *buf = i ? errout : out;
			size_t *n = i ? &n_err : &n_out;
			char sink[512];
			ssize_t got = *n < OUTPUT_MAX - 1 ? read(p[i].fd, buf + *n, OUTPUT_MAX - 1 - *n)
							  : read(p[i].fd, sink, sizeof(sink));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
			} else if (*n < OUTPUT_MAX - 1) {
				*n += got;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	out[n_out] = '\0';
	errout[n_err] = '\0';
	int ws;
	if (reap(pid, &ws) < 0)
		return diyc_error(err, errno, "wait for %s", path);
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

/* The first line of a tool's complaint, without its "NAME: " prefix. */
static const char *first_line(char *s, const char *prefix)
{
	s[strcspn(s, "\n")] = '\0';
	size_t n = strlen(prefix);
	if (n && strncmp(s, prefix, n) == 0)
		s += n;
	return s;
}

static int open_ns(pid_t pid, const char *ns, struct diyc_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return diyc_error(err, errno, "open the %s namespace of the container (%s)", ns, path);
	return fd;
}

/* "VETH ADDRESS/PREFIX GATEWAY MTU" as diyc-nethelper prints it. */
static int parse_grant(const char *line, const char *bridge, struct lease_grant *g)
{
	char veth[32], addr[32], gw[32];
	int prefix;
	unsigned mtu;
	char extra;
	memset(g, 0, sizeof(*g));
	if (sscanf(line, "%31s %31[0-9.]/%d %31s %u %c", veth, addr, &prefix, gw, &mtu, &extra) != 5 ||
	    strlen(veth) >= IFNAMSIZ || prefix < 1 || prefix > 30 || inet_pton(AF_INET, addr, &g->addr) != 1 ||
	    inet_pton(AF_INET, gw, &g->gateway) != 1)
		return -EPROTO;
	snprintf(g->bridge, sizeof(g->bridge), "%s", bridge);
	snprintf(g->veth, sizeof(g->veth), "%s", veth);
	g->prefix = prefix;
	g->mtu = mtu;
	return 0;
}

static int helper_ready(const char *path, const char *label, struct diyc_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return diyc_error_hint(err, diyc_error(err, errno, "%s for a normal user needs %s, installed set-uid "
						       "root next to diyc", label, path),
				       DIYC_HINT_NET_NO_HELPER, path);
	if (st.st_uid != 0 || !(st.st_mode & S_ISUID))
		return diyc_error_hint(err, diyc_error_plain(err, EPERM, "%s is not set-uid root (mode %04o, owner %u)", path,
							     st.st_mode & 07777, st.st_uid),
				       DIYC_HINT_NET_HELPER_NOT_SETUID, path);
	return 0;
}

int bridge_open_ns(pid_t pid, bool userns, int *netns, int *user, struct diyc_error *err)
{
	*netns = *user = -1;
	int n = open_ns(pid, "net", err);
	if (n < 0)
		return n;
	int u = userns ? open_ns(pid, "user", err) : -1;
	if (userns && u < 0) {
		close(n);
		return u;
	}
	*netns = n;
	*user = u;
	return 0;
}

int bridge_attach(int netns, int user, const char *bridge, const char *want_ip, const char *path,
		  const char *label, struct lease_grant *out, struct diyc_error *err)
{
	struct in_addr want;
	memset(out, 0, sizeof(*out));
	if (want_ip && inet_pton(AF_INET, want_ip, &want) != 1)
		return diyc_error_plain(err, EINVAL, "%s: the address `%s` is not an IPv4 address", label,
					want_ip);
	if (geteuid() == 0)
		return lease_acquire(bridge, 0, want_ip ? &want : NULL, 0, netns, out, err);

	if (!path || !*path)
		return diyc_error_plain(err, EINVAL, "the path of " NETHELPER " is not known");
	int r = helper_ready(path, label, err);
	if (r < 0)
		return r;
	char *argv[] = { NETHELPER, "add", (char *)bridge, (char *)want_ip, NULL };
	char outbuf[OUTPUT_MAX], errbuf[OUTPUT_MAX];
	int status;
	r = spawn_capture(path, argv, NULL, netns, user, outbuf, errbuf, &status, err);
	if (r < 0)
		return r;
	if (status != 0)
		return diyc_error_plain(err, status == 1 ? EPERM : EINVAL, "%s: %s", label,
					*errbuf ? first_line(errbuf, NETHELPER ": ") : "diyc-nethelper failed");
	if (parse_grant(outbuf, bridge, out) < 0)
		return diyc_error_plain(err, EPROTO, "%s: diyc-nethelper answered `%.100s`", label,
					first_line(outbuf, ""));
	return 0;
}

void bridge_detach(const struct lease_grant *g, const char *path)
{
	if (!g->veth[0])
		return;
	struct diyc_error err = { 0 };
	if (geteuid() == 0) {
		lease_release(g->bridge, 0, true, g->addr, &err);
		return;
	}
	char addr[INET_ADDRSTRLEN];
	if (!path || !*path)
		return;
	inet_ntop(AF_INET, &g->addr, addr, sizeof(addr));
	char *argv[] = { NETHELPER, "release", (char *)g->bridge, addr, NULL };
	char out[OUTPUT_MAX], errbuf[OUTPUT_MAX];
	int status;
	/* a failure leaves a stale lease, which the next call drops: nothing to tell */
	spawn_capture(path, argv, NULL, -1, -1, out, errbuf, &status, &err);
}

int bridge_configure_peer(const struct lease_grant *g, struct diyc_error *err)
{
	return iface_ipv4_up(BRIDGE_PEER_NAME, g->addr, g->prefix, g->gateway, 0, err);
}

/* -- the bridge and its NAT ------------------------------------------------------------------ */

int subnet_parse(const char *s, struct in_addr *net, int *prefix, struct diyc_error *err)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	uint64_t p;
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return diyc_error_plain(err, EINVAL, "subnet `%s` is not ADDRESS/PREFIX (as 172.16.0.0/16)", s);
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, net) != 1 || parse_u64(slash + 1, 32, &p) < 0)
		return diyc_error_plain(err, EINVAL, "subnet `%s` is not ADDRESS/PREFIX (as 172.16.0.0/16)", s);
	if (p < 8 || p > 30)
		return diyc_error_plain(err, EINVAL, "subnet `%s`: the prefix must be from 8 to 30", s);
	*prefix = (int)p;
	net->s_addr = htonl(ntohl(net->s_addr) & (~0U << (32 - p)));
	return 0;
}

static int forwarding_read(void)
{
	char buf[8] = "";
	_cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return -1;
	return buf[0] == '1';
}

static int forwarding_write(bool on, struct diyc_error *err)
{
	_cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, on ? "1" : "0", 1) != 1)
		return diyc_error(err, errno, "turn IPv4 forwarding %s (/proc/sys/net/ipv4/ip_forward)", on ? "on" : "off");
	return 0;
}

/* The record of what setup did, NET_RUNDIR/BRIDGE.setup: "SUBNET nft|iptables FORWARDING",
 * FORWARDING 1 when setup turned it on. */
struct setup_record {
	char subnet[32];
	char nat[16];
	int forwarding;
};

static int record_path(const char *bridge, char *buf, size_t size)
{
	return snprintf(buf, size, "%s/%s.setup", DIYC_NET_RUNDIR, bridge) >= (int)size ? -ENAMETOOLONG : 0;
}

static int record_read(const char *bridge, struct setup_record *rec)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	if (record_path(bridge, path, sizeof(path)) < 0 || read_file_at(AT_FDCWD, path, 4096, &text, NULL) < 0)
		return -ENOENT;
	memset(rec, 0, sizeof(*rec));
	if (sscanf(text, "%31s %15s %d", rec->subnet, rec->nat, &rec->forwarding) != 3)
		return -EINVAL;
	return 0;
}

static int record_write(const char *bridge, const struct setup_record *rec, struct diyc_error *err)
{
	int r = mkdir_p(DIYC_NET_RUNDIR, 0755);
	if (r < 0)
		return diyc_error(err, -r, "create `%s`", DIYC_NET_RUNDIR);
	_cleanup_close_ int dir = open(DIYC_NET_RUNDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return diyc_error(err, errno, "open `%s`", DIYC_NET_RUNDIR);
	char name[IFNAMSIZ + 8], text[128];
	snprintf(name, sizeof(name), "%s.setup", bridge);
	int n = snprintf(text, sizeof(text), "%s %s %d\n", rec->subnet, rec->nat, rec->forwarding);
	r = write_file_atomic_nosync(dir, name, text, n, 0644);
	if (r < 0)
		return diyc_error(err, -r, "write `%s/%s`", DIYC_NET_RUNDIR, name);
	return 0;
}

/* The nftables table of bridge: its name tags every rule diyc added for it. */
static void nft_table(const char *bridge, char *buf, size_t size)
{
	snprintf(buf, size, "diyc_%s", bridge);
}

static int run_tool(const char *tool, char *const argv[], const char *input, struct diyc_error *err)
{
	char out[OUTPUT_MAX], errbuf[OUTPUT_MAX];
	int status;
	int r = spawn_capture(tool, argv, input, -1, -1, out, errbuf, &status, err);
	if (r < 0)
		return r;
	if (status != 0)
		return diyc_error_plain(err, EIO, "%s failed: %s", tool, *errbuf ? first_line(errbuf, "") : "(no message)");
	return 0;
}

static bool have_tool(const char *name)
{
	_cleanup_free_ char *p = find_in_path(name, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	return p != NULL;
}

/* One nft transaction: the table made (so that flush and delete find it), emptied, then
 * filled; applied whole or not at all. */
static int nat_nft(const char *bridge, const char *subnet, bool add, struct diyc_error *err)
{
	char table[IFNAMSIZ + 8], rules[1024];
	nft_table(bridge, table, sizeof(table));
	if (add)
		snprintf(rules, sizeof(rules),
			 "table ip %s {}\n"
			 "flush table ip %s\n"
			 "table ip %s {\n"
			 "\tchain postrouting {\n"
			 "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
			 "\t\tip saddr %s oifname != \"%s\" masquerade\n"
			 "\t}\n"
			 "}\n",
			 table, table, table, subnet, bridge);
	else
		snprintf(rules, sizeof(rules), "table ip %s {}\ndelete table ip %s\n", table, table);
	char *argv[] = { "nft", "-f", "-", NULL };
	return run_tool("nft", argv, rules, err);
}

static int nat_iptables(const char *bridge, const char *subnet, bool add, struct diyc_error *err)
{
	char tag[IFNAMSIZ + 8];
	nft_table(bridge, tag, sizeof(tag));
	char *check[] = { "iptables", "-w", "-t", "nat", "-C", "POSTROUTING", "-s", (char *)subnet, "!", "-o",
			  (char *)bridge, "-m", "comment", "--comment", tag, "-j", "MASQUERADE", NULL };
	struct diyc_error ignored;
	bool present = run_tool("iptables", check, NULL, &ignored) == 0;
	if (add && present)
		return 0;
	if (!add && !present)
		return 0;
	check[4] = add ? "-A" : "-D";
	return run_tool("iptables", check, NULL, err);
}

static int nat_apply(const char *bridge, const char *subnet, const char *how, bool add, struct diyc_error *err)
{
	if (strcmp(how, "nft") == 0)
		return nat_nft(bridge, subnet, add, err);
	return nat_iptables(bridge, subnet, add, err);
}

int bridge_setup(const char *bridge, struct in_addr net, int prefix, struct diyc_error *err)
{
	if (!bridge_name_valid(bridge))
		return diyc_error_plain(err, EINVAL, "`%s` is not a bridge name", bridge);
	struct in_addr gw = { htonl(ntohl(net.s_addr) + 1) };
	char subnet[32], gws[INET_ADDRSTRLEN];
	subnet_format(net, prefix, subnet);
	inet_ntop(AF_INET, &gw, gws, sizeof(gws));

	struct netlink *nl = NULL;
	int r = netlink_open(&nl, err);
	if (r < 0)
		return r;
	struct bridge_info b;
	r = bridge_query(nl, bridge, &b, err);
	if (r == 0) {
		if (b.addr.s_addr != gw.s_addr || b.prefix != prefix) {
			char have[INET_ADDRSTRLEN] = "no address";
			if (b.prefix)
				inet_ntop(AF_INET, &b.addr, have, sizeof(have));
			r = diyc_error_hint(err, diyc_error_plain(err, EEXIST, "bridge `%s` exists with %s/%d, not %s/%d",
								  bridge, have, b.prefix, gws, prefix),
					    DIYC_HINT_NET_BRIDGE_OTHER_SUBNET, NULL);
		}
	} else if (r == -ENODEV) {
		r = bridge_create(nl, bridge, gw, prefix, err);
	}
	netlink_close(nl);
	if (r < 0)
		return r;

	struct setup_record rec;
	bool had = record_read(bridge, &rec) == 0;
	if (!had) {
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.subnet, sizeof(rec.subnet), "%s", subnet);
		snprintf(rec.nat, sizeof(rec.nat), "%s", have_tool("nft") ? "nft" : "iptables");
	}
	if (forwarding_read() != 1) {
		r = forwarding_write(true, err);
		if (r < 0)
			return r;
		rec.forwarding = 1;
	}
	if (!have_tool(rec.nat))
		return diyc_error_plain(err, ENOENT, "neither nft nor iptables is installed: install the nftables "
					"package for the NAT of bridge `%s`", bridge);
	r = record_write(bridge, &rec, err);
	if (r == 0)
		r = nat_apply(bridge, subnet, rec.nat, true, err);
	return r;
}

int bridge_teardown(const char *bridge, struct diyc_error *err)
{
	if (!bridge_name_valid(bridge))
		return diyc_error_plain(err, EINVAL, "`%s` is not a bridge name", bridge);
	struct setup_record rec;
	bool had = record_read(bridge, &rec) == 0;
	struct netlink *nl = NULL;
	int r = netlink_open(&nl, err);
	if (r < 0)
		return r;
	struct bridge_info b;
	char subnet[32] = "";
	if (bridge_query(nl, bridge, &b, err) == 0) {
		subnet_format(b.addr, b.prefix, subnet);
		r = link_delete(nl, bridge, err);
	}
	netlink_close(nl);
	if (r < 0)
		return r;
	if (had && !*subnet)
		snprintf(subnet, sizeof(subnet), "%s", rec.subnet);
	const char *how = had ? rec.nat : have_tool("nft") ? "nft" : "iptables";
	if (*subnet && have_tool(how)) {
		r = nat_apply(bridge, subnet, how, false, err);
		if (r < 0)
			return r;
	}
	if (had && rec.forwarding) {
		r = forwarding_write(false, err);
		if (r < 0)
			return r;
	}
	char path[PATH_MAX];
	if (record_path(bridge, path, sizeof(path)) == 0)
		unlink(path);
	return lease_forget(bridge, err);
}
