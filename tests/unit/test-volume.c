/* SPDX-License-Identifier: MIT */
/* test-volume.c: -v and --tmpfs parsing (no mounts), the host path check, copy and free. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "rootfs/volume.h"

static struct diyc_error err;

/* Parses a good -v spec and checks what it gives. */
static void good_volume(const char *spec, const char *source, const char *target, bool ro)
{
	struct mount_entry m = { 0 };
	memset(&err, 0, sizeof(err));
	if (volume_parse(spec, &m, &err) < 0) {
		fprintf(stderr, "volume `%s` refused: %s\n", spec, err.msg);
		exit(1);
	}
	CHECK(m.kind == MOUNT_BIND);
	CHECK_STR(m.source, source);
	CHECK_STR(m.target, target);
	CHECK(m.readonly == ro);
	CHECK(m.options == NULL);
	mount_entry_free(&m);
	CHECK(m.source == NULL && m.target == NULL);
}

/* Parses a bad spec: refused with a message containing WHAT, the out-parameter untouched. */
static void bad(int (*parse)(const char *, struct mount_entry *, struct diyc_error *), const char *spec,
		const char *what)
{
	struct mount_entry m = { .kind = MOUNT_TMPFS, .source = (char *)"untouched" };
	memset(&err, 0, sizeof(err));
	int r = parse(spec, &m, &err);
	if (r >= 0) {
		fprintf(stderr, "`%s` accepted\n", spec);
		exit(1);
	}
	CHECK(r == -EINVAL || r == -ENAMETOOLONG);
	CHECK(err.status == DIYC_EXIT_RUNTIME);
	if (!strstr(err.msg, what)) {
		fprintf(stderr, "`%s`: message \"%s\" lacks \"%s\"\n", spec, err.msg, what);
		exit(1);
	}
	CHECK(strncmp(err.msg, "diyc:", 5) != 0);
	CHECK(m.kind == MOUNT_TMPFS && !strcmp(m.source, "untouched") && m.target == NULL);
}

static void good_tmpfs(const char *spec, const char *target, const char *options, bool ro)
{
	struct mount_entry m = { 0 };
	memset(&err, 0, sizeof(err));
	if (tmpfs_parse(spec, &m, &err) < 0) {
		fprintf(stderr, "tmpfs `%s` refused: %s\n", spec, err.msg);
		exit(1);
	}
	CHECK(m.kind == MOUNT_TMPFS);
	CHECK(m.source == NULL);
	CHECK_STR(m.target, target);
	if (options)
		CHECK_STR(m.options, options);
	else
		CHECK(m.options == NULL);
	CHECK(m.readonly == ro);
	mount_entry_free(&m);
}

