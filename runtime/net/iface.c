/* SPDX-License-Identifier: MIT */
/* iface.c: interfaces of the container's own network namespace, configured from inside
 * it with the classic ioctls: loopback, and the address and default route of slirp's tap
 * or the bridge's veth end. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "iface.h"
#include "lib/util.h"

static int link_up(int s, const char *name, struct diyc_error *err)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return diyc_error(err, errno, "read the flags of `%s`", name);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return diyc_error(err, errno, "bring up `%s`", name);
	return 0;
}

int loopback_up(struct diyc_error *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return diyc_error(err, errno, "socket for the loopback interface");
	return link_up(s, "lo", err);
}

static int set_addr(int s, unsigned long req, const char *name, struct in_addr addr, const char *what,
		    struct diyc_error *err)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr = addr;
	if (ioctl(s, req, &ifr) < 0)
		return diyc_error(err, errno, "set the %s of %s", what, name);
	return 0;
}

int iface_ipv4_up(const char *name, struct in_addr addr, int prefix, struct in_addr gateway, unsigned mtu,
		  struct diyc_error *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return diyc_error(err, errno, "socket to configure %s", name);
	if (mtu) {
		struct ifreq ifr = { 0 };
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		ifr.ifr_mtu = (int)mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			return diyc_error(err, errno, "set the MTU of %s to %u", name, mtu);
	}
	struct in_addr mask = { htonl(prefix ? ~0U << (32 - prefix) : 0) };
	int r = set_addr(s, SIOCSIFADDR, name, addr, "address", err);
	if (r == 0)
		r = set_addr(s, SIOCSIFNETMASK, name, mask, "netmask", err);
	if (r == 0)
		r = link_up(s, name, err);
	if (r < 0)
		return r;
	struct rtentry rt = { 0 };
	struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway, *dst = (struct sockaddr_in *)&rt.rt_dst,
			   *genmask = (struct sockaddr_in *)&rt.rt_genmask;
	gw->sin_family = dst->sin_family = genmask->sin_family = AF_INET;
	gw->sin_addr = gateway;
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)name;
	if (ioctl(s, SIOCADDRT, &rt) < 0) {
		char g[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &gateway, g, sizeof(g));
		return diyc_error(err, errno, "add the default route via %s", g);
	}
	return 0;
}
