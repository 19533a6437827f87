/* SPDX-License-Identifier: MIT */
/* A libFuzzer target for an OCI bundle's config.json (what an engine, or anyone who can
 * write a bundle, hands diyc-oci create): parsed into struct oci_spec, every failure with
 * a message, every success with the invariants the rest of runtime/oci/ relies on. */
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct diyc_error err = { 0 };
	struct oci_spec s;
	int r = oci_spec_parse(text, "/bundle", &s, &err);
	if (r < 0 && !err.msg[0])
		__builtin_trap();
	if (r == 0) {
		if (!s.root_path || s.root_path[0] != '/' || !s.annotations_json)
			__builtin_trap();
		if (s.has_process && (!s.process.args || !s.process.args[0] || !s.process.env || !s.process.cwd ||
				      s.process.cwd[0] != '/'))
			__builtin_trap();
		for (size_t i = 0; i < s.n_mounts; i++)
			if (!s.mounts[i].destination || s.mounts[i].destination[0] != '/' || !s.mounts[i].source ||
			    (s.mounts[i].bind && s.mounts[i].source[0] != '/'))
				__builtin_trap();
		for (size_t i = 0; i < s.n_namespaces; i++)
			if (s.namespaces[i].path && s.namespaces[i].path[0] != '/')
				__builtin_trap();
		for (int k = 0; k < OCI_HOOK_KINDS; k++)
			for (size_t i = 0; i < s.n_hooks[k]; i++)
				if (!s.hooks[k][i].path || s.hooks[k][i].path[0] != '/')
					__builtin_trap();
		oci_spec_free(&s);
	}
	free(text);
	return 0;
}
