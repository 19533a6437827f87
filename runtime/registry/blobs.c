/* SPDX-License-Identifier: MIT */
/* blobs.c: an image's layers, downloaded several at once (libcurl's multi interface) and
 * each streamed, as it arrives, into a process that stores it (layer_import on a pipe):
 * download, sha256 of the blob, decompression, sha256 of the tar (the diff_id) and
 * extraction happen in one pass, with no copy of the compressed blob on disk.
 *
 * A transfer that fails or is cut is retried on its own, from where it stopped (Range:
 * bytes=N-, the Content-Range checked); a registry that ignores the range has the bytes
 * already taken skipped. The blob's size bounds what is read, and its digest is checked
 * before its pipe is closed: closing it is what lets the layer be stored. When anything
 * fails, every worker is killed before it could store a layer, and what they had begun is
 * removed: a failed or interrupted pull leaves only layers that were complete and checked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "blobs.h"
#include "image/layer.h"
#include "lib/child.h"
#include "lib/util.h"

#define MAX_ERROR_BODY (64 << 10)
#define MAX_REDIRECTS 10
#define PIPE_SIZE (1 << 20)

/* What a worker says of its layer, through its result pipe. */
struct worker_result {
	int ret;
	struct diyc_error err;
	char diff_id[DIGEST_HEX_LEN + 1];
	uint64_t size;
	bool created;
	unsigned skipped_devices;
};

enum xfer_state { X_QUEUED, X_ACTIVE, X_WAIT_RETRY, X_CLOSING, X_EXTRACTING, X_DONE };

struct xfer {
	struct layer_job *job;
	const struct blob_fetch *f;
	enum xfer_state st;
	CURL *h;
	struct curl_slist *hdrs;
	struct http_response resp;
	char url[2048];
	bool same_origin, renewed, range_checked;
	unsigned hops, attempt;
	int64_t retry_at;       /* monotonic ns */
	char retry_after[32];
	struct sha256 hash;
	uint64_t got, skip;     /* blob bytes fed; bytes of a full answer to skip */
	char *errbody;
	size_t errlen;
	char *pending;          /* bytes taken from libcurl that the pipe had no room for */
	size_t pend_len, pend_off;
	bool paused, resumed, too_long, range_lie, worker_gone;
	char range_seen[128];
	int pipe_w, result_r;
	pid_t worker, worker_pid_was;
};

static int64_t now_ns(void)
{
	return monotonic_ns();
}

/* -- the worker that stores one layer --------------------------------------------------------- */

static int spawn_worker(const struct blob_fetch *f, struct xfer *x, struct diyc_error *err)
{
	int data[2], res[2];
	if (pipe2(data, O_CLOEXEC) < 0)
		return diyc_error(err, errno, "pipe");
	if (pipe2(res, O_CLOEXEC) < 0) {
		close(data[0]);
		close(data[1]);
		return diyc_error(err, errno, "pipe");
	}
	fcntl(data[1], F_SETPIPE_SZ, PIPE_SIZE);
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		int e = errno;
		close(data[0]), close(data[1]), close(res[0]), close(res[1]);
		return diyc_error(err, e, "fork");
	}
	if (pid == 0) {
		/* its own process group: a terminal's ^C reaches diyc, which stops it cleanly,
		 * and a kill of the group reaches its extraction process too */
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		int keep[] = { data[0], res[1] };
		close_fds_except(keep, 2);
		signal(SIGPIPE, SIG_DFL);
		struct worker_result wr = { 0 };
		char src[200];
		snprintf(src, sizeof(src), "layer sha256:%.12s of %s/%s", x->job->desc->digest, f->c->host, f->name);
		struct layer_opts lo = {
			.src = src, .from_fd = true, .fd = data[0], .image_layer = true,
			.expect_diff_id = x->job->diff_id, .max_bytes = f->max_bytes,
			.skipped_devices = &wr.skipped_devices,
		};
		wr.ret = layer_import(f->p, f->plan, &lo, wr.diff_id, &wr.size, NULL, &wr.created, &wr.err);
		_exit(write_all(res[1], &wr, sizeof(wr)) < 0 ? 1 : 0);
	}
	setpgid(pid, pid);
	close(data[0]);
	close(res[1]);
	fcntl(data[1], F_SETFL, O_NONBLOCK);
	x->pipe_w = data[1];
	x->result_r = res[0];
	x->worker = x->worker_pid_was = pid;
	return 0;
}

