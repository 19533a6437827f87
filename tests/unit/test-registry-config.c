/* SPDX-License-Identifier: MIT */
/* test-registry-config.c: the configuration side of the registry client: references and
 * docker's normalisation, the TOML reader and registries.conf (files, drop-ins, prefixes,
 * mirrors, blocked, aliases, short names), auth files (podman's and docker's, writes, a
 * credential helper) and certs.d. Everything happens in a temporary directory, with HOME
 * and XDG_* pointing into it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "lib/util.h"
#include "registry/authfile.h"
#include "registry/certsd.h"
#include "registry/reference.h"
#include "registry/regconf.h"

static char tmp[256];

static void put(const char *rel, const char *text, mode_t mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	char *dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	CHECK(mkdir_p(dir, 0700) == 0);
	free(dir);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CHECK(fd >= 0);
	CHECK(write_all(fd, text, strlen(text)) == 0);
	close(fd);
	chmod(path, mode);
}

static char *slurp(const char *rel)
{
	char path[512], *out = NULL;
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (read_file_at(AT_FDCWD, path, 1 << 20, &out, NULL) < 0)
		return NULL;
	return out;
}

static struct image_reference ref(const char *s)
{
	struct image_reference r;
	struct diyc_error err = { 0 };
	if (reference_parse(s, &r, &err) < 0) {
		fprintf(stderr, "%s: %s\n", s, err.msg);
		exit(1);
	}
	return r;
}

static void ref_is(const char *s, const char *domain, const char *path, const char *tag, bool qualified)
{
	struct image_reference r = ref(s);
	CHECK_STR(r.domain, domain);
	CHECK_STR(r.path, path);
	CHECK_STR(r.tag, tag);
	CHECK(r.qualified == qualified);
}

/* s is refused, with why in the message */
static void ref_bad(const char *s, const char *why)
{
	struct image_reference r;
	struct diyc_error err = { 0 };
	CHECK(reference_parse(s, &r, &err) == -EINVAL);
	if (!strstr(err.msg, why)) {
		fprintf(stderr, "`%s`: message \"%s\" lacks \"%s\"\n", s, err.msg, why);
		exit(1);
	}
}

static void test_references(void)
{
	ref_is("busybox", "docker.io", "library/busybox", "latest", false);
	ref_is("busybox:1.36", "docker.io", "library/busybox", "1.36", false);
	ref_is("user/app", "docker.io", "user/app", "latest", false);
	ref_is("docker.io/busybox", "docker.io", "library/busybox", "latest", true);
	ref_is("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", true);
	ref_is("localhost/app:v1", "localhost", "app", "v1", true);
	ref_is("localhost:5000/a/b/c", "localhost:5000", "a/b/c", "latest", true);
	ref_is("127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", true);
	ref_is("[::1]:5000/app", "[::1]:5000", "app", "latest", true);
	ref_is("Example.COM/app", "Example.COM", "app", "latest", true);
	ref_is("quay.io/a.b_c__d---e/f", "quay.io", "a.b_c__d---e/f", "latest", true);
	ref_is("registry/app:_T.a-g", "docker.io", "registry/app", "_T.a-g", false);
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char s[512];
	snprintf(s, sizeof(s), "quay.io/app@%s", d);
	struct image_reference r = ref(s);
	CHECK_STR(r.tag, "");
	CHECK_STR(r.digest, d);
	snprintf(s, sizeof(s), "app:v2@%s", d);
	r = ref(s);
	CHECK_STR(r.tag, "v2");
	CHECK_STR(r.digest, d);
	char out[600];
	reference_format(&r, out, sizeof(out));
	snprintf(s, sizeof(s), "docker.io/library/app:v2@%s", d);
	CHECK_STR(out, s);
	reference_repo(&r, out, sizeof(out));
	CHECK_STR(out, "docker.io/library/app");
	reference_short_path(&r, out, sizeof(out));
	CHECK_STR(out, "app");
	r = ref("user/app");
	reference_short_path(&r, out, sizeof(out));
	CHECK_STR(out, "user/app");

	ref_bad("", "empty");
	ref_bad("Busybox", "lowercase");
	ref_bad("docker.io/Library/busybox", "lowercase");
	ref_bad("a//b", "empty");
	ref_bad("/a", "empty");
	ref_bad("a/", "empty");
	ref_bad("quay.io/", "empty");
	ref_bad("a/../b", "`..`");
	ref_bad("a/./b", "`.`");
	ref_bad("-a", "start and end");
	ref_bad("a-", "start and end");
	ref_bad("a..b", "join");
	ref_bad("a___b", "join");
	ref_bad("a:", "tag after `:` is empty");
	ref_bad("a:-x", "tag must start");
	ref_bad("a:x$", "tag may only");
	ref_bad("a@sha256:abc", "64 hex");
	ref_bad("a@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "lowercase");
	ref_bad("a@sha512:0123", "only sha256");
	ref_bad("a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", "other than hex");
	ref_bad("a@", "ALGORITHM:HEX");
	ref_bad(":5000/app", "port without a host");
	ref_bad("host:99999/app", "port");
	ref_bad("host:x1/app", "port");
	ref_bad("-bad.com/app", "host name");
	ref_bad("[::zz]:5/app", "host name");
	ref_bad("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image id");
	ref_bad("a b", "join");
	ref_bad("a\nb", "a\\nb");
	char tag[200];
	memset(tag, 'x', sizeof(tag));
	snprintf(tag, sizeof(tag), "a:%0129d", 0);
	ref_bad(tag, "128");
	char longname[300];
	memset(longname, 'a', 256);
	longname[256] = '\0';
	ref_bad(longname, "longer than 255");
	/* fits as typed, not with the library/ docker.io adds */
	longname[250] = '\0';
	ref_bad(longname, "255");

	CHECK(reference_valid_domain("quay.io"));
	CHECK(reference_valid_domain("localhost:5000"));
	CHECK(reference_valid_domain("[fe80::1]:443"));
	CHECK(!reference_valid_domain(""));
	CHECK(!reference_valid_domain(":5000"));
	CHECK(!reference_valid_domain("quay.io/x"));
	CHECK(!reference_valid_domain("a..b"));
	CHECK(!reference_valid_domain("https://quay.io"));
}

static int parse(struct registries_conf *c, const char *text, struct diyc_error *err)
{
	return regconf_parse(c, text, strlen(text), "test.conf", err);
}

/* text is refused with msg in the message (which starts with the file and line) */
static void toml_bad(const char *text, const char *msg)
{
	struct registries_conf c = { 0 };
	struct diyc_error err = { 0 };
	CHECK(parse(&c, text, &err) < 0);
	if (!strstr(err.msg, msg)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\" for:\n%s\n", err.msg, msg, text);
		exit(1);
	}
	regconf_free(&c);
}

