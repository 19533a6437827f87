/* SPDX-License-Identifier: MIT */
/* init.c: the container's init process of an OCI container, from its clone to the exec
 * of process.args. It builds the container in the order the runtime spec gives (root
 * filesystem, createContainer hooks, pivot, console, masked paths, sysctl, limits,
 * identity), reports created to `create` and then waits, with nobody watching, on the
 * exec fifo until `start` opens its other end. Any error before that crosses the sync
 * socket as one message; after it there is nobody to tell but the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include "sync.h"
#include "hooks.h"
#include "process.h"
#include "rootfs.h"
#include "container/terminal.h"
#include "rootfs/inroot.h"
#include "security/selfexe.h"
#include "lib/fdpass.h"
#include "lib/util.h"

static void __attribute__((noreturn)) init_fail(int syncfd, struct diyc_error *err)
{
	sync_send_error(syncfd, err);
	_exit(err->status ? err->status : DIYC_EXIT_RUNTIME);
}

static int set_names(const struct oci_spec *s, struct diyc_error *err)
{
	bool uts = oci_spec_namespace(s, CLONE_NEWUTS) != NULL;
	if ((s->hostname || s->domainname) && !uts)
		return diyc_error_plain(err, EINVAL, "a hostname or domainname needs a UTS namespace of its own");
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return diyc_error(err, errno, "set the hostname `%s`", s->hostname);
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return diyc_error(err, errno, "set the domainname `%s`", s->domainname);
	return 0;
}

/* linux.sysctl, through the container's own /proc/sys. */
static int set_sysctls(const struct oci_spec *s, struct diyc_error *err)
{
	for (char **kv = s->sysctl; kv && *kv; kv++) {
		char path[512];
		const char *eq = strchr(*kv, '=');
		int n = snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(eq - *kv), *kv);
		for (char *p = path + 10; p < path + n; p++)
			if (*p == '.')
				*p = '/';
		_cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || write_all(fd, eq + 1, strlen(eq + 1)) < 0)
			return diyc_error(err, errno, "set sysctl %.*s", (int)(eq - *kv), *kv);
	}
	return 0;
}

/* The pty for process.terminal, from the container's own devpts: its master goes to the
 * engine over the console socket (one fd in one message), the slave becomes /dev/console
 * and the process's stdio. */
static int set_console(const struct oci_init_args *a, int *slave, struct diyc_error *err)
{
	const struct oci_process *p = &a->spec->process;
	int master;
	int r = terminal_open_pty(&master, slave, err);
	if (r < 0)
		return r;
	_cleanup_close_ int m = master;
	if (p->console_height || p->console_width) {
		struct winsize ws = { .ws_row = p->console_height, .ws_col = p->console_width };
		ioctl(*slave, TIOCSWINSZ, &ws);
	}
	char name[64];
	if (ptsname_r(master, name, sizeof(name)) != 0)
		snprintf(name, sizeof(name), "/dev/console");
	r = send_fd(a->console, master, name, strlen(name));
	if (r < 0)
		return diyc_error(err, -r, "send the terminal over the console socket");
	close(a->console);
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char src[64];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", *slave);
	if (mount_in_root(root, "/dev/console", true, src, NULL, MS_BIND, NULL, err) < 0)
		diyc_debug("no /dev/console: %s", err->msg);
	return 0;
}

/* The round trip for prestart and createRuntime, which `create` runs in the runtime's
 * namespaces now that ours exist. *state gets the state JSON the hooks of the container
 * side are given. */
static int hooks_round_trip(const struct oci_init_args *a, char **state, struct diyc_error *err)
{
	uint32_t type = OCI_SYNC_HOOKS;
	if (send(a->syncfd, &type, sizeof(type), MSG_NOSIGNAL) != sizeof(type))
		_exit(DIYC_EXIT_RUNTIME);
	char *buf = malloc(1 << 20);
	if (!buf)
		return diyc_error(err, ENOMEM, "state");
	ssize_t n = recv(a->syncfd, buf, (1 << 20) - 1, 0);
	if (n <= 0)
		_exit(DIYC_EXIT_RUNTIME); /* create failed, and says why */
	buf[n] = '\0';
	*state = buf;
	return 0;
}

static void join_session_keyring(const char *id)
{
	char name[300];
	snprintf(name, sizeof(name), "_ses.%s", id);
	/* a kernel or filter without keyrings, or a full quota: go on without one */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0)
		diyc_debug("no session keyring: %s", strerror(errno));
}

/* Everything that needs the container's root: the filesystem, hooks, pivot, console. */
static int build(const struct oci_init_args *a, int rootfd, char **state, int *slave, struct diyc_error *err)
{
	const struct oci_spec *s = a->spec;
	struct oci_rootfs_opts ro = { .in_userns = a->new_userns, .no_pivot = a->opts->no_pivot, .console_slave = -1 };
	int r = set_names(s, err);
	if (r == 0)
		r = oci_rootfs_prepare(s, &ro, rootfd, err);
	if (r == 0 && oci_sync_wants_hooks(s))
		r = hooks_round_trip(a, state, err);
	if (r == 0)
		r = oci_hooks_run(s, OCI_HOOK_CREATE_CONTAINER, *state, err);
	if (r == 0)
		r = oci_rootfs_pivot(s, &ro, rootfd, err);
	if (r == 0 && s->process.terminal)
		r = set_console(a, slave, err);
	/* before the finish, which makes /proc/sys read-only (linux.readonlyPaths) */
	if (r == 0)
		r = set_sysctls(s, err);
	if (r == 0)
		r = oci_rootfs_finish(s, err);
	return r;
}

