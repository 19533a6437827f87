/* SPDX-License-Identifier: MIT */
/* sync.h: the messages between `create` and the container's init on their SEQPACKET
 * socket. Each starts with a uint32 type; errors are struct sync_msg of container/. */
#pragma once
#include <stdint.h>
#include "container/container.h"
#include "security/seccomp-filter.h"
#include "oci.h"

enum oci_sync {
	OCI_SYNC_ERROR = SYNC_ERROR, /* struct sync_msg: the create failed, and why */
	OCI_SYNC_PIDFD = 20,         /* a pidfd of init beside it (init cloned by a joining child) */
	OCI_SYNC_HOOKS,              /* the namespaces exist: run prestart and createRuntime */
	OCI_SYNC_READY,              /* created: init waits on the exec fifo */
};

/* Whether the create needs the hook round trip (both sides ask the same spec). */
static inline bool oci_sync_wants_hooks(const struct oci_spec *s)
{
	return s->n_hooks[OCI_HOOK_PRESTART] || s->n_hooks[OCI_HOOK_CREATE_RUNTIME] ||
	       s->n_hooks[OCI_HOOK_CREATE_CONTAINER] || s->n_hooks[OCI_HOOK_START_CONTAINER];
}

/* What init is handed by create. */
struct oci_init_args {
	const struct oci_spec *spec;
	const struct oci_create_opts *opts;
	int syncfd;                 /* init's end */
	int fifo;                   /* O_PATH fd of ROOT/ID/exec.fifo */
	int state_dir;              /* ROOT/ID, whose flock create holds: init closes it first */
	int console;                /* a connected console socket, or -1 */
	int proc;                   /* the host's /proc, to reopen the fifo after the pivot */
	const struct seccomp_prog *seccomp; /* NULL: none */
	bool new_userns;
	bool joined;                /* cloned by a joining child, not by create */
};
/* The container's init: builds the container, reports created, waits for start, execs
 * the process. Never returns. */
void __attribute__((noreturn)) oci_init(const struct oci_init_args *a);

/* Connects to an engine's console socket (checked to be a socket first). */
int oci_console_connect(const char *path, struct diyc_error *err);
