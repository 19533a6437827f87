/* SPDX-License-Identifier: MIT */
/* cmd-system.c: `diyc system df|prune|info`. The store's figures come from runtime/system/
 * (what the store holds, what a prune removes, the store's filesystem and ids); this file
 * formats them as docker prints them (`docker system df`, `docker system prune`, `docker
 * info`), or as podman's JSON, and adds what the host offers (kernel, cgroups, network modes,
 * diyc-nethelper), which the library's system/ may not ask the other subsystems about. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "output.h"
#include "verbs.h"
#include "lib/util.h"
#include "net/bridge.h"
#include "net/mode.h"
#include "security/selfexe.h"
#include "system/system.h"

static const char system_usage[] =
	"Usage: diyc system COMMAND\n"
	"\n"
	"Manage the store.\n"
	"\n"
	"Commands:\n"
	"  df [-v] [--format json]         Show what images, containers and volumes take on disk\n"
	"  prune [-a] [--volumes] [-f]     Remove stopped containers, unused images (and volumes)\n"
	"  info [--format json]            Show the store, the host and what diyc can use here\n";

static const char df_usage[] =
	"Usage: diyc system df [OPTIONS]\n"
	"\n"
	"Show what the store takes on disk, as du counts it (blocks allocated, a hard-linked file\n"
	"once): images (their layers; a layer several images share is counted once in the\n"
	"total), containers (their changes: the writable upper layer) and volumes. ACTIVE: images\n"
	"a container was made from, running containers, volumes a container mounts.\n"
	"RECLAIMABLE: what removing the others would free (see docs/system.md).\n"
	"\n"
	"Options:\n"
	"  -v, --verbose        Show each image, container and volume\n"
	"      --format FORMAT  table (default) or json\n"
	"      --help           Show this help\n";

static const char prune_usage[] =
	"Usage: diyc system prune [OPTIONS]\n"
	"\n"
	"Remove all stopped containers, all dangling images (no name, no container) and the\n"
	"layers no image uses; with -a every image no container uses, with --volumes every\n"
	"volume no container uses (named and anonymous, as podman). Asks first unless -f.\n"
	"\n"
	"Options:\n"
	"  -a, --all      Remove all unused images, not just dangling ones\n"
	"      --volumes  Remove all unused volumes too\n"
	"  -f, --force    Do not prompt for confirmation\n"
	"      --help     Show this help\n";

static const char info_usage[] =
	"Usage: diyc system info [OPTIONS]\n"
	"\n"
	"Show where the store is and what it holds, the filesystem under it (and whether it\n"
	"has project quotas, for --storage-opt size=), the kernel, the cgroup version and\n"
	"manager, the network modes available here, your subordinate id ranges and whether\n"
	"diyc-nethelper is installed set-uid root.\n"
	"\n"
	"Options:\n"
	"      --format FORMAT  table (default) or json\n"
	"      --help           Show this help\n";

/* ---- formatting as docker does ------------------------------------------------------ */

/* RECLAIMABLE: "SIZE (PERCENT%)", the percentage cut as docker's integer division */
static void reclaimable_text(char *buf, size_t n, const struct df_summary *s)
{
	char size[32];
	output_human_size(size, sizeof(size), s->reclaimable);
	if (s->size > 0)
		snprintf(buf, n, "%s (%llu%%)", size, (unsigned long long)(s->reclaimable * 100 / s->size));
	else
		snprintf(buf, n, "%s", size);
}

