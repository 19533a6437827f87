/* SPDX-License-Identifier: MIT */
/* diyc-nethelper: plugs a container of the calling user into a bridge. It is installed
 * set-uid root next to diyc, which runs it for `diyc run --net=bridge` by a normal user.
 *
 *   diyc-nethelper add BRIDGE [ADDRESS]     fd 3: the container's network namespace,
 *                                            fd 4: the user namespace that owns it
 *       prints "VETH ADDRESS/PREFIX GATEWAY MTU" on one line
 *   diyc-nethelper release BRIDGE ADDRESS
 *
 * Threat model. The caller is any local user and controls all it hands over: argv, the
 * environment, every fd (open, closed, or anything in place of 0-4), the namespaces
 * behind fds 3 and 4, resource limits and signals (it may kill the helper at any step).
 * What root's power may do for it, and nothing more:
 *   - add: create one veth pair on a bridge that /etc/diyc/nethelper.conf lets this
 *     real uid use, within its count of leases there; the host end goes into that
 *     bridge, the other end is created directly in a network namespace that belongs to
 *     the caller (owned by a user namespace whose owner is the caller's real uid: not
 *     the host's, not root's, not another user's), with an address of the bridge's
 *     subnet that nobody holds. The helper never enters the caller's namespaces.
 *   - release: give back a lease of the caller's own and delete its veth, on a bridge
 *     the config lets the caller use; it creates nothing.
 * How: fds 0-2 are made valid before any file is opened; the environment is cleared
 * before libnl is loaded (dlopen: its constructors read NLDBG, NLCB, NLSYSCONFDIR);
 * all its uids become 0 once the caller's are read (so the caller cannot signal it, say
 * SIGSTOP it while it holds the lease lock) and only CAP_NET_ADMIN is kept; the umask
 * is its own;
 * the grammar is fixed and every argument is checked before use; the config must be
 * root's and unwritable by others, as must every directory above it, and any fault in
 * it refuses everything; every refused namespace gets one identical message, so the
 * helper tells nothing about namespaces that are not the caller's. The lease database
 * (runtime/net-lease.c) writes a lease before creating its veth, so a killed helper
 * leaves at worst a stale lease, which the next call drops. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include "net-lease.h"

#ifndef DIYC_NETHELPER_CONF
#define DIYC_NETHELPER_CONF "/etc/diyc/nethelper.conf"
#endif
#define CONF_SIZE_MAX (64 * 1024)
#define CONF_LINE_MAX 1024
#define CONF_COUNT_MAX 100000
#define ARG_MAX_LEN 64
#define NETNS_FD 3
#define USERNS_FD 4

enum helper_exit { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct request {
	enum { REQ_ADD, REQ_RELEASE } op;
	const char *bridge;
	bool have_addr;
	struct in_addr addr;
};

/* -- parsers (also run by the fuzzer: tests/fuzz) ------------------------------------------- */

/* A strict dotted quad: inet_pton's, no leading zeros beyond a lone 0. */
static bool parse_ipv4(const char *s, struct in_addr *out)
{
	if (strlen(s) > 15 || inet_pton(AF_INET, s, out) != 1)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '0' && (p == s || p[-1] == '.') && p[1] >= '0' && p[1] <= '9')
			return false;
	return true;
}

static int args_parse(int argc, char **argv, struct request *req, struct diyc_error *err)
{
	memset(req, 0, sizeof(*req));
	for (int i = 1; i < argc; i++)
		if (strnlen(argv[i], ARG_MAX_LEN + 1) > ARG_MAX_LEN)
			return diyc_error_plain(err, E2BIG, "argument %d is too long", i);
	if (argc < 3 || argc > 4)
		return diyc_error_plain(err, EINVAL, "usage: diyc-nethelper add BRIDGE [ADDRESS] | "
					"release BRIDGE ADDRESS");
	if (strcmp(argv[1], "add") == 0)
		req->op = REQ_ADD;
	else if (strcmp(argv[1], "release") == 0 && argc == 4)
		req->op = REQ_RELEASE;
	else
		return diyc_error_plain(err, EINVAL, "usage: diyc-nethelper add BRIDGE [ADDRESS] | "
					"release BRIDGE ADDRESS");
	if (!bridge_name_valid(argv[2]))
		return diyc_error_plain(err, EINVAL, "`%s` is not a bridge name", argv[2]);
	req->bridge = argv[2];
	if (argc == 4) {
		if (!parse_ipv4(argv[3], &req->addr))
			return diyc_error_plain(err, EINVAL, "`%s` is not an IPv4 address", argv[3]);
		req->have_addr = true;
	}
	return 0;
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]*, up to 32, with an optional final $ (as useradd allows). */
static bool account_name_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 32 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-' || (c == '$' && i == len - 1)))
			return false;
	}
	return true;
}

