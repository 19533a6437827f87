/* SPDX-License-Identifier: MIT */
/* test-volume.c: -v, --tmpfs and --mount parsing (no mounts), the host path check, copy and
 * free. */
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
	CHECK(r == -EINVAL || r == -ENAMETOOLONG || r == -ENOTSUP);
	CHECK(err.status == DIYC_EXIT_RUNTIME);
	if (!strstr(err.msg, what)) {
		fprintf(stderr, "`%s`: message \"%s\" lacks \"%s\"\n", spec, err.msg, what);
		exit(1);
	}
	CHECK(strncmp(err.msg, "diyc:", 5) != 0);
	CHECK(m.kind == MOUNT_TMPFS && !strcmp(m.source, "untouched") && m.target == NULL);
}

/* A volume of the store: named (source) or anonymous (source NULL) */
static void good_named(int (*parse)(const char *, struct mount_entry *, struct diyc_error *), const char *spec,
		       const char *source, const char *target, bool ro, bool nocopy)
{
	struct mount_entry m = { 0 };
	memset(&err, 0, sizeof(err));
	if (parse(spec, &m, &err) < 0) {
		fprintf(stderr, "`%s` refused: %s\n", spec, err.msg);
		exit(1);
	}
	CHECK(m.kind == MOUNT_VOLUME);
	if (source)
		CHECK_STR(m.source, source);
	else
		CHECK(m.source == NULL);
	CHECK(m.anonymous == !source);
	CHECK_STR(m.target, target);
	CHECK(m.readonly == ro && m.nocopy == nocopy && m.options == NULL && m.volumes_dir == NULL);
	mount_entry_free(&m);
}

