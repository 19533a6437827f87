/* SPDX-License-Identifier: MIT */
/* hostfiles.c: generated /etc files, bind-mounted over the image's at start, so every
 * container has its own hostname and resolver configuration and the image stays untouched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "hostfiles.h"
#include "lib/util.h"

#define UPSTREAM_RESOLV "/run/systemd/resolve/resolv.conf"

static bool is_loopback_ns(const char *addr)
{
	return str_has_prefix(addr, "127.") || !strcmp(addr, "::1") || !strcmp(addr, "0:0:0:0:0:0:0:1");
}

bool resolv_conf_is_stub(const char *contents)
{
	for (const char *l = contents; l && *l;) {
		const char *eol = strchrnul(l, '\n');
		char addr[64];
		if (sscanf(l, "nameserver %63s", addr) == 1 && (size_t)(eol - l) > 11 &&
		    !strcmp(addr, "127.0.0.53"))
			return true;
		l = *eol ? eol + 1 : eol;
	}
	return false;
}

char *resolv_conf_filter(const char *in, bool own_netns)
{
	size_t cap = strlen(in) + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t n = 0;
	for (const char *l = in; *l;) {
		const char *eol = strchrnul(l, '\n');
		size_t len = eol - l;
		char addr[64];
		char line[512];
		bool keep = true;
		if (len < sizeof(line)) {
			memcpy(line, l, len);
			line[len] = '\0';
			if (own_netns && sscanf(line, " nameserver %63s", addr) == 1 && is_loopback_ns(addr))
				keep = false;
		}
		if (keep) {
			memcpy(out + n, l, len);
			n += len;
			out[n++] = '\n';
			if (n >= cap) /* only when the input lacked a final newline */
				break;
		}
		l = *eol ? eol + 1 : eol;
	}
	if (n >= cap)
		n = cap - 1;
	out[n] = '\0';
	return out;
}

char *resolv_conf_with_nameserver(const char *in, const char *dns)
{
	_cleanup_free_ char *rest = malloc(strlen(in) + 1);
	if (!rest)
		return NULL;
	size_t n = 0;
	for (const char *l = in; *l;) {
		const char *eol = strchrnul(l, '\n');
		const char *w = l + strspn(l, " \t");
		if (strncmp(w, "nameserver", 10) || !strchr(" \t", w[10]) || w + 10 >= eol) {
			memcpy(rest + n, l, eol - l);
			n += eol - l;
			if (*eol)
				rest[n++] = '\n';
		}
		l = *eol ? eol + 1 : eol;
	}
	rest[n] = '\0';
	return xasprintf("nameserver %s\n%s%s", dns, rest, n && rest[n - 1] != '\n' ? "\n" : "");
}

int hostfiles_write(int dirfd, const char *hostname, bool own_netns, const char *dns, struct diyc_error *err)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s\n", hostname);
	int r = write_file_at(dirfd, "hostname", buf, n, 0644);
	if (r < 0)
		return diyc_error(err, -r, "write the container's hostname file");
	n = snprintf(buf, sizeof(buf),
		     "127.0.0.1\tlocalhost\n"
		     "::1\tlocalhost ip6-localhost ip6-loopback\n"
		     "127.0.1.1\t%s\n", hostname);
	r = write_file_at(dirfd, "hosts", buf, n, 0644);
	if (r < 0)
		return diyc_error(err, -r, "write the container's hosts file");

	_cleanup_free_ char *host = NULL;
	r = read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 16, &host, NULL);
	if (r < 0 && r != -ENOENT)
		return diyc_error(err, -r, "read /etc/resolv.conf");
	if (host && own_netns && !dns && resolv_conf_is_stub(host)) {
		/* the stub listens on the host's loopback only: use the servers behind it */
		char *up = NULL;
		if (read_file_at(AT_FDCWD, UPSTREAM_RESOLV, 1 << 16, &up, NULL) == 0) {
			free(host);
			host = up;
		}
	}
	/* slirp's forwarder sends the queries on from the host, stub resolver included */
	_cleanup_free_ char *out = dns ? resolv_conf_with_nameserver(host ? host : "", dns)
				       : resolv_conf_filter(host ? host : "", own_netns);
	if (!out)
		return diyc_error(err, ENOMEM, "resolv.conf");
	r = write_file_at(dirfd, "resolv.conf", out, strlen(out), 0644);
	if (r < 0)
		return diyc_error(err, -r, "write the container's resolv.conf");
	return 0;
}
