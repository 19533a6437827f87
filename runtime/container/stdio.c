/* SPDX-License-Identifier: MIT */
/* stdio.c: the container's stdio without -t: the caller's terminals (and, as root, every
 * stream) reach the container only through pipes that diyc copies (docs/security.md). */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include "security/confine.h"
#include "container.h"
#include "init.h"
#include "rootfs/mount.h"
#include "net/iface.h"
#include "net/bridge.h"
#include "process.h"
#include "security/selfexe.h"
#include "terminal.h"
#include "lib/fdpass.h"
#include "lib/util.h"

/* A stream of the caller's that no container may be given as it is without -t: a
 * terminal, whose input it could read (through fd 1 too: a terminal is opened read-write),
 * whose settings and window size it could change for good, and into which it could push
 * input. Any character device but the kernel's null, zero and full counts as one. */
static bool stdio_is_terminal(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return false; /* closed: nothing to give */
	if (isatty(fd))
		return true;
	if (!S_ISCHR(st->st_mode))
		return false;
	unsigned int mi = minor(st->st_rdev);
	return !(major(st->st_rdev) == 1 && (mi == 3 || mi == 5 || mi == 7));
}

/* stdout and stderr one open file (2>&1), or one terminal: one pipe for both, so that
 * what the container writes to them stays in its order */
static bool stdio_same(const struct stat *st1, const struct stat *st2)
{
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 1, 2) == 0)
		return true;
	return S_ISCHR(st1->st_mode) && S_ISCHR(st2->st_mode) && st1->st_rdev == st2->st_rdev;
}

/* A pipe: the container's end at child, ours at ours. */
static int relay_pipe(int *child, int *ours, bool ours_writes, struct diyc_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	*child = ours_writes ? p[0] : p[1];
	*ours = ours_writes ? p[1] : p[0];
	return 0;
}

int stdio_relay_open(struct stdio_relay *r, bool interactive, bool all, struct diyc_error *err)
{
	struct stdio_relay n = STDIO_RELAY_NONE;
	struct stat st[3] = { 0 };
	bool relay[3];
	for (int fd = 0; fd < 3; fd++)
		relay[fd] = stdio_is_terminal(fd, &st[fd]) || all;
	/* without -i the container's stdin is its own /dev/null */
	relay[0] = relay[0] && interactive;
	bool one = relay[1] && relay[2] && stdio_same(&st[1], &st[2]);
	int ret = 0;
	if (relay[0] && (ret = relay_pipe(&n.child[0], &n.in, true, err)) < 0)
		goto fail;
	/* stdin's end is written without blocking (see supervise) */
	if (n.in >= 0 && fcntl(n.in, F_SETFL, O_NONBLOCK) < 0) {
		ret = diyc_error(err, errno, "pipe");
		goto fail;
	}
	if (relay[1] && (ret = relay_pipe(&n.child[1], &n.out, false, err)) < 0)
		goto fail;
	if (one)
		n.child[2] = n.child[1];
	else if (relay[2] && (ret = relay_pipe(&n.child[2], &n.err, false, err)) < 0)
		goto fail;
	*r = n;
	return 0;
fail:
	stdio_relay_close(&n);
	return ret;
}

bool stdio_relay_active(const struct stdio_relay *r)
{
	return r->child[0] >= 0 || r->child[1] >= 0 || r->child[2] >= 0;
}

void stdio_relay_child(const struct stdio_relay *r)
{
	if (!r)
		return;
	for (int fd = 0; fd < 3; fd++)
		if (r->child[fd] >= 0)
			dup2(r->child[fd], fd);
}

void stdio_relay_parent(struct stdio_relay *r)
{
	if (r && r->child[2] == r->child[1])
		r->child[2] = -1; /* one pipe for both */
	for (int fd = 0; r && fd < 3; fd++)
		if (r->child[fd] >= 0)
			close(steal_fd(&r->child[fd]));
}

void stdio_relay_close(struct stdio_relay *r)
{
	if (!r)
		return;
	stdio_relay_parent(r);
	if (r->in >= 0)
		close(steal_fd(&r->in));
	if (r->out >= 0)
		close(steal_fd(&r->out));
	if (r->err >= 0)
		close(steal_fd(&r->err));
}