/* Whether the caller belongs to group `name`. */
typedef bool (*in_group_fn)(const char *name, void *arg);

/* The count of leases nethelper.conf gives user on bridge: the largest of the lines
 * "USER bridge BRIDGE count N" and "@GROUP bridge BRIDGE count N" that match (0: none).
 * Any line that is not one of those, a comment or blank makes the whole file bad. */
static int conf_allowance(const char *text, size_t len, const char *user, in_group_fn in_group, void *arg,
			  const char *bridge, unsigned *count, struct diyc_error *err)
{
	*count = 0;
	unsigned best = 0;
	if (len > CONF_SIZE_MAX)
		return diyc_error_plain(err, EFBIG, "is larger than %d bytes", CONF_SIZE_MAX);
	if (memchr(text, '\0', len))
		return diyc_error_plain(err, EINVAL, "holds a NUL byte");
	size_t lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - start) : len - pos;
		pos += llen + (nl ? 1 : 0);
		lineno++;
		if (llen >= CONF_LINE_MAX)
			return diyc_error_plain(err, EINVAL, "line %zu is too long", lineno);
		char line[CONF_LINE_MAX];
		memcpy(line, start, llen);
		line[llen] = '\0';
		char *tok[6];
		int n = 0;
		char *save = NULL;
		for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (n == 0 && t[0] == '#')
				break;
			if (n == 6)
				return diyc_error_plain(err, EINVAL, "line %zu has too many words", lineno);
			tok[n++] = t;
		}
		if (n == 0)
			continue;
		if (n != 5 || strcmp(tok[1], "bridge") != 0 || strcmp(tok[3], "count") != 0)
			return diyc_error_plain(err, EINVAL, "line %zu is not `USER|@GROUP bridge BRIDGE count N`",
						lineno);
		bool group = tok[0][0] == '@';
		const char *who = tok[0] + group;
		if (!account_name_valid(who))
			return diyc_error_plain(err, EINVAL, "line %zu: `%s` is not a user or group name", lineno,
						tok[0]);
		if (!bridge_name_valid(tok[2]))
			return diyc_error_plain(err, EINVAL, "line %zu: `%s` is not a bridge name", lineno, tok[2]);
		const char *c = tok[4];
		unsigned long v = 0;
		if (!*c || strlen(c) > 6 || (c[0] == '0' && c[1]))
			return diyc_error_plain(err, EINVAL, "line %zu: count `%s` is not a number from 0 to %d",
						lineno, c, CONF_COUNT_MAX);
		for (; *c; c++) {
			if (*c < '0' || *c > '9')
				return diyc_error_plain(err, EINVAL,
							"line %zu: count `%s` is not a number from 0 to %d", lineno,
							tok[4], CONF_COUNT_MAX);
			v = v * 10 + (*c - '0');
		}
		if (v > CONF_COUNT_MAX)
			return diyc_error_plain(err, EINVAL, "line %zu: count `%s` is not a number from 0 to %d",
						lineno, tok[4], CONF_COUNT_MAX);
		if (strcmp(tok[2], bridge) != 0)
			continue;
		bool match = group ? in_group(who, arg) : strcmp(who, user) == 0;
		if (match && v > best)
			best = v;
	}
	/* only a whole file that is good allows anything */
	*count = best;
	return 0;
}

#ifndef NETHELPER_FUZZ

/* -- the caller and its namespaces -------------------------------------------------------- */

