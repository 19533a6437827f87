/* SPDX-License-Identifier: MIT */
/* container.h: what a container is when it starts, and the process roles that start it:
 * the parent (the diyc the user ran), the child that becomes the container's PID 1
 * (diyc's minimal init unless --no-init) and the command it runs. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "security/caps.h"
#include "lib/error.h"
#include "net/lease.h"
#include "net/mode.h"
#include "net/ports.h"
#include "net/slirp.h"
#include "security/security.h" /* struct container_security */
#include "lib/userns.h"
#include "rootfs/mount.h"
#include "rootfs/volume.h"

struct container_spec {
	const char *name;
	const char *hostname;
	char *const *lowerdirs; /* top layer first, NULL-terminated */
	const char *upperdir, *workdir;
	bool volatile_upper;    /* the upper dir is thrown away after (--rm): never synced */
	struct upper_limit upper_limit; /* a disk size (rootfs/mount.h) */
	const char *rootfs;     /* mount point of the overlay (in the run dir) */
	const char *hostfiles;  /* directory holding the generated hostname, hosts, resolv.conf */
	char **argv;            /* the command, NULL-terminated */
	char **env;             /* KEY=VAL from the image and -e, NULL-terminated (defaults added inside) */
	const char *workdir_in; /* -w, NULL: the user's home or / */
	const char *user;       /* -u, NULL: root */
	bool tty, interactive, init;
	enum net_mode net;
	struct slirp_opts slirp; /* --net=slirp */
	const char *bridge;     /* --net=bridge: its name, and --ip (NULL: any free address) */
	const char *bridge_ip;
	const struct port_map *ports; /* -p, with the host sockets bound for them */
	int *port_fds;
	size_t n_ports;
	const struct userns_plan *userns;
	const struct mount_entry *mounts; /* -v and --tmpfs, in order */
	size_t n_mounts;
	int cgroup_fd;          /* the container's own cgroup (cgroup/cgroup.c), -1: diyc's */
	bool own_cgroup;        /* it has one: /sys/fs/cgroup shows it */
	bool cgroup_delegated;  /* and may make cgroups below it (see setup_cgroupfs) */
	const struct container_security *security;
};

/* Messages on the sync socket from the container side to the parent. */
/* SYNC_READY: the container is set up and its command held, until the parent sends one
 * byte on the socket to start it (the create/start split). */
enum sync_type { SYNC_ERROR = 1, SYNC_PTY = 2, SYNC_PID = 3, SYNC_TAP = 4, SYNC_READY = 5 };
struct sync_msg {
	uint32_t type;
	int32_t errnum;
	int32_t status;
	int32_t hint;       /* enum diyc_hint, so that the front end's advice crosses too */
	char msg[1000];
	char hint_arg[512];
};

/* Sends an error over the sync socket (used by the child side). */
void sync_send_error(int syncfd, const struct diyc_error *err);
/* How the parent runs and watches its child. The hooks (all optional, called with
 * hook_arg) let the caller do its part: prepare while the id maps are written (work the
 * child needs only after it is released: its directories, the generated files),
 * released once the child runs on its own (record its pid), started when the command
 * was executed (the sync socket reached EOF without an error). */
/* Pipes between the caller's stdio and the container's, without -t. A terminal is never
 * given to a container: through it the container could read what the user types (also
 * through fd 1: a terminal is opened read-write), change its settings and window size,
 * which outlast the container, or push input into it. Under sudo the container's root is
 * the host's root: given the caller's own files as stdio, it could chown or chmod them
 * through the fd (a set-uid root file of the caller's output). So a root container gets
 * pipes for every stream, a rootless one for each that is a terminal (its root can do
 * nothing to the caller's files the caller could not); diyc copies them (as docker's shim
 * does). Pipes, files and /dev/null of a rootless caller are passed as they are. */
struct stdio_relay {
	int in, out, err;       /* diyc's ends (stdin: -1 unless interactive), or -1 */
	int child[3];           /* the container's ends, for 0, 1 and 2, or -1: passed as it is */
};
#define STDIO_RELAY_NONE { -1, -1, -1, { -1, -1, -1 } }
/* all: every stream (stdin only if interactive); else those that are terminals. stdout
 * and stderr share one pipe when they are one open file or one terminal. */
int stdio_relay_open(struct stdio_relay *r, bool interactive, bool all, struct diyc_error *err);
/* It has a pipe at all (else the container gets the caller's stdio as it is). */
bool stdio_relay_active(const struct stdio_relay *r);
/* In the child: its ends onto 0-2 (nothing without a relay). */
void stdio_relay_child(const struct stdio_relay *r);
/* In the parent once the child has them: closes the child's ends. */
void stdio_relay_parent(struct stdio_relay *r);
void stdio_relay_close(struct stdio_relay *r);

