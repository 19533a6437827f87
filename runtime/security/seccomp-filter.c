/* SPDX-License-Identifier: MIT */
/* seccomp-filter.c: the system call filter of a container's processes. Profiles are docker's
 * JSON format (the built-in one allows what docker's default allows); libseccomp turns a
 * profile into BPF for the container's capabilities and this kernel. Compiling takes
 * about a millisecond and a half plus loading libseccomp, so the BPF is kept in a cache
 * keyed by everything it was made from, and a start only reads it back. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "lib/dl.h"
#include "seccomp-filter.h"
#include "lib/util.h"

#define SECCOMP_FUNCS(X)                                                                                     \
	X(seccomp_init) X(seccomp_release) X(seccomp_arch_add) X(seccomp_arch_resolve_name)                  \
	X(seccomp_arch_native) X(seccomp_syscall_resolve_name) X(seccomp_rule_add_array) X(seccomp_export_bpf)         \
	X(seccomp_attr_set)

static struct {
	SECCOMP_FUNCS(DL_FIELD)
} sc;
static const char *const sc_names[] = { SECCOMP_FUNCS(DL_NAME) };

#define PROFILE_MAX (1 << 20)
#define CACHE_FORMAT "diyc-seccomp-3"

#if defined(__x86_64__)
static const char *const native_arches[] = { "amd64", "x86_64", NULL };
#elif defined(__aarch64__)
static const char *const native_arches[] = { "arm64", "aarch64", NULL };
#else
static const char *const native_arches[] = { NULL };
#endif

static const struct {
	const char *name;
	int op;
} operators[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* An action name and its errno (or trace message) into a libseccomp action. */
static int parse_action(const char *name, struct json_object *ret, uint32_t *out, struct diyc_error *err)
{
	int64_t n = ret ? json_object_get_int64(ret) : -1;
	if (ret && (!json_object_is_type(ret, json_type_int) || n < 0 || n > 0xffff))
		return diyc_error_plain(err, EINVAL, "errnoRet must be a number from 0 to 65535");
	if (!strcmp(name, "SCMP_ACT_ALLOW"))
		*out = SCMP_ACT_ALLOW;
	else if (!strcmp(name, "SCMP_ACT_ERRNO"))
		*out = SCMP_ACT_ERRNO(n >= 0 ? n : EPERM);
	else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
		*out = SCMP_ACT_KILL_THREAD;
	else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		*out = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(name, "SCMP_ACT_TRAP"))
		*out = SCMP_ACT_TRAP;
	else if (!strcmp(name, "SCMP_ACT_LOG"))
		*out = SCMP_ACT_LOG;
	else if (!strcmp(name, "SCMP_ACT_TRACE"))
		*out = SCMP_ACT_TRACE(n >= 0 ? n : 0);
	else
		return diyc_error_plain(err, EINVAL, "unknown action `%s` (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, "
					"SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_LOG or "
					"SCMP_ACT_TRACE)", name);
	return 0;
}

static bool string_in(struct json_object *list, const char *const *names)
{
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(list, i));
		for (const char *const *k = names; s && *k; k++)
			if (!strcmp(s, *k))
				return true;
	}
	return false;
}

static bool caps_in(struct json_object *list, cap_mask caps, bool all)
{
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(list, i));
		int c = s ? caps_value(s) : -1;
		bool has = c >= 0 && (caps & ((cap_mask)1 << c));
		if (all && !has)
			return false;
		if (!all && has)
			return true;
	}
	return all;
}

static int kernel_version(void)
{
	struct utsname u;
	int a = 0, b = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%d.%d", &a, &b);
	return a * 1000 + b;
}