/* docker's units.HumanDuration */
static void human_duration(char *buf, size_t n, long s)
{
	long m = s / 60, h = (s + 1800) / 3600;
	if (s < 1)
		snprintf(buf, n, "Less than a second");
	else if (s == 1)
		snprintf(buf, n, "1 second");
	else if (s < 60)
		snprintf(buf, n, "%ld seconds", s);
	else if (m == 1)
		snprintf(buf, n, "About a minute");
	else if (m < 60)
		snprintf(buf, n, "%ld minutes", m);
	else if (h == 1)
		snprintf(buf, n, "About an hour");
	else if (h < 48)
		snprintf(buf, n, "%ld hours", h);
	else if (h < 24 * 7 * 2)
		snprintf(buf, n, "%ld days", h / 24);
	else if (h < 24 * 30 * 2)
		snprintf(buf, n, "%ld weeks", h / 24 / 7);
	else if (h < 24 * 365 * 2)
		snprintf(buf, n, "%ld months", h / 24 / 30);
	else
		snprintf(buf, n, "%ld years", s / 3600 / 24 / 365);
}

/* Seconds since an RFC 3339 UTC time; -1 when there is none. */
static long since(const char *rfc3339)
{
	struct tm tm = { 0 };
	if (!rfc3339 || !rfc3339[0] || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	long d = (long)(time(NULL) - timegm(&tm));
	return d < 0 ? 0 : d;
}

static void ago_text(char *buf, size_t n, const char *rfc3339)
{
	long s = since(rfc3339);
	char d[64];
	human_duration(d, sizeof(d), s);
	if (s < 0)
		snprintf(buf, n, "N/A");
	else
		snprintf(buf, n, "%s ago", d);
}

/* docker ps's STATUS: Created, Up 5 minutes, Exited (0) 2 hours ago */
static void status_text(char *buf, size_t n, const struct df_container *c)
{
	char d[64];
	if (c->status == STATUS_RUNNING) {
		human_duration(d, sizeof(d), since(c->started_at));
		snprintf(buf, n, "Up %s", d);
	} else if (c->status == STATUS_EXITED) {
		long s = since(c->finished_at);
		human_duration(d, sizeof(d), s);
		snprintf(buf, n, s < 0 ? "Exited (%d)" : "Exited (%d) %s ago", c->exit_code, d);
	} else {
		snprintf(buf, n, "Created");
	}
}

/* docker's tables: a tabwriter with cells at least 10 wide and 3 spaces of padding. Cells
 * come from the store and are escaped for a terminal before they get here. */
#define TABLE_COLS_MAX 9
struct table {
	size_t cols, rows;
	char **cell; /* rows x cols, malloc'd strings */
};

static void table_add(struct table *t, const char *const *row)
{
	char **m = realloc(t->cell, (t->rows + 1) * t->cols * sizeof(char *));
	if (!m)
		return;
	t->cell = m;
	for (size_t k = 0; k < t->cols; k++)
		m[t->rows * t->cols + k] = str_escape_dup(row[k] ? row[k] : "");
	t->rows++;
}

static void table_print(struct table *t)
{
	size_t w[TABLE_COLS_MAX] = { 0 };
	for (size_t k = 0; k < t->cols; k++)
		for (size_t i = 0; i < t->rows; i++) {
			const char *c = t->cell[i * t->cols + k];
			size_t len = (c ? str_columns(c) : 0) + 3;
			if (len > w[k])
				w[k] = len < 10 ? 10 : len;
		}
	for (size_t i = 0; i < t->rows; i++) {
		for (size_t k = 0; k < t->cols; k++) {
			const char *c = t->cell[i * t->cols + k];
			if (k + 1 < t->cols)
				print_cell(stdout, c ? c : "", w[k]);
			else
				printf("%s\n", c ? c : "");
		}
	}
	for (size_t i = 0; i < t->rows * t->cols; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->rows = 0;
}

/* ---- df --------------------------------------------------------------------------------- */

struct df_flags {
	bool verbose;
	enum output_format format;
};

static int df_opt(int c, const char *arg, void *data)
{
	struct df_flags *f = data;
	if (c == 'v')
		f->verbose = true;
	else if (c == OPTION_FORMAT)
		return parse_format("system df", arg, &f->format);
	return 0;
}

static const char *const df_types[] = { "Images", "Containers", "Local Volumes" };

static void df_print_summary(const struct system_df *df)
{
	const struct df_summary *s[] = { &df->image_sum, &df->container_sum, &df->volume_sum };
	struct table t = { .cols = 5 };
	table_add(&t, (const char *[]){ "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE" });
	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		char total[24], active[24], size[32], recl[48];
		snprintf(total, sizeof(total), "%zu", s[i]->total);
		snprintf(active, sizeof(active), "%zu", s[i]->active);
		output_human_size(size, sizeof(size), s[i]->size);
		reclaimable_text(recl, sizeof(recl), s[i]);
		table_add(&t, (const char *[]){ df_types[i], total, active, size, recl });
	}
	table_print(&t);
}

/* COMMAND as docker ps shows it: quoted, cut to 20 columns with an ellipsis */
static void command_text(char *buf, size_t n, char **argv)
{
	char joined[256] = "";
	size_t len = 0;
	for (char **a = argv; a && *a && len < sizeof(joined) - 1; a++)
		len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s", a == argv ? "" : " ", *a);
	if (len >= sizeof(joined))
		len = sizeof(joined) - 1;
	/* at most 19 characters (not bytes: never cut a UTF-8 sequence) and the ellipsis */
	size_t cut = 0, chars = 0;
	while (cut < len && chars < 19) {
		unsigned cp;
		size_t l = utf8_seq((const unsigned char *)joined + cut, &cp);
		cut += l ? l : 1;
		chars++;
	}
	snprintf(buf, n, "\"%.*s%s\"", (int)cut, joined, cut < len ? "…" : "");
}

static void df_print_verbose(const struct system_df *df)
{
	struct table t = { .cols = 8 };
	printf("Images space usage:\n\n");
	table_add(&t, (const char *[]){ "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE",
					 "UNIQUE SIZE", "CONTAINERS" });
	for (size_t i = 0; i < df->n_images; i++) {
		const struct df_image *im = &df->images[i];
		char id[13], created[80], size[32], shared[32], unique[32], ctrs[16];
		snprintf(id, sizeof(id), "%.12s", im->id);
		ago_text(created, sizeof(created), im->created);
		output_human_size(size, sizeof(size), im->size);
		output_human_size(shared, sizeof(shared), im->shared_size);
		output_human_size(unique, sizeof(unique), im->size - im->shared_size);
		snprintf(ctrs, sizeof(ctrs), "%u", im->containers);
		table_add(&t, (const char *[]){ im->repo, im->tag, id, created, size, shared, unique, ctrs });
	}
	table_print(&t);
	printf("\nContainers space usage:\n\n");
	t.cols = 7; /* docker's columns without CONTAINER ID: diyc's containers have names only */
	table_add(&t, (const char *[]){ "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES" });
	for (size_t i = 0; i < df->n_containers; i++) {
		const struct df_container *c = &df->containers[i];
		char cmd[128], vols[16], size[32], created[80], status[96];
		command_text(cmd, sizeof(cmd), c->command);
		snprintf(vols, sizeof(vols), "%u", c->volumes);
		output_human_size(size, sizeof(size), c->size);
		ago_text(created, sizeof(created), c->created);
		status_text(status, sizeof(status), c);
		table_add(&t, (const char *[]){ c->image, cmd, vols, size, created, status, c->name });
	}
	table_print(&t);
	printf("\nLocal Volumes space usage:\n\n");
	t.cols = 3;
	table_add(&t, (const char *[]){ "VOLUME NAME", "LINKS", "SIZE" });
	for (size_t i = 0; i < df->n_volumes; i++) {
		char links[16], size[32];
		snprintf(links, sizeof(links), "%u", df->volumes[i].links);
		output_human_size(size, sizeof(size), df->volumes[i].size);
		table_add(&t, (const char *[]){ df->volumes[i].name, links, size });
	}
	table_print(&t);
}

static struct json_object *json_u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static struct json_object *json_str(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/* podman's --format json: one object per type, raw figures and docker's strings */
static struct json_object *df_json_summary(const struct system_df *df)
{
	const struct df_summary *s[] = { &df->image_sum, &df->container_sum, &df->volume_sum };
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		struct json_object *o = json_object_new_object();
		char size[32], recl[48];
		output_human_size(size, sizeof(size), s[i]->size);
		reclaimable_text(recl, sizeof(recl), s[i]);
		json_object_object_add(o, "Type", json_str(df_types[i]));
		json_object_object_add(o, "Total", json_u64(s[i]->total));
		json_object_object_add(o, "Active", json_u64(s[i]->active));
		json_object_object_add(o, "RawSize", json_u64(s[i]->size));
		json_object_object_add(o, "RawReclaimable", json_u64(s[i]->reclaimable));
		json_object_object_add(o, "TotalCount", json_u64(s[i]->total));
		json_object_object_add(o, "Size", json_str(size));
		json_object_object_add(o, "Reclaimable", json_str(recl));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *strv_json(char **v)
{
	struct json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_str(*v));
	return a;
}

static struct json_object *df_json_images(const struct system_df *df)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < df->n_images; i++) {
		const struct df_image *im = &df->images[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "Repository", json_str(im->repo));
		json_object_object_add(o, "Tag", json_str(im->tag));
		json_object_object_add(o, "ImageID", json_str(im->id));
		json_object_object_add(o, "Created", json_str(im->created));
		json_object_object_add(o, "Size", json_u64(im->size));
		json_object_object_add(o, "SharedSize", json_u64(im->shared_size));
		json_object_object_add(o, "UniqueSize", json_u64(im->size - im->shared_size));
		json_object_object_add(o, "Containers", json_u64(im->containers));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *df_json_containers(const struct system_df *df)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < df->n_containers; i++) {
		const struct df_container *c = &df->containers[i];
		struct json_object *o = json_object_new_object();
		char status[96];
		status_text(status, sizeof(status), c);
		json_object_object_add(o, "Names", json_str(c->name));
		json_object_object_add(o, "Image", json_str(c->image));
		json_object_object_add(o, "Command", strv_json(c->command));
		json_object_object_add(o, "LocalVolumes", json_u64(c->volumes));
		json_object_object_add(o, "RWSize", json_u64(c->size));
		json_object_object_add(o, "Created", json_str(c->created));
		json_object_object_add(o, "State", json_str(container_status_name(c->status)));
		json_object_object_add(o, "Status", json_str(status));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *df_json_volumes(const struct system_df *df)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < df->n_volumes; i++) {
		const struct df_volume *v = &df->volumes[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "VolumeName", json_str(v->name));
		json_object_object_add(o, "Links", json_u64(v->links));
		json_object_object_add(o, "Size", json_u64(v->size));
		json_object_object_add(o, "ReclaimableSize", json_u64(v->links ? 0 : v->size));
		json_object_object_add(o, "Anonymous", json_object_new_boolean(v->anonymous));
		json_object_object_add(o, "Mountpoint", json_str(v->mountpoint));
		json_object_array_add(arr, o);
	}
	return arr;
}

