/* SPDX-License-Identifier: MIT */
/* selfexe.c: the diyc binary out of the container's reach (runc's CVE-2019-5736).
 *
 * Every process diyc starts in a container is a fork of diyc until it executes the
 * command, and diyc's init stays one. /proc/PID/exe of such a process is a magic link to
 * the diyc binary on the host: a command that is a script starting `#!/proc/self/exe`
 * makes the kernel execute diyc itself inside the container, as the container's root,
 * and any process there may open that binary for writing once it stops running, and
 * replace it with whatever the next `diyc` (possibly `sudo diyc`) then runs on the host.
 *
 * runc and crun copy their binary into a sealed memfd and execute that copy, at the
 * price of an exec and the dynamic loader at every start. diyc instead detaches the
 * running process from its file: the binary's mappings are replaced, at the same
 * addresses, by anonymous copies of themselves (mremap over them is atomic, so even the
 * code doing it keeps running), and then the kernel's record of the executable is
 * pointed at an empty sealed memfd: /proc/self/exe leads to an empty file that cannot be
 * written or executed.
 *
 * Where the process may make mounts (a container's PID 1, before pivot_root), the parts
 * of the binary that were never written (its code and read-only data: ~260 of its
 * ~300 kB) are mapped again from the binary opened through a private, detached,
 * read-only clone of its mount: the kernel only refuses a new executable file while the
 * old one is mapped through the same mount, so these pages stay shared with every other
 * diyc, and the file behind them cannot be written through any link to them. The rest
 * are anonymous copies. It takes about 0.1 ms.
 *
 * Repointing the executable takes PR_SET_MM_MAP, which only kernels built with
 * CONFIG_CHECKPOINT_RESTORE have. Where the kernel says it has none, diyc instead runs
 * from a sealed copy of itself, as runc and crun do (selfexe_prepare, below). */
#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/mount.h>
#include <linux/prctl.h>
#include "selfexe.h"
#include "lib/util.h"

#define MAPS_MAX 64
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3 */
#endif

static bool running_sealed; /* see selfexe_prepare */

struct mapping {
	unsigned long start, end, offset;
	int prot;
};

/* The mappings of the file whose device and inode are those of exe. */
/* /proc/self/NAME, or NAME of procfd's proc (opened where this process has a PID) */
static int open_self(int procfd, const char *name)
{
	char path[64];
	snprintf(path, sizeof(path), "%sself/%s", procfd >= 0 ? "" : "/proc/", name);
	return openat(procfd >= 0 ? procfd : AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

static int exe_mappings(int procfd, const struct stat *exe, struct mapping *m, int *n, struct diyc_error *err)
{
	int fd = open_self(procfd, "maps");
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
	if (fd >= 0 && !f)
		close(fd);
	if (!f)
		return diyc_error(err, errno, "read /proc/self/maps");
	char line[512];
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, off, ino;
		unsigned maj, min;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &start, &end, perms, &off, &maj, &min, &ino) != 7 ||
		    ino != exe->st_ino || makedev(maj, min) != exe->st_dev)
			continue;
		if (*n == MAPS_MAX)
			return diyc_error_plain(err, E2BIG, "the diyc binary has more than %d mappings", MAPS_MAX);
		m[*n] = (struct mapping){ start, end, off,
					  (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
						  (perms[2] == 'x' ? PROT_EXEC : 0) };
		(*n)++;
	}
	return 0;
}

/* Fields of /proc/self/stat, 1-based as in proc(5). */
static int stat_fields(int procfd, unsigned long long *v, int max, struct diyc_error *err)
{
	_cleanup_free_ char *s = NULL;
	_cleanup_close_ int fd = open_self(procfd, "stat");
	if (fd < 0 || read_fd_all(fd, 4096, &s, NULL) < 0)
		return diyc_error(err, errno, "read /proc/self/stat");
	/* the command name (field 2) may hold spaces and parentheses: fields start after the last ')' */
	char *p = strrchr(s, ')');
	if (!p)
		return diyc_error_plain(err, EINVAL, "unexpected /proc/self/stat");
	int k = 3;
	for (char *save = NULL, *t = strtok_r(p + 2, " \n", &save); t && k < max; t = strtok_r(NULL, " \n", &save))
		v[k++] = strtoull(t, NULL, 10);
	if (k < 52)
		return diyc_error_plain(err, EINVAL, "unexpected /proc/self/stat (%d fields)", k - 1);
	return 0;
}

