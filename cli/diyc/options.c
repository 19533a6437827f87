/* SPDX-License-Identifier: MIT */
/* options.c: reading a command line, the same way in every command (see options.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"
#include "output.h"
#include "lib/util.h"

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

bool parse_options(const struct command_options *o, int argc, char **argv, option_fn fn, void *data,
		   int *status)
{
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, o->shortopts, o->longopts, NULL)) != -1) {
		if (c == OPTION_HELP) {
			fputs(o->usage, stdout);
			*status = 0;
			return false;
		}
		if (c == OPTION_VERBOSE) {
			diyc_verbose = 1;
			continue;
		}
		if (c == '?' || c == ':') {
			*status = bad_option(o->cmd, c, argv);
			return false;
		}
		int r = fn(c, optarg, data);
		if (r) {
			*status = r;
			return false;
		}
	}
	return true;
}

int no_options(int c, const char *arg, void *data)
{
	(void)c, (void)arg, (void)data;
	return 0;
}

int bool_option(int c, const char *arg, void *data)
{
	(void)c, (void)arg;
	*(bool *)data = true;
	return 0;
}

int process_flag(const char *cmd, int c, const char *arg, struct process_flags *p)
{
	switch (c) {
	case 't': p->tty = true; return 0;
	case 'i': p->interactive = true; return 0;
	case 'e': return env_list_add(&p->env, &p->n_env, arg, cmd) ? DIYC_EXIT_RUNTIME : 0;
	case 'w':
		if (arg[0] != '/')
			return usage_error(cmd, "working directory `%s` must be an absolute path", arg);
		p->workdir = arg;
		return 0;
	case 'u': p->user = arg; return 0;
	default: return OPTION_NOT_MINE;
	}
}

int parse_format(const char *cmd, const char *arg, enum output_format *out)
{
	if (!strcmp(arg, "json"))
		*out = OUTPUT_JSON;
	else if (!strcmp(arg, "table"))
		*out = OUTPUT_TABLE;
	else
		return usage_error(cmd, "unknown format `%s`: use table or json", arg);
	return 0;
}
