/* SPDX-License-Identifier: MIT */
/* commands.c: diyc-oci's life-cycle commands (create, start, run, state, kill, delete,
 * ps, list, pause, resume, update), each its flags as runc has them and one library call. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include "oci-cli.h"
#include "oci/console.h"
#include "lib/util.h"

int oci_parse_flags(int argc, char **argv, const struct option *opts, const char *help, int min_args, int max_args,
		    int (*handle)(int c, const char *arg, void *ctx), void *ctx)
{
	return oci_parse_flags_short(argc, argv, "+:h", opts, help, min_args, max_args, handle, ctx);
}

int oci_parse_flags_short(int argc, char **argv, const char *shortopts, const struct option *opts, const char *help,
			  int min_args, int max_args, int (*handle)(int c, const char *arg, void *ctx), void *ctx)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long_only(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == 'h') {
			printf("%s", help);
			return -1;
		}
		if (c == '?' || c == ':') {
			oci_fail_msg("%s: %s `%s` (see `diyc-oci %s --help`)", argv[0],
				     c == ':' ? "a value is needed for" : "unknown flag", argv[optind - 1], argv[0]);
			return 1;
		}
		int r = handle ? handle(c, optarg, ctx) : 0;
		if (r)
			return r;
	}
	int n = argc - optind;
	if (n < min_args || n > max_args) {
		oci_fail_msg("%s: %s (see `diyc-oci %s --help`)", argv[0],
			     n < min_args ? "the container id is missing" : "too many arguments", argv[0]);
		return 1;
	}
	return 0;
}

static int parse_int_flag(const char *name, const char *arg, int *out)
{
	uint64_t v;
	if (parse_u64(arg, 1 << 20, &v) < 0) {
		oci_fail_msg("--%s must be a number, not `%s`", name, arg);
		return 1;
	}
	*out = (int)v;
	return 0;
}

/* ---- create and run ---- */

struct create_flags {
	struct oci_create_opts o;
	bool detach;
};