/* The process's session, stdio and fds: the pty as the controlling terminal, and only
 * 0-2 and the preserved fds left open across the exec. */
static int prepare_stdio(const struct oci_init_args *a, int slave, struct diyc_error *err)
{
	setsid();
	if (slave >= 0 && terminal_make_controlling(slave, err) < 0)
		return -err->errnum;
	fds_set_cloexec(3 + a->opts->preserve_fds);
	return 0;
}

/* Waits until `start` opens the fifo's other end. The fifo is reopened for writing
 * through the host's /proc: the container's may be missing or elsewhere. */
static void wait_for_start(const struct oci_init_args *a)
{
	char path[64];
	snprintf(path, sizeof(path), "self/fd/%d", a->fifo);
	/* left open: it closes on exec, which tells start that the process was executed */
	int fd = openat(a->proc, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(DIYC_EXIT_RUNTIME);
	close(a->fifo);
	close(a->proc);
}

/* Whether setgroups() is allowed: an unprivileged create had to deny it to map a gid. */
static bool groups_allowed(void)
{
	char buf[16] = "";
	_cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	return fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 || strncmp(buf, "deny", 4) != 0;
}

/* Until its exec, init is a copy of diyc-oci: a process that shares its PID namespace (a
 * pod's, or one exec'd into the created container) must not find the binary through
 * /proc/PID/exe, to write it once it is not running (security/selfexe.c). */
static int detach_from_binary(struct diyc_error *err)
{
	int exe = selfexe_open_private();
	int r = selfexe_detach(exe, -1, err);
	if (exe >= 0)
		close(exe);
	return r;
}

/* Reports created and waits for start; init is released by the byte on the fifo. */
static void created(const struct oci_init_args *a)
{
	uint32_t ready = OCI_SYNC_READY;
	prctl(PR_SET_PDEATHSIG, 0);
	if (send(a->syncfd, &ready, sizeof(ready), MSG_NOSIGNAL) != sizeof(ready))
		_exit(DIYC_EXIT_RUNTIME);
	close(a->syncfd);
	wait_for_start(a);
}

void oci_init(const struct oci_init_args *a)
{
	struct diyc_error err = { 0 };
	const struct oci_process *p = &a->spec->process;
	char go, exe[4096];
	_cleanup_free_ char *state = NULL;
	int slave = -1;

	/* the lock is create's (an flock belongs to the open file, which we share) */
	close(a->state_dir);
	/* not under a joining child, which exits at once: create's end of the sync socket
	 * closing tells init as well that create is gone */
	if (!a->joined)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(a->syncfd, &go, 1) != 1)
		_exit(DIYC_EXIT_RUNTIME);
	/* the root is opened while we are still the caller's uid: the bundle may be a
	 * directory only that uid can search, which the container's mapped root cannot */
	_cleanup_close_ int rootfd = -1;
	if (oci_rootfs_bind_root(a->spec, &rootfd, &err) < 0)
		init_fail(a->syncfd, &err);
	if (a->new_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		diyc_error(&err, errno, "become root in the container's user namespace (is uid 0 mapped?)");
		init_fail(a->syncfd, &err);
	}
	if (detach_from_binary(&err) < 0)
		init_fail(a->syncfd, &err);
	if (build(a, rootfd, &state, &slave, &err) < 0)
		init_fail(a->syncfd, &err);
	if (!a->spec->has_process) {
		/* nothing to run: the container exists until it is started, and then ends */
		created(a);
		_exit(0);
	}
	if (oci_process_limits(p, &err) < 0)
		init_fail(a->syncfd, &err);
	if (!a->opts->no_new_keyring)
		join_session_keyring(a->opts->id);
	if (prepare_stdio(a, slave, &err) < 0 || oci_process_find(p, exe, sizeof(exe), &err) < 0 ||
	    oci_process_apparmor(p, &err) < 0)
		init_fail(a->syncfd, &err);
	/* without no_new_privs the filter needs CAP_SYS_ADMIN: installed while it is held */
	if (!p->no_new_privileges && oci_process_seccomp(p, a->seccomp, &err) < 0)
		init_fail(a->syncfd, &err);
	if (oci_process_become(p, groups_allowed(), &err) < 0)
		init_fail(a->syncfd, &err);
	created(a);
	if (oci_hooks_run(a->spec, OCI_HOOK_START_CONTAINER, state ? state : "{}", &err) < 0)
		_exit(DIYC_EXIT_RUNTIME);
	if (p->no_new_privileges && oci_process_seccomp(p, a->seccomp, &err) < 0)
		_exit(DIYC_EXIT_RUNTIME);
	oci_process_exec(p, exe, &err);
	_exit(err.status ? err.status : DIYC_EXIT_CANNOT_EXEC);
}
