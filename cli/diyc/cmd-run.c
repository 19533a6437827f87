/* SPDX-License-Identifier: MIT */
/* cmd-run.c: `diyc run` and `diyc create`: the flags (a group per function, through
 * options.c), checked together, then the image's defaults under them, the host ports, the
 * claimed name and container_launch (create writes the configuration alone). The checks keep
 * their order: which error comes first is visible. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "security/caps.h"
#include "commands.h"
#include "registry-cli.h"
#include "container/config.h"
#include "container/container.h"
#include "image/image.h"
#include "container/control.h"
#include "container/disk.h"
#include "net/bridge.h"
#include "lib/paths.h"
#include "security/seccomp-filter.h"
#include "container/store.h"
#include "lib/util.h"
#include "volumes-cli.h"

static const char run_usage[] =
	"Usage: diyc run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
	"\n"
	"Run a command in a new container.\n"
	"\n"
	"Options:\n"
	"      --name NAME        Name of the container (default: a generated name)\n"
	"  -d, --detach           Run in the background and print the container's name\n"
	"      --rm               Remove the container when it exits\n"
	"  -t, --tty              Give the container a terminal (a pty)\n"
	"  -i, --interactive      Keep standard input connected\n"
	"  -e, --env KEY=VAL      Set an environment variable (KEY alone: take it from diyc's)\n"
	"  -w, --workdir DIR      Working directory inside the container (absolute)\n"
	"  -u, --user UID[:GID]   User to run as, by number or by name from the image\n"
	"      --entrypoint CMD   Run CMD instead of the image's entrypoint (\"\": none); the\n"
	"                         image's default arguments are dropped too\n"
	"  -h, --hostname NAME    Hostname of the container (default: its name)\n"
	"  -l, --label KEY=VALUE  Set a label (over the image's labels)\n"
	"      --expose PORT[/PROTO]  Record a port the container listens on (tcp, udp, sctp),\n"
	"                         besides the image's ExposedPorts\n"
	"  -v, --volume HOST:CONTAINER[:ro|rw]  Bind mount a host directory or file\n"
	"  -v, --volume NAME:CONTAINER[:ro|rw|nocopy]  Mount volume NAME (created when missing;\n"
	"                         filled from the image when empty, unless nocopy)\n"
	"  -v, --volume CONTAINER  Mount a new anonymous volume (removed with --rm or rm -v)\n"
	"      --mount type=bind|volume|tmpfs,dst=PATH[,src=...][,ro][,volume-nocopy]\n"
	"                         [,tmpfs-size=SIZE][,tmpfs-mode=OCTAL]  docker's form of -v and\n"
	"                         --tmpfs (see docs/volumes.md)\n"
	"      --tmpfs PATH[:OPTIONS]  Mount a tmpfs (options: ro, noexec, size=64m, mode=1777, ...)\n"
	"      --net, --network MODE  slirp (the default: user-mode networking, tap0 10.0.2.100/24,\n"
	"                         gateway 10.0.2.2, DNS 10.0.2.3; slirp:allow_host_loopback=true lets\n"
	"                         the container reach the host's 127.0.0.1 at 10.0.2.2), none (own\n"
	"                         network namespace with loopback only), host (the host's network)\n"
	"                         or bridge (a veth on bridge diyc0, made by `sudo diyc network\n"
	"                         setup`; root's default when it exists; a normal user gets it\n"
	"                         through diyc-nethelper, as /etc/diyc/nethelper.conf allows)\n"
	"      --ip ADDRESS       Address of the container on the bridge (default: the lowest free)\n"
	"      --mtu N            MTU of the slirp network (default 65520)\n"
	"  -p, --publish [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]  Publish a container's port\n"
	"                         on the host (HOST_IP default 0.0.0.0, all addresses); repeatable\n"
	"  -m, --memory SIZE      Memory limit (b, k, m, g; a plain number is MiB; at least 6m)\n"
	"      --memory-swap SIZE Limit of memory and swap together (-1: no limit on swap;\n"
	"                         default: as much swap as --memory)\n"
	"      --pids-limit N     Limit on the number of processes and threads\n"
	"      --cpus X           CPU time limit in CPUs (0.5: half of one CPU)\n"
	"      --cgroup-manager M systemd (a delegated scope from your systemd; the default where\n"
	"                         systemd runs), cgroupfs (a cgroup made directly: root, or inside\n"
	"                         a delegated cgroup) or none. Limits need cgroup v2\n"
	"      --cap-add CAP      Add a capability to the default set (NET_ADMIN or CAP_NET_ADMIN;\n"
	"                         ALL: every one); repeatable, or a comma-separated list\n"
	"      --cap-drop CAP     Drop a capability from the set (ALL: every one)\n"
	"      --security-opt OPT no-new-privileges[=true|false] (set-uid and file capabilities\n"
	"                         give nothing), seccomp=unconfined (no system call filter) or\n"
	"                         seccomp=PROFILE.json (a profile in docker's format instead of\n"
	"                         the default, which refuses what docker's default refuses)\n"
	"      --storage-opt size=SIZE  Limit what the container writes (b, k, m, g; a plain number\n"
	"                         is MiB): a project quota or a loop-mounted image as root, a tmpfs\n"
	"                         with --rm as a normal user (see docs/rootfs.md)\n"
	"      --read-only        Mount the root filesystem read-only (/tmp and /run are\n"
	"                         writable tmpfs; volumes keep their own mode)\n"
	"      --privileged       Give every capability, no seccomp filter, and leave /proc and\n"
	"                         /sys unmasked (the container's root is then the caller's equal;\n"
	"                         under sudo: the host's root)\n"
	"      --pull POLICY      missing (the default: pull the image when the store lacks it),\n"
	"                         always (pull it again), never\n"
	"      --init[=true|false] Run diyc's minimal init as PID 1 (default true)\n"
	"      --no-init          Same as --init=false: the command is PID 1\n"
	"      --verbose          Print what diyc does, with timestamps\n"
	"      --help             Show this help\n"
	"\n"
	"A container stays after its command ends (see `diyc ps -a`, `diyc start`, `diyc rm`),\n"
	"unless --rm is given. Without -d, its output goes to your terminal; with -d, to its\n"
	"log (`diyc logs`).\n"
	"\n"
	"Exit status: the command's; 125 when diyc fails, 126 when the command cannot be\n"
	"executed, 127 when it is not found, 128+N when it is killed by signal N.\n";

enum { OPT_NAME = 256, OPT_RM, OPT_TMPFS, OPT_ENTRYPOINT, OPT_NET, OPT_INIT, OPT_NO_INIT,
       OPT_EXPOSE, OPT_MEMORY_SWAP, OPT_PIDS_LIMIT, OPT_CPUS, OPT_CGROUP_MANAGER, OPT_MTU, OPT_IP,
       OPT_CAP_ADD, OPT_CAP_DROP, OPT_SECURITY_OPT, OPT_READ_ONLY, OPT_PRIVILEGED, OPT_PULL,
       OPT_STORAGE_OPT, OPT_MOUNT };

static const struct option run_longopts[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "detach", no_argument, NULL, 'd' },
	{ "volume", required_argument, NULL, 'v' },
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
	PROCESS_LONGOPTS,
	{ "hostname", required_argument, NULL, 'h' },
	{ "label", required_argument, NULL, 'l' },
	{ "expose", required_argument, NULL, OPT_EXPOSE },
	{ "net", required_argument, NULL, OPT_NET },
	{ "network", required_argument, NULL, OPT_NET },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "publish", required_argument, NULL, 'p' },
	{ "memory", required_argument, NULL, 'm' },
	{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
	{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
	{ "storage-opt", required_argument, NULL, OPT_STORAGE_OPT },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "privileged", no_argument, NULL, OPT_PRIVILEGED },
	{ "pull", required_argument, NULL, OPT_PULL },
	{ "init", optional_argument, NULL, OPT_INIT },
	{ "no-init", no_argument, NULL, OPT_NO_INIT },
	OPTION_VERBOSE_ENTRY,
	OPTION_HELP_ENTRY,
	OPTION_END,
};
/* the short options of run and create */
#define RUN_SHORTOPTS "+:d" PROCESS_SHORTOPTS "h:v:l:m:p:"
static const struct command_options run_options = { "run", run_usage, RUN_SHORTOPTS, run_longopts };

