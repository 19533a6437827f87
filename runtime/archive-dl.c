/* SPDX-License-Identifier: MIT */
/* archive-dl.c: resolves the libarchive functions diyc uses, at first use. */
#include <dlfcn.h>
#include <errno.h>
#include "archive-dl.h"

static struct archive_lib lib;
static int loaded;

const struct archive_lib *archive_lib(struct diyc_error *err)
{
	if (loaded)
		return &lib;
	void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		diyc_error_plain(err, ENOENT, "cannot load libarchive (install the libarchive13 package): %s",
				 dlerror());
		return NULL;
	}
#define X(f)                                                                             \
	lib.f = (__typeof__(f) *)dlsym(h, #f);                                           \
	if (!lib.f) {                                                                    \
		diyc_error_plain(err, ENOENT, "libarchive lacks `%s`: too old a version", #f); \
		return NULL;                                                             \
	}
	ARCHIVE_FUNCS(X)
#undef X
	loaded = 1;
	return &lib;
}
