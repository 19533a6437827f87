/* SPDX-License-Identifier: MIT */
/* client.c: requests to one registry (distribution-spec 1.1) through libcurl.
 *
 * Authentication follows the registry's challenge on GET /v2/: none, Basic with the stored
 * credentials, or Bearer tokens from the realm it names (docker's token protocol: a GET
 * with Basic credentials or none, or the OAuth2 POST with a refresh token). Tokens are kept
 * per scope until they expire and asked for again after a 401. A realm that is not https is
 * refused unless the registry itself is insecure: a token request carries the password.
 *
 * Redirects are followed here, never by libcurl, so that the registry's Authorization goes
 * only to the registry's own origin (scheme, host and port): a blob redirected to a
 * storage host gets no credentials. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "client.h"
#include "image/sources.h"
#include "lib/util.h"

#define MAX_REDIRECTS 10
#define MAX_TOKEN_BODY (1 << 20)
#define MAX_ERROR_BODY (64 << 10)

void registry_opts_init(struct registry_opts *o)
{
	*o = (struct registry_opts){ .tls_verify = -1, .retries = 3, .parallel = 3, .retry_delay = 1,
				     .stall_timeout = 30 };
	const char *d = getenv("DIYC_REGISTRY_RETRY_DELAY"), *t = getenv("DIYC_REGISTRY_STALL_TIMEOUT");
	const char *par = getenv("DIYC_REGISTRY_PARALLEL");
	if (par && *par) {
		char *end;
		long v = strtol(par, &end, 10);
		if (!*end && v >= 1 && v <= 16)
			o->parallel = (unsigned)v;
	}
	if (d && *d) {
		char *end;
		double v = strtod(d, &end);
		if (!*end && v >= 0 && v <= 600)
			o->retry_delay = v;
	}
	if (t && *t) {
		char *end;
		long v = strtol(t, &end, 10);
		if (!*end && v > 0 && v <= 3600)
			o->stall_timeout = v;
	}
}

void http_response_free(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

int registry_client_open(struct registry_client *c, const char *host, bool insecure, const struct registry_opts *o,
			 struct diyc_error *err)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	if (!(c->C = curl_lib(err)))
		return -ENOENT;
	if (strlen(host) >= sizeof(c->host))
		return diyc_error_plain(err, EINVAL, "registry name `%.60s...` is too long", host);
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->insecure = o->tls_verify == 0 || (o->tls_verify < 0 && insecure);
	int r = certsd_find(host, &c->tls, err);
	if (r < 0)
		return diyc_error_wrap(err, "TLS files of registry %s", host);
	if (!(c->easy = c->C->curl_easy_init()))
		return diyc_error(err, ENOMEM, "libcurl");
	return 0;
}

void registry_client_close(struct registry_client *c)
{
	if (c->C && c->easy)
		c->C->curl_easy_cleanup(c->easy);
	for (size_t i = 0; i < c->n_tokens; i++) {
		free(c->tokens[i].scope);
		if (c->tokens[i].token)
			explicit_bzero(c->tokens[i].token, strlen(c->tokens[i].token));
		free(c->tokens[i].token);
	}
	free(c->tokens);
	free(c->realm);
	free(c->service);
	registry_creds_free(&c->creds);
	registry_tls_free(&c->tls);
	memset(c, 0, sizeof(*c));
}

/* -- responses ------------------------------------------------------------------------------ */

static void header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return;
	const char *v = line + n + 1;
	size_t vl = len - n - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (vl >= size)
		vl = size - 1;
	memcpy(out, v, vl);
	out[vl] = '\0';
}

