/* SPDX-License-Identifier: MIT */
/* veth.c: the bridge and the veth pairs on the host, over netlink with libnl-3
 * (route). libnl is loaded with dlopen() at first use: diyc runs without a bridge do not
 * pay for mapping it, and the set-uid diyc-nethelper loads it only after clearing its
 * environment, because libnl's constructors read variables (NLDBG turns on debug output,
 * NLSYSCONFDIR chooses a file to read) as soon as it is loaded. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include "lib/dl.h"
#include "veth.h"

#define NL_FUNCS(X) \
	X(nl_socket_alloc) X(nl_socket_free) X(nl_connect) X(nl_geterror) \
	X(nl_addr_build) X(nl_addr_put) X(nl_addr_get_binary_addr) \
	X(nl_cache_get_first) X(nl_cache_get_next) X(nl_cache_free) \
	X(rtnl_link_alloc) X(rtnl_link_put) X(rtnl_link_add) X(rtnl_link_delete) X(rtnl_link_get_kernel) \
	X(rtnl_link_set_name) X(rtnl_link_set_flags) X(rtnl_link_get_flags) X(rtnl_link_set_mtu) \
	X(rtnl_link_get_mtu) X(rtnl_link_get_ifindex) X(rtnl_link_set_ifindex) X(rtnl_link_set_master) X(rtnl_link_set_type) \
	X(rtnl_link_get_type) X(rtnl_link_set_ns_fd) X(rtnl_link_alloc_cache) X(rtnl_link_get_master) \
	X(rtnl_link_get_name) X(rtnl_link_veth_alloc) X(rtnl_link_veth_get_peer) \
	X(rtnl_addr_alloc) X(rtnl_addr_put) X(rtnl_addr_alloc_cache) X(rtnl_addr_add) X(rtnl_addr_set_ifindex) \
	X(rtnl_addr_get_ifindex) X(rtnl_addr_get_family) X(rtnl_addr_set_local) X(rtnl_addr_get_local) \
	X(rtnl_addr_get_prefixlen) X(rtnl_addr_set_prefixlen)

static struct nl_fns {
	NL_FUNCS(DL_FIELD)
} L;

static int nl_load(struct diyc_error *err)
{
	static const char *const names[] = { NL_FUNCS(DL_NAME) };
	return dl_load("libnl-route-3.so.200", "libnl-route-3-200", names, (void **)&L,
		       sizeof(names) / sizeof(names[0]), err);
}

struct netlink {
	struct nl_sock *sock;
};

/* libnl's error codes, as the errno they stand for (its message goes along). */
static int nl_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST: return EEXIST;
	case NLE_NOMEM: return ENOMEM;
	case NLE_INVAL: return EINVAL;
	case NLE_RANGE: return ERANGE;
	case NLE_OPNOTSUPP: return EOPNOTSUPP;
	case NLE_OBJ_NOTFOUND: case NLE_NODEV: return ENODEV;
	case NLE_BUSY: return EBUSY;
	case NLE_NOACCESS: case NLE_PERM: return EPERM;
	case NLE_NOADDR: return EADDRNOTAVAIL;
	default: return EIO;
	}
}

static int nl_fail(struct diyc_error *err, int nle, const char *what, const char *name)
{
	int e = nl_errno(nle);
	diyc_error_plain(err, e, "%s `%s`: %s", what, name, L.nl_geterror(nle));
	return -e;
}

void subnet_format(struct in_addr addr, int prefix, char buf[32])
{
	buf[0] = '\0';
	if (prefix <= 0 || prefix > 32)
		return;
	struct in_addr net = { htonl(ntohl(addr.s_addr) & (~0U << (32 - prefix))) };
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &net, a, sizeof(a));
	snprintf(buf, 32, "%s/%d", a, prefix);
}

int netlink_open(struct netlink **out, struct diyc_error *err)
{
	int r = nl_load(err);
	if (r < 0)
		return r;
	struct netlink *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return diyc_error(err, ENOMEM, "netlink");
	nl->sock = L.nl_socket_alloc();
	if (!nl->sock) {
		free(nl);
		return diyc_error(err, ENOMEM, "netlink");
	}
	r = L.nl_connect(nl->sock, NETLINK_ROUTE);
	if (r < 0) {
		L.nl_socket_free(nl->sock);
		free(nl);
		return nl_fail(err, r, "connect to", "rtnetlink");
	}
	*out = nl;
	return 0;
}

