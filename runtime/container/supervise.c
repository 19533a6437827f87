/* SPDX-License-Identifier: MIT */
/* supervise.c: the parent's side of a running container, until it ends: forwarding
 * signals and reaping, the sync socket (the pty master, slirp's tap, an error from the
 * child, the end of start-up), the stdio pipes and the pty, the slirp process and the
 * published ports, all in one poll loop (lib/evloop.c) with a callback per fd. */
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
#include "lib/child.h"
#include "lib/evloop.h"
#include "lib/util.h"

const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
const int n_forwarded_signals = ARRAY_SIZE(forwarded_signals);

static int exit_status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return DIYC_EXIT_RUNTIME;
}

static void handle_sync(int syncfd, int *master, int *tap, bool *have_error, struct diyc_error *err, bool *eof,
			bool *ready)
{
	struct sync_msg m;
	int fd = -1;
	int n = recv_fd(syncfd, &fd, &m, sizeof(m));
	if (n <= 0) {
		*eof = true;
		return;
	}
	if (m.type == SYNC_READY && n >= (int)sizeof(uint32_t)) {
		if (fd >= 0)
			close(fd);
		*ready = true;
		return;
	}
	if (m.type == SYNC_PTY && fd >= 0) {
		if (*master >= 0)
			close(*master);
		*master = fd;
		return;
	}
	if (m.type == SYNC_TAP && fd >= 0 && tap && *tap < 0) {
		*tap = fd;
		return;
	}
	if (fd >= 0)
		close(fd);
	if (m.type == SYNC_ERROR && n == (int)sizeof(m) && !*have_error) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		m.hint_arg[sizeof(m.hint_arg) - 1] = '\0';
		if (err) {
			snprintf(err->msg, sizeof(err->msg), "%s", m.msg);
			snprintf(err->hint_arg, sizeof(err->hint_arg), "%s", m.hint_arg);
			err->errnum = m.errnum;
			err->status = m.status;
			err->hint = m.hint;
		}
		*have_error = true;
	}
}

/* Copies what is readable on from to to; returns false at EOF or error. */
static bool pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return write_all(to, buf, n) == 0;
}

/* The slirp stack on the container's tap, then its published ports. */
static int network_start(pid_t pid, const struct supervise_opts *o, int tap, struct slirp_net **net,
			 struct port_relay **relay, struct diyc_error *err)
{
	/* libslirp and the relay write to sockets whose peer may be gone: that must be EPIPE,
	 * not a signal that ends a foreground diyc (a detached monitor ignores it already) */
	signal(SIGPIPE, SIG_IGN);
	/* the slirp process confines itself as the supervisor does (security/confine.c)
	 * before the first frame */
	int r = slirp_net_start(o->slirp, tap, confine_supervisor, net, err);
	if (r == 0)
		r = port_relay_start(o->ports, o->n_ports, o->port_fds, pid, o->join_userns, SLIRP_GUEST_ADDR, relay,
				     err);
	if (r < 0 && !err->status)
		err->status = DIYC_EXIT_RUNTIME;
	return r;
}

/* Everything the callbacks share. */
struct supervisor {
	pid_t pid;
	int syncfd, sfd;
	const struct supervise_opts *o;
	struct diyc_error *err;
	struct stdio_relay *io;
	int master, tap;
	bool eof, have_error, exited, stdin_open, raw;
	bool ready, start_sent;   /* SYNC_READY came; the start byte went back */
	int wstatus;
	struct slirp_net *net;
	struct port_relay *relay;
	/* what was read from stdin and is not yet in the container's pipe: never a blocking
	 * write, which would stop the copying of its output (that it may be waiting on) */
	char inbuf[16384];
	size_t in_len, in_off;
	int w_sync, w_out, w_err, w_rin, w_master, w_in;
};

/* The container is created (set up, its command held at the gate): start it, unless the
 * created hook says otherwise. */
static void supervisor_start(struct supervisor *s)
{
	const struct supervise_opts *o = s->o;
	s->start_sent = true;
	int r = o->created ? o->created(o->hook_arg, s->pid, s->err) : 0;
	if (r == 0 && send(s->syncfd, "s", 1, MSG_NOSIGNAL) != 1)
		r = diyc_error(s->err, errno, "start the container");
	if (r < 0) {
		if (!s->err->status)
			s->err->status = DIYC_EXIT_RUNTIME;
		s->have_error = true;
		kill(s->pid, SIGKILL);
	}
}

static void on_sync(struct evloop *l, void *arg, short revents)
{
	struct supervisor *s = arg;
	const struct supervise_opts *o = s->o;
	handle_sync(s->syncfd, &s->master, &s->tap, &s->have_error, s->err, &s->eof, &s->ready);
	if (s->tap >= 0 && !s->net && o->slirp) {
		if (network_start(s->pid, o, s->tap, &s->net, &s->relay, s->err) < 0) {
			/* the command must not run without the ports it was promised */
			s->have_error = true;
			kill(s->pid, SIGKILL);
		}
		s->tap = -2; /* taken */
	}
	if (s->ready && !s->start_sent)
		supervisor_start(s);
	if (s->eof && !s->have_error && o->started)
		o->started(o->hook_arg);
	if (s->master >= 0 && !s->raw) {
		s->raw = true;
		if (isatty(0))
			terminal_raw(0);
		terminal_copy_winsize(isatty(0) ? 0 : 1, s->master);
	}
}

