/* SPDX-License-Identifier: MIT */
/* cmd-exec.c: `diyc exec`: flags, then the container -> container_exec. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "container/exec.h"
#include "lib/util.h"

static const char exec_usage[] =
	"Usage: diyc exec [OPTIONS] NAME COMMAND [ARG...]\n"
	"\n"
	"Run a command in a running container: in all its namespaces, in its root, with its\n"
	"environment.\n"
	"\n"
	"Options:\n"
	"  -t, --tty              Give the command a terminal (a pty)\n"
	"  -i, --interactive      Keep standard input connected\n"
	"  -e, --env KEY=VAL      Set an environment variable (KEY alone: take it from diyc's)\n"
	"  -w, --workdir DIR      Working directory (absolute; default: the container's)\n"
	"  -u, --user UID[:GID]   User to run as, by number or by name (default: the container's)\n"
	"      --help             Show this help\n"
	"\n"
	"Exit status: the command's; 125 when diyc fails, 126 when the command cannot be\n"
	"executed, 127 when it is not found.\n";

static const struct option exec_longopts[] = { PROCESS_LONGOPTS, OPTION_HELP_ENTRY, OPTION_END };
static const struct command_options exec_options = { "exec", exec_usage, "+:" PROCESS_SHORTOPTS, exec_longopts };

static int exec_opt(int c, const char *arg, void *data)
{
	return process_flag("exec", c, arg, data);
}

int cmd_exec(int argc, char **argv)
{
	struct process_flags f = { 0 };
	int status = DIYC_EXIT_RUNTIME;
	if (!parse_options(&exec_options, argc, argv, exec_opt, &f, &status))
		return status;
	if (optind >= argc)
		return usage_error("exec", "a container name and a command are required: "
				   "diyc exec [OPTIONS] NAME COMMAND [ARG...]");
	if (optind + 1 >= argc)
		return usage_error("exec", "a command is required: diyc exec [OPTIONS] NAME COMMAND [ARG...]");
	struct exec_opts o = { .tty = f.tty, .interactive = f.interactive, .env = f.env, .workdir = f.workdir,
			       .user = f.user, .argv = argv + optind + 1 };
	const char *name = argv[optind];

	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct container ct;
	if (paths_init(&p, &err) < 0 || container_open(&p, name, &ct, &err) < 0)
		return fail(&err);
	/* a container being started is not ready until its command runs: its starter holds
	 * the lock until then */
	int r = container_lock(&ct, &err);
	if (r == 0)
		r = container_refresh(&ct, &err);
	container_unlock(&ct);
	if (r == 0 && !ct.have_config)
		r = diyc_error_plain(&err, EINVAL, "container `%s` has no usable configuration", name);
	o.data_dir = p.data;
	if (r == 0)
		r = container_exec(&ct, &o, &status, &err);
	container_close(&ct);
	if (r != 0)
		return fail(&err);
	return status;
}