int main(void)
{
	/* -v: good specs and normalization */
	good_volume("/srv/data:/data", "/srv/data", "/data", false);
	good_volume("/srv/data:/data:ro", "/srv/data", "/data", true);
	good_volume("/srv/data:/data:rw", "/srv/data", "/data", false);
	good_volume("/srv/data:/data:ro,ro", "/srv/data", "/data", true);
	good_volume("/srv/data/:/data/", "/srv/data", "/data", false);
	good_volume("/srv/data///:/data", "/srv/data", "/data", false);
	good_volume("/srv//./data:/data", "/srv//./data", "/data", false);
	good_volume("/:/host", "/", "/host", false);
	good_volume("/etc/hosts:/etc/hosts:ro", "/etc/hosts", "/etc/hosts", true);
	good_volume("/a:/x//y/./z/", "/a", "/x/y/z", false);
	good_volume("/a://x", "/a", "/x", false);
	good_volume("/a:/./x/.", "/a", "/x", false);
	good_volume("/a:/x/..y/...", "/a", "/x/..y/...", false);
	good_volume("/a b:/c d", "/a b", "/c d", false);

	/* -v: bad specs, each class with its message */
	bad(volume_parse, "", "expected HOST:CONTAINER");
	bad(volume_parse, "/data", "anonymous volumes are not supported");
	bad(volume_parse, "data:/data", "`data` would be a named volume, which diyc does not support: "
					"give an absolute host path");
	bad(volume_parse, "data/x:/data", "the host path `data/x` must be absolute");
	bad(volume_parse, "./data:/data", "the host path `./data` must be absolute");
	bad(volume_parse, "/srv/../etc:/data", "the host path `/srv/../etc` has a `..` component");
	bad(volume_parse, "/srv/..:/data", "has a `..` component");
	bad(volume_parse, "/srv:data", "invalid volume `/srv:data`: the container path `data` must be absolute");
	bad(volume_parse, "/srv:/a/../b", "the container path `/a/../b` has a `..` component");
	bad(volume_parse, "/srv:/..", "`..` component");
	bad(volume_parse, "/srv:/", "cannot mount over the container root `/`");
	bad(volume_parse, "/srv://", "cannot mount over the container root");
	bad(volume_parse, "/srv:/./", "cannot mount over the container root");
	bad(volume_parse, ":/x", "the host path is empty");
	bad(volume_parse, "/x:", "the container path is empty");
	bad(volume_parse, "/a::ro", "the container path is empty");
	bad(volume_parse, "/a:/b:", "the options after the last `:` are empty");
	bad(volume_parse, "/a:/b:ro,", "empty option");
	bad(volume_parse, "/a:/b:,ro", "empty option");
	bad(volume_parse, "/a:/b:ro:x", "too many `:`");
	bad(volume_parse, "/a:/b:c:d:e", "too many `:`");
	bad(volume_parse, "/a:/b:z", "unknown option `z`: use ro or rw");
	bad(volume_parse, "/a:/b:ro,Z", "unknown option `Z`");
	bad(volume_parse, "/a:/b:RO", "unknown option `RO`");
	bad(volume_parse, "/a:/b:ro,rw", "options `ro` and `rw` contradict each other");
	bad(volume_parse, "/a:/b:rw,ro", "contradict");

	char *huge = malloc(5000);
	memset(huge, 'a', 4999);
	huge[0] = '/';
	huge[2000] = ':';
	huge[2001] = '/';
	huge[4999] = '\0';
	bad(volume_parse, huge, "longer than");
	bad(tmpfs_parse, huge, "longer than");
	free(huge);

	/* --tmpfs: good specs */
	good_tmpfs("/tmp", "/tmp", NULL, false);
	good_tmpfs("/run/./x//", "/run/x", NULL, false);
	good_tmpfs("/tmp:ro", "/tmp", "ro", true);
	good_tmpfs("/tmp:ro,rw", "/tmp", "ro,rw", false);
	good_tmpfs("/tmp:rw,ro", "/tmp", "rw,ro", true);
	good_tmpfs("/tmp:size=64m,mode=1777", "/tmp", "size=64m,mode=1777", false);
	good_tmpfs("/tmp:size=65536k", "/tmp", "size=65536k", false);
	good_tmpfs("/tmp:size=1G", "/tmp", "size=1G", false);
	good_tmpfs("/tmp:size=4096", "/tmp", "size=4096", false);
	good_tmpfs("/tmp:size=0", "/tmp", "size=0", false);
	good_tmpfs("/tmp:size=50%", "/tmp", "size=50%", false);
	good_tmpfs("/tmp:size=100%", "/tmp", "size=100%", false);
	good_tmpfs("/tmp:exec,noexec,suid,nosuid,dev,nodev", "/tmp", "exec,noexec,suid,nosuid,dev,nodev", false);
	good_tmpfs("/tmp:mode=0,uid=0,gid=4294967294,nr_inodes=10k", "/tmp",
		   "mode=0,uid=0,gid=4294967294,nr_inodes=10k", false);
	good_tmpfs("/tmp:mode=755", "/tmp", "mode=755", false);

	/* --tmpfs: bad specs */
	bad(tmpfs_parse, "", "the container path is empty");
	bad(tmpfs_parse, ":size=1m", "the container path is empty");
	bad(tmpfs_parse, "tmp", "invalid tmpfs `tmp`: the container path `tmp` must be absolute");
	bad(tmpfs_parse, "/a/../tmp", "has a `..` component");
	bad(tmpfs_parse, "/", "cannot mount over the container root");
	bad(tmpfs_parse, "/tmp:", "the options after `:` are empty");
	bad(tmpfs_parse, "/tmp:size=1m,", "empty option");
	bad(tmpfs_parse, "/tmp:size=1m,,ro", "empty option");
	bad(tmpfs_parse, "/tmp:size=1m:ro", "bad option `size=1m:ro`"); /* the first `:` splits */
	bad(tmpfs_parse, "/tmp:size=1x", "bad option `size=1x`: size=N takes a number");
	bad(tmpfs_parse, "/tmp:size=", "bad option `size=`");
	bad(tmpfs_parse, "/tmp:size=m", "bad option `size=m`");
	bad(tmpfs_parse, "/tmp:size=1t", "bad option `size=1t`");
	bad(tmpfs_parse, "/tmp:size=-1", "bad option");
	bad(tmpfs_parse, "/tmp:size=0%", "bad option `size=0%`");
	bad(tmpfs_parse, "/tmp:size=101%", "bad option `size=101%`");
	bad(tmpfs_parse, "/tmp:size=99999999999999999999", "bad option");
	bad(tmpfs_parse, "/tmp:size=17179869184g", "bad option");
	bad(tmpfs_parse, "/tmp:size", "option `size` needs a value");
	bad(tmpfs_parse, "/tmp:mode=8", "bad option `mode=8`: mode= takes at most 4 octal digits");
	bad(tmpfs_parse, "/tmp:mode=17777", "bad option `mode=17777`");
	bad(tmpfs_parse, "/tmp:mode=", "bad option `mode=`");
	bad(tmpfs_parse, "/tmp:mode=rwx", "bad option");
	bad(tmpfs_parse, "/tmp:uid=4294967295", "bad option `uid=4294967295`: uid= takes a number");
	bad(tmpfs_parse, "/tmp:gid=-1", "bad option `gid=-1`: gid= takes");
	bad(tmpfs_parse, "/tmp:uid=root", "bad option `uid=root`");
	bad(tmpfs_parse, "/tmp:nr_inodes=1%", "bad option `nr_inodes=1%`");
	bad(tmpfs_parse, "/tmp:noatime", "unknown option `noatime`: use ro, rw, exec");
	bad(tmpfs_parse, "/tmp:ro=1", "unknown option `ro=1`");
	bad(tmpfs_parse, "/tmp:huge=always", "unknown option `huge=always`");
	bad(tmpfs_parse, "/tmp:size=1m,mode=1777,rw,foo", "unknown option `foo`");

	/* copy and free */
	struct mount_entry a = { 0 }, b = { 0 };
	CHECK(volume_parse("/srv:/data:ro", &a, &err) == 0);
	CHECK(mount_entry_copy(&a, &b) == 0);
	CHECK(b.kind == MOUNT_BIND && b.readonly && b.options == NULL);
	CHECK_STR(b.source, "/srv");
	CHECK_STR(b.target, "/data");
	CHECK(b.source != a.source && b.target != a.target);
	mount_entry_free(&a);
	CHECK_STR(b.source, "/srv");
	mount_entry_free(&b);
	mount_entry_free(&b); /* twice is harmless */
	CHECK(tmpfs_parse("/tmp:size=1m", &a, &err) == 0);
	CHECK(mount_entry_copy(&a, &b) == 0);
	CHECK(b.kind == MOUNT_TMPFS && b.source == NULL && !b.readonly);
	CHECK_STR(b.options, "size=1m");
	CHECK(b.options != a.options);
	mount_entry_free(&a);
	mount_entry_free(&b);
	mount_entry_free(NULL);

	/* the host path check (as the calling user) */
	char dir[] = "/tmp/test-volume-XXXXXX";
	CHECK(mkdtemp(dir));
	char path[256];
	struct mount_entry m = { .kind = MOUNT_BIND, .source = path, .target = (char *)"/data" };
	snprintf(path, sizeof(path), "%s", dir);
	CHECK(volume_check_host(&m, &err) == 0);
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK(volume_check_host(&m, &err) == -ENOENT);
	CHECK(strstr(err.msg, "does not exist: create it first"));
	CHECK(strstr(err.msg, path));
	snprintf(path, sizeof(path), "%s/file", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(volume_check_host(&m, &err) == 0);
	snprintf(path, sizeof(path), "%s/file/below", dir);
	CHECK(volume_check_host(&m, &err) == -ENOENT);
	if (getuid() != 0) { /* root reads anything */
		snprintf(path, sizeof(path), "%s/file", dir);
		CHECK(chmod(path, 0) == 0);
		CHECK(volume_check_host(&m, &err) == -EACCES);
		CHECK(strstr(err.msg, "you cannot read host path"));
		snprintf(path, sizeof(path), "%s/sub", dir);
		CHECK(mkdir(path, 0300) == 0);
		CHECK(volume_check_host(&m, &err) == -EACCES);
		CHECK(strstr(err.msg, "you cannot read host path"));
		CHECK(chmod(path, 0700) == 0);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	rmdir(dir);
	struct mount_entry t = { .kind = MOUNT_TMPFS, .target = (char *)"/tmp" };
	CHECK(volume_check_host(&t, &err) == 0);
	return CHECKS_DONE();
}