static void on_out(struct evloop *l, void *arg, short revents)
{
	struct supervisor *s = arg;
	if (!pump(s->io->out, 1))
		close(steal_fd(&s->io->out));
}

static void on_err(struct evloop *l, void *arg, short revents)
{
	struct supervisor *s = arg;
	if (!pump(s->io->err, 2))
		close(steal_fd(&s->io->err));
}

/* stdin into the container's pipe: read when nothing is pending, else write what is */
static void on_stdin_pipe(struct evloop *l, void *arg, short revents)
{
	struct supervisor *s = arg;
	if (s->in_off < s->in_len) {
		ssize_t w = write(s->io->in, s->inbuf + s->in_off, s->in_len - s->in_off);
		if (w > 0)
			s->in_off += w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			close(steal_fd(&s->io->in)); /* the container closed its stdin */
		if (s->in_off == s->in_len)
			s->in_off = s->in_len = 0;
		return;
	}
	ssize_t k = read(0, s->inbuf, sizeof(s->inbuf));
	if (k > 0)
		s->in_len = k;
	else if (k == 0 || (errno != EINTR && errno != EAGAIN))
		close(steal_fd(&s->io->in)); /* end of diyc's input: the container's too */
}

static void on_master(struct evloop *l, void *arg, short revents)
{
	struct supervisor *s = arg;
	if (!pump(s->master, 1)) {
		close(s->master);
		s->master = -1;
	}
}

static void on_tty_stdin(struct evloop *l, void *arg, short revents)
{
	struct supervisor *s = arg;
	if (s->master < 0 || pump(0, s->master))
		return;
	s->stdin_open = false;
	/* end of input: send the terminal's EOF character to the container */
	struct termios t;
	char eofc = tcgetattr(s->master, &t) == 0 ? t.c_cc[VEOF] : 4;
	write_all(s->master, &eofc, 1);
}

static void on_signal(struct evloop *l, void *arg, short revents)
{
	struct supervisor *s = arg;
	struct signalfd_siginfo si;
	if (read(s->sfd, &si, sizeof(si)) != sizeof(si))
		return;
	int sig = si.ssi_signo;
	if (sig == SIGCHLD) {
		if (waitpid(s->pid, &s->wstatus, WNOHANG) == s->pid)
			s->exited = true;
	} else if (sig == SIGWINCH && s->master >= 0) {
		terminal_copy_winsize(isatty(0) ? 0 : 1, s->master);
	} else if (sig != SIGWINCH || s->o->forward_winch) {
		kill(s->pid, sig);
	}
}

static size_t relay_fill(void *arg, struct pollfd **fds, size_t *cap, size_t n, int *timeout)
{
	struct supervisor *s = arg;
	return port_relay_fill(s->relay, fds, cap, n, timeout);
}

static void relay_done(void *arg, const struct pollfd *fds, size_t first, size_t n, int polled)
{
	struct supervisor *s = arg;
	/* the relay's indexes count from the start of the whole array */
	if (polled > 0)
		port_relay_done(s->relay, fds, first + n);
}

static size_t slirp_fill(void *arg, struct pollfd **fds, size_t *cap, size_t n, int *timeout)
{
	struct supervisor *s = arg;
	return s->net ? slirp_net_fill(s->net, fds, cap, n, timeout) : n;
}

static void slirp_done(void *arg, const struct pollfd *fds, size_t first, size_t n, int polled)
{
	struct supervisor *s = arg;
	if (s->net)
		slirp_net_done(s->net, fds + first, n, polled < 0);
}

/* What each watch polls next round. */
static void supervisor_arm(struct evloop *l, struct supervisor *s)
{
	struct stdio_relay *io = s->io;
	evloop_set(l, s->w_sync, s->eof ? -1 : s->syncfd, POLLIN);
	evloop_set(l, s->w_out, io ? io->out : -1, POLLIN);
	evloop_set(l, s->w_err, io ? io->err : -1, POLLIN);
	if (io && io->in >= 0 && s->in_off < s->in_len)
		evloop_set(l, s->w_rin, io->in, POLLOUT);
	else
		evloop_set(l, s->w_rin, io && io->in >= 0 ? 0 : -1, POLLIN);
	evloop_set(l, s->w_master, s->master, POLLIN);
	evloop_set(l, s->w_in, s->master >= 0 && s->stdin_open ? 0 : -1, POLLIN);
}

