/* SPDX-License-Identifier: MIT */
/* test-security.c: capability names and sets, seccomp profiles (docker's format) checked
 * and compiled, and the compiled filter's cache. No filter is installed here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "security/caps.h"
#include "check.h"
#include "security/seccomp-filter.h"
#include "lib/util.h"

static struct diyc_error err;

static void cap_name(const char *given, const char *expected)
{
	char out[64];
	memset(&err, 0, sizeof(err));
	if (!expected) {
		CHECK(caps_normalize(given, out, sizeof(out), &err) == -EINVAL);
		CHECK(strstr(err.msg, "unknown capability"));
		return;
	}
	CHECK(caps_normalize(given, out, sizeof(out), &err) == 0);
	CHECK_STR(out, expected);
}

static cap_mask caps_of(char **add, char **drop)
{
	cap_mask m = 0;
	memset(&err, 0, sizeof(err));
	CHECK(caps_compute(add, drop, &m, &err) == 0);
	return m;
}

/* A profile that must be refused, with a message containing want. */
static void bad_profile(const char *json, const char *want)
{
	memset(&err, 0, sizeof(err));
	int r = seccomp_profile_check(json, &err);
	if (r == 0 || !strstr(err.msg, want)) {
		fprintf(stderr, "profile %s: r=%d, message \"%s\", expected \"%s\"\n", json, r, err.msg, want);
		exit(1);
	}
}

static void good_profile(const char *json)
{
	memset(&err, 0, sizeof(err));
	if (seccomp_profile_check(json, &err) < 0) {
		fprintf(stderr, "profile %s refused: %s\n", json, err.msg);
		exit(1);
	}
}

