/* SPDX-License-Identifier: MIT */
/* cmd-volume.c: `diyc volume create|ls|inspect|rm|prune`, docker's commands over the volume
 * store (storage/volume-store.h). Which containers use a volume is read from their
 * configurations (volumes-cli.c): a volume is in use while any container, running or not,
 * mounts it. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "each.h"
#include "container/control.h"
#include "container/store.h"
#include "lib/util.h"
#include "output.h"
#include "storage/volume-store.h"
#include "verbs.h"
#include "volumes-cli.h"

/* rm and prune: the store and the plan of the user namespace for files of subordinate ids */
static int open_store(struct diyc_paths *p, struct userns_plan *plan)
{
	struct diyc_error err = { 0 };
	if (paths_init(p, &err) < 0 || userns_plan_init_quiet(plan, true, &err) < 0)
		return fail(&err);
	return 0;
}

/* docker's `volume inspect` object (and podman's Anonymous) */
static struct json_object *volume_json(const struct volume_info *v)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "CreatedAt", json_object_new_string(v->created));
	json_object_object_add(o, "Driver", json_object_new_string("local"));
	json_object_object_add(o, "Labels", volume_kv_json(v->labels));
	json_object_object_add(o, "Mountpoint", json_object_new_string(v->mountpoint));
	json_object_object_add(o, "Name", json_object_new_string(v->name));
	json_object_object_add(o, "Options", volume_kv_json(v->options));
	json_object_object_add(o, "Scope", json_object_new_string("local"));
	json_object_object_add(o, "Anonymous", json_object_new_boolean(v->anonymous));
	return o;
}

/* ---- create ---- */

static const char create_usage[] =
	"Usage: diyc volume create [OPTIONS] [NAME]\n"
	"\n"
	"Create a volume: a directory in diyc's store that containers mount with -v NAME:/PATH or\n"
	"--mount type=volume,src=NAME,dst=/PATH, and that outlives them. Without NAME it gets a\n"
	"generated one. Prints the name. A volume that exists already is left as it is (an\n"
	"error when --label or --opt say otherwise).\n"
	"\n"
	"Options:\n"
	"  -l, --label KEY=VALUE  Set a label\n"
	"  -o, --opt size=SIZE    Limit what it holds (b, k, m, g; a plain number is MiB): a project\n"
	"                         quota, which needs root and a store on xfs with prjquota or on ext4\n"
	"                         with the project feature and quota. docker's type, device and o\n"
	"                         are refused\n"
	"  -d, --driver local     The one driver there is\n"
	"      --help             Show this help\n";

struct create_flags {
	char **labels, **opts;
	size_t n_labels, n_opts;
};

static int create_opt(int c, const char *arg, void *data)
{
	struct create_flags *f = data;
	if (c == 'd' && strcmp(arg, "local"))
		return usage_error("volume create", "unknown volume driver `%s`: diyc has the local driver only", arg);
	if (c == 'l' && (!*arg || *arg == '='))
		return usage_error("volume create", "invalid label `%s`: expected KEY=VALUE", arg);
	if (c == 'o' && (!strchr(arg, '=') || *arg == '='))
		return usage_error("volume create", "invalid option `%s`: expected KEY=VALUE (as size=1g)", arg);
	if (c == 'l' && strv_push(&f->labels, &f->n_labels, strchr(arg, '=') ? strdup(arg) : xasprintf("%s=", arg)) < 0)
		return usage_error("volume create", "out of memory");
	if (c == 'o' && strv_push(&f->opts, &f->n_opts, strdup(arg)) < 0)
		return usage_error("volume create", "out of memory");
	return 0;
}

static int create_run(const struct create_flags *f, const char *name)
{
	struct diyc_paths p;
	struct diyc_error err = { 0 };
	struct volume_info v;
	bool existed;
	if (paths_init(&p, &err) < 0 || volume_create(&p, name, f->labels, f->opts, false, &v, &existed, &err) < 0)
		return fail(&err);
	_cleanup_free_ char *e = str_escape_dup(v.name);
	printf("%s\n", e ? e : v.name);
	volume_info_free(&v);
	return 0;
}

