/* SPDX-License-Identifier: MIT */
/* registry-cli.h: what other commands ask of cmd-registry.c: a pull with the progress a
 * terminal shows, and run's --pull=missing|always|never. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"
#include "lib/paths.h"
#include "registry/registry.h"

enum pull_policy { PULL_MISSING, PULL_ALWAYS, PULL_NEVER };

/* Pulls ref, drawing progress on stderr when it is a terminal (and not quiet). */
int registry_cli_pull(const struct diyc_paths *p, const struct registry_opts *ro, const char *ref,
		      const char *platform, bool quiet, struct registry_pull_result *res, struct diyc_error *err);
/* The image run should use for ref under the policy: out gets a name or id the store has
 * (pulling it first when the policy says so). */
int registry_cli_ensure_image(const struct diyc_paths *p, const char *ref, enum pull_policy policy,
			      char *out, size_t size, struct diyc_error *err);