/* Whether a syscalls entry's "includes" (match) or "excludes" (!match) hold here. */
static int condition(struct json_object *cond, bool include, cap_mask caps, bool *holds, struct diyc_error *err)
{
	*holds = true;
	if (!cond)
		return 0;
	if (!json_object_is_type(cond, json_type_object))
		return diyc_error_plain(err, EINVAL, "includes and excludes must be objects");
	struct json_object *arches = member(cond, "arches"), *capl = member(cond, "caps");
	struct json_object *minkernel = member(cond, "minKernel");
	if ((arches && !json_object_is_type(arches, json_type_array)) ||
	    (capl && !json_object_is_type(capl, json_type_array)) ||
	    (minkernel && !json_object_is_type(minkernel, json_type_string)))
		return diyc_error_plain(err, EINVAL, "arches and caps must be lists, minKernel a string");
	if (include) {
		if (arches && json_object_array_length(arches) && !string_in(arches, native_arches))
			*holds = false;
		if (capl && json_object_array_length(capl) && !caps_in(capl, caps, true))
			*holds = false;
	} else {
		if (arches && string_in(arches, native_arches))
			*holds = false;
		if (capl && caps_in(capl, caps, false))
			*holds = false;
	}
	if (minkernel) {
		unsigned a, b;
		const char *mk = json_object_get_string(minkernel);
		int used = 0;
		if (sscanf(mk, "%3u.%3u%n", &a, &b, &used) != 2 || mk[used] != '\0')
			return diyc_error_plain(err, EINVAL, "minKernel must be like 5.8");
		bool newer = kernel_version() >= (int)(a * 1000 + b);
		if (newer != include)
			*holds = false;
	}
	return 0;
}