int cmd_volume_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' }, { "opt", required_argument, NULL, 'o' },
		{ "driver", required_argument, NULL, 'd' }, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "volume create", create_usage, "+:l:o:d:", opts };
	struct create_flags f = { 0 };
	int r;
	if (parse_options(&spec, argc, argv, create_opt, &f, &r))
		r = argc - optind > 1 ? usage_error("volume create", "one name at most: diyc volume create [OPTIONS] "
						    "[NAME]")
				      : create_run(&f, optind < argc ? argv[optind] : NULL);
	strv_free(f.labels);
	strv_free(f.opts);
	return r;
}

/* ---- ls ---- */

static const char ls_usage[] =
	"Usage: diyc volume ls [OPTIONS]\n"
	"\n"
	"List volumes.\n"
	"\n"
	"Options:\n"
	"  -q, --quiet            Print names only\n"
	"      --format FORMAT    table (default) or json\n"
	"  -f, --filter KEY=VALUE  dangling=true|false (used by no container), name=PART,\n"
	"                         label=KEY[=VALUE], driver=local; repeated: any value of a key,\n"
	"                         all keys\n"
	"      --help             Show this help\n";

enum { LS_DANGLING, LS_NAME, LS_LABEL, LS_DRIVER, LS_KEYS };
static const char *const ls_keys[LS_KEYS] = { "dangling", "name", "label", "driver" };

struct ls_flags {
	bool quiet;
	enum output_format format;
	char **filters[LS_KEYS];
	size_t n_filters[LS_KEYS];
};

static int ls_filter_add(struct ls_flags *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq ? (size_t)(eq - arg) : 0;
	for (int k = 0; eq && k < LS_KEYS; k++) {
		if (strlen(ls_keys[k]) != klen || strncmp(arg, ls_keys[k], klen))
			continue;
		const char *v = eq + 1;
		if (!*v || (k == LS_DANGLING && strcmp(v, "true") && strcmp(v, "false") && strcmp(v, "1") && strcmp(v, "0")))
			return usage_error("volume ls", "invalid filter `%s`%s", arg,
					   k == LS_DANGLING ? ": dangling takes true or false" : ": the value is empty");
		if (strv_push(&f->filters[k], &f->n_filters[k], strdup(v)) < 0)
			return usage_error("volume ls", "out of memory");
		return 0;
	}
	if (!eq)
		return usage_error("volume ls", "invalid filter `%s`: expected KEY=VALUE (as dangling=true)", arg);
	return usage_error("volume ls", "unknown filter `%.*s`: volumes can be filtered by dangling, name, label "
			   "and driver", (int)klen, arg);
}

static int ls_opt(int c, const char *arg, void *data)
{
	struct ls_flags *f = data;
	if (c == 'q')
		f->quiet = true;
	else if (c == OPTION_FORMAT)
		return parse_format("volume ls", arg, &f->format);
	else if (c == 'f')
		return ls_filter_add(f, arg);
	return 0;
}

static bool ls_match_one(int k, const struct volume_info *v, bool used, const char *want)
{
	switch (k) {
	case LS_DANGLING: return (!strcmp(want, "true") || !strcmp(want, "1")) == !used;
	case LS_NAME: return strstr(v->name, want) != NULL;
	case LS_DRIVER: return !strcmp(want, "local");
	case LS_LABEL:
		for (char **l = v->labels; l && *l; l++)
			if (strchr(want, '=') ? !strcmp(*l, want)
					      : !strncmp(*l, want, strlen(want)) && (*l)[strlen(want)] == '=')
				return true;
		return false;
	}
	return false;
}

static bool ls_match(const struct ls_flags *f, const struct volume_info *v, bool used)
{
	for (int k = 0; k < LS_KEYS; k++) {
		bool any = f->n_filters[k] == 0;
		for (size_t i = 0; i < f->n_filters[k] && !any; i++)
			any = ls_match_one(k, v, used, f->filters[k][i]);
		if (!any)
			return false;
	}
	return true;
}

