/* SPDX-License-Identifier: MIT */
/* main.c: diyc's entry: the sealed copy of itself for the verbs that start containers,
 * --help and --version, then the verb (verbs.c has the table). Each verb parses its own
 * flags in cmd-*.c (with options.c) and calls into the library; errors are printed once,
 * here or in the command, prefixed `diyc: `. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "output.h"
#include "verbs.h"
#include "security/selfexe.h"
#include "lib/util.h"

/* The diyc binary out of the containers' reach (security/selfexe.c): on a kernel that cannot
 * repoint a process's executable, diyc runs again from a sealed copy of itself. */
static int prepare_selfexe(int argc, char **argv)
{
	for (const struct verb *v = diyc_verbs; argc >= 2 && v->name; v++)
		if (v->starts_containers && !strcmp(argv[1], v->name)) {
			struct diyc_error err = { 0 };
			if (selfexe_prepare(argv, &err) < 0)
				return fail(&err);
		}
	return 0;
}

/* diyc --help, -h, help [VERB]: VERB's help is `diyc VERB --help` */
static int help(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "help") == 0) {
		char *help_argv[] = { argv[2], "--help", NULL };
		for (const struct verb *v = diyc_verbs; v->name; v++)
			if (!strcmp(argv[2], v->name))
				return v->fn(2, help_argv);
	}
	verbs_print_usage(stdout);
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
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
		return help(argc, argv);
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("diyc version %s\n", DIYC_VERSION);
		return 0;
	}
	for (const struct verb *v = diyc_verbs; v->name; v++)
		if (!strcmp(cmd, v->name))
			return v->fn(argc - 1, argv + 1);
	char line[512];
	if (cmd[0] == '-')
		snprintf(line, sizeof(line), "unknown flag: %s (see `diyc --help`)", cmd);
	else
		snprintf(line, sizeof(line), "unknown command `%s` (see `diyc --help`)", cmd);
	diyc_print_line("diyc: ", line);
	return DIYC_EXIT_RUNTIME;
}
