/* SPDX-License-Identifier: MIT */
/* oci-cli.h: what the diyc-oci commands share: the global flags, the error printer and
 * the flag parser every command uses. */
#pragma once
#include <stdbool.h>
#include <getopt.h>
#include "oci/oci.h"

struct oci_globals {
	const char *root, *log, *log_format;
	bool systemd_cgroup, no_cgroup, debug;
};
extern struct oci_globals g_oci;

struct oci_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	bool starts_processes;
};

/* Prints the error (stderr, and the --log file); returns 1, runc's failure status. */
int oci_fail(const struct diyc_error *err);
void oci_fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* getopt_long_only over a command's flags, with --help printing help (returns -1 when
 * done and the command should exit 0, 1 on a bad flag). The handler gets each flag. */
int oci_parse_flags(int argc, char **argv, const struct option *opts, const char *help, int min_args, int max_args,
		    int (*handle)(int c, const char *arg, void *ctx), void *ctx);
/* The same with runc's one-letter flags: shortopts as getopt's (starting "+:h"), their
 * letters the values of their long options. */
int oci_parse_flags_short(int argc, char **argv, const char *shortopts, const struct option *opts, const char *help,
			  int min_args, int max_args, int (*handle)(int c, const char *arg, void *ctx), void *ctx);

int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_spec(int argc, char **argv);
