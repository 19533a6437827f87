/* SPDX-License-Identifier: MIT */
/* commands.h: the command table's entry points and what they share for option parsing. */
#pragma once
#include <getopt.h>
#include "lib/error.h"

#include <stddef.h>

int cmd_run(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_nsexec(int argc, char **argv);
int cmd_network(int argc, char **argv);

/* Prints "diyc: MSG" for a bad command line and returns 125. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the option getopt_long refused (ret is '?' or ':'). */
int bad_option(const char *cmd, int ret, char **argv);
/* Adds -e KEY=VAL (or KEY: its value in diyc's environment, left out when unset) to a
 * NULL-terminated list; returns 125 after printing the error for a bad one. */
int env_list_add(char ***list, size_t *n, const char *arg, const char *cmd);
/* Prints the error and returns its exit status. */
int fail(const struct diyc_error *err);
