/* SPDX-License-Identifier: MIT */
/* dl.h: libraries diyc loads with dlopen() at first use rather than at every start
 * (libarchive and nettle for images, libsystemd for limits, libslirp for
 * --net=slirp). */
#pragma once
#include <stddef.h>
#include "error.h"

/* Helpers for an X-macro list of functions: a struct of typed pointers to them, and
 * their names in the same order. */
#define DL_FIELD(f) __typeof__(f) *f;
#define DL_NAME(f) #f,

/* Loads soname once and resolves names[i] into fns[i] (a struct made with DL_FIELD, seen
 * as n pointers). package: what to install, for the message. 0 once loaded. */
int dl_load(const char *soname, const char *package, const char *const *names, void **fns, size_t n,
	    struct diyc_error *err);
