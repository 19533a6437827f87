/* SPDX-License-Identifier: MIT */
/* cmd-run.c: `diyc run`: flags, then image -> container directories -> container_run. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "container.h"
#include "hostfiles.h"
#include "image.h"
#include "paths.h"
#include "state.h"
#include "util.h"

static const char run_usage[] =
	"Usage: diyc run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
	"\n"
	"Run a command in a new container.\n"
	"\n"
	"Options:\n"
	"  --name NAME            Name of the container (default: a generated name)\n"
	"      --rm               Remove the container when it exits\n"
	"  -t, --tty              Give the container a terminal (a pty)\n"
	"  -i, --interactive      Keep standard input connected\n"
	"  -e, --env KEY=VAL      Set an environment variable (KEY alone: take it from diyc's)\n"
	"  -w, --workdir DIR      Working directory inside the container (absolute)\n"
	"  -u, --user UID[:GID]   User to run as, by number or by name from the image\n"
	"  -h, --hostname NAME    Hostname of the container (default: its name)\n"
	"      --net, --network MODE  none (own network namespace with loopback only, default)\n"
	"                         or host (share the host's network)\n"
	"      --init[=true|false] Run diyc's minimal init as PID 1 (default true)\n"
	"      --no-init          Same as --init=false: the command is PID 1\n"
	"      --verbose          Print what diyc does, with timestamps\n"
	"      --help             Show this help\n"
	"\n"
	"Exit status: the command's; 125 when diyc fails, 126 when the command cannot be\n"
	"executed, 127 when it is not found, 128+N when it is killed by signal N.\n";

enum { OPT_NAME = 256, OPT_RM, OPT_NET, OPT_INIT, OPT_NO_INIT, OPT_VERBOSE, OPT_HELP };

static const struct option run_options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "tty", no_argument, NULL, 't' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "env", required_argument, NULL, 'e' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "hostname", required_argument, NULL, 'h' },
	{ "net", required_argument, NULL, OPT_NET },
	{ "network", required_argument, NULL, OPT_NET },
	{ "init", optional_argument, NULL, OPT_INIT },
	{ "no-init", no_argument, NULL, OPT_NO_INIT },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct run_flags {
	const char *name, *hostname, *workdir, *user;
	bool rm, tty, interactive, init;
	enum net_mode net;
	char **env;
	size_t n_env;
};

static int add_env(struct run_flags *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (arg[0] == '\0' || arg[0] == '=')
		return usage_error("run", "invalid environment variable `%s`: expected KEY=VAL", arg);
	char *kv;
	if (eq) {
		kv = strdup(arg);
	} else {
		const char *v = getenv(arg);
		if (!v)
			return 0; /* as docker: an unset variable is left out */
		kv = xasprintf("%s=%s", arg, v);
	}
	char **n = realloc(f->env, (f->n_env + 2) * sizeof(char *));
	if (!kv || !n)
		return usage_error("run", "out of memory");
	f->env = n;
	f->env[f->n_env++] = kv;
	f->env[f->n_env] = NULL;
	return 0;
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

