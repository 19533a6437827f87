/* SPDX-License-Identifier: MIT */
/* archive-dl.h: libarchive, loaded with dlopen() the first time an image command
 * needs it, so that `diyc run` does not map it and its dependencies at every start. */
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include "lib/dl.h"
#include "lib/error.h"

#define ARCHIVE_FUNCS(X) \
	X(archive_error_string) X(archive_read_new) X(archive_read_support_filter_all) \
	X(archive_read_support_format_tar) X(archive_read_open_filename) X(archive_read_open_fd) \
	X(archive_read_next_header) X(archive_read_next_header2) X(archive_read_data_block) \
	X(archive_read_free) X(archive_read_disk_new) X(archive_read_disk_set_symlink_physical) \
	X(archive_read_disk_open) X(archive_read_disk_descend) X(archive_write_disk_new) \
	X(archive_write_disk_set_options) X(archive_write_header) X(archive_write_data_block) \
	X(archive_write_finish_entry) X(archive_write_close) X(archive_write_free) \
	X(archive_entry_new) X(archive_entry_free) X(archive_entry_clear) X(archive_entry_pathname) \
	X(archive_entry_set_pathname) X(archive_entry_hardlink) X(archive_entry_filetype) \
	X(archive_entry_uid) X(archive_entry_gid) X(archive_entry_set_uid) X(archive_entry_set_gid) \
	X(archive_entry_size) X(archive_entry_rdevmajor) X(archive_entry_rdevminor) \
	X(archive_entry_linkresolver_new) X(archive_entry_linkresolver_set_strategy) \
	X(archive_entry_linkify) X(archive_entry_linkresolver_free) X(archive_read_disk_set_behavior) \
	X(archive_write_new) X(archive_write_set_format_pax_restricted) X(archive_write_open_fd) \
	X(archive_write_data) X(archive_read_data) X(archive_read_support_format_raw) X(archive_read_open) \
	X(archive_write_add_filter_gzip) X(archive_write_set_format_raw) X(archive_write_open_filename) \
	X(archive_entry_set_filetype) X(archive_entry_set_size) X(archive_entry_set_perm) X(archive_entry_set_nlink) \
	X(archive_entry_set_mtime) X(archive_entry_mtime) X(archive_entry_ino64) X(archive_entry_dev) X(archive_entry_set_mode) X(archive_entry_set_rdev) \
	X(archive_entry_xattr_reset) X(archive_entry_xattr_next) X(archive_entry_xattr_clear) \
	X(archive_entry_xattr_add_entry) X(archive_read_header_position) X(archive_filter_bytes) \
	X(archive_entry_clone) X(archive_write_set_bytes_in_last_block) X(archive_errno)

struct archive_lib {
	ARCHIVE_FUNCS(DL_FIELD)
};

/* Loads libarchive once; returns NULL with err set when it is missing. */
const struct archive_lib *archive_lib(struct diyc_error *err);
