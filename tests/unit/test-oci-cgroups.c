/* SPDX-License-Identifier: MIT */
/* test-oci-cgroups.c: the pure parts of oci/cgroups.c: cpu.shares to cpu.weight, blkio to
 * io.weight, memory+swap to memory.swap.max, and the device program: its length, and what it
 * answers, run by a small interpreter of the instructions it uses (and, where this process
 * may, checked by the kernel's verifier; nothing is attached anywhere). */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"
#include "oci/cgroups.h"

static void test_weights(void)
{
	CHECK(oci_cpu_weight(0) == 0);
	CHECK(oci_cpu_weight(2) == 1);
	CHECK(oci_cpu_weight(1) == 1); /* clamped, not wrapped */
	CHECK(oci_cpu_weight(1024) == 39); /* runc's linear formula (crun >= 1.8 would say 100) */
	CHECK(oci_cpu_weight(512) == 20);
	CHECK(oci_cpu_weight(262144) == 10000);
	CHECK(oci_cpu_weight(1000000) == 10000);
	CHECK(oci_io_weight(0) == 0);
	CHECK(oci_io_weight(10) == 1);
	CHECK(oci_io_weight(1000) == 10000);
	CHECK(oci_io_weight(500) == 1 + 490 * 9999 / 990);
}

static void test_swap(void)
{
	int64_t v;
	CHECK(oci_swap_max(0, 0, &v) == 0 && v == OCI_SWAP_UNSET);
	CHECK(oci_swap_max(100, 0, &v) == 0 && v == OCI_SWAP_UNSET);
	CHECK(oci_swap_max(-1, 0, &v) == 0 && v == -1);
	CHECK(oci_swap_max(100, -1, &v) == 0 && v == -1);
	CHECK(oci_swap_max(100, 300, &v) == 0 && v == 200);
	CHECK(oci_swap_max(100, 100, &v) == 0 && v == 0);
	CHECK(oci_swap_max(100, 50, &v) == -EINVAL);
	CHECK(oci_swap_max(0, 300, &v) == -EINVAL);
	CHECK(oci_swap_max(-1, 300, &v) == -EINVAL);
}

/* Runs the device program on (type, access, major, minor): the subset of eBPF it uses. */
static int run(const struct bpf_insn *p, size_t n, int type, int acc, uint32_t major, uint32_t minor)
{
	uint32_t ctx[3] = { (uint32_t)type | ((uint32_t)acc << 16), major, minor };
	uint64_t r[11] = { 0 };
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];
		uint64_t src = BPF_SRC(i->code) == BPF_X ? r[i->src_reg] : (uint64_t)(int64_t)i->imm;
		switch (BPF_CLASS(i->code)) {
		case BPF_LDX:
			CHECK(i->src_reg == 1 && i->off % 4 == 0 && i->off < 12);
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU:
			/* the kernel refuses an ALU instruction with an offset */
			CHECK(i->off == 0 && (BPF_SRC(i->code) == BPF_X || i->src_reg == 0));
			if (BPF_OP(i->code) == BPF_MOV)
				r[i->dst_reg] = (uint32_t)src;
			else if (BPF_OP(i->code) == BPF_AND)
				r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & src);
			else if (BPF_OP(i->code) == BPF_RSH)
				r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> src;
			else
				CHECK(!"an ALU op the interpreter does not know");
			break;
		case BPF_JMP:
			if (BPF_OP(i->code) == BPF_EXIT)
				return (int)r[0];
			CHECK(BPF_OP(i->code) == BPF_JNE && i->off > 0 && pc + i->off < n);
			if (r[i->dst_reg] != src)
				pc += (size_t)i->off;
			break;
		default:
			CHECK(!"an instruction class the interpreter does not know");
		}
	}
	CHECK(!"fell off the end of the program");
	return -1;
}

#define C BPF_DEVCG_DEV_CHAR
#define B BPF_DEVCG_DEV_BLOCK
#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD

