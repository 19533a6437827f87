/* SPDX-License-Identifier: MIT */
/* disk-quota.c: sizes of --storage-opt size= and volume --opt size=, and project quotas.
 *
 * A project quota counts every block of the files carrying a project id, whoever writes
 * them. FS_XFLAG_PROJINHERIT on a directory gives its id to what is created below it, and
 * a rename into a directory of another project fails (EXDEV), which is why the overlay's
 * work dir carries the upper dir's id too. Setting ids and limits needs the host's root
 * (CAP_SYS_ADMIN and CAP_FOWNER of the initial user namespace), so a normal user never gets
 * here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/quota.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "disk-quota.h"
#include "lib/util.h"

const char *const disk_quota_kind_names[] = { "none", "project", "image", "tmpfs", NULL };

/* The ids diyc hands out: well above what an administrator's /etc/projid usually holds, so
 * that a project made by hand is not taken (an id in use is skipped anyway, see id_free). */
#define PROJECT_ID_FIRST 4000000u
#define PROJECT_ID_COUNT 1000000u

static const char size_help[] = "expected a size such as 512m or 10g (b, k, m, g, t; a plain number is MiB)";

int disk_size_parse(const char *what, const char *s, uint64_t *out, struct diyc_error *err)
{
	uint64_t v;
	int r = parse_size_positive(what, s, size_help, &v, err);
	if (r < 0)
		return r;
	if (v < DISK_SIZE_MIN)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: the minimum is 4m", what, s);
	*out = v;
	return 0;
}

int disk_size_check_free(const char *what, const char *dir, uint64_t size, struct diyc_error *err)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) < 0)
		return diyc_error(err, errno, "statvfs `%s`", dir);
	uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (size > avail) {
		char want[32], have[32];
		human_bytes(want, sizeof(want), size);
		human_bytes(have, sizeof(have), avail);
		return diyc_error_plain(err, ENOSPC, "invalid %s: %s is more than the %s free on the filesystem of `%s`: "
					"give a smaller size or free some space", what, want, have, dir);
	}
	return 0;
}

static int quotactl_fd(int fd, unsigned cmd, int id, void *addr)
{
	return (int)syscall(SYS_quotactl_fd, fd, cmd, id, addr);
}

bool project_quota_available(int dirfd)
{
	struct fs_quota_statv st = { .qs_version = FS_QSTATV_VERSION1 };
	if (quotactl_fd(dirfd, QCMD(Q_XGETQSTATV, PRJQUOTA), 0, &st) < 0)
		return false;
	return (st.qs_flags & FS_QUOTA_PDQ_ACCT) && (st.qs_flags & FS_QUOTA_PDQ_ENFD);
}

/* Nothing counted against id and no limit on it: no directory of this filesystem uses it
 * (a directory counts one inode). */
static bool id_free(int fsfd, uint32_t id)
{
	struct if_dqblk q = { 0 };
	if (quotactl_fd(fsfd, QCMD(Q_GETQUOTA, PRJQUOTA), (int)id, &q) < 0)
		return errno == ENOENT || errno == ESRCH;
	return q.dqb_curspace == 0 && q.dqb_curinodes == 0 && q.dqb_bhardlimit == 0 && q.dqb_bsoftlimit == 0 &&
	       q.dqb_ihardlimit == 0 && q.dqb_isoftlimit == 0;
}

static int set_project(int parentfd, const char *dir, uint32_t id, struct diyc_error *err)
{
	_cleanup_close_ int fd = openat(parentfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return diyc_error(err, errno, "open `%s` to set its project id", dir);
	struct fsxattr fa;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa) < 0)
		return diyc_error(err, errno, "read the project id of `%s`", dir);
	fa.fsx_projid = id;
	fa.fsx_xflags |= FS_XFLAG_PROJINHERIT;
	if (ioctl(fd, FS_IOC_FSSETXATTR, &fa) < 0)
		return diyc_error(err, errno, "set project id %u on `%s`", id, dir);
	return 0;
}

static int set_limit(int fsfd, uint32_t id, uint64_t size)
{
	struct if_dqblk q = {
		/* in units of 1 KiB, rounded up so that the limit is never below what was asked */
		.dqb_bhardlimit = (size + 1023) / 1024,
		.dqb_bsoftlimit = (size + 1023) / 1024,
		.dqb_valid = QIF_BLIMITS,
	};
	return quotactl_fd(fsfd, QCMD(Q_SETQUOTA, PRJQUOTA), (int)id, &q) < 0 ? -errno : 0;
}

/* flock on LOCKDIR/quota.lock: the search for a free id and its use are one step */
static int lock_ids(const char *lockdir, struct diyc_error *err)
{
	_cleanup_close_ int dfd = open(lockdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return diyc_error(err, errno, "open `%s`", lockdir);
	int fd = openat(dfd, "quota.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return diyc_error(err, errno, "open `%s/quota.lock`", lockdir);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return diyc_error(err, e, "lock `%s/quota.lock`", lockdir);
		}
	}
	return fd;
}

int project_quota_assign(int parentfd, const char *const *dirs, size_t n_dirs, uint64_t size,
			 const char *lockdir, uint32_t *id, struct diyc_error *err)
{
	*id = 0;
	_cleanup_close_ int lock = lock_ids(lockdir, err);
	if (lock < 0)
		return lock;
	uint32_t found = 0;
	for (uint32_t i = 0; i < PROJECT_ID_COUNT && !found; i++)
		if (id_free(parentfd, PROJECT_ID_FIRST + i))
			found = PROJECT_ID_FIRST + i;
	if (!found)
		return diyc_error_plain(err, ENOSPC, "no free project quota id from %u to %u", PROJECT_ID_FIRST,
					PROJECT_ID_FIRST + PROJECT_ID_COUNT - 1);
	/* the limit first: an id with a limit is taken, even before a file counts against it */
	int r = set_limit(parentfd, found, size);
	if (r < 0)
		return diyc_error(err, -r, "set a limit on project quota id %u", found);
	for (size_t i = 0; i < n_dirs; i++) {
		r = set_project(parentfd, dirs[i], found, err);
		if (r < 0) {
			set_limit(parentfd, found, 0);
			return r;
		}
	}
	*id = found;
	return 0;
}

int project_quota_usage(int fsfd, uint32_t id, uint64_t *used, uint64_t *limit, struct diyc_error *err)
{
	struct if_dqblk q = { 0 };
	if (quotactl_fd(fsfd, QCMD(Q_GETQUOTA, PRJQUOTA), (int)id, &q) < 0)
		return diyc_error(err, errno, "read project quota id %u", id);
	*used = q.dqb_curspace;
	*limit = q.dqb_bhardlimit * 1024;
	return 0;
}

int project_quota_release(int fsfd, uint32_t id, struct diyc_error *err)
{
	if (id == 0)
		return 0;
	int r = set_limit(fsfd, id, 0);
	if (r < 0)
		return diyc_error(err, -r, "clear the limit of project quota id %u", id);
	return 0;
}

int project_quota_of(int dirfd, const char *dir, uint32_t *id)
{
	_cleanup_close_ int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct fsxattr fa;
	if (fd < 0 || ioctl(fd, FS_IOC_FSGETXATTR, &fa) < 0)
		return -errno;
	*id = fa.fsx_projid;
	return 0;
}
