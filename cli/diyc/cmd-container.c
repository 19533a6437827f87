/* SPDX-License-Identifier: MIT */
/* cmd-container.c: the commands that act on existing containers: start, stop, kill,
 * rm, prune, ps, inspect and logs. Each one parses its flags and calls container/control.c or
 * container/store.c; several names are each handled, and any failure makes the exit status 125. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>
#include "security/caps.h"
#include "commands.h"
#include "each.h"
#include "output.h"
#include "image/image.h"
#include "container/control.h"
#include "container/disk.h"
#include "lib/util.h"
#include "ps-filter.h"
#include "volumes-cli.h"

/* Opens NAME after the usual set-up; prints the error and returns false on failure. */
static bool open_named(const struct diyc_paths *p, const char *name, struct container *c)
{
	struct diyc_error err = { 0 };
	if (container_open(p, name, c, &err) < 0) {
		diyc_error_print(&err);
		return false;
	}
	return true;
}

/* Runs fn on each named container, printing the name when it succeeds; the exit
 * status is 125 if any failed. */
typedef int (*named_action)(struct container *c, void *arg, struct diyc_error *err);
struct named {
	const struct diyc_paths *p;
	named_action fn;
	void *arg;
};

static int open_and_act(const char *name, void *data, struct diyc_error *err)
{
	const struct named *n = data;
	struct container c;
	int r = container_open(n->p, name, &c, err);
	if (r < 0)
		return r;
	r = n->fn(&c, n->arg, err);
	container_close(&c);
	return r < 0 ? r : 0;
}

static int for_each_named(const struct diyc_paths *p, int first, int argc, char **argv, named_action fn, void *arg)
{
	struct named n = { p, fn, arg };
	return act_on_each(argv + first, argc - first, open_and_act, &n);
}

static int init_paths(struct diyc_paths *p)
{
	struct diyc_error err = { 0 };
	if (paths_init(p, &err) < 0)
		return fail(&err);
	return 0;
}

/* ---- start ---------------------------------------------------------------------- */

static const char start_usage[] =
	"Usage: diyc start [OPTIONS] NAME...\n"
	"\n"
	"Start stopped containers again, with the configuration they were created with and\n"
	"their changes to the file system kept. Without -a they run in the background and\n"
	"their names are printed; a running container is left as it is.\n"
	"\n"
	"Options:\n"
	"  -a, --attach       Run in the foreground, with the output on your terminal (one NAME);\n"
	"                     the exit status is the command's\n"
	"  -i, --interactive  Keep standard input connected\n"
	"      --verbose      Print what diyc does, with timestamps\n"
	"      --help         Show this help\n";

struct start_flags {
	bool attach, interactive;
};

static int start_opt(int c, const char *arg, void *data)
{
	struct start_flags *f = data;
	if (c == 'a')
		f->attach = true;
	else if (c == 'i')
		f->interactive = true;
	return 0;
}

static int start_one(const struct diyc_paths *p, const char *name, const struct start_flags *f, int *status,
		     struct diyc_error *err)
{
	struct container c;
	int r = container_open(p, name, &c, err);
	if (r < 0)
		return r;
	if ((r = container_lock(&c, err)) < 0 || (r = container_refresh(&c, err)) < 0)
		goto out;
	if (c.st.status == STATUS_RUNNING || container_take_monitor(&c) == -EBUSY) {
		if (f->attach)
			r = diyc_error_plain(err, EBUSY, "container `%s` is running already: use `diyc exec %s COMMAND` "
					     "to run something in it", name, name);
		else
			printf("%s\n", name);
		goto out;
	}
	if (!c.have_config) {
		r = diyc_error_plain(err, EINVAL, "container `%s` has no usable configuration (config.json): "
				     "remove it with `diyc rm %s`", name, name);
		goto out;
	}
	struct image img;
	if ((r = image_resolve(p, c.cfg.image_id, &img, err)) < 0) {
		r = diyc_error_plain(err, ENOENT, "the image of container `%s` (%s, %.12s) is not in the store any "
				     "more", name, c.cfg.image, c.cfg.image_id);
		goto out;
	}
	struct userns_plan plan;
	if ((r = userns_plan_init(&plan, err)) == 0 && (r = cli_volumes_prepare(p, c.cfg.mounts, c.cfg.n_mounts,
										 NULL, err)) < 0)
		userns_plan_free(&plan);
	if (r == 0) {
		struct launch_opts o = { .detach = !f->attach, .interactive = f->interactive || c.cfg.interactive,
					 .data_dir = p->data };
		if (f->attach)
			o.interactive = f->interactive;
		c.cfg.limits.labels = &cli_cgroup_labels;
		r = container_launch(&c, &c.cfg, img.layer_dirs, &plan, &o, status, err);
		if (r == 0 && !f->attach)
			printf("%s\n", name);
		userns_plan_free(&plan);
	}
	image_free(&img);
out:
	container_unlock(&c);
	container_close(&c);
	return r;
}