int selfexe_open_private(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return -EINVAL;
	path[n] = '\0';
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return -errno;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return -errno;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tree);
	int fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* the same file as the one running (not one put in its place since) */
	struct stat a, b;
	if (fstat(fd, &a) < 0 || stat("/proc/self/exe", &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* The pages of the program that were written after it was mapped although they are
 * not writable now: its RELRO segment (relocated, then made read-only). */
static int relro_of_program(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long *range = data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO) {
			range[0] = info->dlpi_addr + ph->p_vaddr;
			range[1] = range[0] + ph->p_memsz;
		}
	}
	return 1; /* the first object is the program itself */
}

/* Replaces the mapping m by the same range of the file fd, if it still holds what the
 * file holds: never written (not writable, not RELRO). False if not (or fd is -1). */
static bool remap_from_file(const struct mapping *m, int fd, const unsigned long relro[2])
{
	size_t len = m->end - m->start;
	if (fd < 0 || (m->prot & PROT_WRITE) || !(m->prot & PROT_READ) ||
	    (m->start < relro[1] && m->end > relro[0]))
		return false;
	void *fresh = mmap(NULL, len, m->prot, MAP_PRIVATE, fd, m->offset);
	if (fresh == MAP_FAILED)
		return false;
	if (mremap(fresh, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)m->start) == MAP_FAILED) {
		munmap(fresh, len);
		return false;
	}
	return true;
}

int selfexe_detach(int private_fd, int procfd, struct diyc_error *err)
{
	if (running_sealed)
		return 0; /* a fork of the sealed copy: nothing of the host's binary to detach from */
	struct stat exe;
	_cleanup_close_ int exefd = open_self(procfd, "exe");
	if (exefd < 0 || fstat(exefd, &exe) < 0)
		return diyc_error(err, errno, "stat /proc/self/exe");
	close(steal_fd(&exefd));
	struct mapping m[MAPS_MAX];
	int n = 0;
	int r = exe_mappings(procfd, &exe, m, &n, err);
	if (r < 0)
		return r;
	unsigned long relro[2] = { 0, 0 };
	dl_iterate_phdr(relro_of_program, relro);
	for (int i = 0; i < n; i++) {
		size_t len = m[i].end - m[i].start;
		if (remap_from_file(&m[i], private_fd, relro))
			continue;
		void *copy = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (copy == MAP_FAILED)
			return diyc_error(err, errno, "copy the diyc binary's mappings");
		if (m[i].prot & PROT_READ)
			memcpy(copy, (void *)m[i].start, len);
		if (mprotect(copy, len, m[i].prot) < 0 ||
		    mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)m[i].start) == MAP_FAILED) {
			int e = errno;
			munmap(copy, len);
			return diyc_error(err, e, "replace the diyc binary's mappings");
		}
	}
	_cleanup_close_ int empty = memfd_create("diyc-detached", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (empty < 0)
		return diyc_error(err, errno, "memfd_create");
	if (fchmod(empty, 0500) < 0 ||
	    fcntl(empty, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		return diyc_error(err, errno, "seal the memfd");
	unsigned long long f[64] = { 0 };
	if ((r = stat_fields(procfd, f, 64, err)) < 0)
		return r;
	struct prctl_mm_map map = {
		.start_code = f[26], .end_code = f[27], .start_stack = f[28],
		.start_data = f[45], .end_data = f[46], .start_brk = f[47], .brk = (unsigned long)syscall(SYS_brk, 0),
		.arg_start = f[48], .arg_end = f[49], .env_start = f[50], .env_end = f[51],
		.exe_fd = (unsigned)empty,
	};
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) < 0)
		return diyc_error(err, errno, "detach from the diyc binary");
	return 0;
}

/* -- where the kernel cannot repoint /proc/PID/exe ----------------------------------------
 *
 * PR_SET_MM_MAP exists only in kernels built with CONFIG_CHECKPOINT_RESTORE (Debian's
 * user-mode-linux, some distribution and embedded kernels lack it): there the plain
 * PR_SET_MM path answers EPERM without CAP_SYS_RESOURCE and EINVAL to root. diyc then
 * does what runc and crun do at every start: it executes itself again from a copy in a
 * memfd sealed against writes, before it starts any process of a container. Every such
 * process, and diyc-init, is then a fork of that copy: /proc/PID/exe leads to the copy,
 * never to the binary on the host, and the copy cannot be written. Once running, the
 * copy's mode becomes 0000, so a `#!/proc/self/exe` command or `exec /proc/1/exe`
 * gets EACCES (no execute bit: not even CAP_DAC_OVERRIDE executes it). */

