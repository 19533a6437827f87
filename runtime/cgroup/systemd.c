/* SPDX-License-Identifier: MIT */
/* systemd.c: the systemd backend (cgroup/backend.h) and the D-Bus side of cgroup
 * delegation. systemd owns the cgroup tree where it runs; a program may only create
 * cgroups inside a unit that systemd delegated to it. diyc asks the manager (the user's,
 * or the system's for root) for a transient scope with Delegate=yes holding the
 * container's monitor, the way podman does: inside it, supervisor/ holds the monitor and
 * container/ the container (cgroup v2 allows processes only in leaves once controllers
 * are enabled for the children).
 *
 * libsystemd is loaded with dlopen() only when a container has limits, so that a plain
 * `diyc run` does not map it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include "backend.h"
#include "paths.h"
#include "systemd.h"
#include "lib/dl.h"
#include "lib/util.h"

#define SDBUS_FUNCS(X) \
	X(sd_bus_open_user) X(sd_bus_open_system) X(sd_bus_flush_close_unref) X(sd_bus_message_new_method_call) \
	X(sd_bus_message_append) X(sd_bus_message_open_container) X(sd_bus_message_close_container) \
	X(sd_bus_call) X(sd_bus_message_read) X(sd_bus_message_unref) X(sd_bus_error_free) \
	X(sd_bus_match_signal) X(sd_bus_process) X(sd_bus_wait) X(sd_bus_slot_unref) \
	X(sd_bus_call_method) X(sd_bus_get_property_trivial)

static struct {
	SDBUS_FUNCS(DL_FIELD)
} sd;

static int sd_load(struct diyc_error *err)
{
	static const char *const names[] = { SDBUS_FUNCS(DL_NAME) };
	return dl_load("libsystemd.so.0", "libsystemd0", names, (void **)&sd, ARRAY_SIZE(names), err);
}

static void bus_closep(sd_bus **b)
{
	if (*b)
		sd.sd_bus_flush_close_unref(*b);
}
static void msg_unrefp(sd_bus_message **m)
{
	if (*m)
		sd.sd_bus_message_unref(*m);
}
static void bus_error_freep(sd_bus_error *e)
{
	sd.sd_bus_error_free(e);
}
static void slot_unrefp(sd_bus_slot **s)
{
	if (*s)
		sd.sd_bus_slot_unref(*s);
}

static int bus_open(bool system_bus, sd_bus **bus, struct diyc_error *err)
{
	int r = sd_load(err);
	if (r < 0)
		return r;
	r = system_bus ? sd.sd_bus_open_system(bus) : sd.sd_bus_open_user(bus);
	if (r >= 0)
		return 0;
	if (system_bus)
		return diyc_error(err, -r, "connect to systemd's system bus");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	return diyc_error_hint(err, diyc_error(err, -r, "resource limits need your systemd user session, and its bus "
					       "(%s/bus) is not reachable: log in through systemd-logind or run "
					       "`loginctl enable-linger %s`", rt ? rt : "$XDG_RUNTIME_DIR",
					       getenv("USER") ? getenv("USER") : "$USER"),
			       DIYC_HINT_CGROUP_NO_USER_BUS, NULL);
}

static int bus_call_error(struct diyc_error *err, int r, const sd_bus_error *e, const char *what)
{
	if (e && e->message)
		return diyc_error_plain(err, -r, "%s: %s", what, e->message);
	return diyc_error(err, -r, "%s", what);
}

struct job_wait {
	const char *job;
	bool done;
	char result[32];
};

static int on_job_removed(sd_bus_message *m, void *arg, sd_bus_error *e)
{
	struct job_wait *w = arg;
	uint32_t id;
	const char *path, *unit, *result;
	if (sd.sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->job && !strcmp(path, w->job)) {
		w->done = true;
		snprintf(w->result, sizeof(w->result), "%s", result);
	}
	return 0;
}

/* Whether pid's cgroup is UNIT or inside it. */
static bool pid_in_unit(pid_t pid, const char *unit)
{
	char cg[PATH_MAX], needle[300];
	if (cgroup_of_pid(pid, cg, sizeof(cg)) < 0)
		return false;
	snprintf(needle, sizeof(needle), "/%s", unit);
	char *hit = strstr(cg, needle);
	return hit && (hit[strlen(needle)] == '\0' || hit[strlen(needle)] == '/');
}

static int append_property_prefix(sd_bus_message *m, const char *name, const char *sig)
{
	int r = sd.sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "s", name);
	if (r >= 0)
		r = sd.sd_bus_message_open_container(m, 'v', sig);
	return r;
}

static int append_property_suffix(sd_bus_message *m)
{
	int r = sd.sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd.sd_bus_message_close_container(m);
	return r;
}

