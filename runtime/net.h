/* SPDX-License-Identifier: MIT */
/* net.h: the container's network namespace. For now it holds only loopback. */
#pragma once
#include "error.h"

/* Brings up `lo` in the caller's network namespace. */
int loopback_up(struct diyc_error *err);