/* The names of the volumes any container mounts, for "in use" without one open per volume */
static int used_volumes(const struct diyc_paths *p, char ***used, struct diyc_error *err)
{
	_cleanup_strv_ char **names = NULL;
	size_t n = 0;
	if (!(*used = calloc(1, sizeof(char *))))
		return diyc_error(err, ENOMEM, "containers");
	int r = container_list(p, &names, err);
	for (char **c = names; r == 0 && *c; c++) {
		struct container ct;
		struct diyc_error ignore = { 0 };
		if (container_open(p, *c, &ct, &ignore) < 0)
			continue;
		for (size_t i = 0; ct.have_config && r == 0 && i < ct.cfg.n_mounts; i++) {
			const struct mount_entry *m = &ct.cfg.mounts[i];
			if (m->kind == MOUNT_VOLUME && m->source && strv_push(used, &n, strdup(m->source)) < 0)
				r = diyc_error(err, ENOMEM, "containers");
		}
		container_close(&ct);
	}
	return r;
}

static bool in_list(char **list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static void ls_print_table(struct volume_info *rows, size_t n)
{
	size_t w = strlen("DRIVER");
	printf("%-*s   %s\n", (int)w, "DRIVER", "VOLUME NAME");
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *name = str_escape_dup(rows[i].name);
		printf("%-*s   %s\n", (int)w, "local", name ? name : "");
	}
}

static int ls_run(const struct ls_flags *f)
{
	struct diyc_paths p;
	struct diyc_error err = { 0 };
	_cleanup_strv_ char **names = NULL, **used = NULL;
	if (paths_init(&p, &err) < 0 || volume_list(&p, &names, &err) < 0 || used_volumes(&p, &used, &err) < 0)
		return fail(&err);
	struct json_object *arr = json_object_new_array();
	struct volume_info *rows = calloc(strv_length(names) + 1, sizeof(*rows));
	size_t n = 0;
	for (char **v = names; rows && *v; v++) {
		if (volume_get(&p, *v, &rows[n], &err) < 0)
			continue; /* removed meanwhile, or damaged: `volume inspect` says which */
		if (!ls_match(f, &rows[n], in_list(used, *v))) {
			volume_info_free(&rows[n]);
			continue;
		}
		if (f->format == OUTPUT_JSON)
			json_object_array_add(arr, volume_json(&rows[n]));
		n++;
	}
	if (f->format == OUTPUT_JSON) {
		print_json(arr);
	} else if (f->quiet) {
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *e = str_escape_dup(rows[i].name);
			printf("%s\n", e ? e : "");
		}
	} else {
		ls_print_table(rows, n);
	}
	for (size_t i = 0; i < n; i++)
		volume_info_free(&rows[i]);
	free(rows);
	json_object_put(arr);
	return 0;
}

int cmd_volume_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' }, { "filter", required_argument, NULL, 'f' }, OPTION_FORMAT_ENTRY,
		OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "volume ls", ls_usage, "+:qf:", opts };
	struct ls_flags f = { 0 };
	int r;
	if (parse_options(&spec, argc, argv, ls_opt, &f, &r))
		r = optind < argc ? usage_error("volume ls", "unexpected argument `%s`", argv[optind]) : ls_run(&f);
	for (int k = 0; k < LS_KEYS; k++)
		strv_free(f.filters[k]);
	return r;
}

/* ---- inspect ---- */

static const char inspect_usage[] =
	"Usage: diyc volume inspect NAME...\n"
	"\n"
	"Show volumes as a JSON array (docker's keys: CreatedAt, Driver, Labels, Mountpoint,\n"
	"Name, Options, Scope; and Anonymous).\n"
	"\n"
	"Options:\n"
	"  --help  Show this help\n";

static struct json_object *inspect_one(const char *name, void *data, struct diyc_error *err)
{
	struct volume_info v;
	if (volume_get(data, name, &v, err) < 0)
		return NULL;
	struct json_object *o = volume_json(&v);
	volume_info_free(&v);
	return o;
}

