/* SPDX-License-Identifier: MIT */
/* archive-dl.c: resolves the libarchive functions diyc uses, at first use. */
#include "archive-dl.h"
#include "lib/dl.h"
#include "lib/util.h"

static struct archive_lib lib;

const struct archive_lib *archive_lib(struct diyc_error *err)
{
	static const char *const names[] = { ARCHIVE_FUNCS(DL_NAME) };
	if (dl_load("libarchive.so.13", "libarchive13", names, (void **)&lib, ARRAY_SIZE(names), err) < 0)
		return NULL;
	return &lib;
}
