/* SPDX-License-Identifier: MIT */
/* verbs.h: diyc's verbs and subverbs in one table (verbs.c): what main dispatches on, what
 * `diyc --help` lists, which verbs start containers, and the subverbs of image and network. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

struct verb {
	const char *name;
	const char *alias;                /* another name for it (`image list`), or NULL */
	int (*fn)(int argc, char **argv); /* argv[0] is the verb (a subverb's: the subverb) */
	const char *summary;              /* its line in `diyc --help`; NULL: not listed */
	bool starts_containers;           /* puts processes into a container: see selfexe_prepare */
	bool summary_lists_subverbs;      /* the summary ends with (SUB, SUB, ...) */
	const struct verb *subverbs;      /* ended by a NULL name, or NULL */
};

/* the verbs, ended by a NULL name */
extern const struct verb diyc_verbs[];

/* The verb of table called name (or by its alias), or NULL. */
const struct verb *verb_find(const struct verb *table, const char *name);
/* `diyc --help`: the usage, with one line per verb that has a summary. */
void verbs_print_usage(FILE *f);
/* For a verb with subverbs (image, network), argv[0] the verb: runs the subverb argv[1]
 * (with argv from it on), prints usage for --help or help, and reports a missing or
 * unknown subverb (125): "unknown command `VERB SUB`", followed by ": a, b or c" when
 * list_when_unknown (each verb keeps the words it always had). */
int verb_dispatch(const char *verb, const char *usage, bool list_when_unknown, int argc, char **argv);