int cmd_start(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attach", no_argument, NULL, 'a' }, { "interactive", no_argument, NULL, 'i' },
		OPTION_VERBOSE_ENTRY, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "start", start_usage, "+:ai", opts };
	struct start_flags f = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, start_opt, &f, &r))
		return r;
	if (optind >= argc)
		return usage_error("start", "a container name is required: diyc start [OPTIONS] NAME...");
	if (f.attach && argc - optind > 1)
		return usage_error("start", "-a attaches to one container only");
	struct diyc_paths p;
	if ((r = init_paths(&p)))
		return r;
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		struct diyc_error err = { 0 };
		int status = 0;
		fflush(stdout);
		r = start_one(&p, argv[i], &f, &status, &err);
		if (r != 0)
			ret = fail(&err);
		else if (f.attach)
			ret = status;
	}
	return ret;
}

/* ---- stop and kill ---------------------------------------------------------------- */

static const char stop_usage[] =
	"Usage: diyc stop [OPTIONS] NAME...\n"
	"\n"
	"Stop running containers: SIGTERM to the container's PID 1, then SIGKILL if it has not\n"
	"ended after the timeout. Prints each name once its container has ended.\n"
	"\n"
	"Options:\n"
	"  -t, --time SECONDS  Seconds to wait before SIGKILL (default 10)\n"
	"      --help          Show this help\n";

/* stop and kill: options whose value goes to the action, then one or more names. */
static int act_on_named(const struct command_options *spec, int argc, char **argv, option_fn on_opt,
			named_action fn, void *arg)
{
	int r;
	if (!parse_options(spec, argc, argv, on_opt, arg, &r))
		return r;
	if (optind >= argc)
		return usage_error(spec->cmd, "a container name is required: diyc %s [OPTIONS] NAME...", spec->cmd);
	struct diyc_paths p;
	if ((r = init_paths(&p)))
		return r;
	return for_each_named(&p, optind, argc, argv, fn, arg);
}

static int stop_opt(int c, const char *arg, void *data)
{
	uint64_t v;
	if (parse_u64(arg, 1000000, &v) < 0)
		return usage_error("stop", "invalid timeout `%s`: give a number of seconds", arg);
	*(unsigned *)data = (unsigned)v;
	return 0;
}

static int stop_action(struct container *c, void *arg, struct diyc_error *err)
{
	return container_stop(c, *(unsigned *)arg, err);
}

int cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' }, { "timeout", required_argument, NULL, 't' },
		OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "stop", stop_usage, "+:t:", opts };
	unsigned timeout = 10;
	return act_on_named(&spec, argc, argv, stop_opt, stop_action, &timeout);
}

static const char kill_usage[] =
	"Usage: diyc kill [OPTIONS] NAME...\n"
	"\n"
	"Send a signal to the PID 1 of running containers.\n"
	"\n"
	"Options:\n"
	"  -s, --signal SIGNAL  Signal name (KILL, SIGTERM, ...) or number (default KILL)\n"
	"      --help           Show this help\n";

static int kill_opt(int c, const char *arg, void *data)
{
	int sig = signal_parse(arg);
	if (sig < 0)
		return usage_error("kill", "unknown signal `%s`: give a name such as TERM or KILL, or a number",
				   arg);
	*(int *)data = sig;
	return 0;
}

static int kill_action(struct container *c, void *arg, struct diyc_error *err)
{
	return container_signal(c, *(int *)arg, err);
}

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' }, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "kill", kill_usage, "+:s:", opts };
	int sig = SIGKILL;
	return act_on_named(&spec, argc, argv, kill_opt, kill_action, &sig);
}

/* ---- rm and prune ----------------------------------------------------------------- */

static const char rm_usage[] =
	"Usage: diyc rm [OPTIONS] NAME...\n"
	"\n"
	"Remove containers that are not running: their changes, configuration and log.\n"
	"\n"
	"Options:\n"
	"  -f, --force    Kill running containers first\n"
	"  -v, --volumes  Remove their anonymous volumes too (named volumes stay)\n"
	"      --help     Show this help\n";

