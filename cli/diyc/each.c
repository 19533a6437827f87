/* SPDX-License-Identifier: MIT */
/* each.c: the loops of the commands over NAME... (each.h): a name acted on and printed, or
 * its JSON object gathered into an array, every failure printed as it comes. */
#include <json-c/json.h>
#include <stdio.h>
#include "each.h"
#include "options.h"
#include "output.h"
#include "lib/util.h"

int act_on_each(char **names, int n, name_action fn, void *data)
{
	int ret = 0;
	for (int i = 0; i < n; i++) {
		struct diyc_error err = { 0 };
		int r = fn(names[i], data, &err);
		if (r < 0) {
			ret = fail(&err);
		} else if (r == 0) {
			_cleanup_free_ char *e = str_escape_dup(names[i]);
			printf("%s\n", e ? e : "");
		}
		fflush(stdout);
	}
	return ret;
}

int inspect_each(char **names, int n, name_json fn, void *data)
{
	struct json_object *arr = json_object_new_array();
	int ret = 0;
	for (int i = 0; i < n; i++) {
		struct diyc_error err = { 0 };
		struct json_object *o = fn(names[i], data, &err);
		if (o)
			json_object_array_add(arr, o);
		else
			ret = fail(&err);
	}
	if (json_object_array_length(arr) > 0 || ret == 0)
		print_json(arr);
	json_object_put(arr);
	return ret;
}
