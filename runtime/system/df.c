/* SPDX-License-Identifier: MIT */
/* df.c: what the store holds (`system df`): images, containers and volumes, each with what
 * it takes on disk and whether it is in use.
 *
 * - An image takes its layers; a layer listed by several images is one directory and is
 *   counted once in the total. The sizes of layers are recorded once (layers.c).
 * - A container takes its changes: its upper dir, walked at every call (it changes while
 *   the container runs, and it is usually small), and the image file that holds them when
 *   its disk size is an ext4 image (storage/disk-quota.h).
 * - A volume takes its _data, walked at every call.
 * All walks of one call happen in one du_trees(): at most one user namespace is made for
 * the trees of subordinate ids.
 *
 * In use ("active", as docker says): an image from which a container (running or not) was
 * made, a running container, a volume some container mounts. Reclaimable: what removing
 * what is not in use would free. For images this is the layers no image in use lists: a
 * layer shared with an image in use stays, so it is not counted (docker counts it, and its
 * figure can be more than a prune frees). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "system-internal.h"
#include "system.h"
#include "storage/disk-quota.h"
#include "lib/util.h"

/* An image's layers: indexes into the layer set, once each (one missing from the store: left out). */
struct image_layers {
	long *at;
	size_t n;
};

/* What one call gathers before measuring. */
struct gather {
	struct system_df *df;
	struct layer_set layers;
	struct image_layers *img_layers; /* per df->images[i] */
	struct du_tree *trees;           /* layers to measure, then containers', then volumes' */
	size_t n_trees, first_container, first_volume;
	uint64_t *extra;                 /* per container: the blocks of its disk image file */
};

bool mount_is_volume(const struct mount_entry *m)
{
	return m->kind == MOUNT_VOLUME && m->source;
}

static int add_image_layers(struct gather *g, size_t i, struct json_object *layers)
{
	struct image_layers *il = &g->img_layers[i];
	size_t n = json_object_is_type(layers, json_type_array) ? json_object_array_length(layers) : 0;
	il->at = calloc(n + 1, sizeof(*il->at));
	if (!il->at)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		const char *d = json_object_get_string(json_object_array_get_idx(layers, k));
		const struct layer_usage *l = d ? layer_set_find(&g->layers, d) : NULL;
		long at = l ? (long)(l - g->layers.v) : -1;
		bool dup = false;
		for (size_t j = 0; j < il->n && !dup; j++)
			dup = at >= 0 && il->at[j] == at; /* an image may list a layer twice (empty ones) */
		if (!dup && at >= 0)
			il->at[il->n++] = at;
	}
	return 0;
}

/* One df_image per image id, under its first name (image_list's order). */
static int gather_images(const struct diyc_paths *p, struct gather *g, struct diyc_error *err)
{
	struct image_row *rows = NULL;
	size_t n = 0;
	int r = image_list(p, &rows, &n, err);
	if (r < 0)
		return r;
	struct system_df *df = g->df;
	df->images = calloc(n + 1, sizeof(*df->images));
	g->img_layers = calloc(n + 1, sizeof(*g->img_layers));
	if (!df->images || !g->img_layers) {
		free(rows);
		return diyc_error(err, ENOMEM, "list images");
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		bool seen = false;
		for (size_t k = 0; k < df->n_images && !seen; k++)
			seen = !strcmp(df->images[k].id, rows[i].id);
		if (seen)
			continue;
		struct json_object *j = image_read_json(p, rows[i].id), *layers = NULL;
		if (!j)
			continue; /* removed meanwhile */
		struct df_image *im = &df->images[df->n_images];
		snprintf(im->id, sizeof(im->id), "%s", rows[i].id);
		snprintf(im->repo, sizeof(im->repo), "%s", rows[i].repo);
		snprintf(im->tag, sizeof(im->tag), "%s", rows[i].tag);
		snprintf(im->created, sizeof(im->created), "%s", rows[i].created);
		json_object_object_get_ex(j, "layers", &layers);
		if (add_image_layers(g, df->n_images, layers) < 0)
			r = diyc_error(err, ENOMEM, "list images");
		json_object_put(j);
		df->n_images++;
	}
	free(rows);
	return r;
}

static int push_tree(struct gather *g, int fd)
{
	struct du_tree *m = realloc(g->trees, (g->n_trees + 1) * sizeof(*m));
	if (!m) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	g->trees = m;
	g->trees[g->n_trees++] = (struct du_tree){ .fd = fd };
	return 0;
}

static char **strv_copy(char *const *v)
{
	size_t n = strv_length(v);
	char **out = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; out && i < n; i++)
		if (!(out[i] = strdup(v[i]))) {
			strv_free(out);
			return NULL;
		}
	return out;
}