/* --mount: the kind, source, target, read-only and options it gives */
static void good_mount(const char *spec, enum mount_kind kind, const char *source, const char *target, bool ro,
		       const char *options)
{
	struct mount_entry m = { 0 };
	memset(&err, 0, sizeof(err));
	if (mount_spec_parse(spec, &m, &err) < 0) {
		fprintf(stderr, "--mount `%s` refused: %s\n", spec, err.msg);
		exit(1);
	}
	CHECK(m.kind == kind);
	if (source)
		CHECK_STR(m.source, source);
	else
		CHECK(m.source == NULL);
	CHECK_STR(m.target, target);
	CHECK(m.readonly == ro);
	if (options)
		CHECK_STR(m.options, options);
	else
		CHECK(m.options == NULL);
	mount_entry_free(&m);
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
	bad(volume_parse, "data", "an absolute CONTAINER path alone (an anonymous volume)");
	bad(volume_parse, "..:/data", "`..` is not a valid volume name");
	bad(volume_parse, ".data:/data", "not a valid volume name");
	bad(volume_parse, "-data:/data", "not a valid volume name");
	bad(volume_parse, "da ta:/data", "not a valid volume name");
	bad(volume_parse, "da\x01ta:/data", "not a valid volume name");
	bad(volume_parse, "data:/data:z", "unknown option `z`: use ro or rw (and nocopy)");
	bad(volume_parse, "/srv:/data:nocopy", "nocopy is for volumes");
	bad(volume_parse, "data:/data:ro,rw", "contradict");
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

	/* -v: volumes of the store */
	good_named(volume_parse, "data:/data", "data", "/data", false, false);
	good_named(volume_parse, "my_vol-1.x:/a/b/:ro", "my_vol-1.x", "/a/b", true, false);
	good_named(volume_parse, "data:/data:nocopy,ro", "data", "/data", true, true);
	good_named(volume_parse, "/data", NULL, "/data", false, false);
	good_named(volume_parse, "/data//x/", NULL, "/data/x", false, false);
	good_named(volume_anonymous, "/var/lib/db", NULL, "/var/lib/db", false, false);
	bad(volume_anonymous, "var", "must be absolute");
	bad(volume_anonymous, "/", "container root");
	bad(volume_anonymous, "/a/../b", "`..`");
	CHECK(mount_volume_name_valid("a") && mount_volume_name_valid("A.b_c-d9"));
	CHECK(!mount_volume_name_valid("") && !mount_volume_name_valid("..") && !mount_volume_name_valid("a/b"));
	char long_name[MOUNT_VOLUME_NAME_MAX + 2];
	memset(long_name, 'v', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(!mount_volume_name_valid(long_name));
	long_name[MOUNT_VOLUME_NAME_MAX] = '\0';
	CHECK(mount_volume_name_valid(long_name));

	/* --mount: docker's keys, aliases and default type */
	good_mount("type=volume,src=data,dst=/data", MOUNT_VOLUME, "data", "/data", false, NULL);
	good_mount("source=data,target=/data,ro", MOUNT_VOLUME, "data", "/data", true, NULL);
	good_mount("type=volume,destination=/data,readonly=false", MOUNT_VOLUME, NULL, "/data", false, NULL);
	good_mount("type=volume,dst=/data,readonly=1", MOUNT_VOLUME, NULL, "/data", true, NULL);
	good_mount("type=bind,src=/srv/,dst=/x/./y", MOUNT_BIND, "/srv", "/x/y", false, NULL);
	good_mount("type=bind,source=/srv,destination=/x,ro=true", MOUNT_BIND, "/srv", "/x", true, NULL);
	good_mount("type=tmpfs,dst=/t", MOUNT_TMPFS, NULL, "/t", false, NULL);
	good_mount("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770", MOUNT_TMPFS, NULL, "/t", false,
		   "size=67108864,mode=1770");
	good_mount("type=tmpfs,dst=/t,tmpfs-size=4096,ro", MOUNT_TMPFS, NULL, "/t", true, "size=4096");
	good_named(mount_spec_parse, "type=volume,src=v,dst=/d,volume-nocopy", "v", "/d", false, true);
	good_named(mount_spec_parse, "type=volume,src=v,dst=/d,volume-nocopy=false", "v", "/d", false, false);

	/* --mount: every bad form with its message */
	bad(mount_spec_parse, "", "invalid --mount ``");
	bad(mount_spec_parse, "type=npipe,dst=/x", "unknown type `npipe`: use bind, volume or tmpfs");
	bad(mount_spec_parse, "type=volume,src=v", "no destination: give dst=/PATH");
	bad(mount_spec_parse, "src=a,src=b,dst=/x", "`src` is given twice");
	bad(mount_spec_parse, "source=a,src=b,dst=/x", "`src` is given twice (as `source`)");
	bad(mount_spec_parse, "dst=/a,target=/b", "`target` is given twice (as `dst`)");
	bad(mount_spec_parse, "type=volume,type=bind,dst=/a", "`type` is given twice");
	bad(mount_spec_parse, "ro,readonly,dst=/a", "`readonly` is given twice");
	bad(mount_spec_parse, "type=tmpfs,src=x,dst=/t", "type=tmpfs takes no source");
	bad(mount_spec_parse, "type=bind,dst=/x", "type=bind needs a source");
	bad(mount_spec_parse, "type=bind,src=rel,dst=/x", "the host path `rel` must be absolute");
	bad(mount_spec_parse, "type=bind,src=/a/../b,dst=/x", "has a `..` component");
	bad(mount_spec_parse, "type=bind,src=/a,dst=x", "the container path `x` must be absolute");
	bad(mount_spec_parse, "src=v,dst=/a/../b", "`..` component");
	bad(mount_spec_parse, "src=v,dst=/", "cannot mount over the container root");
	bad(mount_spec_parse, "src=..,dst=/x", "`..` is not a valid volume name");
	bad(mount_spec_parse, "src=/abs,dst=/x", "for a host path use type=bind");
	bad(mount_spec_parse, "src=v,dst=/x,bogus=1", "unknown key `bogus`");
	bad(mount_spec_parse, "src=v,dst=/x,ro=yes", "`ro` takes true or false, not `yes`");
	bad(mount_spec_parse, "src=v,dst=/x,volume-nocopy=2", "`volume-nocopy` takes true or false");
	bad(mount_spec_parse, "type=bind,src=/a,dst=/x,volume-nocopy", "`volume-nocopy` is for type=volume");
	bad(mount_spec_parse, "src=v,dst=/x,tmpfs-size=1m", "`tmpfs-size` is for type=tmpfs");
	bad(mount_spec_parse, "type=bind,src=/a,dst=/x,tmpfs-mode=700", "`tmpfs-mode` is for type=tmpfs");
	bad(mount_spec_parse, "type=tmpfs,dst=/t,tmpfs-size=1x", "tmpfs-size takes a number of bytes");
	bad(mount_spec_parse, "type=tmpfs,dst=/t,tmpfs-mode=8", "tmpfs-mode takes at most 4 octal digits");
	bad(mount_spec_parse, "src=v,dst=/x,", "an empty field");
	bad(mount_spec_parse, ",src=v,dst=/x", "an empty field");
	bad(mount_spec_parse, "src=,dst=/x", "`src=` has an empty value");
	bad(mount_spec_parse, "type,dst=/x", "`type` needs a value");
	bad(mount_spec_parse, "dst", "`dst` needs a value");
	bad(mount_spec_parse, "src=v,dst=/x,bind-propagation=rshared", "`bind-propagation` is not supported");
	bad(mount_spec_parse, "src=v,dst=/x,volume-driver=local", "`volume-driver` is not supported");
	bad(mount_spec_parse, "src=v,dst=/x,volume-opt=size=1g", "volume create --opt");

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
