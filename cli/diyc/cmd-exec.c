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

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tty", no_argument, NULL, 't' }, { "interactive", no_argument, NULL, 'i' },
		{ "env", required_argument, NULL, 'e' }, { "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' }, { "help", no_argument, NULL, 'H' }, { NULL, 0, NULL, 0 },
	};
	struct exec_opts o = { 0 };
	size_t n_env = 0;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:tie:w:u:", opts, NULL)) != -1) {
		switch (c) {
		case 't': o.tty = true; break;
		case 'i': o.interactive = true; break;
		case 'e':
			if (env_list_add(&o.env, &n_env, optarg, "exec"))
				return DIYC_EXIT_RUNTIME;
			break;
		case 'w':
			if (optarg[0] != '/')
				return usage_error("exec", "working directory `%s` must be an absolute path", optarg);
			o.workdir = optarg;
			break;
		case 'u': o.user = optarg; break;
		case 'H':
			fputs(exec_usage, stdout);
			return 0;
		default:
			return bad_option("exec", c, argv);
		}
	}
	if (optind >= argc)
		return usage_error("exec", "a container name and a command are required: "
				   "diyc exec [OPTIONS] NAME COMMAND [ARG...]");
	if (optind + 1 >= argc)
		return usage_error("exec", "a command is required: diyc exec [OPTIONS] NAME COMMAND [ARG...]");
	const char *name = argv[optind];
	o.argv = argv + optind + 1;

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
	int status = DIYC_EXIT_RUNTIME;
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