static int parse_args(struct json_object *args, struct scmp_arg_cmp *cmp, unsigned *n, bool *same_index,
		      struct diyc_error *err)
{
	*n = 0;
	*same_index = false;
	if (!args)
		return 0;
	if (!json_object_is_type(args, json_type_array) || json_object_array_length(args) > 6)
		return diyc_error_plain(err, EINVAL, "args must be a list of at most 6 comparisons");
	unsigned seen = 0;
	for (size_t i = 0; i < json_object_array_length(args); i++) {
		struct json_object *a = json_object_array_get_idx(args, i);
		struct json_object *idx = member(a, "index"), *val = member(a, "value"), *two = member(a, "valueTwo");
		struct json_object *op = member(a, "op");
		if (!json_object_is_type(a, json_type_object) || !idx || !json_object_is_type(idx, json_type_int) ||
		    json_object_get_int64(idx) < 0 || json_object_get_int64(idx) > 5 || !op ||
		    !json_object_is_type(op, json_type_string) || (val && !json_object_is_type(val, json_type_int)) ||
		    (two && !json_object_is_type(two, json_type_int)))
			return diyc_error_plain(err, EINVAL, "an argument comparison needs index (0-5), op and "
						"numeric value and valueTwo");
		int opn = -1;
		for (size_t k = 0; k < ARRAY_SIZE(operators); k++)
			if (!strcmp(json_object_get_string(op), operators[k].name))
				opn = operators[k].op;
		if (opn < 0)
			return diyc_error_plain(err, EINVAL, "unknown operator `%s`", json_object_get_string(op));
		/* json-c keeps numbers above INT64_MAX as unsigned, and gives larger ones as
		 * UINT64_MAX: that value is refused rather than taken for what was written */
		if ((val && (json_object_get_int64(val) < 0 || json_object_get_uint64(val) == UINT64_MAX)) ||
		    (two && (json_object_get_int64(two) < 0 || json_object_get_uint64(two) == UINT64_MAX)))
			return diyc_error_plain(err, EINVAL, "a comparison value must be from 0 to 2^64-2");
		unsigned index = json_object_get_int64(idx);
		if (seen & (1u << index))
			*same_index = true;
		seen |= 1u << index;
		/* json-c keeps numbers above INT64_MAX as unsigned */
		cmp[i] = (struct scmp_arg_cmp){ .arg = index, .op = opn,
						.datum_a = val ? json_object_get_uint64(val) : 0,
						.datum_b = two ? json_object_get_uint64(two) : 0 };
		(*n)++;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t def, uint32_t action, const char *name, struct scmp_arg_cmp *cmp,
		    unsigned n, bool split, struct diyc_error *err)
{
	int nr = sc.seccomp_syscall_resolve_name(name);
	/* as docker: a name this libseccomp does not know (another architecture's, or newer)
	 * is left out, and a rule that does what the default does is not needed */
	if (nr == __NR_SCMP_ERROR || action == def)
		return 0;
	int r = 0;
	if (!split || n < 2)
		r = sc.seccomp_rule_add_array(ctx, action, nr, n, cmp);
	else
		/* libseccomp ANDs comparisons; two on one argument are meant as either */
		for (unsigned i = 0; i < n && r == 0; i++)
			r = sc.seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
	if (r < 0 && r != -EACCES && r != -EEXIST)
		return diyc_error(err, -r, "add the seccomp rule for `%s`", name);
	return 0;
}

/* libseccomp's token for "SCMP_ARCH_X86_64" (docker's spelling: its "x86_64"); 0 if unknown */
static uint32_t arch_token(const char *name)
{
	char lower[64];
	if (!name || strncmp(name, "SCMP_ARCH_", 10) || strlen(name + 10) >= sizeof(lower))
		return 0;
	size_t i = 0;
	for (const char *p = name + 10; *p; p++)
		lower[i++] = (char)tolower((unsigned char)*p);
	lower[i] = '\0';
	return sc.seccomp_arch_resolve_name(lower);
}

/* Walks a profile: checks it, and adds its rules to ctx unless ctx is NULL. */
static int profile_walk(struct json_object *root, cap_mask caps, scmp_filter_ctx *ctxp, struct diyc_error *err)
{
	if (!json_object_is_type(root, json_type_object))
		return diyc_error_plain(err, EINVAL, "a seccomp profile is a JSON object");
	struct json_object *defact = member(root, "defaultAction"), *syscalls = member(root, "syscalls");
	if (!defact || !json_object_is_type(defact, json_type_string))
		return diyc_error_plain(err, EINVAL, "the profile has no defaultAction");
	if (syscalls && !json_object_is_type(syscalls, json_type_array))
		return diyc_error_plain(err, EINVAL, "syscalls must be a list");
	uint32_t def;
	int r = parse_action(json_object_get_string(defact), member(root, "defaultErrnoRet"), &def, err);
	if (r < 0)
		return r;
	scmp_filter_ctx ctx = NULL;
	if (ctxp) {
		ctx = *ctxp = sc.seccomp_init(def);
		if (!ctx)
			return diyc_error(err, ENOMEM, "create a seccomp filter");
		/* a binary tree of system call numbers instead of a chain: the kernel runs the
		 * filter once per system call number and architecture when it is installed
		 * (to find those always allowed), 0.8 ms with the chain, 0.25 with the tree */
		sc.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	}
	/* the native architecture, and those its archMap entry lists (x86 and x32 beside
	 * x86_64: 32-bit programs are filtered by the same names) */
	struct json_object *archmap = member(root, "archMap"), *archlist = member(root, "architectures");
	if ((archmap && !json_object_is_type(archmap, json_type_array)) ||
	    (archlist && !json_object_is_type(archlist, json_type_array)))
		return diyc_error_plain(err, EINVAL, "archMap and architectures must be lists");
	for (size_t i = 0; i < (archmap ? json_object_array_length(archmap) : 0); i++) {
		struct json_object *e = json_object_array_get_idx(archmap, i);
		struct json_object *a = member(e, "architecture"), *subs = member(e, "subArchitectures");
		if (!a || !json_object_is_type(a, json_type_string) ||
		    (subs && !json_object_is_type(subs, json_type_array)))
			return diyc_error_plain(err, EINVAL, "an archMap entry needs architecture and "
						"subArchitectures");
		if (!ctx)
			continue;
		if (arch_token(json_object_get_string(a)) != sc.seccomp_arch_native())
			continue;
		for (size_t k = 0; subs && k < json_object_array_length(subs); k++) {
			const char *sub = json_object_get_string(json_object_array_get_idx(subs, k));
			uint32_t token = arch_token(sub);
			if (token && (r = sc.seccomp_arch_add(ctx, token)) < 0 && r != -EEXIST)
				return diyc_error(err, -r, "add architecture %s to the seccomp filter", sub);
		}
	}
	for (size_t i = 0; i < (syscalls ? json_object_array_length(syscalls) : 0); i++) {
		struct json_object *e = json_object_array_get_idx(syscalls, i);
		if (!json_object_is_type(e, json_type_object))
			return diyc_error_plain(err, EINVAL, "syscalls[%zu] is not an object", i);
		struct json_object *names = member(e, "names"), *name = member(e, "name"), *act = member(e, "action");
		if (!act || !json_object_is_type(act, json_type_string))
			return diyc_error_plain(err, EINVAL, "syscalls[%zu] has no action", i);
		if ((names && !json_object_is_type(names, json_type_array)) ||
		    (name && !json_object_is_type(name, json_type_string)) || (!names && !name))
			return diyc_error_plain(err, EINVAL, "syscalls[%zu] needs names (a list) or name", i);
		uint32_t action;
		struct scmp_arg_cmp cmp[6];
		unsigned ncmp = 0;
		bool split = false, inc = true, exc = true;
		r = parse_action(json_object_get_string(act), member(e, "errnoRet"), &action, err);
		if (r == 0)
			r = parse_args(member(e, "args"), cmp, &ncmp, &split, err);
		if (r == 0)
			r = condition(member(e, "includes"), true, caps, &inc, err);
		if (r == 0)
			r = condition(member(e, "excludes"), false, caps, &exc, err);
		if (r < 0) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			return diyc_error_plain(err, -r, "syscalls[%zu]: %s", i, why);
		}
		size_t n = names ? json_object_array_length(names) : 0;
		for (size_t k = 0; k < n; k++)
			if (!json_object_is_type(json_object_array_get_idx(names, k), json_type_string))
				return diyc_error_plain(err, EINVAL, "syscalls[%zu]: names must be strings", i);
		if (!ctx || !inc || !exc)
			continue;
		if (name && (r = add_rule(ctx, def, action, json_object_get_string(name), cmp, ncmp, split, err)) < 0)
			return r;
		for (size_t k = 0; k < n; k++) {
			const char *s = json_object_get_string(json_object_array_get_idx(names, k));
			if ((r = add_rule(ctx, def, action, s, cmp, ncmp, split, err)) < 0)
				return r;
		}
	}
	return 0;
}

