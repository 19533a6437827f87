/* SPDX-License-Identifier: MIT */
/* cmd-registry.c: `diyc pull`, `push`, `login`, `logout`, and what `run --pull` asks of a
 * registry. The registry layer (runtime/registry/) does the work and reports progress
 * through a callback; the lines printed are chosen here. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "commands.h"
#include "progress.h"
#include "registry-cli.h"
#include "image/image.h"
#include "lib/paths.h"
#include "lib/userns.h"
#include "lib/util.h"
#include "registry/authfile.h"
#include "registry/reference.h"
#include "registry/regconf.h"
#include "registry/registry.h"

static const char pull_usage[] =
	"Usage: diyc pull [OPTIONS] NAME[:TAG|@DIGEST]\n"
	"\n"
	"Pull an image from a registry into the store. A short name (busybox, user/app) is\n"
	"looked for where registries.conf says (unqualified-search-registries, aliases), and on\n"
	"docker.io when it says nothing; a qualified one (HOST[:PORT]/PATH) at its mirrors,\n"
	"then at its registry. Layers already in the store are not fetched again; the others\n"
	"are downloaded three at a time and unpacked as they arrive.\n"
	"\n"
	"Options:\n"
	"      --platform OS/ARCH[/VARIANT]  Choose this platform from a multi-platform image\n"
	"                         (default: the host's)\n"
	"  -q, --quiet            Print only the image id\n"
	"      --tls-verify[=BOOL] Verify the registry's TLS certificate (default true);\n"
	"                         false also lets diyc talk plain http to it\n"
	"      --authfile FILE    Credentials file (default: $REGISTRY_AUTH_FILE,\n"
	"                         $XDG_RUNTIME_DIR/containers/auth.json, ...)\n"
	"      --creds USER[:PASS] Credentials for the registry\n"
	"      --retry N          Retries of a failed transfer (default 3)\n"
	"      --retry-delay D    Delay before the first retry, doubled after (default 1s)\n"
	"      --max-concurrent-downloads N  Layers downloaded at once (default 3)\n"
	"      --allow-foreign-layers  Fetch a layer the manifest says lives elsewhere (its\n"
	"                         `urls`: nondistributable layers); refused otherwise\n"
	"      --verbose          Print what diyc does\n"
	"      --help             Show this help\n"
	"\n"
	"Output: the image's full name (the id with -q). Progress is drawn on a terminal.\n";

static const char login_usage[] =
	"Usage: diyc login [OPTIONS] REGISTRY\n"
	"\n"
	"Log in to a registry (HOST[:PORT]): the credentials are checked with the registry,\n"
	"then stored where podman keeps them (--authfile, else $REGISTRY_AUTH_FILE, else\n"
	"$XDG_RUNTIME_DIR/containers/auth.json), readable by you alone.\n"
	"\n"
	"Options:\n"
	"  -u, --username USER    User name (asked for on a terminal when not given)\n"
	"  -p, --password PASS    Password (visible to other users in the process list:\n"
	"                         prefer --password-stdin)\n"
	"      --password-stdin   Read the password from standard input\n"
	"      --authfile FILE    Credentials file to write\n"
	"      --tls-verify[=BOOL] Verify the registry's TLS certificate (default true)\n"
	"      --verbose          Print what diyc does\n"
	"      --help             Show this help\n";

static const char logout_usage[] =
	"Usage: diyc logout [OPTIONS] [REGISTRY]\n"
	"\n"
	"Remove the stored credentials for a registry.\n"
	"\n"
	"Options:\n"
	"  -a, --all              Remove the credentials of every registry\n"
	"      --authfile FILE    Credentials file\n"
	"      --help             Show this help\n";

enum { OPT_PLATFORM = 256, OPT_TLS_VERIFY, OPT_AUTHFILE, OPT_CREDS, OPT_RETRY, OPT_PASSWORD_STDIN, OPT_RETRY_DELAY,
       OPT_MAX_DOWNLOADS, OPT_FOREIGN };

/* --tls-verify, --tls-verify=true|false */
static int parse_tls_verify(const char *cmd, const char *arg, int *out)
{
	if (!arg || !strcmp(arg, "true") || !strcmp(arg, "1"))
		*out = 1;
	else if (!strcmp(arg, "false") || !strcmp(arg, "0"))
		*out = 0;
	else
		return usage_error(cmd, "invalid --tls-verify value `%s`: use true or false", arg);
	return 0;
}