int cmd_system_df(int argc, char **argv)
{
	/* -v is docker's --verbose here, not diyc's debug output */
	static const struct option o[] = { { "verbose", no_argument, NULL, 'v' }, OPTION_FORMAT_ENTRY,
					   OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "system df", df_usage, "+:v", o };
	struct df_flags f = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, df_opt, &f, &r))
		return r;
	if (optind < argc)
		return usage_error("system df", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan;
	if (paths_init(&p, &err) < 0 || userns_plan_init_quiet(&plan, true, &err) < 0)
		return fail(&err);
	struct system_df df;
	r = system_df(&p, &plan, &df, &err);
	userns_plan_free(&plan);
	if (r < 0)
		return fail(&err);
	if (f.format == OUTPUT_JSON && f.verbose) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "Images", df_json_images(&df));
		json_object_object_add(o, "Containers", df_json_containers(&df));
		json_object_object_add(o, "Volumes", df_json_volumes(&df));
		print_json(o);
		json_object_put(o);
	} else if (f.format == OUTPUT_JSON) {
		struct json_object *o = df_json_summary(&df);
		print_json(o);
		json_object_put(o);
	} else if (f.verbose) {
		df_print_verbose(&df);
	} else {
		df_print_summary(&df);
	}
	system_df_free(&df);
	return 0;
}

