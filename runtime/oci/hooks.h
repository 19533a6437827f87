/* SPDX-License-Identifier: MIT */
/* hooks.h: running the hooks of a bundle (prestart, createRuntime, ... poststop) with the
 * container's state JSON on their stdin, their timeout, and their output in the error. */
#pragma once
#include <stddef.h>
#include "lib/error.h"
#include "spec.h"

/* Runs the hooks of one kind in order in the calling process's namespaces; stops at the
 * first that fails (exits non-zero, is killed, or outlives its timeout), err saying which
 * and what it printed. */
int oci_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
		  struct diyc_error *err);
/* For poststart and poststop, whose failures the spec makes warnings: runs every hook of
 * the kind, a failing one warned about (diyc_warn) and the rest run all the same. */
void oci_hooks_run_warn(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json);
