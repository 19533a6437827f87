/* SPDX-License-Identifier: MIT */
/* test-nethelper.c: what diyc-nethelper accepts from its caller and from disk: its
 * arguments, nethelper.conf and the lease files. */
#define NETHELPER_FUZZ 1
#include "../../helper/diyc-nethelper.c"
#include "check.h"

static bool in_staff(const char *name, void *arg)
{
	return strcmp(name, "staff") == 0;
}

/* The count conf gives alice (a member of staff) on diyc0, or -1 when conf is bad. */
static long allowance(const char *conf)
{
	unsigned count = 99;
	struct diyc_error err = { 0 };
	if (conf_allowance(conf, strlen(conf), "alice", in_staff, NULL, "diyc0", &count, &err) < 0)
		return count == 0 && err.msg[0] ? -1 : -2;
	return count;
}

static int args(const char *a1, const char *a2, const char *a3, const char *a4, struct request *req)
{
	char *argv[] = { "diyc-nethelper", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	int argc = 1;
	while (argv[argc])
		argc++;
	struct diyc_error err = { 0 };
	return args_parse(argc, argv, req, &err);
}

int main(void)
{
	CHECK(allowance("") == 0);
	CHECK(allowance("# nothing\n\n") == 0);
	CHECK(allowance("alice bridge diyc0 count 3\n") == 3);
	CHECK(allowance("alice bridge diyc0 count 3") == 3);       /* no final newline */
	CHECK(allowance("  alice\tbridge diyc0 count 3  \n") == 3);
	CHECK(allowance("bob bridge diyc0 count 3\n") == 0);
	CHECK(allowance("alice bridge other0 count 3\n") == 0);
	CHECK(allowance("@staff bridge diyc0 count 7\nalice bridge diyc0 count 2\n") == 7); /* the largest */
	CHECK(allowance("@wheel bridge diyc0 count 7\n") == 0);
	CHECK(allowance("alice bridge diyc0 count 0\n") == 0);
	CHECK(allowance("alice bridge diyc0 count 100000\n") == 100000);
	/* any bad line refuses everything, also after a good one */
	CHECK(allowance("alice bridge diyc0 count 3\nnonsense\n") == -1);
	CHECK(allowance("alice bridge diyc0 count 100001\n") == -1);
	CHECK(allowance("alice bridge diyc0 count -1\n") == -1);
	CHECK(allowance("alice bridge diyc0 count 03\n") == -1);
	CHECK(allowance("alice bridge diyc0 count 3x\n") == -1);
	CHECK(allowance("alice bridge diyc0 count\n") == -1);
	CHECK(allowance("alice bridge diyc0 count 3 extra\n") == -1);
	CHECK(allowance("alice veth diyc0 count 3\n") == -1);
	CHECK(allowance("alice bridge ../x count 3\n") == -1);
	CHECK(allowance("al/ice bridge diyc0 count 3\n") == -1);
	CHECK(allowance("@ bridge diyc0 count 3\n") == -1);
	CHECK(allowance("alice bridge diyc0 count 3 # comment\n") == -1);
	CHECK(conf_allowance("a\0b", 3, "alice", in_staff, NULL, "diyc0", &(unsigned){ 0 },
			     &(struct diyc_error){ 0 }) < 0);

	struct request req;
	CHECK(args("add", "diyc0", NULL, NULL, &req) == 0 && req.op == REQ_ADD && !req.have_addr);
	CHECK(args("add", "diyc0", "172.16.0.5", NULL, &req) == 0 && req.have_addr &&
	      req.addr.s_addr == htonl(0xac100005));
	CHECK(args("release", "diyc0", "172.16.0.5", NULL, &req) == 0 && req.op == REQ_RELEASE);
	CHECK(args("release", "diyc0", NULL, NULL, &req) < 0);
	CHECK(args("add", NULL, NULL, NULL, &req) < 0);
	CHECK(args("del", "diyc0", NULL, NULL, &req) < 0);
	CHECK(args("add", "diyc0", "172.16.0.5", "x", &req) < 0);
	CHECK(args("add", "diyc0", "172.16.0.05", NULL, &req) < 0);
	CHECK(args("add", "diyc0", "172.16.0", NULL, &req) < 0);
	CHECK(args("add", "diyc0", "::1", NULL, &req) < 0);
	CHECK(args("add", "0123456789abcdef", NULL, NULL, &req) < 0); /* 16: longer than IFNAMSIZ allows */
	CHECK(args("add", "0123456789abcde", NULL, NULL, &req) == 0);
	CHECK(args("add", "-x", NULL, NULL, &req) < 0);
	CHECK(args("add", "a/b", NULL, NULL, &req) < 0);
	CHECK(args("add", "", NULL, NULL, &req) < 0);

	struct lease *v;
	size_t n;
	struct diyc_error err = { 0 };
	CHECK(leases_parse("", &v, &n, &err) == 0 && n == 0);
	free(v);
	CHECK(leases_parse("172.16.0.2 vdiycac100002 1000\n172.16.0.3 vdiycac100003 0\n", &v, &n, &err) == 0 &&
	      n == 2 && v[1].uid == 0);
	free(v);
	CHECK(leases_parse("172.16.0.2 vdiycac100003 1000\n", &v, &n, &err) < 0); /* veth not of that address */
	CHECK(leases_parse("172.16.0.2 vdiycac100002 1000", &v, &n, &err) < 0);   /* unfinished line */
	CHECK(leases_parse("172.16.0.2 vdiycac100002 -1\n", &v, &n, &err) < 0);
	CHECK(leases_parse("172.16.0.2 vdiycac100002 1000 x\n", &v, &n, &err) < 0);
	CHECK(leases_parse("172.16.0.2 vdiycac100002 1\n172.16.0.2 vdiycac100002 2\n", &v, &n, &err) < 0);

	/* the ports of a bridge that reclaim deletes: ours, and held by no lease */
	CHECK(leases_parse("172.16.0.2 vdiycac100002 1000\n", &v, &n, &err) == 0 && n == 1);
	CHECK(!lease_port_orphan(v, n, "vdiycac100002"));
	CHECK(lease_port_orphan(v, n, "vdiycac100003"));
	CHECK(lease_port_orphan(v, n, "vdiycbogus"));      /* ours by its name, whatever follows */
	CHECK(!lease_port_orphan(v, n, "veth0"));          /* not ours: never touched */
	CHECK(!lease_port_orphan(v, n, "vdiy"));
	CHECK(lease_port_orphan(NULL, 0, "vdiycac100002")); /* no leases at all */
	free(v);
	printf("%d checks passed\n", checks_run);
	return 0;
}