/* Kills a worker (and its extraction) before it could store anything. */
static void kill_worker(struct xfer *x)
{
	if (x->worker > 0) {
		kill(-x->worker, SIGKILL);
		kill(x->worker, SIGKILL);
		int status;
		reap(x->worker, &status);
		x->worker = -1;
	}
	if (x->pipe_w >= 0)
		close(steal_fd(&x->pipe_w));
	if (x->result_r >= 0)
		close(steal_fd(&x->result_r));
}

/* -- libcurl's callbacks ------------------------------------------------------------------------ */

/* Where a 206's Content-Range starts: "bytes START-END/TOTAL" */
static bool range_starts_at(const char *cr, uint64_t at)
{
	unsigned long long start, end;
	return sscanf(cr, "bytes %llu-%llu", &start, &end) == 2 && start == at && end >= start;
}

static size_t xfer_write(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	if (x->resp.status != 200 && x->resp.status != 206) {
		/* an error or a redirect: its body says why, and is never layer data */
		size_t take = x->errlen + len > MAX_ERROR_BODY ? MAX_ERROR_BODY - x->errlen : len;
		char *nb = take ? realloc(x->errbody, x->errlen + take + 1) : x->errbody;
		if (take && nb) {
			memcpy(nb + x->errlen, buf, take);
			x->errbody = nb;
			x->errlen += take;
			nb[x->errlen] = '\0';
		}
		return len;
	}
	if (x->pend_off < x->pend_len) {
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (!x->range_checked) {
		x->range_checked = true;
		if (x->resp.status == 206 && !range_starts_at(x->resp.content_range, x->got)) {
			snprintf(x->range_seen, sizeof(x->range_seen), "%s", x->resp.content_range);
			x->range_lie = true;
			return 0;
		}
		/* a registry that ignores Range sends the blob from its start */
		x->skip = x->resp.status == 200 ? x->got : 0;
	}
	const char *data = buf;
	size_t take = len;
	if (x->skip) {
		size_t s = x->skip < take ? (size_t)x->skip : take;
		x->skip -= s;
		data += s;
		take -= s;
	}
	if (!take)
		return len;
	if (x->got + take > (uint64_t)x->job->desc->size) {
		x->too_long = true;
		return 0;
	}
	sha256_add(&x->hash, data, take);
	x->got += take;
	x->job->status->done = x->got;
	ssize_t w = write(x->pipe_w, data, take);
	if (w < 0 && errno != EAGAIN) {
		x->worker_gone = true;
		return 0;
	}
	if (w < 0)
		w = 0;
	if ((size_t)w < take) {
		char *p = malloc(take - w);
		if (!p)
			return 0;
		memcpy(p, data + w, take - w);
		free(x->pending);
		x->pending = p;
		x->pend_len = take - w;
		x->pend_off = 0;
	}
	return len;
}

/* -- one transfer ------------------------------------------------------------------------------ */

static int start_transfer(struct xfer *x, CURLM *multi, struct diyc_error *err)
{
	const struct blob_fetch *f = x->f;
	const struct curl_lib *C = f->c->C;
	char scope[600], auth[66 * 1024], range[64];
	snprintf(scope, sizeof(scope), "repository:%s:pull", f->name);
	if (!x->h && !(x->h = C->curl_easy_init()))
		return diyc_error(err, ENOMEM, "libcurl");
	C->curl_easy_reset(x->h);
	C->curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	auth[0] = '\0';
	if (x->same_origin) {
		int r = registry_auth_header(f->c, scope, auth, sizeof(auth), err);
		if (r < 0)
			return r;
	}
	if (auth[0])
		x->hdrs = C->curl_slist_append(x->hdrs, auth);
	explicit_bzero(auth, sizeof(auth));
	if (x->got) {
		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)x->got);
		x->hdrs = C->curl_slist_append(x->hdrs, range);
	}
	registry_easy_setup(f->c, x->h);
	if (x->same_origin)
		registry_easy_basic(f->c, x->h);
	C->curl_easy_setopt(x->h, CURLOPT_URL, x->url);
	C->curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	C->curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, registry_header_cb);
	C->curl_easy_setopt(x->h, CURLOPT_HEADERDATA, &x->resp);
	C->curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, xfer_write);
	C->curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	C->curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	free(x->errbody);
	x->errbody = NULL;
	x->errlen = 0;
	memset(&x->resp, 0, sizeof(x->resp));
	x->resp.content_length = -1;
	x->range_checked = x->range_lie = x->too_long = false;
	x->skip = 0;
	x->st = X_ACTIVE;
	x->job->status->state = LAYER_DOWNLOADING;
	if (C->curl_multi_add_handle(multi, x->h) != CURLM_OK)
		return diyc_error_plain(err, EIO, "libcurl could not start a transfer");
	return 0;
}

