/* SPDX-License-Identifier: MIT */
/* fdpass.h: passing one file descriptor over a unix socket (SCM_RIGHTS), with a small
 * message beside it. */
#pragma once
#include <stddef.h>

int send_fd(int sock, int fd, const void *data, size_t len);
int recv_fd(int sock, int *fd, void *data, size_t len);
