/* SPDX-License-Identifier: MIT */
/* no-setmm: runs a command as if the kernel had no CONFIG_CHECKPOINT_RESTORE, by a
 * seccomp filter that answers every prctl(PR_SET_MM, ...) with an errno: EPERM is what
 * such a kernel tells a caller without CAP_SYS_RESOURCE, EINVAL what it tells root. The
 * tests run diyc under it to check its fallback (running from a sealed copy of itself) on
 * any machine.
 *
 * usage: no-setmm EPERM|EINVAL COMMAND [ARG...]
 *
 * The filter is inherited across fork, exec and set-uid programs. It is installed without
 * no_new_privs, so that newuidmap and newgidmap keep their set-uid bit: that takes
 * CAP_SYS_ADMIN, and tests/run-all runs it as root, in front of `runuser -u USER`. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
#error "no-setmm: add this architecture's AUDIT_ARCH"
#endif

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "EPERM") && strcmp(argv[1], "EINVAL"))) {
		fprintf(stderr, "usage: no-setmm EPERM|EINVAL COMMAND [ARG...]\n");
		return 2;
	}
	unsigned err = strcmp(argv[1], "EPERM") == 0 ? EPERM : EINVAL;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_NATIVE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3),
		/* the option is an int: the low 32 bits of the first argument */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_MM, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("no-setmm: seccomp (run it as root: it leaves no_new_privs off)");
		return 125;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "no-setmm: %s: %s\n", argv[2], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
