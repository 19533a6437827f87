/* SPDX-License-Identifier: MIT */
/* test-process.c: -u resolution against an image's passwd/group, and the environment. */
#include "check.h"
#include "container/process.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
			     "app:x:1000:1000::/home/app:/bin/sh\n"
			     "broken:x:notanumber:1::/:/bin/sh\n";
static const char group[] = "root:x:0:\nwheel:x:10:app,other\nusers:x:100:app\napp:x:1000:\nstaff:x:50:other\n";

int main(void)
{
	struct process_user u;
	struct diyc_error err = { 0 };
	CHECK(user_resolve("0", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 0 && u.gid == 0 && !strcmp(u.home, "/root"));
	CHECK(user_resolve("app", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 1000 && u.gid == 1000 && !strcmp(u.home, "/home/app"));
	CHECK(u.ngroups == 3 && u.groups[0] == 1000 && u.groups[1] == 10 && u.groups[2] == 100);
	CHECK(user_resolve("1000:100", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 1000 && u.gid == 100);
	CHECK(user_resolve("app:wheel", passwd, group, &u, &err) == 0);
	CHECK(u.gid == 10);
	/* an id the image does not know: as docker, gid 0 and home / */
	CHECK(user_resolve("4242", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 4242 && u.gid == 0 && !strcmp(u.home, "/") && u.ngroups == 1);
	CHECK(user_resolve("4242:4243", NULL, NULL, &u, &err) == 0);
	CHECK(u.uid == 4242 && u.gid == 4243);
	CHECK(user_resolve("nosuch", passwd, group, &u, &err) < 0);
	CHECK(strstr(err.msg, "unable to find user `nosuch`"));
	CHECK(user_resolve("app:nosuch", passwd, group, &u, &err) < 0);
	CHECK(strstr(err.msg, "unable to find group `nosuch`"));
	CHECK(user_resolve("broken", passwd, group, &u, &err) < 0);
	CHECK(user_resolve("", passwd, group, &u, &err) < 0);
	CHECK(user_resolve(":1", passwd, group, &u, &err) < 0);
	CHECK(user_resolve("1:", passwd, group, &u, &err) < 0);
	CHECK(user_resolve("99999999999", passwd, group, &u, &err) < 0);
	CHECK(user_resolve("4294967295", passwd, group, &u, &err) < 0);
	CHECK(user_resolve("-1", passwd, group, &u, &err) < 0);

	char *given[] = { "FOO=bar", "PATH=/x", "EMPTY=", NULL };
	char **env = env_build(given, "box", "/root", true);
	CHECK_STR(env_get(env, "PATH"), "/x");
	CHECK_STR(env_get(env, "HOSTNAME"), "box");
	CHECK_STR(env_get(env, "HOME"), "/root");
	CHECK_STR(env_get(env, "TERM"), "xterm");
	CHECK_STR(env_get(env, "FOO"), "bar");
	CHECK_STR(env_get(env, "EMPTY"), "");
	CHECK(env_get(env, "FO") == NULL);
	int n = 0;
	while (env[n])
		n++;
	CHECK(n == 6);
	env = env_build(NULL, "h", "/", false);
	CHECK_STR(env_get(env, "PATH"), DEFAULT_PATH);
	CHECK(env_get(env, "TERM") == NULL);
	return CHECKS_DONE();
}