/* ---- prune ------------------------------------------------------------------------------ */

enum { OPT_VOLUMES = 256 };

struct prune_flags {
	struct system_prune_opts o;
	bool force;
};

static int prune_opt(int c, const char *arg, void *data)
{
	struct prune_flags *f = data;
	if (c == 'a')
		f->o.all_images = true;
	else if (c == OPT_VOLUMES)
		f->o.volumes = true;
	else if (c == 'f')
		f->force = true;
	return 0;
}

/* docker's warning, then its question (output_confirm) */
static bool confirm(const struct system_prune_opts *o)
{
	printf("WARNING! This will remove:\n"
	       "  - all stopped containers\n");
	if (o->volumes)
		printf("  - all volumes not used by at least one container\n");
	printf(o->all_images ? "  - all images without at least one container associated to them\n"
			     : "  - all dangling images\n");
	return output_confirm();
}

/* docker's lines: a heading per kind (containers, volumes, images), a blank line after each
 * group (output.h) */
static void print_pruned(enum system_pruned kind, const char *what, void *data)
{
	const char *heading = kind == SYSTEM_PRUNED_CONTAINER ? "Deleted Containers:"
			      : kind == SYSTEM_PRUNED_VOLUME  ? "Deleted Volumes:"
							      : "Deleted Images:";
	const char *prefix = kind == SYSTEM_PRUNED_UNTAGGED ? "untagged: "
			     : kind == SYSTEM_PRUNED_IMAGE || kind == SYSTEM_PRUNED_LAYER ? "deleted: sha256:"
											 : "";
	prune_output_item(data, heading, prefix, what);
}