int cmd_volume_inspect(int argc, char **argv)
{
	static const struct option opts[] = { OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "volume inspect", inspect_usage, "+:", opts };
	int r;
	if (!parse_options(&spec, argc, argv, no_options, NULL, &r))
		return r;
	if (optind >= argc)
		return usage_error("volume inspect", "a volume name is required: diyc volume inspect NAME...");
	struct diyc_paths p;
	struct diyc_error err = { 0 };
	if (paths_init(&p, &err) < 0)
		return fail(&err);
	return inspect_each(argv + optind, argc - optind, inspect_one, &p);
}

/* ---- rm ---- */

static const char rm_usage[] =
	"Usage: diyc volume rm [OPTIONS] NAME...\n"
	"\n"
	"Remove volumes and their data. A volume that a container uses (running or not) is\n"
	"refused, unless -f is given. Prints each name removed.\n"
	"\n"
	"Options:\n"
	"  -f, --force  Remove the containers that use it first (running ones are killed), as\n"
	"               podman does; a volume that does not exist is no error\n"
	"      --help   Show this help\n";

/* the names joined by sep, the last by last */
static char *names_text(char **names, const char *sep, const char *last)
{
	char *out = strdup("");
	for (size_t i = 0; out && names[i]; i++) {
		char *n = xasprintf("%s%s%s", out, i == 0 ? "" : names[i + 1] ? sep : last, names[i]);
		free(out);
		out = n;
	}
	return out;
}

/* -f: the containers using the volume go first, killed when running */
static int remove_users(const struct diyc_paths *p, char **users, const struct userns_plan *plan,
			struct diyc_error *err)
{
	for (char **u = users; *u; u++) {
		struct container c;
		if (container_open(p, *u, &c, err) < 0) {
			if (err->errnum == ENOENT)
				continue;
			return -err->errnum;
		}
		int r = container_rm(&c, true, plan, err);
		if (r == 0 && c.have_config)
			cli_volumes_remove_anonymous(p, &c.cfg, plan);
		container_close(&c);
		if (r < 0)
			return r;
		fprintf(stderr, "diyc: removed container `%s`, which used the volume\n", *u);
	}
	return 0;
}

struct rm_args {
	const struct diyc_paths *p;
	const struct userns_plan *plan;
	bool force;
};

/* 1: not there, and -f says that is fine */
static int rm_one(const char *name, void *data, struct diyc_error *err)
{
	const struct rm_args *a = data;
	struct volume_info v;
	int r = volume_get(a->p, name, &v, err);
	if (r < 0 && a->force && r == -ENOENT && err->hint == DIYC_HINT_NO_VOLUME)
		return 1;
	/* one whose directory was replaced (a symlink) is removed all the same: the link goes */
	if (r < 0 && err->hint != DIYC_HINT_VOLUME_REPLACED)
		return r;
	volume_info_free(&v);
	memset(err, 0, sizeof(*err));
	_cleanup_strv_ char **users = NULL;
	if ((r = cli_volume_users(a->p, name, &users, err)) < 0)
		return r;
	if (users[0] && !a->force) {
		_cleanup_free_ char *list = names_text(users, "`, `", " and ");
		_cleanup_free_ char *args = names_text(users, " ", " ");
		return diyc_error_plain(err, EBUSY, "volume `%s` is in use by container%s `%s`: remove %s first (`diyc rm "
					"%s`), or use `diyc volume rm -f %s`, which removes %s with it", name,
					users[1] ? "s" : "", list ? list : "", users[1] ? "them" : "it", args ? args : "",
					name, users[1] ? "them" : "it");
	}
	if (users[0] && (r = remove_users(a->p, users, a->plan, err)) < 0)
		return r;
	return volume_remove(a->p, name, a->plan, err);
}

