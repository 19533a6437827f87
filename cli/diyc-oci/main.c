/* SPDX-License-Identifier: MIT */
/* main.c: diyc-oci, the runc command line over libdiyc's oci/ layer, for the engines
 * (containerd's shim, dockerd, podman's conmon, CRI-O) that drive a runtime binary. The
 * global flags come before the command, as runc takes them; errors go to stderr and, with
 * --log, to that file too, as one text or JSON line each, since engines read the last one
 * from there. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "oci-cli.h"
#include "security/selfexe.h"
#include "lib/util.h"

struct oci_globals g_oci = { .log_format = "text" };

static FILE *log_file;

static void log_line(const char *level, const char *msg)
{
	if (!log_file)
		return;
	char ts[64];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%09ldZ", now.tv_nsec);
	if (!strcmp(g_oci.log_format, "json")) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(ts));
		fprintf(log_file, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
										 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		_cleanup_free_ char *quoted = str_escape_dup(msg);
		fprintf(log_file, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, quoted ? quoted : msg);
	}
	fflush(log_file);
}

void oci_fail_msg(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	_cleanup_free_ char *safe = str_escape_dup(msg);
	fprintf(stderr, "diyc-oci: %s\n", safe ? safe : msg);
	log_line("error", msg);
}

int oci_fail(const struct diyc_error *err)
{
	oci_fail_msg("%s", err->msg);
	return 1;
}

static void log_handler(enum diyc_log_level level, const char *msg)
{
	if (level == DIYC_LOG_DEBUG && !g_oci.debug)
		return;
	_cleanup_free_ char *safe = str_escape_dup(msg);
	if (!log_file || level == DIYC_LOG_WARN)
		fprintf(stderr, "diyc-oci: %s%s\n", level == DIYC_LOG_WARN ? "warning: " : "", safe ? safe : msg);
	log_line(level == DIYC_LOG_WARN ? "warning" : "debug", msg);
}

static const struct oci_command commands[] = {
	{ "create", cmd_create, "create a container from a bundle, waiting for start", true },
	{ "start", cmd_start, "start a created container", false },
	{ "run", cmd_run, "create and start a container, and wait for it", true },
	{ "state", cmd_state, "print the state of a container as JSON", false },
	{ "kill", cmd_kill, "send a signal to a container's init (--all: to all its processes)", false },
	{ "delete", cmd_delete, "delete a created or stopped container (--force: any)", false },
	{ "exec", cmd_exec, "run a process in a running container", true },
	{ "ps", cmd_ps, "list the processes of a container", false },
	{ "list", cmd_list, "list the containers", false },
	{ "pause", cmd_pause, "freeze every process of a container", false },
	{ "resume", cmd_resume, "thaw a paused container", false },
	{ "update", cmd_update, "change a container's resource limits", false },
	{ "features", cmd_features, "print what this runtime supports, as JSON", false },
	{ "spec", cmd_spec, "write a starting config.json", false },
	{ NULL, NULL, NULL, false },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: diyc-oci [GLOBAL FLAGS] COMMAND [FLAGS] [ID]\n\n"
		   "diyc as an OCI runtime, with runc's command line, for containerd, docker, podman and CRI-O.\n\n"
		   "Commands:\n");
	for (const struct oci_command *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\nGlobal flags:\n"
		   "  --root DIR          where container state is kept (default /run/diyc-oci, or\n"
		   "                      $XDG_RUNTIME_DIR/diyc-oci when not root)\n"
		   "  --log FILE          also write errors and warnings to FILE\n"
		   "  --log-format FMT    text (default) or json\n"
		   "  --systemd-cgroup    linux.cgroupsPath is slice:prefix:name, a systemd scope\n"
		   "  --cgroup-manager M  cgroupfs (default), systemd (as --systemd-cgroup) or disabled\n"
		   "                      (no cgroup; a bundle with limits is refused)\n"
		   "  --debug             log debug messages\n"
		   "  --rootless VALUE    accepted for runc compatibility (diyc decides by itself)\n"
		   "  -v, --version       print the version\n"
		   "  -h, --help          this help; COMMAND --help for a command's flags\n");
}

static void version(void)
{
	printf("diyc-oci version %s\ncommit: %s\nspec: 1.2.0\n", DIYC_VERSION,
#ifdef DIYC_COMMIT
	       DIYC_COMMIT
#else
	       "unknown"
#endif
	);
}

/* The global flags, up to the command. 0, or the exit status when done. */
static int parse_globals(int argc, char **argv, int *next)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' }, { "systemd-cgroup", no_argument, NULL, 's' },
		{ "debug", no_argument, NULL, 'd' }, { "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { "rootless", required_argument, NULL, 'R' },
		{ "criu", required_argument, NULL, 'C' }, { "cgroup-manager", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	/* "+": stop at the command, whose flags are its own */
	while ((c = getopt_long_only(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': g_oci.root = optarg; break;
		case 'l': g_oci.log = optarg; break;
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				fprintf(stderr, "diyc-oci: --log-format must be text or json, not `%s`\n", optarg);
				return 1;
			}
			g_oci.log_format = optarg;
			break;
		case 's': g_oci.systemd_cgroup = true; break;
		case 'd': g_oci.debug = true; diyc_verbose = 1; break;
		case 'v': version(); return -1;
		case 'h': usage(stdout); return -1;
		case 'm':
			/* crun's flag, which podman passes for --cgroups=disabled */
			if (!strcmp(optarg, "systemd"))
				g_oci.systemd_cgroup = true;
			else if (!strcmp(optarg, "disabled"))
				g_oci.no_cgroup = true;
			else if (strcmp(optarg, "cgroupfs")) {
				fprintf(stderr, "diyc-oci: --cgroup-manager must be cgroupfs, systemd or disabled, not `%s`\n",
					optarg);
				return 1;
			}
			break;
		case 'R': case 'C': break;
		default:
			fprintf(stderr, "diyc-oci: unknown global flag (see `diyc-oci --help`)\n");
			return 1;
		}
	}
	*next = optind;
	return 0;
}

static int open_log(void)
{
	if (!g_oci.log)
		return 0;
	/* the engine reads it even when all went well: it must exist */
	log_file = fopen(g_oci.log, "ae");
	if (!log_file) {
		fprintf(stderr, "diyc-oci: open the log file %s: %s\n", g_oci.log, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	diyc_set_log_handler(log_handler);
	int next = 1;
	int r = parse_globals(argc, argv, &next);
	if (r)
		return r < 0 ? 0 : r;
	if ((r = open_log()))
		return r;
	if (!g_oci.root) {
		static char root[4096];
		oci_root_default(root, sizeof(root));
		g_oci.root = root;
	}
	if (next >= argc) {
		usage(stderr);
		return 1;
	}
	for (const struct oci_command *c = commands; c->name; c++) {
		if (strcmp(argv[next], c->name))
			continue;
		if (c->starts_processes) {
			struct diyc_error err = { 0 };
			if (selfexe_prepare(argv, &err) < 0)
				return oci_fail(&err);
		}
		optind = 1;
		return c->fn(argc - next, argv + next);
	}
	oci_fail_msg("unknown command `%s` (see `diyc-oci --help`)", argv[next]);
	return 1;
}