/* the command line of `diyc run`, checked flag by flag */
struct run_flags {
	const char *name, *hostname, *entrypoint, *ip;
	struct process_flags proc; /* -t -i -e -w -u */
	bool rm, init, detach;
	enum net_mode net;
	bool net_given, mtu_given;
	struct port_map *ports;
	size_t n_ports;
	char **labels, **exposed;
	size_t n_labels, n_exposed;
	struct mount_entry *mounts;
	size_t n_mounts;
	struct cgroup_limits limits;
	uint64_t storage_size;   /* --storage-opt size= */
	enum disk_quota_kind storage_kind;
	struct slirp_opts slirp;
	struct security_config security;
	size_t n_cap_add, n_cap_drop;
	enum pull_policy pull;
};

/* How messages about limits name them: the flags that set them */
const struct cgroup_labels cli_cgroup_labels = {
	.memory = "--memory", .memory_swap = "--memory-swap", .pids = "--pids-limit", .cpus = "--cpus",
	.manager = "--cgroup-manager",
};

/* none, host, bridge, slirp[:allow_host_loopback=true|false] */
static int parse_net(const char *arg, struct run_flags *f)
{
	if (!strncmp(arg, "slirp:", 6)) {
		f->net = NET_SLIRP;
		f->slirp.allow_host_loopback = false;
		const char *opt = arg + 6;
		if (!strcmp(opt, "allow_host_loopback=true") || !strcmp(opt, "allow_host_loopback"))
			f->slirp.allow_host_loopback = true;
		else if (strcmp(opt, "allow_host_loopback=false"))
			return usage_error("run", "unknown option `%s` of --net=slirp: the one there is "
					   "allow_host_loopback=true|false", opt);
		return 0;
	}
	if (net_mode_parse(arg, &f->net) < 0)
		return usage_error("run", "unknown network `%s`: use slirp, bridge, none or host", arg);
	f->slirp.allow_host_loopback = false;
	return 0;
}