/* The options every registry command shares; OPTION_NOT_MINE for others. */
static int registry_flag(const char *cmd, int c, const char *arg, struct registry_opts *ro)
{
	switch (c) {
	case OPT_TLS_VERIFY: return parse_tls_verify(cmd, arg, &ro->tls_verify);
	case OPT_AUTHFILE:
		if (!*arg)
			return usage_error(cmd, "--authfile needs a file");
		ro->authfile = arg;
		return 0;
	case OPT_CREDS:
		if (!*arg || *arg == ':')
			return usage_error(cmd, "--creds needs USER[:PASSWORD]");
		ro->creds = arg;
		return 0;
	case OPT_RETRY: {
		uint64_t v;
		if (parse_u64(arg, 100, &v) < 0)
			return usage_error(cmd, "invalid --retry `%s`: a number of retries from 0 to 100", arg);
		ro->retries = (unsigned)v;
		return 0;
	}
	case OPT_RETRY_DELAY: {
		/* podman's form: a number of seconds with an optional unit (500ms, 2s, 1m) */
		char *end;
		double v = strtod(arg, &end);
		double unit = !strcmp(end, "ms") ? 0.001 : !strcmp(end, "m") ? 60 : (!*end || !strcmp(end, "s")) ? 1 : -1;
		if (end == arg || unit < 0 || v < 0 || v * unit > 600)
			return usage_error(cmd, "invalid --retry-delay `%s`: a duration up to 10m (500ms, 2s, 1m)", arg);
		ro->retry_delay = v * unit;
		return 0;
	}
	}
	return OPTION_NOT_MINE;
}

#define REGISTRY_LONGOPTS                                                                          \
	{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },                                  \
	{ "authfile", required_argument, NULL, OPT_AUTHFILE },                                      \
	{ "creds", required_argument, NULL, OPT_CREDS }, { "retry", required_argument, NULL, OPT_RETRY },  \
	{ "retry-delay", required_argument, NULL, OPT_RETRY_DELAY }

/* -- pull ---------------------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ^C and a kill stop a pull cleanly (nothing half-made is left) rather than at once. */
static void catch_interrupts(struct sigaction old[3])
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
	sigaction(SIGHUP, &sa, &old[2]);
}

static void restore_interrupts(struct sigaction old[3])
{
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
	sigaction(SIGHUP, &old[2], NULL);
}

int registry_cli_pull(const struct diyc_paths *p, const struct registry_opts *ro, const char *ref,
		      const char *platform, bool quiet, struct registry_pull_result *res, struct diyc_error *err)
{
	struct userns_plan plan;
	int r = userns_plan_init(&plan, err);
	if (r < 0)
		return r;
	bool tty = isatty(STDERR_FILENO) && !quiet;
	struct progress pg = { .out = stderr };
	struct registry_pull_opts o = {
		.p = p, .plan = &plan, .ro = ro, .platform = platform, .tty = isatty(STDIN_FILENO),
		.progress = tty ? progress_draw : NULL, .progress_data = &pg, .cancel = &interrupted,
	};
	if (tty) {
		_cleanup_free_ char *e = str_escape_dup(ref);
		fprintf(stderr, "Pulling %s\n", e ? e : ref);
	}
	struct sigaction old[3];
	catch_interrupts(old);
	r = registry_pull(&o, ref, res, err);
	restore_interrupts(old);
	userns_plan_free(&plan);
	if (r < 0)
		return r;
	if (tty) {
		const char *at = strchr(res->repo_digest, '@');
		fprintf(stderr, "Digest: %s\n", at ? at + 1 : "");
		fprintf(stderr, "Status: %s for %s\n", res->downloaded ? "Downloaded newer image" : "Image is up to date",
			res->name);
	}
	return 0;
}

struct pull_flags {
	struct registry_opts ro;
	const char *platform;
	bool quiet;
};