static int parse_profile(const char *json, struct json_object **out, struct diyc_error *err)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return diyc_error(err, ENOMEM, "seccomp profile");
	/* the length without the terminating NUL: given -1, json-c would count it as input */
	size_t len = strlen(json);
	*out = len > INT32_MAX ? NULL : json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	size_t used = tok->char_offset;
	json_tokener_free(tok);
	if (!*out || jerr != json_tokener_success || used > len || json[used + strspn(json + used, " \t\r\n")] != '\0') {
		json_object_put(*out);
		*out = NULL;
		return diyc_error_plain(err, EINVAL, "the seccomp profile is not valid JSON%s%s",
					jerr != json_tokener_success ? ": " : "",
					jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "");
	}
	return 0;
}

int seccomp_profile_check(const char *json, struct diyc_error *err)
{
	struct json_object *root;
	int r = parse_profile(json, &root, err);
	if (r == 0)
		r = profile_walk(root, 0, NULL, err);
	json_object_put(root);
	return r;
}

int seccomp_profile_load(const char *path, char **json, struct diyc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	/* not blocking on a FIFO, nor reading a device */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return diyc_error(err, errno, "read seccomp profile `%s`", path);
	if (fstat(fd, &st) < 0)
		return diyc_error(err, errno, "read seccomp profile `%s`", path);
	if (!S_ISREG(st.st_mode))
		return diyc_error_plain(err, EINVAL, "seccomp profile `%s` is not a regular file", path);
	int r = read_fd_all(fd, PROFILE_MAX, &text, &len);
	if (r == -EFBIG)
		return diyc_error_plain(err, EFBIG, "seccomp profile `%s` is larger than 1 MiB", path);
	if (r < 0)
		return diyc_error(err, -r, "read seccomp profile `%s`", path);
	if (strlen(text) != len)
		return diyc_error_plain(err, EINVAL, "seccomp profile `%s` is not text", path);
	r = seccomp_profile_check(text, err);
	if (r < 0) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		return diyc_error_plain(err, -r, "seccomp profile `%s`: %s", path, why);
	}
	*json = steal_ptr(text);
	return 0;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Everything a filter is made from: the cache format, the kernel, the capabilities and
 * the profile's text. A cache file starts with it, and is used only if it matches byte
 * for byte: the file name (a 64-bit hash of it) only finds the file. */
static char *cache_key(const char *profile, cap_mask caps, size_t *len, char *name, size_t name_size)
{
	struct utsname u = { 0 };
	uname(&u);
	char *key = xasprintf("%s\n%s\n%s\n%016llx\n%s", CACHE_FORMAT, u.release, u.machine,
			      (unsigned long long)caps, profile);
	if (!key)
		return NULL;
	*len = strlen(key) + 1;
	snprintf(name, name_size, "%016llx.bpf", (unsigned long long)fnv1a(0xcbf29ce484222325ULL, key, *len));
	return key;
}

