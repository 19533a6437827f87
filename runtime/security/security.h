/* SPDX-License-Identifier: MIT */
/* security.h: a container's security configuration turned into what its processes get. */
#pragma once
#include "container/config.h"
#include "container/container.h"

/* Computes the capability set and compiles (or reads back from DATA/seccomp) the seccomp
 * filter of cfg into out, which then points at prog. */
int security_prepare(const struct security_config *cfg, const char *data_dir, struct container_security *out,
		     struct seccomp_prog *prog, struct diyc_error *err);