struct supervise_opts {
	bool tty, interactive;
	struct stdio_relay *stdio;      /* copy the container's stdio through these pipes, or NULL */
	bool forward_winch; /* no pty: forward SIGWINCH as a signal */
	const struct slirp_opts *slirp; /* run the slirp stack on the tap fd the child sends */
	const char *bridge, *bridge_ip; /* or plug the container into this bridge */
	struct lease_grant *grant;      /* what it got there, set before the released hook */
	const struct port_map *ports;   /* and relay these published ports */
	int *port_fds;
	size_t n_ports;
	bool join_userns;               /* the container has a user namespace of its own */
	int (*prepare)(void *arg, struct diyc_error *err);
	int (*released)(void *arg, pid_t pid, struct diyc_error *err);
	/* the container is created: set up, its command held; returning 0 starts it (NULL:
	 * started at once), a negative errno (err set) kills it */
	int (*created)(void *arg, pid_t pid, struct diyc_error *err);
	bool holds;                     /* a container child: it is held once created unless
					 * released with 'S' (no created hook) */
	void (*started)(void *arg);
	void *hook_arg;
};
/* The parent's loop: forwards signals to pid, relays a pty if tty_master >= 0 (set
 * from a SYNC_PTY message), collects an error from the sync socket and reaps pid.
 * Returns 0 (*status the exit status), 1 when the command could not be executed
 * (*status 126/127, err says why) or a negative errno. */
int supervise(pid_t pid, int syncfd, const struct supervise_opts *o, int *status, struct diyc_error *err);

/* Runs the container to its end. *status is the exit status diyc should return: the
 * command's, 128+N for a signal, 126/127 for exec failures (with err set; returns 1).
 * Returns a negative errno (err set) when the container could not be started at all.
 * hooks: interactive and the hooks are used; the rest comes from the spec. */
int container_run(const struct container_spec *spec, const struct supervise_opts *hooks, int *status,
		  struct diyc_error *err);

/* The signals diyc forwards to its container. */
extern const int forwarded_signals[];
extern const int n_forwarded_signals;

/* The role a cloned child plays; it never returns. syncfd is its end of the sync socket. */
typedef void (*child_fn)(const void *arg, int syncfd);
/* Clones a child into new namespaces (flags, plus a user namespace when the plan has one)
 * and into the cgroup cgroup_fd (-1: ours), runs the hooks of o, releases the child and
 * supervises it. */
int spawn_in_namespaces(unsigned long flags, const struct userns_plan *plan, int cgroup_fd, child_fn child,
			const void *child_arg, const struct supervise_opts *o, int *status, struct diyc_error *err);

/* What the command process is given; command_exec becomes it and never returns. */
struct process_user;
struct command_plan {
	char **argv, **envp;
	const struct process_user *user;
	bool set_groups;        /* setgroups is allowed (not a single-id map) */
	const char *workdir;    /* NULL: stay in / */
	int slave;              /* the pty to make the controlling terminal, or -1 */
	bool new_session;
	bool exe_detached;      /* selfexe_detach was done (by the container's PID 1) */
	const struct container_security *security;
	int gate;               /* read to EOF before exec (init's confinement), or -1 */
};
/* command_confine (as the container's root: detached from the diyc binary, fds
 * close-on-exec, working directory opened, bounding set, no_new_privs, seccomp unless
 * no_new_privs, the user, capabilities), then command_start. Never returns. */
void __attribute__((noreturn)) command_exec(const struct command_plan *p, int syncfd);
/* The two halves, for diyc exec, which confines in a process the container cannot see
 * and starts the command in a clone of it. wd: the working directory, opened. */
int command_confine(const struct command_plan *p, int *wd, struct diyc_error *err);
/* Its own session and terminal, the working directory, the filter with no_new_privs,
 * and exec. Never returns. */
void __attribute__((noreturn)) command_start(const struct command_plan *p, int wd, int syncfd);

/* Child side of the exec: PATH lookup in the container's environment and execve.
 * Only returns on failure, with err->status 126 or 127. */
int exec_command(char **argv, char **envp, struct diyc_error *err);
/* A cloned child's first steps: ask for SIGKILL when its parent dies, then wait for
 * the parent's go on the sync socket (exits if the parent is gone) and return it: 'S'
 * when a container starts at once once created, else 'g' (it reports SYNC_READY and
 * waits for the start). */
char child_await_release(int syncfd);
/* Standard input from /dev/null (a command that was not given -i). */
void stdin_from_null(void);
/* Resolves -u (NULL: root) against /etc/passwd and /etc/group of the current root. */
int user_resolve_here(const char *user, struct process_user *u, struct diyc_error *err);
/* Opens a pty in the current root's devpts and passes the master over the sync socket. */
int pty_to_parent(int syncfd, int *slave, struct diyc_error *err);