int cmd_system_prune(int argc, char **argv)
{
	static const struct option o[] = { { "all", no_argument, NULL, 'a' },
					   { "volumes", no_argument, NULL, OPT_VOLUMES },
					   { "force", no_argument, NULL, 'f' }, OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "system prune", prune_usage, "+:af", o };
	struct prune_flags f = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, prune_opt, &f, &r))
		return r;
	if (optind < argc)
		return usage_error("system prune", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan;
	if (paths_init(&p, &err) < 0)
		return fail(&err);
	if (!f.force && !confirm(&f.o)) {
		diyc_print_line("diyc: ", "system prune has been cancelled: nothing was removed");
		return DIYC_EXIT_RUNTIME;
	}
	if (userns_plan_init_quiet(&plan, true, &err) < 0)
		return fail(&err);
	struct prune_output out = { 0 };
	struct system_prune_ops ops = { .removed = print_pruned, .data = &out };
	uint64_t reclaimed = 0;
	r = system_prune(&p, &plan, &f.o, &ops, &reclaimed, &err);
	userns_plan_free(&plan);
	/* what was removed before a failure is reported as docker reports it */
	if (r == 0 || out.heading)
		prune_output_total(&out, reclaimed);
	return r < 0 ? fail(&err) : 0;
}

/* ---- info ------------------------------------------------------------------------------- */

/* What the host offers, asked of the host here (the library's system/ knows only the store). */
struct host_facts {
	struct utsname u;
	char os[128];
	const char *cgroup_version;     /* "2", "1" (with a v2 hierarchy beside it: hybrid) */
	bool cgroup_hybrid;
	const char *cgroup_manager;     /* what --cgroup-manager auto picks (cgroup/cgroup.c) */
	bool tun_usable, bridge_exists;
	char helper[PATH_MAX];
	bool helper_installed, helper_setuid;
	const char *modes[4];           /* the network modes a container can have here */
	size_t n_modes;
};