void netlink_close(struct netlink *nl)
{
	if (!nl)
		return;
	L.nl_socket_free(nl->sock);
	free(nl);
}

/* The first IPv4 address of link ifindex into out (prefix 0: it has none). */
static int first_ipv4(struct netlink *nl, int ifindex, struct bridge_info *out, const char *name,
		      struct diyc_error *err)
{
	struct nl_cache *cache;
	int r;
	/* a dump that links came or went during is interrupted (NLE_DUMP_INTR): on a host
	 * where containers start and end, that happens; ask again */
	for (int tries = 0;; tries++) {
		r = L.rtnl_addr_alloc_cache(nl->sock, &cache);
		if (r != -NLE_DUMP_INTR || tries == 20)
			break;
	}
	if (r < 0)
		return nl_fail(err, r, "list the addresses of", name);
	for (struct nl_object *o = L.nl_cache_get_first(cache); o; o = L.nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		if (L.rtnl_addr_get_ifindex(a) != ifindex || L.rtnl_addr_get_family(a) != AF_INET)
			continue;
		struct nl_addr *local = L.rtnl_addr_get_local(a);
		if (!local)
			continue;
		memcpy(&out->addr, L.nl_addr_get_binary_addr(local), sizeof(out->addr));
		out->prefix = L.rtnl_addr_get_prefixlen(a);
		break;
	}
	L.nl_cache_free(cache);
	return 0;
}

int bridge_query(struct netlink *nl, const char *name, struct bridge_info *out, struct diyc_error *err)
{
	memset(out, 0, sizeof(*out));
	struct rtnl_link *link;
	int r = L.rtnl_link_get_kernel(nl->sock, 0, name, &link);
	if (r < 0) {
		int e = nl_errno(r);
		if (e == ENODEV)
			return diyc_error_plain(err, ENODEV, "there is no bridge `%s`", name);
		return nl_fail(err, r, "look up", name);
	}
	const char *type = L.rtnl_link_get_type(link);
	if (!type || strcmp(type, "bridge") != 0) {
		L.rtnl_link_put(link);
		return diyc_error_plain(err, EMEDIUMTYPE, "`%s` is not a bridge", name);
	}
	out->ifindex = L.rtnl_link_get_ifindex(link);
	out->mtu = L.rtnl_link_get_mtu(link);
	out->up = L.rtnl_link_get_flags(link) & IFF_UP;
	L.rtnl_link_put(link);
	return first_ipv4(nl, out->ifindex, out, name, err);
}

int bridge_create(struct netlink *nl, const char *name, struct in_addr addr, int prefix, struct diyc_error *err)
{
	struct rtnl_link *link = L.rtnl_link_alloc();
	if (!link)
		return diyc_error(err, ENOMEM, "netlink");
	L.rtnl_link_set_name(link, name);
	int r = L.rtnl_link_set_type(link, "bridge");
	if (r == 0)
		r = L.rtnl_link_add(nl->sock, link, NLM_F_CREATE | NLM_F_EXCL);
	L.rtnl_link_put(link);
	if (r < 0)
		return nl_fail(err, r, "create the bridge", name);
	struct bridge_info b;
	int e = bridge_query(nl, name, &b, err);
	if (e < 0)
		return e;
	struct rtnl_addr *a = L.rtnl_addr_alloc();
	struct nl_addr *local = L.nl_addr_build(AF_INET, &addr, sizeof(addr));
	if (!a || !local) {
		if (a)
			L.rtnl_addr_put(a);
		if (local)
			L.nl_addr_put(local);
		return diyc_error(err, ENOMEM, "netlink");
	}
	L.rtnl_addr_set_ifindex(a, b.ifindex);
	r = L.rtnl_addr_set_local(a, local);
	L.nl_addr_put(local);
	if (r == 0) {
		/* the prefix goes after the address: setting the local address resets it */
		L.rtnl_addr_set_prefixlen(a, prefix);
		r = L.rtnl_addr_add(nl->sock, a, NLM_F_CREATE | NLM_F_EXCL);
	}
	L.rtnl_addr_put(a);
	if (r < 0)
		return nl_fail(err, r, "give an address to", name);
	struct rtnl_link *want = L.rtnl_link_alloc();
	if (!want)
		return diyc_error(err, ENOMEM, "netlink");
	L.rtnl_link_set_name(want, name);
	L.rtnl_link_set_flags(want, IFF_UP);
	/* an add of an existing link without NLM_F_CREATE changes it: here, brings it up */
	r = L.rtnl_link_add(nl->sock, want, 0);
	L.rtnl_link_put(want);
	if (r < 0)
		return nl_fail(err, r, "bring up", name);
	return 0;
}