/* The fields of one container, and its upper dir (and disk image) to measure. */
static int add_container(struct gather *g, struct container *c, struct df_container *dc)
{
	const struct container_config *cfg = c->have_config ? &c->cfg : NULL;
	snprintf(dc->name, sizeof(dc->name), "%s", c->d.name);
	dc->image = strdup(cfg && cfg->image ? cfg->image : "");
	dc->command = strv_copy(cfg ? cfg->command : NULL);
	if (!dc->image || !dc->command)
		return -ENOMEM;
	snprintf(dc->created, sizeof(dc->created), "%s", cfg ? cfg->created : "");
	snprintf(dc->started_at, sizeof(dc->started_at), "%s", c->st.started_at);
	snprintf(dc->finished_at, sizeof(dc->finished_at), "%s", c->st.finished_at);
	dc->status = c->st.status;
	dc->exit_code = c->st.exit_code;
	for (size_t k = 0; cfg && k < cfg->n_mounts; k++)
		dc->volumes += mount_is_volume(&cfg->mounts[k]);
	struct stat st;
	if (fstatat(c->dirfd, DISK_IMAGE_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		g->extra[g->df->n_containers] = (uint64_t)st.st_blocks * 512;
	int fd = du_open(c->dirfd, "upper");
	if (fd < 0 && fd != -ENOENT)
		return fd;
	return push_tree(g, fd < 0 ? -1 : fd); /* no upper dir yet: nothing written */
}

/* Counts an image use and the volume mounts of one container. */
static void note_uses(struct system_df *df, const struct container *c)
{
	if (!c->have_config)
		return;
	for (size_t i = 0; c->cfg.image_id && i < df->n_images; i++)
		if (!strcmp(df->images[i].id, c->cfg.image_id))
			df->images[i].containers++;
	for (size_t k = 0; k < c->cfg.n_mounts; k++)
		for (size_t v = 0; mount_is_volume(&c->cfg.mounts[k]) && v < df->n_volumes; v++)
			if (!strcmp(df->volumes[v].name, c->cfg.mounts[k].source))
				df->volumes[v].links++;
}

/* An array of one zeroed element of size per name, and one more (NULL: out of memory). */
static void *per_name(char **names, size_t size)
{
	return calloc(strv_length(names) + 1, size);
}

static int gather_containers(const struct diyc_paths *p, struct gather *g, struct diyc_error *err)
{
	_cleanup_strv_ char **names = NULL;
	struct system_df *df = g->df;
	int r = container_list(p, &names, err);
	if (r == 0 && (!(df->containers = per_name(names, sizeof(*df->containers))) ||
		       !(g->extra = per_name(names, sizeof(*g->extra)))))
		r = diyc_error(err, ENOMEM, "list containers");
	g->first_container = g->n_trees;
	for (char **name = names; r == 0 && *name; name++) {
		struct container c;
		struct diyc_error ignore = { 0 };
		if (container_open(p, *name, &c, &ignore) < 0)
			continue; /* removed meanwhile */
		r = add_container(g, &c, &df->containers[df->n_containers]);
		if (r < 0)
			r = diyc_error(err, -r, "measure container `%s`", *name);
		else
			note_uses(df, &c);
		df->n_containers++;
		container_close(&c);
	}
	return r;
}

/* The fields of one volume, and its _data to measure. */
static int add_volume(const struct diyc_paths *p, struct gather *g, const char *name, struct diyc_error *err)
{
	struct volume_info info;
	struct diyc_error ignore = { 0 };
	if (volume_get(p, name, &info, &ignore) < 0)
		return 0; /* removed meanwhile */
	struct df_volume *v = &g->df->volumes[g->df->n_volumes++];
	snprintf(v->name, sizeof(v->name), "%s", info.name);
	snprintf(v->mountpoint, sizeof(v->mountpoint), "%s", info.mountpoint);
	v->anonymous = info.anonymous;
	volume_info_free(&info);
	/* _data swapped for a link is refused here, never followed */
	int fd = volume_open_data(p, name, err);
	if (fd < 0)
		return fd;
	return push_tree(g, fd) < 0 ? diyc_error(err, ENOMEM, "list volumes") : 0;
}

static int gather_volumes(const struct diyc_paths *p, struct gather *g, struct diyc_error *err)
{
	_cleanup_strv_ char **names = NULL;
	struct system_df *df = g->df;
	int r = volume_list(p, &names, err);
	if (r == 0 && !(df->volumes = per_name(names, sizeof(*df->volumes))))
		r = diyc_error(err, ENOMEM, "list volumes");
	g->first_volume = g->n_trees;
	for (char **name = names; r == 0 && *name; name++)
		r = add_volume(p, g, *name, err);
	return r;
}

/* The bytes of each image (its layers), shared with other images, and the summary line. */
static void sum_images(struct gather *g)
{
	struct system_df *df = g->df;
	size_t nl = g->layers.n;
	/* per layer: how many images list it, and whether one in use does */
	unsigned *listed = calloc(nl + 1, sizeof(*listed));
	bool *used = calloc(nl + 1, sizeof(*used));
	for (size_t i = 0; listed && used && i < df->n_images; i++)
		for (size_t k = 0; k < g->img_layers[i].n; k++) {
			listed[g->img_layers[i].at[k]]++;
			used[g->img_layers[i].at[k]] |= df->images[i].containers > 0;
		}
	for (size_t i = 0; listed && used && i < df->n_images; i++) {
		struct df_image *im = &df->images[i];
		for (size_t k = 0; k < g->img_layers[i].n; k++) {
			long at = g->img_layers[i].at[k];
			im->size += g->layers.v[at].bytes;
			if (listed[at] > 1)
				im->shared_size += g->layers.v[at].bytes;
		}
		df->image_sum.total++;
		df->image_sum.active += im->containers > 0;
	}
	/* every layer of the store once, also those no image lists (prune removes them) */
	for (size_t l = 0; l < nl; l++) {
		df->image_sum.size += g->layers.v[l].bytes;
		if (!(used && used[l]))
			df->image_sum.reclaimable += g->layers.v[l].bytes;
	}
	free(listed);
	free(used);
}

static void sum_containers(struct gather *g)
{
	struct system_df *df = g->df;
	for (size_t i = 0; i < df->n_containers; i++) {
		struct df_container *c = &df->containers[i];
		c->size = g->trees[g->first_container + i].bytes + g->extra[i];
		df->container_sum.total++;
		df->container_sum.size += c->size;
		if (c->status == STATUS_RUNNING)
			df->container_sum.active++;
		else
			df->container_sum.reclaimable += c->size;
	}
}

static void sum_volumes(struct gather *g)
{
	struct system_df *df = g->df;
	for (size_t i = 0; i < df->n_volumes; i++) {
		struct df_volume *v = &df->volumes[i];
		v->size = g->trees[g->first_volume + i].bytes;
		df->volume_sum.total++;
		df->volume_sum.size += v->size;
		if (v->links)
			df->volume_sum.active++;
		else
			df->volume_sum.reclaimable += v->size;
	}
}

/* A tree that could not be measured: gone meanwhile is nothing; anything else is an error. */
static int check_trees(struct gather *g, struct diyc_error *err)
{
	struct system_df *df = g->df;
	for (size_t t = g->layers.n_todo; t < g->n_trees; t++) {
		int e = g->trees[t].error;
		if (e == 0 || e == -ENOENT) {
			if (e)
				g->trees[t].bytes = 0;
			continue;
		}
		if (t < g->first_container)
			return diyc_error(err, -e, "measure volume `%s`", df->volumes[t - g->first_volume].name);
		return diyc_error(err, -e, "measure the changes of container `%s`",
				  df->containers[t - g->first_container].name);
	}
	return 0;
}

int system_df(const struct diyc_paths *p, const struct userns_plan *plan, struct system_df *df,
	      struct diyc_error *err)
{
	memset(df, 0, sizeof(*df));
	struct gather g = { .df = df };
	int r = layer_set_load(p, &g.layers, &g.trees, err);
	g.n_trees = g.layers.n_todo;
	if (r == 0)
		r = gather_images(p, &g, err);
	if (r == 0)
		r = gather_volumes(p, &g, err);
	if (r == 0)
		r = gather_containers(p, &g, err);
	if (r == 0)
		r = du_trees(plan, g.trees, g.n_trees, err);
	if (r == 0)
		r = check_trees(&g, err);
	if (r == 0)
		r = layer_set_finish(p, &g.layers, g.trees, err);
	if (r == 0) {
		sum_images(&g);
		sum_containers(&g);
		sum_volumes(&g);
	}
	for (size_t t = 0; t < g.n_trees; t++)
		if (g.trees[t].fd >= 0)
			close(g.trees[t].fd);
	for (size_t i = 0; g.img_layers && i < df->n_images; i++)
		free(g.img_layers[i].at);
	free(g.img_layers);
	free(g.trees);
	free(g.extra);
	layer_set_free(&g.layers);
	if (r < 0)
		system_df_free(df);
	return r;
}

void system_df_free(struct system_df *df)
{
	for (size_t i = 0; i < df->n_containers; i++) {
		free(df->containers[i].image);
		strv_free(df->containers[i].command);
	}
	free(df->images);
	free(df->containers);
	free(df->volumes);
	memset(df, 0, sizeof(*df));
}