size_t registry_header_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct http_response *r = arg;
	size_t len = size * n;
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after a 100 Continue): forget the last one's headers */
		char *body = r->body;
		size_t blen = r->len;
		memset(r, 0, sizeof(*r));
		r->body = body;
		r->len = blen;
		r->content_length = -1;
		const char *sp = memchr(buf, ' ', len);
		if (sp)
			r->status = strtol(sp + 1, NULL, 10);
		return len;
	}
	char cl[32] = "";
	header_value(buf, len, "Content-Type", r->content_type, sizeof(r->content_type));
	header_value(buf, len, "Docker-Content-Digest", r->digest, sizeof(r->digest));
	header_value(buf, len, "WWW-Authenticate", r->www_auth, sizeof(r->www_auth));
	header_value(buf, len, "Location", r->location, sizeof(r->location));
	header_value(buf, len, "Content-Range", r->content_range, sizeof(r->content_range));
	header_value(buf, len, "Retry-After", r->retry_after, sizeof(r->retry_after));
	header_value(buf, len, "RateLimit-Limit", r->ratelimit_limit, sizeof(r->ratelimit_limit));
	header_value(buf, len, "RateLimit-Remaining", r->ratelimit_remaining, sizeof(r->ratelimit_remaining));
	header_value(buf, len, "Docker-Upload-UUID", r->upload_uuid, sizeof(r->upload_uuid));
	header_value(buf, len, "Content-Length", cl, sizeof(cl));
	if (cl[0]) {
		char *end;
		long long v = strtoll(cl, &end, 10);
		r->content_length = (!*end && v >= 0) ? v : -1;
	}
	return len;
}

struct body_sink {
	struct http_response *resp;
	size_t max;
	bool too_big;
};

static size_t body_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct body_sink *s = arg;
	size_t len = size * n;
	if (s->resp->len + len > s->max) {
		s->too_big = true;
		return 0;
	}
	char *nb = realloc(s->resp->body, s->resp->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + s->resp->len, buf, len);
	s->resp->body = nb;
	s->resp->len += len;
	nb[s->resp->len] = '\0';
	return len;
}

/* distribution's error body: {"errors":[{"code":"...","message":"..."}]} */
static void describe_errors(const struct http_response *r, char *out, size_t size)
{
	out[0] = '\0';
	if (!r->body || !r->len)
		return;
	struct json_object *j = json_parse_text(r->body, r->len, json_type_object), *errs;
	if (j && json_object_object_get_ex(j, "errors", &errs) && json_object_is_type(errs, json_type_array) &&
	    json_object_array_length(errs) > 0) {
		struct json_object *e = json_object_array_get_idx(errs, 0), *code, *msg;
		const char *cs = json_object_object_get_ex(e, "code", &code) ? json_object_get_string(code) : NULL;
		const char *ms = json_object_object_get_ex(e, "message", &msg) ? json_object_get_string(msg) : NULL;
		_cleanup_free_ char *ec = cs ? str_escape_dup(cs) : NULL, *em = ms ? str_escape_dup(ms) : NULL;
		snprintf(out, size, "%s%s%s", ec ? ec : "", ec && em ? ": " : "", em ? em : "");
	}
	json_object_put(j);
}

static const char *status_text(long s)
{
	switch (s) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

void registry_describe_status(const struct http_response *r, char *out, size_t size)
{
	char errs[512];
	describe_errors(r, errs, sizeof(errs));
	int n = snprintf(out, size, "%ld%s%s%s%s", r->status, *status_text(r->status) ? " " : "",
			 status_text(r->status), errs[0] ? ": " : "", errs);
	if (r->status == 429 && n > 0 && (size_t)n < size) {
		_cleanup_free_ char *ra = str_escape_dup(r->retry_after), *lim = str_escape_dup(r->ratelimit_limit),
				    *rem = str_escape_dup(r->ratelimit_remaining);
		snprintf(out + n, size - n, " (the registry limits how often it may be asked%s%s%s%s%s%s%s)",
			 ra && *ra ? "; retry after " : "", ra && *ra ? ra : "", ra && *ra ? " s" : "",
			 lim && *lim ? "; RateLimit-Limit " : "", lim && *lim ? lim : "",
			 rem && *rem ? "; RateLimit-Remaining " : "", rem && *rem ? rem : "");
	}
}

bool registry_curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

double registry_backoff_delay(const struct registry_client *c, unsigned attempt, const char *retry_after)
{
	double delay = c->o->retry_delay;
	for (unsigned i = 1; i < attempt && delay < 60; i++)
		delay *= 2;
	if (retry_after && *retry_after) {
		char *end;
		long v = strtol(retry_after, &end, 10);
		if (!*end && v >= 0)
			delay = v > 60 ? 60 : (double)v;
	}
	return delay > 60 ? 60 : delay;
}

void registry_backoff(const struct registry_client *c, unsigned attempt, const char *retry_after)
{
	double delay = registry_backoff_delay(c, attempt, retry_after);
	struct timespec ts = { .tv_sec = (time_t)delay, .tv_nsec = (long)((delay - (time_t)delay) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void registry_easy_setup(struct registry_client *c, CURL *h)
{
	const struct curl_lib *C = c->C;
	C->curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	C->curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	C->curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a peer that trickles (a slow-loris body) is as stuck as one that sends nothing */
	C->curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1000L);
	C->curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->o->stall_timeout);
	C->curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	C->curl_easy_setopt(h, CURLOPT_USERAGENT, "diyc/" DIYC_VERSION);
	/* the registry answers compressed layers as they are: no transfer decoding */
	C->curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	if (c->insecure) {
		C->curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		C->curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->tls.ca_pem) {
		struct curl_blob blob = { .data = c->tls.ca_pem, .len = c->tls.ca_len, .flags = CURL_BLOB_NOCOPY };
		C->curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->tls.cert_path && c->tls.key_path) {
		C->curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls.cert_path);
		C->curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls.key_path);
	}
}

