/* SPDX-License-Identifier: MIT */
/* util.c: small helpers for numbers, strings, files and directory trees. */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include "util.h"

int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = *p - '0';
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_dedup(char **v, bool by_key)
{
	size_t n = strv_length(v), k = 0;
	char **out = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; out && i < n; i++) {
		size_t len = by_key ? strcspn(v[i], "=") : strlen(v[i]) + 1;
		bool later = false;
		for (size_t j = i + 1; j < n && !later; j++)
			later = !strncmp(v[i], v[j], len) && (!by_key || v[j][len] == '=' || !v[j][len]);
		if (!later && !(out[k++] = strdup(v[i]))) {
			strv_free(out);
			return NULL;
		}
	}
	return out;
}

int strv_push(char ***v, size_t *n, char *s)
{
	char **nv = s ? realloc(*v, (*n + 2) * sizeof(char *)) : NULL;
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return 0;
}

int parse_size(const char *s, uint64_t plain_unit, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	char digits[32];
	size_t n = strspn(s, "0123456789");
	if (n >= sizeof(digits))
		return -ERANGE;
	memcpy(digits, s, n);
	digits[n] = '\0';
	uint64_t v, unit;
	int r = parse_u64(digits, UINT64_MAX, &v);
	if (r < 0)
		return r;
	const char *suffix = s + n;
	static const char units[] = "bkmgt";
	const char *u = *suffix ? strchr(units, suffix[0] | 0x20) : NULL;
	if (!*suffix)
		unit = plain_unit;
	else if (!u || !*u)
		return -EINVAL;
	else {
		unit = 1ULL << (10 * (u - units));
		suffix++;
		/* docker's spellings: 512m, 512mb, 512MiB */
		if (u != units && (!strcasecmp(suffix, "b") || !strcasecmp(suffix, "ib")))
			suffix += strlen(suffix);
		if (*suffix)
			return -EINVAL;
	}
	if (v > UINT64_MAX / unit)
		return -ERANGE;
	*out = v * unit;
	return 0;
}

int parse_size_positive(const char *what, const char *s, const char *help, uint64_t *out, struct diyc_error *err)
{
	uint64_t v;
	if (s[0] == '-')
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: a size must be positive", what, s);
	int r = parse_size(s, 1 << 20, &v);
	if (r == -ERANGE)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: too large", what, s);
	if (r < 0)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: %s", what, s, help);
	if (v == 0)
		return diyc_error_plain(err, EINVAL, "invalid %s `%s`: a size must be positive", what, s);
	*out = v;
	return 0;
}

void human_bytes(char *buf, size_t n, uint64_t v)
{
	static const char *units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned i = 0;
	double d = (double)v;
	while (d >= 1024 && i + 1 < ARRAY_SIZE(units)) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, n, "%llu bytes", (unsigned long long)v);
	else
		snprintf(buf, n, "%.4g %s", d, units[i]);
}

bool store_name_valid(const char *name, size_t max)
{
	size_t n = strlen(name);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

char **strv_concat(char **a, char **b)
{
	size_t n = 0, k = 0;
	for (char **p = a; p && *p; p++)
		n++;
	for (char **p = b; p && *p; p++)
		n++;
	char **v = calloc(n + 1, sizeof(char *));
	for (char **p = a; v && p && *p; p++)
		v[k++] = *p;
	for (char **p = b; v && p && *p; p++)
		v[k++] = *p;
	return v;
}

char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST)
				return -errno;
			if (c == '\0')
				break;
			*p = c;
		}
	}
	return 0;
}

static int rm_children(int dfd)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return -e;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = rm_rf_at(dirfd(d), de->d_name);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	return ret;
}

int rm_rf_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == EACCES) {
		/* overlayfs leaves work/work with mode 000; we own it, so open it up */
		if (fchmodat(dirfd, name, 0700, 0) == 0)
			dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	if (fstat(dfd, &st) == 0 && (st.st_mode & 0700) != 0700 && st.st_uid == geteuid())
		fchmod(dfd, st.st_mode | 0700);
	int r = rm_children(dfd);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return r < 0 ? r : -errno;
	return r;
}

int rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int write_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	return write_all(fd, data, len);
}

static int write_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode, bool sync)
{
	char tmp[NAME_MAX + 1];
	char rnd[9];
	int r = random_hex(rnd, 4);
	if (r < 0)
		return r;
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp-%s", name, rnd) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

int write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	return write_replace(dirfd, name, data, len, mode, true);
}

int write_file_atomic_nosync(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	return write_replace(dirfd, name, data, len, mode, false);
}

int read_file_at(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return read_fd_all(fd, max, out, len);
}

int read_fd_all(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max)
				return -EFBIG;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + n, cap - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		n += k;
		if (n > max)
			return -EFBIG;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = steal_ptr(buf);
	return 0;
}

char *find_in_path(const char *name, const char *path)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? strdup(name) : NULL;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	const char *p = path;
	while (*p) {
		const char *end = strchrnul(p, ':');
		char *cand = xasprintf("%.*s/%s", (int)(end - p), p, name);
		if (cand && end > p && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p = *end ? end + 1 : end;
	}
	return NULL;
}

int random_hex(char *out, size_t bytes)
{
	unsigned char buf[64];
	if (bytes > sizeof(buf))
		return -EINVAL;
	size_t got = 0;
	while (got < bytes) {
		ssize_t n = getrandom(buf + got, bytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += n;
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 15];
	}
	out[2 * bytes] = '\0';
	return 0;
}