static int start_scope_message(sd_bus *bus, const char *slice, const char *unit, pid_t pid,
			       const char *description, bool oom_policy, sd_bus_message **out)
{
	sd_bus_message *m = NULL;
	int r = sd.sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
						  "org.freedesktop.systemd1.Manager", "StartTransientUnit");
	if (r < 0)
		return r;
	*out = m;
	r = sd.sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd.sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "(sv)", "Description", "s", description);
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "(sv)", "Delegate", "b", 1);
	if (r >= 0 && slice)
		r = sd.sd_bus_message_append(m, "(sv)", "Slice", "s", slice);
	/* a scope that failed would otherwise stay loaded until someone resets it */
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
	/* the OOM kill of the container is diyc's to report: systemd must not stop the
	 * scope (and kill the monitor with it) when it happens */
	if (r >= 0 && oom_policy)
		r = sd.sd_bus_message_append(m, "(sv)", "OOMPolicy", "s", "continue");
	if (r >= 0)
		r = append_property_prefix(m, "PIDs", "au");
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "au", 1, (uint32_t)pid);
	if (r >= 0)
		r = append_property_suffix(m);
	if (r >= 0)
		r = sd.sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "a(sa(sv))", 0);
	return r;
}

int systemd_start_scope(bool system_bus, const char *unit, pid_t pid, const char *description,
			struct diyc_error *err)
{
	return systemd_start_scope_in(system_bus, NULL, unit, pid, description, err);
}

int systemd_start_scope_in(bool system_bus, const char *slice, const char *unit, pid_t pid,
			   const char *description, struct diyc_error *err)
{
	__attribute__((cleanup(bus_closep))) sd_bus *bus = NULL;
	int r = bus_open(system_bus, &bus, err);
	if (r < 0)
		return r;
	struct job_wait w = { 0 };
	__attribute__((cleanup(slot_unrefp))) sd_bus_slot *slot = NULL;
	/* the manager sends JobRemoved to whoever queued the job */
	r = sd.sd_bus_match_signal(bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				   "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &w);
	if (r < 0)
		return diyc_error(err, -r, "watch systemd's jobs");

	__attribute__((cleanup(msg_unrefp))) sd_bus_message *reply = NULL;
	for (int attempt = 0;; attempt++) {
		__attribute__((cleanup(msg_unrefp))) sd_bus_message *m = NULL;
		__attribute__((cleanup(bus_error_freep))) sd_bus_error e = SD_BUS_ERROR_NULL;
		r = start_scope_message(bus, slice, unit, pid, description, attempt == 0, &m);
		if (r < 0)
			return diyc_error(err, -r, "build the request to systemd");
		r = sd.sd_bus_call(bus, m, 25 * 1000000ULL, &e, &reply);
		if (r >= 0)
			break;
		/* systemd before 243 does not know OOMPolicy= for scopes */
		if (attempt == 0 && e.message && strstr(e.message, "OOMPolicy"))
			continue;
		return bus_call_error(err, r, &e, system_bus ? "ask systemd for a scope"
							     : "ask your systemd user manager for a scope");
	}
	const char *job;
	r = sd.sd_bus_message_read(reply, "o", &job);
	if (r < 0)
		return diyc_error(err, -r, "read systemd's answer");
	w.job = job;
	int64_t deadline = (monotonic_ns() / 1000000) + 20000;
	while (!w.done) {
		r = sd.sd_bus_process(bus, NULL);
		if (r < 0)
			return diyc_error(err, -r, "wait for systemd to start the scope");
		if (r > 0)
			continue;
		if (pid_in_unit(pid, unit))
			break;
		if ((monotonic_ns() / 1000000) > deadline)
			return diyc_error_plain(err, ETIMEDOUT, "systemd did not start scope %s in 20 s", unit);
		r = sd.sd_bus_wait(bus, 100 * 1000ULL);
		if (r < 0)
			return diyc_error(err, -r, "wait for systemd to start the scope");
	}
	if (w.done && strcmp(w.result, "done"))
		return diyc_error_plain(err, EIO, "systemd could not start scope %s (job result: %s)", unit, w.result);
	/* JobRemoved "done" means the processes were moved */
	if (!pid_in_unit(pid, unit))
		return diyc_error_plain(err, EIO, "systemd started scope %s but diyc's process is not in it", unit);
	return 0;
}

int systemd_attach(bool system_bus, const char *unit, const char *subcgroup, pid_t pid, struct diyc_error *err)
{
	__attribute__((cleanup(bus_closep))) sd_bus *bus = NULL;
	int r = bus_open(system_bus, &bus, err);
	if (r < 0)
		return r;
	__attribute__((cleanup(bus_error_freep))) sd_bus_error e = SD_BUS_ERROR_NULL;
	r = sd.sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				  "org.freedesktop.systemd1.Manager", "AttachProcessesToUnit", &e, NULL, "ssau", unit,
				  subcgroup, 1, (uint32_t)pid);
	if (r < 0)
		return bus_call_error(err, r, &e, "ask systemd to move the process into the container's cgroup");
	return 0;
}

