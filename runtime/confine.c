/* SPDX-License-Identifier: MIT */
/* confine.c: what the supervising diyc gives up once its container runs. From then on it
 * parses packets from the container (libslirp) and relays its connections: code that
 * the container can drive. No new privileges (no set-uid program can raise it or its
 * children), and a seccomp filter that refuses the system calls such a process never
 * needs and an attacker would want: debugging other processes, mounting, loading code
 * into the kernel, keys, BPF, the 32-bit ABIs. It keeps what the end of a container
 * needs: forks, setns into the container's own user namespace to remove its files,
 * D-Bus to systemd for the cgroup. */
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "confine.h"
#include "util.h"

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

int confine_supervisor(struct diyc_error *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return diyc_error(err, errno, "set no_new_privs");
#ifdef NATIVE_ARCH
	enum { HEAD = 4, N = ARRAY_SIZE(refused) };
	/* jumps count from the next instruction: 0 load arch, 1 check it, 2 load nr, 3 x32,
	 * 4.. one per refused call, then allow, then refuse */
	struct sock_filter prog[HEAD + N + 2];
	size_t i = 0;
	/* another architecture's calling convention: refused as a whole */
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, N + 3);
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 numbers carry bit 30 */
	prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, N + 1, 0);
#else
	prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
#endif
	for (size_t k = 0; k < N; k++)
		prog[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)refused[k], N - k, 0);
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	struct sock_fprog fprog = { .len = (unsigned short)i, .filter = prog };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
		return diyc_error(err, errno, "install the seccomp filter of the supervisor");
#endif
	return 0;
}
