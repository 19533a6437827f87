/* SPDX-License-Identifier: MIT */
/* main.c: the command table. Each command parses its own flags in cmd-*.c and calls
 * into the core; errors are printed once, here or in the command, prefixed `diyc: `. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "output.h"
#include "security/selfexe.h"
#include "lib/util.h"

static const char usage[] =
	"Usage: diyc COMMAND [OPTIONS] [ARG...]\n"
	"\n"
	"A container runtime for normal users: no root, no daemon.\n"
	"\n"
	"Commands:\n"
	"  run       Run a command in a new container\n"
	"  start     Start stopped containers again\n"
	"  stop      Stop running containers\n"
	"  kill      Send a signal to running containers\n"
	"  rm        Remove containers\n"
	"  prune     Remove all stopped containers\n"
	"  ps        List containers\n"
	"  exec      Run a command in a running container\n"
	"  logs      Show the output of a detached container\n"
	"  inspect   Show the configuration and state of containers as JSON\n"
	"  stats     Show the memory, process and CPU use of running containers\n"
	"  commit    Make a new image from a container's changes\n"
	"  image     Manage images (import, ls, rm, inspect, prune, export)\n"
	"  images    List images (same as `image ls`)\n"
	"  network   Set up, remove and show the bridge for --net=bridge\n"
	"  nsexec    Run a host command in new namespaces\n"
	"\n"
	"Options:\n"
	"  --help     Show this help\n"
	"  --version  Show the version\n"
	"\n"
	"Run `diyc COMMAND --help` for the options of a command.\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
	bool starts_containers; /* puts processes into a container: see selfexe_prepare */
} commands[] = {
	{ "run", cmd_run, true },
	{ "start", cmd_start, true },
	{ "stop", cmd_stop, false },
	{ "kill", cmd_kill, false },
	{ "rm", cmd_rm, false },
	{ "prune", cmd_prune, false },
	{ "ps", cmd_ps, false },
	{ "exec", cmd_exec, true },
	{ "logs", cmd_logs, false },
	{ "inspect", cmd_inspect, false },
	{ "stats", cmd_stats, false },
	{ "commit", cmd_commit, false },
	{ "image", cmd_image, false },
	{ "images", cmd_images, false },
	{ "network", cmd_network, false },
	{ "nsexec", cmd_nsexec, false },
};

int usage_error(const char *cmd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char line[1200];
	snprintf(line, sizeof(line), "%s (see `diyc %s --help`)", buf, cmd);
	diyc_print_line("diyc: ", line);
	return DIYC_EXIT_RUNTIME;
}

int bad_option(const char *cmd, int ret, char **argv)
{
	const char *arg = argv[optind - 1];
	if (ret == ':')
		return usage_error(cmd, "flag `%s` needs a value", arg);
	if (optopt && !(arg[0] == '-' && arg[1] == '-'))
		return usage_error(cmd, "unknown flag: -%c", optopt);
	return usage_error(cmd, "unknown flag: %s", arg);
}

int env_list_add(char ***list, size_t *n, const char *arg, const char *cmd)
{
	const char *eq = strchr(arg, '=');
	if (arg[0] == '\0' || arg[0] == '=')
		return usage_error(cmd, "invalid environment variable `%s`: expected KEY=VAL", arg);
	char *kv;
	if (eq) {
		kv = strdup(arg);
	} else {
		const char *v = getenv(arg);
		if (!v)
			return 0; /* as docker: an unset variable is left out */
		kv = xasprintf("%s=%s", arg, v);
	}
	if (strv_push(list, n, kv) < 0)
		return usage_error(cmd, "out of memory");
	return 0;
}

int fail(const struct diyc_error *err)
{
	diyc_error_print(err);
	return err->status ? err->status : DIYC_EXIT_RUNTIME;
}

/* The diyc binary out of the containers' reach (security/selfexe.c): on a kernel that cannot
 * repoint a process's executable, diyc runs again from a sealed copy of itself. */
static int prepare_selfexe(int argc, char **argv)
{
	for (size_t i = 0; argc >= 2 && i < ARRAY_SIZE(commands); i++)
		if (commands[i].starts_containers && !strcmp(argv[1], commands[i].name)) {
			struct diyc_error err = { 0 };
			if (selfexe_prepare(argv, &err) < 0)
				return fail(&err);
		}
	return 0;
}

int main(int argc, char **argv)
{
	diyc_set_log_handler(output_log_handler);
	int r = prepare_selfexe(argc, argv);
	if (r)
		return r;
	proc_title_init(argc, argv);
	if (argc < 2) {
		fprintf(stderr, "diyc: a command is required, such as `diyc run IMAGE` (see `diyc --help`)\n");
		return DIYC_EXIT_RUNTIME;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			char *help_argv[] = { argv[2], "--help", NULL };
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(argv[2], commands[i].name))
					return commands[i].fn(2, help_argv);
		}
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("diyc version %s\n", DIYC_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	char line[512];
	if (cmd[0] == '-')
		snprintf(line, sizeof(line), "unknown flag: %s (see `diyc --help`)", cmd);
	else
		snprintf(line, sizeof(line), "unknown command `%s` (see `diyc --help`)", cmd);
	diyc_print_line("diyc: ", line);
	return DIYC_EXIT_RUNTIME;
}
