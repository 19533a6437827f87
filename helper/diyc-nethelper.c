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
 * behind fds 3 and 4, resource limits, scheduling, timers (an itimer survives execve),
 * its terminal and session (^C, TIOCSIG, a hangup, the SIGHUP of a session leader's
 * exit), and what becomes of the helper's output (a closed pipe). A user with a
 * delegated cgroup may even freeze it or SIGKILL it (cgroup.kill, memory.max) at any
 * instant. What root's power may do for it, and nothing more:
 *   - add: create one veth pair on a bridge that /etc/diyc/nethelper.conf lets this
 *     real uid use, within its count of leases there; the host end goes into that
 *     bridge, the other end is created directly in a network namespace that belongs to
 *     the caller (owned by a user namespace whose owner is the caller's real uid: not
 *     the host's, not root's, not another user's), with an address of the bridge's
 *     subnet that nobody holds. The helper never enters the caller's namespaces.
 *   - release: give back a lease of the caller's own and delete its veth, on a bridge
 *     the config lets the caller use; it creates nothing.
 * It must never leave a veth without its lease (an address nobody can get back, outside
 * every quota), nor a lease file half written.
 * How: before anything else, every signal that can be blocked is blocked, its itimers
 * are stopped and it leaves the caller's session when it can, so nothing from the
 * terminal, the session, job control, timers, limits or a closed output (SIGPIPE: the
 * write fails instead) interrupts it; fds 0-2 are made valid before any file is opened;
 * the environment is cleared before libnl is loaded (dlopen: its constructors read
 * NLDBG, NLCB, NLSYSCONFDIR); it refuses to run outside the host's user namespace (where
 * its set-uid bit does not apply and uid 0 is the caller), so only the real root is ever
 * treated as root; once the caller's ids are read all its uids and gids become 0 and its
 * supplementary groups go (so the caller cannot signal it, say SIGSTOP it while it
 * holds the lease lock, and what it creates is root:root), its resource limits and
 * scheduling are its own (the caller's CPU time limit would SIGKILL it at a moment of
 * the caller's choosing), and only CAP_NET_ADMIN is kept; the umask is its own;
 * the grammar is fixed and every argument is checked before use; the config must be
 * root's and unwritable by others, as must every directory above it, and any fault in
 * it refuses everything; every refused namespace gets one identical message, so the
 * helper tells nothing about namespaces that are not the caller's. Against the SIGKILL
 * nothing can block, the lease database (runtime/net/lease.c) orders its steps: a lease
 * is written before its veth is created and goes only after its veth is deleted, so a
 * killed helper leaves at worst a stale lease, which the next call drops; and every call
 * deletes the bridge's vdiyc ports that have no lease (what an older helper left). It
 * never sleeps holding the lease lock, and waits for it at most 10 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
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
#include <sys/time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include "net/lease.h"

#ifndef DIYC_NETHELPER_CONF
#define DIYC_NETHELPER_CONF "/etc/diyc/nethelper.conf"
#endif
#define CONF_SIZE_MAX (64 * 1024)
#define CONF_LINE_MAX 1024
#define CONF_COUNT_MAX 100000
#define ARG_MAX_LEN 64
#define NETNS_FD 3
#define USERNS_FD 4
/* The fixed inode number of the initial user namespace's nsfs file (linux/proc_ns.h). */
#define PROC_USER_INIT_INO 0xEFFFFFFDU

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

/* Nothing the caller can make happen reaches the helper as a signal, from its first
 * instruction on: ^C, ^\, ^Z and TIOCSIG of its terminal, the SIGHUP and SIGCONT of a
 * hangup, of its session leader's exit or of an orphaned process group, SIGTTIN and
 * SIGTTOU, SIGPIPE (a write fails with EPIPE instead), SIGXCPU and SIGXFSZ of its limits,
 * and the SIGALRM, SIGVTALRM and SIGPROF of itimers, which survive execve. All are
 * blocked, never to be unblocked, and the itimers stopped; and it leaves the caller's
 * session and terminal, unless it leads a process group (then the mask does it all).
 * SIGKILL and SIGSTOP cannot be blocked: the caller cannot send them once its uids are
 * root's, and against the SIGKILL of a cgroup or of a hard CPU limit the lease database
 * orders its steps, and the limits become its own (own_limits). */
static void shut_out_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	struct itimerval none = { 0 };
	setitimer(ITIMER_REAL, &none, NULL);
	setitimer(ITIMER_VIRTUAL, &none, NULL);
	setitimer(ITIMER_PROF, &none, NULL);
	setsid();
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

/* Whether it runs in the initial user namespace, the host's. NS_GET_USERNS answers only
 * with a user namespace at or below the asker's own, so it names the initial one only to
 * a process that is in it, whatever file a mount namespace of the caller's puts in place
 * of /proc/self/ns/net. */
static bool in_initial_userns(void)
{
	int net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (net < 0)
		return false;
	int owner = ioctl(net, NS_GET_USERNS);
	close(net);
	if (owner < 0)
		return false;
	struct stat st;
	struct statfs sf;
	bool initial = fstat(owner, &st) == 0 && fstatfs(owner, &sf) == 0 && sf.f_type == NSFS_MAGIC &&
		       st.st_ino == PROC_USER_INIT_INO;
	close(owner);
	return initial;
}

/* Its own limits and scheduling, not the caller's: a CPU time limit (which counts the
 * time the caller's process spent before execve) would SIGKILL it at an instant the
 * caller chooses, a file size limit would fail the write of the leases, low limits on
 * files or memory would fail it midway, and nice 19 or SCHED_IDLE would slow it down
 * while it holds the lease lock. Needs root's capabilities: before they are dropped.
 * Where root cannot raise a hard limit, the order of the lease database's steps is what
 * keeps a killed helper harmless. */
static void own_limits(void)
{
	static const struct {
		int res;
		rlim_t max;
	} lim[] = {
		{ RLIMIT_CPU, RLIM_INFINITY }, { RLIMIT_FSIZE, RLIM_INFINITY }, { RLIMIT_DATA, RLIM_INFINITY },
		{ RLIMIT_AS, RLIM_INFINITY },  { RLIMIT_STACK, 8 << 20 },       { RLIMIT_RTTIME, RLIM_INFINITY },
		{ RLIMIT_NOFILE, 1024 },       { RLIMIT_CORE, 0 },
	};
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		struct rlimit rl = { lim[i].max, lim[i].max }, now;
		if (setrlimit(lim[i].res, &rl) == 0)
			continue;
		/* no CAP_SYS_RESOURCE (a bounding set without it): as high as the hard limit */
		if (getrlimit(lim[i].res, &now) < 0)
			die(EXIT_REFUSED, "getrlimit: %s", strerror(errno));
		rl.rlim_cur = rl.rlim_max = lim[i].max < now.rlim_max ? lim[i].max : now.rlim_max;
		if (setrlimit(lim[i].res, &rl) < 0)
			die(EXIT_REFUSED, "setrlimit: %s", strerror(errno));
	}
	struct sched_param sp = { 0 };
	if (sched_setscheduler(0, SCHED_OTHER, &sp) < 0 || setpriority(PRIO_PROCESS, 0, 0) < 0)
		die(EXIT_REFUSED, "cannot reset its scheduling: %s", strerror(errno));
}