static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* control characters of the caller's own arguments are not echoed raw */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	dprintf(2, "diyc-nethelper: %s\n", msg);
	_exit(status);
}

/* fds 0-2 open (to /dev/null if not), so that no file opened later takes their place
 * and receives what is printed. */
static void sanitize_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n != fd)
			_exit(EXIT_REFUSED); /* cannot say why: there is nowhere to */
	}
}

static void keep_only_net_admin(void)
{
	cap_t caps = cap_init();
	cap_value_t keep[] = { CAP_NET_ADMIN };
	if (!caps || cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET) < 0 || cap_set_proc(caps) < 0)
		die(EXIT_REFUSED, "cannot drop capabilities: %s", strerror(errno));
	cap_free(caps);
}

static const char ns_refused[] =
	"fd 3 and fd 4 must be a network namespace and the user namespace that owns it, created by you";

static bool same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool is_ns(int fd, int type)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == NSFS_MAGIC && ioctl(fd, NS_GET_NSTYPE) == type;
}

/* The checks of the threat model on fds 3 and 4. */
static void check_namespaces(uid_t ruid)
{
	if (!is_ns(NETNS_FD, CLONE_NEWNET) || !is_ns(USERNS_FD, CLONE_NEWUSER))
		die(EXIT_REFUSED, "%s", ns_refused);
	int owner = ioctl(NETNS_FD, NS_GET_USERNS);
	if (owner < 0)
		die(EXIT_REFUSED, "%s", ns_refused);
	bool owned = same_file(owner, USERNS_FD);
	close(owner);
	uid_t uid;
	if (!owned || ioctl(USERNS_FD, NS_GET_OWNER_UID, &uid) < 0 || uid != ruid)
		die(EXIT_REFUSED, "%s", ns_refused);
	/* never the namespace the helper runs in (the host's, normally) */
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die(EXIT_REFUSED, "%s", ns_refused);
	bool own = same_file(self, NETNS_FD);
	close(self);
	if (own)
		die(EXIT_REFUSED, "%s", ns_refused);
}

/* nethelper.conf, if it and every directory above it are root's and closed to others. */
static char *read_conf(size_t *len)
{
	const char *path = DIYC_NETHELPER_CONF;
	int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *p = path + 1;
	while (dir >= 0) {
		struct stat st;
		if (fstat(dir, &st) < 0 || st.st_uid != 0 || ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)))
			die(EXIT_REFUSED, "%s is not safe: a directory above it is not root's or is writable "
			    "by others; refusing everything", path);
		const char *slash = strchr(p, '/');
		char part[NAME_MAX + 1];
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > NAME_MAX)
			die(EXIT_REFUSED, "%s: bad path", path);
		memcpy(part, p, n);
		part[n] = '\0';
		int next = openat(dir, part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (slash ? O_DIRECTORY : 0));
		int e = errno;
		close(dir);
		if (next < 0) {
			if (e == ENOENT)
				die(EXIT_REFUSED, "%s does not exist: root lets users use a bridge with lines "
				    "`USER bridge BRIDGE count N` there", path);
			die(EXIT_REFUSED, "cannot open %s: %s", path, strerror(e));
		}
		if (!slash) {
			if (fstat(next, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
				die(EXIT_REFUSED, "%s must be a file owned by root and writable by no one else; "
				    "refusing everything", path);
			if (st.st_size > CONF_SIZE_MAX)
				die(EXIT_REFUSED, "%s is larger than %d bytes; refusing everything", path,
				    CONF_SIZE_MAX);
			char *text = malloc(st.st_size + 1);
			if (!text)
				die(EXIT_REFUSED, "out of memory");
			size_t got = 0;
			while (got < (size_t)st.st_size) {
				ssize_t r = read(next, text + got, st.st_size - got);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break;
				got += r;
			}
			close(next);
			text[got] = '\0';
			*len = got;
			return text;
		}
		dir = next;
		p = slash + 1;
	}
	die(EXIT_REFUSED, "cannot open /: %s", strerror(errno));
}

struct caller {
	gid_t gids[NGROUPS_MAX + 1];
	int ngids;
};