/* The cache directory, if it is the caller's own and nobody else may write it. */
static int cache_dir_open(const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The filter kept for key in the cache, if there is a file of ours for exactly this key. */
static int cache_read(int dirfd, const char *name, const char *key, size_t klen, struct seccomp_prog *out)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -1;
	size_t max = klen + BPF_MAXINSNS * sizeof(struct sock_filter);
	if (st.st_size <= (off_t)klen || (size_t)st.st_size > max)
		return -1;
	size_t size = st.st_size, bpf = size - klen;
	_cleanup_free_ char *buf = malloc(size);
	if (!buf || pread(fd, buf, size, 0) != (ssize_t)size || memcmp(buf, key, klen) ||
	    bpf % sizeof(struct sock_filter))
		return -1;
	out->insns = malloc(bpf);
	if (!out->insns)
		return -1;
	memcpy(out->insns, buf + klen, bpf);
	out->len = bpf / sizeof(struct sock_filter);
	return 0;
}

static void cache_write(int dirfd, const char *name, const char *key, size_t klen, const struct seccomp_prog *p)
{
	size_t bpf = p->len * sizeof(struct sock_filter);
	_cleanup_free_ char *buf = malloc(klen + bpf);
	if (!buf)
		return;
	memcpy(buf, key, klen);
	memcpy(buf + klen, p->insns, bpf);
	/* a cache that cannot be written costs the next start the compilation, nothing else */
	write_file_atomic_nosync(dirfd, name, buf, klen + bpf, 0644);
}

static int compile(const char *profile, cap_mask caps, struct seccomp_prog *out, struct diyc_error *err)
{
	int r = dl_load("libseccomp.so.2", "libseccomp2", sc_names, (void **)&sc, ARRAY_SIZE(sc_names), err);
	if (r < 0)
		return r;
	struct json_object *root;
	if ((r = parse_profile(profile, &root, err)) < 0)
		return r;
	scmp_filter_ctx ctx = NULL;
	r = profile_walk(root, caps, &ctx, err);
	json_object_put(root);
	_cleanup_close_ int mfd = r < 0 ? -1 : memfd_create("diyc-seccomp", MFD_CLOEXEC);
	if (r == 0 && mfd < 0)
		r = diyc_error(err, errno, "memfd for the seccomp filter");
	if (r == 0 && (r = sc.seccomp_export_bpf(ctx, mfd)) < 0)
		r = diyc_error(err, -r, "compile the seccomp filter");
	if (ctx)
		sc.seccomp_release(ctx);
	if (r < 0)
		return r;
	off_t size = lseek(mfd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter) || size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return diyc_error_plain(err, E2BIG, "the seccomp filter has %lld bytes: too large for the kernel",
					(long long)size);
	out->insns = malloc(size);
	if (!out->insns)
		return diyc_error(err, ENOMEM, "seccomp filter");
	if (pread(mfd, out->insns, size, 0) != size) {
		free(steal_ptr(out->insns));
		return diyc_error(err, EIO, "read back the seccomp filter");
	}
	out->len = size / sizeof(struct sock_filter);
	return 0;
}

int seccomp_prepare(const char *profile, cap_mask caps, const char *cache_dir, struct seccomp_prog *out,
		    struct diyc_error *err)
{
	*out = (struct seccomp_prog){ 0 };
	if (!profile)
		profile = seccomp_default_profile;
	char name[32];
	size_t klen;
	_cleanup_free_ char *key = cache_key(profile, caps, &klen, name, sizeof(name));
	if (!key)
		return diyc_error(err, ENOMEM, "seccomp filter");
	_cleanup_close_ int dirfd = cache_dir ? cache_dir_open(cache_dir) : -1;
	if (dirfd >= 0 && cache_read(dirfd, name, key, klen, out) == 0)
		return 0;
	int r = compile(profile, caps, out, err);
	if (r == 0 && dirfd >= 0)
		cache_write(dirfd, name, key, klen, out);
	return r;
}

int seccomp_install(const struct seccomp_prog *p, struct diyc_error *err)
{
	struct sock_fprog prog = { .len = p->len, .filter = p->insns };
	if (!p->insns)
		return 0;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return diyc_error(err, errno, "install the seccomp filter");
	return 0;
}

void seccomp_prog_free(struct seccomp_prog *p)
{
	free(steal_ptr(p->insns));
	p->len = 0;
}