int systemd_pid_delegated(bool system_bus, pid_t pid, struct diyc_error *err)
{
	__attribute__((cleanup(bus_closep))) sd_bus *bus = NULL;
	int r = bus_open(system_bus, &bus, err);
	if (r < 0)
		return r;
	__attribute__((cleanup(bus_error_freep))) sd_bus_error e = SD_BUS_ERROR_NULL;
	__attribute__((cleanup(msg_unrefp))) sd_bus_message *reply = NULL;
	r = sd.sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				  "org.freedesktop.systemd1.Manager", "GetUnitByPID", &e, &reply, "u", (uint32_t)pid);
	if (r < 0)
		return bus_call_error(err, r, &e, "ask systemd which unit diyc runs in");
	const char *unit_path;
	r = sd.sd_bus_message_read(reply, "o", &unit_path);
	if (r < 0)
		return diyc_error(err, -r, "read systemd's answer");
	static const char *const ifaces[] = { "org.freedesktop.systemd1.Scope", "org.freedesktop.systemd1.Service" };
	for (size_t i = 0; i < ARRAY_SIZE(ifaces); i++) {
		__attribute__((cleanup(bus_error_freep))) sd_bus_error pe = SD_BUS_ERROR_NULL;
		int delegated = 0;
		if (sd.sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", unit_path, ifaces[i], "Delegate", &pe,
						   'b', &delegated) >= 0)
			return delegated ? 1 : 0;
	}
	return 0;
}

void systemd_stop_unit(bool system_bus, const char *unit)
{
	struct diyc_error ignore;
	__attribute__((cleanup(bus_closep))) sd_bus *bus = NULL;
	if (bus_open(system_bus, &bus, &ignore) < 0)
		return;
	__attribute__((cleanup(bus_error_freep))) sd_bus_error e = SD_BUS_ERROR_NULL;
	sd.sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			      "org.freedesktop.systemd1.Manager", "StopUnit", &e, NULL, "ss", unit, "fail");
}

/* -- the backend ---------------------------------------------------------------------------- */

/* A transient scope holding the monitor, supervisor/ and container/ in it. */
static int systemd_create(const char *name, const char *parent, const struct cgroup_limits *l, struct cgroup *cg,
			  struct diyc_error *err)
{
	char rnd[9];
	if (random_hex(rnd, 4) < 0)
		return diyc_error(err, EIO, "random scope name");
	snprintf(cg->scope, sizeof(cg->scope), "diyc-%s-%s.scope", name, rnd);
	cg->system_bus = geteuid() == 0;
	char desc[200];
	snprintf(desc, sizeof(desc), "diyc container %s", name);
	int r = systemd_start_scope(cg->system_bus, cg->scope, getpid(), desc, err);
	if (r < 0) {
		cg->scope[0] = '\0';
		return r;
	}
	char scope[PATH_MAX], abs[PATH_MAX], sub[PATH_MAX];
	if (cgroup_of_pid(0, scope, sizeof(scope)) < 0)
		return diyc_error_plain(err, ENOENT, "diyc's cgroup is not in /proc/self/cgroup");
	cg_path(abs, sizeof(abs), scope, NULL);
	r = move_all_to_leaf(abs, "supervisor", err);
	if (r == 0)
		r = cgroup_enable_controllers(abs, l, !cg->system_bus, err);
	if (r < 0)
		return r;
	snprintf(sub, sizeof(sub), "%s/container", abs);
	if (mkdir(sub, 0755) < 0)
		return diyc_error(err, errno, "create cgroup %s", sub);
	snprintf(cg->path, sizeof(cg->path), "%s/container", scope);
	return cgroup_write_limits(sub, l, err);
}

/* Where diyc may not move pid (out of a login session's scope), the manager that owns the
 * unit can. */
static int systemd_backend_attach(const char *path, const char *unit, bool system_bus, pid_t pid,
				  struct diyc_error *err)
{
	/* the part of the path below the unit's own cgroup */
	char needle[300];
	snprintf(needle, sizeof(needle), "/%s/", unit);
	const char *at = strstr(path, needle);
	if (!at)
		return diyc_error_plain(err, ENOENT, "cgroup %s is not in unit %s", path, unit);
	return systemd_attach(system_bus, unit, at + strlen(needle) - 1, pid, err);
}

const struct cgroup_backend cgroup_backend_systemd = {
	.name = "systemd",
	.create = systemd_create,
	.attach = systemd_backend_attach,
	.pid_delegated = systemd_pid_delegated,
};
