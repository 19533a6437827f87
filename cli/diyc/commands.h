/* SPDX-License-Identifier: MIT */
/* commands.h: the verbs' entry points (verbs.c lists them) and, through options.h, what
 * they share for option parsing. Each takes the command line from the verb on: argv[0] is
 * "run", "image", ... */
#pragma once
#include "options.h"

struct cgroup_labels;
/* The flag names that messages about limits use (cmd-run.c) */
extern const struct cgroup_labels cli_cgroup_labels;

int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
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
int cmd_pull(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_volume(int argc, char **argv);
int cmd_system(int argc, char **argv);

/* The subverbs, in verbs.c's table, which cmd_image and cmd_network dispatch through
 * (verb_dispatch): argv[0] is the subverb ("import", "ls", ...). */
int cmd_image_import(int argc, char **argv);
int cmd_image_ls(int argc, char **argv);
int cmd_image_rm(int argc, char **argv);
int cmd_image_inspect(int argc, char **argv);
int cmd_image_prune(int argc, char **argv);
int cmd_image_export(int argc, char **argv);
int cmd_image_tag(int argc, char **argv);
int cmd_network_setup(int argc, char **argv);
int cmd_network_teardown(int argc, char **argv);
int cmd_network_ls(int argc, char **argv);
int cmd_volume_create(int argc, char **argv);
int cmd_volume_ls(int argc, char **argv);
int cmd_volume_inspect(int argc, char **argv);
int cmd_volume_rm(int argc, char **argv);
int cmd_volume_prune(int argc, char **argv);
int cmd_system_df(int argc, char **argv);
int cmd_system_prune(int argc, char **argv);
int cmd_system_info(int argc, char **argv);