void registry_easy_basic(struct registry_client *c, CURL *h)
{
	if (c->auth != AUTH_BASIC || !c->have_creds)
		return;
	c->C->curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	c->C->curl_easy_setopt(h, CURLOPT_USERNAME, c->creds.username);
	c->C->curl_easy_setopt(h, CURLOPT_PASSWORD, c->creds.password ? c->creds.password : "");
}

/* scheme://host[:port] of a URL, lowercase scheme and host, with the default port */
static int url_origin(const struct curl_lib *C, const char *url, char *out, size_t size)
{
	CURLU *u = C->curl_url();
	if (!u)
		return -ENOMEM;
	char *scheme = NULL, *host = NULL, *port = NULL;
	int r = -EINVAL;
	if (C->curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    C->curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    C->curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    C->curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		for (char *p = host; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		snprintf(out, size, "%s://%s:%s", scheme, host, port);
		r = 0;
	}
	C->curl_free(scheme);
	C->curl_free(host);
	C->curl_free(port);
	C->curl_url_cleanup(u);
	return r;
}

int registry_redirect(struct registry_client *c, const char *from, const char *location, char *out, size_t size,
		      bool *same_origin, struct diyc_error *err)
{
	const struct curl_lib *C = c->C;
	_cleanup_free_ char *eloc = str_escape_dup(location);
	CURLU *u = C->curl_url();
	char *full = NULL;
	if (!u)
		return diyc_error(err, ENOMEM, "libcurl");
	int r = 0;
	if (C->curl_url_set(u, CURLUPART_URL, from, 0) != CURLUE_OK ||
	    C->curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK ||
	    C->curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
		r = diyc_error_plain(err, EPROTO, "the registry %s redirected to `%s`, which is not a URL", c->host,
				     eloc ? eloc : "");
	C->curl_url_cleanup(u);
	if (r < 0)
		return r;
	if (strlen(full) >= size) {
		C->curl_free(full);
		return diyc_error_plain(err, EPROTO, "the registry %s redirected to a URL of more than %zu bytes", c->host,
					size);
	}
	snprintf(out, size, "%s", full);
	C->curl_free(full);
	if (strncmp(out, "https://", 8) && strncmp(out, "http://", 7))
		return diyc_error_plain(err, EPROTO, "the registry %s redirected to `%s`, which is neither http nor https",
					c->host, eloc ? eloc : "");
	if (!strncmp(from, "https://", 8) && !strncmp(out, "http://", 7) && !c->insecure)
		return diyc_error_plain(err, EPROTO, "the registry %s redirected from https to plain http (`%s`): "
					"refused", c->host, eloc ? eloc : "");
	char a[320], b[320];
	*same_origin = url_origin(C, out, a, sizeof(a)) == 0 && url_origin(C, c->origin, b, sizeof(b)) == 0 &&
		       !strcmp(a, b);
	return 0;
}

/* -- auth challenges and tokens -------------------------------------------------------------- */

/* The value of one auth-param of a challenge (`KEY="VALUE"` or KEY=TOKEN), malloc'd. */
static char *challenge_param(const char *ch, const char *key)
{
	size_t kl = strlen(key);
	const char *p = ch;
	while ((p = strcasestr(p, key))) {
		bool starts = p == ch || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
		const char *q = p + kl;
		while (*q == ' ')
			q++;
		if (!starts || *q != '=') {
			p += kl;
			continue;
		}
		q++;
		while (*q == ' ')
			q++;
		char *out = malloc(strlen(q) + 1), *o = out;
		if (!out)
			return NULL;
		if (*q == '"') {
			for (q++; *q && *q != '"'; q++) {
				if (*q == '\\' && q[1])
					q++;
				*o++ = *q;
			}
		} else {
			while (*q && *q != ',' && *q != ' ')
				*o++ = *q++;
		}
		*o = '\0';
		return out;
	}
	return NULL;
}

/* Takes the registry's challenge (from GET /v2/ or a 401). */
static int take_challenge(struct registry_client *c, const char *www_auth, struct diyc_error *err)
{
	if (!strncasecmp(www_auth, "Basic", 5)) {
		c->auth = AUTH_BASIC;
		return 0;
	}
	if (strncasecmp(www_auth, "Bearer", 6))
		return diyc_error_plain(err, ENOTSUP, "the registry %s asks for an authentication scheme diyc does not "
					"know (`%.40s`)", c->host, www_auth);
	_cleanup_free_ char *realm = challenge_param(www_auth + 6, "realm");
	if (!realm || !*realm)
		return diyc_error_plain(err, EPROTO, "the registry %s asks for a token but names no realm", c->host);
	if (strncmp(realm, "https://", 8) && !(c->insecure && !strncmp(realm, "http://", 7))) {
		_cleanup_free_ char *er = str_escape_dup(realm);
		return diyc_error_plain(err, EPROTO, "the registry %s names the token server `%s`, which is not https: "
					"diyc does not send credentials or token requests in the clear (only to a "
					"registry marked insecure)", c->host, er ? er : "");
	}
	free(c->realm);
	free(c->service);
	c->realm = steal_ptr(realm);
	c->service = challenge_param(www_auth + 6, "service");
	c->auth = AUTH_BEARER;
	return 0;
}

/* The user's credentials for the registry: --creds, else the auth files (once). */
static int load_creds(struct registry_client *c, struct diyc_error *err)
{
	if (c->creds_looked_up)
		return 0;
	c->creds_looked_up = true;
	if (c->o->creds) {
		const char *colon = strchr(c->o->creds, ':');
		c->creds.username = colon ? strndup(c->o->creds, colon - c->o->creds) : strdup(c->o->creds);
		c->creds.password = strdup(colon ? colon + 1 : "");
		c->have_creds = c->creds.username && c->creds.password;
		return c->have_creds ? 0 : diyc_error(err, ENOMEM, "credentials");
	}
	char repo[600];
	snprintf(repo, sizeof(repo), "%s%s%s", c->host, c->creds_repo ? "/" : "", c->creds_repo ? c->creds_repo : "");
	int r = authfile_get(c->o->authfile, repo, &c->creds, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	c->have_creds = true;
	return 0;
}

static struct registry_token *find_token(struct registry_client *c, const char *scope)
{
	for (size_t i = 0; i < c->n_tokens; i++)
		if (!strcmp(c->tokens[i].scope, scope ? scope : ""))
			return &c->tokens[i];
	return NULL;
}

static int64_t parse_issued_at(const char *s)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end)
		return time(NULL);
	return (int64_t)timegm(&tm);
}

/* The token endpoint's answer: {"token"|"access_token", "expires_in", "issued_at"}. */
static int take_token(struct registry_client *c, const char *scope, const struct http_response *resp,
		      struct diyc_error *err)
{
	struct json_object *j = json_parse_text(resp->body ? resp->body : "", resp->len, json_type_object), *v;
	const char *tok = NULL;
	if (j && json_object_object_get_ex(j, "token", &v) && json_object_is_type(v, json_type_string))
		tok = json_object_get_string(v);
	if ((!tok || !*tok) && j && json_object_object_get_ex(j, "access_token", &v) &&
	    json_object_is_type(v, json_type_string))
		tok = json_object_get_string(v);
	if (!tok || !*tok || strpbrk(tok, "\r\n") || strlen(tok) > 64 * 1024) {
		json_object_put(j);
		return diyc_error_plain(err, EPROTO, "the token server of %s answered without a usable token", c->host);
	}
	int64_t expires_in = 60;
	if (json_object_object_get_ex(j, "expires_in", &v) && json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) > 60)
		expires_in = json_object_get_int64(v);
	const char *issued = json_object_object_get_ex(j, "issued_at", &v) ? json_object_get_string(v) : NULL;
	struct registry_token *t = find_token(c, scope);
	if (!t) {
		struct registry_token *nt = realloc(c->tokens, (c->n_tokens + 1) * sizeof(*nt));
		if (!nt) {
			json_object_put(j);
			return diyc_error(err, ENOMEM, "token");
		}
		c->tokens = nt;
		t = &c->tokens[c->n_tokens++];
		*t = (struct registry_token){ .scope = strdup(scope ? scope : "") };
	}
	free(t->token);
	t->token = strdup(tok);
	t->expires = parse_issued_at(issued) + expires_in;
	json_object_put(j);
	return t->token && t->scope ? 0 : diyc_error(err, ENOMEM, "token");
}

