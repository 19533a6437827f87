/* SPDX-License-Identifier: MIT */
/* info.c: what `system info` says of the store (where it is, the filesystem holding it and
 * whether that has project quotas for --storage-opt size=, how many images, containers and
 * volumes it holds) and of the caller's subordinate ids. It reads and creates nothing: a
 * store not made yet is described by the directory that will hold it. The host's side
 * (kernel, cgroups, networks) is the front end's, which may ask those subsystems. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "system.h"
#include "storage/disk-quota.h"
#include "lib/util.h"

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif
#ifndef ZFS_SUPER_MAGIC
#define ZFS_SUPER_MAGIC 0x2fc12fc1
#endif

/* The filesystem types as docker's `Backing Filesystem` names them. */
static void fs_name(long type, char *out, size_t size)
{
	static const struct {
		long magic;
		const char *name;
	} names[] = {
		{ EXT4_SUPER_MAGIC, "extfs" }, { XFS_SUPER_MAGIC, "xfs" }, { BTRFS_SUPER_MAGIC, "btrfs" },
		{ TMPFS_MAGIC, "tmpfs" }, { OVERLAYFS_SUPER_MAGIC, "overlayfs" }, { ZFS_SUPER_MAGIC, "zfs" },
		{ F2FS_SUPER_MAGIC, "f2fs" }, { NFS_SUPER_MAGIC, "nfs" }, { SQUASHFS_MAGIC, "squashfs" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if ((unsigned long)type == (unsigned long)names[i].magic) {
			snprintf(out, size, "%s", names[i].name);
			return;
		}
	snprintf(out, size, "0x%lx", (unsigned long)type);
}

/* The store's directory, or the nearest one above it that exists. */
static int open_store_dir(const char *data)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", data);
	for (;;) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd < 0 ? -errno : fd;
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*slash = '\0';
	}
}

static int subid_ranges(const char *file, const char *user, uid_t id, struct id_range *out)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, file, 16 << 20, &text, NULL) < 0)
		return 0;
	int n = subid_parse(text, user, (uint32_t)id, out, IDMAP_MAX);
	return n < 0 ? 0 : n;
}

static void count_store(const struct diyc_paths *p, struct system_info *in)
{
	struct diyc_error ignore = { 0 };
	struct image_row *rows = NULL;
	size_t n = 0;
	if (image_list(p, &rows, &n, &ignore) == 0)
		for (size_t i = 0; i < n; i++) {
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = !strcmp(rows[k].id, rows[i].id);
			in->images += !seen;
		}
	free(rows);
	_cleanup_strv_ char **names = NULL, **vols = NULL;
	if (container_list(p, &names, &ignore) == 0)
		for (char **c = names; *c; c++) {
			struct container ct;
			if (container_open(p, *c, &ct, &ignore) < 0)
				continue;
			in->containers++;
			if (ct.st.status == STATUS_RUNNING)
				in->running++;
			else
				in->stopped++;
			container_close(&ct);
		}
	if (volume_list(p, &vols, &ignore) == 0)
		for (char **v = vols; *v; v++)
			in->volumes++;
}

int system_info(const struct diyc_paths *p, struct system_info *in, struct diyc_error *err)
{
	memset(in, 0, sizeof(*in));
	snprintf(in->data, sizeof(in->data), "%s", p->data);
	snprintf(in->run, sizeof(in->run), "%s", p->run);
	in->rootless = p->rootless;
	in->driver = "overlay";
	_cleanup_close_ int fd = open_store_dir(p->data);
	struct statfs sf;
	if (fd < 0 || fstatfs(fd, &sf) < 0)
		return diyc_error(err, fd < 0 ? -fd : errno, "read the filesystem of `%s`", p->data);
	fs_name((long)sf.f_type, in->backing_fs, sizeof(in->backing_fs));
	in->project_quota = project_quota_available(fd);
	struct passwd *pw = getpwuid(p->uid);
	snprintf(in->user, sizeof(in->user), "%s", pw ? pw->pw_name : "");
	in->n_subuid = subid_ranges("/etc/subuid", pw ? pw->pw_name : NULL, p->uid, in->subuid);
	in->n_subgid = subid_ranges("/etc/subgid", pw ? pw->pw_name : NULL, p->uid, in->subgid);
	count_store(p, in);
	return 0;
}
