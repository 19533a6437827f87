/* SPDX-License-Identifier: MIT */
/* terminal.h: the container's pty (allocated from its own devpts), raw mode and window
 * size on the caller's terminal, and passing the master fd over a unix socket. */
#pragma once
#include "lib/error.h"

int terminal_open_pty(int *master, int *slave, struct diyc_error *err);
/* Makes slave the controlling terminal and stdin/stdout/stderr of the calling process,
 * which must be a session leader. */
int terminal_make_controlling(int slave, struct diyc_error *err);
/* Raw mode on fd, saving the old settings; restore puts them back. */
int terminal_raw(int fd);
void terminal_restore(void);
void terminal_copy_winsize(int from, int to);
