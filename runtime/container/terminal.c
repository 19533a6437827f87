/* SPDX-License-Identifier: MIT */
/* terminal.c: the container's pty and the caller's terminal. The pty comes from the
 * container's own devpts instance so that `tty` inside names a device that exists
 * there; its master travels to the parent diyc over the sync socket. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include "terminal.h"
#include "lib/util.h"

int terminal_open_pty(int *master, int *slave, struct diyc_error *err)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return diyc_error(err, errno, "open /dev/ptmx in the container");
	if (unlockpt(m) < 0) {
		int e = errno;
		close(m);
		return diyc_error(err, e, "unlock the pty");
	}
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = errno;
		close(m);
		return diyc_error(err, e, "open the pty's terminal side");
	}
	*master = m;
	*slave = s;
	return 0;
}

int terminal_make_controlling(int slave, struct diyc_error *err)
{
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return diyc_error(err, errno, "make the pty the controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return diyc_error(err, errno, "attach the pty");
	if (slave > 2)
		close(slave);
	return 0;
}

static struct termios saved;
static int saved_fd = -1;

int terminal_raw(int fd)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	saved = t;
	saved_fd = fd;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSADRAIN, &t) < 0)
		return -errno;
	return 0;
}

void terminal_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSADRAIN, &saved);
	saved_fd = -1;
}

void terminal_copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		ioctl(to, TIOCSWINSZ, &ws);
}