static void read_os_name(char *out, size_t n)
{
	_cleanup_free_ char *text = NULL;
	snprintf(out, n, "Linux");
	if (read_file_at(AT_FDCWD, "/etc/os-release", 1 << 16, &text, NULL) < 0)
		return;
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (str_has_prefix(line, "PRETTY_NAME=")) {
			char *v = line + strlen("PRETTY_NAME=");
			size_t len = strlen(v);
			if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0])
				snprintf(out, n, "%.*s", (int)len - 2, v + 1);
			else
				snprintf(out, n, "%s", v);
		}
		line = next;
	}
}

static void cgroup_facts(struct host_facts *h)
{
	struct statfs sf;
	h->cgroup_version = "1";
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		h->cgroup_version = "2";
	else if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		h->cgroup_hybrid = true;
	/* --cgroup-manager auto: systemd where it runs, else cgroupfs (cgroup/cgroup.c) */
	h->cgroup_manager = access("/run/systemd/system", F_OK) == 0 ? "systemd" : "cgroupfs";
}

/* diyc-nethelper beside the diyc binary, as `--net=bridge` looks for it */
static void helper_facts(struct host_facts *h)
{
	struct diyc_error ignore = { 0 };
	char self[PATH_MAX];
	if (selfexe_host_path(self, sizeof(self), &ignore) < 0)
		return;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(h->helper, sizeof(h->helper), "%s/" BRIDGE_NETHELPER, self);
	struct stat st;
	if (stat(h->helper, &st) == 0 && S_ISREG(st.st_mode)) {
		h->helper_installed = true;
		h->helper_setuid = st.st_uid == 0 && (st.st_mode & S_ISUID) && (st.st_mode & S_IXOTH);
	}
}

static void host_facts(struct host_facts *h)
{
	memset(h, 0, sizeof(*h));
	uname(&h->u);
	read_os_name(h->os, sizeof(h->os));
	cgroup_facts(h);
	helper_facts(h);
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	h->tun_usable = fd >= 0;
	if (fd >= 0)
		close(fd);
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s", BRIDGE_DEFAULT);
	h->bridge_exists = access(path, F_OK) == 0;
	h->modes[h->n_modes++] = net_mode_name(NET_NONE);
	h->modes[h->n_modes++] = net_mode_name(NET_HOST);
	if (h->tun_usable)
		h->modes[h->n_modes++] = net_mode_name(NET_SLIRP);
	/* root makes the veth itself; a normal user asks the set-uid helper; both need the
	 * bridge that `diyc network setup` made */
	if (h->bridge_exists && (geteuid() == 0 || h->helper_setuid))
		h->modes[h->n_modes++] = net_mode_name(NET_BRIDGE);
}

static void ranges_text(char *out, size_t n, const struct id_range *r, int count)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < count && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%u-%u (%u)", i ? ", " : "", r[i].start,
					r[i].start + r[i].count - 1, r[i].count);
	if (!count)
		snprintf(out, n, "none");
}