/* "&scope=A&scope=B" for a scope of "A B" (a push that mounts from another repository
 * needs two), escaped; malloc'd. */
static char *scopes_query(const struct curl_lib *C, CURL *h, const char *scope)
{
	size_t cap = 1;
	char *out = calloc(1, 1);
	for (const char *s = scope; out && s && *s;) {
		size_t n = strcspn(s, " ");
		char *one = C->curl_easy_escape(h, s, (int)n);
		char *grown = one ? realloc(out, cap + strlen(one) + 8) : NULL;
		if (!grown) {
			C->curl_free(one);
			free(out);
			return NULL;
		}
		out = grown;
		strcat(out, "&scope=");
		strcat(out, one);
		cap += strlen(one) + 7;
		C->curl_free(one);
		s += n;
		s += strspn(s, " ");
	}
	return out;
}

/* Asks the realm for a token of scope: the OAuth2 POST with an identity token, else a GET
 * with Basic credentials (or none). */
static int fetch_token(struct registry_client *c, const char *scope, struct diyc_error *err)
{
	const struct curl_lib *C = c->C;
	int r = load_creds(c, err);
	if (r < 0)
		return r;
	CURL *h = C->curl_easy_init();
	if (!h)
		return diyc_error(err, ENOMEM, "libcurl");
	_cleanup_free_ char *url = NULL, *post = NULL;
	char *es = C->curl_easy_escape(h, c->service ? c->service : "", 0);
	char *esc = scopes_query(C, h, scope);
	bool oauth = c->have_creds && c->creds.identity_token;
	if (oauth) {
		char *et = C->curl_easy_escape(h, c->creds.identity_token, 0);
		post = xasprintf("grant_type=refresh_token&client_id=diyc&service=%s%s%s&refresh_token=%s", es,
				 esc ? esc : "", "", et);
		explicit_bzero(et, strlen(et));
		C->curl_free(et);
		url = strdup(c->realm);
	} else {
		url = xasprintf("%s%sservice=%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?", es, esc ? esc : "");
	}
	C->curl_free(es);
	free(esc);
	struct http_response resp = { .content_length = -1 };
	struct body_sink sink = { .resp = &resp, .max = MAX_TOKEN_BODY };
	registry_easy_setup(c, h);
	C->curl_easy_setopt(h, CURLOPT_TIMEOUT, 5 * c->o->stall_timeout);
	C->curl_easy_setopt(h, CURLOPT_URL, url);
	C->curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, registry_header_cb);
	C->curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
	C->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	C->curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	if (oauth) {
		C->curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	} else if (c->have_creds) {
		C->curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		C->curl_easy_setopt(h, CURLOPT_USERNAME, c->creds.username);
		C->curl_easy_setopt(h, CURLOPT_PASSWORD, c->creds.password ? c->creds.password : "");
	}
	CURLcode rc = CURLE_OK;
	for (unsigned attempt = 0;; attempt++) {
		http_response_free(&resp);
		rc = C->curl_easy_perform(h);
		bool again = rc == CURLE_OK ? resp.status >= 500 || resp.status == 429 : registry_curl_transient(rc);
		if (!again || attempt >= c->o->retries)
			break;
		registry_backoff(c, attempt + 1, resp.status == 429 ? resp.retry_after : NULL);
	}
	if (post)
		explicit_bzero(post, strlen(post));
	C->curl_easy_cleanup(h);
	if (rc != CURLE_OK)
		r = diyc_error_plain(err, EIO, "the token server of %s: %s", c->host,
				     sink.too_big ? "its answer is larger than 1 MiB" : C->curl_easy_strerror(rc));
	else if (resp.status == 401 || resp.status == 403)
		r = c->have_creds ? diyc_error_plain(err, EACCES, "the token server of %s refused the credentials (%ld): "
						     "check the user name and password", c->host, resp.status)
				  : diyc_error_hint(err, diyc_error_plain(err, EACCES, "the token server of %s refused an "
									  "anonymous token (%ld)", c->host, resp.status),
						    DIYC_HINT_REGISTRY_LOGIN, c->host);
	else if (resp.status != 200)
		r = diyc_error_plain(err, EPROTO, "the token server of %s answered %ld", c->host, resp.status);
	else
		r = take_token(c, scope, &resp, err);
	if (resp.body)
		explicit_bzero(resp.body, resp.len);
	http_response_free(&resp);
	return r;
}