struct rm_args {
	bool force, volumes;
	const struct userns_plan *plan;
	const struct diyc_paths *paths;
};

static int rm_action(struct container *c, void *arg, struct diyc_error *err)
{
	const struct rm_args *a = arg;
	int r = container_rm(c, a->force, a->plan, err);
	if (r == 0 && a->volumes && c->have_config)
		cli_volumes_remove_anonymous(a->paths, &c->cfg, a->plan);
	return r;
}

static int rm_opt(int c, const char *arg, void *data)
{
	struct rm_args *a = data;
	if (c == 'f')
		a->force = true;
	else if (c == 'v')
		a->volumes = true;
	return 0;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "volumes", no_argument, NULL, 'v' }, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "rm", rm_usage, "+:fv", opts };
	struct rm_args a = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, rm_opt, &a, &r))
		return r;
	if (optind >= argc)
		return usage_error("rm", "a container name is required: diyc rm [OPTIONS] NAME...");
	struct diyc_paths p;
	struct userns_plan plan;
	struct diyc_error err = { 0 };
	if ((r = init_paths(&p)))
		return r;
	if (userns_plan_init_quiet(&plan, true, &err) < 0)
		return fail(&err);
	a.plan = &plan;
	a.paths = &p;
	int ret = for_each_named(&p, optind, argc, argv, rm_action, &a);
	container_clean_leftovers(&p, &plan);
	/* and what an interrupted import, commit or export left */
	image_clean_leftovers(&p, &plan);
	userns_plan_free(&plan);
	return ret;
}

static const char prune_usage[] =
	"Usage: diyc prune [OPTIONS]\n"
	"\n"
	"Remove every container that is not running, and whatever an interrupted diyc left\n"
	"in the store. Prints the names removed.\n"
	"\n"
	"Options:\n"
	"  -f, --force  Accepted for compatibility: diyc does not ask\n"
	"      --help   Show this help\n";

int cmd_prune(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "prune", prune_usage, "+:f", opts };
	bool force = false;
	int r;
	if (!parse_options(&spec, argc, argv, bool_option, &force, &r))
		return r;
	if (optind < argc)
		return usage_error("prune", "unexpected argument `%s`", argv[optind]);
	struct diyc_paths p;
	struct userns_plan plan;
	struct diyc_error err = { 0 };
	if ((r = init_paths(&p)))
		return r;
	if (userns_plan_init_quiet(&plan, true, &err) < 0)
		return fail(&err);
	_cleanup_strv_ char **names = NULL;
	if (container_list(&p, &names, &err) < 0) {
		userns_plan_free(&plan);
		return fail(&err);
	}
	int ret = 0;
	for (char **n = names; *n; n++) {
		struct container c;
		memset(&err, 0, sizeof(err));
		if (container_open(&p, *n, &c, &err) < 0)
			continue; /* removed meanwhile */
		if (c.st.status != STATUS_RUNNING) {
			if (container_rm(&c, false, &plan, &err) == 0)
				printf("%s\n", *n);
			else if (err.errnum != EBUSY)
				ret = fail(&err);
		}
		container_close(&c);
	}
	container_clean_leftovers(&p, &plan);
	/* and what an interrupted import, commit or export left */
	image_clean_leftovers(&p, &plan);
	userns_plan_free(&plan);
	return ret;
}

/* ---- ps and inspect -------------------------------------------------------------------- */

static const char ps_usage[] =
	"Usage: diyc ps [OPTIONS]\n"
	"\n"
	"List containers: running ones, or all with -a.\n"
	"\n"
	"Options:\n"
	"  -a, --all            Show all containers, not only running ones\n"
	"  -f, --filter KEY=VALUE  Show only the containers that match: name=PART, label=KEY[=VALUE],\n"
	"                       status=created|running|exited, exited=CODE, ancestor=IMAGE,\n"
	"                       volume=NAME (a volume, a bind mount's host path, or a mount point);\n"
	"                       repeated: any value of a key, all keys (status and exited show\n"
	"                       stopped containers without -a)\n"
	"  -q, --quiet          Print names only\n"
	"      --format FORMAT  table (default) or json\n"
	"      --help           Show this help\n";

struct ps_flags {
	bool all, quiet;
	enum output_format format;
	struct ps_filters filters;
};

