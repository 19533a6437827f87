/* SPDX-License-Identifier: MIT */
/* tarsplit.c: a layer's tar stream without its files' contents, kept next to the
 * extracted layer, so that the exact stream can be rebuilt from the files later.
 *
 * An image's config names each layer by the sha256 of its uncompressed tar (its
 * diff_id). diyc stores the files, not the tar: a new tar written from the files would
 * have other headers, padding and order, hence another digest, and an exported image
 * would no longer match its config, nor share layers with the image it came from.
 * The record (gzip'd, well under 1% of the layer) holds every byte of the
 * stream except regular files' contents, which are named instead:
 *   'L' u32 n, then n bytes of the stream, verbatim
 *   'F' u64 size, u16 n, then n bytes of path: the contents of that file of the layer
 *   'E' the end
 * Numbers are little-endian. A stream the record cannot describe (sparse files, data
 * where libarchive reports none) leaves no record, and export falls back to writing a
 * new tar. The rebuilt stream is always checked against the diff_id. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tarsplit.h"
#include "lib/util.h"

#define TAR_BLOCK 512

static int split_write(struct tarsplit *t, const void *buf, size_t n)
{
	if (t->A->archive_write_data(t->w, buf, n) < 0) {
		t->broken = true;
		return -EIO;
	}
	return 0;
}

int tarsplit_open(struct tarsplit *t, const struct archive_lib *A, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->A = A;
	t->path = path;
	t->w = A->archive_write_new();
	struct archive_entry *e = A->archive_entry_new();
	if (!t->w || !e)
		goto fail;
	if (A->archive_write_add_filter_gzip(t->w) != ARCHIVE_OK || A->archive_write_set_format_raw(t->w) != ARCHIVE_OK ||
	    A->archive_write_open_filename(t->w, path) != ARCHIVE_OK)
		goto fail;
	A->archive_entry_set_filetype(e, AE_IFREG);
	A->archive_entry_set_pathname(e, "tar-split");
	if (A->archive_write_header(t->w, e) != ARCHIVE_OK)
		goto fail;
	A->archive_entry_free(e);
	return 0;
fail:
	if (e)
		A->archive_entry_free(e);
	if (t->w)
		A->archive_write_free(t->w);
	t->w = NULL;
	unlink(path);
	return -EIO;
}

static void flush_until(struct tarsplit *t, uint64_t to);

void tarsplit_take(struct tarsplit *t, uint64_t off, const char *buf, size_t n)
{
	if (!t->w || t->broken)
		return;
	if (off + n <= t->skip_to)
		return;
	if (off < t->skip_to) {
		buf += t->skip_to - off;
		n -= t->skip_to - off;
		off = t->skip_to;
	}
	if (t->pend_len == 0)
		t->pend_off = off;
	if (t->pend_off + t->pend_len != off) {
		t->broken = true;
		return;
	}
	if (t->pend_len + n > t->pend_cap) {
		size_t cap = (t->pend_len + n) * 2;
		char *p = realloc(t->pend, cap);
		if (!p) {
			t->broken = true;
			return;
		}
		t->pend = p;
		t->pend_cap = cap;
	}
	memcpy(t->pend + t->pend_len, buf, n);
	t->pend_len += n;
	/* what lies before the next header is the current entry's data (when the record
	 * keeps it) or padding: write it now, so that a huge entry is never held in memory */
	flush_until(t, t->expect_header < t->pend_off + t->pend_len ? t->expect_header : t->pend_off + t->pend_len);
}

/* Writes the pending bytes below offset `to` as a literal record. */
static void flush_until(struct tarsplit *t, uint64_t to)
{
	if (t->broken || t->pend_len == 0 || to <= t->pend_off)
		return;
	size_t n = to - t->pend_off;
	if (n > t->pend_len) {
		t->broken = true;
		return;
	}
	while (n > 0) {
		uint32_t chunk = n > (1u << 30) ? (1u << 30) : (uint32_t)n;
		uint32_t le = htole32(chunk);
		if (split_write(t, "L", 1) < 0 || split_write(t, &le, 4) < 0 ||
		    split_write(t, t->pend, chunk) < 0)
			return;
		memmove(t->pend, t->pend + chunk, t->pend_len - chunk);
		t->pend_len -= chunk;
		t->pend_off += chunk;
		n -= chunk;
	}
}

