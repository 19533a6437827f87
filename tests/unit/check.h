/* SPDX-License-Identifier: MIT */
/* check.h: the few macros the unit tests need; a test program exits non-zero on the
 * first failed check and prints where. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_run;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		checks_run++;                                                          \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		checks_run++;                                                          \
		const char *_a = (a), *_b = (b);                                       \
		if (!_a || strcmp(_a, _b)) {                                           \
			fprintf(stderr, "%s:%d: `%s` is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
				_a ? _a : "(null)", _b);                               \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

#define CHECKS_DONE() (printf("%d checks passed\n", checks_run), 0)
