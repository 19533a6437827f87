/* SPDX-License-Identifier: MIT */
/* lease.c: the lease database of a bridge (see net/lease.h). It runs in
 * diyc-nethelper as root on behalf of a user, so it trusts nothing on disk that root
 * did not make: its directory must be root's and closed to others, its files are opened
 * without following symlinks, and a damaged file is an error, never a guess. What it
 * makes is root's, group too, whoever runs it. Killed at any instant, it leaves every
 * veth of ours with its lease: a lease is written before its veth is created and goes
 * only once its veth is deleted, all under the lock, which is never held while sleeping. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lease.h"
#include "veth.h"
#include "lib/util.h"

#define LEASES_FILE_MAX (4 << 20)
#define LOCK_WAIT_MS 10000

bool bridge_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= IFNAMSIZ || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

void lease_veth_name(struct in_addr addr, char name[IFNAMSIZ])
{
	snprintf(name, IFNAMSIZ, LEASE_VETH_PREFIX "%08x", ntohl(addr.s_addr));
}

bool lease_port_orphan(const struct lease *v, size_t n, const char *port)
{
	if (strncmp(port, LEASE_VETH_PREFIX, strlen(LEASE_VETH_PREFIX)) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].veth, port) == 0)
			return false;
	return true;
}

int leases_parse(const char *text, struct lease **out, size_t *n, struct diyc_error *err)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0, line = 0;
	struct lease *v = NULL;
	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		if (!end) {
			free(v);
			return diyc_error_plain(err, EINVAL, "line %zu does not end", line + 1);
		}
		line++;
		char buf[128], addr[32], veth[32], extra[2];
		unsigned long uid;
		size_t len = end - p;
		if (len >= sizeof(buf))
			goto bad;
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (sscanf(buf, "%31s %31s %lu %1s", addr, veth, &uid, extra) != 3 || uid > 0xfffffffeUL ||
		    strlen(veth) >= IFNAMSIZ || strchr(buf, '-'))
			goto bad;
		if (*n == LEASES_MAX)
			goto bad;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct lease *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return diyc_error(err, ENOMEM, "leases");
			}
			v = nv;
		}
		struct lease *l = &v[*n];
		if (inet_pton(AF_INET, addr, &l->addr) != 1)
			goto bad;
		char want[IFNAMSIZ];
		lease_veth_name(l->addr, want);
		if (strcmp(want, veth) != 0)
			goto bad;
		memcpy(l->veth, want, IFNAMSIZ);
		l->uid = uid;
		for (size_t i = 0; i < *n; i++)
			if (v[i].addr.s_addr == l->addr.s_addr)
				goto bad;
		(*n)++;
		p = end + 1;
	}
	*out = v;
	return 0;
bad:
	free(v);
	*n = 0;
	return diyc_error_plain(err, EINVAL, "line %zu is not `ADDRESS VETH UID`", line);
}

/* -- the files --------------------------------------------------------------------------------- */

struct lease_db {
	int dirfd, lockfd;
	char bridge[IFNAMSIZ];
	struct lease *v;
	size_t n;
};

static void db_close(struct lease_db *db)
{
	free(db->v);
	if (db->lockfd >= 0)
		close(db->lockfd); /* lets go of the flock */
	if (db->dirfd >= 0)
		close(db->dirfd);
	db->v = NULL;
	db->lockfd = db->dirfd = -1;
}

/* NET_RUNDIR, made if need be, and checked to be ours (root's) and closed to others. */
static int open_rundir(bool create, struct diyc_error *err)
{
	if (create) {
		char path[] = DIYC_NET_RUNDIR;
		for (char *s = path + 1;; s++) {
			if (*s != '/' && *s)
				continue;
			char c = *s;
			*s = '\0';
			if (mkdir(path, 0755) == 0)
				chmod(path, 0755); /* whatever the umask */
			else if (errno != EEXIST)
				return diyc_error(err, errno, "create `%s`", path);
			if (!c)
				break;
			*s = c;
		}
	}
	int fd = open(DIYC_NET_RUNDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return diyc_error(err, errno, "open `%s`", DIYC_NET_RUNDIR);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return diyc_error_plain(err, EPERM, "`%s` is not root's alone: remove it", DIYC_NET_RUNDIR);
	}
	if (create && st.st_gid != 0 && fchown(fd, 0, 0) < 0) {
		/* made by an older diyc-nethelper, in its caller's group */
		int e = errno;
		close(fd);
		return diyc_error(err, e, "chown `%s`", DIYC_NET_RUNDIR);
	}
	return fd;
}

