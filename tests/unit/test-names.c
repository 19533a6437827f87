/* SPDX-License-Identifier: MIT */
/* test-names.c: container names, hostnames and image references. */
#include "check.h"
#include "image/image.h"
#include "container/store.h"

int main(void)
{
	CHECK(container_name_valid("web"));
	CHECK(container_name_valid("a"));
	CHECK(container_name_valid("My_box.1-2"));
	CHECK(!container_name_valid(""));
	CHECK(!container_name_valid(".."));
	CHECK(!container_name_valid("."));
	CHECK(!container_name_valid("a/b"));
	CHECK(!container_name_valid("-a"));
	CHECK(!container_name_valid("_a"));
	CHECK(!container_name_valid("a b"));
	CHECK(!container_name_valid("a\n"));
	char longname[CONTAINER_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!container_name_valid(longname));
	longname[CONTAINER_NAME_MAX] = '\0';
	CHECK(container_name_valid(longname));

	CHECK(hostname_valid("box"));
	CHECK(hostname_valid("my-box.example"));
	CHECK(!hostname_valid(""));
	CHECK(!hostname_valid("-box"));
	CHECK(!hostname_valid("box-"));
	CHECK(!hostname_valid("a..b"));
	CHECK(!hostname_valid(".a"));
	CHECK(!hostname_valid("a_b"));
	CHECK(!hostname_valid("0123456789012345678901234567890123456789012345678901234567890123"));

	char h[64];
	hostname_from_name("gentle_otter", h, sizeof(h));
	CHECK_STR(h, "gentle-otter");
	hostname_from_name("box.", h, sizeof(h));
	CHECK_STR(h, "box");
	hostname_from_name(longname, h, sizeof(h));
	CHECK(strlen(h) == 63 && hostname_valid(h));

	char out[512];
	struct diyc_error err = { 0 };
	CHECK(image_ref_normalize("busybox", out, sizeof(out), &err) == 0);
	CHECK_STR(out, "busybox:latest");
	CHECK(image_ref_normalize("library/debian:12.1-slim", out, sizeof(out), &err) == 0);
	CHECK_STR(out, "library/debian:12.1-slim");
	CHECK(image_ref_normalize("a.b_c-d/e", out, sizeof(out), &err) == 0);
	CHECK(image_ref_normalize("Busybox", out, sizeof(out), &err) < 0);
	CHECK(strstr(err.msg, "invalid image name"));
	CHECK(image_ref_normalize("../x", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("a//b", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("a/", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("/a", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("a:", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("a:-x", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("a:b/c", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("a+b", out, sizeof(out), &err) < 0);
	CHECK(image_ref_normalize("", out, sizeof(out), &err) < 0);
	return CHECKS_DONE();
}
