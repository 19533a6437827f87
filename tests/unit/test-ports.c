/* SPDX-License-Identifier: MIT */
/* test-ports.c: -p as given on the command line, and its canonical forms. */
#include <sys/socket.h>
#include "check.h"
#include "net/ports.h"

static const char *spec_of(const char *in)
{
	static char buf[96];
	struct port_map m;
	struct diyc_error err = { 0 };
	if (port_map_parse(in, &m, &err) < 0)
		return NULL;
	return port_map_spec(&m, buf, sizeof(buf));
}

static int refused(const char *in, const char *needle)
{
	struct port_map m;
	struct diyc_error err = { 0 };
	return port_map_parse(in, &m, &err) < 0 && strstr(err.msg, needle) != NULL;
}

int main(void)
{
	CHECK_STR(spec_of("8080:80"), "0.0.0.0:8080:80/tcp");
	CHECK_STR(spec_of("127.0.0.1:8080:80/udp"), "127.0.0.1:8080:80/udp");
	CHECK_STR(spec_of("127.0.0.1:1:65535/tcp"), "127.0.0.1:1:65535/tcp");
	CHECK_STR(spec_of("[::1]:8080:80"), "[::1]:8080:80/tcp");
	CHECK_STR(spec_of("[0:0::1]:9:9/udp"), "[::1]:9:9/udp");
	struct port_map m;
	struct diyc_error err = { 0 };
	CHECK(port_map_parse("[::1]:8080:80", &m, &err) == 0 && m.family == AF_INET6 && m.host_port == 8080 &&
	      m.container_port == 80 && m.proto == PORT_TCP);
	char buf[96];
	CHECK_STR(port_map_format(&m, buf, sizeof(buf)), "[::1]:8080->80/tcp");
	/* what a spec says survives the round trip through config.json */
	CHECK_STR(spec_of(spec_of("10.1.2.3:5353:53/udp")), "10.1.2.3:5353:53/udp");

	CHECK(refused("80", "a host port is needed"));
	CHECK(refused("", "a host port is needed"));
	CHECK(refused("0:80", "bad host port `0`"));
	CHECK(refused("65536:80", "bad host port"));
	CHECK(refused("08080x:80", "bad host port"));
	CHECK(refused("8080:0", "bad container port"));
	CHECK(refused("8080:", "bad container port"));
	CHECK(refused("8080:80/icmp", "unknown protocol `icmp`"));
	CHECK(refused("8080:80/tcp/udp", "bad container port"));
	CHECK(refused("1.2.3:8080:80", "bad host address"));
	CHECK(refused("::1:8080:80", "bad host address"));
	CHECK(refused("[1.2.3.4]:8080:80", "bad IPv6 address"));
	CHECK(refused(":8080:80", "empty host address"));
	CHECK(refused("8000-8001:80", "port ranges are not supported"));
	CHECK(refused("-1:80", "bad host port") || refused("-1:80", "ranges"));
	char longspec[300];
	memset(longspec, '1', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	CHECK(refused(longspec, "expected"));
	return CHECKS_DONE();
}