/* Without --net: slirp, as for every user, where /dev/net/tun can be used. Where it
 * cannot, the container still runs, without network, and says why. */
static int default_network(struct run_flags *f)
{
	/* root: the bridge, as with docker and podman, once root has made it */
	if (geteuid() == 0 && if_nametoindex(BRIDGE_DEFAULT) != 0) {
		f->net = NET_BRIDGE;
		return 0;
	}
	f->net = NET_SLIRP;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	int e = errno;
	if (f->n_ports)
		return usage_error("run", "-p needs the default network, slirp, which needs /dev/net/tun: %s (it must be "
				   "usable by you: mode 0666, as on standard Debian)", strerror(e));
	diyc_warn("/dev/net/tun cannot be used (%s): the container has no network but loopback. slirp, the "
		  "default, needs it usable by you (mode 0666, as on standard Debian); --net=none says this is "
		  "what you want", strerror(e));
	f->net = NET_NONE;
	return 0;
}

/* -v, --tmpfs or --mount (c) */
static int add_mount(struct run_flags *f, const char *spec, int c)
{
	struct diyc_error err = { 0 };
	struct mount_entry m;
	int r = c == OPT_TMPFS ? tmpfs_parse(spec, &m, &err)
		: c == OPT_MOUNT ? mount_spec_parse(spec, &m, &err) : volume_parse(spec, &m, &err);
	if (r < 0)
		return usage_error("run", "%s", err.msg);
	struct mount_entry *n = realloc(f->mounts, (f->n_mounts + 1) * sizeof(*n));
	if (!n)
		return usage_error("run", "out of memory");
	f->mounts = n;
	f->mounts[f->n_mounts++] = m;
	return 0;
}

/* PORT or PORT/PROTO as docker writes it in ExposedPorts: "80/tcp". NULL when malformed. */
static char *exposed_port(const char *arg)
{
	const char *slash = strchr(arg, '/');
	char port[8];
	size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
	uint64_t v;
	if (n == 0 || n >= sizeof(port))
		return NULL;
	memcpy(port, arg, n);
	port[n] = '\0';
	if (parse_u64(port, 65535, &v) < 0 || v == 0 || port[0] == '0')
		return NULL;
	const char *proto = slash ? slash + 1 : "tcp";
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return NULL;
	return xasprintf("%llu/%s", (unsigned long long)v, proto);
}

static int path_depth(const char *p)
{
	int n = 0;
	for (; *p; p++)
		n += *p == '/';
	return n;
}

/* Parents before children, as docker does: -v /a:/x and --tmpfs /x/y work in any order.
 * Stable, so equal depths keep the order given. */
static void sort_mounts(struct mount_entry *m, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && path_depth(m[j - 1].target) > path_depth(m[j].target); j--) {
			struct mount_entry t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
}

/* The command as docker builds it: the entrypoint (the image's, or --entrypoint, which
 * also drops the image's Cmd), then the arguments given, else the image's Cmd. An
 * image with neither gets sh. */
