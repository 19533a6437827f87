/* SPDX-License-Identifier: MIT */
/* digest.h: SHA-256 for content addressing (layer and config digests), from nettle,
 * loaded with dlopen() like libarchive (which depends on it), so `diyc run` does not
 * map it. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "lib/error.h"

#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex digits */
#define DIGEST_STR_LEN (7 + DIGEST_HEX_LEN)

struct sha256 {
	uint64_t ctx[32]; /* room for nettle's struct sha256_ctx (checked at compile time) */
};

/* Loads nettle; 0 or a negative errno with err set. */
int digest_init(struct diyc_error *err);
void sha256_begin(struct sha256 *h);
void sha256_add(struct sha256 *h, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL. */
void sha256_hex(struct sha256 *h, char out[DIGEST_HEX_LEN + 1]);
/* SHA-256 of a whole file, as hex. */
int sha256_file(int fd, char out[DIGEST_HEX_LEN + 1]);
/* Checks "sha256:<64 lowercase hex>" and points *hex at the digits. */
int digest_parse(const char *s, const char **hex);