static int ps_opt(int c, const char *arg, void *data)
{
	struct ps_flags *f = data;
	if (c == 'f')
		return ps_filter_add("ps", &f->filters, arg);
	if (c == 'a')
		f->all = true;
	else if (c == 'q')
		f->quiet = true;
	else if (c == OPTION_FORMAT)
		return parse_format("ps", arg, &f->format);
	return 0;
}

static char *status_text(const struct container *c)
{
	if (c->st.status == STATUS_EXITED)
		return xasprintf("exited (%d%s)", c->st.exit_code, c->st.oom_killed ? ", OOM-killed" : "");
	return strdup(container_status_name(c->st.status));
}

static char *command_text(const struct container *c)
{
	size_t len = 1;
	for (char **a = c->have_config ? c->cfg.command : NULL; a && *a; a++)
		len += strlen(*a) + 1;
	char *s = calloc(1, len);
	if (!s)
		return NULL;
	for (char **a = c->have_config ? c->cfg.command : NULL; a && *a; a++) {
		if (a != c->cfg.command)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

static void ago(const char *rfc3339, char *out, size_t size)
{
	struct tm tm = { 0 };
	if (!rfc3339[0] || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(out, size, "-");
		return;
	}
	long d = (long)(time(NULL) - timegm(&tm));
	if (d < 0)
		d = 0;
	if (d < 60)
		snprintf(out, size, "%ld second%s ago", d, d == 1 ? "" : "s");
	else if (d < 3600)
		snprintf(out, size, "%ld minute%s ago", d / 60, d / 60 == 1 ? "" : "s");
	else if (d < 86400)
		snprintf(out, size, "%ld hour%s ago", d / 3600, d / 3600 == 1 ? "" : "s");
	else
		snprintf(out, size, "%ld day%s ago", d / 86400, d / 86400 == 1 ? "" : "s");
}

static struct json_object *strv_array(char **v)
{
	struct json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

/* "127.0.0.1:8080->80/tcp, ..." as docker ps shows published ports; malloc'd */
static char *ports_text(const struct container *c)
{
	size_t n = c->have_config ? c->cfg.n_ports : 0;
	char *out = calloc(1, n * 64 + 1);
	for (size_t i = 0; out && i < n; i++) {
		char one[96];
		if (i)
			strcat(out, ", ");
		strcat(out, port_map_format(&c->cfg.ports[i], one, sizeof(one)));
	}
	return out;
}

static struct json_object *ps_json(const struct container *c)
{
	struct json_object *o = json_object_new_object();
	_cleanup_free_ char *status = status_text(c);
	json_object_object_add(o, "Name", json_object_new_string(c->d.name));
	json_object_object_add(o, "Image", json_object_new_string(c->have_config ? c->cfg.image : ""));
	json_object_object_add(o, "ImageID", json_object_new_string(c->have_config ? c->cfg.image_id : ""));
	json_object_object_add(o, "Command", strv_array(c->have_config ? c->cfg.command : NULL));
	json_object_object_add(o, "State", json_object_new_string(container_status_name(c->st.status)));
	json_object_object_add(o, "Status", json_object_new_string(status ? status : ""));
	json_object_object_add(o, "ExitCode", json_object_new_int(c->st.status == STATUS_EXITED ? c->st.exit_code : 0));
	json_object_object_add(o, "OOMKilled", json_object_new_boolean(c->st.oom_killed));
	json_object_object_add(o, "Pid", json_object_new_int(c->st.status == STATUS_RUNNING ? c->st.pid : 0));
	json_object_object_add(o, "Created", json_object_new_string(c->have_config ? c->cfg.created : ""));
	json_object_object_add(o, "StartedAt", json_object_new_string(c->st.started_at));
	json_object_object_add(o, "FinishedAt", json_object_new_string(c->st.finished_at));
	_cleanup_free_ char *ports = ports_text(c);
	json_object_object_add(o, "Ports", json_object_new_string(ports ? ports : ""));
	json_object_object_add(o, "IPAddress", json_object_new_string(c->st.status == STATUS_RUNNING ? c->st.ip : ""));
	return o;
}

#define PS_COLS 8
struct ps_row {
	char *cols[PS_COLS];
};

/* Cuts escaped text to max columns, the last three "..." (at a character boundary). */
static void cut_columns(char *s, size_t max)
{
	if (!s || str_columns(s) <= max)
		return;
	size_t cols = 0;
	char *c = s;
	for (; *c; c++) {
		if ((*c & 0xc0) != 0x80 && cols++ == max - 3)
			break;
	}
	strcpy(c, "...");
}

/* One row of the table, every column escaped (what a container's configuration holds
 * came from an image or a user); false when out of memory. */
static bool ps_row_make(const struct container *c, const char *name, struct ps_row *row)
{
	char started[64], pid[16];
	ago(c->st.started_at, started, sizeof(started));
	snprintf(pid, sizeof(pid), "%d", c->st.status == STATUS_RUNNING ? c->st.pid : 0);
	if (c->st.status != STATUS_RUNNING)
		snprintf(pid, sizeof(pid), "-");
	bool has_ip = c->st.status == STATUS_RUNNING && c->st.ip[0];
	_cleanup_free_ char *cmd = command_text(c);
	_cleanup_free_ char *status = status_text(c);
	_cleanup_free_ char *ports = ports_text(c);
	const char *raw[PS_COLS] = { name, c->have_config ? c->cfg.image : "-", cmd, status, started, pid,
				     has_ip ? c->st.ip : "-", ports };
	bool ok = true;
	for (int k = 0; k < PS_COLS; k++)
		ok = (row->cols[k] = str_escape_dup(raw[k] ? raw[k] : "")) && ok;
	cut_columns(row->cols[2], 40);
	return ok;
}

static void ps_print_table(struct ps_row *rows, size_t nrows)
{
	static const char *heads[PS_COLS] = { "NAME", "IMAGE", "COMMAND", "STATUS", "STARTED", "PID", "ADDRESS",
					      "PORTS" };
	size_t w[PS_COLS];
	for (int k = 0; k < PS_COLS; k++) {
		w[k] = strlen(heads[k]);
		for (size_t i = 0; i < nrows; i++)
			if (rows[i].cols[k] && str_columns(rows[i].cols[k]) > w[k])
				w[k] = str_columns(rows[i].cols[k]);
	}
	for (size_t i = 0; i <= nrows; i++) {
		for (int k = 0; k < PS_COLS; k++) {
			const char *v = i == 0 ? heads[k] : rows[i - 1].cols[k] ? rows[i - 1].cols[k] : "";
			if (k < PS_COLS - 1) {
				print_cell(stdout, v, w[k]);
				fputs("   ", stdout);
			} else {
				printf("%s\n", v);
			}
		}
	}
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "quiet", no_argument, NULL, 'q' },
		{ "filter", required_argument, NULL, 'f' }, OPTION_FORMAT_ENTRY, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "ps", ps_usage, "+:aqf:", opts };
	struct ps_flags f = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, ps_opt, &f, &r)) {
		ps_filters_free(&f.filters);
		return r;
	}
	if (optind < argc) {
		ps_filters_free(&f.filters);
		return usage_error("ps", "unexpected argument `%s`", argv[optind]);
	}
	f.all = f.all || ps_filters_want_all(&f.filters);
	struct diyc_paths p;
	struct diyc_error err = { 0 };
	if ((r = init_paths(&p)))
		return r;
	_cleanup_strv_ char **names = NULL;
	if (container_list(&p, &names, &err) < 0)
		return fail(&err);
	struct json_object *arr = json_object_new_array();
	size_t nrows = 0;
	struct ps_row *rows = NULL;
	for (char **n = names; *n; n++) {
		struct container c;
		if (container_open(&p, *n, &c, &err) < 0)
			continue; /* removed meanwhile */
		if ((f.all || c.st.status == STATUS_RUNNING) && ps_filters_match(&f.filters, &c)) {
			if (f.format == OUTPUT_JSON) {
				json_object_array_add(arr, ps_json(&c));
			} else if (f.quiet) {
				_cleanup_free_ char *e = str_escape_dup(*n);
				printf("%s\n", e ? e : "");
			} else {
				struct ps_row *nr = realloc(rows, (nrows + 1) * sizeof(*rows));
				if (nr) {
					rows = nr;
					ps_row_make(&c, *n, &rows[nrows++]);
				}
			}
		}
		container_close(&c);
	}
	if (f.format == OUTPUT_JSON)
		print_json(arr);
	else if (!f.quiet)
		ps_print_table(rows, nrows);
	for (size_t i = 0; i < nrows; i++)
		for (int k = 0; k < PS_COLS; k++)
			free(rows[i].cols[k]);
	free(rows);
	json_object_put(arr);
	ps_filters_free(&f.filters);
	return 0;
}

