/* SPDX-License-Identifier: MIT */
/* authfile-helper.c: docker's credential helpers, docker-credential-NAME get|store|erase,
 * as docker runs them: the server on stdin (JSON for store), JSON on stdout, "credentials
 * not found" for nothing. The helper runs with a deadline, its stderr goes nowhere (it is
 * the helper's, and could be anything), and what passes through the pipes is wiped. */
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "authfile-internal.h"
#include "authfile.h"
#include "lib/child.h"
#include "lib/util.h"

#ifndef HELPER_TIMEOUT_MS /* a test may shorten it */
#define HELPER_TIMEOUT_MS 30000
#endif
#define HELPER_MAX_OUTPUT (1 << 20)
#define DOCKER_HUB_SERVER "https://index.docker.io/v1/"

static const char *server_of(const char *host)
{
	return strcmp(host, "docker.io") ? host : DOCKER_HUB_SERVER;
}

static int helper_path(const char *name, char **out, struct diyc_error *err)
{
	_cleanup_free_ char *e = str_escape_dup(name);
	if (!*name || name[0] == '.' || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(name))
		return diyc_error_plain(err, EINVAL, "`%s` is no credential helper name", e ? e : "?");
	_cleanup_free_ char *prog = xasprintf("docker-credential-%s", name);
	if (!prog)
		return diyc_error(err, ENOMEM, "docker-credential-%s", e ? e : "?");
	*out = find_in_path(prog, getenv("PATH"));
	if (!*out)
		return diyc_error_plain(err, ENOEXEC, "the credential helper docker-credential-%s is not in PATH",
					e ? e : "?");
	return 0;
}

static pid_t spawn(const char *path, const char *verb, int in, int out)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* not a process group of its own: a helper may ask for a passphrase on the terminal
	 * (pass, through gpg), which a background group could not read */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || null < 0 || dup2(null, 2) < 0)
		_exit(127);
	/* only async-signal-safe calls here: the caller may have threads (curl's resolver) */
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl(path, path, verb, (char *)NULL);
	_exit(127);
}