struct caller {
	uid_t uid;
	gid_t gid;
	gid_t gids[NGROUPS_MAX + 1];
	int ngids;
};

/* Root in all its ids, after reading the caller's into c: the caller can no longer
 * signal it (stop it while it holds the lease lock), and what it creates is root:root. */
static void become_root(struct caller *c)
{
	c->uid = getuid();
	c->gid = getgid();
	c->ngids = getgroups(NGROUPS_MAX, c->gids);
	if (c->ngids < 0)
		die(EXIT_REFUSED, "getgroups: %s", strerror(errno));
	c->gids[c->ngids++] = c->gid;
	if (geteuid() != 0)
		die(EXIT_REFUSED, "is not running as root: it must be installed set-uid root "
		    "(chown root diyc-nethelper && chmod 4755 diyc-nethelper)");
	/* in a user namespace of the caller's, uid 0 is the caller and the set-uid bit gives
	 * nothing: only the host's uid 0 is root */
	if (!in_initial_userns())
		die(EXIT_REFUSED, "runs only in the host's user namespace: in another one its set-uid bit "
		    "does not apply");
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		die(EXIT_REFUSED, "cannot become root: %s", strerror(errno));
	own_limits();
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

/* The count nethelper.conf gives the caller c on bridge (the host's root: no limit, 0).
 * Refuses, with a message, a caller it gives nothing. */
static unsigned allowance_of(struct caller *c, const char *bridge)
{
	if (c->uid == 0)
		return 0;
	struct passwd *pw = getpwuid(c->uid);
	if (!pw)
		die(EXIT_REFUSED, "uid %u has no name in the user database", (unsigned)c->uid);
	char user[64];
	snprintf(user, sizeof(user), "%s", pw->pw_name);
	size_t len;
	char *text = read_conf(&len);
	struct diyc_error err = { 0 };
	unsigned quota;
	int r = conf_allowance(text, len, user, caller_in_group, c, bridge, &quota, &err);
	free(text);
	if (r < 0)
		die(EXIT_REFUSED, "%s %s; refusing everything", DIYC_NETHELPER_CONF, err.msg);
	if (quota == 0)
		die(EXIT_REFUSED, "%s does not let %s use bridge `%s` (root adds a line `%s bridge %s count N`)",
		    DIYC_NETHELPER_CONF, user, bridge, user, bridge);
	return quota;
}

/* The advice diyc prints with the hints lease_* may name (cli/diyc/output.c has the same),
 * since diyc shows this helper's message as it is. */
static const char *advice(int hint)
{
	switch (hint) {
	case DIYC_HINT_NET_IP_TAKEN: return ": choose another, or leave --ip out";
	case DIYC_HINT_NET_NO_BRIDGE: return " (root makes it: sudo diyc network setup)";
	case DIYC_HINT_NET_BRIDGE_NO_SUBNET: return " (sudo diyc network setup gives it one)";
	default: return "";
	}
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
	shut_out_signals();
	sanitize_stdio();
	clearenv();
	/* the files it makes get the modes it asks for, whatever the caller's umask */
	umask(022);
	prctl(PR_SET_DUMPABLE, 0);
	struct diyc_error err = { 0 };
	struct request req;
	if (args_parse(argc, argv, &req, &err) < 0)
		die(EXIT_USAGE, "%s", err.msg);
	static struct caller c; /* 256 KiB of groups: not on a stack the caller limits */
	become_root(&c);
	close_others(req.op == REQ_ADD ? USERNS_FD + 1 : 3);
	keep_only_net_admin();

	unsigned quota = allowance_of(&c, req.bridge);
	if (req.op == REQ_RELEASE) {
		if (lease_release(req.bridge, c.uid, c.uid == 0, req.addr, &err) < 0)
			die(EXIT_REFUSED, "%s%s", err.msg, advice(err.hint));
		return EXIT_OK;
	}
	check_namespaces(c.uid);
	struct lease_grant g;
	if (lease_acquire(req.bridge, c.uid, req.have_addr ? &req.addr : NULL, quota, NETNS_FD, &g, &err) < 0)
		die(EXIT_REFUSED, "%s%s", err.msg, advice(err.hint));
	char a[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &g.addr, a, sizeof(a));
	inet_ntop(AF_INET, &g.gateway, gw, sizeof(gw));
	if (printf("%s %s/%d %s %u\n", g.veth, a, g.prefix, gw, g.mtu) < 0 || fflush(stdout) != 0) {
		/* the caller cannot learn of its veth (a closed pipe: EPIPE, SIGPIPE being
		 * blocked): give the lease back */
		struct diyc_error ignored;
		lease_release(req.bridge, c.uid, false, g.addr, &ignored);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}
#endif