#define SEALED_FROM_ENV "DIYC_SEALED_FROM"

static char *host_exe;

bool selfexe_sealed(void)
{
	return running_sealed;
}

/* The kernel's answer, once per command: whether PR_SET_MM_MAP is there. Asking for
 * its structure's size changes nothing. */
static bool kernel_can_repoint_exe(void)
{
	unsigned int size = 0;
	return prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0) == 0 && size > 0;
}

static int copy_to_sealed_memfd(int src, const struct stat *st, struct diyc_error *err)
{
	/* MFD_EXEC (Linux 6.3) keeps the copy executable where vm.memfd_noexec would not */
	_cleanup_close_ int mem = memfd_create("diyc-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mem < 0 && errno == EINVAL)
		mem = memfd_create("diyc-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem < 0)
		return diyc_error(err, errno, "make a sealed copy of the diyc binary (memfd_create)");
	off_t off = 0;
	while (off < st->st_size) {
		ssize_t n = sendfile(mem, src, &off, (size_t)(st->st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return diyc_error(err, n < 0 ? errno : EIO, "copy the diyc binary into a memfd");
	}
	if (fchmod(mem, 0500) < 0 ||
	    fcntl(mem, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return diyc_error(err, errno, "seal the copy of the diyc binary");
	/* no writable file may be open on what is executed (ETXTBSY): a read-only one */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mem);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return diyc_error(err, errno, "reopen the copy of the diyc binary");
	return ro;
}

/* Taken over after the exec: the copy loses its execute bits, and the binary's path on
 * the host (for the tools installed beside it) comes from the environment, which no
 * container gets. */
static int take_over_sealed(struct diyc_error *err)
{
	const char *from = getenv(SEALED_FROM_ENV);
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals = self >= 0 ? fcntl(self, F_GET_SEALS) : -1;
	if (seals < 0 || !(seals & F_SEAL_WRITE)) {
		unsetenv(SEALED_FROM_ENV);
		return 0; /* not the copy: a variable left in the environment, ignored */
	}
	host_exe = strdup(from);
	unsetenv(SEALED_FROM_ENV);
	if (!host_exe)
		return diyc_error(err, ENOMEM, "selfexe");
	if (fchmod(self, 0) < 0)
		return diyc_error(err, errno, "take the execute bits off the sealed copy of diyc");
	running_sealed = true;
	return 1;
}

int selfexe_prepare(char **argv, struct diyc_error *err)
{
	if (getenv(SEALED_FROM_ENV)) {
		int r = take_over_sealed(err);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (kernel_can_repoint_exe())
		return 0;
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return diyc_error(err, n < 0 ? errno : EINVAL, "find the diyc binary (/proc/self/exe)");
	path[n] = '\0';
	struct stat st;
	_cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0 || fstat(src, &st) < 0)
		return diyc_error(err, errno, "open the diyc binary (/proc/self/exe)");
	_cleanup_close_ int copy = copy_to_sealed_memfd(src, &st, err);
	if (copy < 0)
		return copy;
	if (setenv(SEALED_FROM_ENV, path, 1) < 0)
		return diyc_error(err, errno, "setenv");
	extern char **environ;
	syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
	int e = errno;
	unsetenv(SEALED_FROM_ENV);
	return diyc_error(err, e, "execute the sealed copy of the diyc binary");
}

int selfexe_host_path(char *buf, size_t size, struct diyc_error *err)
{
	if (host_exe) {
		if (snprintf(buf, size, "%s", host_exe) >= (int)size)
			return diyc_error(err, ENAMETOOLONG, "%s", host_exe);
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n < 0)
		return diyc_error(err, errno, "find where diyc is installed (/proc/self/exe)");
	if ((size_t)n >= size - 1)
		return diyc_error(err, ENAMETOOLONG, "find where diyc is installed (/proc/self/exe)");
	buf[n] = '\0';
	return 0;
}