static void info_print_table(const struct system_info *in, const struct host_facts *h)
{
	char ranges[512];
	/* paths come from the environment, names from files: escaped as all diyc prints */
	_cleanup_free_ char *data = str_escape_dup(in->data), *run = str_escape_dup(in->run),
			    *user = str_escape_dup(in->user), *helper = str_escape_dup(h->helper),
			    *os = str_escape_dup(h->os);
	printf("Version: %s\n", DIYC_VERSION);
	printf("Containers: %zu\n Running: %zu\n Stopped: %zu\n", in->containers, in->running, in->stopped);
	printf("Images: %zu\nVolumes: %zu\n", in->images, in->volumes);
	printf("Storage Driver: %s\n Backing Filesystem: %s\n Project Quotas: %s\n", in->driver, in->backing_fs,
	       in->project_quota ? "true" : "false");
	printf("Data Root: %s\nRun Root: %s\n", data ? data : "?", run ? run : "?");
	printf("Cgroup Driver: %s\nCgroup Version: %s%s\n", h->cgroup_manager, h->cgroup_version,
	       h->cgroup_hybrid ? " (hybrid: a v2 hierarchy at /sys/fs/cgroup/unified)" : "");
	printf("Network Modes:");
	for (size_t i = 0; i < h->n_modes; i++)
		printf(" %s", h->modes[i]);
	printf("\n Slirp: %s\n", h->tun_usable ? "/dev/net/tun usable" : "/dev/net/tun not usable");
	printf(" Bridge %s: %s\n", BRIDGE_DEFAULT,
	       h->bridge_exists ? "exists" : "not set up (sudo diyc network setup)");
	printf(" Network Helper: %s (%s)\n", helper && *helper ? helper : BRIDGE_NETHELPER,
	       !h->helper_installed ? "not installed" : h->helper_setuid ? "set-uid root" : "not set-uid root");
	printf("Kernel Version: %s\nOperating System: %s\nOSType: linux\nArchitecture: %s\n", h->u.release,
	       os ? os : "?", h->u.machine);
	printf("Rootless: %s\n", in->rootless ? "true" : "false");
	printf("User: %s (uid %u)\n", user && *user ? user : "?", (unsigned)getuid());
	ranges_text(ranges, sizeof(ranges), in->subuid, in->n_subuid);
	printf(" Subordinate UIDs: %s\n", ranges);
	ranges_text(ranges, sizeof(ranges), in->subgid, in->n_subgid);
	printf(" Subordinate GIDs: %s\n", ranges);
}

static struct json_object *ranges_json(const struct id_range *r, int n)
{
	struct json_object *a = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "start", json_u64(r[i].start));
		json_object_object_add(o, "count", json_u64(r[i].count));
		json_object_array_add(a, o);
	}
	return a;
}