static const struct option create_opts[] = {
	{ "bundle", required_argument, NULL, 'b' }, { "pid-file", required_argument, NULL, 'p' },
	{ "console-socket", required_argument, NULL, 'c' }, { "no-pivot", no_argument, NULL, 'P' },
	{ "no-new-keyring", no_argument, NULL, 'K' }, { "preserve-fds", required_argument, NULL, 'f' },
	{ "detach", no_argument, NULL, 'd' }, { "keep", no_argument, NULL, 'k' },
	{ "no-subreaper", no_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

static int create_flag(int c, const char *arg, void *ctx)
{
	struct create_flags *f = ctx;
	switch (c) {
	case 'b': f->o.bundle = arg; return 0;
	case 'p': f->o.pid_file = arg; return 0;
	case 'c': f->o.console_socket = arg; return 0;
	case 'P': f->o.no_pivot = true; return 0;
	case 'K': f->o.no_new_keyring = true; return 0;
	case 'f': return parse_int_flag("preserve-fds", arg, &f->o.preserve_fds);
	case 'd': f->detach = true; return 0;
	default: return 0;
	}
}

static const char create_help[] =
	"Usage: diyc-oci create [FLAGS] ID\n\n"
	"Creates a container from a bundle; its process waits until `diyc-oci start ID`.\n\n"
	"  -b, --bundle DIR          the bundle (default: the current directory)\n"
	"  --pid-file FILE           write the container process's pid there\n"
	"  --console-socket PATH     a unix socket to receive the pty master (process.terminal)\n"
	"  --no-pivot                MS_MOVE and chroot instead of pivot_root\n"
	"  --no-new-keyring          keep the caller's session keyring\n"
	"  --preserve-fds N          pass fds 3 to 3+N-1 to the process\n";

static int parse_create(int argc, char **argv, const char *help, struct create_flags *f)
{
	memset(f, 0, sizeof(*f));
	f->o.console_fd = -1;
	int r = oci_parse_flags(argc, argv, create_opts, help, 1, 1, create_flag, f);
	if (r)
		return r;
	f->o.root = g_oci.root;
	f->o.id = argv[optind];
	f->o.bundle = f->o.bundle ? f->o.bundle : ".";
	f->o.systemd_cgroup = g_oci.systemd_cgroup;
	f->o.no_cgroup = g_oci.no_cgroup;
	return 0;
}

int cmd_create(int argc, char **argv)
{
	struct create_flags f;
	int r = parse_create(argc, argv, create_help, &f);
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	pid_t pid;
	return oci_create(&f.o, &pid, &err) < 0 ? oci_fail(&err) : 0;
}

int cmd_start(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int r = oci_parse_flags(argc, argv, opts, "Usage: diyc-oci start ID\n\nStarts a created container.\n", 1, 1,
				NULL, NULL);
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	return oci_start(g_oci.root, argv[optind], &err) < 0 ? oci_fail(&err) : 0;
}

static const char run_help[] =
	"Usage: diyc-oci run [FLAGS] ID\n\n"
	"Creates and starts a container; without --detach waits for it, deletes it and exits\n"
	"with its status.\n\n"
	"  -b, --bundle DIR          the bundle (default: the current directory)\n"
	"  -d, --detach              return once it runs\n"
	"  --pid-file FILE           write the container process's pid there\n"
	"  --console-socket PATH     a unix socket to receive the pty master (process.terminal)\n"
	"  --no-pivot, --no-new-keyring, --preserve-fds N   as for create\n";

/* Whether the container's init sent its pty master (process.terminal): it did so before
 * create returned. */
static bool pty_sent(int relay)
{
	char byte;
	return recv(relay, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

int cmd_run(int argc, char **argv)
{
	struct create_flags f;
	int r = parse_create(argc, argv, run_help, &f);
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	pid_t pid;
	/* the container's init is our child, or (cloned by a joining child) reparented to us */
	if (!f.detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* a terminal without a console socket: we take the pty and relay it */
	_cleanup_close_ int relay = -1;
	if (!f.detach && !f.o.console_socket && oci_console_pair(&relay, &f.o.console_fd, &err) < 0)
		return oci_fail(&err);
	r = oci_create(&f.o, &pid, &err);
	if (f.o.console_fd >= 0)
		close(steal_fd(&f.o.console_fd));
	if (r < 0 || oci_start(f.o.root, f.o.id, &err) < 0) {
		struct diyc_error ignored = { 0 };
		if (err.msg[0] && strstr(err.msg, "exists") == NULL)
			oci_delete(f.o.root, f.o.id, true, &ignored);
		return oci_fail(&err);
	}
	if (f.detach)
		return 0;
	int status = 255;
	if (relay >= 0 && pty_sent(relay)) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		if (oci_console_relay(relay, pid, &status, &err) < 0)
			oci_fail(&err);
	} else
		status = oci_wait_forwarding(pid);
	if (oci_delete(f.o.root, f.o.id, true, &err) < 0)
		oci_fail(&err);
	return status;
}

/* ---- state, kill, delete, ps, list ---- */

static int one_id(int argc, char **argv, const char *help)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	return oci_parse_flags(argc, argv, opts, help, 1, 1, NULL, NULL);
}

int cmd_state(int argc, char **argv)
{
	int r = one_id(argc, argv, "Usage: diyc-oci state ID\n\nPrints the state of a container as JSON.\n");
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	_cleanup_free_ char *json = NULL;
	if (oci_state(g_oci.root, argv[optind], &json, &err) < 0)
		return oci_fail(&err);
	printf("%s\n", json);
	return 0;
}

static int parse_signal(const char *s)
{
	uint64_t n;
	if (parse_u64(s, 64, &n) == 0)
		return n >= 1 ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < SIGRTMIN; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && !strcasecmp(s, abbrev))
			return i;
	}
	if (!strncasecmp(s, "RTMIN+", 6) && parse_u64(s + 6, SIGRTMAX - SIGRTMIN, &n) == 0)
		return SIGRTMIN + (int)n;
	if (!strncasecmp(s, "RTMAX-", 6) && parse_u64(s + 6, SIGRTMAX - SIGRTMIN, &n) == 0)
		return SIGRTMAX - (int)n;
	return -1;
}

static int kill_flag(int c, const char *arg, void *ctx)
{
	if (c == 'a')
		*(bool *)ctx = true;
	return 0;
}

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	bool all = false;
	int r = oci_parse_flags(argc, argv, opts,
				"Usage: diyc-oci kill [--all] ID [SIGNAL]\n\n"
				"Sends SIGNAL (default TERM; a number or a name, with or without SIG) to the\n"
				"container's init, or with -a/--all to every process of the container.\n",
				1, 2, kill_flag, &all);
	if (r)
		return r < 0 ? 0 : r;
	const char *name = optind + 1 < argc ? argv[optind + 1] : "TERM";
	int sig = parse_signal(name);
	if (sig < 0) {
		oci_fail_msg("unknown signal `%s`", name);
		return 1;
	}
	struct diyc_error err = { 0 };
	return oci_kill(g_oci.root, argv[optind], sig, all, &err) < 0 ? oci_fail(&err) : 0;
}

static int force_flag(int c, const char *arg, void *ctx)
{
	if (c == 'f')
		*(bool *)ctx = true;
	return 0;
}