static const char inspect_usage[] =
	"Usage: diyc inspect NAME...\n"
	"\n"
	"Show the configuration and state of containers as a JSON array.\n"
	"\n"
	"Options:\n"
	"  --help  Show this help\n";

/* docker's HostConfig fields, and the resulting set (diyc's own) */
static void inspect_security(struct json_object *host, const struct security_config *sec)
{
	struct json_object *add = json_object_new_array(), *drop = json_object_new_array(), *opts = json_object_new_array();
	for (char **n = sec->cap_add; n && *n; n++)
		json_object_array_add(add, json_object_new_string(*n));
	for (char **n = sec->cap_drop; n && *n; n++)
		json_object_array_add(drop, json_object_new_string(*n));
	if (sec->no_new_privs)
		json_object_array_add(opts, json_object_new_string("no-new-privileges"));
	if (sec->seccomp == SECCOMP_UNCONFINED)
		json_object_array_add(opts, json_object_new_string("seccomp=unconfined"));
	else if (sec->seccomp == SECCOMP_PROFILE)
		json_object_array_add(opts, json_object_new_string("seccomp=(profile copied at run)"));
	json_object_object_add(host, "CapAdd", add);
	json_object_object_add(host, "CapDrop", drop);
	json_object_object_add(host, "SecurityOpt", opts);
	json_object_object_add(host, "Privileged", json_object_new_boolean(sec->privileged));
	json_object_object_add(host, "ReadonlyRootfs", json_object_new_boolean(sec->read_only));
	cap_mask set = caps_all();
	struct diyc_error ignore;
	_cleanup_strv_ char **names = NULL;
	struct json_object *caps = json_object_new_array();
	if ((sec->privileged || caps_compute(sec->cap_add, sec->cap_drop, &set, &ignore) == 0) &&
	    caps_names(set, &names) == 0)
		for (char **n = names; *n; n++)
			json_object_array_add(caps, json_object_new_string(*n));
	json_object_object_add(host, "Capabilities", caps);
}

