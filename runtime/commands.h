/* SPDX-License-Identifier: MIT */
/* commands.h: the command table's entry points and what they share for option parsing. */
#pragma once
#include <getopt.h>
#include "error.h"

int cmd_run(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_nsexec(int argc, char **argv);

/* Prints "diyc: MSG" for a bad command line and returns 125. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the option getopt_long refused (ret is '?' or ':'). */
int bad_option(const char *cmd, int ret, char **argv);
/* Prints the error and returns its exit status. */
int fail(const struct diyc_error *err);
