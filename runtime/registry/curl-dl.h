/* SPDX-License-Identifier: MIT */
/* curl-dl.h: libcurl, loaded with dlopen() the first time a registry is asked, so that
 * `diyc run` of an image that is present does not map it and its TLS stack. */
#pragma once
/* the type-checking macros of curl.h would expand inside `C->curl_easy_setopt(...)` */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include "lib/dl.h"
#include "lib/error.h"

#define CURL_FUNCS(X) \
	X(curl_global_init) X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_setopt) X(curl_easy_getinfo) \
	X(curl_easy_strerror) X(curl_easy_pause) X(curl_easy_perform) X(curl_slist_append) X(curl_slist_free_all) \
	X(curl_multi_init) X(curl_multi_cleanup) X(curl_multi_add_handle) X(curl_multi_remove_handle) \
	X(curl_multi_perform) X(curl_multi_poll) X(curl_multi_info_read) X(curl_multi_strerror) \
	X(curl_url) X(curl_url_cleanup) X(curl_url_set) X(curl_url_get) X(curl_free) X(curl_easy_escape) \
	X(curl_version_info) X(curl_easy_reset)

struct curl_lib {
	CURL_FUNCS(DL_FIELD)
};

/* Loads libcurl once (and initialises it); NULL with err set when it is missing. */
const struct curl_lib *curl_lib(struct diyc_error *err);
