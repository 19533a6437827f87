/* SPDX-License-Identifier: MIT */
/* digest.c: SHA-256 through nettle, resolved at first use. */
#include <errno.h>
#include <nettle/sha2.h>
#include <string.h>
#include <unistd.h>
#include "digest.h"
#include "lib/dl.h"
#include "lib/util.h"

_Static_assert(sizeof(struct sha256_ctx) <= sizeof(struct sha256), "struct sha256 too small for nettle's context");

static struct {
	void (*init)(struct sha256_ctx *);
	void (*update)(struct sha256_ctx *, size_t, const uint8_t *);
	void (*digest)(struct sha256_ctx *, size_t, uint8_t *);
} nettle;

int digest_init(struct diyc_error *err)
{
	/* nettle's names are macros over nettle_sha256_*: the symbols are spelled out */
	static const char *const names[] = { "nettle_sha256_init", "nettle_sha256_update", "nettle_sha256_digest" };
	return dl_load("libnettle.so.8", "libnettle8", names, (void **)&nettle, ARRAY_SIZE(names), err);
}

void sha256_begin(struct sha256 *h)
{
	nettle.init((struct sha256_ctx *)h->ctx);
}

void sha256_add(struct sha256 *h, const void *data, size_t len)
{
	nettle.update((struct sha256_ctx *)h->ctx, len, data);
}

void sha256_hex(struct sha256 *h, char out[DIGEST_HEX_LEN + 1])
{
	uint8_t d[SHA256_DIGEST_SIZE];
	static const char hex[] = "0123456789abcdef";
	nettle.digest((struct sha256_ctx *)h->ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[DIGEST_HEX_LEN] = '\0';
}

int sha256_file(int fd, char out[DIGEST_HEX_LEN + 1])
{
	struct sha256 h;
	char buf[1 << 16];
	sha256_begin(&h);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		sha256_add(&h, buf, n);
	}
	sha256_hex(&h, out);
	return 0;
}

int digest_parse(const char *s, const char **hex)
{
	if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != DIGEST_STR_LEN)
		return -EINVAL;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -EINVAL;
	*hex = s + 7;
	return 0;
}
