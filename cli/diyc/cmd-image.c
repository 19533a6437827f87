/* SPDX-License-Identifier: MIT */
/* cmd-image.c: `diyc image import|ls|rm|inspect|prune|export` and `diyc images`. The image
 * store returns data; the table of `image ls`, the lines of `image rm` and `image prune`
 * are formatted here, and whether a container uses an image is answered here from the
 * container store (the image store does not know containers). */
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "commands.h"
#include "output.h"
#include "verbs.h"
#include "container/store.h"
#include "image/image.h"
#include "lib/paths.h"
#include "lib/userns.h"
#include "lib/util.h"

static const char image_usage[] =
	"Usage: diyc image COMMAND\n"
	"\n"
	"Manage images.\n"
	"\n"
	"Commands:\n"
	"  import PATH [NAME[:TAG]]  Import an image: an OCI layout or archive, a docker archive,\n"
	"                            or a root filesystem (a directory or a tarball)\n"
	"  ls                        List images\n"
	"  rm [-f] IMAGE...          Remove images (-f: even when a container uses them)\n"
	"  inspect IMAGE...          Show images as JSON (config, layers, names)\n"
	"  prune                     Remove unnamed unused images and layers no image uses\n"
	"  export IMAGE FILE         Write an image to FILE as an OCI archive\n"
	"  tag SOURCE TARGET         Give an image another name\n"
	"  pull NAME                 Pull an image from a registry (see `diyc pull --help`)\n"
	"  push IMAGE [DESTINATION]  Push an image to a registry (see `diyc push --help`)\n";

static const char tag_usage[] =
	"Usage: diyc image tag SOURCE TARGET\n"
	"\n"
	"Name the image SOURCE (NAME[:TAG] or id) TARGET too (NAME[:TAG], where NAME may start\n"
	"with a registry, HOST[:PORT]/PATH, as `diyc push` needs it).\n"
	"\n"
	"Options:\n"
	"  --help  Show this help\n";

static const char export_usage[] =
	"Usage: diyc image export [OPTIONS] IMAGE [FILE]\n"
	"\n"
	"Write an image (by NAME[:TAG] or id) as an OCI archive: an OCI image layout in a\n"
	"tar, which `diyc image import`, skopeo (oci-archive:FILE), podman (`podman load`),\n"
	"buildah and umoci read. Layers are the exact tar streams the image was made of,\n"
	"uncompressed, so the digests are the image's own and importing the archive again\n"
	"gives the same image id. The image's name is kept in the archive. FILE is written\n"
	"whole or not at all; without FILE (or with -) the archive goes to standard output.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE  Write to FILE (as `docker save -o`)\n"
	"      --help         Show this help\n";

static const char inspect_usage[] =
	"Usage: diyc image inspect IMAGE...\n"
	"\n"
	"Show images by NAME[:TAG] or id as a JSON array: Id, RepoTags, RepoDigests, Created, Size,\n"
	"Architecture, Os, Config (Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts,\n"
	"Labels, ...) and RootFS (the layers' digests, bottom first).\n"
	"\n"
	"Options:\n"
	"  --help  Show this help\n";

static const char prune_usage[] =
	"Usage: diyc image prune [OPTIONS]\n"
	"\n"
	"Remove images that have no name and that no container uses, then layers that no\n"
	"image uses (left by an interrupted import, for instance). Prints what it removed.\n"
	"\n"
	"Options:\n"
	"  -f, --force  Accepted for compatibility: diyc does not ask\n"
	"      --help   Show this help\n";

static const char import_usage[] =
	"Usage: diyc image import [OPTIONS] PATH [NAME[:TAG]]\n"
	"\n"
	"Import an image. PATH is one of:\n"
	"  - an OCI image layout (a directory with oci-layout and index.json), or an OCI\n"
	"    archive (the same as a tar), as skopeo, umoci, buildah and podman write them;\n"
	"  - a docker archive (`docker save`, `podman save`: manifest.json and layers);\n"
	"  - a root filesystem: a directory, or a tarball such as `docker export` writes\n"
	"    (plain, gzip, xz, zstd, or - for standard input).\n"
	"Layers are stored once, by the digest of their content, and checked against the\n"
	"digests the image records. Files owned by other users keep their owners, mapped\n"
	"through your subordinate ids. Archives with `..` paths, absolute paths, entries that\n"
	"would be written through a symlink are refused. Device nodes are kept as root and\n"
	"left out by a normal user, who cannot create them (one warning with their count).\n"
	"Without NAME, a docker archive's own name is used. Prints the image's id.\n"
	"\n"
	"Options:\n"
	"  --platform OS/ARCH[/VARIANT]  Which image of a multi-platform index (default: the host's)\n"
	"  --ref NAME    Which image of a source holding several: an OCI ref name (the tag given\n"
	"                to umoci or skopeo) or a docker archive's NAME:TAG\n"
	"  --max-size SIZE  The most the import may unpack, all layers together, such as 512m\n"
	"                or 20g (default: 90% of the free space where images are stored); an\n"
	"                archive that expands past it (a decompression bomb) is refused\n"
	"  --help        Show this help\n";

