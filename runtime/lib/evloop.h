/* SPDX-License-Identifier: MIT */
/* evloop.h: a small poll() loop: a callback per fd, plus sources that bring their own set of
 * fds and a timeout each round (the port relay, the slirp process's sockets). */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#define EVLOOP_MAX_WATCHES 16
#define EVLOOP_MAX_SOURCES 4

struct evloop;
/* Called after poll() for a watch whose fd has events (revents). */
typedef void evloop_fn(struct evloop *l, void *arg, short revents);

struct evloop_source {
	/* Adds its fds from fds[n] on (growing *fds and *cap as needed), may lower *timeout_ms;
	 * returns the new count. */
	size_t (*fill)(void *arg, struct pollfd **fds, size_t *cap, size_t n, int *timeout_ms);
	/* After poll(), whose result was polled (< 0: it failed, 0: timeout): the whole array,
	 * whose entries first to first + n - 1 fill() added. */
	void (*done)(void *arg, const struct pollfd *fds, size_t first, size_t n, int polled);
	void *arg;
};

struct evloop {
	struct {
		int fd;          /* -1: not polled this round */
		short events;
		evloop_fn *fn;
		void *arg;
	} w[EVLOOP_MAX_WATCHES];
	size_t n_watches;
	struct evloop_source s[EVLOOP_MAX_SOURCES];
	size_t n_sources;
	struct pollfd *p;
	size_t cap;
};

/* Returns 0 or -ENOMEM. */
int evloop_init(struct evloop *l);
void evloop_free(struct evloop *l);
/* Adds a watch and returns its id (>= 0), or -ENOSPC. fd -1: off until evloop_set(). */
int evloop_watch(struct evloop *l, int fd, short events, evloop_fn *fn, void *arg);
/* Changes what a watch polls (fd -1: nothing) for the next rounds. */
void evloop_set(struct evloop *l, int id, int fd, short events);
/* Adds a source; returns 0 or -ENOSPC. */
int evloop_source(struct evloop *l, const struct evloop_source *s);
/* One round: poll every watch and source, then call the callbacks of the watches that have
 * events, in the order they were added (sources' done() first). Returns the number of fds
 * with events, 0 on EINTR, or -errno when poll() failed otherwise. */
int evloop_run_once(struct evloop *l);
