/* SPDX-License-Identifier: MIT */
/* net.c: setting up the container's own network namespace: loopback, and nothing else
 * until slirp and bridge networking arrive. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "net.h"
#include "util.h"

int loopback_up(struct diyc_error *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return diyc_error(err, errno, "socket for the loopback interface");
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return diyc_error(err, errno, "read flags of `lo`");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return diyc_error(err, errno, "bring up `lo`");
	return 0;
}