/* Everything after the loop: the last output, the terminal, the error the child sent. */
static void supervisor_drain(struct supervisor *s)
{
	struct stdio_relay *io = s->io;
	/* what the container wrote last is still in the pty */
	if (s->master >= 0) {
		fcntl(s->master, F_SETFL, O_NONBLOCK);
		struct pollfd p = { s->master, POLLIN, 0 };
		while (poll(&p, 1, 50) > 0 && pump(s->master, 1))
			;
		close(steal_fd(&s->master));
	}
	if (s->raw)
		terminal_restore();
	/* what the container wrote last is still in the pipes: until every writer is gone */
	for (int k = 0; io && k < 2; k++) {
		int *fd = k ? &io->err : &io->out;
		struct pollfd pf = { *fd, POLLIN, 0 };
		while (*fd >= 0 && poll(&pf, 1, 1000) > 0 && pump(*fd, k ? 2 : 1))
			;
	}
	stdio_relay_close(io);
	if (!s->eof) {
		/* an error message is in the socket already if the child sent one */
		struct pollfd p = { s->syncfd, POLLIN, 0 };
		while (!s->eof && poll(&p, 1, 0) > 0)
			handle_sync(s->syncfd, &s->master, &s->tap, &s->have_error, s->err, &s->eof, &s->ready);
		if (s->master >= 0)
			close(steal_fd(&s->master));
	}
	port_relay_stop(s->relay);
	slirp_net_stop(s->net);
	if (s->tap >= 0)
		close(s->tap);
}

/* On a bridge the container's address is reachable from here: the ports' relay starts now. */
static int bridge_ports_start(struct supervisor *s)
{
	const struct supervise_opts *o = s->o;
	if (!o->grant || !o->grant->veth[0] || !o->n_ports)
		return 0;
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &o->grant->addr, addr, sizeof(addr));
	signal(SIGPIPE, SIG_IGN);
	if (port_relay_start(o->ports, o->n_ports, o->port_fds, 0, false, addr, &s->relay, s->err) < 0) {
		kill_and_reap(s->pid);
		if (!s->err->status)
			s->err->status = DIYC_EXIT_RUNTIME;
		return -(s->err->errnum ? s->err->errnum : EINVAL);
	}
	return 0;
}

/* The watches in the order their callbacks run after each poll(). */
static int supervisor_watch(struct evloop *l, struct supervisor *s)
{
	static const struct evloop_source relay = { relay_fill, relay_done, NULL };
	static const struct evloop_source slirp = { slirp_fill, slirp_done, NULL };
	if ((s->w_sync = evloop_watch(l, -1, POLLIN, on_sync, s)) < 0 ||
	    (s->w_out = evloop_watch(l, -1, POLLIN, on_out, s)) < 0 ||
	    (s->w_err = evloop_watch(l, -1, POLLIN, on_err, s)) < 0 ||
	    (s->w_rin = evloop_watch(l, -1, POLLIN, on_stdin_pipe, s)) < 0 ||
	    (s->w_master = evloop_watch(l, -1, POLLIN, on_master, s)) < 0 ||
	    (s->w_in = evloop_watch(l, -1, POLLIN, on_tty_stdin, s)) < 0 ||
	    evloop_watch(l, s->sfd, POLLIN, on_signal, s) < 0)
		return -ENOSPC;
	struct evloop_source r = relay, n = slirp;
	r.arg = n.arg = s;
	if (evloop_source(l, &r) < 0 || evloop_source(l, &n) < 0)
		return -ENOSPC;
	return 0;
}

int supervise(pid_t pid, int syncfd, const struct supervise_opts *o, int *status, struct diyc_error *err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; i < n_forwarded_signals; i++)
		sigaddset(&set, forwarded_signals[i]);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return diyc_error(err, errno, "signalfd");
	_cleanup_free_ struct supervisor *s = calloc(1, sizeof(*s));
	struct evloop loop;
	if (!s || evloop_init(&loop) < 0) {
		if (s)
			evloop_free(&loop);
		return diyc_error(err, ENOMEM, "supervise");
	}
	*s = (struct supervisor){ .pid = pid, .syncfd = syncfd, .sfd = sfd, .o = o, .err = err, .io = o->stdio,
				  .master = -1, .tap = -1, .stdin_open = o->tty && o->interactive };
	int r = supervisor_watch(&loop, s);
	if (r == 0)
		r = bridge_ports_start(s);
	if (r < 0) {
		evloop_free(&loop);
		return r == -ENOSPC ? diyc_error(err, ENOSPC, "supervise") : r;
	}
	if (s->io && s->io->in >= 0)
		signal(SIGPIPE, SIG_IGN);
	int saved_errno = 0;
	while (!s->exited) {
		supervisor_arm(&loop, s);
		int pr = evloop_run_once(&loop);
		if (pr < 0) {
			saved_errno = -pr;
			break;
		}
	}
	evloop_free(&loop);
	supervisor_drain(s);
	if (!s->exited)
		return diyc_error(err, saved_errno, "wait for the container");
	*status = exit_status_of(s->wstatus);
	if (s->have_error) {
		if (err->status == DIYC_EXIT_RUNTIME)
			return -(err->errnum ? err->errnum : EINVAL);
		*status = err->status;
		return 1; /* the command could not be executed; err says why */
	}
	return 0;
}
