/* SPDX-License-Identifier: MIT */
/* volume-seed.h: docker's copy-up: an empty volume filled from what the image has where it
 * is mounted, in the container child before the volume is mounted. */
#pragma once
#include "lib/error.h"

/* When the directory datafd (the volume's _data, any fd of it) is empty and PATH below
 * rootfd (the container's root, resolved inside it) is a directory: copies its contents
 * into it (modes, owners, times, symlinks as symlinks, hard links as links, FIFOs; device
 * nodes and sockets are left out), and gives _data the directory's own mode and owner.
 * NAME names the volume in messages. */
int volume_seed(int rootfd, const char *path, int datafd, const char *name, struct diyc_error *err);