static const char ls_usage[] =
	"Usage: diyc image ls [OPTIONS]\n"
	"\n"
	"List images.\n"
	"\n"
	"Options:\n"
	"  -q, --quiet    Only show image ids\n"
	"      --digests  Show the digest each image was pulled or pushed by\n"
	"      --help     Show this help\n";

static const char rm_usage[] =
	"Usage: diyc image rm [OPTIONS] IMAGE...\n"
	"\n"
	"Remove images by NAME[:TAG] or id. A name is untagged; the image and its layers go\n"
	"when no name is left. An image that a container uses is kept unless -f is given.\n"
	"\n"
	"Options:\n"
	"  -f, --force  Remove even when a container uses the image\n"
	"      --help   Show this help\n";

enum { OPT_PLATFORM = 256, OPT_REF, OPT_MAX_SIZE };

/* image ls: -q into flags[0], --digests into flags[1] */
static int ls_opt(int c, const char *arg, void *data)
{
	(void)arg;
	((bool *)data)[c == 'q' ? 0 : 1] = true;
	return 0;
}

static const struct option force_longopts[] = { { "force", no_argument, NULL, 'f' }, OPTION_HELP_ENTRY, OPTION_END };
static const struct option help_longopts[] = { OPTION_HELP_ENTRY, OPTION_END };

/* Whether a container's configuration names the image; who gets the first one's name (in
 * the order of the container store's list). */
static bool image_in_use(const char *image_id, char *who, size_t whosz, void *data)
{
	const struct diyc_paths *p = data;
	_cleanup_strv_ char **names = NULL;
	struct diyc_error ignore = { 0 };
	if (container_list(p, &names, &ignore) < 0)
		return false;
	for (char **n = names; n && *n; n++) {
		struct container ct;
		memset(&ignore, 0, sizeof(ignore));
		if (container_open(p, *n, &ct, &ignore) < 0)
			continue;
		bool used = ct.have_config && !strcmp(ct.cfg.image_id ? ct.cfg.image_id : "", image_id);
		container_close(&ct);
		if (used) {
			snprintf(who, whosz, "%s", *n);
			return true;
		}
	}
	return false;
}

/* The lines of `image rm` and `image prune`, one per thing removed. */
static void print_removed(enum image_removed kind, const char *what, void *data)
{
	(void)data;
	if (kind == IMAGE_UNTAGGED) {
		/* names come from the store, which anything that writes there controls: escaped as
		 * every string diyc prints (lib/error.h) */
		_cleanup_free_ char *shown = str_escape_dup(what);
		printf("Untagged: %s\n", shown ? shown : "?");
	} else if (kind == IMAGE_DELETED) {
		printf("Deleted: %s\n", what);
	} else if (kind == IMAGE_PRUNED_IMAGE) {
		printf("deleted image %s\n", what);
	} else {
		printf("deleted layer %s\n", what);
	}
}

static void human_age(char *buf, size_t n, const char *iso)
{
	struct tm tm = { 0 };
	if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(buf, n, "unknown");
		return;
	}
	long d = (long)difftime(time(NULL), timegm(&tm));
	if (d < 60)
		snprintf(buf, n, "%ld seconds ago", d < 0 ? 0 : d);
	else if (d < 3600)
		snprintf(buf, n, "%ld minutes ago", d / 60);
	else if (d < 86400)
		snprintf(buf, n, "%ld hours ago", d / 3600);
	else
		snprintf(buf, n, "%ld days ago", d / 86400);
}

static void print_image_row(const struct image_row *row, bool digests)
{
	char size[32] = "?", age[64] = "unknown";
	if (row->have_size)
		output_size(size, sizeof(size), row->size);
	if (row->created[0])
		human_age(age, sizeof(age), row->created);
	/* names come from the store, which anything that writes there controls: escaped as
	 * every string diyc prints (lib/error.h) */
	_cleanup_free_ char *erepo = str_escape_dup(row->repo), *etag = str_escape_dup(row->tag);
	if (digests)
		printf("%-30s %-12s %-71s %-14.12s %-16s %s\n", erepo ? erepo : "?", etag ? etag : "?",
		       row->digest[0] ? row->digest : "<none>", row->id, age, size);
	else
		printf("%-30s %-12s %-14.12s %-16s %s\n", erepo ? erepo : "?", etag ? etag : "?", row->id, age, size);
}

