/* SPDX-License-Identifier: MIT */
/* dl.c: loading a library and its functions at first use. */
#include <dlfcn.h>
#include <errno.h>
#include "dl.h"

int dl_load(const char *soname, const char *package, const char *const *names, void **fns, size_t n,
	    struct diyc_error *err)
{
	/* the last one set means all are: a failed load leaves none set */
	if (n && fns[n - 1])
		return 0;
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return diyc_error_plain(err, ENOENT, "cannot load %s (install the %s package): %s", soname, package,
					dlerror());
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, names[i]);
		if (!f) {
			for (size_t j = 0; j < i; j++)
				fns[j] = NULL;
			return diyc_error_plain(err, ENOENT, "%s lacks `%s`: too old a version", soname, names[i]);
		}
		fns[i] = f;
	}
	return 0;
}
