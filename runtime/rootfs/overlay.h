/* SPDX-License-Identifier: MIT */
/* overlay.h: mounting the image layers and the container's upper dir as overlayfs. */
#pragma once
#include <stdbool.h>
#include "lib/error.h"

int overlay_mount(char *const *lowerdirs, const char *upper, const char *work, const char *target,
		  bool userxattr, bool volatile_upper, struct diyc_error *err);