/* -o, --output FILE: into the const char * data points to */
static int export_opt(int c, const char *arg, void *data)
{
	(void)c;
	if (!*arg)
		return usage_error("image export", "--output needs a file name");
	*(const char **)data = arg;
	return 0;
}

int cmd_image_export(int argc, char **argv)
{
	static const struct option o[] = { { "output", required_argument, NULL, 'o' }, OPTION_HELP_ENTRY,
					   OPTION_END };
	static const struct command_options spec = { "image export", export_usage, "+:o:", o };
	const char *dest = NULL;
	int r;
	if (!parse_options(&spec, argc, argv, export_opt, &dest, &r))
		return r;
	int n = argc - optind;
	if (n < 1 || n > 2 || (dest && n == 2))
		return usage_error("image export", "expected IMAGE FILE (or -o FILE IMAGE)");
	if (n == 2)
		dest = argv[optind + 1];
	if (!dest)
		dest = "-";
	if (!*dest)
		return usage_error("image export", "FILE must not be empty");
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan;
	if (paths_init(&p, &err) < 0 || userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	r = image_export(&p, &plan, argv[optind], dest, &err);
	userns_plan_free(&plan);
	return r < 0 ? fail(&err) : 0;
}

static bool platform_valid(const char *s)
{
	int slashes = 0;
	if (!*s || *s == '/')
		return false;
	for (const char *c = s; *c; c++) {
		if (*c == '/') {
			if (c[1] == '/' || c[1] == '\0')
				return false;
			slashes++;
		} else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) {
			return false;
		}
	}
	return slashes == 1 || slashes == 2;
}

/* --platform, --max-size, --ref: into the struct import_opts data points to */
static int import_opt(int c, const char *arg, void *data)
{
	struct import_opts *io = data;
	if (c == OPT_PLATFORM) {
		if (!platform_valid(arg))
			return usage_error("image import", "invalid platform `%s`: expected OS/ARCH[/VARIANT] "
					   "such as linux/amd64", arg);
		io->platform = arg;
	} else if (c == OPT_MAX_SIZE) {
		if (parse_size(arg, 1, &io->max_size) < 0 || io->max_size == 0)
			return usage_error("image import", "invalid --max-size `%s`: expected a size such as 512m "
					   "or 20g (units b, k, m, g, t)", arg);
	} else if (c == OPT_REF) {
		if (!*arg || strlen(arg) > 255)
			return usage_error("image import", "invalid --ref `%s`", arg);
		io->ref = arg;
	}
	return 0;
}

int cmd_image_import(int argc, char **argv)
{
	static const struct option o[] = { { "platform", required_argument, NULL, OPT_PLATFORM },
					   { "ref", required_argument, NULL, OPT_REF },
					   { "max-size", required_argument, NULL, OPT_MAX_SIZE }, OPTION_HELP_ENTRY,
					   OPTION_END };
	static const struct command_options spec = { "image import", import_usage, "+:", o };
	struct import_opts io = { 0 };
	int r;
	if (!parse_options(&spec, argc, argv, import_opt, &io, &r))
		return r;
	int n = argc - optind;
	if (n < 1 || n > 2)
		return usage_error("image import", "expected PATH [NAME[:TAG]]");
	const char *src = argv[optind], *ref = n == 2 ? argv[optind + 1] : NULL;
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan;
	char id[IMAGE_ID_LEN + 1], norm[4096];
	if (ref && image_ref_normalize(ref, norm, sizeof(norm), &err) < 0)
		return fail(&err);
	if (paths_init(&p, &err) < 0 || userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	r = image_import(&p, &plan, src, ref ? ref : NULL, &io, id, &err);
	userns_plan_free(&plan);
	if (r < 0)
		return fail(&err);
	printf("%s\n", id);
	return 0;
}

int cmd_image_tag(int argc, char **argv)
{
	static const struct command_options spec = { "image tag", tag_usage, "+:", help_longopts };
	int r;
	if (!parse_options(&spec, argc, argv, no_options, NULL, &r))
		return r;
	if (argc - optind != 2)
		return usage_error("image tag", "expected SOURCE TARGET");
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	char norm[PATH_MAX], target[PATH_MAX], id[IMAGE_ID_LEN + 1];
	bool by_id;
	if (image_ref_normalize(argv[optind + 1], target, sizeof(target), &err) < 0 || paths_init(&p, &err) < 0 ||
	    image_lookup(&p, argv[optind], norm, id, &by_id, &err) < 0 || image_set_name(&p, target, id, &err) < 0)
		return fail(&err);
	return 0;
}

int cmd_image_inspect(int argc, char **argv)
{
	static const struct command_options spec = { "image inspect", inspect_usage, "+:", help_longopts };
	int r;
	if (!parse_options(&spec, argc, argv, no_options, NULL, &r))
		return r;
	if (optind >= argc)
		return usage_error("image inspect", "an image is required: diyc image inspect IMAGE...");
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	if (paths_init(&p, &err) < 0)
		return fail(&err);
	struct json_object *arr = json_object_new_array();
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		memset(&err, 0, sizeof(err));
		if (image_inspect(&p, argv[i], arr, &err) < 0)
			ret = fail(&err);
	}
	if (json_object_array_length(arr) > 0 || ret == 0)
		print_json(arr);
	json_object_put(arr);
	return ret;
}