/* Feeds in to fd w (then shuts it) and reads fd r into *out until EOF or the deadline. */
static int exchange(int w, int r, const char *in, size_t in_len, char **out, size_t *out_len)
{
	size_t cap = 4096, n = 0, sent = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int64_t deadline = monotonic_ns() + (int64_t)HELPER_TIMEOUT_MS * 1000000;
	bool wopen = true;
	int ret = 0;
	for (;;) {
		if (wopen && sent == in_len) {
			shutdown(w, SHUT_WR);
			wopen = false;
		}
		struct pollfd p[2] = { { .fd = r, .events = POLLIN }, { .fd = wopen ? w : -1, .events = POLLOUT } };
		int64_t left = (deadline - monotonic_ns()) / 1000000;
		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (wopen && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t k = send(w, in + sent, in_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k < 0 && errno != EAGAIN && errno != EINTR)
				sent = in_len; /* the helper does not read: its answer says why */
			else if (k > 0)
				sent += k;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (n + 1 >= cap) {
			char *nb = cap >= HELPER_MAX_OUTPUT ? NULL : realloc(buf, cap * 2);
			if (!nb) {
				ret = cap >= HELPER_MAX_OUTPUT ? -EFBIG : -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(r, buf + n, cap - n - 1);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			ret = k < 0 ? -errno : 0;
			break;
		}
		n += k;
	}
	buf[n] = '\0';
	if (ret < 0) {
		explicit_bzero(buf, n);
		return ret;
	}
	*out = steal_ptr(buf);
	*out_len = n;
	return 0;
}

/* Runs docker-credential-NAME VERB with in on its stdin: 0 with *out its stdout, *status its
 * exit status. */
static int helper_run(const char *name, const char *verb, const char *in, char **out, int *status,
		      struct diyc_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = helper_path(name, &path, err);
	if (r < 0)
		return r;
	int sv[2];
	_cleanup_fd_pair_ struct fd_pair pout = FD_PAIR_INIT;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return diyc_error(err, errno, "running %s", path);
	_cleanup_fd_pair_ struct fd_pair pin = { { sv[0], sv[1] } };
	if ((r = fd_pair_pipe(&pout, O_CLOEXEC)) < 0)
		return diyc_error(err, -r, "running %s", path);
	_cleanup_child_ pid_t pid = spawn(path, verb, pin.fd[1], pout.fd[1]);
	if (pid < 0)
		return diyc_error(err, errno, "running %s", path);
	close(steal_fd(&pin.fd[1]));
	close(steal_fd(&pout.fd[1]));
	size_t len;
	r = exchange(pin.fd[0], pout.fd[0], in, strlen(in), out, &len);
	if (r == -EFBIG)
		return diyc_error_plain(err, EFBIG, "%s %s answered more than %d bytes", path, verb, HELPER_MAX_OUTPUT);
	if (r == -ETIMEDOUT)
		return diyc_error_plain(err, ETIMEDOUT, "%s %s did not answer within %d s", path, verb,
					HELPER_TIMEOUT_MS / 1000);
	if (r < 0)
		return diyc_error(err, -r, "reading what %s %s answered", path, verb);
	if (reap(disarm_child(&pid), status) < 0) {
		int e = errno;
		explicit_bzero(*out, len);
		free(steal_ptr(*out));
		return diyc_error(err, e, "waiting for %s", path);
	}
	return 0;
}

/* A failed helper's message (its first line, escaped), for the error: never a secret, as a
 * helper that fails answers with what went wrong. */
static int helper_failed(const char *name, const char *verb, const char *out, int status, struct diyc_error *err)
{
	char line[200];
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(out, "\r\n"), out);
	_cleanup_free_ char *e = str_escape_dup(line), *n = str_escape_dup(name);
	if (WIFEXITED(status))
		return diyc_error_plain(err, EIO, "docker-credential-%s %s failed (exit status %d)%s%s", n ? n : "?", verb,
					WEXITSTATUS(status), *line ? ": " : "", e ? e : "");
	return diyc_error_plain(err, EIO, "docker-credential-%s %s was killed by signal %d", n ? n : "?", verb,
				WTERMSIG(status));
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int parse_get(const char *name, char *out, struct registry_creds *c, struct diyc_error *err)
{
	struct json_object *j = json_tokener_parse(out);
	struct json_object *u = NULL, *s = NULL;
	if (!j || !json_object_object_get_ex(j, "Username", &u) || !json_object_object_get_ex(j, "Secret", &s) ||
	    !json_object_is_type(s, json_type_string)) {
		json_object_put(j);
		_cleanup_free_ char *n = str_escape_dup(name);
		return diyc_error_plain(err, EIO, "docker-credential-%s get did not answer with Username and Secret",
					n ? n : "?");
	}
	const char *user = json_object_get_string(u), *secret = json_object_get_string(s);
	memset(c, 0, sizeof(*c));
	bool token = user && !strcmp(user, "<token>");
	if (!token)
		c->username = strdup(user ? user : "");
	char *dup = strdup(secret);
	if (token)
		c->identity_token = dup;
	else
		c->password = dup;
	if (json_object_get_string_len(s))
		explicit_bzero((char *)secret, json_object_get_string_len(s));
	json_object_put(j);
	if (!dup || (!token && !c->username)) {
		registry_creds_free(c);
		return diyc_error(err, ENOMEM, "docker-credential-%s", name);
	}
	if (!dup[0]) {
		registry_creds_free(c);
		return -ENOENT;
	}
	return 0;
}

int authfile_helper_get(const char *name, const char *host, struct registry_creds *c, struct diyc_error *err)
{
	char *out = NULL;
	int status;
	int r = helper_run(name, "get", server_of(host), &out, &status, err);
	if (r < 0)
		return r;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		r = parse_get(name, out, c, err);
	else if (strstr(out, "credentials not found"))
		r = -ENOENT;
	else
		r = helper_failed(name, "get", out, status, err);
	wipe_free(out);
	return r;
}

int authfile_helper_store(const char *name, const char *host, const struct registry_creds *c, struct diyc_error *err)
{
	bool token = c->username && !strcmp(c->username, "<token>");
	const char *secret = token && c->identity_token ? c->identity_token : c->password;
	struct json_object *j = json_object_new_object();
	if (!j || json_object_object_add(j, "ServerURL", json_object_new_string(server_of(host))) < 0 ||
	    json_object_object_add(j, "Username", json_object_new_string(c->username ? c->username : "")) < 0 ||
	    json_object_object_add(j, "Secret", json_object_new_string(secret ? secret : "")) < 0) {
		json_object_put(j);
		return diyc_error(err, ENOMEM, "docker-credential-%s", name);
	}
	char *in = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	if (!in)
		return diyc_error(err, ENOMEM, "docker-credential-%s", name);
	char *out = NULL;
	int status;
	int r = helper_run(name, "store", in, &out, &status, err);
	wipe_free(in);
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = helper_failed(name, "store", out, status, err);
	wipe_free(out);
	return r;
}

int authfile_helper_erase(const char *name, const char *host, struct diyc_error *err)
{
	char *out = NULL;
	int status;
	int r = helper_run(name, "erase", server_of(host), &out, &status, err);
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = strstr(out, "credentials not found") ? -ENOENT : helper_failed(name, "erase", out, status, err);
	wipe_free(out);
	return r;
}