static bool caller_in_group(const char *name, void *arg)
{
	const struct caller *c = arg;
	struct group *g = getgrnam(name);
	if (!g)
		return false;
	for (int i = 0; i < c->ngids; i++)
		if (c->gids[i] == g->gr_gid)
			return true;
	return false;
}

/* The count nethelper.conf gives the caller on bridge (root: no limit, 0). Refuses, with
 * a message, a caller it gives nothing. */
static unsigned allowance_of(uid_t ruid, gid_t rgid, const char *bridge)
{
	if (ruid == 0)
		return 0;
	struct passwd *pw = getpwuid(ruid);
	if (!pw)
		die(EXIT_REFUSED, "uid %u has no name in the user database", (unsigned)ruid);
	char user[64];
	snprintf(user, sizeof(user), "%s", pw->pw_name);
	struct caller c;
	c.ngids = getgroups(NGROUPS_MAX, c.gids);
	if (c.ngids < 0)
		c.ngids = 0;
	c.gids[c.ngids++] = rgid;
	size_t len;
	char *text = read_conf(&len);
	struct diyc_error err = { 0 };
	unsigned quota;
	int r = conf_allowance(text, len, user, caller_in_group, &c, bridge, &quota, &err);
	free(text);
	if (r < 0)
		die(EXIT_REFUSED, "%s %s; refusing everything", DIYC_NETHELPER_CONF, err.msg);
	if (quota == 0)
		die(EXIT_REFUSED, "%s does not let %s use bridge `%s` (root adds a line `%s bridge %s count N`)",
		    DIYC_NETHELPER_CONF, user, bridge, user, bridge);
	return quota;
}

/* Only fds 0-2 (and 3, 4 for add) of the caller stay open. */
static void close_others(int from)
{
	if (syscall(SYS_close_range, from, ~0U, 0) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < 65536 ? (int)rl.rlim_max : 65536;
	for (int fd = from; fd < max; fd++)
		close(fd);
}

int main(int argc, char **argv)
{
	sanitize_stdio();
	clearenv();
	/* the files it makes get the modes it asks for, whatever the caller's umask */
	umask(022);
	/* a write past a limit the caller set fails with EFBIG instead of killing us midway;
	 * and no stopping from the caller's terminal while the lease lock is held */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	prctl(PR_SET_DUMPABLE, 0);
	uid_t ruid = getuid();
	gid_t rgid = getgid();
	struct diyc_error err = { 0 };
	struct request req;
	if (args_parse(argc, argv, &req, &err) < 0)
		die(EXIT_USAGE, "%s", err.msg);
	if (geteuid() != 0)
		die(EXIT_REFUSED, "is not running as root: it must be installed set-uid root "
		    "(chown root diyc-nethelper && chmod 4755 diyc-nethelper)");
	/* root in all its ids: the caller can no longer signal it (SIGSTOP while it holds the
	 * lease lock); who the caller is was read above */
	if (setresuid(0, 0, 0) < 0)
		die(EXIT_REFUSED, "setresuid: %s", strerror(errno));
	close_others(req.op == REQ_ADD ? USERNS_FD + 1 : 3);
	keep_only_net_admin();

	unsigned quota = allowance_of(ruid, rgid, req.bridge);
	if (req.op == REQ_RELEASE) {
		if (lease_release(req.bridge, ruid, ruid == 0, req.addr, &err) < 0)
			die(EXIT_REFUSED, "%s", err.msg);
		return EXIT_OK;
	}
	check_namespaces(ruid);
	struct lease_grant g;
	if (lease_acquire(req.bridge, ruid, req.have_addr ? &req.addr : NULL, quota, NETNS_FD, &g, &err) < 0)
		die(EXIT_REFUSED, "%s", err.msg);
	char a[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &g.addr, a, sizeof(a));
	inet_ntop(AF_INET, &g.gateway, gw, sizeof(gw));
	if (printf("%s %s/%d %s %u\n", g.veth, a, g.prefix, gw, g.mtu) < 0 || fflush(stdout) != 0) {
		/* the caller cannot learn of its veth: give the lease back */
		struct diyc_error ignored;
		lease_release(req.bridge, ruid, false, g.addr, &ignored);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}
#endif