static char **command_line(const struct image_defaults *d, const char *entrypoint, char **args, int *ep_len)
{
	static char *sh[] = { "sh", NULL };
	static char *none[] = { NULL };
	static char *given_ep[2];
	char **ep = d->has_entrypoint ? d->entrypoint : none;
	char **rest = *args ? args : (d->has_cmd ? d->cmd : none);
	if (entrypoint) {
		given_ep[0] = (char *)entrypoint;
		ep = *entrypoint ? given_ep : none;
		rest = *args ? args : none;
	}
	if (!*ep && !*rest)
		rest = sh;
	for (*ep_len = 0; ep[*ep_len]; (*ep_len)++)
		;
	return strv_concat(ep, rest);
}

/* --cap-add/--cap-drop: one name or a comma-separated list, kept normalized */
static int add_caps(const char *arg, char ***list, size_t *n)
{
	_cleanup_free_ char *copy = strdup(arg);
	if (!copy)
		return usage_error("run", "out of memory");
	char *save = NULL;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		char norm[64];
		struct diyc_error err = { 0 };
		if (caps_normalize(name, norm, sizeof(norm), &err) < 0)
			return usage_error("run", "%s", err.msg);
		if (strv_push(list, n, strdup(norm)) < 0)
			return usage_error("run", "out of memory");
	}
	if (!*n)
		return usage_error("run", "no capability in `%s`", arg);
	return 0;
}

static int parse_bool(const char *s, bool *out);

/* --security-opt: no-new-privileges[=|:true|false], seccomp=unconfined|PROFILE */
static int add_security_opt(const char *arg, struct security_config *s)
{
	size_t klen = strcspn(arg, "=:");
	const char *val = arg[klen] ? arg + klen + 1 : NULL;
	if (klen == strlen("no-new-privileges") && !strncmp(arg, "no-new-privileges", klen)) {
		if (parse_bool(val, &s->no_new_privs) < 0)
			return usage_error("run", "invalid --security-opt `%s`: no-new-privileges takes true or false", arg);
		return 0;
	}
	if (klen == strlen("seccomp") && !strncmp(arg, "seccomp", klen) && val && *val) {
		free(steal_ptr(s->seccomp_profile));
		if (!strcmp(val, "unconfined")) {
			s->seccomp = SECCOMP_UNCONFINED;
			return 0;
		}
		struct diyc_error err = { 0 };
		if (seccomp_profile_load(val, &s->seccomp_profile, &err) < 0)
			return usage_error("run", "%s", err.msg);
		s->seccomp = SECCOMP_PROFILE;
		return 0;
	}
	return usage_error("run", "unknown --security-opt `%s`: diyc knows no-new-privileges[=true|false], "
			   "seccomp=unconfined and seccomp=PROFILE.json", arg);
}

