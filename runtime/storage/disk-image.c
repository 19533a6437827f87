/* SPDX-License-Identifier: MIT */
/* disk-image.c: an ext4 image file as the filesystem of a root container's upper dir, where
 * the store has no project quotas: made once (sparse, mkfs.ext4), and at each start attached
 * to a loop device and mounted detached (fsmount), for the container's own mount namespace
 * to attach. Nothing of it is ever mounted in the host's namespace: when the container's
 * last process ends, its mount namespace goes, the ext4 is unmounted and the loop device
 * (LO_FLAGS_AUTOCLEAR) freed, also after a crash of every diyc process. */
#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "disk-quota.h"
#include "lib/child.h"
#include "lib/util.h"

static const char *const mkfs_places[] = { "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4" };

static const char *find_mkfs(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(mkfs_places); i++)
		if (access(mkfs_places[i], X_OK) == 0)
			return mkfs_places[i];
	return NULL;
}

/* mkfs.ext4 on the open file fd (as /proc/self/fd/3 in the child). */
static int run_mkfs(int fd, struct diyc_error *err)
{
	const char *mkfs = find_mkfs();
	if (!mkfs)
		return diyc_error_plain(err, ENOENT, "mkfs.ext4 is not installed: a disk size on this store needs it "
					"(install e2fsprogs)");
	_cleanup_fd_pair_ struct fd_pair out = FD_PAIR_INIT;
	if (fd_pair_pipe(&out, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	_cleanup_child_ pid_t pid = fork();
	if (pid < 0)
		return diyc_error(err, errno, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out.fd[1], 1) < 0 || dup2(out.fd[1], 2) < 0 ||
		    dup2(fd, 3) < 0 || fcntl(3, F_SETFD, 0) < 0)
			_exit(127);
		/* no reserved blocks: the size given is what the container may write; no discard
		 * and lazy inode tables: a sparse file stays sparse and mkfs stays quick */
		char *argv[] = { (char *)mkfs, "-q", "-F", "-m", "0", "-L", "diyc-upper",
				 "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0",
				 "/proc/self/fd/3", NULL };
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
		execve(mkfs, argv, envp);
		_exit(127);
	}
	close(steal_fd(&out.fd[1]));
	_cleanup_free_ char *msg = NULL;
	size_t len = 0;
	read_fd_all(out.fd[0], 4096, &msg, &len);
	int status;
	if (reap(disarm_child(&pid), &status) < 0)
		return diyc_error(err, errno, "wait for mkfs.ext4");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (msg)
			msg[strcspn(msg, "\n")] = '\0';
		return diyc_error_plain(err, EIO, "mkfs.ext4 failed%s%s", msg && *msg ? ": " : "", msg ? msg : "");
	}
	return 0;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What the ext4 on fd will let files use once mounted, from its superblock: its free
 * blocks but those ext4 keeps back for metadata (2% of the blocks, at most 4096: see
 * ext4_calculate_resv_clusters). -1 when it cannot be read. */
static int64_t ext4_free_bytes(int fd)
{
	unsigned char sb[1024];
	if (pread(fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb) || sb[0x38] != 0x53 || sb[0x39] != 0xef)
		return -1;
	uint32_t log = le32(sb + 0x18);
	if (log > 6)
		return -1;
	uint64_t blocks = le32(sb + 0x04), free_blocks = le32(sb + 0x0c);
	if (le32(sb + 0x60) & 0x80) { /* INCOMPAT_64BIT */
		blocks |= (uint64_t)le32(sb + 0x150) << 32;
		free_blocks |= (uint64_t)le32(sb + 0x158) << 32;
	}
	uint64_t kept = blocks / 50 < 4096 ? blocks / 50 : 4096;
	if (free_blocks < kept)
		return 0;
	return (int64_t)((free_blocks - kept) * (1024ULL << log));
}

/* mkfs.ext4 on fd sized so that SIZE bytes are free on it: ext4's own metadata (journal,
 * inode tables) is added to the file, not taken from what the container may write. */
