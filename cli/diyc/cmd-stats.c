/* SPDX-License-Identifier: MIT */
/* cmd-stats.c: `diyc stats`: memory, process and CPU use of running containers, read
 * from their cgroups. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cgroup/cgroup.h"
#include "commands.h"
#include "output.h"
#include "container/store.h"
#include "lib/util.h"

static const char stats_usage[] =
	"Usage: diyc stats [OPTIONS] [NAME...]\n"
	"\n"
	"Show the memory, process and CPU use of running containers (all of them when no NAME\n"
	"is given), refreshed every second until interrupted. A container has these figures\n"
	"only when it has a cgroup of its own: when it was run with a limit (-m, --pids-limit,\n"
	"--cpus) or --cgroup-manager.\n"
	"\n"
	"Options:\n"
	"      --no-stream      Print the figures once and exit\n"
	"      --format FORMAT  table (default) or json\n"
	"      --help           Show this help\n";

struct stats_row {
	char name[CONTAINER_NAME_MAX + 1];
	char cgroup[PATH_MAX];
	bool have;                  /* the cgroup could be read */
	struct cgroup_usage u;
	double cpu_percent;         /* -1: not known */
};

/* Opens the containers to show; with names, one that is not running is an error. */
static int collect(const struct diyc_paths *p, char **names, int n, struct stats_row **rows, size_t *nrows)
{
	_cleanup_strv_ char **all = NULL;
	struct diyc_error err = { 0 };
	bool given = n > 0;
	if (!given) {
		if (container_list(p, &all, &err) < 0)
			return fail(&err);
		names = all;
		for (n = 0; all[n]; n++)
			;
	}
	*rows = calloc(n ? n : 1, sizeof(**rows));
	if (!*rows)
		return usage_error("stats", "out of memory");
	*nrows = 0;
	int ret = 0;
	for (int i = 0; i < n; i++) {
		struct container c;
		if (container_open(p, names[i], &c, &err) < 0) {
			if (given)
				ret = fail(&err);
			continue;
		}
		if (c.st.status != STATUS_RUNNING) {
			if (given) {
				diyc_error_plain(&err, ESRCH, "container `%s` is not running", names[i]);
				ret = fail(&err);
			}
			container_close(&c);
			continue;
		}
		struct stats_row *r = &(*rows)[(*nrows)++];
		snprintf(r->name, sizeof(r->name), "%s", c.d.name);
		snprintf(r->cgroup, sizeof(r->cgroup), "%s", c.st.cgroup);
		container_close(&c);
	}
	return ret;
}

static void sample(struct stats_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct diyc_error ignore;
		rows[i].have = rows[i].cgroup[0] && cgroup_read_usage(rows[i].cgroup, &rows[i].u, &ignore) == 0;
	}
}

/* CPU use over the interval since prev, in percent of one CPU (as docker shows it). */
static void cpu_percent(struct stats_row *rows, const uint64_t *prev, size_t n, uint64_t elapsed_usec)
{
	for (size_t i = 0; i < n; i++) {
		rows[i].cpu_percent = -1;
		if (rows[i].have && elapsed_usec > 0 && rows[i].u.cpu_usec >= prev[i])
			rows[i].cpu_percent = 100.0 * (double)(rows[i].u.cpu_usec - prev[i]) / (double)elapsed_usec;
	}
}

static struct json_object *json_u64_or_null(bool have, uint64_t v)
{
	return have && v != UINT64_MAX ? json_object_new_int64((int64_t)v) : NULL;
}

static void stats_print_json(const struct stats_row *rows, size_t n)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		const struct stats_row *r = &rows[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "Name", json_object_new_string(r->name));
		json_object_object_add(o, "CPUPerc", r->have && r->cpu_percent >= 0
							     ? json_object_new_double((double)(long long)(r->cpu_percent * 100 + 0.5) / 100)
							     : NULL);
		json_object_object_add(o, "CPUUsageUsec", json_u64_or_null(r->have, r->u.cpu_usec));
		json_object_object_add(o, "MemUsage", json_u64_or_null(r->have && r->u.have_memory, r->u.memory));
		json_object_object_add(o, "MemLimit", json_u64_or_null(r->have && r->u.have_memory, r->u.memory_max));
		json_object_object_add(o, "PIDs", json_u64_or_null(r->have && r->u.have_pids, r->u.pids));
		json_object_object_add(o, "PIDsLimit", json_u64_or_null(r->have && r->u.have_pids, r->u.pids_max));
		json_object_array_add(arr, o);
	}
	print_json(arr);
	json_object_put(arr);
}