int registry_auth_header(struct registry_client *c, const char *scope, char *out, size_t size, struct diyc_error *err)
{
	out[0] = '\0';
	if (c->auth == AUTH_NONE)
		return 0;
	if (c->auth == AUTH_BASIC) {
		/* libcurl encodes Basic credentials itself: see request_once() */
		return load_creds(c, err);
	}
	struct registry_token *t = find_token(c, scope);
	if (!t || !t->token || t->expires <= (int64_t)time(NULL) + 5) {
		int r = fetch_token(c, scope, err);
		if (r < 0)
			return r;
		t = find_token(c, scope);
	}
	if (strlen(t->token) + 30 >= size)
		return diyc_error_plain(err, E2BIG, "the token of %s is too long", c->host);
	snprintf(out, size, "Authorization: Bearer %s", t->token);
	return 0;
}

void registry_auth_reset(struct registry_client *c, const char *scope, const char *www_auth)
{
	struct registry_token *t = find_token(c, scope);
	if (t) {
		free(t->token);
		t->token = NULL;
	}
	if (www_auth && *www_auth) {
		struct diyc_error ignore = { 0 };
		take_challenge(c, www_auth, &ignore);
	}
}

/* -- requests --------------------------------------------------------------------------------- */

struct upload_src {
	const struct http_body *b;
	uint64_t sent;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upload_src *u = arg;
	size_t want = size * n;
	uint64_t left = u->b->len - u->sent;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (u->b->data) {
		memcpy(buf, u->b->data + u->sent, want);
	} else {
		ssize_t r = read(u->b->fd, buf, want);
		if (r <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)r;
	}
	u->sent += want;
	return want;
}

