/* SPDX-License-Identifier: MIT */
/* verbs.c: the table of diyc's verbs and subverbs (see verbs.h), the top-level usage made
 * from it, and the dispatch of a subverb. */
#include <string.h>
#include "commands.h"
#include "verbs.h"

static const struct verb image_verbs[] = {
	{ .name = "import", .fn = cmd_image_import },
	{ .name = "ls", .alias = "list", .fn = cmd_image_ls },
	{ .name = "rm", .alias = "remove", .fn = cmd_image_rm },
	{ .name = "inspect", .fn = cmd_image_inspect },
	{ .name = "prune", .fn = cmd_image_prune },
	{ .name = "export", .alias = "save", .fn = cmd_image_export },
	{ .name = "tag", .fn = cmd_image_tag },
	{ .name = "pull", .fn = cmd_pull },
	{ .name = "push", .fn = cmd_push },
	{ .name = NULL },
};

static const struct verb system_verbs[] = {
	{ .name = "df", .fn = cmd_system_df },
	{ .name = "prune", .fn = cmd_system_prune },
	{ .name = "info", .fn = cmd_system_info },
	{ .name = NULL },
};

static const struct verb volume_verbs[] = {
	{ .name = "create", .fn = cmd_volume_create },
	{ .name = "ls", .alias = "list", .fn = cmd_volume_ls },
	{ .name = "inspect", .fn = cmd_volume_inspect },
	{ .name = "rm", .alias = "remove", .fn = cmd_volume_rm },
	{ .name = "prune", .fn = cmd_volume_prune },
	{ .name = NULL },
};

static const struct verb network_verbs[] = {
	{ .name = "setup", .fn = cmd_network_setup },
	{ .name = "teardown", .fn = cmd_network_teardown },
	{ .name = "ls", .alias = "list", .fn = cmd_network_ls },
	{ .name = NULL },
};

const struct verb diyc_verbs[] = {
	{ "run", NULL, cmd_run, "Run a command in a new container", true, false, NULL },
	{ "create", NULL, cmd_create, "Create a container without starting it", false, false, NULL },
	{ "start", NULL, cmd_start, "Start stopped containers again", true, false, NULL },
	{ "stop", NULL, cmd_stop, "Stop running containers", false, false, NULL },
	{ "kill", NULL, cmd_kill, "Send a signal to running containers", false, false, NULL },
	{ "rm", NULL, cmd_rm, "Remove containers", false, false, NULL },
	{ "prune", NULL, cmd_prune, "Remove all stopped containers", false, false, NULL },
	{ "ps", NULL, cmd_ps, "List containers", false, false, NULL },
	{ "exec", NULL, cmd_exec, "Run a command in a running container", true, false, NULL },
	{ "logs", NULL, cmd_logs, "Show the output of a detached container", false, false, NULL },
	{ "inspect", NULL, cmd_inspect, "Show the configuration and state of containers as JSON", false, false,
	  NULL },
	{ "stats", NULL, cmd_stats, "Show the memory, process and CPU use of running containers", false, false,
	  NULL },
	{ "commit", NULL, cmd_commit, "Make a new image from a container's changes", false, false, NULL },
	{ "image", NULL, cmd_image, "Manage images", false, true, image_verbs },
	{ "images", NULL, cmd_images, "List images (same as `image ls`)", false, false, NULL },
	{ "pull", NULL, cmd_pull, "Pull an image from a registry", false, false, NULL },
	{ "push", NULL, cmd_push, "Push an image to a registry", false, false, NULL },
	{ "login", NULL, cmd_login, "Log in to a registry", false, false, NULL },
	{ "logout", NULL, cmd_logout, "Log out of a registry", false, false, NULL },
	{ "tag", NULL, cmd_image_tag, "Give an image another name (same as `image tag`)", false, false, NULL },
	{ "network", NULL, cmd_network, "Set up, remove and show the bridge for --net=bridge", false, false,
	  network_verbs },
	{ "system", NULL, cmd_system, "Show the disk use of the store, prune it, show what this host offers", false,
	  true, system_verbs },
	{ "volume", NULL, cmd_volume, "Manage volumes", false, true, volume_verbs },
	{ "nsexec", NULL, cmd_nsexec, "Run a host command in new namespaces", false, false, NULL },
	{ .name = NULL },
};

const struct verb *verb_find(const struct verb *table, const char *name)
{
	for (const struct verb *v = table; v && v->name; v++)
		if (!strcmp(name, v->name) || (v->alias && !strcmp(name, v->alias)))
			return v;
	return NULL;
}

/* "a, b or c" (last: " or ") or "a, b, c" of the subverbs' names, into out */
static void subverb_list(const struct verb *sub, const char *last, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (const struct verb *v = sub; v->name && len < size; v++) {
		const char *sep = v == sub ? "" : v[1].name ? ", " : last;
		len += snprintf(out + len, size - len, "%s%s", sep, v->name);
	}
}

void verbs_print_usage(FILE *f)
{
	fputs("Usage: diyc COMMAND [OPTIONS] [ARG...]\n"
	      "\n"
	      "A container runtime for normal users: no root, no daemon.\n"
	      "\n"
	      "Commands:\n", f);
	for (const struct verb *v = diyc_verbs; v->name; v++) {
		if (!v->summary)
			continue;
		char list[256] = "";
		if (v->summary_lists_subverbs)
			subverb_list(v->subverbs, ", ", list, sizeof(list));
		fprintf(f, "  %-10s%s%s%s%s\n", v->name, v->summary, *list ? " (" : "", list, *list ? ")" : "");
	}
	fputs("\n"
	      "Options:\n"
	      "  --help     Show this help\n"
	      "  --version  Show the version\n"
	      "\n"
	      "Run `diyc COMMAND --help` for the options of a command.\n", f);
}

int verb_dispatch(const char *verb, const char *usage, bool list_when_unknown, int argc, char **argv)
{
	const struct verb *parent = verb_find(diyc_verbs, verb);
	char list[256];
	subverb_list(parent->subverbs, " or ", list, sizeof(list));
	if (argc < 2)
		return usage_error(verb, "expected a command: %s", list);
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	const struct verb *v = verb_find(parent->subverbs, sub);
	if (!v && list_when_unknown)
		return usage_error(verb, "unknown command `%s %s`: %s", verb, sub, list);
	if (!v)
		return usage_error(verb, "unknown command `%s %s`", verb, sub);
	return v->fn(argc - 1, argv + 1);
}