static int make_fs_of(int fd, const char *name, uint64_t size, struct diyc_error *err)
{
	uint64_t file_size = size;
	for (int round = 0; round < 6; round++) {
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)file_size) < 0)
			return diyc_error(err, errno, "size the disk image `%s`", name);
		int r = run_mkfs(fd, err);
		if (r < 0)
			return r;
		int64_t avail = ext4_free_bytes(fd);
		if (avail < 0)
			return diyc_error_plain(err, EIO, "mkfs.ext4 left no ext4 superblock in `%s`", name);
		if ((uint64_t)avail >= size)
			return 0;
		/* the metadata (inode tables, journal) grows with the file: scale by the share of
		 * the file this round left free, and round up to 64 KiB */
		uint64_t scaled = (uint64_t)((double)size * (double)file_size / (double)(avail ? avail : 1));
		file_size = (scaled + 65536 + 65535) & ~65535ULL;
	}
	return 0;
}

int disk_image_create(int dirfd, const char *name, uint64_t size, struct diyc_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return diyc_error(err, errno, "create the disk image `%s`", name);
	int r = make_fs_of(fd, name, size, err);
	if (r == 0 && fsync(fd) < 0)
		r = diyc_error(err, errno, "sync the disk image `%s`", name);
	if (r < 0)
		unlinkat(dirfd, name, 0);
	return r;
}

/* A free loop device bound to file fd, autoclear. Returns the open device, -errno. */
static int loop_attach(int fd, char *dev, size_t devsz, struct diyc_error *err)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return diyc_error(err, errno, "open /dev/loop-control (a disk size on this store needs loop devices)");
	/* another process may take the device between GET_FREE and CONFIGURE: try again */
	for (int tries = 0; tries < 64; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return diyc_error(err, errno, "find a free loop device");
		snprintf(dev, devsz, "/dev/loop%d", n);
		int lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			if (errno == ENOENT)
				continue;
			return diyc_error(err, errno, "open `%s`", dev);
		}
		struct loop_config cfg = { .fd = (unsigned)fd, .info = { .lo_flags = LO_FLAGS_AUTOCLEAR } };
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			return lfd;
		int e = errno;
		close(lfd);
		if (e != EBUSY)
			return diyc_error(err, e, "attach the disk image to `%s`", dev);
	}
	return diyc_error_plain(err, EBUSY, "every free loop device was taken by someone else: try again");
}

static int fsconfig_call(int fsfd, unsigned cmd, const char *key, const char *value)
{
	return (int)syscall(SYS_fsconfig, fsfd, cmd, key, value, 0);
}

int disk_image_mount(int dirfd, const char *name, struct diyc_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return diyc_error(err, errno, "open the disk image `%s`", name);
	if (!S_ISREG(st.st_mode))
		return diyc_error_plain(err, EINVAL, "the disk image `%s` is not a regular file", name);
	char dev[32];
	_cleanup_close_ int lfd = loop_attach(fd, dev, sizeof(dev), err);
	if (lfd < 0)
		return lfd;
	_cleanup_close_ int fsfd = (int)syscall(SYS_fsopen, "ext4", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return diyc_error(err, errno, "fsopen ext4");
	if (fsconfig_call(fsfd, FSCONFIG_SET_STRING, "source", dev) < 0 ||
	    fsconfig_call(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL) < 0)
		return diyc_error(err, errno, "mount the disk image `%s` (on %s)", name, dev);
	int mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return diyc_error(err, errno, "mount the disk image `%s` (on %s)", name, dev);
	/* from here the mount holds the device: closing lfd lets autoclear free it with the mount */
	return mfd;
}

/* Whether some loop device's backing file is the file st describes. */
static bool loop_uses(const struct stat *img)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/block");
	if (!d)
		return false;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!str_has_prefix(e->d_name, "loop"))
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", e->d_name);
		_cleanup_free_ char *backing = NULL;
		if (read_file_at(AT_FDCWD, path, PATH_MAX, &backing, NULL) < 0)
			continue;
		backing[strcspn(backing, "\n")] = '\0';
		struct stat st;
		if (stat(backing, &st) == 0 && st.st_dev == img->st_dev && st.st_ino == img->st_ino)
			return true;
	}
	return false;
}

int disk_image_wait_unused(int dirfd, const char *name, int timeout_ms)
{
	struct stat img;
	if (fstatat(dirfd, name, &img, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(img.st_mode))
		return 0;
	for (int waited = 0; loop_uses(&img); waited += 10) {
		if (waited >= timeout_ms)
			return -EBUSY;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return 0;
}