int cmd_image_prune(int argc, char **argv)
{
	/* -f is accepted and changes nothing */
	static const struct command_options spec = { "image prune", prune_usage, "+:f", force_longopts };
	bool force = false;
	int r;
	if (!parse_options(&spec, argc, argv, bool_option, &force, &r))
		return r;
	if (optind < argc)
		return usage_error("image prune", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan;
	if (paths_init(&p, &err) < 0 || userns_plan_init_quiet(&plan, true, &err) < 0)
		return fail(&err);
	struct image_remove_ops ops = { .in_use = image_in_use, .removed = print_removed, .data = &p };
	uint64_t reclaimed = 0;
	r = image_prune(&p, &plan, &ops, &reclaimed, &err);
	userns_plan_free(&plan);
	if (r < 0)
		return fail(&err);
	char size[32];
	output_size(size, sizeof(size), reclaimed);
	printf("reclaimed %s\n", size);
	return 0;
}

int cmd_image_ls(int argc, char **argv)
{
	enum { OPT_DIGESTS = 256 };
	static const struct option o[] = { { "quiet", no_argument, NULL, 'q' }, { "digests", no_argument, NULL, OPT_DIGESTS },
					   OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "image ls", ls_usage, "+:q", o };
	bool flags[2] = { false, false }; /* quiet, digests */
	int r;
	if (!parse_options(&spec, argc, argv, ls_opt, flags, &r))
		return r;
	bool quiet = flags[0], digests = flags[1];
	if (optind < argc)
		return usage_error("image ls", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	if (paths_init(&p, &err) < 0)
		return fail(&err);
	struct image_row *rows;
	size_t n;
	if (image_list(&p, &rows, &n, &err) < 0)
		return fail(&err);
	if (!quiet)
		printf(digests ? "%-30s %-12s %-71s %-14s %-16s %s\n" : "%-30s %-12s %.0s%-14s %-16s %s\n", "REPOSITORY", "TAG",
		       "DIGEST", "IMAGE ID", "CREATED", "SIZE");
	for (size_t i = 0; i < n; i++) {
		if (quiet)
			printf("%.12s\n", rows[i].id);
		else
			print_image_row(&rows[i], digests);
	}
	free(rows);
	return 0;
}

int cmd_image_rm(int argc, char **argv)
{
	static const struct command_options spec = { "image rm", rm_usage, "+:f", force_longopts };
	bool force = false;
	int r;
	if (!parse_options(&spec, argc, argv, bool_option, &force, &r))
		return r;
	if (optind >= argc)
		return usage_error("image rm", "expected at least one IMAGE");
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan = { 0 };
	if (paths_init(&p, &err) < 0 || userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	struct image_remove_ops ops = { .in_use = image_in_use, .removed = print_removed, .data = &p };
	int status = 0;
	for (int i = optind; i < argc; i++) {
		struct diyc_error e = { 0 };
		r = image_remove(&p, &plan, argv[i], force, &ops, &e);
		if (r < 0)
			status = fail(&e);
	}
	userns_plan_free(&plan);
	return status;
}

int cmd_image(int argc, char **argv)
{
	return verb_dispatch("image", image_usage, false, argc, argv);
}

int cmd_images(int argc, char **argv)
{
	return cmd_image_ls(argc, argv);
}
