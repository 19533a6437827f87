/* SPDX-License-Identifier: MIT */
/* cmd-nsexec.c: `diyc nsexec`: a host command in new namespaces. */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "container/nsexec.h"
#include "container/store.h"
#include "lib/userns.h"

static const char nsexec_usage[] =
	"Usage: diyc nsexec [OPTIONS] COMMAND [ARG...]\n"
	"\n"
	"Run a host command in new namespaces. A normal user always gets a new user namespace\n"
	"(mapping them to root and their subordinate ids above), which allows the others.\n"
	"\n"
	"Options:\n"
	"  -U, --user        New user namespace\n"
	"  -p, --pid         New PID namespace: the command is PID 1 (with -m, /proc is remounted)\n"
	"  -m, --mount       New mount namespace, with private propagation\n"
	"  -n, --net         New network namespace with loopback up\n"
	"  -u, --uts         New UTS namespace\n"
	"  -i, --ipc         New IPC namespace\n"
	"      --hostname H  Hostname in the new UTS namespace (implies -u)\n"
	"      --help        Show this help\n";

enum { OPT_HOSTNAME = 256 };

static const struct option nsexec_longopts[] = {
	{ "user", no_argument, NULL, 'U' }, { "pid", no_argument, NULL, 'p' },
	{ "mount", no_argument, NULL, 'm' }, { "net", no_argument, NULL, 'n' },
	{ "uts", no_argument, NULL, 'u' }, { "ipc", no_argument, NULL, 'i' },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	OPTION_HELP_ENTRY, OPTION_END,
};
static const struct command_options nsexec_options = { "nsexec", nsexec_usage, "+:Upmnui", nsexec_longopts };

struct nsexec_flags {
	struct nsexec_opts opts;
	bool want_user;
};

static int nsexec_opt(int c, const char *arg, void *data)
{
	struct nsexec_flags *f = data;
	switch (c) {
	case 'U': f->want_user = true; break;
	case 'p': f->opts.flags |= CLONE_NEWPID; break;
	case 'm': f->opts.flags |= CLONE_NEWNS; break;
	case 'n': f->opts.flags |= CLONE_NEWNET; break;
	case 'u': f->opts.flags |= CLONE_NEWUTS; break;
	case 'i': f->opts.flags |= CLONE_NEWIPC; break;
	case OPT_HOSTNAME:
		if (!hostname_valid(arg))
			return usage_error("nsexec", "invalid hostname `%s`", arg);
		f->opts.hostname = arg;
		f->opts.flags |= CLONE_NEWUTS;
		break;
	}
	return 0;
}

int cmd_nsexec(int argc, char **argv)
{
	struct nsexec_flags f = { 0 };
	struct nsexec_opts *opts = &f.opts;
	int status;
	if (!parse_options(&nsexec_options, argc, argv, nsexec_opt, &f, &status))
		return status;
	if (optind >= argc)
		return usage_error("nsexec", "a command is required");
	opts->argv = argv + optind;
	struct diyc_error err = { 0 };
	struct userns_plan plan;
	if (userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	/* root gets a user namespace only when it asks for one */
	if (!plan.enabled && f.want_user) {
		plan.enabled = true;
		plan.single = true;
		idmap_build(&plan.uids, 0, NULL, 0);
		idmap_build(&plan.gids, 0, NULL, 0);
	}
	opts->userns = &plan;
	int r = nsexec_run(opts, &status, &err);
	userns_plan_free(&plan);
	if (r != 0)
		return fail(&err);
	return status;
}