/* One request, no retry, no redirect: what came back in resp, the curl result returned. */
static CURLcode request_once(struct registry_client *c, const char *method, const char *url, const char *auth,
			     const char *accept, const struct http_body *body, struct body_sink *sink)
{
	const struct curl_lib *C = c->C;
	CURL *h = c->easy;
	struct curl_slist *hdrs = NULL;
	char line[1200];
	if (accept) {
		snprintf(line, sizeof(line), "Accept: %s", accept);
		hdrs = C->curl_slist_append(hdrs, line);
	}
	if (auth && *auth)
		hdrs = C->curl_slist_append(hdrs, auth);
	if (body && body->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", body->content_type);
		hdrs = C->curl_slist_append(hdrs, line);
	}
	/* distribution answers a PUT without waiting for 100-continue */
	hdrs = C->curl_slist_append(hdrs, "Expect:");
	struct upload_src up = { .b = body };
	if (body && body->content_range) {
		snprintf(line, sizeof(line), "Content-Range: %s", body->content_range);
		hdrs = C->curl_slist_append(hdrs, line);
	}
	if (body && body->fd >= 0 && lseek(body->fd, (off_t)body->offset, SEEK_SET) < 0)
		return CURLE_READ_ERROR;
	C->curl_easy_reset(h);
	registry_easy_setup(c, h);
	/* manifests, configs, tokens and uploads' steps are small: bounded in time as a whole
	 * (a blob's body goes through PUT with no such bound: its stall timeout is enough) */
	if (!body || body->len < (1 << 20))
		C->curl_easy_setopt(h, CURLOPT_TIMEOUT, 5 * c->o->stall_timeout);
	C->curl_easy_setopt(h, CURLOPT_URL, url);
	C->curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	C->curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, registry_header_cb);
	C->curl_easy_setopt(h, CURLOPT_HEADERDATA, sink->resp);
	C->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	C->curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	if (auth && !*auth)
		registry_easy_basic(c, h);
	if (!strcmp(method, "HEAD")) {
		C->curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET")) {
		C->curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body) {
			C->curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			C->curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
			C->curl_easy_setopt(h, CURLOPT_READDATA, &up);
			C->curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body->len);
		} else {
			C->curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
			C->curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		}
	}
	memset(sink->resp, 0, sizeof(*sink->resp));
	sink->resp->content_length = -1;
	sink->too_big = false;
	CURLcode rc = C->curl_easy_perform(h);
	C->curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	C->curl_slist_free_all(hdrs);
	char *eff = NULL;
	if (C->curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
		snprintf(sink->resp->final_url, sizeof(sink->resp->final_url), "%s", eff);
	return rc;
}

