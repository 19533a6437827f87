/* SPDX-License-Identifier: MIT */
/* layers.c: the layers of the store and what each takes on disk (du's figure of its whole
 * directory: the files, the record of its tar headers, its size note).
 *
 * A layer never changes once stored: its name is the digest of its content, it is written
 * in a temporary directory and renamed into place whole. So its size is measured once,
 * when a listing first meets it, and recorded in DATA/system/layer-sizes with the inode
 * and change time of its directory: a layer removed and stored again is a new directory,
 * and is measured again. This is what keeps `system df` fast on a store of many images
 * without ever showing an old figure; what can change (upper dirs, volumes) is walked at
 * every call (df.c). The record is a cache: when it cannot be written, the next call
 * measures again. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "system-internal.h"
#include "lib/util.h"

#define RECORD "layer-sizes"

static bool is_digest(const char *s)
{
	return strlen(s) == DIGEST_HEX_LEN && strspn(s, "0123456789abcdef") == DIGEST_HEX_LEN;
}

static int cmp_layer(const void *a, const void *b)
{
	return strcmp(((const struct layer_usage *)a)->digest, ((const struct layer_usage *)b)->digest);
}

const struct layer_usage *layer_set_find(const struct layer_set *ls, const char *digest)
{
	struct layer_usage key;
	snprintf(key.digest, sizeof(key.digest), "%s", digest);
	return ls->n ? bsearch(&key, ls->v, ls->n, sizeof(*ls->v), cmp_layer) : NULL;
}

/* The layer directories of DATA/layers (not the temporary ones of an import). */
static int list_layers(int dfd, struct layer_set *ls, struct diyc_error *err)
{
	int d2 = dup(dfd);
	DIR *d = d2 < 0 ? NULL : fdopendir(d2);
	if (!d) {
		if (d2 >= 0)
			close(d2);
		return diyc_error(err, errno, "list the layers of the store");
	}
	size_t cap = 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		struct stat st;
		if (!is_digest(de->d_name) || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (ls->n == cap) {
			struct layer_usage *m = realloc(ls->v, (cap = cap ? cap * 2 : 32) * sizeof(*m));
			if (!m) {
				r = diyc_error(err, ENOMEM, "list the layers of the store");
				break;
			}
			ls->v = m;
		}
		struct layer_usage *l = &ls->v[ls->n++];
		memset(l, 0, sizeof(*l));
		snprintf(l->digest, sizeof(l->digest), "%s", de->d_name);
		l->ino = st.st_ino;
		l->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	}
	closedir(d);
	if (r == 0 && ls->n)
		qsort(ls->v, ls->n, sizeof(*ls->v), cmp_layer);
	return r;
}

/* Takes the sizes of the record that still describe the same directories. */
static void read_record(const struct diyc_paths *p, struct layer_set *ls)
{
	_cleanup_free_ char *path = xasprintf("%s/system/" RECORD, p->data), *text = NULL;
	if (!path || read_file_at(AT_FDCWD, path, 64 << 20, &text, NULL) < 0) {
		ls->changed = ls->n > 0;
		return;
	}
	size_t lines = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char digest[DIGEST_HEX_LEN + 2];
		uint64_t ino, bytes;
		int64_t ctime_ns;
		lines++;
		if (sscanf(line, "%65s %" SCNu64 " %" SCNd64 " %" SCNu64, digest, &ino, &ctime_ns, &bytes) != 4 ||
		    !is_digest(digest)) {
			ls->changed = true;
			continue;
		}
		struct layer_usage *l = (struct layer_usage *)layer_set_find(ls, digest);
		if (!l || l->measured || l->ino != ino || l->ctime_ns != ctime_ns) {
			ls->changed = true; /* a layer gone, or stored again */
			continue;
		}
		l->bytes = bytes;
		l->measured = true;
	}
	if (lines != ls->n)
		ls->changed = true;
}