int veth_create(struct netlink *nl, const char *host_name, int bridge_ifindex, unsigned mtu, int netns_fd,
		const char *peer_name, struct diyc_error *err)
{
	struct rtnl_link *veth = L.rtnl_link_veth_alloc();
	if (!veth)
		return diyc_error(err, ENOMEM, "netlink");
	struct rtnl_link *peer = L.rtnl_link_veth_get_peer(veth);
	/* one request: the host end enslaved and up, the peer born in the container's namespace */
	L.rtnl_link_set_name(veth, host_name);
	L.rtnl_link_set_master(veth, bridge_ifindex);
	L.rtnl_link_set_flags(veth, IFF_UP);
	L.rtnl_link_set_name(peer, peer_name);
	L.rtnl_link_set_ns_fd(peer, netns_fd);
	if (mtu) {
		L.rtnl_link_set_mtu(veth, mtu);
		L.rtnl_link_set_mtu(peer, mtu);
	}
	int r = L.rtnl_link_add(nl->sock, veth, NLM_F_CREATE | NLM_F_EXCL);
	L.rtnl_link_put(peer);
	L.rtnl_link_put(veth);
	if (r < 0 && nl_errno(r) == EEXIST)
		return diyc_error_plain(err, EEXIST, "create the veth pair `%s`: a link `%s` exists already, or a "
					"`%s` in the container's network namespace", host_name, host_name, peer_name);
	if (r < 0)
		return nl_fail(err, r, "create the veth pair", host_name);
	return 0;
}

int link_delete(struct netlink *nl, const char *name, struct diyc_error *err)
{
	struct rtnl_link *link = L.rtnl_link_alloc();
	if (!link)
		return diyc_error(err, ENOMEM, "netlink");
	L.rtnl_link_set_name(link, name);
	int r = L.rtnl_link_delete(nl->sock, link);
	L.rtnl_link_put(link);
	if (r < 0)
		return nl_fail(err, r, "delete the link", name);
	return 0;
}

int link_index(const char *name)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int r = ioctl(s, SIOCGIFINDEX, &ifr) == 0 ? ifr.ifr_ifindex : errno == ENODEV ? 0 : -errno;
	close(s);
	return r;
}

int link_state(const char *name)
{
	int r = link_index(name);
	return r > 0 ? 1 : r;
}

int link_delete_index(struct netlink *nl, int ifindex, struct diyc_error *err)
{
	struct rtnl_link *link = L.rtnl_link_alloc();
	if (!link)
		return diyc_error(err, ENOMEM, "netlink");
	L.rtnl_link_set_ifindex(link, ifindex);
	int r = L.rtnl_link_delete(nl->sock, link);
	L.rtnl_link_put(link);
	if (r < 0) {
		char name[16];
		snprintf(name, sizeof(name), "%d", ifindex);
		return nl_fail(err, r, "delete the link of index", name);
	}
	return 0;
}

int bridge_ports(struct netlink *nl, int bridge_ifindex, const char *prefix, struct link_ref **out, size_t *n,
		 struct diyc_error *err)
{
	struct nl_cache *cache;
	int r;
	/* a dump that links came or went during is interrupted: ask again (see first_ipv4) */
	for (int tries = 0;; tries++) {
		r = L.rtnl_link_alloc_cache(nl->sock, AF_UNSPEC, &cache);
		if (r != -NLE_DUMP_INTR || tries == 20)
			break;
	}
	if (r < 0)
		return nl_fail(err, r, "list the links of", "the host");
	struct link_ref *v = NULL;
	size_t count = 0, cap = 0;
	size_t plen = strlen(prefix);
	for (struct nl_object *o = L.nl_cache_get_first(cache); o; o = L.nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;
		const char *name = L.rtnl_link_get_name(link);
		if (L.rtnl_link_get_master(link) != bridge_ifindex || !name || strncmp(name, prefix, plen) != 0 ||
		    strlen(name) >= IFNAMSIZ)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			struct link_ref *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				L.nl_cache_free(cache);
				return diyc_error(err, ENOMEM, "links");
			}
			v = nv;
		}
		v[count].ifindex = L.rtnl_link_get_ifindex(link);
		snprintf(v[count].name, IFNAMSIZ, "%s", name);
		count++;
	}
	L.nl_cache_free(cache);
	*out = v;
	*n = count;
	return 0;
}
