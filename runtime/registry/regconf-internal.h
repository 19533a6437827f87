/* SPDX-License-Identifier: MIT */
/* regconf-internal.h: the tree regconf-toml.c reads a TOML file into, for regconf.c. Only
 * what registries.conf uses: strings, booleans, arrays of strings, tables and arrays of
 * tables. Each node keeps its line, for the messages about what it holds. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lib/error.h"

enum toml_type { TOML_STRING, TOML_BOOL, TOML_ARRAY, TOML_TABLE, TOML_TABLE_ARRAY };

struct toml_node {
	char *key;                  /* NULL for the root and for a table of an array */
	enum toml_type type;
	int line;                   /* where it was set (a table: its header, or first use) */
	bool header;                /* a table: defined by its own [header] */
	bool dotted;                /* a table: made by a dotted key (a.b = ...) */
	bool used;                  /* regconf.c: read, so not warned about as unknown */
	bool b;                     /* TOML_BOOL */
	char *str;                  /* TOML_STRING */
	char **strs;                /* TOML_ARRAY: the strings */
	size_t n;                   /* TOML_ARRAY: strings; TABLE: keys; TABLE_ARRAY: tables */
	struct toml_node **kids;    /* TABLE: its keys in file order; TABLE_ARRAY: its tables */
};

/* Parses text (len bytes, may hold NULs, which are refused) into root (a TOML_TABLE the
 * caller zeroed). Errors read "NAME:LINE: ...". */
int toml_parse(const char *text, size_t len, const char *name, struct toml_node *root, struct diyc_error *err);
/* Frees what root holds (not root itself). */
void toml_free(struct toml_node *root);
/* The key of table t, or NULL. */
struct toml_node *toml_get(const struct toml_node *t, const char *key);