static int pull_opt(int c, const char *arg, void *data)
{
	struct pull_flags *f = data;
	int r = registry_flag("pull", c, arg, &f->ro);
	if (r != OPTION_NOT_MINE)
		return r;
	switch (c) {
	case 'q': f->quiet = true; return 0;
	case OPT_MAX_DOWNLOADS: {
		uint64_t v;
		if (parse_u64(arg, 16, &v) < 0 || v == 0)
			return usage_error("pull", "invalid --max-concurrent-downloads `%s`: from 1 to 16", arg);
		f->ro.parallel = (unsigned)v;
		return 0;
	}
	case OPT_FOREIGN: f->ro.allow_foreign = true; return 0;
	case OPT_PLATFORM:
		if (!*arg || !strchr(arg, '/') || strlen(arg) > 60)
			return usage_error("pull", "invalid --platform `%s`: expected OS/ARCH[/VARIANT] (linux/arm64)", arg);
		f->platform = arg;
		return 0;
	}
	return usage_error("pull", "unexpected option");
}


int cmd_pull(int argc, char **argv)
{
	static const struct option o[] = { { "platform", required_argument, NULL, OPT_PLATFORM },
					   { "quiet", no_argument, NULL, 'q' },
					   { "max-concurrent-downloads", required_argument, NULL, OPT_MAX_DOWNLOADS },
					   { "allow-foreign-layers", no_argument, NULL, OPT_FOREIGN }, REGISTRY_LONGOPTS,
					   OPTION_HELP_ENTRY, OPTION_VERBOSE_ENTRY, OPTION_END };
	static const struct command_options spec = { "pull", pull_usage, "+:q", o };
	struct pull_flags f = { 0 };
	registry_opts_init(&f.ro);
	int r;
	if (!parse_options(&spec, argc, argv, pull_opt, &f, &r))
		return r;
	if (argc - optind != 1)
		return usage_error("pull", "expected one image: diyc pull NAME[:TAG|@DIGEST]");
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct registry_pull_result res;
	if (paths_init(&p, &err) < 0 ||
	    registry_cli_pull(&p, &f.ro, argv[optind], f.platform, f.quiet, &res, &err) < 0)
		return fail(&err);
	printf("%s\n", f.quiet ? res.id : res.name);
	return 0;
}

/* -- run --pull ----------------------------------------------------------------------------------- */

int registry_cli_ensure_image(const struct diyc_paths *p, const char *ref, enum pull_policy policy,
			      char *out, size_t size, struct diyc_error *err)
{
	snprintf(out, size, "%s", ref);
	char norm[PATH_MAX], id[IMAGE_ID_LEN + 1];
	bool by_id;
	struct diyc_error lookup = { 0 };
	if (policy != PULL_ALWAYS) {
		if (image_lookup(p, ref, norm, id, &by_id, &lookup) == 0)
			return 0;
		/* a short name may be in the store under a registry's name */
		char **names = NULL;
		struct diyc_error ignore = { 0 };
		if (registry_local_names(ref, true, &names, &ignore) == 0) {
			for (char **n = names; n && *n; n++)
				if (image_lookup(p, *n, norm, id, &by_id, &ignore) == 0) {
					snprintf(out, size, "%s", *n);
					strv_free(names);
					return 0;
				}
		}
		strv_free(names);
		if (policy == PULL_NEVER) {
			*err = lookup;
			return -ENOENT;
		}
	}
	/* not a name a registry could have: the store's own error says why */
	struct image_reference r;
	struct diyc_error perr = { 0 };
	if (reference_parse(ref, &r, &perr) < 0) {
		*err = lookup.msg[0] ? lookup : perr;
		return -EINVAL;
	}
	struct registry_opts ro;
	registry_opts_init(&ro);
	struct registry_pull_result res;
	int ret = registry_cli_pull(p, &ro, ref, NULL, false, &res, err);
	if (ret < 0) {
		_cleanup_free_ char *e = str_escape_dup(ref);
		return policy == PULL_ALWAYS ? ret
			: diyc_error_wrap(err, "image `%s` not found in the store, and pulling it failed", e ? e : "");
	}
	snprintf(out, size, "%s", res.id);
	return 0;
}

/* -- login, logout -------------------------------------------------------------------------------- */

struct login_flags {
	struct registry_opts ro;
	const char *user, *password;
	bool password_stdin, all;
};