static char *title_area;
static size_t title_size;

void proc_title_init(int argc, char **argv)
{
	if (argc < 1 || !argv[0])
		return;
	char *end = argv[0] + strlen(argv[0]);
	/* only the contiguous part the kernel placed there */
	for (int i = 1; i < argc && argv[i] == end + 1; i++)
		end = argv[i] + strlen(argv[i]);
	title_area = argv[0];
	title_size = (size_t)(end - argv[0]);
}

void proc_title_set(const char *title)
{
	if (!title_area || title_size == 0)
		return;
	size_t n = strlen(title);
	if (n > title_size)
		n = title_size;
	memcpy(title_area, title, n);
	memset(title_area + n, 0, title_size - n);
	/* words separated by NULs, as ps expects of a command line */
	for (size_t i = 0; i < n; i++)
		if (title_area[i] == ' ')
			title_area[i] = '\0';
}

void proc_env_clear(void)
{
	extern char **environ;
	/* diyc never sets variables: these are the strings the kernel placed, all of them */
	for (char **e = environ; e && *e; e++)
		explicit_bzero(*e, strlen(*e));
	environ = NULL;
}

void unmap_code_pages(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[8];
		int path_at = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) != 3 || !path_at)
			continue;
		/* only code: never written, so the page cache has exactly what was mapped
		 * (data and relocated pages are private copies and must stay) */
		if (strcmp(perms, "r-xp") == 0 && line[path_at] == '/')
			madvise((void *)start, end - start, MADV_DONTNEED);
	}
}

int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Closes every fd from 3 up but those in keep. */
void close_fds_except(int *keep, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned from = 3;
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 3)
			continue;
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

int openat2_retry(int dirfd, const char *path, struct open_how *how)
{
	for (int tries = 0;; tries++) {
		int fd = (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
		if (fd >= 0 || errno != EAGAIN || tries == 100)
			return fd;
	}
}

int fds_set_cloexec(int from)
{
	if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		uint64_t fd;
		if (parse_u64(e->d_name, INT32_MAX, &fd) < 0 || (int)fd < from || (int)fd == dirfd(d))
			continue;
		int flags = fcntl((int)fd, F_GETFD);
		if (flags < 0 || fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) < 0)
			return -1;
	}
	return 0;
}

int pollfd_push(struct pollfd **fds, size_t *cap, size_t *n, int fd, short events)
{
	if (*n >= *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pollfd *p = realloc(*fds, c * sizeof(*p));
		if (!p)
			return -1;
		*fds = p;
		*cap = c;
	}
	(*fds)[*n] = (struct pollfd){ fd, events, 0 };
	return (int)(*n)++;
}

static int kept_proc = -1;

int keep_proc(void)
{
	if (kept_proc < 0)
		kept_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return kept_proc < 0 ? -errno : 0;
}

int open_regular_at(int dirfd, const char *path, unsigned long long resolve, struct stat *st)
{
	/* O_PATH first: opening a device node (one a root container made with mknod) or a FIFO
	 * has effects of its own, so nothing but a regular file is opened for reading, and
	 * that through the O_PATH fd, which cannot change what it refers to. O_NOFOLLOW: the
	 * last component is taken as it is, a symlink fails with ELOOP. */
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = resolve | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int pathfd = openat2_retry(dirfd, path, &how);
	if (pathfd < 0)
		return -errno;
	struct stat sb;
	if (fstat(pathfd, &sb) < 0)
		return -errno;
	if (S_ISLNK(sb.st_mode))
		return -ELOOP;
	if (!S_ISREG(sb.st_mode))
		return S_ISDIR(sb.st_mode) ? -EISDIR : -EFTYPE_NOT_REGULAR;
	int r = keep_proc();
	if (r < 0)
		return r;
	char self[64];
	snprintf(self, sizeof(self), "self/fd/%d", pathfd);
	int fd = openat(kept_proc, self, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (st)
		*st = sb;
	return fd;
}

const char *open_regular_error(int r)
{
	switch (r) {
	case -ELOOP:
		return "it is a symlink, not a file";
	case -EISDIR:
		return "it is a directory, not a file";
	case -EFTYPE_NOT_REGULAR:
		return "it is not a regular file (a FIFO, socket or device)";
	case -EXDEV:
		return "its path leads outside the source";
	default:
		return strerror(-r);
	}
}

int mkdir_locked(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0)
		return -errno;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		rmdir(path);
		return -e;
	}
	return steal_fd(&fd);
}

int pid_prefix_gone(const char *s)
{
	size_t n = strspn(s, "0123456789");
	char digits[16];
	uint64_t pid;
	if (n == 0 || n >= sizeof(digits) || s[n] != '-')
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_u64(digits, INT32_MAX, &pid) < 0 || pid == 0)
		return -EINVAL;
	if (kill((pid_t)pid, 0) < 0)
		return errno == ESRCH;
	/* a zombie (whose parent died and whose reaper has not come yet) is gone as well */
	bool zombie = false;
	proc_start_time((pid_t)pid, &zombie);
	return zombie;
}

uint64_t proc_start_time(pid_t pid, bool *zombie)
{
	char path[64], buf[1024];
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields count from the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	char state = p[2];
	if (zombie)
		*zombie = state == 'Z' || state == 'X';
	unsigned long long start = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &start) != 1)
		return 0;
	return start;
}
