/* SPDX-License-Identifier: MIT */
/* error.h: the error struct that carries one message from where a failure happens
 * up to the front end, the only place that prints it; the escaping of text for a terminal;
 * warnings and debug messages, handed to a function the front end sets. The library itself
 * never writes to stdout or stderr. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* What a front end may advise about a failure, in its own vocabulary (which command or flag
 * to use): the library says what went wrong, and names the case here. */
enum diyc_hint {
	DIYC_HINT_NONE,
	DIYC_HINT_NAME_TAKEN,        /* a container name is in use; arg: the name */
	DIYC_HINT_NO_CONTAINER,      /* no container by that name; arg: the name */
	DIYC_HINT_SEE_LOGS,          /* the container's output says why; arg: its name */
	DIYC_HINT_CONTAINER_RUNNING, /* cannot remove a running container; arg: its name */
	DIYC_HINT_NOT_RUNNING,       /* the container must run for this; arg: its name */
	DIYC_HINT_NO_IMAGE,          /* no such image; arg: the normalized name */
	DIYC_HINT_IMAGE_DAMAGED,     /* arg: the short image id */
	DIYC_HINT_IMAGE_IN_USE,      /* an image is used by a container */
	DIYC_HINT_MAX_SIZE,          /* an import would unpack more than its limit */
	DIYC_HINT_CHOOSE_REF_PLATFORM, /* a source holds no image for the platform */
	DIYC_HINT_CHOOSE_REF,        /* a source holds several images */
	DIYC_HINT_CHOOSE_OCI_REF,    /* an OCI source holds several images for the platform */
	DIYC_HINT_NOT_IMAGE_SOURCE,  /* choosing an image does not apply to a root filesystem */
	/* hints of net/ (bridge, slirp, ports) */
	DIYC_HINT_NET_FIRST = 100,
	DIYC_HINT_NET_HELPER_NOT_SETUID, /* diyc-nethelper is not set-uid root; arg: its path */
	DIYC_HINT_NET_BRIDGE_OTHER_SUBNET, /* the bridge exists with another subnet */
	DIYC_HINT_NET_NO_HELPER,         /* a normal user's bridge needs diyc-nethelper, missing */
	DIYC_HINT_NET_TUN_DENIED,        /* /dev/net/tun cannot be opened for slirp */
	DIYC_HINT_NET_IP_TAKEN,          /* the address asked for is taken */
	DIYC_HINT_NET_NO_BRIDGE,         /* the bridge does not exist */
	DIYC_HINT_NET_BRIDGE_NO_SUBNET,  /* the bridge has no IPv4 subnet for containers */
	/* hints of cgroup/ */
	DIYC_HINT_CGROUP_FIRST = 200,
	DIYC_HINT_CGROUP_NO_SYSTEMD,     /* the systemd manager was asked for, systemd does not run */
	DIYC_HINT_CGROUP_NOT_DELEGATED,  /* cgroupfs was asked for, diyc's cgroup is not delegated */
	DIYC_HINT_CGROUP_NO_USER_BUS,    /* the systemd user session's bus is not reachable */
	/* hints of rootfs/ */
	DIYC_HINT_ROOTFS_FIRST = 300,
	DIYC_HINT_ROOTFS_KERNEL_DIRS,    /* an image's /proc, /sys, /dev (/tmp, /run) is no directory */
	/* hints of registry/ */
	DIYC_HINT_REGISTRY_FIRST = 400,
	DIYC_HINT_REGISTRY_LOGIN,        /* the registry wants credentials; arg: its host */
	DIYC_HINT_REGISTRY_TLS,          /* the registry's certificate is not trusted; arg: its host */
	/* hints of storage/ and of disk sizes */
	DIYC_HINT_STORAGE_FIRST = 500,
	DIYC_HINT_STORAGE_SIZE,          /* a normal user's persistent container cannot have a disk size */
	DIYC_HINT_NO_VOLUME,             /* no volume by that name; arg: the name */
	DIYC_HINT_VOLUME_REPLACED,       /* a volume's directory is not the one diyc made; arg: its name */
};

struct diyc_error {
	int errnum;      /* errno of the failure, 0 when it is not a system error */
	int status;      /* exit status the command should end with (125 by default) */
	int hint;        /* enum diyc_hint: what the front end may add as advice */
	char msg[1024];
	char hint_arg[512]; /* the name the hint is about, when it needs one */
};

#define DIYC_EXIT_RUNTIME 125
#define DIYC_EXIT_CANNOT_EXEC 126
#define DIYC_EXIT_NOT_FOUND 127

/* Records "MSG: strerror(errnum)" (or just MSG when errnum is 0) and returns -errnum
 * (-EINVAL when errnum is 0), so callers can write `return diyc_error(err, errno, ...)`. */
int diyc_error(struct diyc_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with no strerror suffix. */
int diyc_error_plain(struct diyc_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Names the advice the front end may add to the error recorded last (arg may be NULL), and
 * returns ret, so that `return diyc_error_hint(err, diyc_error(...), HINT, name)` reads. */
int diyc_error_hint(struct diyc_error *err, int ret, enum diyc_hint hint, const char *arg);
/* Adds context to an error on its way up: "WHAT: MSG" (errnum, status and hint are kept).
 * Returns -errnum (-EINVAL when it is 0), so `return diyc_error_wrap(err, "...")` reads. */
int diyc_error_wrap(struct diyc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text from an image, a container, a name, a user or the kernel, made safe to print on a
 * terminal: a newline as \\n; the C0 controls, DEL, the C1 controls (U+0080..U+009F) and
 * bytes that are not UTF-8 as \\xNN; valid UTF-8 as it is. Into out (size bytes, cut at a
 * character, always NUL-terminated); returns its length. */
size_t str_escape(const char *s, char *out, size_t size);
/* The same, malloc'd (NULL when out of memory). */
char *str_escape_dup(const char *s);
/* The terminal columns UTF-8 text takes (a column per character). */
size_t str_columns(const char *s);
/* The length of the valid UTF-8 sequence at s (2 to 4 bytes), 0 when s does not start one;
 * *cp gets its code point. */
size_t utf8_seq(const unsigned char *s, unsigned *cp);

/* Warnings (something did not work out, the command goes on) and debug messages (--verbose):
 * the library formats them and hands them to the function the front end set, in whichever
 * process they happen (the handler is inherited by the processes diyc forks). Without a
 * handler they are dropped. */
enum diyc_log_level { DIYC_LOG_WARN, DIYC_LOG_DEBUG };
typedef void diyc_log_fn(enum diyc_log_level level, const char *msg);
void diyc_set_log_handler(diyc_log_fn *fn);
void diyc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int diyc_verbose;
void diyc_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