/* Where the blob is: the registry, or the first http(s) URL of a foreign layer (which gets
 * no credentials: it is not the registry). */
static int blob_url(struct xfer *x, struct diyc_error *err)
{
	const struct blob_fetch *f = x->f;
	char **urls = f->c->o->allow_foreign ? x->job->desc->urls : NULL;
	for (size_t i = 0; urls && urls[i]; i++) {
		if (strncmp(urls[i], "https://", 8) && strncmp(urls[i], "http://", 7))
			continue;
		char base[400];
		snprintf(base, sizeof(base), "%s/v2/", f->c->origin);
		return registry_redirect(f->c, base, urls[i], x->url, sizeof(x->url), &x->same_origin, err);
	}
	snprintf(x->url, sizeof(x->url), "%s/v2/%s/blobs/sha256:%s", f->c->origin, f->name, x->job->desc->digest);
	x->same_origin = true;
	return 0;
}

static int begin(struct xfer *x, CURLM *multi, struct diyc_error *err)
{
	const struct blob_fetch *f = x->f;
	int r = blob_url(x, err);
	if (r < 0)
		return r;
	sha256_begin(&x->hash);
	r = spawn_worker(f, x, err);
	return r < 0 ? r : start_transfer(x, multi, err);
}

/* A failure worth another try, or the last word. */
static int transient(struct xfer *x, const char *why, struct diyc_error *err)
{
	const struct blob_fetch *f = x->f;
	if (x->attempt >= f->c->o->retries)
		return diyc_error_plain(err, EIO, "layer sha256:%.12s of %s/%s: %s (after %u attempts)",
					x->job->desc->digest, f->c->host, f->name, why, x->attempt + 1);
	x->attempt++;
	diyc_debug("layer sha256:%.12s: %s; retry %u from byte %llu", x->job->desc->digest, why, x->attempt,
		   (unsigned long long)x->got);
	x->job->status->attempt = x->attempt;
	x->job->status->state = LAYER_RETRYING;
	double delay = registry_backoff_delay(f->c, x->attempt, x->resp.status == 429 ? x->resp.retry_after : NULL);
	x->retry_at = now_ns() + (int64_t)(delay * 1e9);
	x->st = X_WAIT_RETRY;
	/* after a redirect the retry asks the registry again */
	x->hops = 0;
	return blob_url(x, err);
}