void tarsplit_entry(struct tarsplit *t, uint64_t header_pos, uint64_t data_pos, uint64_t size, const char *file)
{
	if (!t->w || t->broken)
		return;
	if (header_pos != t->expect_header || data_pos < header_pos) {
		t->broken = true;
		return;
	}
	flush_until(t, data_pos);
	if (file && size > 0) {
		size_t len = strlen(file);
		if (len > UINT16_MAX) {
			t->broken = true;
			return;
		}
		uint64_t le_size = htole64(size);
		uint16_t le_len = htole16((uint16_t)len);
		if (split_write(t, "F", 1) < 0 || split_write(t, &le_size, 8) < 0 || split_write(t, &le_len, 2) < 0 ||
		    split_write(t, file, len) < 0)
			return;
		/* the contents are not kept: drop what was read ahead of them */
		t->skip_to = data_pos + size;
		size_t drop = t->pend_len;
		if (t->pend_len && t->pend_off + t->pend_len > t->skip_to)
			drop = t->skip_to - t->pend_off;
		memmove(t->pend, t->pend + drop, t->pend_len - drop);
		t->pend_len -= drop;
		t->pend_off += drop;
		if (t->pend_len == 0)
			t->pend_off = t->skip_to;
	}
	t->expect_header = data_pos + (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

int tarsplit_finish(struct tarsplit *t, uint64_t end_pos)
{
	if (!t->w)
		return -EIO;
	if (end_pos != t->expect_header)
		t->broken = true;
	if (!t->broken && t->pend_len)
		flush_until(t, t->pend_off + t->pend_len);
	if (!t->broken)
		split_write(t, "E", 1);
	if (t->A->archive_write_close(t->w) != ARCHIVE_OK)
		t->broken = true;
	t->A->archive_write_free(t->w);
	t->w = NULL;
	free(t->pend);
	t->pend = NULL;
	if (t->broken) {
		unlink(t->path);
		return -EINVAL;
	}
	return 0;
}

void tarsplit_abort(struct tarsplit *t)
{
	if (t->w) {
		t->A->archive_write_free(t->w);
		t->w = NULL;
		unlink(t->path);
	}
	free(t->pend);
	t->pend = NULL;
}

/* Reads exactly n bytes of the record; -EIO when it ends early. */
static int read_exact(const struct archive_lib *A, struct archive *a, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		la_ssize_t k = A->archive_read_data(a, p, n);
		if (k <= 0)
			return -EIO;
		p += k;
		n -= k;
	}
	return 0;
}

/* Opens a file of the layer by its path in the tar, never leaving the layer. */
static int open_layer_file(int layerfd, const char *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	while (*path == '/')
		path++;
	/* O_NONBLOCK: a FIFO where the record has a file must not hang the export */
	struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = openat2_retry(layerfd, path, &how);
	return fd < 0 ? -errno : fd;
}

int tarsplit_replay(const struct archive_lib *A, const char *split_path, int layerfd, tarsplit_sink sink, void *arg,
		    struct diyc_error *err)
{
	struct archive *a = A->archive_read_new();
	struct archive_entry *e;
	int ret = 0;
	char *buf = NULL;
	const size_t bufsz = 1 << 16;
	if (!a || !(buf = malloc(bufsz))) {
		ret = diyc_error(err, ENOMEM, "tar-split");
		goto out;
	}
	A->archive_read_support_filter_all(a);
	A->archive_read_support_format_raw(a);
	if (A->archive_read_open_filename(a, split_path, 1 << 16) != ARCHIVE_OK ||
	    A->archive_read_next_header(a, &e) != ARCHIVE_OK) {
		ret = diyc_error_plain(err, EIO, "read `%s`: %s", split_path, A->archive_error_string(a));
		goto out;
	}
	for (;;) {
		char kind;
		if (read_exact(A, a, &kind, 1) < 0)
			goto truncated;
		if (kind == 'E')
			break;
		if (kind == 'L') {
			uint32_t n;
			if (read_exact(A, a, &n, 4) < 0)
				goto truncated;
			for (n = le32toh(n); n > 0;) {
				size_t k = n < bufsz ? n : bufsz;
				if (read_exact(A, a, buf, k) < 0)
					goto truncated;
				if ((ret = sink(arg, buf, k, err)) < 0)
					goto out;
				n -= k;
			}
			continue;
		}
		if (kind != 'F')
			goto truncated;
		uint64_t size;
		uint16_t len;
		char path[UINT16_MAX + 1];
		if (read_exact(A, a, &size, 8) < 0 || read_exact(A, a, &len, 2) < 0)
			goto truncated;
		size = le64toh(size);
		len = le16toh(len);
		if (read_exact(A, a, path, len) < 0)
			goto truncated;
		path[len] = '\0';
		_cleanup_close_ int fd = open_layer_file(layerfd, path);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
			ret = diyc_error_plain(err, ESTALE, "layer file `%s` is not as it was imported", path);
			goto out;
		}
		while (size > 0) {
			ssize_t k = read(fd, buf, size < bufsz ? size : bufsz);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				ret = diyc_error_plain(err, ESTALE, "layer file `%s` is not as it was imported", path);
				goto out;
			}
			if ((ret = sink(arg, buf, k, err)) < 0)
				goto out;
			size -= k;
		}
	}
	goto out;
truncated:
	ret = diyc_error_plain(err, EIO, "`%s` is damaged", split_path);
out:
	free(buf);
	if (a)
		A->archive_read_free(a);
	return ret;
}