int cmd_delete(int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	bool force = false;
	int r = oci_parse_flags(argc, argv, opts,
				"Usage: diyc-oci delete [--force] ID\n\n"
				"Deletes a created or stopped container; -f/--force kills a running one first.\n",
				1, 1, force_flag, &force);
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	r = oci_delete(g_oci.root, argv[optind], force, &err);
	/* runc: deleting what is not there with --force is no error */
	if (r == -ENOENT && force)
		return 0;
	return r < 0 ? oci_fail(&err) : 0;
}

static int format_flag(int c, const char *arg, void *ctx)
{
	if (c == 'f') {
		if (strcmp(arg, "json") && strcmp(arg, "table")) {
			oci_fail_msg("--format must be table or json, not `%s`", arg);
			return 1;
		}
		*(const char **)ctx = arg;
	}
	return 0;
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *format = "table";
	int r = oci_parse_flags(argc, argv, opts,
				"Usage: diyc-oci ps [--format table|json] ID [ps ARGS]\n\n"
				"Lists the container's processes; --format json prints a JSON array of pids.\n",
				1, 64, format_flag, &format);
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	if (oci_ps(g_oci.root, argv[optind], &pids, &n, &err) < 0)
		return oci_fail(&err);
	if (!strcmp(format, "json")) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", pids[i]);
		printf("]\n");
		return 0;
	}
	printf("PID\n");
	for (size_t i = 0; i < n; i++)
		printf("%d\n", pids[i]);
	return 0;
}

static int list_flag(int c, const char *arg, void *ctx)
{
	if (c == 'q')
		((int *)ctx)[1] = 1;
	else if (c == 'f')
		((int *)ctx)[0] = !strcmp(arg, "json");
	return 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
					      { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int flags[2] = { 0, 0 }; /* json, quiet */
	int r = oci_parse_flags(argc, argv, opts, "Usage: diyc-oci list [--format table|json] [-q]\n\nLists the containers.\n",
				0, 0, list_flag, flags);
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	_cleanup_strv_ char **ids = NULL;
	if (oci_state_list(g_oci.root, &ids, &err) < 0)
		return oci_fail(&err);
	struct json_object *arr = json_object_new_array();
	if (!flags[0] && !flags[1])
		printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *json = NULL;
		if (flags[1]) {
			printf("%s\n", *id);
			continue;
		}
		if (oci_state(g_oci.root, *id, &json, &err) < 0)
			continue;
		struct json_object *o = json_tokener_parse(json), *v;
		if (flags[0]) {
			json_object_array_add(arr, o);
			continue;
		}
#define FIELD(k) (json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "")
		printf("%-24s %-8s %-10s %-40s %s\n", *id, FIELD("pid"), FIELD("status"), FIELD("bundle"), FIELD("created"));
#undef FIELD
		json_object_put(o);
	}
	if (flags[0])
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

/* ---- pause, resume, update ---- */

int cmd_pause(int argc, char **argv)
{
	int r = one_id(argc, argv, "Usage: diyc-oci pause ID\n\nFreezes every process of the container (cgroup v2).\n");
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	return oci_pause(g_oci.root, argv[optind], true, &err) < 0 ? oci_fail(&err) : 0;
}

int cmd_resume(int argc, char **argv)
{
	int r = one_id(argc, argv, "Usage: diyc-oci resume ID\n\nThaws a paused container.\n");
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	return oci_pause(g_oci.root, argv[optind], false, &err) < 0 ? oci_fail(&err) : 0;
}

static int update_flag(int c, const char *arg, void *ctx)
{
	if (c == 'r')
		*(const char **)ctx = arg;
	return 0;
}

int cmd_update(int argc, char **argv)
{
	static const struct option opts[] = { { "resources", required_argument, NULL, 'r' },
					      { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *file = NULL;
	int r = oci_parse_flags(argc, argv, opts,
				"Usage: diyc-oci update --resources FILE|- ID\n\n"
				"Sets new limits from a linux.resources object (JSON; `-` reads stdin).\n",
				1, 1, update_flag, &file);
	if (r)
		return r < 0 ? 0 : r;
	if (!file) {
		oci_fail_msg("update: --resources FILE is needed (the other runc update flags are not supported)");
		return 1;
	}
	_cleanup_free_ char *json = NULL;
	size_t len;
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0 || read_fd_all(fd, 1 << 20, &json, &len) < 0) {
		oci_fail_msg("update: read %s: %s", file, strerror(errno));
		return 1;
	}
	if (fd > 0)
		close(fd);
	struct diyc_error err = { 0 };
	return oci_update(g_oci.root, argv[optind], json, &err) < 0 ? oci_fail(&err) : 0;
}