static void test_toml(void)
{
	struct registries_conf c = { 0 };
	struct diyc_error err = { 0 };
	const char *good = "# a comment\n"
			   "unqualified-search-registries = [\n"
			   "  \"quay.io\",  # first\n"
			   "  'docker.io', # literal\n"
			   "]\r\n"
			   "short-name-mode=\"enforcing\"\n"
			   "\n"
			   "[aliases]\n"
			   "  \"fedora\" = \"registry.fedoraproject.org/fedora\"\n"
			   "  'my/app' = \"quay.io/m\\u0065/app\"  \n"
			   "  plain_key-1 = \"docker.io/library/plain\"\n"
			   "[[registry]]\n"
			   "prefix = \"example.com/foo\"\n"
			   "location = \"internal.example.net/bar/\"\n"
			   "insecure = true\n"
			   "[[registry.mirror]]\n"
			   "location = \"mirror.local:5000/foo\"\n"
			   "pull-from-mirror = \"digest-only\"\n"
			   "[[registry.mirror]]\n"
			   "location = \"mirror2.local\"\n"
			   "insecure = true\n"
			   "[[registry]]\n"
			   "location = \"localhost:5000\"\n"
			   "blocked = false\n";
	if (parse(&c, good, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	CHECK(err.msg[0] == 0);
	CHECK_STR(c.search[0], "quay.io");
	CHECK_STR(c.search[1], "docker.io");
	CHECK(c.search[2] == NULL);
	CHECK(c.short_name_mode == SHORT_NAME_ENFORCING);
	CHECK_STR(c.alias_names[1], "my/app");
	CHECK_STR(c.alias_values[1], "quay.io/me/app");
	CHECK_STR(c.alias_names[2], "plain_key-1");
	CHECK(c.n_regs == 2);
	CHECK_STR(c.regs[0].prefix, "example.com/foo");
	CHECK_STR(c.regs[0].location, "internal.example.net/bar");
	CHECK(c.regs[0].insecure && c.regs[0].n_mirrors == 2);
	CHECK(c.regs[0].mirrors[0].pull_from == PULL_FROM_MIRROR_DIGEST_ONLY && !c.regs[0].mirrors[0].insecure);
	CHECK(c.regs[0].mirrors[1].insecure && c.regs[0].mirrors[1].pull_from == PULL_FROM_MIRROR_ALL);
	CHECK_STR(c.regs[1].prefix, "localhost:5000");
	CHECK_STR(c.files[0], "test.conf");
	regconf_free(&c);

	/* the TOML reader itself: line numbers and what it refuses */
	toml_bad("a = 1\n", "test.conf:1: unsupported value");
	toml_bad("\n\nshort-name-mode = \"x\" junk\n", "test.conf:3: unexpected `j`");
	toml_bad("x = \"open\n", "test.conf:1: a string is not closed");
	toml_bad("x = \"\\q\"\n", "unknown escape `\\q`");
	toml_bad("x = \"\\u12\"\n", "4 hex digits");
	toml_bad("x = \"\\ud800\"\n", "no character");
	toml_bad("x = \"a\x01\"\n", "control character");
	toml_bad("x = \"\xff\"\n", "not UTF-8");
	toml_bad("x = \"\"\"multi\"\"\"\n", "multi-line strings");
	toml_bad("x = { a = \"b\" }\n", "inline tables");
	toml_bad("x = [\"a\",\n\n 1]\n", "test.conf:3: only arrays of strings");
	toml_bad("x = [\"a\" \"b\"]\n", "`,` or `]`");
	toml_bad("x = [\"a\",\n", "test.conf:2: an array is not closed");
	toml_bad("x = \"a\"\nx = \"b\"\n", "test.conf:2: `x` is set twice (first on line 1)");
	toml_bad("[aliases]\n[aliases]\n", "test.conf:2: [aliases] is defined twice");
	toml_bad("[registry]\n[[registry]]\n", "already a table");
	toml_bad("[[registry]]\n[registry]\n", "array of tables");
	toml_bad("= \"x\"\n", "a key is missing");
	toml_bad("x \"y\"\n", "`=` expected");
	toml_bad("x =\n", "a value is missing");
	toml_bad("[registry\n", "`]` expected");
	toml_bad("x = true # \x02\n", "control character");
	toml_bad("x = \"a\"\r", "unexpected");
	toml_bad("x = tru\n", "unsupported value");
	CHECK(parse(&c, "a.b.c = \"x\"\n\"quoted key\" = true\n", &err) == 0); /* unknown keys: a warning */
	regconf_free(&c);
	char nul[] = "x = \"a\"\n";
	nul[5] = '\0';
	CHECK(regconf_parse(&c, nul, sizeof(nul) - 1, "nul.conf", &err) < 0 && strstr(err.msg, "NUL"));

}

/* what registries.conf itself refuses, each with its file and line; version 1; this machine's */
static void test_regconf_checks(void)
{
	struct registries_conf c = { 0 };
	struct diyc_error err = { 0 };
	toml_bad("short-name-mode = \"strict\"\n", "test.conf:1: short-name-mode `strict`");
	toml_bad("unqualified-search-registries = \"quay.io\"\n", "must be an array of strings");
	toml_bad("unqualified-search-registries = [\"quay.io/x\"]\n", "`quay.io/x` is not a registry");
	toml_bad("[[registry]]\ninsecure = true\n", "test.conf:1: a [[registry]] needs a prefix or a location");
	toml_bad("[[registry]]\nlocation = \"https://quay.io\"\n", "test.conf:2: location `https://quay.io`: a URL scheme");
	toml_bad("[[registry]]\nprefix = \"Quay.io/A\"\n", "not host[:port][/path]");
	toml_bad("[[registry]]\nprefix = \"*.quay.io/x\"\n", "a wildcard prefix is");
	toml_bad("[[registry]]\nprefix = \"*.quay.io\"\nlocation = \"x.io\"\n", "cannot have a location");
	toml_bad("[[registry]]\nlocation = \"a.io\"\n[[registry]]\nprefix = \"a.io\"\n",
		 "test.conf:3: a [[registry]] with prefix `a.io` is already defined on line 1");
	toml_bad("[[registry]]\nlocation = \"a.io\"\ninsecure = \"yes\"\n", "test.conf:3: `registry.insecure` must be true or false");
	toml_bad("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\ninsecure = true\n", "test.conf:3: a [[registry.mirror]] needs a location");
	toml_bad("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"some\"\n",
		 "test.conf:5: pull-from-mirror `some`");
	toml_bad("[[registry]]\nlocation = \"a.io\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m.io\"\n"
		 "pull-from-mirror = \"all\"\n", "mirror-by-digest-only");
	toml_bad("[aliases]\n\"quay.io/app\" = \"quay.io/app\"\n", "must be a short name");
	toml_bad("[aliases]\n\"app\" = \"app\"\n", "must name its registry");
	toml_bad("[aliases]\n\"app:1\" = \"quay.io/app\"\n", "neither tag nor digest");
	toml_bad("[aliases]\n\"app\" = \"quay.io/app:1\"\n", "neither tag nor digest");
	toml_bad("[aliases]\n\"app\" = \"quay.io/app\\n\"\n", "`quay.io/app\\n`");
	toml_bad("[registries.search]\nregistries = [\"a.io\"]\n[[registry]]\nlocation = \"b.io\"\n", "cannot be mixed");

	/* version 1 */
	CHECK(parse(&c, "[registries.search]\nregistries = ['a.io', 'b.io']\n[registries.insecure]\nregistries = ['c.io:5000']\n"
			"[registries.block]\nregistries = ['evil.io', 'c.io:5000']\n", &err) == 0);
	CHECK_STR(c.search[1], "b.io");
	CHECK(c.n_regs == 2 && c.regs[0].insecure && c.regs[0].blocked && c.regs[1].blocked && !c.regs[1].insecure);
	regconf_free(&c);

	/* the real file of this machine's containers-common, when there is one */
	struct registries_conf sys = { 0 };
	const char *dirs[] = { "/etc/containers/registries.conf.d", NULL };
	if (access("/etc/containers/registries.conf", R_OK) == 0) {
		CHECK(regconf_load_paths(&sys, "/etc/containers/registries.conf", dirs, &err) == 0);
		regconf_free(&sys);
	}
}

static void endpoints_are(const struct registries_conf *c, const char *s, const char *expect)
{
	struct image_reference r = ref(s);
	struct pull_endpoint *e;
	size_t n;
	struct diyc_error err = { 0 };
	if (regconf_endpoints(c, &r, &e, &n, &err) < 0) {
		fprintf(stderr, "%s: %s\n", s, err.msg);
		exit(1);
	}
	char got[2048] = "";
	for (size_t i = 0; i < n; i++) {
		size_t o = strlen(got);
		snprintf(got + o, sizeof(got) - o, "%s%s/%s%s%s", i ? " " : "", e[i].host, e[i].path,
			 e[i].insecure ? "!" : "", e[i].mirror ? "(m)" : "");
	}
	free(e);
	CHECK_STR(got, expect);
}

static void test_endpoints(void)
{
	struct registries_conf c = { 0 };
	struct diyc_error err = { 0 };
	const char *conf = "[[registry]]\n"
			   "prefix = \"docker.io\"\n"
			   "[[registry.mirror]]\n"
			   "location = \"mirror.local:5000/hub\"\n"
			   "insecure = true\n"
			   "[[registry.mirror]]\n"
			   "location = \"tags.local\"\n"
			   "pull-from-mirror = \"tag-only\"\n"
			   "[[registry.mirror]]\n"
			   "location = \"digests.local\"\n"
			   "pull-from-mirror = \"digest-only\"\n"
			   "[[registry]]\n"
			   "prefix = \"docker.io/library/busybox\"\n"
			   "location = \"internal.local/bb\"\n"
			   "[[registry]]\n"
			   "prefix = \"docker.io/evil\"\n"
			   "blocked = true\n"
			   "[[registry]]\n"
			   "prefix = \"*.corp.example\"\n"
			   "insecure = true\n"
			   "[[registry.mirror]]\n"
			   "location = \"cache.corp.example\"\n"
			   "[[registry]]\n"
			   "prefix = \"*.b.corp.example\"\n"
			   "[[registry]]\n"
			   "location = \"only-digests.io\"\n"
			   "mirror-by-digest-only = true\n"
			   "[[registry.mirror]]\n"
			   "location = \"m.io/x\"\n";
	CHECK(parse(&c, conf, &err) == 0);
	const char *d = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char s[256];
	endpoints_are(&c, "docker.io/library/alpine:3",
		      "mirror.local:5000/hub/library/alpine!(m) tags.local/library/alpine(m) docker.io/library/alpine");
	snprintf(s, sizeof(s), "alpine%s", d);
	endpoints_are(&c, s, "mirror.local:5000/hub/library/alpine!(m) digests.local/library/alpine(m) docker.io/library/alpine");
	/* the longest prefix wins, and its location moves the repository */
	endpoints_are(&c, "busybox", "internal.local/bb");
	/* a prefix matches whole path components only */
	endpoints_are(&c, "docker.io/library/busyboxy",
		      "mirror.local:5000/hub/library/busyboxy!(m) tags.local/library/busyboxy(m) docker.io/library/busyboxy");
	endpoints_are(&c, "docker.io/library/busybox/sub", "internal.local/bb/sub");
	/* wildcards: subdomains only, the longest wins, the port stays */
	endpoints_are(&c, "reg.corp.example/app", "cache.corp.example/app(m) reg.corp.example/app!");
	endpoints_are(&c, "x.b.corp.example/app", "x.b.corp.example/app");
	endpoints_are(&c, "corp.example/app", "corp.example/app");
	endpoints_are(&c, "reg.corp.example:5000/app", "cache.corp.example:5000/app(m) reg.corp.example:5000/app!");
	endpoints_are(&c, "other.io/app", "other.io/app");
	endpoints_are(&c, "only-digests.io/a", "only-digests.io/a");
	snprintf(s, sizeof(s), "only-digests.io/a%s", d);
	endpoints_are(&c, s, "m.io/x/a(m) only-digests.io/a");
	/* blocked: an error naming the file */
	struct image_reference r = ref("docker.io/evil/app");
	struct pull_endpoint *e = NULL;
	size_t n;
	CHECK(regconf_endpoints(&c, &r, &e, &n, &err) < 0 && e == NULL);
	CHECK(strstr(err.msg, "blocked by test.conf:15"));
	CHECK(regconf_insecure(&c, "a.corp.example"));
	CHECK(!regconf_insecure(&c, "docker.io"));
	CHECK(!regconf_insecure(&c, "corp.example"));
	regconf_free(&c);

	/* a location that leaves no repository is an error, not a request for `host/` */
	CHECK(parse(&c, "[[registry]]\nprefix = \"a.io/app\"\nlocation = \"b.io\"\n", &err) == 0);
	r = ref("a.io/app");
	CHECK(regconf_endpoints(&c, &r, &e, &n, &err) < 0 && strstr(err.msg, "not a repository"));
	regconf_free(&c);
}

static void candidates_are(const struct registries_conf *c, const char *s, bool tty, const char *expect)
{
	struct image_reference r = ref(s), *v;
	size_t n;
	struct diyc_error err = { 0 };
	if (regconf_candidates(c, &r, tty, &v, &n, &err) < 0) {
		if (strncmp(expect, "error: ", 7) == 0 && strstr(err.msg, expect + 7))
			return;
		fprintf(stderr, "%s: %s\n", s, err.msg);
		exit(1);
	}
	char got[2048] = "";
	for (size_t i = 0; i < n; i++) {
		size_t o = strlen(got);
		CHECK(v[i].qualified);
		if (i)
			got[o++] = ' ';
		reference_format(&v[i], got + o, sizeof(got) - o);
	}
	free(v);
	CHECK_STR(got, expect);
}

static void test_candidates(void)
{
	struct registries_conf c = { 0 };
	struct diyc_error err = { 0 };
	/* no configuration: docker.io */
	candidates_are(&c, "busybox", false, "docker.io/library/busybox:latest");
	CHECK(parse(&c, "unqualified-search-registries = [\"quay.io\", \"docker.io\", \"localhost:5000\"]\n"
			"[aliases]\n\"busybox\" = \"quay.io/prometheus/busybox\"\n\"app/x\" = \"docker.io/a/b\"\n", &err) == 0);
	/* permissive (the default): every search registry, in order */
	candidates_are(&c, "alpine:3", false, "quay.io/alpine:3 docker.io/library/alpine:3 localhost:5000/alpine:3");
	candidates_are(&c, "ns/alpine", false, "quay.io/ns/alpine:latest docker.io/ns/alpine:latest localhost:5000/ns/alpine:latest");
	/* an alias is the only candidate, with the tag typed */
	candidates_are(&c, "busybox:1.36", false, "quay.io/prometheus/busybox:1.36");
	candidates_are(&c, "app/x", false, "docker.io/a/b:latest");
	/* a qualified name is itself */
	candidates_are(&c, "docker.io/busybox", false, "docker.io/library/busybox:latest");
	/* enforcing: several candidates and no terminal is an error listing them */
	CHECK(parse(&c, "short-name-mode = \"enforcing\"\n", &err) == 0);
	candidates_are(&c, "alpine", false, "error: it may be quay.io/alpine, docker.io/library/alpine, localhost:5000/alpine");
	candidates_are(&c, "alpine", true, "quay.io/alpine:latest docker.io/library/alpine:latest localhost:5000/alpine:latest");
	candidates_are(&c, "busybox", false, "quay.io/prometheus/busybox:latest");
	/* a drop-in erases an alias with "", replaces the search list */
	CHECK(parse(&c, "unqualified-search-registries = [\"quay.io\"]\n[aliases]\n\"busybox\" = \"\"\n", &err) == 0);
	candidates_are(&c, "busybox", false, "quay.io/busybox:latest");
	candidates_are(&c, "app/x", false, "docker.io/a/b:latest");
	/* disabled ignores aliases */
	CHECK(parse(&c, "short-name-mode = \"disabled\"\nunqualified-search-registries = [\"a.io\", \"b.io\"]\n", &err) == 0);
	candidates_are(&c, "app/x", false, "a.io/app/x:latest b.io/app/x:latest");
	CHECK(c.files[3] && !c.files[4]);
	regconf_free(&c);
}

static void test_load(void)
{
	struct registries_conf c;
	struct diyc_error err = { 0 };
	put("etc/registries.conf", "unqualified-search-registries = [\"main.io\"]\n"
				   "[[registry]]\nprefix = \"a.io\"\ninsecure = true\n"
				   "[[registry]]\nprefix = \"b.io\"\nblocked = true\n", 0644);
	put("etc/registries.conf.d/20-b.conf", "[[registry]]\nprefix = \"b.io\"\nlocation = \"b2.io\"\n", 0644);
	put("etc/registries.conf.d/10-a.conf", "unqualified-search-registries = [\"dropin.io\"]\n", 0644);
	put("etc/registries.conf.d/notes.txt", "this is not TOML\n", 0644);
	put("user/registries.conf.d/30-c.conf", "short-name-mode = \"enforcing\"\n", 0644);
	char conf[512], d1[512], d2[512], missing[512];
	snprintf(conf, sizeof(conf), "%s/etc/registries.conf", tmp);
	snprintf(d1, sizeof(d1), "%s/etc/registries.conf.d", tmp);
	snprintf(d2, sizeof(d2), "%s/user/registries.conf.d", tmp);
	snprintf(missing, sizeof(missing), "%s/nothing", tmp);
	const char *dirs[] = { d1, missing, d2, NULL };
	CHECK(regconf_load_paths(&c, conf, dirs, &err) == 0);
	CHECK_STR(c.search[0], "dropin.io");
	CHECK(c.short_name_mode == SHORT_NAME_ENFORCING);
	CHECK(c.n_regs == 2 && c.regs[0].insecure);
	CHECK(!c.regs[1].blocked);
	CHECK_STR(c.regs[1].location, "b2.io");
	CHECK(strstr(c.files[1], "10-a.conf") && strstr(c.files[2], "20-b.conf") && strstr(c.files[3], "30-c.conf"));
	regconf_free(&c);
	/* a bad drop-in names itself and its line */
	put("etc/registries.conf.d/40-bad.conf", "\n[[registry]]\nprefix = 'x.io'\nblocked = \"no\"\n", 0644);
	CHECK(regconf_load_paths(&c, conf, dirs, &err) < 0);
	CHECK(strstr(err.msg, "40-bad.conf:4: `registry.blocked` must be true or false"));
	/* $CONTAINERS_REGISTRIES_CONF alone */
	setenv("CONTAINERS_REGISTRIES_CONF", conf, 1);
	CHECK(regconf_load(&c, &err) == 0);
	CHECK_STR(c.search[0], "main.io");
	CHECK(c.files[1] == NULL);
	regconf_free(&c);
	unsetenv("CONTAINERS_REGISTRIES_CONF");
	/* the user's file rather than /etc's */
	put("config/containers/registries.conf", "unqualified-search-registries = [\"user.io\"]\n", 0644);
	CHECK(regconf_load(&c, &err) == 0);
	CHECK(strstr(c.files[0], "config/containers/registries.conf"));
	regconf_free(&c);
}

static void creds_are(const char *authfile, const char *repo, const char *user, const char *pass, const char *token)
{
	struct registry_creds c;
	struct diyc_error err = { 0 };
	int r = authfile_get(authfile, repo, &c, &err);
	if (r < 0) {
		fprintf(stderr, "%s: %d %s\n", repo, r, err.msg);
		exit(1);
	}
	if (user)
		CHECK_STR(c.username, user);
	else
		CHECK(c.username == NULL);
	if (pass)
		CHECK_STR(c.password, pass);
	else
		CHECK(c.password == NULL);
	if (token)
		CHECK_STR(c.identity_token, token);
	else
		CHECK(c.identity_token == NULL);
	registry_creds_free(&c);
}

static void test_auth_read(void)
{
	struct registry_creds c;
	struct diyc_error err = { 0 };
	CHECK(authfile_get(NULL, "quay.io/app", &c, &err) == -ENOENT);
	/* podman's: keys with paths, the longest wins */
	put("run/containers/auth.json",
	    "{\n\t\"auths\": {\n"
	    "\t\t\"quay.io\": {\"auth\": \"dXNlcjpwYXNz\"},\n"       /* user:pass */
	    "\t\t\"quay.io/team\": {\"auth\": \"dGVhbTpzM2NyZXQ6eA==\"}\n" /* team:s3cret:x */
	    "\t}\n}\n", 0600);
	/* docker's: URL keys, index.docker.io for docker.io, an identity token */
	put("home/.docker/config.json",
	    "{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnB3\"},\n" /* hub:hubpw */
	    "  \"http://old.example:5000/v2/\": {\"auth\": \"b2xkOm9sZHB3\"},\n"                /* old:oldpw */
	    "  \"tok.example\": {\"auth\": \"PHRva2VuPjo=\", \"identitytoken\": \"refresh-me\"},\n"
	    "  \"empty.example\": {}},\n"
	    " \"credHelpers\": {\"helped.example\": \"test\"},\n"
	    " \"HttpHeaders\": {\"User-Agent\": \"x\"}}\n", 0600);
	creds_are(NULL, "quay.io/app", "user", "pass", NULL);
	creds_are(NULL, "quay.io/team/app", "team", "s3cret:x", NULL);
	creds_are(NULL, "docker.io/library/busybox", "hub", "hubpw", NULL);
	creds_are(NULL, "old.example:5000/a", "old", "oldpw", NULL);
	creds_are(NULL, "tok.example/a", "<token>", "", "refresh-me");
	CHECK(authfile_get(NULL, "empty.example/a", &c, &err) == -ENOENT);
	CHECK(authfile_get(NULL, "old.example/a", &c, &err) == -ENOENT);

}

/* docker-credential-test, a fake helper on PATH that logs what it is asked */
static void test_auth_helpers(void)
{
	struct registry_creds c;
	struct diyc_error err = { 0 };
	char path[1024];
	put("bin/docker-credential-test",
	    "#!/bin/sh\n"
	    "read -r line || true\n"
	    "echo \"$1 $line\" >> \"$(dirname \"$0\")/log\"\n"
	    "case \"$1:$line\" in\n"
	    "get:helped.example) echo '{\"ServerURL\":\"helped.example\",\"Username\":\"hu\",\"Secret\":\"hs\"}' ;;\n"
	    "get:https://index.docker.io/v1/) echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"tk\"}' ;;\n"
	    "get:*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
	    "store:*) exit 0 ;;\n"
	    "erase:*) exit 0 ;;\n"
	    "esac\n"
	    "echo 'secret on stderr' >&2\n", 0755);
	put("bin/docker-credential-broken", "#!/bin/sh\necho 'helper exploded' ; exit 3\n", 0755);
	snprintf(path, sizeof(path), "%s/bin:%s", tmp, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	creds_are(NULL, "helped.example/app", "hu", "hs", NULL);
	char *log = slurp("bin/log");
	CHECK(log && strstr(log, "get helped.example"));
	free(log);
	/* a file with credsStore: the store for what the file does not hold */
	put("docker2/config.json", "{\"auths\": {\"mine.example\": {\"auth\": \"bWU6bXlwdw==\"}, \"docker.io\": {}},"
				   " \"credsStore\": \"test\"}", 0600);
	snprintf(path, sizeof(path), "%s/docker2", tmp);
	setenv("DOCKER_CONFIG", path, 1);
	creds_are(NULL, "mine.example/app", "me", "mypw", NULL);
	creds_are(NULL, "docker.io/library/a", NULL, NULL, "tk");
	CHECK(authfile_get(NULL, "unknown.example/a", &c, &err) == -ENOENT);
	put("docker2/config.json", "{\"credsStore\": \"broken\"}", 0600);
	CHECK(authfile_get(NULL, "any.example/a", &c, &err) < 0);
	CHECK(strstr(err.msg, "docker-credential-broken get failed (exit status 3): helper exploded"));
	put("docker2/config.json", "{\"credsStore\": \"absent\"}", 0600);
	CHECK(authfile_get(NULL, "any.example/a", &c, &err) < 0 && strstr(err.msg, "not in PATH"));
	put("docker2/config.json", "{\"auths\": {\"bad.example\": {\"auth\": \"not base64!\"}}}", 0600);
	CHECK(authfile_get(NULL, "bad.example/a", &c, &err) == -EINVAL);
	CHECK(strstr(err.msg, "auths.bad.example.auth is not the base64") && !strstr(err.msg, "not base64!"));
	put("docker2/config.json", "{\"auths\": [1]}", 0600);
	CHECK(authfile_get(NULL, "bad.example/a", &c, &err) == -EINVAL && strstr(err.msg, "`auths` is not an object"));
	put("docker2/config.json", "{\"auths\": {}} x", 0600);
	CHECK(authfile_get(NULL, "bad.example/a", &c, &err) == -EINVAL && strstr(err.msg, "not valid JSON"));
	unsetenv("DOCKER_CONFIG");

}

/* writes keep the file's other keys, are 0600 and go where podman writes */
static void test_auth_write(void)
{
	struct diyc_error err = { 0 };
	char path[1024], *log;
	put("mine.json", "{\"auths\": {\"quay.io\": {\"auth\": \"YTpi\"}}, \"keep\": {\"x\": [1, 2]}}", 0644); /* a:b */
	snprintf(path, sizeof(path), "%s/mine.json", tmp);
	creds_are(path, "quay.io/app", "a", "b", NULL);
	struct registry_creds nc = { .username = "new", .password = "pw" };
	char *written = NULL;
	CHECK(authfile_set(path, "reg.example:5000", &nc, &written, &err) == 0);
	CHECK_STR(written, path);
	free(written);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	char *text = slurp("mine.json");
	CHECK(text && strstr(text, "\"keep\"") && strstr(text, "bmV3OnB3") && strstr(text, "YTpi")); /* new:pw */
	free(text);
	creds_are(path, "reg.example:5000/x", "new", "pw", NULL);
	struct registry_creds tc = { .username = "<token>", .identity_token = "idtok" };
	CHECK(authfile_set(path, "tok.example/team", &tc, NULL, &err) == 0);
	creds_are(path, "tok.example/team/app", NULL, NULL, "idtok");
	CHECK(authfile_remove(path, "reg.example:5000", false, &err) == 0);
	CHECK(authfile_remove(path, "reg.example:5000", false, &err) == -ENOENT);
	text = slurp("mine.json");
	CHECK(text && !strstr(text, "reg.example") && strstr(text, "\"keep\""));
	free(text);
	CHECK(authfile_remove(path, NULL, true, &err) == 0);
	text = slurp("mine.json");
	CHECK(text && !strstr(text, "quay.io") && strstr(text, "\"keep\""));
	free(text);
	/* user names with `:` and keys that are no registry are refused */
	struct registry_creds bad = { .username = "a:b", .password = "c" };
	CHECK(authfile_set(path, "quay.io", &bad, NULL, &err) == -EINVAL);
	CHECK(authfile_set(path, "https://quay.io", &nc, NULL, &err) == -EINVAL);

	/* the default write file: $XDG_RUNTIME_DIR/containers/auth.json, made with its dirs */
	snprintf(path, sizeof(path), "%s/newrun", tmp);
	setenv("XDG_RUNTIME_DIR", path, 1);
	CHECK(authfile_set(NULL, "docker.io", &nc, &written, &err) == 0);
	CHECK(strstr(written, "newrun/containers/auth.json"));
	CHECK(stat(written, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(path, sizeof(path), "%s/newrun/containers", tmp);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	free(written);
	creds_are(NULL, "docker.io/library/x", "new", "pw", NULL);
	/* logout of docker.io also removes docker's URL key in that file */
	put("newrun/containers/auth.json", "{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"YTpi\"}}}", 0600);
	CHECK(authfile_remove(NULL, "docker.io", false, &err) == 0);
	creds_are(NULL, "docker.io/library/x", "hub", "hubpw", NULL); /* ~/.docker/config.json's, next in order */
	/* a write file with a credHelper for the host stores through it */
	put("newrun/containers/auth.json", "{\"credHelpers\": {\"helped.example\": \"test\"}}", 0600);
	CHECK(authfile_set(NULL, "helped.example", &nc, NULL, &err) == 0);
	log = slurp("bin/log");
	CHECK(log && strstr(log, "store {\"ServerURL\":\"helped.example\",\"Username\":\"new\",\"Secret\":\"pw\"}"));
	free(log);
	CHECK(authfile_remove(NULL, "helped.example", false, &err) == 0);
	text = slurp("newrun/containers/auth.json");
	CHECK(text && !strstr(text, "auths"));
	free(text);
}

static void test_certsd(void)
{
	struct registry_tls t;
	struct diyc_error err = { 0 };
	CHECK(certsd_find("no-certs.invalid:5000", &t, &err) == 0 && t.dir == NULL);
	put("config/containers/certs.d/reg.invalid:5000/b.crt", "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----", 0644);
	put("config/containers/certs.d/reg.invalid:5000/a.crt", "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n", 0644);
	put("config/containers/certs.d/reg.invalid:5000/client.cert", "C", 0644);
	put("config/containers/certs.d/reg.invalid:5000/client.key", "K", 0600);
	put("config/containers/certs.d/reg.invalid:5000/README", "ignored", 0644);
	CHECK(certsd_find("reg.invalid:5000", &t, &err) == 0);
	CHECK(t.dir && strstr(t.dir, "certs.d/reg.invalid:5000"));
	CHECK(t.ca_pem && strstr(t.ca_pem, "A\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nB\n"));
	CHECK(t.ca_len == strlen(t.ca_pem));
	CHECK(strstr(t.cert_path, "/client.cert") && strstr(t.key_path, "/client.key"));
	registry_tls_free(&t);
	/* a symlinked CA is followed; a .cert without its .key is an error */
	char target[512], link[512];
	snprintf(target, sizeof(target), "%s/config/containers/certs.d/reg.invalid:5000/a.crt", tmp);
	snprintf(link, sizeof(link), "%s/config/containers/certs.d/other.invalid/ca.crt", tmp);
	put("config/containers/certs.d/other.invalid/lonely.cert", "C", 0644);
	CHECK(symlink(target, link) == 0);
	CHECK(certsd_find("other.invalid", &t, &err) < 0 && strstr(err.msg, "lonely.cert has no lonely.key"));
	CHECK(t.dir == NULL);
	put("config/containers/certs.d/other.invalid/lonely.key", "K", 0600);
	CHECK(certsd_find("other.invalid", &t, &err) == 0 && t.ca_pem && strstr(t.ca_pem, "A\n"));
	registry_tls_free(&t);
	CHECK(certsd_find("../etc", &t, &err) == -EINVAL);
	CHECK(certsd_find("a/b", &t, &err) == -EINVAL);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test-registry-config-XXXXXX");
	CHECK(mkdtemp(tmp));
	char p[512];
	snprintf(p, sizeof(p), "%s/home", tmp);
	setenv("HOME", p, 1);
	snprintf(p, sizeof(p), "%s/config", tmp);
	setenv("XDG_CONFIG_HOME", p, 1);
	snprintf(p, sizeof(p), "%s/run", tmp);
	setenv("XDG_RUNTIME_DIR", p, 1);
	unsetenv("REGISTRY_AUTH_FILE");
	unsetenv("DOCKER_CONFIG");
	unsetenv("CONTAINERS_REGISTRIES_CONF");

	test_references();
	test_toml();
	test_regconf_checks();
	test_endpoints();
	test_candidates();
	test_load();
	test_auth_read();
	test_auth_helpers();
	test_auth_write();
	test_certsd();
	rm_rf(tmp);
	return CHECKS_DONE();
}
