/* SPDX-License-Identifier: MIT */
/* evloop.c: the poll() loop behind a container's supervisor and the exec relay: each fd has
 * its callback; sources with their own fds (relay sockets, slirp's) take part each round. */
#include <errno.h>
#include <stdlib.h>
#include "evloop.h"

int evloop_init(struct evloop *l)
{
	*l = (struct evloop){ 0 };
	l->cap = EVLOOP_MAX_WATCHES;
	l->p = malloc(l->cap * sizeof(*l->p));
	return l->p ? 0 : -ENOMEM;
}

void evloop_free(struct evloop *l)
{
	free(l->p);
	l->p = NULL;
}

int evloop_watch(struct evloop *l, int fd, short events, evloop_fn *fn, void *arg)
{
	if (l->n_watches >= EVLOOP_MAX_WATCHES)
		return -ENOSPC;
	size_t id = l->n_watches++;
	l->w[id].fd = fd;
	l->w[id].events = events;
	l->w[id].fn = fn;
	l->w[id].arg = arg;
	return (int)id;
}

void evloop_set(struct evloop *l, int id, int fd, short events)
{
	if (id < 0 || (size_t)id >= l->n_watches)
		return;
	l->w[id].fd = fd;
	l->w[id].events = events;
}

int evloop_source(struct evloop *l, const struct evloop_source *s)
{
	if (l->n_sources >= EVLOOP_MAX_SOURCES)
		return -ENOSPC;
	l->s[l->n_sources++] = *s;
	return 0;
}

int evloop_run_once(struct evloop *l)
{
	int slot[EVLOOP_MAX_WATCHES];
	size_t n = 0;
	for (size_t i = 0; i < l->n_watches; i++) {
		slot[i] = -1;
		if (l->w[i].fd < 0)
			continue;
		slot[i] = (int)n;
		l->p[n++] = (struct pollfd){ l->w[i].fd, l->w[i].events, 0 };
	}
	int timeout = -1;
	size_t first[EVLOOP_MAX_SOURCES + 1];
	for (size_t k = 0; k < l->n_sources; k++) {
		first[k] = n;
		n = l->s[k].fill(l->s[k].arg, &l->p, &l->cap, n, &timeout);
	}
	first[l->n_sources] = n;
	int pr = poll(l->p, n, timeout);
	int e = errno;
	for (size_t k = 0; k < l->n_sources; k++)
		l->s[k].done(l->s[k].arg, l->p, first[k], first[k + 1] - first[k], pr);
	if (pr < 0)
		return e == EINTR ? 0 : -e;
	for (size_t i = 0; i < l->n_watches && pr > 0; i++)
		if (slot[i] >= 0 && l->p[slot[i]].revents)
			l->w[i].fn(l, l->w[i].arg, l->p[slot[i]].revents);
	return pr;
}
