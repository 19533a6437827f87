/* SPDX-License-Identifier: MIT */
/* test-hostfiles.c: resolv.conf for a container from the host's. */
#include <stdlib.h>
#include "check.h"
#include "container/hostfiles.h"
#include "lib/util.h"

int main(void)
{
	const char *stub = "# managed\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
	CHECK(resolv_conf_is_stub(stub));
	CHECK(!resolv_conf_is_stub("nameserver 10.0.0.1\n"));
	CHECK(!resolv_conf_is_stub("# nameserver 127.0.0.53\n"));
	char *out = resolv_conf_filter(stub, true);
	CHECK_STR(out, "# managed\noptions edns0 trust-ad\nsearch lan\n");
	free(out);
	out = resolv_conf_filter(stub, false);
	CHECK_STR(out, stub);
	free(out);
	out = resolv_conf_filter("nameserver 10.0.0.1\nnameserver ::1\nnameserver 127.0.0.1", true);
	CHECK_STR(out, "nameserver 10.0.0.1\n");
	free(out);
	out = resolv_conf_filter("nameserver 10.0.0.1", true);
	CHECK_STR(out, "nameserver 10.0.0.1");
	free(out);
	out = resolv_conf_filter("", true);
	CHECK_STR(out, "");
	free(out);
	/* slirp: one nameserver, the forwarder; the rest kept */
	out = resolv_conf_with_nameserver(stub, "10.0.2.3");
	CHECK_STR(out, "nameserver 10.0.2.3\n# managed\noptions edns0 trust-ad\nsearch lan\n");
	free(out);
	out = resolv_conf_with_nameserver("nameserver 1.1.1.1\n  nameserver\t::1\nnameservers x\nsearch a", "10.0.2.3");
	CHECK_STR(out, "nameserver 10.0.2.3\nnameservers x\nsearch a\n");
	free(out);
	out = resolv_conf_with_nameserver("", "10.0.2.3");
	CHECK_STR(out, "nameserver 10.0.2.3\n");
	free(out);

	uint64_t v;
	CHECK(parse_u64("0", 10, &v) == 0 && v == 0);
	CHECK(parse_u64("18446744073709551615", UINT64_MAX, &v) == 0 && v == UINT64_MAX);
	CHECK(parse_u64("18446744073709551616", UINT64_MAX, &v) < 0);
	CHECK(parse_u64("11", 10, &v) < 0);
	CHECK(parse_u64("", 10, &v) < 0);
	CHECK(parse_u64("1x", 10, &v) < 0);
	CHECK(parse_u64(" 1", 10, &v) < 0);
	CHECK(parse_u64("-1", 10, &v) < 0);
	return CHECKS_DONE();
}
