/* SPDX-License-Identifier: MIT */
/* curl-dl.c: resolves the libcurl functions diyc uses, at first use. */
#include <errno.h>
#include <stdbool.h>
#include "curl-dl.h"
#include "lib/util.h"

static struct curl_lib lib;

const struct curl_lib *curl_lib(struct diyc_error *err)
{
	static const char *const names[] = { CURL_FUNCS(DL_NAME) };
	static bool initialised;
	if (dl_load("libcurl.so.4", "libcurl4", names, (void **)&lib, ARRAY_SIZE(names), err) < 0)
		return NULL;
	if (!initialised) {
		if (lib.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			diyc_error_plain(err, EIO, "libcurl could not be initialised");
			return NULL;
		}
		initialised = true;
	}
	return &lib;
}
