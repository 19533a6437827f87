/* SPDX-License-Identifier: MIT */
/* test-child.c: lib/child: a child killed and reaped at the end of its scope (unless
 * disarmed), reaping across EINTR, fd pairs closed together, errno left as it was. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "lib/child.h"
#include "lib/util.h"

static pid_t seen_pid;
static int seen_fd[2];
static volatile sig_atomic_t alarms;

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* A child that waits forever and a pipe, both left to the end of the scope; errno set
 * last, to see that the cleanup keeps it. */
static void scope(bool disarm)
{
	_cleanup_child_ pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	CHECK(pid > 0);
	seen_pid = pid;
	_cleanup_fd_pair_ struct fd_pair p = FD_PAIR_INIT;
	CHECK(fd_pair_pipe(&p, O_CLOEXEC) == 0);
	CHECK(is_open(p.fd[0]) && is_open(p.fd[1]));
	CHECK((fcntl(p.fd[0], F_GETFD) & FD_CLOEXEC) && (fcntl(p.fd[1], F_GETFD) & FD_CLOEXEC));
	seen_fd[0] = p.fd[0];
	seen_fd[1] = p.fd[1];
	if (disarm)
		CHECK(disarm_child(&pid) == seen_pid && pid == -1);
	errno = 42;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

int main(void)
{
	/* the end of the scope kills and reaps the child, closes both ends, keeps errno */
	scope(false);
	CHECK(errno == 42);
	CHECK(!is_open(seen_fd[0]) && !is_open(seen_fd[1]));
	CHECK(waitpid(seen_pid, NULL, WNOHANG) < 0 && errno == ECHILD);

	/* disarmed: the child is still there, the caller's to reap */
	scope(true);
	CHECK(errno == 42);
	CHECK(!is_open(seen_fd[0]) && !is_open(seen_fd[1]));
	CHECK(waitpid(seen_pid, NULL, WNOHANG) == 0);
	CHECK(kill(seen_pid, SIGTERM) == 0);
	int st;
	CHECK(reap(seen_pid, &st) == seen_pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);

	/* a signal without SA_RESTART interrupts waitpid: reap waits on */
	struct sigaction sa = { .sa_handler = on_alarm };
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	pid_t c = fork();
	if (c == 0) {
		usleep(300000);
		_exit(7);
	}
	CHECK(c > 0);
	ualarm(100000, 0);
	CHECK(reap(c, &st) == c && WIFEXITED(st) && WEXITSTATUS(st) == 7);
	CHECK(alarms == 1);
	CHECK(reap(c, NULL) < 0 && errno == ECHILD);

	/* kill_and_reap: nothing for no child, errno kept either way */
	errno = 43;
	kill_and_reap(0);
	kill_and_reap(-1);
	CHECK(errno == 43);
	c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	errno = 44;
	kill_and_reap(c);
	CHECK(errno == 44);
	CHECK(waitpid(c, NULL, WNOHANG) < 0 && errno == ECHILD);

	/* an end taken with steal_fd stays open; closing twice is harmless */
	struct fd_pair p = FD_PAIR_INIT;
	CHECK(fd_pair_pipe(&p, O_CLOEXEC) == 0);
	int r = steal_fd(&p.fd[0]);
	errno = 45;
	fd_pair_close(&p);
	CHECK(errno == 45 && p.fd[0] == -1 && p.fd[1] == -1);
	CHECK(is_open(r));
	close(r);
	fd_pair_close(&p);

	/* a failed pipe: -errno, both ends -1 */
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	struct rlimit low = { 0, rl.rlim_max };
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	p = (struct fd_pair)FD_PAIR_INIT;
	p.fd[0] = 99;
	r = fd_pair_pipe(&p, O_CLOEXEC);
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(r == -EMFILE && p.fd[0] == -1 && p.fd[1] == -1);
	return CHECKS_DONE();
}