/* The whole blob arrived: its digest decides whether the layer may be stored. */
static int complete(struct xfer *x, struct diyc_error *err)
{
	char got[DIGEST_HEX_LEN + 1];
	sha256_hex(&x->hash, got);
	if (strcmp(got, x->job->desc->digest))
		return diyc_error_plain(err, EBADMSG, "digest mismatch in layer sha256:%s of %s/%s: its bytes are "
					"sha256:%s", x->job->desc->digest, x->f->c->host, x->f->name, got);
	x->st = X_CLOSING;
	x->job->status->state = LAYER_EXTRACTING;
	return 0;
}

/* A transfer ended: done, redirected, to retry, or failed. */
static int transfer_done(struct xfer *x, CURLM *multi, CURLcode rc, struct diyc_error *err)
{
	const struct blob_fetch *f = x->f;
	const struct curl_lib *C = f->c->C;
	C->curl_multi_remove_handle(multi, x->h);
	const char *d = x->job->desc->digest;
	if (x->too_long)
		return diyc_error_plain(err, EBADMSG, "layer sha256:%.12s of %s/%s: the registry sent more than its %lld "
					"bytes", d, f->c->host, f->name, (long long)x->job->desc->size);
	if (x->worker_gone)
		return diyc_error_plain(err, EIO, "layer sha256:%.12s: the process storing it stopped", d);
	if (x->range_lie) {
		char why[300];
		_cleanup_free_ char *e = str_escape_dup(x->range_seen);
		snprintf(why, sizeof(why), "asked for bytes %llu-, the registry answered with Content-Range `%s`",
			 (unsigned long long)x->got, e ? e : "");
		return transient(x, why, err);
	}
	if (rc != CURLE_OK)
		return registry_curl_transient(rc) ? transient(x, C->curl_easy_strerror(rc), err)
			: diyc_error_plain(err, EIO, "layer sha256:%.12s of %s: %s", d, f->c->host, C->curl_easy_strerror(rc));
	long s = x->resp.status;
	if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
		if (++x->hops > MAX_REDIRECTS)
			return diyc_error_plain(err, ELOOP, "layer sha256:%.12s of %s: more than %d redirects (a redirect "
						"loop?)", d, f->c->host, MAX_REDIRECTS);
		char next[2048], from[2048];
		bool same = false;
		snprintf(from, sizeof(from), "%s", x->url);
		int r = registry_redirect(f->c, from, x->resp.location, next, sizeof(next), &same, err);
		if (r < 0)
			return r;
		snprintf(x->url, sizeof(x->url), "%s", next);
		/* credentials never follow a redirect to another origin, nor come back after one */
		x->same_origin = x->same_origin && same;
		return start_transfer(x, multi, err);
	}
	if (s == 401 && x->same_origin && !x->renewed) {
		x->renewed = true;
		char scope[600];
		snprintf(scope, sizeof(scope), "repository:%s:pull", f->name);
		registry_auth_reset(f->c, scope, x->resp.www_auth);
		return start_transfer(x, multi, err);
	}
	if (s == 200 || s == 206) {
		if (x->got == (uint64_t)x->job->desc->size)
			return complete(x, err);
		char why[128];
		snprintf(why, sizeof(why), "the transfer ended after %llu of %lld bytes", (unsigned long long)x->got,
			 (long long)x->job->desc->size);
		return transient(x, why, err);
	}
	struct http_response er = x->resp;
	er.body = x->errbody;
	er.len = x->errlen;
	char why[700];
	registry_describe_status(&er, why, sizeof(why));
	if (s >= 500 || s == 429 || s == 408)
		return transient(x, why, err);
	return diyc_error_plain(err, s == 404 ? ENOENT : s == 401 || s == 403 ? EACCES : EPROTO,
				"layer sha256:%.12s of %s/%s: the registry answered %s", d, f->c->host, f->name, why);
}

