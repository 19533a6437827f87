/* SPDX-License-Identifier: MIT */
/* A libFuzzer target for seccomp profiles (--security-opt seccomp=FILE: docker's JSON
 * format, the user's own file, checked by `run` and compiled with libseccomp by every
 * start). The first byte chooses capabilities; the rest is the profile. A profile that
 * passes the check must compile (or fail with a message), never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "security/caps.h"
#include "security/seccomp-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	struct diyc_error err = { 0 };
	int r = seccomp_profile_check(text, &err);
	if (r < 0 && !err.msg[0])
		__builtin_trap();
	if (r == 0) {
		cap_mask caps = (data[0] & 1 ? caps_default : 0) | (data[0] & 2 ? CAP_BIT(CAP_SYS_ADMIN) : 0);
		struct seccomp_prog p;
		memset(&err, 0, sizeof(err));
		r = seccomp_prepare(text, caps, NULL, &p, &err);
		if (r < 0 && !err.msg[0])
			__builtin_trap();
		if (r == 0 && (p.len == 0 || !p.insns))
			__builtin_trap();
		seccomp_prog_free(&p);
	}
	free(text);
	return 0;
}
