/* SPDX-License-Identifier: MIT */
/* paths.h: the cgroup v2 tree at /sys/fs/cgroup as both backends (cgroupfs.c, systemd.c)
 * and the limits see it: which cgroup a process is in, a cgroup's files, making room in a
 * cgroup for children, removing a cgroup tree. Paths named REL are relative to the
 * cgroup root ("/a/b"), ABS or DIR absolute ("/sys/fs/cgroup/a/b"). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/error.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
/* where the processes of an already delegated cgroup go: no container's diyc-NAME can
 * be called that */
#define SUPERVISOR_LEAF "diyc_supervisor"

/* The cgroup v2 path ("/user.slice/...") of pid, from /proc/PID/cgroup (0: ourselves);
 * -ENOENT without a cgroup v2 line. */
int cgroup_of_pid(pid_t pid, char *out, size_t size);
/* CGROUP_ROOT/REL[/FILE] into out. */
void cg_path(char *out, size_t size, const char *rel, const char *file);
/* Writes value into DIR/FILE: 0 or a negative errno. */
int cg_write(const char *dir, const char *file, const char *value);
/* Reads DIR/FILE (malloc'd into *out): 0 or a negative errno. */
int cg_read(const char *dir, const char *file, char **out);
/* The value of KEY in a flat-keyed file (memory.events, cpu.stat). */
int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *out);
/* word is one of the space-separated words of list (cgroup.controllers). */
bool word_in(const char *list, const char *word);
/* Removes a cgroup and what is below it, depth-first: a container may have made cgroups
 * of its own inside. kill: first kill what is left in it (cgroup.kill, Linux 5.14). */
int cg_remove_tree(const char *abs, bool kill, int depth);
/* Moves every process of dir into dir/leaf, so that dir may enable controllers for its
 * children (cgroup v2 allows processes only in leaves then). */
int move_all_to_leaf(const char *dir, const char *leaf, struct diyc_error *err);