static struct json_object *inspect_state(const struct container *c)
{
	struct json_object *state = json_object_new_object();
	bool running = c->st.status == STATUS_RUNNING;
	json_object_object_add(state, "Status", json_object_new_string(container_status_name(c->st.status)));
	json_object_object_add(state, "Running", json_object_new_boolean(running));
	json_object_object_add(state, "Pid", json_object_new_int(running ? c->st.pid : 0));
	json_object_object_add(state, "MonitorPid", json_object_new_int(running ? c->st.monitor_pid : 0));
	json_object_object_add(state, "ExitCode",
			       json_object_new_int(c->st.status == STATUS_EXITED ? c->st.exit_code : 0));
	json_object_object_add(state, "MonitorLost", json_object_new_boolean(c->st.monitor_lost));
	json_object_object_add(state, "OOMKilled", json_object_new_boolean(c->st.oom_killed));
	json_object_object_add(state, "Cgroup", json_object_new_string(running ? c->st.cgroup : ""));
	json_object_object_add(state, "CgroupScope", json_object_new_string(running ? c->st.cgroup_scope : ""));
	json_object_object_add(state, "StartedAt", json_object_new_string(c->st.started_at));
	json_object_object_add(state, "FinishedAt", json_object_new_string(c->st.finished_at));
	return state;
}

static void inspect_config(struct json_object *config, const struct container_config *cfg)
{
	json_object_object_add(config, "Cmd", strv_array(cfg->command));
	json_object_object_add(config, "Env", strv_array(cfg->env));
	json_object_object_add(config, "Hostname", json_object_new_string(cfg->hostname));
	json_object_object_add(config, "WorkingDir", json_object_new_string(cfg->workdir ? cfg->workdir : ""));
	json_object_object_add(config, "User", json_object_new_string(cfg->user ? cfg->user : ""));
	json_object_object_add(config, "Tty", json_object_new_boolean(cfg->tty));
	json_object_object_add(config, "OpenStdin", json_object_new_boolean(cfg->interactive));
	json_object_object_add(config, "Init", json_object_new_boolean(cfg->init));
	json_object_object_add(config, "Labels", image_labels_json(cfg->labels));
	json_object_object_add(config, "ExposedPorts", image_exposed_json(cfg->exposed));
}