static void format_row(const struct stats_row *r, char *cpu, char *mem, char *memp, char *pids)
{
	if (r->have && r->cpu_percent >= 0)
		snprintf(cpu, 16, "%.2f%%", r->cpu_percent);
	if (r->have && r->u.have_memory) {
		char used[24], limit[24] = "unlimited";
		human_bytes(used, sizeof(used), r->u.memory);
		if (r->u.memory_max != UINT64_MAX) {
			human_bytes(limit, sizeof(limit), r->u.memory_max);
			snprintf(memp, 16, "%.2f%%", 100.0 * (double)r->u.memory / (double)r->u.memory_max);
		}
		snprintf(mem, 64, "%s / %s", used, limit);
	}
	if (r->have && r->u.have_pids) {
		if (r->u.pids_max != UINT64_MAX)
			snprintf(pids, 48, "%llu / %llu", (unsigned long long)r->u.pids, (unsigned long long)r->u.pids_max);
		else
			snprintf(pids, 48, "%llu", (unsigned long long)r->u.pids);
	}
}

static void print_table(const struct stats_row *rows, size_t n, bool clear)
{
	/* names are escaped as every string diyc prints (the store's directory names) */
	_cleanup_free_ char(*names)[4 * CONTAINER_NAME_MAX + 1] = calloc(n ? n : 1, sizeof(*names));
	if (!names)
		return;
	size_t w = 4;
	for (size_t i = 0; i < n; i++) {
		str_escape(rows[i].name, names[i], sizeof(names[i]));
		if (str_columns(names[i]) > w)
			w = str_columns(names[i]);
	}
	if (clear)
		fputs("\033[H\033[2J", stdout);
	print_cell(stdout, "NAME", w);
	printf("   %-8s   %-24s   %-8s   %s\n", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS");
	for (size_t i = 0; i < n; i++) {
		char cpu[16] = "--", mem[64] = "--", memp[16] = "--", pids[48] = "--";
		format_row(&rows[i], cpu, mem, memp, pids);
		print_cell(stdout, names[i], w);
		printf("   %-8s   %-24s   %-8s   %s\n", cpu, mem, memp, pids);
	}
	fflush(stdout);
}

struct stats_flags {
	bool stream;
	enum output_format format;
};

static int stats_opt(int c, const char *arg, void *data)
{
	struct stats_flags *f = data;
	if (c == OPTION_FORMAT)
		return parse_format("stats", arg, &f->format);
	f->stream = false; /* --no-stream */
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-stream", no_argument, NULL, 'n' }, OPTION_FORMAT_ENTRY, OPTION_HELP_ENTRY, OPTION_END,
	};
	static const struct command_options spec = { "stats", stats_usage, "+:", opts };
	struct stats_flags f = { .stream = true, .format = OUTPUT_TABLE };
	int ret;
	if (!parse_options(&spec, argc, argv, stats_opt, &f, &ret))
		return ret;
	struct diyc_paths p;
	struct diyc_error err = { 0 };
	if (paths_init(&p, &err) < 0)
		return fail(&err);
	struct stats_row *rows = NULL;
	size_t n = 0;
	ret = collect(&p, argv + optind, argc - optind, &rows, &n);
	if (ret && n == 0) {
		free(rows);
		return ret;
	}
	_cleanup_free_ uint64_t *prev = calloc(n ? n : 1, sizeof(uint64_t));
	if (!prev) {
		free(rows);
		return usage_error("stats", "out of memory");
	}
	sample(rows, n);
	uint64_t t0 = (uint64_t)(monotonic_ns() / 1000);
	for (bool first = true;; first = false) {
		for (size_t i = 0; i < n; i++)
			prev[i] = rows[i].u.cpu_usec;
		/* CPU use needs two readings: the first interval is short */
		struct timespec ts = { first ? 0 : 1, first ? 200 * 1000 * 1000 : 0 };
		nanosleep(&ts, NULL);
		sample(rows, n);
		uint64_t t1 = (uint64_t)(monotonic_ns() / 1000);
		cpu_percent(rows, prev, n, t1 - t0);
		t0 = t1;
		if (f.format == OUTPUT_JSON)
			stats_print_json(rows, n);
		else
			print_table(rows, n, f.stream && isatty(1));
		if (!f.stream)
			break;
	}
	free(rows);
	return ret;
}
