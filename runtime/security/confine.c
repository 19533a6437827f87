/* SPDX-License-Identifier: MIT */
/* confine.c: what the supervising diyc gives up once its container runs, and the slirp
 * process (net/slirp.c) before it reads the container's first frame. From then on they
 * relay the container's connections and parse its packets (libslirp): code that the
 * container can drive. No new privileges (no set-uid program can raise it or its
 * children), and a seccomp filter that refuses the system calls such a process never
 * needs and an attacker would want: debugging other processes, mounting, loading code
 * into the kernel, keys, BPF, the 32-bit ABIs. It keeps what the end of a container
 * needs: forks, setns into the container's own user namespace to remove its files,
 * D-Bus to systemd for the cgroup. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "confine.h"
#include "lib/util.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

static const int refused[] = {
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2, SYS_pivot_root,
	SYS_chroot, SYS_bpf, SYS_perf_event_open, SYS_keyctl, SYS_add_key, SYS_request_key,
	SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_kexec_load, SYS_kexec_file_load,
	SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_settimeofday, SYS_clock_settime, SYS_adjtimex,
	SYS_clock_adjtime, SYS_syslog, SYS_userfaultfd, SYS_open_by_handle_at, SYS_name_to_handle_at,
	SYS_quotactl, SYS_personality, SYS_fsopen, SYS_fsmount, SYS_fsconfig, SYS_move_mount,
	SYS_open_tree, SYS_mount_setattr,
#ifdef SYS_iopl
	SYS_iopl, SYS_ioperm,
#endif
};

/* A filter on system call numbers: for a deny list, LIST refused (EPERM) and the rest
 * allowed; for an allow list, the reverse. Another architecture's calls (and x32's) are
 * refused as a whole. */
static int install_list_filter(const int *list, size_t n, bool allow_list, struct diyc_error *err)
{
#ifdef NATIVE_ARCH
	enum { HEAD = 4 };
	const unsigned listed = allow_list ? SECCOMP_RET_ALLOW : SECCOMP_RET_ERRNO | EPERM;
	const unsigned other = allow_list ? SECCOMP_RET_ERRNO | EPERM : SECCOMP_RET_ALLOW;
	/* jumps count from the next instruction: 0 load arch, 1 check it, 2 load nr, 3 x32,
	 * 4.. one per listed call, then the others' answer, then the listed' */
	struct sock_filter prog[HEAD + n + 3];
	size_t i = 0;
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, n + 4);
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 numbers carry bit 30 */
	prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, n + 2, 0);
#else
	prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
#endif
	for (size_t k = 0; k < n; k++)
		prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)list[k], n - k, 0);
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, other);
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, listed);
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	struct sock_fprog fprog = { .len = (unsigned short)i, .filter = prog };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
		return diyc_error(err, errno, "install a seccomp filter");
#endif
	return 0;
}

int confine_supervisor(struct diyc_error *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return diyc_error(err, errno, "set no_new_privs");
	return install_list_filter(refused, ARRAY_SIZE(refused), false, err);
}

/* What diyc's init does once the command runs: close the pipe the command waits on, wait
 * for signals and children, pass the signals on, exit (write: --verbose's messages, to
 * /dev/null by then). */
static const int init_allowed[] = {
	SYS_close, SYS_rt_sigtimedwait, SYS_wait4, SYS_waitid, SYS_kill, SYS_exit, SYS_exit_group,
	SYS_rt_sigreturn, SYS_restart_syscall, SYS_write, SYS_getpid, SYS_clock_gettime,
};

int confine_init(struct diyc_error *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return diyc_error(err, errno, "set no_new_privs");
	return install_list_filter(init_allowed, ARRAY_SIZE(init_allowed), true, err);
}
