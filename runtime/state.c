/* SPDX-License-Identifier: MIT */
/* state.c: container directories and names. Creating DATA/containers/NAME with
 * mkdir() is the atomic step that claims a name: of two `run --name X` at once, one
 * mkdir wins and the other gets EEXIST. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "image.h"
#include "state.h"
#include "util.h"

bool container_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > CONTAINER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

bool hostname_valid(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 63)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!alnum && !(c == '-' && label > 0))
			return false;
		label++;
	}
	return label > 0 && h[n - 1] != '-';
}

void hostname_from_name(const char *name, char *out, size_t outsz)
{
	size_t n = 0;
	for (const char *c = name; *c && n < 63 && n + 1 < outsz; c++)
		out[n++] = (*c == '_') ? '-' : *c;
	while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.'))
		n--;
	out[n] = '\0';
	if (!hostname_valid(out))
		snprintf(out, outsz, "diyc");
}

static const char *adjectives[] = {
	"brave", "calm", "clever", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lively",
	"lucid", "merry", "nimble", "proud", "quiet", "quick", "sharp", "shiny", "silent", "steady",
	"swift", "tidy", "vivid", "witty", "bold", "bright", "crisp", "daring", "fond", "noble",
};
static const char *nouns[] = {
	"otter", "falcon", "maple", "comet", "badger", "heron", "lynx", "cedar", "panda", "raven",
	"walrus", "orca", "ibex", "koala", "marten", "osprey", "puffin", "quokka", "robin", "salmon",
	"tapir", "viper", "wombat", "yak", "zebra", "bison", "crane", "dingo", "egret", "gecko",
};

static int mkdir_claim(const struct diyc_paths *p, const char *name, struct container_dirs *d)
{
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (snprintf(d->data, sizeof(d->data), "%s/containers/%s", p->data, name) >= (int)sizeof(d->data) ||
	    snprintf(d->run, sizeof(d->run), "%s/containers/%s", p->run, name) >= (int)sizeof(d->run))
		return -ENAMETOOLONG;
	if (mkdir(d->data, 0700) < 0)
		return -errno;
	return 0;
}

int container_create(const struct diyc_paths *p, const char *name, struct container_dirs *d,
		     struct diyc_error *err)
{
	int r = paths_ensure_data(p, "containers", err);
	if (r < 0)
		return r;
	if ((r = paths_ensure_run(p, "containers", err)) < 0)
		return r;
	if (name) {
		r = mkdir_claim(p, name, d);
		if (r == -EEXIST)
			return diyc_error_plain(err, EEXIST, "the container name `%s` is already in use: "
				"choose another with --name", name);
		if (r < 0)
			return diyc_error(err, -r, "create the container directory for `%s`", name);
	} else {
		for (int tries = 0;; tries++) {
			unsigned char rnd[3];
			if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
				return diyc_error(err, errno, "getrandom");
			char gen[64];
			const char *a = adjectives[rnd[0] % ARRAY_SIZE(adjectives)];
			const char *n = nouns[rnd[1] % ARRAY_SIZE(nouns)];
			if (tries < 8)
				snprintf(gen, sizeof(gen), "%s_%s", a, n);
			else
				snprintf(gen, sizeof(gen), "%s_%s_%u", a, n, (unsigned)rnd[2] * 256 + tries);
			r = mkdir_claim(p, gen, d);
			if (r == 0)
				break;
			if (r != -EEXIST || tries > 64)
				return diyc_error(err, -r, "create a container directory");
		}
	}
	snprintf(d->upper, sizeof(d->upper), "%s/upper", d->data);
	snprintf(d->work, sizeof(d->work), "%s/work", d->data);
	snprintf(d->rootfs, sizeof(d->rootfs), "%s/rootfs", d->run);
	return 0;
}

int container_populate(const struct container_dirs *d, struct diyc_error *err)
{
	int r = 0;
	/* a run dir left by a crash under the same name is stale: the data dir was free */
	if (mkdir(d->run, 0700) < 0 && errno == EEXIST) {
		rm_rf(d->run);
		r = mkdir(d->run, 0700) < 0 ? -errno : 0;
	}
	if (r < 0 || mkdir(d->upper, 0755) < 0 || mkdir(d->work, 0700) < 0 || mkdir(d->rootfs, 0755) < 0)
		return diyc_error(err, r < 0 ? -r : errno, "create the directories of container `%s`", d->name);
	return 0;
}

int container_write_config(const struct container_dirs *d, const char *json, bool durable,
			   struct diyc_error *err)
{
	_cleanup_close_ int dfd = open(d->data, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return diyc_error(err, errno, "open `%s`", d->data);
	int r = durable ? write_file_atomic(dfd, "config.json", json, strlen(json), 0600)
			: write_file_at(dfd, "config.json", json, strlen(json), 0600);
	if (r < 0)
		return diyc_error(err, -r, "write the configuration of `%s`", d->name);
	return 0;
}

int container_remove_dirs(const struct container_dirs *d, const struct userns_plan *plan,
			  struct diyc_error *err)
{
	int r1 = remove_tree(plan, d->run, err);
	diyc_debug("run dir removed");
	int r2 = remove_tree(plan, d->data, err);
	return r1 < 0 ? r1 : r2;
}
