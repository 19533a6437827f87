/* SPDX-License-Identifier: MIT */
/* info.c: `features` (what this runtime supports, as JSON, the way runc prints it for
 * engines to read) and `spec` (a starting config.json, as runc writes one). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "oci-cli.h"
#include "security/caps.h"
#include "lib/util.h"

static struct json_object *strings(const char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static struct json_object *capability_names(cap_mask set)
{
	_cleanup_strv_ char **names = NULL;
	struct json_object *a = json_object_new_array();
	if (caps_names(set, &names) == 0)
		for (char **n = names; n && *n; n++)
			json_object_array_add(a, json_object_new_string(*n));
	return a;
}

static struct json_object *linux_features(void)
{
	static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "user", "uts", NULL };
	static const char *const actions[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
		"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", NULL };
	static const char *const operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
		"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL };
	static const char *const archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
		"SCMP_ARCH_ARM", NULL };
	struct json_object *l = json_object_new_object(), *cg = json_object_new_object(), *sc = json_object_new_object();
	json_object_object_add(l, "namespaces", strings(namespaces));
	json_object_object_add(l, "capabilities", capability_names(caps_all()));
	json_object_object_add(cg, "v1", json_object_new_boolean(false));
	json_object_object_add(cg, "v2", json_object_new_boolean(true));
	json_object_object_add(cg, "systemd", json_object_new_boolean(true));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(true));
	json_object_object_add(cg, "rdma", json_object_new_boolean(false));
	json_object_object_add(l, "cgroup", cg);
	json_object_object_add(sc, "enabled", json_object_new_boolean(true));
	json_object_object_add(sc, "actions", strings(actions));
	json_object_object_add(sc, "operators", strings(operators));
	json_object_object_add(sc, "archs", strings(archs));
	json_object_object_add(l, "seccomp", sc);
	struct json_object *off = json_object_new_object();
	json_object_object_add(off, "enabled", json_object_new_boolean(false));
	json_object_object_add(l, "apparmor", off);
	off = json_object_new_object();
	json_object_object_add(off, "enabled", json_object_new_boolean(false));
	json_object_object_add(l, "selinux", off);
	return l;
}

int cmd_features(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int r = oci_parse_flags(argc, argv, opts, "Usage: diyc-oci features\n\nPrints what this runtime supports, as JSON.\n",
				0, 0, NULL, NULL);
	if (r)
		return r < 0 ? 0 : r;
	static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer",
					     "poststart", "poststop", NULL };
	static const char *const mount_options[] = { "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync",
		"exec", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime",
		"nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec",
		"rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow",
		"ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid", "rsymfollow",
		"runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "symfollow", "sync", "unbindable",
		NULL };
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string("1.2.0"));
	json_object_object_add(o, "hooks", strings(hooks));
	json_object_object_add(o, "mountOptions", strings(mount_options));
	json_object_object_add(o, "linux", linux_features());
	struct json_object *ann = json_object_new_object();
	json_object_object_add(ann, "org.diyc.version", json_object_new_string(DIYC_VERSION));
	json_object_object_add(o, "annotations", ann);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static const char spec_template[] =
	"{\n"
	"\t\"ociVersion\": \"1.0.2\",\n"
	"\t\"process\": {\n"
	"\t\t\"terminal\": true,\n"
	"\t\t\"user\": { \"uid\": 0, \"gid\": 0 },\n"
	"\t\t\"args\": [ \"sh\" ],\n"
	"\t\t\"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\" ],\n"
	"\t\t\"cwd\": \"/\",\n"
	"\t\t\"capabilities\": {\n"
	"\t\t\t\"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
	"\t\t\t\"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
	"\t\t\t\"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
	"\t\t},\n"
	"\t\t\"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
	"\t\t\"noNewPrivileges\": true\n"
	"\t},\n"
	"\t\"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
	"\t\"hostname\": \"diyc\",\n"
	"\t\"mounts\": [\n"
	"\t\t{ \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
	"\t\t{ \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
	"\t\t{ \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\"%s ] },\n"
	"\t\t{ \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
	"\t\t{ \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
	"\t\t{ \"destination\": \"/sys\", \"type\": \"%s\", \"source\": \"%s\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\"%s ] },\n"
	"\t\t{ \"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\" ] }\n"
	"\t],\n"
	"\t\"linux\": {\n"
	"%s"
	"\t\t\"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"network\" }, { \"type\": \"ipc\" }, { \"type\": \"uts\" }, { \"type\": \"mount\" }, { \"type\": \"cgroup\" }%s ],\n"
	"\t\t\"maskedPaths\": [ \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\" ],\n"
	"\t\t\"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\" ]\n"
	"\t}\n"
	"}\n";

struct spec_flags {
	const char *bundle;
	bool rootless;
};

static int spec_flag(int c, const char *arg, void *ctx)
{
	struct spec_flags *f = ctx;
	if (c == 'b')
		f->bundle = arg;
	else if (c == 'r')
		f->rootless = true;
	return 0;
}

int cmd_spec(int argc, char **argv)
{
	static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' }, { "rootless", no_argument, NULL, 'r' },
					      { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct spec_flags f = { "." , false };
	int r = oci_parse_flags(argc, argv, opts,
				"Usage: diyc-oci spec [--rootless] [--bundle DIR]\n\n"
				"Writes a starting config.json into the bundle (default: the current directory).\n"
				"--rootless: for a normal user (a user namespace mapping its own ids, /sys bound).\n",
				0, 0, spec_flag, &f);
	if (r)
		return r < 0 ? 0 : r;
	char maps[256] = "";
	if (f.rootless)
		snprintf(maps, sizeof(maps),
			 "\t\t\"uidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
			 "\t\t\"gidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n",
			 (unsigned)getuid(), (unsigned)getgid());
	_cleanup_free_ char *text = xasprintf(spec_template, f.rootless ? "" : ", \"gid=5\"",
					      f.rootless ? "none" : "sysfs", f.rootless ? "/sys" : "sysfs",
					      f.rootless ? ", \"rbind\"" : "", maps, f.rootless ? ", { \"type\": \"user\" }" : "");
	_cleanup_close_ int dir = open(f.bundle, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dir < 0) {
		oci_fail_msg("spec: the bundle %s: %s", f.bundle, strerror(errno));
		return 1;
	}
	int fd = text ? openat(dir, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
	if (fd < 0) {
		oci_fail_msg(errno == EEXIST ? "spec: %s/config.json exists: remove it first"
					     : "spec: create %s/config.json: %m", f.bundle);
		return 1;
	}
	r = write_all(fd, text, strlen(text));
	close(fd);
	if (r < 0) {
		oci_fail_msg("spec: write %s/config.json: %s", f.bundle, strerror(-r));
		return 1;
	}
	return 0;
}