int main(void)
{
	cap_name("net_admin", "CAP_NET_ADMIN");
	cap_name("CAP_NET_ADMIN", "CAP_NET_ADMIN");
	cap_name("cap_chown", "CAP_CHOWN");
	cap_name("Sys_Admin", "CAP_SYS_ADMIN");
	cap_name("all", "ALL");
	cap_name("ALL", "ALL");
	cap_name("bogus", NULL);
	cap_name("", NULL);
	cap_name("CAP_", NULL);
	cap_name("net admin", NULL);
	cap_name("../chown", NULL);
	cap_name("chown\n", NULL);
	cap_name("NET_ADMIN,CHOWN", NULL);
	cap_name("cap_cap_chown", NULL);
	CHECK(caps_value("CAP_KILL") == CAP_KILL);
	CHECK(caps_value("ALL") == -1);

	/* docker's default set, as /proc/PID/status shows it */
	CHECK(caps_default == 0xa80425fbULL);
	CHECK(caps_of(NULL, NULL) == caps_default);
	char *admin[] = { "CAP_NET_ADMIN", NULL }, *chown_[] = { "CAP_CHOWN", NULL }, *all[] = { "ALL", NULL };
	CHECK(caps_of(admin, NULL) == (caps_default | CAP_BIT(CAP_NET_ADMIN)));
	CHECK(caps_of(NULL, chown_) == (caps_default & ~CAP_BIT(CAP_CHOWN)));
	CHECK(caps_of(admin, all) == CAP_BIT(CAP_NET_ADMIN));
	CHECK(caps_of(NULL, all) == 0);
	CHECK(caps_of(all, chown_) == (caps_all() & ~CAP_BIT(CAP_CHOWN)));
	CHECK(caps_of(all, NULL) == caps_all());
	/* a drop wins over an add of the same capability, as in docker */
	CHECK(caps_of(admin, admin) == caps_default);
	char **names = NULL;
	CHECK(caps_names(CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_KILL), &names) == 0);
	CHECK_STR(names[0], "CAP_CHOWN");
	CHECK_STR(names[1], "CAP_KILL");
	CHECK(names[2] == NULL);
	strv_free(names);

	/* profiles */
	good_profile(seccomp_default_profile);
	good_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
	good_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\", \"nosuchcall\"], "
		     "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}");
	good_profile("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\"], "
		     "\"syscalls\": [{\"name\": \"read\", \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, "
		     "\"value\": 18446744073709551614, \"op\": \"SCMP_CMP_EQ\"}]}]}");
	bad_profile("", "not valid JSON");
	bad_profile("{", "not valid JSON");
	bad_profile("{} {}", "not valid JSON");
	bad_profile("[]", "a JSON object");
	bad_profile("{}", "no defaultAction");
	bad_profile("{\"defaultAction\": 1}", "no defaultAction");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "unknown action `SCMP_ACT_NOPE`");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}", "errnoRet");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 70000}", "errnoRet");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}", "syscalls must be a list");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [1]}", "syscalls[0] is not an object");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}", "has no action");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": \"SCMP_ACT_ALLOW\"}]}",
		    "needs names");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [1], "
		    "\"action\": \"SCMP_ACT_ERRNO\"}]}", "names must be strings");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		    "index (0-5)");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_LIKE\"}]}]}",
		    "unknown operator `SCMP_CMP_LIKE`");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": \"1\", \"op\": \"SCMP_CMP_EQ\"}]}]}",
		    "numeric value");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"caps\": \"CAP_SYS_ADMIN\"}}]}", "must be lists");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"minKernel\": \"new\"}}]}", "minKernel");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		    "from 0 to 2^64-2");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 99999999999999999999, "
		    "\"op\": \"SCMP_CMP_EQ\"}]}]}", "from 0 to 2^64-2");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		    "\"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"99999999999999999999.1\"}}]}", "minKernel");
	bad_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"subArchitectures\": []}]}",
		    "architecture");

	/* compiling: the default for docker's default set and with CAP_SYS_ADMIN differ */
	struct seccomp_prog a, b, c;
	memset(&err, 0, sizeof(err));
	if (seccomp_prepare(NULL, caps_default, NULL, &a, &err) < 0) {
		fprintf(stderr, "the default profile does not compile: %s\n", err.msg);
		return 1;
	}
	CHECK(a.len > 100 && a.len <= BPF_MAXINSNS);
	CHECK(seccomp_prepare(NULL, caps_default | CAP_BIT(CAP_SYS_ADMIN), NULL, &b, &err) == 0);
	CHECK(a.len != b.len || memcmp(a.insns, b.insns, a.len * sizeof(struct sock_filter)));
	seccomp_prog_free(&b);

	/* the cache: written at the first compilation, read back the same at the next */
	char dir[] = "/tmp/diyc-test-seccomp.XXXXXX";
	CHECK(mkdtemp(dir));
	CHECK(seccomp_prepare(NULL, caps_default, dir, &b, &err) == 0);
	CHECK(b.len == a.len && !memcmp(a.insns, b.insns, a.len * sizeof(struct sock_filter)));
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	char cached[300] = "";
	int files = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(cached, sizeof(cached), "%s/%s", dir, e->d_name);
			files++;
		}
	CHECK(files == 1);
	CHECK(strstr(cached, ".bpf"));
	/* a damaged cache entry (not whole instructions) is compiled again, not loaded */
	int fd = open(cached, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
	close(fd);
	CHECK(seccomp_prepare(NULL, caps_default, dir, &c, &err) == 0);
	CHECK(c.len == a.len && !memcmp(a.insns, c.insns, a.len * sizeof(struct sock_filter)));
	struct stat st;
	CHECK(stat(cached, &st) == 0 && st.st_size > (off_t)(a.len * sizeof(struct sock_filter)));
	/* the file starts with all the filter was made from, checked byte for byte: a file
	 * under the same name made from something else (a hash collision, a planted file) is
	 * not loaded */
	_cleanup_free_ char *text = NULL;
	size_t len;
	CHECK(read_file_at(AT_FDCWD, cached, 1 << 20, &text, &len) == 0);
	CHECK(!strncmp(text, "diyc-seccomp-", 13));
	CHECK(strstr(text, "\"defaultAction\""));
	text[len - 1] ^= 1; /* one bit of the filter: still this key, so it is loaded as it is */
	fd = open(cached, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len);
	close(fd);
	struct seccomp_prog e2;
	CHECK(seccomp_prepare(NULL, caps_default, dir, &e2, &err) == 0);
	CHECK(e2.len == a.len && memcmp(a.insns, e2.insns, a.len * sizeof(struct sock_filter)));
	seccomp_prog_free(&e2);
	text[len - 1] ^= 1;
	text[20] ^= 1; /* the key: not loaded, compiled again and replaced */
	fd = open(cached, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len);
	close(fd);
	CHECK(seccomp_prepare(NULL, caps_default, dir, &e2, &err) == 0);
	CHECK(e2.len == a.len && !memcmp(a.insns, e2.insns, a.len * sizeof(struct sock_filter)));
	seccomp_prog_free(&e2);
	/* a cache directory others may write is not used at all */
	unlink(cached);
	CHECK(chmod(dir, 0777) == 0);
	CHECK(seccomp_prepare(NULL, caps_default, dir, &e2, &err) == 0);
	CHECK(stat(cached, &st) < 0 && errno == ENOENT);
	seccomp_prog_free(&e2);
	rmdir(dir);
	seccomp_prog_free(&a);
	seccomp_prog_free(&b);
	seccomp_prog_free(&c);
	CHECK(a.insns == NULL && a.len == 0);
	return CHECKS_DONE();
}