int layer_set_load(const struct diyc_paths *p, struct layer_set *ls, struct du_tree **trees,
		   struct diyc_error *err)
{
	memset(ls, 0, sizeof(*ls));
	*trees = NULL;
	_cleanup_free_ char *dir = xasprintf("%s/layers", p->data);
	_cleanup_close_ int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd < 0)
		return errno == ENOENT ? 0 : diyc_error(err, errno, "open `%s`", dir ? dir : "layers");
	int r = list_layers(dfd, ls, err);
	if (r < 0)
		return r;
	read_record(p, ls);
	ls->todo = calloc(ls->n + 1, sizeof(*ls->todo));
	*trees = calloc(ls->n + 1, sizeof(**trees));
	if (!ls->todo || !*trees)
		return diyc_error(err, ENOMEM, "list the layers of the store");
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].measured)
			continue;
		struct du_tree *t = &(*trees)[ls->n_todo];
		ls->todo[ls->n_todo++] = i;
		t->fd = du_open(dfd, ls->v[i].digest);
		/* removed since the listing: nothing to measure, dropped by layer_set_finish */
		t->error = t->fd == -ENOENT ? -ENOENT : 0;
		if (t->fd < 0 && t->fd != -ENOENT)
			return diyc_error(err, -t->fd, "open layer %.12s", ls->v[i].digest);
		if (t->fd < 0)
			t->fd = -1;
	}
	return 0;
}

static void write_record(const struct diyc_paths *p, const struct layer_set *ls)
{
	size_t cap = ls->n * (DIGEST_HEX_LEN + 3 * 21 + 4) + 1, len = 0;
	_cleanup_free_ char *text = malloc(cap);
	struct diyc_error ignore = { 0 };
	if (!text || paths_ensure_data(p, "system", &ignore) < 0)
		return;
	text[0] = '\0';
	for (size_t i = 0; i < ls->n; i++)
		if (!ls->v[i].gone)
			len += (size_t)snprintf(text + len, cap - len, "%s %" PRIu64 " %" PRId64 " %" PRIu64 "\n",
					ls->v[i].digest, ls->v[i].ino, ls->v[i].ctime_ns, ls->v[i].bytes);
	_cleanup_free_ char *dir = xasprintf("%s/system", p->data);
	_cleanup_close_ int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) : -1;
	if (dfd >= 0 && write_file_atomic_nosync(dfd, RECORD, text, len, 0600) < 0)
		diyc_debug("could not record the sizes of layers in %s/" RECORD, dir);
}

int layer_set_finish(const struct diyc_paths *p, struct layer_set *ls, struct du_tree *trees,
		     struct diyc_error *err)
{
	int r = 0;
	for (size_t k = 0; k < ls->n_todo; k++) {
		struct layer_usage *l = &ls->v[ls->todo[k]];
		if (trees[k].fd >= 0)
			close(trees[k].fd);
		trees[k].fd = -1;
		if (trees[k].error == -ENOENT) {
			l->gone = true; /* removed meanwhile */
			ls->changed = true;
		} else if (trees[k].error < 0) {
			if (r == 0)
				r = diyc_error(err, -trees[k].error, "measure layer %.12s of the store", l->digest);
		} else {
			l->bytes = trees[k].bytes;
			l->measured = true;
			ls->changed = true;
		}
	}
	ls->n_todo = 0;
	if (r == 0 && ls->changed)
		write_record(p, ls);
	return r;
}

int layer_set_measure(const struct diyc_paths *p, const struct userns_plan *plan, struct layer_set *ls,
		      struct diyc_error *err)
{
	struct du_tree *trees = NULL;
	int r = layer_set_load(p, ls, &trees, err);
	if (r == 0)
		r = du_trees(plan, trees, ls->n_todo, err);
	if (r == 0)
		r = layer_set_finish(p, ls, trees, err);
	for (size_t k = 0; trees && k < ls->n_todo; k++)
		if (trees[k].fd >= 0)
			close(trees[k].fd);
	free(trees);
	return r;
}

void layer_set_free(struct layer_set *ls)
{
	free(ls->v);
	free(ls->todo);
	memset(ls, 0, sizeof(*ls));
}
