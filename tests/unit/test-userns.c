/* SPDX-License-Identifier: MIT */
/* test-userns.c: /etc/subuid parsing and the id map built from it. */
#include "check.h"
#include "lib/userns.h"

int main(void)
{
	struct id_range r[8];
	const char *f = "# comment\nalice:100000:65536\nbob:165536:65536\n1002:300000:1000\n"
			"alice:500000:10\nbad:line\nalice:x:5\nalice:1:0\nalice:4294967295:2\n";
	CHECK(subid_parse(f, "alice", 1001, r, 8) == 2);
	CHECK(r[0].start == 100000 && r[0].count == 65536);
	CHECK(r[1].start == 500000 && r[1].count == 10);
	/* by uid as well as by name */
	CHECK(subid_parse(f, "carol", 1002, r, 8) == 1);
	CHECK(r[0].start == 300000 && r[0].count == 1000);
	CHECK(subid_parse(f, "nobody", 9, r, 8) == 0);
	CHECK(subid_parse("", "alice", 1, r, 8) == 0);
	CHECK(subid_parse("alice:1:2:3\n", "alice", 1, r, 8) == 0);
	CHECK(subid_parse(f, "alice", 1001, r, 1) == 1);
	/* no trailing newline */
	CHECK(subid_parse("alice:7:8", "alice", 1, r, 8) == 1 && r[0].start == 7);

	struct idmap m;
	struct id_range two[2] = { { 100000, 65536 }, { 500000, 10 } };
	idmap_build(&m, 1001, two, 2);
	CHECK(m.n == 3);
	CHECK(m.ent[0].inside == 0 && m.ent[0].outside == 1001 && m.ent[0].count == 1);
	CHECK(m.ent[1].inside == 1 && m.ent[1].outside == 100000 && m.ent[1].count == 65536);
	CHECK(m.ent[2].inside == 65537 && m.ent[2].outside == 500000 && m.ent[2].count == 10);
	CHECK(idmap_size(&m) == 65547);
	idmap_build(&m, 1001, NULL, 0);
	CHECK(m.n == 1 && idmap_size(&m) == 1);
	return CHECKS_DONE();
}
