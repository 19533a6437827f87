/* SPDX-License-Identifier: MIT */
/* state.h: what diyc keeps of a container an engine drives, in ROOT/ID/ (the --root of
 * the runc command line): state.json, the exec fifo that `start` opens, a copy of the
 * bundle's config.json. Status is never stored: it is read from the process (its start
 * time guards against a reused pid), the fifo and the cgroup each time it is asked for. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/error.h"

enum oci_status { OCI_CREATING, OCI_CREATED, OCI_RUNNING, OCI_PAUSED, OCI_STOPPED };
extern const char *const oci_status_names[]; /* "creating", "created", ... */

#define OCI_STATE_FILE "state.json"
#define OCI_EXEC_FIFO "exec.fifo"
#define OCI_CONFIG_COPY "config.json"

struct oci_state {
	char id[256];
	pid_t pid;                /* the container's init on the host, 0 before it exists */
	uint64_t pid_start;       /* its start time (/proc/PID/stat field 22) */
	char bundle[4096];
	char rootfs[4096];
	char created[64];         /* RFC 3339, UTC, nanoseconds */
	uid_t owner;
	char *annotations_json;   /* "{...}" */
	char cgroup[4096];        /* below /sys/fs/cgroup, "" without one */
	bool systemd;
	char scope[256];
	bool own_pidns;           /* the container has a PID namespace of its own */
};

/* The id engines give: letters, digits, `_+-.`, at most 1024 bytes, not "." or "..". */
int oci_id_check(const char *id, struct diyc_error *err);
/* --root: given, or /run/diyc-oci for root, $XDG_RUNTIME_DIR/diyc-oci for others. */
int oci_root_default(char *buf, size_t size);

/* Makes ROOT/ID (ROOT made as needed, 0700); EEXIST says the id is taken. *dirfd is open
 * and holds an exclusive flock() for the create. */
int oci_state_create_dir(const char *root, const char *id, int *dirfd, struct diyc_error *err);
/* Opens ROOT/ID and takes its lock (lock: LOCK_EX, LOCK_SH, or 0 for a reader, which
 * state.json's atomic writes allow). "does not exist" when missing. */
int oci_state_open(const char *root, const char *id, int lock, int *dirfd, struct diyc_error *err);
int oci_state_write(int dirfd, const struct oci_state *st, struct diyc_error *err);
/* Reads state.json; a directory without one (a create that is still running, or died)
 * gives pid 0, which reads as creating or stopped. */
int oci_state_read(int dirfd, const char *id, struct oci_state *st, struct diyc_error *err);
void oci_state_free(struct oci_state *st);
enum oci_status oci_state_status(int dirfd, const struct oci_state *st);
/* The state JSON of the runtime spec (plus rootfs, created, owner, as runc prints it). */
char *oci_state_json(const struct oci_state *st, enum oci_status status, bool pretty);
/* Whether pid is still the process that started at start (and not a zombie). */
bool oci_pid_alive(pid_t pid, uint64_t start);
/* Removes ROOT/ID. */
int oci_state_remove(const char *root, const char *id, struct diyc_error *err);
/* The ids in ROOT, sorted; NULL-terminated. */
int oci_state_list(const char *root, char ***ids, struct diyc_error *err);