static int read_leases(struct lease_db *db, struct diyc_error *err)
{
	char name[IFNAMSIZ + 16];
	snprintf(name, sizeof(name), "%s.leases", db->bridge);
	int fd = openat(db->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return diyc_error(err, errno, "open `%s/%s`", DIYC_NET_RUNDIR, name);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_size > LEASES_FILE_MAX) {
		close(fd);
		return diyc_error_plain(err, EPERM, "`%s/%s` is not a lease file of root's: remove it",
					DIYC_NET_RUNDIR, name);
	}
	char *text = malloc(st.st_size + 1);
	if (!text) {
		close(fd);
		return diyc_error(err, ENOMEM, "leases");
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	close(fd);
	text[got] = '\0';
	struct diyc_error perr = { 0 };
	int r = leases_parse(text, &db->v, &db->n, &perr);
	free(text);
	if (r < 0)
		return diyc_error_plain(err, EINVAL, "`%s/%s` is damaged: %s (remove it: running containers keep "
					"their addresses, new ones may then be given the same)",
					DIYC_NET_RUNDIR, name, perr.msg);
	return 0;
}

/* Opens bridge's database and reads it, under an exclusive lock (to change it; create:
 * making its files if need be) or, for root, a shared one. A normal user reads the leases
 * without the lock, which is root's alone (0600: nobody else can hold it): the file is
 * replaced whole, never changed in place. A database never written reads as empty. */
static int db_open(const char *bridge, bool exclusive, bool create, struct lease_db *db, struct diyc_error *err)
{
	memset(db, 0, sizeof(*db));
	db->dirfd = db->lockfd = -1;
	if (!bridge_name_valid(bridge))
		return diyc_error_plain(err, EINVAL, "`%.40s` is not a bridge name", bridge);
	snprintf(db->bridge, sizeof(db->bridge), "%s", bridge);
	int r = open_rundir(create, err);
	if (r < 0) {
		if (!create && r == -ENOENT)
			return 0;
		return r;
	}
	db->dirfd = r;
	if (!exclusive && geteuid() != 0) {
		r = read_leases(db, err);
		if (r < 0)
			db_close(db);
		return r;
	}
	char name[IFNAMSIZ + 16];
	snprintf(name, sizeof(name), "%s.lock", bridge);
	db->lockfd = openat(db->dirfd, name, O_RDWR | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (db->lockfd < 0) {
		r = -errno;
		if (!create && r == -ENOENT) {
			db_close(db);
			return 0;
		}
		diyc_error(err, -r, "open `%s/%s`", DIYC_NET_RUNDIR, name);
		db_close(db);
		return r;
	}
	struct stat st;
	if (fstat(db->lockfd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0) {
		db_close(db);
		return diyc_error_plain(err, EPERM, "`%s/%s` is not a lock file of root's: remove it",
					DIYC_NET_RUNDIR, name);
	}
	if ((st.st_mode & 07777) != 0600)
		fchmod(db->lockfd, 0600); /* one made by an older diyc, or under another umask */
	if (st.st_gid != 0 && fchown(db->lockfd, 0, 0) < 0) {
		/* root's group, whoever made it (an older diyc-nethelper: its caller's) */
		r = diyc_error(err, errno, "chown `%s/%s`", DIYC_NET_RUNDIR, name);
		db_close(db);
		return r;
	}
	/* bounded: a holder stopped by its caller (SIGSTOP) must not hold everyone up */
	for (int waited_ms = 0; flock(db->lockfd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0;) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = diyc_error(err, errno, "lock `%s/%s`", DIYC_NET_RUNDIR, name);
			db_close(db);
			return r;
		}
		if (waited_ms >= LOCK_WAIT_MS) {
			r = diyc_error_plain(err, EBUSY, "the leases of bridge `%s` stayed locked for %d s (a stopped "
					     "diyc-nethelper?): try again", bridge, LOCK_WAIT_MS / 1000);
			db_close(db);
			return r;
		}
		usleep(waited_ms < 20 ? 500 : 5000);
		waited_ms += waited_ms < 20 ? 1 : 5;
	}
	r = read_leases(db, err);
	if (r < 0)
		db_close(db);
	return r;
}

static int db_save(struct lease_db *db, struct diyc_error *err)
{
	char name[IFNAMSIZ + 16], tmp[IFNAMSIZ + 16];
	snprintf(name, sizeof(name), "%s.leases", db->bridge);
	snprintf(tmp, sizeof(tmp), "%s.leases~", db->bridge);
	unlinkat(db->dirfd, tmp, 0);
	int fd = openat(db->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return diyc_error(err, errno, "create `%s/%s`", DIYC_NET_RUNDIR, tmp);
	/* readable by all (`diyc network ls`), whatever the umask; root's group, whatever
	 * the group of the process that makes it */
	if (fchmod(fd, 0644) < 0 || fchown(fd, 0, 0) < 0) {
		int e = errno;
		close(fd);
		unlinkat(db->dirfd, tmp, 0);
		return diyc_error(err, e, "set the owner of `%s/%s`", DIYC_NET_RUNDIR, tmp);
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return diyc_error(err, errno, "write `%s/%s`", DIYC_NET_RUNDIR, tmp);
	}
	for (size_t i = 0; i < db->n; i++) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &db->v[i].addr, a, sizeof(a));
		fprintf(f, "%s %s %u\n", a, db->v[i].veth, (unsigned)db->v[i].uid);
	}
	if (fflush(f) != 0 || ferror(f)) {
		int e = errno;
		fclose(f);
		unlinkat(db->dirfd, tmp, 0);
		return diyc_error(err, e, "write `%s/%s`", DIYC_NET_RUNDIR, tmp);
	}
	fclose(f);
	if (renameat(db->dirfd, tmp, db->dirfd, name) < 0) {
		int e = errno;
		unlinkat(db->dirfd, tmp, 0);
		return diyc_error(err, e, "replace `%s/%s`", DIYC_NET_RUNDIR, name);
	}
	return 0;
}

/* Deletes the ports of ours (LEASE_VETH_PREFIX) on the bridge of index bridge_ifindex
 * that hold no lease. Under the lock such a port is nobody's: a veth has its lease from
 * before it is created until after it is deleted. It is what a helper of an older diyc
 * left when killed between giving a lease back and deleting its veth, or one made by
 * hand; the addresses it blocks (see addr_free) come back. */
static int db_reclaim_ports(struct lease_db *db, struct netlink *nl, int bridge_ifindex, struct diyc_error *err)
{
	_cleanup_free_ struct link_ref *ports = NULL;
	size_t n = 0;
	int r = bridge_ports(nl, bridge_ifindex, LEASE_VETH_PREFIX, &ports, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!lease_port_orphan(db->v, db->n, ports[i].name))
			continue;
		r = link_delete_index(nl, ports[i].ifindex, err);
		if (r == -ENODEV)
			r = 0; /* gone meanwhile */
	}
	return r;
}