/* -v and --tmpfs: docker's Binds ["SRC:DST[:ro]"] and Tmpfs {"DST": "OPTIONS"} */
static void inspect_mounts(struct json_object *binds, struct json_object *tmpfs, const struct container_config *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct mount_entry *m = &cfg->mounts[i];
		if (m->kind == MOUNT_BIND || m->kind == MOUNT_VOLUME) {
			_cleanup_free_ char *b = xasprintf("%s:%s%s", m->source ? m->source : "", m->target,
							   m->readonly ? ":ro" : "");
			json_object_array_add(binds, json_object_new_string(b ? b : ""));
		} else {
			json_object_object_add(tmpfs, m->target, json_object_new_string(m->options ? m->options : ""));
		}
	}
}

/* docker's form: {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]} */
static struct json_object *inspect_ports(const struct container_config *cfg)
{
	struct json_object *bindings = json_object_new_object();
	for (size_t i = 0; i < cfg->n_ports; i++) {
		const struct port_map *m = &cfg->ports[i];
		char key[16], hport[8];
		snprintf(key, sizeof(key), "%u/%s", m->container_port, m->proto == PORT_UDP ? "udp" : "tcp");
		snprintf(hport, sizeof(hport), "%u", m->host_port);
		struct json_object *list;
		if (!json_object_object_get_ex(bindings, key, &list)) {
			list = json_object_new_array();
			json_object_object_add(bindings, key, list);
		}
		struct json_object *b = json_object_new_object();
		json_object_object_add(b, "HostIp", json_object_new_string(m->host_ip));
		json_object_object_add(b, "HostPort", json_object_new_string(hport));
		json_object_array_add(list, b);
	}
	return bindings;
}

/* HostConfig's network, ports, limits and confinement; NetworkSettings into o */
/* --storage-opt size=: docker's StorageOpt, and diyc's Storage: what holds the limit and
 * what the container's changes take now */
static void inspect_storage(struct json_object *o, struct json_object *host, const struct container *c)
{
	const struct container_config *cfg = &c->cfg;
	struct json_object *opt = json_object_new_object();
	if (cfg->storage_size) {
		char size[32];
		snprintf(size, sizeof(size), "%llu", (unsigned long long)cfg->storage_size);
		json_object_object_add(opt, "size", json_object_new_string(size));
	}
	json_object_object_add(host, "StorageOpt", opt);
	if (!cfg->storage_size)
		return;
	struct json_object *st = json_object_new_object();
	uint64_t used = 0;
	struct diyc_error err = { 0 };
	json_object_object_add(st, "Backing", json_object_new_string(disk_quota_kind_names[cfg->storage_kind]));
	json_object_object_add(st, "Limit", json_object_new_int64((int64_t)cfg->storage_size));
	if (container_disk_usage(c, &used, &err) < 0)
		diyc_warn("container `%s`: %s", c->d.name, err.msg);
	json_object_object_add(st, "Used", json_object_new_int64((int64_t)used));
	json_object_object_add(o, "Storage", st);
}

static void inspect_host(struct json_object *o, struct json_object *host, const struct container *c)
{
	const struct container_config *cfg = &c->cfg;
	bool running = c->st.status == STATUS_RUNNING;
	json_object_object_add(host, "NetworkMode", json_object_new_string(net_mode_name(cfg->net)));
	struct json_object *netset = json_object_new_object();
	json_object_object_add(netset, "Bridge", json_object_new_string(running ? c->st.bridge : ""));
	json_object_object_add(netset, "IPAddress", json_object_new_string(running ? c->st.ip : ""));
	json_object_object_add(netset, "RequestedIP", json_object_new_string(cfg->ip ? cfg->ip : ""));
	json_object_object_add(o, "NetworkSettings", netset);
	json_object_object_add(host, "AutoRemove", json_object_new_boolean(cfg->rm));
	json_object_object_add(host, "PortBindings", inspect_ports(cfg));
	const struct cgroup_limits *l = &cfg->limits;
	json_object_object_add(host, "Memory", json_object_new_int64((int64_t)l->memory));
	json_object_object_add(host, "MemorySwap", json_object_new_int64(l->memory_swap));
	json_object_object_add(host, "PidsLimit", json_object_new_int64((int64_t)l->pids));
	json_object_object_add(host, "NanoCpus", json_object_new_int64((int64_t)l->cpu_quota * 10000));
	json_object_object_add(host, "CgroupManager", json_object_new_string(
		!cgroup_wanted(l) ? "none" : l->manager == CGROUP_MANAGER_AUTO ? "auto" : cgroup_manager_name(l->manager)));
	inspect_security(host, &cfg->security);
	inspect_storage(o, host, c);
}