static char *config_json(const struct run_flags *f, const struct container_dirs *d, const char *image_ref,
			 const struct image *img, char **argv, const char *hostname)
{
	struct json_object *j = json_object_new_object(), *cmd = json_object_new_array(),
			   *env = json_object_new_array();
	char created[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(j, "name", json_object_new_string(d->name));
	json_object_object_add(j, "image", json_object_new_string(image_ref));
	json_object_object_add(j, "image_id", json_object_new_string(img->id));
	for (char **a = argv; *a; a++)
		json_object_array_add(cmd, json_object_new_string(*a));
	json_object_object_add(j, "command", cmd);
	for (size_t i = 0; i < f->n_env; i++)
		json_object_array_add(env, json_object_new_string(f->env[i]));
	json_object_object_add(j, "env", env);
	json_object_object_add(j, "hostname", json_object_new_string(hostname));
	if (f->workdir)
		json_object_object_add(j, "workdir", json_object_new_string(f->workdir));
	if (f->user)
		json_object_object_add(j, "user", json_object_new_string(f->user));
	json_object_object_add(j, "network", json_object_new_string(f->net == NET_HOST ? "host" : "none"));
	json_object_object_add(j, "tty", json_object_new_boolean(f->tty));
	json_object_object_add(j, "interactive", json_object_new_boolean(f->interactive));
	json_object_object_add(j, "init", json_object_new_boolean(f->init));
	json_object_object_add(j, "rm", json_object_new_boolean(f->rm));
	json_object_object_add(j, "created", json_object_new_string(created));
	char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
	json_object_put(j);
	return s;
}

struct prepare_ctx {
	const struct container_dirs *d;
	const char *json, *hostname;
	bool durable, own_netns;
};

/* Runs while newuidmap/newgidmap write the container's maps. */
static int prepare(void *arg, struct diyc_error *err)
{
	struct prepare_ctx *c = arg;
	int r = container_populate(c->d, err);
	if (r == 0)
		r = container_write_config(c->d, c->json, c->durable, err);
	if (r < 0)
		return r;
	_cleanup_close_ int runfd = open(c->d->run, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (runfd < 0)
		return diyc_error(err, errno, "open `%s`", c->d->run);
	r = hostfiles_write(runfd, c->hostname, c->own_netns, err);
	diyc_debug("container `%s` prepared", c->d->name);
	return r;
}

int cmd_run(int argc, char **argv)
{
	struct run_flags f = { .init = true, .net = NET_NONE };
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:tie:w:u:h:", run_options, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			if (!container_name_valid(optarg))
				return usage_error("run", "invalid container name `%s`: use letters, digits and `_.-`, "
					"starting with a letter or digit, at most %d characters", optarg,
					CONTAINER_NAME_MAX);
			f.name = optarg;
			break;
		case OPT_RM: f.rm = true; break;
		case 't': f.tty = true; break;
		case 'i': f.interactive = true; break;
		case 'e':
			if (add_env(&f, optarg))
				return DIYC_EXIT_RUNTIME;
			break;
		case 'w':
			if (optarg[0] != '/')
				return usage_error("run", "working directory `%s` must be an absolute path", optarg);
			f.workdir = optarg;
			break;
		case 'u': f.user = optarg; break;
		case 'h':
			if (!hostname_valid(optarg))
				return usage_error("run", "invalid hostname `%s`: use letters, digits, `-` and `.`, "
					"at most 63 characters", optarg);
			f.hostname = optarg;
			break;
		case OPT_NET:
			if (!strcmp(optarg, "none"))
				f.net = NET_NONE;
			else if (!strcmp(optarg, "host"))
				f.net = NET_HOST;
			else if (!strcmp(optarg, "slirp") || !strcmp(optarg, "bridge"))
				return usage_error("run", "network `%s` is not available in this version of diyc: "
					"use none or host", optarg);
			else
				return usage_error("run", "unknown network `%s`: use none or host", optarg);
			break;
		case OPT_INIT:
			if (parse_bool(optarg, &f.init) < 0)
				return usage_error("run", "--init takes true or false, not `%s`", optarg);
			break;
		case OPT_NO_INIT: f.init = false; break;
		case OPT_VERBOSE: diyc_verbose = 1; break;
		case OPT_HELP:
			fputs(run_usage, stdout);
			return 0;
		default:
			return bad_option("run", c, argv);
		}
	}
	if (optind >= argc)
		return usage_error("run", "an image is required: diyc run [OPTIONS] IMAGE [COMMAND [ARG...]]");
	const char *image_ref = argv[optind];
	char **cmd = argv + optind + 1;
	static char *default_cmd[] = { "sh", NULL };
	if (!*cmd)
		cmd = default_cmd;

	struct diyc_error err = { 0 };
	struct diyc_paths paths;
	if (paths_init(&paths, &err) < 0)
		return fail(&err);
	struct image img;
	if (image_resolve(&paths, image_ref, &img, &err) < 0)
		return fail(&err);
	struct userns_plan plan;
	if (userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	diyc_debug("image %.12s resolved", img.id);

	struct container_dirs d;
	if (container_create(&paths, f.name, &d, &err) < 0)
		return fail(&err);
	char hostname[64];
	if (f.hostname)
		snprintf(hostname, sizeof(hostname), "%s", f.hostname);
	else
		hostname_from_name(d.name, hostname, sizeof(hostname));

	int status = DIYC_EXIT_RUNTIME, r;
	_cleanup_free_ char *json = config_json(&f, &d, image_ref, &img, cmd, hostname);
	struct prepare_ctx prep = { .d = &d, .json = json, .hostname = hostname, .durable = !f.rm,
				    .own_netns = f.net != NET_HOST };
	struct container_spec spec = {
		.name = d.name, .hostname = hostname, .lowerdirs = img.layer_dirs,
		.upperdir = d.upper, .workdir = d.work, .rootfs = d.rootfs, .hostfiles = d.run,
		.argv = cmd, .env = f.env, .workdir_in = f.workdir, .user = f.user,
		.tty = f.tty, .interactive = f.interactive, .init = f.init, .net = f.net,
		.userns = &plan,
	};
	if (!json)
		r = diyc_error(&err, ENOMEM, "configuration");
	else
		r = container_run(&spec, prepare, &prep, &status, &err);
	bool started = r >= 0;
	if (f.rm || !started) {
		/* a container that never started leaves nothing behind */
		struct diyc_error rmerr = { 0 };
		diyc_debug("removing");
		if (container_remove_dirs(&d, &plan, &rmerr) < 0)
			diyc_warn("could not remove container `%s`: %s", d.name, rmerr.msg);
	} else {
		/* the runtime part (mount point, generated files) is rebuilt at the next start */
		rm_rf(d.run);
	}
	diyc_debug("done");
	image_free(&img);
	userns_plan_free(&plan);
	if (r != 0)
		return fail(&err);
	return status;
}