/* Moves pending bytes into the pipe; closes it once a complete blob is all in. */
static int flush(struct xfer *x, struct diyc_error *err)
{
	while (x->pend_off < x->pend_len) {
		ssize_t w = write(x->pipe_w, x->pending + x->pend_off, x->pend_len - x->pend_off);
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0)
			return diyc_error_plain(err, EIO, "layer sha256:%.12s: the process storing it stopped",
						x->job->desc->digest);
		x->pend_off += (size_t)w;
	}
	if (x->paused) {
		x->paused = false;
		x->resumed = true;
		x->f->c->C->curl_easy_pause(x->h, CURLPAUSE_CONT);
	}
	if (x->st == X_CLOSING && x->pend_off >= x->pend_len) {
		close(steal_fd(&x->pipe_w));
		x->st = X_EXTRACTING;
	}
	return 0;
}

/* The worker's word on its layer. */
static int collect(struct xfer *x, struct diyc_error *err)
{
	struct worker_result wr;
	ssize_t n = read(x->result_r, &wr, sizeof(wr));
	if (n < 0 && errno == EAGAIN)
		return 0;
	close(steal_fd(&x->result_r));
	int status;
	reap(x->worker, &status);
	x->worker = -1;
	x->st = X_DONE;
	if (n != (ssize_t)sizeof(wr))
		return diyc_error_plain(err, EIO, "layer sha256:%.12s: the process storing it failed",
					x->job->desc->digest);
	if (wr.ret < 0) {
		*err = wr.err;
		return wr.ret;
	}
	layer_warn_skipped_devices(wr.skipped_devices);
	x->job->size = wr.size;
	x->job->created = wr.created;
	x->job->status->state = LAYER_DONE;
	return 0;
}

/* -- the loop ----------------------------------------------------------------------------------- */

static bool busy(const struct xfer *x)
{
	return x->st == X_ACTIVE || x->st == X_WAIT_RETRY || x->st == X_CLOSING || x->st == X_EXTRACTING;
}

/* One turn: start what may start, let libcurl move data, handle what ended, move pending
 * bytes into pipes, then wait for sockets, pipes and workers. The fds waited for are taken
 * after libcurl ran: a transfer it just paused waits for its pipe, not for its socket. */
static int turn(const struct blob_fetch *f, CURLM *multi, struct xfer *xs, size_t n, size_t *next,
		struct diyc_error *err)
{
	const struct curl_lib *C = f->c->C;
	size_t running = 0;
	for (size_t i = 0; i < n; i++)
		running += busy(&xs[i]);
	while (running < f->c->o->parallel && *next < n) {
		int r = begin(&xs[(*next)++], multi, err);
		if (r < 0)
			return r;
		running++;
	}
	int timeout = 200;
	int64_t now = now_ns();
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		if (x->st != X_WAIT_RETRY)
			continue;
		int64_t ms = (x->retry_at - now) / 1000000;
		if (ms <= 0) {
			int r = start_transfer(x, multi, err);
			if (r < 0)
				return r;
		} else if (ms < timeout) {
			timeout = (int)ms;
		}
	}
	int still;
	C->curl_multi_perform(multi, &still);
	CURLMsg *m;
	int left;
	while ((m = C->curl_multi_info_read(multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		C->curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		int r = transfer_done(x, multi, m->data.result, err);
		if (r < 0)
			return r;
	}
	struct curl_waitfd wfd[64];
	unsigned nw = 0;
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		int r = 0;
		if (x->pipe_w >= 0 && (x->pend_off < x->pend_len || x->st == X_CLOSING))
			r = flush(x, err);
		if (r == 0 && x->st == X_EXTRACTING) {
			struct pollfd p = { .fd = x->result_r, .events = POLLIN };
			if (poll(&p, 1, 0) > 0) {
				r = collect(x, err);
				/* its place goes to the next layer at once */
				timeout = 0;
			}
		}
		if (r < 0)
			return r;
		if (nw < 64 && x->pipe_w >= 0 && x->pend_off < x->pend_len)
			wfd[nw++] = (struct curl_waitfd){ .fd = x->pipe_w, .events = CURL_WAIT_POLLOUT };
		if (nw < 64 && x->st == X_EXTRACTING)
			wfd[nw++] = (struct curl_waitfd){ .fd = x->result_r, .events = CURL_WAIT_POLLIN };
		/* a transfer unpaused by flush() has data to hand over at once */
		if (x->st == X_ACTIVE && !x->paused && x->pend_off >= x->pend_len && x->resumed) {
			x->resumed = false;
			timeout = 0;
		}
	}
	C->curl_multi_poll(multi, wfd, nw, timeout, NULL);
	return 0;
}

