/* SPDX-License-Identifier: MIT */
/* test-oci-rootfs.c: oci_rootfs_prepare, _pivot and _finish on a small root made in a
 * temporary directory, in a child with a mount namespace of its own (and a user namespace
 * when not run as root); skipped (77) where neither is allowed. The mounts never reach the
 * host: they live and die with the child's namespace. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "lib/util.h"
#include "oci/rootfs.h"

static char base[] = "/tmp/test-oci-rootfs.XXXXXX";
static char root[PATH_MAX], hostfile[PATH_MAX];

static bool is_ro(const char *p)
{
	struct statvfs s;
	return statvfs(p, &s) == 0 && (s.f_flag & ST_RDONLY);
}

static long fs_type(const char *p)
{
	struct statfs s;
	return statfs(p, &s) == 0 ? (long)s.f_type : -1;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static int write_map(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -errno;
	close(fd);
	return r;
}

/* A mount namespace of our own; a user namespace first when not root. -1: not allowed. */
static int enter_namespaces(bool *userns)
{
	*userns = geteuid() != 0;
	if (!*userns)
		return unshare(CLONE_NEWNS);
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -1;
	char map[64];
	snprintf(map, sizeof(map), "0 %u 1", uid);
	if (write_map("/proc/self/uid_map", map) < 0 || write_map("/proc/self/setgroups", "deny") < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", gid);
	return write_map("/proc/self/gid_map", map);
}

/* An unknown filesystem type fails prepare with a message naming the mount. */
static void check_error(bool userns)
{
	struct oci_mount bad = { .destination = (char *)"/bad", .type = (char *)"nosuchfs", .source = (char *)"x" };
	struct oci_spec spec = { .root_path = root, .mounts = &bad, .n_mounts = 1 };
	struct oci_rootfs_opts opts = { .in_userns = userns, .console_slave = -1 };
	struct diyc_error err = { 0 };
	int fd = -1;
	CHECK(oci_rootfs_bind_root(&spec, &fd, &err) == 0);
	CHECK(oci_rootfs_prepare(&spec, &opts, fd, &err) == -ENODEV);
	CHECK_STR(err.msg, "mount nosuchfs on /bad: No such device");
	close(fd);
}

static void in_container(bool userns)
{
	struct oci_mount mounts[] = {
		{ .destination = (char *)"/dev", .type = (char *)"tmpfs", .source = (char *)"tmpfs",
		  .flags = MS_NOSUID, .data = (char *)"mode=755" },
		{ .destination = (char *)"/tmp", .type = (char *)"tmpfs", .source = (char *)"tmpfs",
		  .flags = MS_NOSUID | MS_NODEV, .data = (char *)"mode=1777" },
		/* through a symlink that points out of the root: lands inside it, on /mnt */
		{ .destination = (char *)"/escape/mnt", .type = (char *)"tmpfs", .source = (char *)"tmpfs" },
		{ .destination = (char *)"/etc/hostfile", .type = (char *)"bind", .source = hostfile,
		  .flags = MS_BIND | MS_RDONLY, .bind = true },
		{ .destination = (char *)"/data", .source = base, .flags = MS_BIND | MS_REC, .bind = true,
		  .propagation = MS_PRIVATE },
	};
	struct oci_device fifo = { .path = (char *)"/dev/sub/fifo", .type = 'p', .has_mode = true, .mode = 0640 };
	char *masked[] = { (char *)"/masked-dir", (char *)"/masked-file", (char *)"/not-here", NULL };
	char *readonly[] = { (char *)"/rodir", (char *)"/not-here/either", NULL };
	struct oci_spec spec = {
		.root_path = root,
		.root_readonly = true,
		.mounts = mounts,
		.n_mounts = ARRAY_SIZE(mounts),
		.devices = &fifo,
		.n_devices = 1,
		.masked_paths = masked,
		.readonly_paths = readonly,
	};
	struct oci_rootfs_opts opts = { .in_userns = userns, .console_slave = -1 };
	struct diyc_error err = { 0 };
	int rootfd = -1;
	if (oci_rootfs_bind_root(&spec, &rootfd, &err) < 0 || oci_rootfs_prepare(&spec, &opts, rootfd, &err) < 0 ||
	    oci_rootfs_pivot(&spec, &opts, rootfd, &err) < 0 ||
	    oci_rootfs_finish(&spec, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	CHECK(rootfd >= 0);
	char cwd[64];
	CHECK_STR(getcwd(cwd, sizeof(cwd)), "/");
	struct stat st;
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	CHECK(stat("/dev/zero", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5));
	char link[32] = { 0 };
	CHECK(readlink("/dev/ptmx", link, sizeof(link) - 1) > 0);
	CHECK_STR(link, "pts/ptmx");
	CHECK(lstat("/dev/stdin", &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(stat("/dev/sub/fifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640);
	CHECK(fs_type("/mnt") == TMPFS_MAGIC);
	CHECK(fs_type("/tmp") == TMPFS_MAGIC && !is_ro("/tmp"));
	CHECK(is_ro("/") && is_ro("/rodir") && is_ro("/etc/hostfile"));
	CHECK(stat("/etc/hostfile", &st) == 0 && S_ISREG(st.st_mode));
	CHECK(stat("/data/root/rodir", &st) == 0 && S_ISDIR(st.st_mode));
	/* masked: the file reads empty, the directory is empty and read-only */
	char buf[16];
	int fd = open("/masked-file", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 0);
	close(fd);
	CHECK(access("/masked-dir/secret", F_OK) < 0 && errno == ENOENT);
	CHECK(is_ro("/masked-dir"));
	/* the host's tree is gone: the root's own path is not reachable inside */
	CHECK(access(root, F_OK) < 0);
	exit(0);
}

static void make_root(void)
{
	CHECK(mkdtemp(base) != NULL);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(hostfile, sizeof(hostfile), "%s/hostfile", base);
	const char *dirs[] = { "", "/dev", "/etc", "/masked-dir", "/rodir" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		CHECK(mkdir(p, 0755) == 0);
	}
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/masked-dir/secret", root);
	write_text(p, "secret");
	snprintf(p, sizeof(p), "%s/masked-file", root);
	write_text(p, "secret");
	snprintf(p, sizeof(p), "%s/escape", root);
	CHECK(symlink("/../../../../../..", p) == 0);
	write_text(hostfile, "host");
}

int main(void)
{
	make_root();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		bool userns;
		if (enter_namespaces(&userns) < 0)
			_exit(77);
		check_error(userns);
		in_container(userns);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	rm_rf(base);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		printf("skipped: no mount namespace allowed here\n");
		return 77;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return CHECKS_DONE();
}