static int login_opt(int c, const char *arg, void *data)
{
	struct login_flags *f = data;
	if (c == OPT_CREDS || c == OPT_RETRY || c == OPT_RETRY_DELAY)
		return usage_error("login", "unexpected option");
	int r = registry_flag("login", c, arg, &f->ro);
	if (r != OPTION_NOT_MINE)
		return r;
	switch (c) {
	case 'u': f->user = arg; return 0;
	case 'p': f->password = arg; return 0;
	case OPT_PASSWORD_STDIN: f->password_stdin = true; return 0;
	case 'a': f->all = true; return 0;
	}
	return usage_error("login", "unexpected option");
}

/* A line typed at the terminal, without echo when secret. */
static char *ask(const char *prompt, bool secret)
{
	struct termios old, quiet;
	bool raw = secret && tcgetattr(STDIN_FILENO, &old) == 0;
	fputs(prompt, stderr);
	fflush(stderr);
	if (raw) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static char *read_password_stdin(void)
{
	char *text = NULL;
	size_t len = 0;
	if (read_fd_all(STDIN_FILENO, 64 * 1024, &text, &len) < 0)
		return NULL;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	return text;
}

/* The user and password of a login, from the flags, standard input or the terminal. */
static int login_credentials(struct login_flags *f, char **user, char **pass)
{
	*user = f->user ? strdup(f->user) : NULL;
	*pass = f->password ? strdup(f->password) : NULL;
	if (f->password_stdin) {
		if (f->password)
			return usage_error("login", "--password and --password-stdin are mutually exclusive");
		if (!f->user)
			return usage_error("login", "--password-stdin needs --username");
		if (!(*pass = read_password_stdin()) || !**pass)
			return usage_error("login", "no password on standard input");
	}
	bool term = isatty(STDIN_FILENO);
	if (!*user && term)
		*user = ask("Username: ", false);
	if (*user && !*pass && term)
		*pass = ask("Password: ", true);
	if (!*user || !**user)
		return usage_error("login", "a user name is needed: --username USER (and --password-stdin)");
	if (!*pass || !**pass)
		return usage_error("login", "a password is needed: --password-stdin, or a terminal to type it at");
	if (strchr(*user, ':'))
		return usage_error("login", "a user name cannot hold `:`");
	return 0;
}

int cmd_login(int argc, char **argv)
{
	static const struct option o[] = { { "username", required_argument, NULL, 'u' },
					   { "password", required_argument, NULL, 'p' },
					   { "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN }, REGISTRY_LONGOPTS,
					   OPTION_HELP_ENTRY, OPTION_VERBOSE_ENTRY, OPTION_END };
	static const struct command_options spec = { "login", login_usage, "+:u:p:", o };
	struct login_flags f = { 0 };
	registry_opts_init(&f.ro);
	int r;
	if (!parse_options(&spec, argc, argv, login_opt, &f, &r))
		return r;
	if (argc - optind != 1)
		return usage_error("login", "expected one registry: diyc login REGISTRY");
	const char *host = argv[optind];
	if (!strncmp(host, "https://", 8))
		host += 8;
	_cleanup_free_ char *hostbuf = strndup(host, strcspn(host, "/"));
	if (!hostbuf || !reference_valid_domain(hostbuf))
		return usage_error("login", "invalid registry `%s`: expected HOST[:PORT]", argv[optind]);
	_cleanup_free_ char *user = NULL, *pass = NULL;
	if ((r = login_credentials(&f, &user, &pass)) != 0)
		return r;
	_cleanup_free_ char *creds = xasprintf("%s:%s", user, pass);
	f.ro.creds = creds;
	struct diyc_error err = { 0 };
	struct registries_conf conf = { 0 };
	if (regconf_load(&conf, &err) < 0)
		return fail(&err);
	bool insecure = regconf_insecure(&conf, hostbuf);
	regconf_free(&conf);
	struct registry_client c;
	r = registry_client_open(&c, hostbuf, insecure, &f.ro, &err);
	if (r == 0)
		r = registry_check_login(&c, &err);
	registry_client_close(&c);
	char *written = NULL;
	struct registry_creds rc = { .username = user, .password = pass };
	if (r == 0)
		r = authfile_set(f.ro.authfile, hostbuf, &rc, &written, &err);
	explicit_bzero(creds, strlen(creds));
	explicit_bzero(pass, strlen(pass));
	free(written);
	if (r < 0)
		return fail(&err);
	printf("Login Succeeded!\n");
	return 0;
}

int cmd_logout(int argc, char **argv)
{
	static const struct option o[] = { { "all", no_argument, NULL, 'a' },
					   { "authfile", required_argument, NULL, OPT_AUTHFILE }, OPTION_HELP_ENTRY,
					   OPTION_END };
	static const struct command_options spec = { "logout", logout_usage, "+:a", o };
	struct login_flags f = { 0 };
	registry_opts_init(&f.ro);
	int r;
	if (!parse_options(&spec, argc, argv, login_opt, &f, &r))
		return r;
	if (f.all ? argc - optind != 0 : argc - optind != 1)
		return usage_error("logout", f.all ? "--all takes no registry" : "expected one registry (or --all)");
	const char *host = f.all ? NULL : argv[optind];
	if (host && !strncmp(host, "https://", 8))
		host += 8;
	if (host && !reference_valid_domain(host) && !strchr(host, '/'))
		return usage_error("logout", "invalid registry `%s`: expected HOST[:PORT]", host);
	struct diyc_error err = { 0 };
	r = authfile_remove(f.ro.authfile, host ? host : "", f.all, &err);
	if (r == -ENOENT && !f.all) {
		_cleanup_free_ char *e = str_escape_dup(host);
		diyc_error_plain(&err, ENOENT, "not logged in to %s", e ? e : "");
		return fail(&err);
	}
	if (r < 0 && r != -ENOENT)
		return fail(&err);
	if (f.all)
		printf("Removed login credentials for all registries\n");
	else
		printf("Removed login credentials for %s\n", host);
	return 0;
}

static const char push_usage[] =
	"Usage: diyc push [OPTIONS] IMAGE [DESTINATION]\n"
	"\n"
	"Push an image (NAME[:TAG] or id) to a registry: to DESTINATION (HOST[:PORT]/PATH[:TAG]),\n"
	"or to where its name says (tag it first with `diyc image tag`). Layers go as the exact\n"
	"tar streams they were made of, so the image pulled back has the same id; blobs the\n"
	"registry has already are not sent again.\n"
	"\n"
	"Options:\n"
	"  -q, --quiet            Print nothing but errors\n"
	"      --tls-verify[=BOOL] Verify the registry's TLS certificate (default true);\n"
	"                         false also lets diyc talk plain http to it\n"
	"      --authfile FILE    Credentials file\n"
	"      --creds USER[:PASS] Credentials for the registry\n"
	"      --retry N          Retries of a failed request (default 3)\n"
	"      --retry-delay D    Delay before the first retry, doubled after (default 1s)\n"
	"      --verbose          Print what diyc does\n"
	"      --help             Show this help\n"
	"\n"
	"Output: the digest of the manifest pushed.\n";

int cmd_push(int argc, char **argv)
{
	static const struct option o[] = { { "quiet", no_argument, NULL, 'q' }, REGISTRY_LONGOPTS, OPTION_HELP_ENTRY,
					   OPTION_VERBOSE_ENTRY, OPTION_END };
	static const struct command_options spec = { "push", push_usage, "+:q", o };
	struct pull_flags f = { 0 };
	registry_opts_init(&f.ro);
	int r;
	if (!parse_options(&spec, argc, argv, pull_opt, &f, &r))
		return r;
	int n = argc - optind;
	if (n < 1 || n > 2)
		return usage_error("push", "expected IMAGE [DESTINATION]");
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan;
	if (paths_init(&p, &err) < 0 || userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	bool tty = isatty(STDERR_FILENO) && !f.quiet;
	struct progress pg = { .out = stderr };
	struct registry_push_opts po = { .p = &p, .plan = &plan, .ro = &f.ro, .progress = tty ? progress_draw : NULL,
					 .progress_data = &pg, .cancel = &interrupted };
	struct registry_push_result res;
	struct sigaction old[3];
	catch_interrupts(old);
	r = registry_push(&po, argv[optind], n == 2 ? argv[optind + 1] : NULL, &res, &err);
	restore_interrupts(old);
	userns_plan_free(&plan);
	if (r < 0)
		return fail(&err);
	if (tty)
		fprintf(stderr, "Pushed %s\n", res.name);
	if (!f.quiet)
		printf("%s\n", res.digest);
	return 0;
}
