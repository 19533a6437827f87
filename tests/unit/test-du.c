/* SPDX-License-Identifier: MIT */
/* test-du.c: lib/du.c measures a tree as `du -s -B1` does: hard links once (also more of
 * them than the first table holds), a sparse file by its blocks, symlinks not followed (one
 * to / here), a tree 600 levels deep, nothing for fd -1, ENOENT for a tree removed after it
 * was opened. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "lib/util.h"
#include "lib/du.h"

static void write_file(const char *path, size_t bytes)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	for (size_t done = 0; done < bytes; done += sizeof(buf))
		CHECK(write(fd, buf, bytes - done < sizeof(buf) ? bytes - done : sizeof(buf)) > 0);
	close(fd);
}

/* what GNU du says of PATH, in bytes */
static uint64_t du_says(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "du -s -B1 '%s'", path);
	FILE *f = popen(cmd, "r");
	CHECK(f);
	unsigned long long v = 0;
	CHECK(fscanf(f, "%llu", &v) == 1);
	pclose(f);
	return v;
}

static uint64_t measure(const char *path, int *error)
{
	struct du_tree t = { .fd = du_open(AT_FDCWD, path) };
	CHECK(t.fd >= 0);
	struct diyc_error err = { 0 };
	CHECK(du_trees(NULL, &t, 1, &err) == 0);
	close(t.fd);
	*error = t.error;
	return t.bytes;
}

static void make_tree(const char *root)
{
	char p[4096], q[4096];
	snprintf(p, sizeof(p), "%s/links", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/links/a", root);
	write_file(p, 100 * 1024);
	for (int i = 0; i < 3; i++) {
		snprintf(q, sizeof(q), "%s/links/a-link%d", root, i);
		CHECK(link(p, q) == 0);
	}
	snprintf(p, sizeof(p), "%s/sparse", root);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 10 << 20) == 0 && pwrite(fd, "end", 3, (10 << 20) - 3) == 3);
	close(fd);
	snprintf(p, sizeof(p), "%s/to-root", root);
	CHECK(symlink("/", p) == 0);
	/* more linked files than the first table of seen inodes holds */
	snprintf(p, sizeof(p), "%s/many", root);
	CHECK(mkdir(p, 0755) == 0);
	for (int i = 0; i < 700; i++) {
		snprintf(p, sizeof(p), "%s/many/f%d", root, i);
		write_file(p, 10);
		snprintf(q, sizeof(q), "%s/many/l%d", root, i);
		CHECK(link(p, q) == 0);
	}
	/* deep: more levels than descriptors a careless walk would keep below 1024 */
	int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 600; i++) {
		CHECK(mkdirat(dfd, "d", 0755) == 0);
		int next = openat(dfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		CHECK(next >= 0);
		close(dfd);
		dfd = next;
	}
	int fd2 = openat(dfd, "deepest", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd2 >= 0 && write(fd2, "x", 1) == 1);
	close(fd2);
	close(dfd);
}

int main(void)
{
	char root[] = "/tmp/test-du-XXXXXX";
	CHECK(mkdtemp(root));
	make_tree(root);
	int error = -1;
	uint64_t got = measure(root, &error);
	CHECK(error == 0);
	uint64_t want = du_says(root);
	if (got != want)
		fprintf(stderr, "du_trees: %llu, du: %llu\n", (unsigned long long)got, (unsigned long long)want);
	CHECK(got == want);
	/* the file with three more links once: 100 KiB and a directory, not 400 */
	char links[4200];
	snprintf(links, sizeof(links), "%s/links", root);
	got = measure(links, &error);
	CHECK(error == 0 && got == du_says(links) && got >= 100 * 1024 && got < 200 * 1024);
	/* the sparse file by the blocks it holds, not its 10 MiB */
	CHECK(du_says(root) < 8 << 20);

	/* fd -1: nothing; a tree removed after it was opened: ENOENT */
	char gone[4200];
	snprintf(gone, sizeof(gone), "%s/gone", root);
	CHECK(mkdir(gone, 0755) == 0);
	struct du_tree t[2] = { { .fd = -1 }, { .fd = du_open(AT_FDCWD, gone) } };
	CHECK(t[1].fd >= 0 && rmdir(gone) == 0);
	struct diyc_error err = { 0 };
	CHECK(du_trees(NULL, t, 2, &err) == 0);
	CHECK(t[0].bytes == 0 && t[0].error == 0);
	CHECK(t[1].error == -ENOENT);
	close(t[1].fd);
	/* a symlink is never a tree */
	char link_path[4200];
	snprintf(link_path, sizeof(link_path), "%s/to-root", root);
	CHECK(du_open(AT_FDCWD, link_path) == -ELOOP || du_open(AT_FDCWD, link_path) == -ENOTDIR);

	CHECK(rm_rf(root) == 0);
	return CHECKS_DONE();
}