/* Deletes the bridge's ports that hold no lease (nl: when the caller changes the
 * database, on the bridge of index bridge_ifindex, if any) and drops the leases whose
 * veth is gone; returns how many leases, or a negative errno when a veth's presence
 * cannot be told (then nothing is dropped). */
static int db_reclaim(struct lease_db *db, struct netlink *nl, int bridge_ifindex, struct diyc_error *err)
{
	if (nl && bridge_ifindex > 0) {
		int r = db_reclaim_ports(db, nl, bridge_ifindex, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < db->n; i++) {
		int st = link_state(db->v[i].veth);
		if (st < 0)
			return diyc_error(err, -st, "look up link `%s`", db->v[i].veth);
	}
	size_t kept = 0, n = db->n;
	for (size_t i = 0; i < n; i++)
		if (link_state(db->v[i].veth) != 0)
			db->v[kept++] = db->v[i];
	db->n = kept;
	return (int)(n - kept);
}

static struct lease *db_find(struct lease_db *db, struct in_addr a)
{
	for (size_t i = 0; i < db->n; i++)
		if (db->v[i].addr.s_addr == a.s_addr)
			return &db->v[i];
	return NULL;
}

/* -- what the callers do ---------------------------------------------------------------------- */

static void addr_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* Whether host address a (host order) of the subnet is free: not the bridge's, not leased,
 * and no veth of that name left over. */
static bool addr_free(struct lease_db *db, const struct bridge_info *b, uint32_t a)
{
	struct in_addr in = { htonl(a) };
	if (in.s_addr == b->addr.s_addr || db_find(db, in))
		return false;
	char veth[IFNAMSIZ];
	lease_veth_name(in, veth);
	return link_state(veth) == 0; /* a left-over link, or one that cannot be looked up: not free */
}

static int pick_address(struct lease_db *db, const struct bridge_info *b, const struct in_addr *want,
			struct in_addr *out, struct diyc_error *err)
{
	uint32_t mask = b->prefix ? ~0U << (32 - b->prefix) : 0;
	uint32_t net = ntohl(b->addr.s_addr) & mask, bcast = net | ~mask;
	char sub[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];
	addr_str((struct in_addr){ htonl(net) }, sub);
	if (want) {
		uint32_t w = ntohl(want->s_addr);
		addr_str(*want, a);
		if ((w & mask) != net)
			return diyc_error_plain(err, EADDRNOTAVAIL, "%s is not in the subnet %s/%d of bridge `%s`", a,
						sub, b->prefix, db->bridge);
		if (w == net || w == bcast)
			return diyc_error_plain(err, EADDRNOTAVAIL,
						"%s is the %s address of the subnet %s/%d: choose another", a,
						w == net ? "network" : "broadcast", sub, b->prefix);
		if (want->s_addr == b->addr.s_addr)
			return diyc_error_plain(err, EADDRNOTAVAIL, "%s is the address of bridge `%s` itself", a,
						db->bridge);
		/* no waiting here, under the lock: a veth of ours without a lease is gone by
		 * now (deleted before its lease goes, or reclaimed by db_reclaim) */
		if (!addr_free(db, b, w))
			return diyc_error_hint(err, diyc_error_plain(err, EADDRINUSE, "%s is taken on bridge `%s`", a,
								     db->bridge),
					       DIYC_HINT_NET_IP_TAKEN, NULL);
		*out = *want;
		return 0;
	}
	for (uint32_t h = net + 1; h < bcast; h++) {
		if (addr_free(db, b, h)) {
			out->s_addr = htonl(h);
			return 0;
		}
	}
	return diyc_error_plain(err, EADDRNOTAVAIL, "every address of the subnet %s/%d of bridge `%s` is taken", sub,
				b->prefix, db->bridge);
}

int lease_acquire(const char *bridge, uid_t uid, const struct in_addr *want, unsigned quota, int netns_fd,
		  struct lease_grant *out, struct diyc_error *err)
{
	struct netlink *nl = NULL;
	int r = netlink_open(&nl, err);
	if (r < 0)
		return r;
	struct bridge_info b;
	r = bridge_query(nl, bridge, &b, err);
	if (r == -ENODEV)
		diyc_error_hint(err, diyc_error_plain(err, ENODEV, "there is no bridge `%s`", bridge),
				DIYC_HINT_NET_NO_BRIDGE, NULL);
	if (r < 0)
		goto out_nl;
	if (b.prefix < 1 || b.prefix > 30) {
		r = diyc_error_hint(err, diyc_error_plain(err, EADDRNOTAVAIL, "bridge `%s` has no IPv4 subnet with room "
							  "for containers", bridge),
				    DIYC_HINT_NET_BRIDGE_NO_SUBNET, NULL);
		goto out_nl;
	}
	struct lease_db db;
	r = db_open(bridge, true, true, &db, err);
	if (r < 0)
		goto out_nl;
	r = db_reclaim(&db, nl, b.ifindex, err);
	if (r < 0)
		goto out_db;
	bool changed = r > 0;
	size_t held = 0;
	for (size_t i = 0; i < db.n; i++)
		held += db.v[i].uid == uid;
	if (quota && held >= quota) {
		r = diyc_error_plain(err, EDQUOT,
				     "uid %u holds %zu of the %u addresses it may have on bridge `%s`: stop a "
				     "container, or ask root to raise its count in /etc/diyc/nethelper.conf",
				     (unsigned)uid, held, quota, bridge);
		goto out_save;
	}
	if (db.n >= LEASES_MAX) {
		r = diyc_error_plain(err, EDQUOT, "bridge `%s` has %d leases, as many as diyc keeps", bridge, LEASES_MAX);
		goto out_save;
	}
	struct in_addr addr = { 0 };
	r = pick_address(&db, &b, want, &addr, err);
	if (r < 0)
		goto out_save;
	struct lease *nv = realloc(db.v, (db.n + 1) * sizeof(*nv));
	if (!nv) {
		r = diyc_error(err, ENOMEM, "leases");
		goto out_save;
	}
	db.v = nv;
	struct lease *l = &db.v[db.n++];
	l->addr = addr;
	l->uid = uid;
	lease_veth_name(addr, l->veth);
	/* the lease is written before its veth exists: a caller killed in between leaves a
	 * stale lease (dropped by the next change), never a veth outside its quota */
	r = db_save(&db, err);
	if (r < 0)
		goto out_db;
	r = veth_create(nl, l->veth, b.ifindex, b.mtu, netns_fd, BRIDGE_PEER_NAME, err);
	if (r < 0) {
		/* the kernel may have made it though libnl failed after sending (out of memory for
		 * the answer): the lease goes only with the veth, a stale lease being harmless */
		struct diyc_error ignored;
		if (link_state(l->veth) != 0 && link_delete(nl, l->veth, &ignored) < 0 && link_state(l->veth) != 0)
			goto out_db;
		db.n--;
		changed = true;
		goto out_save;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->bridge, sizeof(out->bridge), "%s", bridge);
	lease_veth_name(addr, out->veth);
	out->addr = addr;
	out->gateway = b.addr;
	out->prefix = b.prefix;
	out->mtu = b.mtu;
	goto out_db;
out_save:
	if (changed) {
		struct diyc_error ignored;
		db_save(&db, &ignored);
	}
out_db:
	db_close(&db);
out_nl:
	netlink_close(nl);
	return r;
}

/* lease_release under the lock of db: the veth goes first, while its lease still holds
 * the address, and the lease only once the veth is gone. Killed at any instant, this
 * leaves the lease with its veth, or a stale lease (dropped by the next change), never
 * a veth without a lease. The deletion is waited for (some 20 ms: the kernel's RCU grace
 * periods), so when the lease goes, so has the veth's name. */
static int release_locked(struct lease_db *db, struct netlink *nl, uid_t uid, bool any_owner, struct in_addr addr,
			  struct diyc_error *err)
{
	char a[INET_ADDRSTRLEN];
	addr_str(addr, a);
	struct bridge_info b;
	struct diyc_error ignored;
	/* a bridge that is gone has no ports to reclaim; its leases still go */
	int bridge = bridge_query(nl, db->bridge, &b, &ignored) == 0 ? b.ifindex : 0;
	int r = db_reclaim(db, nl, bridge, err);
	if (r < 0)
		return r;
	bool changed = r > 0;
	r = 0;
	struct lease *l = db_find(db, addr);
	if (!l) {
		r = diyc_error_plain(err, ENOENT, "no container holds %s on bridge `%s`", a, db->bridge);
	} else if (!any_owner && l->uid != uid) {
		r = diyc_error_plain(err, EPERM, "%s on bridge `%s` is not yours", a, db->bridge);
	} else {
		/* by its index, read under the lock while the name is the lease's */
		int ifindex = link_index(l->veth);
		if (ifindex < 0)
			r = diyc_error(err, -ifindex, "look up link `%s`", l->veth);
		else if (ifindex > 0 && (r = link_delete_index(nl, ifindex, err)) == -ENODEV)
			r = 0; /* the kernel removed it meanwhile, with its container's namespace */
		if (r == 0) {
			*l = db->v[--db->n];
			changed = true;
		}
	}
	if (changed) {
		struct diyc_error save_err;
		int s = db_save(db, &save_err);
		if (r == 0 && s < 0) {
			*err = save_err;
			r = s;
		}
	}
	return r;
}

int lease_release(const char *bridge, uid_t uid, bool any_owner, struct in_addr addr, struct diyc_error *err)
{
	char a[INET_ADDRSTRLEN];
	addr_str(addr, a);
	struct netlink *nl = NULL;
	int r = netlink_open(&nl, err);
	if (r < 0)
		return r;
	struct lease_db db;
	/* never creates anything: no database, no lease to give back */
	r = db_open(bridge, true, false, &db, err);
	if (r == 0 && db.lockfd < 0)
		r = diyc_error_plain(err, ENOENT, "no container holds %s on bridge `%s`", a, bridge);
	if (r == 0)
		r = release_locked(&db, nl, uid, any_owner, addr, err);
	db_close(&db);
	netlink_close(nl);
	return r;
}

int lease_list(const char *bridge, struct lease **out, size_t *n, struct diyc_error *err)
{
	struct lease_db db;
	int r = db_open(bridge, false, false, &db, err);
	if (r == 0)
		r = db_reclaim(&db, NULL, 0, err);
	if (r < 0) {
		db_close(&db);
		return r;
	}
	*out = db.v;
	*n = db.n;
	db.v = NULL;
	db_close(&db);
	return 0;
}

int lease_forget(const char *bridge, struct diyc_error *err)
{
	/* under the lock, so that nobody is changing the files being removed */
	struct lease_db db;
	int r = db_open(bridge, true, false, &db, err);
	if (r < 0 || db.dirfd < 0)
		return r;
	static const char *const suffixes[] = { ".leases", ".leases~", ".lock" };
	for (size_t i = 0; i < 3; i++) {
		char name[IFNAMSIZ + 16];
		snprintf(name, sizeof(name), "%s%s", bridge, suffixes[i]);
		if (unlinkat(db.dirfd, name, 0) < 0 && errno != ENOENT && r == 0)
			r = diyc_error(err, errno, "remove `%s/%s`", DIYC_NET_RUNDIR, name);
	}
	db_close(&db);
	return r;
}