static struct json_object *inspect_json(const struct container *c)
{
	const struct container_config *cfg = &c->cfg;
	bool have = c->have_config;
	struct json_object *o = json_object_new_object(), *config = json_object_new_object(),
			   *host = json_object_new_object(), *binds = json_object_new_array(),
			   *tmpfs = json_object_new_object(), *paths = json_object_new_object();
	json_object_object_add(o, "Name", json_object_new_string(c->d.name));
	json_object_object_add(o, "Image", json_object_new_string(have ? cfg->image : ""));
	json_object_object_add(o, "ImageID", json_object_new_string(have ? cfg->image_id : ""));
	json_object_object_add(o, "Created", json_object_new_string(have ? cfg->created : ""));
	json_object_object_add(o, "State", inspect_state(c));
	if (have) {
		inspect_config(config, cfg);
		inspect_mounts(binds, tmpfs, cfg);
		inspect_host(o, host, c);
	}
	json_object_object_add(host, "Binds", binds);
	json_object_object_add(host, "Tmpfs", tmpfs);
	json_object_object_add(o, "Config", config);
	json_object_object_add(o, "HostConfig", host);
	_cleanup_free_ char *log = xasprintf("%s/container.log", c->d.data);
	json_object_object_add(o, "LogPath", json_object_new_string(log ? log : ""));
	json_object_object_add(paths, "Data", json_object_new_string(c->d.data));
	json_object_object_add(paths, "Run", json_object_new_string(c->d.run));
	json_object_object_add(o, "Paths", paths);
	return o;
}

static struct json_object *inspect_one(const char *name, void *data, struct diyc_error *err)
{
	struct container c;
	if (container_open(data, name, &c, err) < 0)
		return NULL;
	struct json_object *o = inspect_json(&c);
	container_close(&c);
	return o;
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = { OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "inspect", inspect_usage, "+:", opts };
	int r;
	if (!parse_options(&spec, argc, argv, no_options, NULL, &r))
		return r;
	if (optind >= argc)
		return usage_error("inspect", "a container name is required: diyc inspect NAME...");
	struct diyc_paths p;
	if ((r = init_paths(&p)))
		return r;
	return inspect_each(argv + optind, argc - optind, inspect_one, &p);
}

/* ---- logs ---------------------------------------------------------------------------- */

static const char logs_usage[] =
	"Usage: diyc logs [OPTIONS] NAME\n"
	"\n"
	"Show the output of a container run in the background (run -d, start): standard\n"
	"output and standard error as they were written. A container run in the foreground\n"
	"wrote to your terminal and has no log.\n"
	"\n"
	"Options:\n"
	"  -f, --follow  Keep printing new output until the container stops\n"
	"      --help    Show this help\n";

static int copy_out(int fd)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (write_all(1, buf, n) < 0)
			return -EPIPE;
	}
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' }, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "logs", logs_usage, "+:f", opts };
	bool follow = false;
	int r;
	if (!parse_options(&spec, argc, argv, bool_option, &follow, &r))
		return r;
	if (optind >= argc)
		return usage_error("logs", "a container name is required: diyc logs [OPTIONS] NAME");
	if (argc - optind > 1)
		return usage_error("logs", "one container at a time");
	struct diyc_paths p;
	if ((r = init_paths(&p)))
		return r;
	struct container c;
	if (!open_named(&p, argv[optind], &c))
		return DIYC_EXIT_RUNTIME;
	signal(SIGPIPE, SIG_IGN);
	_cleanup_close_ int fd = openat(c.dirfd, "container.log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int ino = -1;
	if (follow) {
		ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ino >= 0)
			inotify_add_watch(ino, c.d.data, IN_MODIFY | IN_CREATE);
	}
	int ret = 0;
	for (;;) {
		if (fd < 0)
			fd = openat(c.dirfd, "container.log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && copy_out(fd) == -EPIPE)
			break;
		if (!follow)
			break;
		if (!container_monitor_alive(&c)) {
			/* what it wrote before ending */
			if (fd >= 0)
				copy_out(fd);
			break;
		}
		struct pollfd pf = { ino, POLLIN, 0 };
		poll(&pf, ino >= 0 ? 1 : 0, 200);
		char ev[4096];
		while (ino >= 0 && read(ino, ev, sizeof(ev)) > 0)
			;
	}
	container_close(&c);
	return ret;
}