static bool is_redirect(long s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* Redirects followed (no Authorization off the origin), a 401 answered once with a new
 * token; retried by the caller. */
static int request_follow(struct registry_client *c, const char *method, const char *path, const char *scope,
			  const char *accept, const struct http_body *body, size_t max_body,
			  struct http_response *resp, CURLcode *rc, struct diyc_error *err)
{
	char url[2048], auth[66 * 1024];
	if (strlen(c->origin) + strlen(path) >= sizeof(url))
		return diyc_error_plain(err, E2BIG, "request URL too long");
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
		snprintf(url, sizeof(url), "%s", path);
	else
		snprintf(url, sizeof(url), "%s%s", c->origin, path);
	bool same_origin = true, renewed = false;
	if (path[0] != '/') {
		/* an absolute URL (an upload's Location) may be elsewhere: credentials stay home */
		char a[320], b[320];
		same_origin = url_origin(c->C, url, a, sizeof(a)) == 0 && url_origin(c->C, c->origin, b, sizeof(b)) == 0 &&
			      !strcmp(a, b);
	}
	for (unsigned hops = 0;; hops++) {
		int r = same_origin ? registry_auth_header(c, scope, auth, sizeof(auth), err) : 0;
		if (r < 0)
			return r;
		if (!same_origin)
			auth[0] = '\0';
		struct body_sink sink = { .resp = resp, .max = max_body };
		http_response_free(resp);
		/* an empty auth with Basic asks request_once for libcurl's Basic header; NULL: none */
		*rc = request_once(c, method, url, same_origin ? auth : NULL, accept, body, &sink);
		explicit_bzero(auth, sizeof(auth));
		if (*rc != CURLE_OK) {
			if (sink.too_big)
				return diyc_error_plain(err, EFBIG, "the registry %s answered %s %s with more than %zu "
							"bytes: refused", c->host, method, path, max_body);
			return 0;
		}
		if (resp->status == 401 && same_origin && !renewed && c->auth != AUTH_NONE) {
			renewed = true;
			registry_auth_reset(c, scope, resp->www_auth);
			continue;
		}
		if (!is_redirect(resp->status))
			return 0;
		if (hops >= MAX_REDIRECTS)
			return diyc_error_plain(err, ELOOP, "the registry %s redirected %s %s more than %d times (a "
						"redirect loop?)", c->host, method, path, MAX_REDIRECTS);
		char next[2048];
		if ((r = registry_redirect(c, url, resp->location, next, sizeof(next), &same_origin, err)) < 0)
			return r;
		snprintf(url, sizeof(url), "%s", next);
		if (resp->status == 303)
			method = "GET", body = NULL;
	}
}

int registry_request(struct registry_client *c, const char *method, const char *path, const char *scope,
		     const char *accept, const struct http_body *body, size_t max_body, struct http_response *resp,
		     struct diyc_error *err)
{
	int r;
	if (!c->pinged && (r = registry_ping(c, err)) < 0)
		return r;
	memset(resp, 0, sizeof(*resp));
	for (unsigned attempt = 0;; attempt++) {
		CURLcode rc = CURLE_OK;
		r = request_follow(c, method, path, scope, accept, body, max_body ? max_body : MAX_ERROR_BODY, resp,
				   &rc, err);
		if (r < 0)
			return r;
		bool transient = rc != CURLE_OK ? registry_curl_transient(rc)
						: resp->status >= 500 || resp->status == 429;
		if (!transient || attempt >= c->o->retries) {
			if (rc != CURLE_OK)
				return diyc_error_plain(err, EIO, "%s %s%s: %s", method, c->origin, path,
							c->C->curl_easy_strerror(rc));
			return 0;
		}
		diyc_debug("%s %s%s: %s; retrying", method, c->origin, path,
			   rc != CURLE_OK ? c->C->curl_easy_strerror(rc) : "the registry failed");
		registry_backoff(c, attempt + 1, resp->status == 429 ? resp->retry_after : NULL);
	}
}

/* GET /v2/ on one scheme. */
/* Where the registry answers: docker.io's API is at registry-1.docker.io. */
static const char *api_host(const struct registry_client *c)
{
	return !strcmp(c->host, "docker.io") ? "registry-1.docker.io" : c->host;
}

static CURLcode ping_scheme(struct registry_client *c, const char *scheme, struct http_response *resp)
{
	snprintf(c->origin, sizeof(c->origin), "%s://%s", scheme, api_host(c));
	char url[320];
	snprintf(url, sizeof(url), "%s/v2/", c->origin);
	struct body_sink sink = { .resp = resp, .max = MAX_ERROR_BODY };
	http_response_free(resp);
	return request_once(c, "GET", url, NULL, NULL, NULL, &sink);
}

int registry_ping(struct registry_client *c, struct diyc_error *err)
{
	struct http_response resp = { 0 };
	CURLcode rc = CURLE_OK;
	const char *scheme = "https";
	for (unsigned attempt = 0;; attempt++) {
		rc = ping_scheme(c, "https", &resp);
		scheme = "https";
		/* an insecure registry may speak plain http: a TLS handshake with it fails */
		if (rc != CURLE_OK && c->insecure && !registry_curl_transient(rc)) {
			rc = ping_scheme(c, "http", &resp);
			scheme = "http";
		} else if (rc == CURLE_COULDNT_CONNECT && c->insecure) {
			CURLcode rc2 = ping_scheme(c, "http", &resp);
			if (rc2 == CURLE_OK) {
				rc = rc2;
				scheme = "http";
			}
		}
		bool transient = rc != CURLE_OK ? registry_curl_transient(rc) : resp.status >= 500 || resp.status == 429;
		if (!transient || attempt >= c->o->retries)
			break;
		registry_backoff(c, attempt + 1, resp.status == 429 ? resp.retry_after : NULL);
	}
	snprintf(c->origin, sizeof(c->origin), "%s://%s", scheme, api_host(c));
	int r = 0;
	if (rc != CURLE_OK) {
		bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
			   rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM;
		r = diyc_error_plain(err, EIO, "cannot reach the registry %s: %s", c->host, c->C->curl_easy_strerror(rc));
		if (tls)
			diyc_error_hint(err, r, DIYC_HINT_REGISTRY_TLS, c->host);
	} else if (resp.status == 401) {
		r = take_challenge(c, resp.www_auth, err);
	} else if (resp.status == 200) {
		c->auth = AUTH_NONE;
	} else {
		char why[700];
		registry_describe_status(&resp, why, sizeof(why));
		r = diyc_error_plain(err, EPROTO, "%s is not a registry (GET /v2/ answered %s)", c->host, why);
	}
	http_response_free(&resp);
	if (r == 0)
		c->pinged = true;
	return r;
}

int registry_check_login(struct registry_client *c, struct diyc_error *err)
{
	int r = registry_ping(c, err);
	if (r < 0 || c->auth == AUTH_NONE)
		return r;
	if ((r = load_creds(c, err)) < 0)
		return r;
	if (c->auth == AUTH_BEARER)
		return fetch_token(c, NULL, err) < 0 ? diyc_error_wrap(err, "login to %s failed", c->host) : 0;
	struct http_response resp;
	r = registry_request(c, "GET", "/v2/", NULL, NULL, NULL, 0, &resp, err);
	if (r == 0 && resp.status != 200) {
		char why[700];
		registry_describe_status(&resp, why, sizeof(why));
		r = diyc_error_plain(err, EACCES, "login to %s failed: the registry answered %s", c->host, why);
	}
	http_response_free(&resp);
	return r;
}
