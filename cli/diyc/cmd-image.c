/* SPDX-License-Identifier: MIT */
/* cmd-image.c: `diyc image import|ls|rm` and `diyc images`. */
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "output.h"
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
	"  export IMAGE FILE         Write an image to FILE as an OCI archive\n";

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
	"Show images by NAME[:TAG] or id as a JSON array: Id, RepoTags, Created, Size,\n"
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
	"  -q, --quiet  Only show image ids\n"
	"      --help   Show this help\n";

static const char rm_usage[] =
	"Usage: diyc image rm [OPTIONS] IMAGE...\n"
	"\n"
	"Remove images by NAME[:TAG] or id. A name is untagged; the image and its layers go\n"
	"when no name is left. An image that a container uses is kept unless -f is given.\n"
	"\n"
	"Options:\n"
	"  -f, --force  Remove even when a container uses the image\n"
	"      --help   Show this help\n";

enum { OPT_HELP = 256, OPT_PLATFORM, OPT_REF, OPT_MAX_SIZE };

static int image_export_cmd(int argc, char **argv)
{
	static const struct option o[] = { { "output", required_argument, NULL, 'o' },
					   { "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };
	const char *dest = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:", o, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(export_usage, stdout);
			return 0;
		}
		if (c == 'o') {
			if (!*optarg)
				return usage_error("image export", "--output needs a file name");
			dest = optarg;
			continue;
		}
		return bad_option("image export", c, argv);
	}
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
	int r = image_export(&p, &plan, argv[optind], dest, &err);
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

static int image_import_cmd(int argc, char **argv)
{
	static const struct option o[] = { { "platform", required_argument, NULL, OPT_PLATFORM },
					   { "ref", required_argument, NULL, OPT_REF },
					   { "max-size", required_argument, NULL, OPT_MAX_SIZE },
					   { "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };
	struct import_opts io = { 0 };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", o, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(import_usage, stdout);
			return 0;
		}
		if (c == OPT_PLATFORM) {
			if (!platform_valid(optarg))
				return usage_error("image import", "invalid platform `%s`: expected OS/ARCH[/VARIANT] "
						   "such as linux/amd64", optarg);
			io.platform = optarg;
			continue;
		}
		if (c == OPT_MAX_SIZE) {
			if (parse_size(optarg, 1, &io.max_size) < 0 || io.max_size == 0)
				return usage_error("image import", "invalid --max-size `%s`: expected a size such as 512m "
						   "or 20g (units b, k, m, g, t)", optarg);
			continue;
		}
		if (c == OPT_REF) {
			if (!*optarg || strlen(optarg) > 255)
				return usage_error("image import", "invalid --ref `%s`", optarg);
			io.ref = optarg;
			continue;
		}
		return bad_option("image import", c, argv);
	}
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
	int r = image_import(&p, &plan, src, ref ? ref : NULL, &io, id, &err);
	userns_plan_free(&plan);
	if (r < 0)
		return fail(&err);
	printf("%s\n", id);
	return 0;
}

/* Parses only --help (and flags in short, which are accepted and ignored); returns 1
 * after printing the help, 0 to go on, or 125. */
static int help_only(const char *cmd, const char *usage, const char *shortopts, int argc, char **argv)
{
	static const struct option o[] = { { "force", no_argument, NULL, 'f' },
					   { "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, o, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (c == '?' || c == ':' || !strchr(shortopts, c))
			return bad_option(cmd, c, argv);
	}
	return 0;
}

static int image_inspect_cmd(int argc, char **argv)
{
	int r = help_only("image inspect", inspect_usage, "+:", argc, argv);
	if (r)
		return r == 1 ? 0 : r;
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
		print_json_text(stdout, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
										  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return ret;
}

static int image_prune_cmd(int argc, char **argv)
{
	int r = help_only("image prune", prune_usage, "+:f", argc, argv);
	if (r)
		return r == 1 ? 0 : r;
	if (optind < argc)
		return usage_error("image prune", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan;
	if (paths_init(&p, &err) < 0 || userns_plan_init_quiet(&plan, true, &err) < 0)
		return fail(&err);
	r = image_prune(&p, &plan, stdout, &err);
	userns_plan_free(&plan);
	return r < 0 ? fail(&err) : 0;
}

static int image_ls_cmd(int argc, char **argv)
{
	static const struct option o[] = { { "quiet", no_argument, NULL, 'q' },
					   { "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };
	bool quiet = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:q", o, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == OPT_HELP) {
			fputs(ls_usage, stdout);
			return 0;
		} else
			return bad_option("image ls", c, argv);
	}
	if (optind < argc)
		return usage_error("image ls", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	if (paths_init(&p, &err) < 0)
		return fail(&err);
	int r = image_list(&p, stdout, quiet, &err);
	return r < 0 ? fail(&err) : 0;
}

static int image_rm_cmd(int argc, char **argv)
{
	static const struct option o[] = { { "force", no_argument, NULL, 'f' },
					   { "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };
	bool force = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f", o, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == OPT_HELP) {
			fputs(rm_usage, stdout);
			return 0;
		} else
			return bad_option("image rm", c, argv);
	}
	if (optind >= argc)
		return usage_error("image rm", "expected at least one IMAGE");
	struct diyc_error err = { 0 };
	struct diyc_paths p;
	struct userns_plan plan = { 0 };
	if (paths_init(&p, &err) < 0 || userns_plan_init(&plan, &err) < 0)
		return fail(&err);
	int status = 0, r;
	for (int i = optind; i < argc; i++) {
		struct diyc_error e = { 0 };
		r = image_remove(&p, &plan, argv[i], force, stdout, &e);
		if (r < 0)
			status = fail(&e);
	}
	userns_plan_free(&plan);
	return status;
}

int cmd_image(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("image", "expected a command: import, ls, rm, inspect, prune or export");
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "help")) {
		fputs(image_usage, stdout);
		return 0;
	}
	if (!strcmp(sub, "import"))
		return image_import_cmd(argc - 1, argv + 1);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return image_ls_cmd(argc - 1, argv + 1);
	if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
		return image_rm_cmd(argc - 1, argv + 1);
	if (!strcmp(sub, "inspect"))
		return image_inspect_cmd(argc - 1, argv + 1);
	if (!strcmp(sub, "prune"))
		return image_prune_cmd(argc - 1, argv + 1);
	if (!strcmp(sub, "export") || !strcmp(sub, "save"))
		return image_export_cmd(argc - 1, argv + 1);
	return usage_error("image", "unknown command `image %s`", sub);
}

int cmd_images(int argc, char **argv)
{
	return image_ls_cmd(argc, argv);
}
