/* SPDX-License-Identifier: MIT */
/* client.h: one registry as seen from diyc: where it is (https, or http when insecure),
 * its TLS files, the user's credentials for it, the tokens its auth server gave, and
 * requests to it with retries, redirects and authentication. Credentials and tokens never
 * leave this file except in an Authorization header to the registry's own origin or its
 * token realm. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curl-dl.h"
#include "authfile.h"
#include "certsd.h"
#include "lib/error.h"

/* What the user asked of every registry of a command. */
struct registry_opts {
	const char *authfile;   /* --authfile, or NULL */
	const char *creds;      /* --creds USER[:PASS], or NULL */
	int tls_verify;         /* -1: as configured, 0: --tls-verify=false, 1: --tls-verify */
	unsigned retries;       /* --retry: attempts after the first (default 3) */
	unsigned parallel;      /* layers transferred at once (default 3) */
	double retry_delay;     /* seconds before the first retry, doubled after (default 1) */
	long stall_timeout;     /* seconds without a byte before a transfer fails (default 30) */
	bool allow_foreign;     /* fetch foreign layers from their urls (pull) */
};
/* The defaults, and the environment's DIYC_REGISTRY_RETRY_DELAY and
 * DIYC_REGISTRY_STALL_TIMEOUT. */
void registry_opts_init(struct registry_opts *o);

struct registry_token {
	char *scope;
	char *token;
	int64_t expires; /* CLOCK_REALTIME seconds */
};

struct registry_client {
	const struct curl_lib *C;
	const struct registry_opts *o;
	char host[256];         /* host[:port] */
	char origin[300];       /* scheme://host[:port], once known */
	bool insecure;          /* http allowed, TLS not verified */
	bool pinged;
	struct registry_tls tls;
	struct registry_creds creds;
	bool have_creds, creds_looked_up;
	const char *creds_repo; /* the repository credentials are looked up for */
	enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER } auth;
	char *realm, *service;
	struct registry_token *tokens;
	size_t n_tokens;
	CURL *easy;             /* for one request at a time: keeps its connection */
	struct curl_slist *resolve;
};

/* What came back (the last response, after redirects). */
struct http_response {
	long status;
	char *body;             /* malloc'd, NUL-terminated, at most the max asked for */
	size_t len;
	int64_t content_length; /* -1 when not given */
	char content_type[128], digest[80], www_auth[1024], location[2048], content_range[128];
	char retry_after[32], ratelimit_limit[64], ratelimit_remaining[64], upload_uuid[128];
	char final_url[2048];
};
void http_response_free(struct http_response *r);

/* host: host[:port]; insecure: by registries.conf (o->tls_verify overrides it). */
int registry_client_open(struct registry_client *c, const char *host, bool insecure, const struct registry_opts *o,
			 struct diyc_error *err);
void registry_client_close(struct registry_client *c);

/* GET /v2/: which scheme answers, and how the registry wants to be authenticated. */
int registry_ping(struct registry_client *c, struct diyc_error *err);

/* Checks the credentials given in o->creds with the registry (login): a token for them,
 * or GET /v2/ with Basic. A registry that asks for none accepts any. */
int registry_check_login(struct registry_client *c, struct diyc_error *err);

struct http_body {
	const char *data;       /* a body in memory (len bytes), or */
	int fd;                 /* a file (len bytes from offset), -1 for none */
	uint64_t len, offset;
	const char *content_type;
	const char *content_range; /* "START-END" of a chunk (PATCH), or NULL */
};
/* One request: path is below the origin ("/v2/...") or an absolute URL (an upload's
 * Location). scope: the token scope it needs ("repository:NAME:pull"), or NULL.
 * accept: an Accept header value, or NULL. Retries network errors, 5xx and 429 (with
 * Retry-After), follows redirects (Authorization only to the registry's origin), asks for
 * a new token on 401. The body is kept up to max_body bytes (more is an error). 0 with resp
 * filled whatever the status, or a negative errno. */
int registry_request(struct registry_client *c, const char *method, const char *path, const char *scope,
		     const char *accept, const struct http_body *body, size_t max_body, struct http_response *resp,
		     struct diyc_error *err);
/* The Authorization header for scope ("" when none is needed), fetching a token if need
 * be; for transfers made outside registry_request (pull.c's parallel blobs). */
int registry_auth_header(struct registry_client *c, const char *scope, char *out, size_t size, struct diyc_error *err);
/* Forgets the token of scope after a 401, so that the next registry_auth_header asks anew;
 * www_auth: the 401's challenge (may name a new scope or realm). */
void registry_auth_reset(struct registry_client *c, const char *scope, const char *www_auth);
/* The options every transfer to this registry shares: TLS (certs.d, insecure), timeouts,
 * no automatic redirects, no proxy surprises. */
void registry_easy_setup(struct registry_client *c, CURL *h);
/* Where a redirect points, resolved against the URL it came from; whether the
 * registry's Authorization may go there (same origin). Refuses https -> http unless the
 * registry is insecure. */
int registry_redirect(struct registry_client *c, const char *from, const char *location, char *out, size_t size,
		      bool *same_origin, struct diyc_error *err);
/* A failed response described: "STATUS TEXT: CODE: MESSAGE" with distribution's JSON
 * errors, and the rate limit for 429, into out. */
void registry_describe_status(const struct http_response *r, char *out, size_t size);
/* Has libcurl send the user's credentials as Basic to the registry (when it asked for Basic). */
void registry_easy_basic(struct registry_client *c, CURL *h);
/* The seconds to wait before retry number attempt (1, 2, ...). */
double registry_backoff_delay(const struct registry_client *c, unsigned attempt, const char *retry_after);
/* Sleeps before retry number attempt (1, 2, ...): the delay doubled each time, or what a
 * 429's Retry-After said (at most 60 s). */
void registry_backoff(const struct registry_client *c, unsigned attempt, const char *retry_after);
/* Whether a curl result is worth retrying (the network, a timeout, a cut transfer). */
bool registry_curl_transient(CURLcode rc);
/* Header lines of a response, collected the same way for every transfer. */
size_t registry_header_cb(char *buf, size_t size, size_t n, void *resp);