static int try_load(const struct bpf_insn *p, size_t n)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uintptr_t)p;
	a.insn_cnt = (uint32_t)n;
	a.license = (uintptr_t)"MIT";
	long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

static void test_program(void)
{
	struct bpf_insn *p;
	size_t n;
	/* nothing: deny all (prologue 6 + default 2) */
	CHECK(oci_device_program(NULL, 0, &p, &n) == 0 && n == 8);
	CHECK(run(p, n, C, R, 1, 3) == 0);
	free(p);

	/* what engines send: deny all, then allow some; the last match wins */
	struct oci_device_rule rules[] = {
		{ false, 'a', -1, -1, "rwm" },          /* 2: matches everything */
		{ true, 'c', 1, 3, "rwm" },             /* 2 + type, major, minor */
		{ true, 'c', 1, -1, "r" },              /* 2 + type, access (3), major */
		{ true, 'b', -1, -1, "m" },             /* 2 + type, access (3) */
		{ false, 'c', 1, 7, "w" },              /* 2 + type, access (3), major, minor */
	};
	CHECK(oci_device_program(rules, 5, &p, &n) == 0);
	/* prologue + blocks in reverse, ending at the match-all (no default after it) */
	CHECK(n == 6 + (2 + 6) + (2 + 4) + (2 + 5) + (2 + 3) + 2);
	CHECK(run(p, n, C, R | W, 1, 3) == 1);
	CHECK(run(p, n, C, M, 1, 3) == 1);
	CHECK(run(p, n, C, R, 1, 5) == 1);   /* c 1:* r */
	CHECK(run(p, n, C, W, 1, 5) == 0);   /* not w */
	CHECK(run(p, n, C, R | W, 1, 5) == 0); /* rw is not a subset of r */
	CHECK(run(p, n, C, R, 1, 7) == 1);
	CHECK(run(p, n, C, W, 1, 7) == 0);   /* the deny at the end wins */
	CHECK(run(p, n, B, M, 8, 0) == 1);
	CHECK(run(p, n, B, R, 8, 0) == 0);
	CHECK(run(p, n, C, R, 5, 1) == 0);
	int r = try_load(p, n);
	if (r == 0)
		printf("the kernel's verifier took the program\n");
	else
		printf("the kernel's verifier not asked: %s\n", strerror(-r));
	CHECK(r == 0 || r == -EPERM || r == -EACCES || r == -ENOSYS || r == -EINVAL);
	free(p);

	/* only c 1:3, as the VM test uses it */
	struct oci_device_rule one[] = { { true, 'c', 1, 3, "rwm" } };
	CHECK(oci_device_program(one, 1, &p, &n) == 0 && n == 6 + 5 + 2);
	CHECK(run(p, n, C, R | W, 1, 3) == 1);
	CHECK(run(p, n, C, R, 1, 5) == 0);
	CHECK(run(p, n, B, R, 1, 3) == 0);
	free(p);

	/* allow all, then deny one: the match-all, the first rule, comes last in the program and
	 * ends it (no default deny after it) */
	struct oci_device_rule two[] = { { true, 'a', -1, -1, "" }, { false, 'c', 10, 200, "rwm" } };
	CHECK(oci_device_program(two, 2, &p, &n) == 0 && n == 6 + 5 + 2);
	CHECK(run(p, n, C, R, 10, 200) == 0);
	CHECK(run(p, n, C, R, 10, 201) == 1);
	CHECK(run(p, n, B, W | M, 259, 0) == 1);
	free(p);

	struct oci_device_rule bad[] = { { true, 'x', -1, -1, "rwm" } };
	CHECK(oci_device_program(bad, 1, &p, &n) == -EINVAL);
	struct oci_device_rule bad2[] = { { true, 'c', -1, -1, "rq" } };
	CHECK(oci_device_program(bad2, 1, &p, &n) == -EINVAL);
}

int main(void)
{
	test_weights();
	test_swap();
	test_program();
	return CHECKS_DONE();
}