static int parse_bool(const char *s, bool *out)
{
	if (!s || !strcmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* ---- the flags, one group at a time: each returns OPTION_NOT_MINE for another's --- */

/* --name, -d, --rm, --entrypoint, -h, -l, --expose, --init, --no-init */
static int container_opt(int c, const char *arg, struct run_flags *f)
{
	switch (c) {
	case OPT_NAME:
		if (!container_name_valid(arg))
			return usage_error("run", "invalid container name `%s`: use letters, digits and `_.-`, "
				"starting with a letter or digit, at most %d characters", arg, CONTAINER_NAME_MAX);
		f->name = arg;
		return 0;
	case OPT_RM: f->rm = true; return 0;
	case 'd': f->detach = true; return 0;
	case OPT_ENTRYPOINT: f->entrypoint = arg; return 0;
	case 'h':
		if (!hostname_valid(arg))
			return usage_error("run", "invalid hostname `%s`: use letters, digits, `-` and `.`, "
				"at most 63 characters", arg);
		f->hostname = arg;
		return 0;
	case 'l':
		if (!*arg || *arg == '=')
			return usage_error("run", "invalid label `%s`: expected KEY=VALUE", arg);
		if (strv_push(&f->labels, &f->n_labels, strchr(arg, '=') ? strdup(arg) : xasprintf("%s=", arg)) < 0)
			return usage_error("run", "out of memory");
		return 0;
	case OPT_EXPOSE: {
		char *port = exposed_port(arg);
		if (!port)
			return usage_error("run", "invalid --expose `%s`: expected PORT[/PROTO], a port from 1 "
					   "to 65535 and tcp, udp or sctp", arg);
		if (strv_push(&f->exposed, &f->n_exposed, port) < 0)
			return usage_error("run", "out of memory");
		return 0;
	}
	case OPT_INIT:
		if (parse_bool(arg, &f->init) < 0)
			return usage_error("run", "--init takes true or false, not `%s`", arg);
		return 0;
	case OPT_NO_INIT: f->init = false; return 0;
	case OPT_PULL:
		if (!strcmp(arg, "missing"))
			f->pull = PULL_MISSING;
		else if (!strcmp(arg, "always"))
			f->pull = PULL_ALWAYS;
		else if (!strcmp(arg, "never"))
			f->pull = PULL_NEVER;
		else
			return usage_error("run", "invalid --pull `%s`: use missing, always or never", arg);
		return 0;
	}
	return OPTION_NOT_MINE;
}

/* --net, --mtu, --ip, -p */
static int network_opt(int c, const char *arg, struct run_flags *f)
{
	switch (c) {
	case OPT_NET:
		if (parse_net(arg, f))
			return DIYC_EXIT_RUNTIME;
		f->net_given = true;
		return 0;
	case 'p': {
		struct port_map *m = realloc(f->ports, (f->n_ports + 1) * sizeof(*m));
		if (!m)
			return usage_error("run", "out of memory");
		f->ports = m;
		struct diyc_error err = { 0 };
		if (port_map_parse(arg, &f->ports[f->n_ports++], &err) < 0)
			return usage_error("run", "%s", err.msg);
		return 0;
	}
	case OPT_MTU: {
		uint64_t mtu;
		if (parse_u64(arg, 65521, &mtu) < 0 || mtu < 576)
			return usage_error("run", "invalid --mtu `%s`: expected a number from 576 to 65521", arg);
		f->slirp.mtu = (unsigned)mtu;
		f->mtu_given = true;
		return 0;
	}
	case OPT_IP: {
		struct in_addr a;
		if (inet_pton(AF_INET, arg, &a) != 1)
			return usage_error("run", "--ip `%s` is not an IPv4 address (as 172.16.0.10)", arg);
		f->ip = arg;
		return 0;
	}
	}
	return OPTION_NOT_MINE;
}

/* --storage-opt size=SIZE, docker's form; the one key there is */
static int storage_opt(const char *arg, struct run_flags *f, struct diyc_error *err)
{
	if (strncmp(arg, "size=", 5))
		return diyc_error_plain(err, EINVAL, "unknown --storage-opt `%s`: the one there is size=SIZE", arg);
	return disk_size_parse("--storage-opt size", arg + 5, &f->storage_size, err);
}

/* -m, --memory-swap, --pids-limit, --cpus, --cgroup-manager, --storage-opt */
static int limits_opt(int c, const char *arg, struct run_flags *f)
{
	struct diyc_error err = { 0 };
	int r;
	switch (c) {
	case OPT_STORAGE_OPT: r = storage_opt(arg, f, &err); break;
	case 'm': r = cgroup_limit_parse_memory(cli_cgroup_labels.memory, arg, &f->limits.memory, &err); break;
	case OPT_MEMORY_SWAP:
		r = cgroup_limit_parse_memory_swap(cli_cgroup_labels.memory_swap, arg, &f->limits.memory_swap, &err);
		break;
	case OPT_PIDS_LIMIT: r = cgroup_limit_parse_pids(cli_cgroup_labels.pids, arg, &f->limits.pids, &err); break;
	case OPT_CPUS: r = cgroup_limit_parse_cpus(cli_cgroup_labels.cpus, arg, &f->limits.cpu_quota, &err); break;
	case OPT_CGROUP_MANAGER:
		r = cgroup_limit_parse_manager(cli_cgroup_labels.manager, arg, &f->limits.manager, &err);
		break;
	default: return OPTION_NOT_MINE;
	}
	return r < 0 ? usage_error("run", "%s", err.msg) : 0;
}

/* -v, --tmpfs, --mount, --cap-add, --cap-drop, --security-opt, --read-only, --privileged */
static int confinement_opt(int c, const char *arg, struct run_flags *f)
{
	switch (c) {
	case 'v':
	case OPT_MOUNT:
	case OPT_TMPFS: return add_mount(f, arg, c) ? DIYC_EXIT_RUNTIME : 0;
	case OPT_CAP_ADD: return add_caps(arg, &f->security.cap_add, &f->n_cap_add) ? DIYC_EXIT_RUNTIME : 0;
	case OPT_CAP_DROP: return add_caps(arg, &f->security.cap_drop, &f->n_cap_drop) ? DIYC_EXIT_RUNTIME : 0;
	case OPT_SECURITY_OPT: return add_security_opt(arg, &f->security) ? DIYC_EXIT_RUNTIME : 0;
	case OPT_READ_ONLY: f->security.read_only = true; return 0;
	case OPT_PRIVILEGED: f->security.privileged = true; return 0;
	}
	return OPTION_NOT_MINE;
}

static int run_opt(int c, const char *arg, void *data)
{
	static int (*const groups[])(int, const char *, struct run_flags *) = {
		container_opt, network_opt, limits_opt, confinement_opt,
	};
	struct run_flags *f = data;
	int r = process_flag("run", c, arg, &f->proc);
	for (size_t i = 0; r == OPTION_NOT_MINE && i < ARRAY_SIZE(groups); i++)
		r = groups[i](c, arg, f);
	return r == OPTION_NOT_MINE ? 0 : r; /* each of run_longopts is one group's */
}

/* What needs all the flags: the limits together, the network (its default) and the flags
 * that only one network takes. */
static int check_run_flags(struct run_flags *f)
{
	struct diyc_error err = { 0 };
	if (cgroup_limits_check(&f->limits, &err) < 0)
		return usage_error("run", "%s", err.msg);
	if (!f->net_given && default_network(f) < 0)
		return DIYC_EXIT_RUNTIME;
	if (f->mtu_given && f->net != NET_SLIRP)
		return usage_error("run", "--mtu is for --net=slirp");
	if (f->ip && f->net != NET_BRIDGE)
		return usage_error("run", "--ip is for --net=bridge");
	if (f->n_ports && f->net != NET_SLIRP && f->net != NET_BRIDGE)
		return usage_error("run", "-p is for --net=slirp and --net=bridge: %s", f->net == NET_HOST
				   ? "with --net=host the container uses the host's ports directly"
				   : "with --net=none the container has no network to publish");
	return 0;
}

/* ---- the flags over the image's defaults ------------------------------------------ */

/* what the container gets from the flags and, where they say nothing, from its image */
struct run_setup {
	const char *image_ref;
	char image_buf[PATH_MAX]; /* the name or id of a pulled image */
	struct diyc_paths paths;
	struct image img;
	struct userns_plan plan;
	bool have_img, have_plan;
	char **cmd, **env; /* arrays of borrowed strings */
	char **labels, **exposed;
	int ep_len;
	char *workdir; /* the image's, made absolute */
	const char *user;
	char **created_volumes; /* made for this run: removed when it fails */
};

static void run_setup_free(struct run_setup *s)
{
	free(s->cmd);
	free(s->env);
	strv_free(s->labels);
	strv_free(s->exposed);
	free(s->workdir);
	strv_free(s->created_volumes);
	if (s->have_img)
		image_free(&s->img);
	if (s->have_plan)
		userns_plan_free(&s->plan);
}

/* What is refused before the image is looked at, then the image and the user namespace. */
static int run_prepare(struct run_flags *f, struct run_setup *s)
{
	struct diyc_error err = { 0 };
	sort_mounts(f->mounts, f->n_mounts);
	/* a limit this host cannot hold is refused before anything is made */
	if (cgroup_precheck(&f->limits, &err) < 0)
		return fail(&err);
	for (size_t i = 0; i < f->n_mounts; i++)
		if (volume_check_host(&f->mounts[i], &err) < 0)
			return fail(&err);
	if (paths_init(&s->paths, &err) < 0)
		return fail(&err);
	/* a size nothing can hold here is refused before the image is looked at */
	if (container_disk_choose(&s->paths, f->storage_size, f->rm, &f->storage_kind, &err) < 0)
		return fail(&err);
	if (registry_cli_ensure_image(&s->paths, s->image_ref, f->pull, s->image_buf, sizeof(s->image_buf), &err) < 0)
		return fail(&err);
	if (image_resolve(&s->paths, s->image_buf, &s->img, &err) < 0)
		return fail(&err);
	s->have_img = true;
	if (userns_plan_init(&s->plan, &err) < 0)
		return fail(&err);
	s->have_plan = true;
	diyc_debug("image %.12s resolved", s->img.id);
	return 0;
}

/* the image's defaults, under the command line's */
static int run_apply_defaults(const struct run_flags *f, char **args, struct run_setup *s)
{
	const struct image_defaults *d = &s->img.defaults;
	s->cmd = command_line(d, f->entrypoint, args, &s->ep_len);
	s->env = strv_concat(d->env, f->proc.env);
	_cleanup_free_ char **all_labels = strv_concat(d->labels, f->labels);
	_cleanup_free_ char **all_exposed = strv_concat(d->exposed, f->exposed);
	s->labels = strv_dedup(all_labels, true);
	s->exposed = strv_dedup(all_exposed, false);
	if (!f->proc.workdir && d->workdir)
		s->workdir = d->workdir[0] == '/' ? strdup(d->workdir) : xasprintf("/%s", d->workdir);
	s->user = f->proc.user ? f->proc.user : d->user;
	if (!s->cmd || !s->env || !s->labels || !s->exposed)
		return usage_error("run", "out of memory");
	return 0;
}

/* The image's Volumes that no -v, --mount or --tmpfs covers: an anonymous volume each, as
 * docker makes them. */
static int add_image_volumes(struct run_flags *f, char **volumes)
{
	for (char **v = volumes; v && *v; v++) {
		struct diyc_error err = { 0 };
		struct mount_entry m;
		if (volume_anonymous(*v, &m, &err) < 0) {
			diyc_warn("the image's volume `%s` is left out: %s", *v, err.msg);
			continue;
		}
		bool covered = false;
		for (size_t i = 0; i < f->n_mounts && !covered; i++)
			covered = !strcmp(f->mounts[i].target, m.target);
		struct mount_entry *n = covered ? NULL : realloc(f->mounts, (f->n_mounts + 1) * sizeof(*n));
		if (!covered && !n) {
			mount_entry_free(&m);
			return usage_error("run", "out of memory");
		}
		if (covered) {
			mount_entry_free(&m);
			continue;
		}
		f->mounts = n;
		f->mounts[f->n_mounts++] = m;
	}
	sort_mounts(f->mounts, f->n_mounts);
	return 0;
}

/* The volumes: the image's anonymous ones added, each created when missing and opened. */
static int run_volumes(struct run_flags *f, struct run_setup *s)
{
	struct diyc_error err = { 0 };
	int r = add_image_volumes(f, s->img.defaults.volumes);
	if (r)
		return r;
	if (cli_volumes_prepare(&s->paths, f->mounts, f->n_mounts, &s->created_volumes, &err) < 0) {
		cli_volumes_undo(&s->paths, &s->plan, steal_ptr(s->created_volumes));
		return fail(&err);
	}
	return 0;
}

/* ---- the container ----------------------------------------------------------------- */

static struct container_config run_config(const struct run_flags *f, const struct run_setup *s,
					  const char *name, char *hostname)
{
	struct container_config cfg = {
		.name = (char *)name, .image = (char *)s->image_ref, .image_id = (char *)s->img.id,
		.command = s->cmd, .entrypoint_len = s->ep_len, .env = s->env, .labels = s->labels,
		.exposed = s->exposed, .hostname = hostname,
		.workdir = (char *)(f->proc.workdir ? f->proc.workdir : s->workdir), .user = (char *)s->user,
		.net = f->net, .slirp = f->slirp, .ports = f->ports, .n_ports = f->n_ports,
		.bridge = f->net == NET_BRIDGE ? BRIDGE_DEFAULT : NULL, .ip = (char *)f->ip,
		.tty = f->proc.tty, .interactive = f->proc.interactive, .init = f->init, .rm = f->rm,
		.mounts = f->mounts, .n_mounts = f->n_mounts, .limits = f->limits, .security = f->security,
		.storage_size = f->storage_size, .storage_kind = f->storage_kind,
	};
	time_now_rfc3339(cfg.created, sizeof(cfg.created));
	return cfg;
}

/* --hostname, or the one made from the container's name */
static void run_hostname(const struct run_flags *f, const char *name, char *out, size_t size)
{
	if (f->hostname)
		snprintf(out, size, "%s", f->hostname);
	else
		hostname_from_name(name, out, size);
}

/* The host ports, the name, then the container: its exit status (or 125). */
static int run_launch(const struct run_flags *f, struct run_setup *s)
{
	struct diyc_error err = { 0 };
	/* a host port in use is an error before the name is claimed: nothing to clean up */
	int port_fds[f->n_ports + 1];
	if (ports_bind(f->ports, f->n_ports, port_fds, &err) < 0) {
		cli_volumes_undo(&s->paths, &s->plan, steal_ptr(s->created_volumes));
		return fail(&err);
	}
	struct container ct;
	if (container_claim(&s->paths, f->name, &ct, &err) < 0) {
		ports_close(port_fds, f->n_ports);
		cli_volumes_undo(&s->paths, &s->plan, steal_ptr(s->created_volumes));
		return fail(&err);
	}
	char hostname[64];
	run_hostname(f, ct.d.name, hostname, sizeof(hostname));
	struct container_config cfg = run_config(f, s, ct.d.name, hostname);
	int status = DIYC_EXIT_RUNTIME, r;
	_cleanup_free_ char *json = config_to_json(&cfg);
	struct launch_opts o = { .detach = f->detach, .interactive = f->proc.interactive, .first_run = true,
				 .config_json = json, .port_fds = port_fds, .data_dir = s->paths.data };
	if (!json) {
		ports_close(port_fds, f->n_ports);
		r = diyc_error(&err, ENOMEM, "configuration");
	} else
		r = container_launch(&ct, &cfg, s->img.layer_dirs, &s->plan, &o, &status, &err);
	if (r == 0 && f->detach)
		printf("%s\n", ct.d.name);
	container_close(&ct);
	if (r != 0) {
		/* the container was removed: what this run made for it goes too */
		cli_volumes_undo(&s->paths, &s->plan, steal_ptr(s->created_volumes));
		return fail(&err);
	}
	return status;
}

/* diyc create: the name claimed and the configuration written, nothing started (the
 * container is "created" until `diyc start`); ports are bound and volumes checked at start. */
static int create_container(const struct run_flags *f, struct run_setup *s)
{
	struct diyc_error err = { 0 };
	struct container ct;
	if (container_claim(&s->paths, f->name, &ct, &err) < 0) {
		cli_volumes_undo(&s->paths, &s->plan, steal_ptr(s->created_volumes));
		return fail(&err);
	}
	char hostname[64];
	run_hostname(f, ct.d.name, hostname, sizeof(hostname));
	struct container_config cfg = run_config(f, s, ct.d.name, hostname);
	_cleanup_free_ char *json = config_to_json(&cfg);
	int r = json ? container_write_config(&ct, json, true, &err) : diyc_error(&err, ENOMEM, "configuration");
	if (r < 0) {
		container_remove(&ct, &s->plan, &(struct diyc_error){ 0 });
		container_close(&ct);
		cli_volumes_undo(&s->paths, &s->plan, steal_ptr(s->created_volumes));
		return fail(&err);
	}
	printf("%s\n", ct.d.name);
	container_close(&ct);
	return 0;
}

static const char create_usage[] =
	"Usage: diyc create [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
	"\n"
	"Create a container without starting it, and print its name. `diyc start NAME` starts it\n"
	"(in the background; `diyc start -a NAME` in the foreground). It takes the options of\n"
	"`diyc run` (see `diyc run --help`) but -d, which does not apply.\n"
	"\n"
	"Exit status: 0, or 125 when the container cannot be created.\n";
static const struct command_options create_options = { "create", create_usage, RUN_SHORTOPTS, run_longopts };

/* run and create: the flags, the image, its defaults and the volumes (docker makes them at
 * create too: an anonymous one needs its name in the configuration), then the container
 * launched, or only created. */
static int run_command(const struct command_options *spec, int argc, char **argv)
{
	bool create = spec == &create_options;
	struct run_flags f = { .init = true, .net = NET_NONE, .slirp = { .mtu = SLIRP_MTU_DEFAULT },
				.limits = { .labels = &cli_cgroup_labels } };
	int r;
	if (!parse_options(spec, argc, argv, run_opt, &f, &r))
		return r;
	if (create && f.detach)
		return usage_error("create", "-d does not apply: create starts nothing (`diyc start NAME` runs "
				   "the container in the background)");
	if ((r = check_run_flags(&f)))
		return r;
	if (optind >= argc)
		return usage_error(spec->cmd, "an image is required: diyc %s [OPTIONS] IMAGE [COMMAND [ARG...]]",
				   spec->cmd);
	struct run_setup s = { .image_ref = argv[optind] };
	r = run_prepare(&f, &s);
	if (r == 0)
		r = run_apply_defaults(&f, argv + optind + 1, &s);
	if (r == 0)
		r = run_volumes(&f, &s);
	if (r == 0)
		r = create ? create_container(&f, &s) : run_launch(&f, &s);
	run_setup_free(&s);
	return r;
}

int cmd_create(int argc, char **argv)
{
	return run_command(&create_options, argc, argv);
}

int cmd_run(int argc, char **argv)
{
	return run_command(&run_options, argc, argv);
}