int cmd_volume_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "volume rm", rm_usage, "+:f", opts };
	bool force = false;
	int r;
	if (!parse_options(&spec, argc, argv, bool_option, &force, &r))
		return r;
	if (optind >= argc)
		return usage_error("volume rm", "a volume name is required: diyc volume rm [OPTIONS] NAME...");
	struct diyc_paths p;
	struct userns_plan plan;
	if ((r = open_store(&p, &plan)))
		return r;
	struct rm_args a = { &p, &plan, force };
	int ret = act_on_each(argv + optind, argc - optind, rm_one, &a);
	volume_clean_leftovers(&p, &plan);
	userns_plan_free(&plan);
	return ret;
}

/* ---- prune ---- */

static const char prune_usage[] =
	"Usage: diyc volume prune [OPTIONS]\n"
	"\n"
	"Remove every volume, named or anonymous, that no container uses (running or not), as\n"
	"docker 20.10 and podman do, and print what was removed and the space it took. Without\n"
	"-f it asks first.\n"
	"\n"
	"Options:\n"
	"  -a, --all    Accepted for newer docker's scripts, where prune without it keeps named\n"
	"               volumes: diyc's prune takes them anyway\n"
	"  -f, --force  Do not prompt for confirmation\n"
	"      --help   Show this help\n";

struct prune_flags {
	bool all, force;
};

static int prune_opt(int c, const char *arg, void *data)
{
	struct prune_flags *f = data;
	if (c == 'a')
		f->all = true;
	else if (c == 'f')
		f->force = true;
	return 0;
}

/* The volumes prune removes: those no container uses */
static int prune_volumes(const struct diyc_paths *p, const struct userns_plan *plan)
{
	struct diyc_error err = { 0 };
	_cleanup_strv_ char **names = NULL, **used = NULL;
	if (volume_list(p, &names, &err) < 0 || used_volumes(p, &used, &err) < 0)
		return fail(&err);
	uint64_t total = 0;
	struct prune_output out = { 0 };
	int ret = 0;
	for (char **n = names; *n; n++) {
		struct volume_info v;
		memset(&err, 0, sizeof(err));
		if (in_list(used, *n) || volume_get(p, *n, &v, &err) < 0)
			continue;
		volume_info_free(&v);
		uint64_t size = 0;
		if (volume_disk_usage(p, *n, plan, &size, &err) < 0)
			size = 0; /* still removed; its size is unknown */
		memset(&err, 0, sizeof(err));
		if (volume_remove(p, *n, plan, &err) < 0) {
			ret = fail(&err);
			continue;
		}
		prune_output_item(&out, "Deleted Volumes:", "", *n);
		total += size;
	}
	prune_output_total(&out, total);
	return ret;
}

int cmd_volume_prune(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "force", no_argument, NULL, 'f' }, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "volume prune", prune_usage, "+:af", opts };
	struct prune_flags f = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, prune_opt, &f, &r))
		return r;
	if (optind < argc)
		return usage_error("volume prune", "unexpected argument `%s`", argv[optind]);
	if (!f.force) {
		printf("WARNING! This will remove all local volumes not used by at least one container.\n");
		if (!output_confirm()) {
			diyc_print_line("diyc: ", "volume prune has been cancelled: nothing was removed");
			return DIYC_EXIT_RUNTIME;
		}
	}
	struct diyc_paths p;
	struct userns_plan plan;
	if ((r = open_store(&p, &plan)))
		return r;
	volume_clean_leftovers(&p, &plan);
	r = prune_volumes(&p, &plan);
	userns_plan_free(&plan);
	return r;
}

/* ---- the group ---- */

static const char volume_usage[] =
	"Usage: diyc volume COMMAND\n"
	"\n"
	"Manage volumes: directories in diyc's store that containers mount (-v NAME:/PATH,\n"
	"--mount type=volume) and that outlive them. See docs/volumes.md.\n"
	"\n"
	"Commands:\n"
	"  create   Create a volume\n"
	"  ls       List volumes\n"
	"  inspect  Show volumes as JSON\n"
	"  rm       Remove volumes\n"
	"  prune    Remove the volumes no container uses\n"
	"\n"
	"Run `diyc volume COMMAND --help` for the options of a command.\n";

int cmd_volume(int argc, char **argv)
{
	return verb_dispatch("volume", volume_usage, true, argc, argv);
}
