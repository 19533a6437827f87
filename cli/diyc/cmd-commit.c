/* SPDX-License-Identifier: MIT */
/* cmd-commit.c: `diyc commit`: opens the container through the container store, and
 * hands its upper dir, its image and its settings to the image store's commit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "container/disk.h"
#include "container/store.h"
#include "image/commit.h"
#include "lib/paths.h"
#include "lib/util.h"
#include "lib/userns.h"

static const char commit_usage[] =
	"Usage: diyc commit [OPTIONS] CONTAINER [NAME[:TAG]]\n"
	"\n"
	"Make a new image from a container's changes: the files it added, changed and\n"
	"deleted become one new layer on top of its image's layers. The image's settings\n"
	"come along, with the container's command, environment, working directory and user\n"
	"(as `docker commit`). The generated /etc/hosts, /etc/hostname and /etc/resolv.conf\n"
	"and the contents of volumes are not part of it. The container may be running; it\n"
	"is not paused, so commit it stopped for a consistent copy. Prints the new image's id.\n"
	"\n"
	"Options:\n"
	"  -m, --message TEXT  A comment for the image's history\n"
	"  -a, --author TEXT   The image's author\n"
	"      --help          Show this help\n";

/* The container as the image store's commit takes it. */
static int commit_container(const struct diyc_paths *p, const struct userns_plan *plan, const struct container *ct,
			    const struct commit_opts *co, char id[IMAGE_ID_LEN + 1], struct diyc_error *err)
{
	const struct container_config *cc = &ct->cfg;
	char upper[PATH_MAX];
	_cleanup_close_ int anchor = -1;
	int r = container_disk_upper(ct, upper, sizeof(upper), &anchor, err);
	if (r < 0)
		return r;
	struct commit_source src = {
		.name = ct->d.name,
		.upper = upper,
		.image_id = cc->image_id,
		.config = { .env = cc->env, .command = cc->command, .entrypoint_len = cc->entrypoint_len,
			    .workdir = cc->workdir, .user = cc->user, .labels = cc->labels, .exposed = cc->exposed },
	};
	return image_commit(p, plan, &src, co, id, err);
}

/* -m, -a: into the struct commit_opts data points to */
static int commit_opt(int c, const char *arg, void *data)
{
	struct commit_opts *co = data;
	if (c == 'm')
		co->message = arg;
	else if (c == 'a')
		co->author = arg;
	return 0;
}

int cmd_commit(int argc, char **argv)
{
	static const struct option o[] = { { "message", required_argument, NULL, 'm' },
					   { "author", required_argument, NULL, 'a' }, OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "commit", commit_usage, "+:m:a:", o };
	struct commit_opts co = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, commit_opt, &co, &r))
		return r;
	int n = argc - optind;
	if (n < 1 || n > 2)
		return usage_error("commit", "expected CONTAINER [NAME[:TAG]]");
	co.ref = n == 2 ? argv[optind + 1] : NULL;
	struct diyc_error err = { 0 };
	char norm[PATH_MAX];
	if (co.ref && image_ref_normalize(co.ref, norm, sizeof(norm), &err) < 0)
		return fail(&err);
	struct diyc_paths p;
	struct userns_plan plan;
	if (paths_init(&p, &err) < 0 || userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	struct container ct;
	if (container_open(&p, argv[optind], &ct, &err) < 0) {
		userns_plan_free(&plan);
		return fail(&err);
	}
	/* no start, stop or rm while the upper dir is read */
	r = container_lock(&ct, &err);
	if (r == 0 && !ct.have_config)
		r = diyc_error_plain(&err, EINVAL, "container `%s` has no usable configuration: it cannot be committed",
				     ct.d.name);
	char id[IMAGE_ID_LEN + 1];
	if (r == 0)
		r = commit_container(&p, &plan, &ct, &co, id, &err);
	container_close(&ct);
	userns_plan_free(&plan);
	if (r < 0)
		return fail(&err);
	printf("%s\n", id);
	return 0;
}
