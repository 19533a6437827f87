/* SPDX-License-Identifier: MIT */
/* nsexec.h: running a host command in new namespaces, with no image. */
#pragma once
#include <stdbool.h>
#include "lib/error.h"
#include "lib/userns.h"

struct nsexec_opts {
	unsigned long flags;   /* CLONE_NEW* */
	const char *hostname;  /* with CLONE_NEWUTS */
	char **argv;
	const struct userns_plan *userns;
};

int nsexec_run(const struct nsexec_opts *o, int *status, struct diyc_error *err);