/* After a failure: the transfers stopped, the workers killed, what they began removed. */
static void abort_all(const struct blob_fetch *f, CURLM *multi, struct xfer *xs, size_t n)
{
	bool killed = false;
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		if (x->h && x->st == X_ACTIVE)
			f->c->C->curl_multi_remove_handle(multi, x->h);
		killed |= x->worker > 0;
		kill_worker(x);
	}
	/* the killed extractions let go of their directories a moment later */
	for (int tries = 0; killed && tries < 20; tries++) {
		image_clean_leftovers(f->p, f->plan);
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/layers", f->p->data);
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *de;
		bool left = false;
		while (d && (de = readdir(d)))
			for (size_t i = 0; i < n && !left; i++) {
				char prefix[32];
				snprintf(prefix, sizeof(prefix), ".tmp-%d-", (int)xs[i].worker_pid_was);
				left = xs[i].worker_pid_was > 0 && str_has_prefix(de->d_name, prefix);
			}
		if (!left)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int blobs_fetch_layers(const struct blob_fetch *f, struct layer_job *jobs, size_t n, struct diyc_error *err)
{
	const struct curl_lib *C = f->c->C;
	if (!n)
		return 0;
	struct xfer *xs = calloc(n, sizeof(*xs));
	CURLM *multi = C->curl_multi_init();
	if (!xs || !multi) {
		free(xs);
		if (multi)
			C->curl_multi_cleanup(multi);
		return diyc_error(err, ENOMEM, "transfers");
	}
	for (size_t i = 0; i < n; i++) {
		xs[i] = (struct xfer){ .job = &jobs[i], .f = f, .pipe_w = -1, .result_r = -1, .worker = -1 };
		jobs[i].status->state = LAYER_WAITING;
		jobs[i].status->total = (uint64_t)jobs[i].desc->size;
	}
	/* a worker that died makes a write fail with EPIPE, not kill diyc */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGPIPE, &ign, &old);
	size_t next = 0;
	int r = 0;
	int64_t last_tick = 0;
	for (;;) {
		if (f->cancel && *f->cancel) {
			r = diyc_error_plain(err, EINTR, "the pull was interrupted");
			break;
		}
		if ((r = turn(f, multi, xs, n, &next, err)) < 0)
			break;
		size_t done = 0;
		for (size_t i = 0; i < n; i++)
			done += xs[i].st == X_DONE;
		if (f->tick && (done == n || now_ns() - last_tick > 100 * 1000 * 1000)) {
			f->tick(f->tick_data);
			last_tick = now_ns();
		}
		if (done == n)
			break;
	}
	if (r < 0)
		abort_all(f, multi, xs, n);
	sigaction(SIGPIPE, &old, NULL);
	for (size_t i = 0; i < n; i++) {
		if (xs[i].h)
			C->curl_easy_cleanup(xs[i].h);
		C->curl_slist_free_all(xs[i].hdrs);
		free(xs[i].errbody);
		free(xs[i].pending);
		if (xs[i].pipe_w >= 0)
			close(xs[i].pipe_w);
		if (xs[i].result_r >= 0)
			close(xs[i].result_r);
	}
	C->curl_multi_cleanup(multi);
	free(xs);
	return r;
}
