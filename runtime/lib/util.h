/* SPDX-License-Identifier: MIT */
/* util.h: cleanup attributes, bounded number parsing, file and directory helpers
 * shared by every module. */
#pragma once
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>
#include "error.h"

static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void freep(void *p) { free(*(void **)p); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }
/* Frees a NULL-terminated list of strings and the list. */
static inline void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
static inline void strvfreep(char ***v) { strv_free(*v); }

#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(strvfreep)))

static inline int steal_fd(int *fd) { int r = *fd; *fd = -1; return r; }
#define steal_ptr(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a decimal unsigned integer with no sign, no spaces and no trailing text,
 * at most max. Returns 0 or -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* A size: digits and an optional unit b, k, m, g or t (powers of 1024; also kb, KiB,
 * ...). A plain number counts plain_unit bytes. -EINVAL or -ERANGE. */
int parse_size(const char *s, uint64_t plain_unit, uint64_t *out);
/* A size given as WHAT (a flag or an option: the messages say "invalid WHAT `S`: ..."):
 * parse_size() with a plain number in MiB, which must be more than 0. help ends the message
 * for text that is no size ("expected a size such as 512m ..."). 0, or -EINVAL with err set. */
int parse_size_positive(const char *what, const char *s, const char *help, uint64_t *out, struct diyc_error *err);
/* "512 MiB", "1.5 GiB", "100 bytes". */
void human_bytes(char *buf, size_t n, uint64_t v);

bool str_has_prefix(const char *s, const char *prefix);
/* The rule of container and volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most max bytes:
 * never `/`, `..` or a leading `.` (the stores keep their own entries under such names). */
bool store_name_valid(const char *name, size_t max);
/* The number of strings in the NULL-terminated list v (0 for NULL). */
size_t strv_length(char *const *v);
/* A new NULL-terminated list holding the strings of a, then of b (not copied: free the
 * list alone). Either may be NULL. NULL when out of memory. */
char **strv_concat(char **a, char **b);
/* A new list (strings copied) of v's strings, each once: for KEY=VALUE lists (by_key)
 * a later KEY replaces an earlier one, which docker's Env and Labels mean. NULL when out
 * of memory; v may be NULL. */
char **strv_dedup(char **v, bool by_key);
/* Appends s (taken over; NULL counts as out of memory) to the NULL-terminated list *v
 * of *n strings. 0 or -ENOMEM, when s is freed. */
int strv_push(char ***v, size_t *n, char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
/* Removes NAME below DIRFD recursively; a missing entry is success. Directories that
 * the caller owns but cannot read or write are made accessible first. */
int rm_rf_at(int dirfd, const char *name);
int rm_rf(const char *path);

/* Writes the data to DIR/NAME through a temporary file, fsync and rename. */
int write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* The same without fsync: readers never see a partial file, but a power loss may lose
 * the update (for state that only matters while the machine is up). */
int write_file_atomic_nosync(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Creates or truncates PATH and writes data (no fsync: for regenerated runtime files). */
int write_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Reads a whole file of at most max bytes, NUL-terminated. */
int read_file_at(int dirfd, const char *name, size_t max, char **out, size_t *len);
/* The same from an open fd, from where it is. */
int read_fd_all(int fd, size_t max, char **out, size_t *len);

/* Writes all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Appends {fd, events} to the poll array *fds of *n entries, growing it (capacity *cap);
 * returns the new entry's index, -1 when out of memory. */
struct pollfd;
/* Marks every fd from `from` up close-on-exec (close_range, or one by one where the
 * kernel or a seccomp filter refuses it). */
int fds_set_cloexec(int from);
/* openat2(), again when it says EAGAIN: with ".." in a path resolved in a root or beneath
 * a directory, the kernel gives up when a rename or mount anywhere on the system might
 * have raced with it. -1 with errno set on failure. */
struct open_how;
int openat2_retry(int dirfd, const char *path, struct open_how *how);
/* What open_regular_at() says of a file that is neither a regular file nor a directory. */
#define EFTYPE_NOT_REGULAR EBADFD
/* Opens PATH below dirfd for reading, once, as an untrusted source's file must be: with
 * openat2 and RESOLVE flags `resolve` (RESOLVE_IN_ROOT or RESOLVE_BENEATH; magic links
 * never), O_PATH and O_NOFOLLOW, and only when fstat() says it is a regular file is that
 * same file opened for reading (O_NONBLOCK, O_CLOEXEC) through /proc/self/fd: no FIFO or
 * device is ever opened. -ELOOP for a symlink, -EISDIR for a directory,
 * -EFTYPE_NOT_REGULAR for a FIFO, socket or device. st (may be NULL) gets its fstat. */
struct stat;
int open_regular_at(int dirfd, const char *path, unsigned long long resolve, struct stat *st);
/* For names of temporary files made "PID-...": 1 when S starts with a PID and a dash
 * and that process is gone (or a zombie), 0 when it lives, -EINVAL when S does not start that way. */
int pid_prefix_gone(const char *s);
/* The start time of PID from /proc/PID/stat (0 when it is gone); *zombie (when not NULL):
 * whether it is a zombie. A pid and its start time name a process for good. */
uint64_t proc_start_time(pid_t pid, bool *zombie);
/* Keeps /proc open for open_regular_at() in a process about to chroot. */
int keep_proc(void);
/* Words for open_regular_at()'s error r: "it is a symlink, not a file", ... */
const char *open_regular_error(int r);
/* Creates directory PATH and returns an fd holding an exclusive flock() on it (its
 * creator is at work while it is held): a cleanup that gets the lock knows it is dead. */
int mkdir_locked(const char *path, mode_t mode);
int pollfd_push(struct pollfd **fds, size_t *cap, size_t *n, int fd, short events);
/* Closes every fd from 3 up but those in keep (which it sorts; negative ones ignored). */
void close_fds_except(int *keep, size_t n);

/* Looks up an executable in PATH-like list; returns malloc'd path or NULL. */
char *find_in_path(const char *name, const char *path);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t monotonic_ns(void);

/* Random lowercase hex string of 2*bytes characters into out (size >= 2*bytes+1). */
int random_hex(char *out, size_t bytes);

/* The command line other processes see (/proc/PID/cmdline), rewritten in place over
 * main's argv: a monitor shows as `diyc-monitor NAME` rather than the command that
 * started it. title is cut to the length of the original command line. */
void proc_title_init(int argc, char **argv);
void proc_title_set(const char *title);
/* Wipes the environment diyc was started with from its memory (/proc/PID/environ reads it):
 * for a process that stays in the container, whose root may read its memory. */
void proc_env_clear(void);

/* For processes that live long doing little (a detached monitor, a container's init):
 * unmaps the executable file pages touched while starting up. They count in the
 * resident size though they belong to the page cache, shared with every process, and
 * fault back in when used; what stays resident is what the process goes on using. */
void unmap_code_pages(void);
