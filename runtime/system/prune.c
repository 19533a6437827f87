/* SPDX-License-Identifier: MIT */
/* prune.c: `system prune`: what docker's removes, in its order, with the store's own
 * removal functions (container_rm, volume_remove, image_remove, image_prune):
 *   1. containers that are not running (created or exited);
 *   2. with volumes: every volume no remaining container mounts, named or anonymous (as
 *      podman's --volumes; docker 23 and later remove only anonymous ones unless -a);
 *   3. images no remaining container was made from: with all_images every one, else those
 *      without a name (dangling), then layers no image lists.
 * What is in use is read from the containers again before each step, so a container made
 * meanwhile keeps its image and volumes; one started meanwhile is not removed
 * (container_rm refuses a running container).
 *
 * The space reclaimed is du's figure of each thing removed, measured before (system_df):
 * the upper dirs of the containers, the volumes, and the layer directories that are gone
 * afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "system-internal.h"
#include "system.h"
#include "container/control.h"
#include "lib/util.h"

/* The images and volumes the containers of the store use now. */
struct uses {
	char **images, **volumes; /* NULL-terminated */
	size_t n_images, n_volumes;
};

static void uses_free(struct uses *u)
{
	strv_free(u->images);
	strv_free(u->volumes);
	memset(u, 0, sizeof(*u));
}

static bool uses_has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static int add_use(char ***v, size_t *n, const char *s)
{
	if (uses_has(*v, s))
		return 0;
	char *copy = strdup(s);
	if (!copy || strv_push(v, n, copy) < 0) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

static int scan_uses(const struct diyc_paths *p, struct uses *u, struct diyc_error *err)
{
	uses_free(u);
	_cleanup_strv_ char **names = NULL;
	int r = container_list(p, &names, err);
	for (char **n = names; r == 0 && n && *n; n++) {
		struct container c;
		struct diyc_error ignore = { 0 };
		if (container_open(p, *n, &c, &ignore) < 0)
			continue; /* removed meanwhile */
		if (c.have_config && c.cfg.image_id)
			r = add_use(&u->images, &u->n_images, c.cfg.image_id);
		for (size_t k = 0; r == 0 && c.have_config && k < c.cfg.n_mounts; k++)
			if (mount_is_volume(&c.cfg.mounts[k]))
				r = add_use(&u->volumes, &u->n_volumes, c.cfg.mounts[k].source);
		container_close(&c);
		if (r < 0)
			r = diyc_error(err, ENOMEM, "list what the containers use");
	}
	return r;
}

struct prune_run {
	const struct diyc_paths *p;
	const struct userns_plan *plan;
	const struct system_prune_ops *ops;
	struct uses uses;
	uint64_t reclaimed;
	int ret;                 /* the first failure; the other steps still run */
	struct diyc_error *err;
};

static void report(struct prune_run *pr, enum system_pruned kind, const char *what)
{
	if (pr->ops && pr->ops->removed)
		pr->ops->removed(kind, what, pr->ops->data);
}

static void failed(struct prune_run *pr, int r, const struct diyc_error *e)
{
	if (pr->ret == 0) {
		pr->ret = r;
		*pr->err = *e;
	}
}

static void prune_containers(struct prune_run *pr, const struct system_df *df)
{
	for (size_t i = 0; i < df->n_containers; i++) {
		const struct df_container *dc = &df->containers[i];
		struct container c;
		struct diyc_error e = { 0 };
		if (dc->status == STATUS_RUNNING || container_open(pr->p, dc->name, &c, &e) < 0)
			continue;
		if (c.st.status != STATUS_RUNNING) {
			int r = container_rm(&c, false, pr->plan, &e);
			if (r == 0) {
				pr->reclaimed += dc->size;
				report(pr, SYSTEM_PRUNED_CONTAINER, dc->name);
			} else if (e.errnum != EBUSY) {
				failed(pr, r, &e); /* EBUSY: started meanwhile */
			}
		}
		container_close(&c);
	}
	container_clean_leftovers(pr->p, pr->plan);
}

static void prune_volumes(struct prune_run *pr, const struct system_df *df)
{
	struct diyc_error e = { 0 };
	int r = scan_uses(pr->p, &pr->uses, &e);
	if (r < 0) {
		failed(pr, r, &e);
		return;
	}
	for (size_t i = 0; i < df->n_volumes; i++) {
		const struct df_volume *v = &df->volumes[i];
		if (uses_has(pr->uses.volumes, v->name))
			continue;
		memset(&e, 0, sizeof(e));
		r = volume_remove(pr->p, v->name, pr->plan, &e);
		if (r == 0) {
			pr->reclaimed += v->size;
			report(pr, SYSTEM_PRUNED_VOLUME, v->name);
		} else if (r != -ENOENT) {
			failed(pr, r, &e);
		}
	}
}

static bool image_used(const char *image_id, char *who, size_t whosz, void *data)
{
	struct prune_run *pr = data;
	snprintf(who, whosz, "a container");
	return uses_has(pr->uses.images, image_id);
}

static void image_gone(enum image_removed kind, const char *what, void *data)
{
	static const enum system_pruned as[] = {
		[IMAGE_UNTAGGED] = SYSTEM_PRUNED_UNTAGGED, [IMAGE_DELETED] = SYSTEM_PRUNED_IMAGE,
		[IMAGE_PRUNED_IMAGE] = SYSTEM_PRUNED_IMAGE, [IMAGE_PRUNED_LAYER] = SYSTEM_PRUNED_LAYER,
	};
	report(data, as[kind], what);
}

static void prune_images(struct prune_run *pr, const struct system_df *df, bool all)
{
	struct diyc_error e = { 0 };
	struct layer_set before = { 0 };
	int r = layer_set_measure(pr->p, pr->plan, &before, &e);
	if (r == 0)
		r = scan_uses(pr->p, &pr->uses, &e);
	struct image_remove_ops ops = { .in_use = image_used, .removed = image_gone, .data = pr };
	for (size_t i = 0; r == 0 && all && i < df->n_images; i++) {
		if (uses_has(pr->uses.images, df->images[i].id))
			continue;
		memset(&e, 0, sizeof(e));
		int k = image_remove(pr->p, pr->plan, df->images[i].id, false, &ops, &e);
		if (k < 0 && k != -ENOENT && k != -EBUSY)
			failed(pr, k, &e);
	}
	uint64_t ignored;
	if (r == 0) {
		memset(&e, 0, sizeof(e));
		r = image_prune(pr->p, pr->plan, &ops, &ignored, &e);
	}
	if (r < 0)
		failed(pr, r, &e);
	/* what the layers that are gone took */
	for (size_t i = 0; i < before.n; i++) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/layers/%s", pr->p->data, before.v[i].digest);
		if (!before.v[i].gone && lstat(path, &st) < 0 && errno == ENOENT)
			pr->reclaimed += before.v[i].bytes;
	}
	layer_set_free(&before);
}

int system_prune(const struct diyc_paths *p, const struct userns_plan *plan, const struct system_prune_opts *o,
		 const struct system_prune_ops *ops, uint64_t *reclaimed, struct diyc_error *err)
{
	*reclaimed = 0;
	struct system_df df;
	int r = system_df(p, plan, &df, err);
	if (r < 0)
		return r;
	struct prune_run pr = { .p = p, .plan = plan, .ops = ops, .err = err };
	prune_containers(&pr, &df);
	if (o->volumes)
		prune_volumes(&pr, &df);
	prune_images(&pr, &df, o->all_images);
	uses_free(&pr.uses);
	system_df_free(&df);
	*reclaimed = pr.reclaimed;
	return pr.ret;
}