/* podman's idMappings: what a container of this user gets (container 0 is the user) */
static struct json_object *idmap_json(const struct system_info *in, bool gids)
{
	if (!in->rootless)
		return NULL;
	struct idmap m;
	idmap_build(&m, gids ? (uint32_t)getgid() : (uint32_t)getuid(), gids ? in->subgid : in->subuid,
		    gids ? in->n_subgid : in->n_subuid);
	struct json_object *a = json_object_new_array();
	for (int i = 0; i < m.n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "container_id", json_u64(m.ent[i].inside));
		json_object_object_add(o, "host_id", json_u64(m.ent[i].outside));
		json_object_object_add(o, "size", json_u64(m.ent[i].count));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *info_json_host(const struct system_info *in, const struct host_facts *h)
{
	struct json_object *host = json_object_new_object(), *ids = json_object_new_object(),
			   *sub = json_object_new_object(), *modes = json_object_new_array(),
			   *net = json_object_new_object();
	json_object_object_add(host, "arch", json_str(h->u.machine));
	json_object_object_add(host, "kernel", json_str(h->u.release));
	json_object_object_add(host, "os", json_str("linux"));
	json_object_object_add(host, "distribution", json_str(h->os));
	json_object_object_add(host, "cgroupVersion", json_str(strcmp(h->cgroup_version, "2") ? "v1" : "v2"));
	json_object_object_add(host, "cgroupHybrid", json_object_new_boolean(h->cgroup_hybrid));
	json_object_object_add(host, "cgroupManager", json_str(h->cgroup_manager));
	json_object_object_add(host, "rootless", json_object_new_boolean(in->rootless));
	json_object_object_add(host, "user", json_str(in->user));
	json_object_object_add(host, "uid", json_u64(getuid()));
	json_object_object_add(ids, "uidmap", idmap_json(in, false));
	json_object_object_add(ids, "gidmap", idmap_json(in, true));
	json_object_object_add(host, "idMappings", ids);
	json_object_object_add(sub, "uids", ranges_json(in->subuid, in->n_subuid));
	json_object_object_add(sub, "gids", ranges_json(in->subgid, in->n_subgid));
	json_object_object_add(host, "subordinateIds", sub);
	for (size_t i = 0; i < h->n_modes; i++)
		json_object_array_add(modes, json_str(h->modes[i]));
	json_object_object_add(net, "modes", modes);
	json_object_object_add(net, "tunUsable", json_object_new_boolean(h->tun_usable));
	json_object_object_add(net, "bridge", json_str(BRIDGE_DEFAULT));
	json_object_object_add(net, "bridgeExists", json_object_new_boolean(h->bridge_exists));
	json_object_object_add(net, "nethelper", json_str(h->helper));
	json_object_object_add(net, "nethelperInstalled", json_object_new_boolean(h->helper_installed));
	json_object_object_add(net, "nethelperSetuid", json_object_new_boolean(h->helper_setuid));
	json_object_object_add(host, "network", net);
	return host;
}

static struct json_object *info_json_store(const struct system_info *in)
{
	struct json_object *store = json_object_new_object(), *status = json_object_new_object(),
			   *images = json_object_new_object(), *ctrs = json_object_new_object(),
			   *vols = json_object_new_object();
	char volpath[PATH_MAX + 16];
	snprintf(volpath, sizeof(volpath), "%s/volumes", in->data);
	json_object_object_add(store, "graphRoot", json_str(in->data));
	json_object_object_add(store, "runRoot", json_str(in->run));
	json_object_object_add(store, "volumePath", json_str(volpath));
	json_object_object_add(store, "graphDriverName", json_str(in->driver));
	json_object_object_add(status, "Backing Filesystem", json_str(in->backing_fs));
	json_object_object_add(store, "graphStatus", status);
	json_object_object_add(store, "projectQuota", json_object_new_boolean(in->project_quota));
	json_object_object_add(images, "number", json_u64(in->images));
	json_object_object_add(store, "imageStore", images);
	json_object_object_add(ctrs, "number", json_u64(in->containers));
	json_object_object_add(ctrs, "running", json_u64(in->running));
	json_object_object_add(ctrs, "stopped", json_u64(in->stopped));
	json_object_object_add(store, "containerStore", ctrs);
	json_object_object_add(vols, "number", json_u64(in->volumes));
	json_object_object_add(store, "volumeStore", vols);
	return store;
}

static int info_opt(int c, const char *arg, void *data)
{
	return c == OPTION_FORMAT ? parse_format("system info", arg, data) : 0;
}

int cmd_system_info(int argc, char **argv)
{
	static const struct option o[] = { OPTION_FORMAT_ENTRY, OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "system info", info_usage, "+:", o };
	enum output_format format = OUTPUT_TABLE;
	int r;
	if (!parse_options(&spec, argc, argv, info_opt, &format, &r))
		return r;
	if (optind < argc)
		return usage_error("system info", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct system_info in;
	if (paths_init(&p, &err) < 0 || system_info(&p, &in, &err) < 0)
		return fail(&err);
	struct host_facts h;
	host_facts(&h);
	if (format == OUTPUT_TABLE) {
		info_print_table(&in, &h);
		return 0;
	}
	struct json_object *out = json_object_new_object(), *ver = json_object_new_object();
	json_object_object_add(out, "host", info_json_host(&in, &h));
	json_object_object_add(out, "store", info_json_store(&in));
	json_object_object_add(ver, "Version", json_str(DIYC_VERSION));
	json_object_object_add(out, "version", ver);
	print_json(out);
	json_object_put(out);
	return 0;
}

int cmd_system(int argc, char **argv)
{
	return verb_dispatch("system", system_usage, true, argc, argv);
}
