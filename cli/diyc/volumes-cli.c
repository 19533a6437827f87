/* SPDX-License-Identifier: MIT */
/* volumes-cli.c: the volumes of containers, as `run`, `start`, `rm -v`, `ps --filter` and
 * the `volume` commands see them: which container mounts which volume is in the
 * containers' configurations (container/), the volumes are in the volume store (storage/);
 * neither library knows the other, the front end joins them here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "container/store.h"
#include "lib/util.h"
#include "storage/volume-store.h"
#include "volumes-cli.h"

_Static_assert(MOUNT_VOLUME_NAME_MAX == VOLUME_NAME_MAX, "rootfs/ and storage/ must agree on volume names");

/* Creates (when missing) and opens one volume of a container, recording in m what the
 * container child checks. */
static int prepare_one(const struct diyc_paths *p, struct mount_entry *m, char ***created, size_t *n_created,
		       struct diyc_error *err)
{
	struct volume_info v;
	bool existed;
	int r = volume_create(p, m->source, NULL, NULL, m->anonymous, &v, &existed, err);
	if (r < 0)
		return r;
	volume_info_free(&v);
	if (!m->source && !(m->source = strdup(v.name)))
		return diyc_error(err, ENOMEM, "volume");
	if (!existed)
		diyc_debug("volume `%s` created", v.name);
	if (!existed && created && strv_push(created, n_created, strdup(v.name)) < 0)
		return diyc_error(err, ENOMEM, "volume");
	_cleanup_close_ int fd = volume_open_data(p, m->source, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return diyc_error(err, errno, "volume `%s`", m->source);
	free(m->volumes_dir);
	if (!(m->volumes_dir = xasprintf("%s/volumes", p->data)))
		return diyc_error(err, ENOMEM, "volume");
	m->data_dev = st.st_dev;
	m->data_ino = st.st_ino;
	return 0;
}

int cli_volumes_prepare(const struct diyc_paths *p, struct mount_entry *mounts, size_t n, char ***created,
			struct diyc_error *err)
{
	size_t n_created = 0;
	if (created && !(*created = calloc(1, sizeof(char *))))
		return diyc_error(err, ENOMEM, "volume");
	for (size_t i = 0; i < n; i++) {
		if (mounts[i].kind != MOUNT_VOLUME)
			continue;
		int r = prepare_one(p, &mounts[i], created, &n_created, err);
		if (r < 0)
			return r;
	}
	return 0;
}

void cli_volumes_undo(const struct diyc_paths *p, const struct userns_plan *plan, char **created)
{
	for (char **n = created; n && *n; n++) {
		struct diyc_error ignore = { 0 };
		if (volume_remove(p, *n, plan, &ignore) < 0 && ignore.errnum != ENOENT)
			diyc_warn("could not remove volume `%s`: %s", *n, ignore.msg);
	}
	strv_free(created);
}

bool cli_config_uses_volume(const struct container_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i].kind == MOUNT_VOLUME && cfg->mounts[i].source && !strcmp(cfg->mounts[i].source, name))
			return true;
	return false;
}

int cli_volume_users(const struct diyc_paths *p, const char *name, char ***users, struct diyc_error *err)
{
	_cleanup_strv_ char **names = NULL;
	size_t n = 0;
	*users = calloc(1, sizeof(char *));
	if (!*users)
		return diyc_error(err, ENOMEM, "containers");
	int r = container_list(p, &names, err);
	if (r < 0)
		return r;
	for (char **c = names; *c; c++) {
		struct container ct;
		struct diyc_error ignore = { 0 };
		if (container_open(p, *c, &ct, &ignore) < 0)
			continue; /* removed meanwhile */
		bool uses = ct.have_config && cli_config_uses_volume(&ct.cfg, name);
		container_close(&ct);
		if (uses && strv_push(users, &n, strdup(*c)) < 0)
			return diyc_error(err, ENOMEM, "containers");
	}
	return 0;
}

void cli_volumes_remove_anonymous(const struct diyc_paths *p, const struct container_config *cfg,
				  const struct userns_plan *plan)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct mount_entry *m = &cfg->mounts[i];
		if (m->kind != MOUNT_VOLUME || !m->anonymous || !m->source)
			continue;
		struct diyc_error err = { 0 };
		_cleanup_strv_ char **users = NULL;
		if (cli_volume_users(p, m->source, &users, &err) == 0 && users[0]) {
			diyc_warn("volume `%s` is kept: container `%s` uses it too", m->source, users[0]);
			continue;
		}
		if (volume_remove_anonymous(p->data, m->source, plan, &err) < 0)
			diyc_warn("could not remove volume `%s`: %s", m->source, err.msg);
	}
}
