/* SPDX-License-Identifier: MIT */
/* options.h: what the commands share to read their command line: one getopt_long loop with
 * --help (and --verbose) handled the same everywhere, the errors for a bad command line
 * (`diyc: ... (see `diyc CMD --help`)`, exit 125), and the flags several commands take:
 * -t -i -e -w -u (run, exec) and --format table|json (ps, stats, network ls). */
#pragma once
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

/* getopt_long's values for the shared long options, above any command's own (256 up) */
enum { OPTION_HELP = 0x10000, OPTION_VERBOSE, OPTION_FORMAT };
/* a command lists these among its long options to take them */
#define OPTION_HELP_ENTRY { "help", no_argument, NULL, OPTION_HELP }
#define OPTION_VERBOSE_ENTRY { "verbose", no_argument, NULL, OPTION_VERBOSE }
#define OPTION_FORMAT_ENTRY { "format", required_argument, NULL, OPTION_FORMAT }
#define OPTION_END { NULL, 0, NULL, 0 }

/* A command's options, as parse_options reads them. */
struct command_options {
	const char *cmd;               /* in messages: "run", "image ls" */
	const char *usage;             /* what --help prints, on stdout */
	const char *shortopts;         /* getopt's: "+:" (stop at the first operand, report a
					* missing value), then the command's letters */
	const struct option *longopts; /* with OPTION_HELP_ENTRY, ended by OPTION_END */
};

/* Called for each option but --help and --verbose, with getopt's value and its argument
 * (NULL for none): returns 0 to go on, else the command's exit status after printing why. */
typedef int (*option_fn)(int c, const char *arg, void *data);

/* Reads argv's options from argv[1] up to the first operand, which optind is then.
 * Returns true when the command goes on; false when it is over, with *status its exit
 * status: 0 after printing the usage for --help, 125 after printing the bad option, or
 * what fn returned. --verbose turns on diyc_verbose. */
bool parse_options(const struct command_options *o, int argc, char **argv, option_fn fn, void *data,
		   int *status);

/* An option_fn for commands whose only options are --help (and --verbose). */
int no_options(int c, const char *arg, void *data);
/* An option_fn for commands with one flag that takes no value (rm -f): data is a bool, set
 * to true. */
int bool_option(int c, const char *arg, void *data);

/* -t -i -e -w -u: how run and exec start a process */
struct process_flags {
	bool tty, interactive;
	char **env; /* KEY=VAL, NULL-terminated (NULL when none) */
	size_t n_env;
	const char *workdir, *user;
};
#define PROCESS_SHORTOPTS "tie:w:u:"
#define PROCESS_LONGOPTS                                                                          \
	{ "tty", no_argument, NULL, 't' }, { "interactive", no_argument, NULL, 'i' },              \
	{ "env", required_argument, NULL, 'e' }, { "workdir", required_argument, NULL, 'w' },    \
	{ "user", required_argument, NULL, 'u' }
/* what process_flag returns for an option that is not one of its own */
#define OPTION_NOT_MINE (-1)
/* Takes c when it is one of -t -i -e -w -u: returns 0, or 125 after printing a bad value
 * (`diyc CMD`); OPTION_NOT_MINE when it is another option. */
int process_flag(const char *cmd, int c, const char *arg, struct process_flags *p);

/* --format: how a listing is printed */
enum output_format { OUTPUT_TABLE, OUTPUT_JSON };
/* --format table|json: 0, or 125 after printing `unknown format`. */
int parse_format(const char *cmd, const char *arg, enum output_format *out);

/* Prints "diyc: MSG (see `diyc CMD --help`)" for a bad command line and returns 125. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the option getopt_long refused (ret is '?' or ':'); returns 125. */
int bad_option(const char *cmd, int ret, char **argv);
/* Adds -e KEY=VAL (or KEY: its value in diyc's environment, left out when unset) to a
 * NULL-terminated list; returns 125 after printing the error for a bad one. */
int env_list_add(char ***list, size_t *n, const char *arg, const char *cmd);
/* Prints the error and returns its exit status. */
int fail(const struct diyc_error *err);
