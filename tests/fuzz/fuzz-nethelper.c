/* SPDX-License-Identifier: MIT */
/* A libFuzzer target for what diyc-nethelper parses from its caller and from disk: its
 * arguments, /etc/diyc/nethelper.conf and the lease files. tests/run-all builds it with
 * clang and runs it for a bounded number of inputs (tests/fuzz/run). The first byte of
 * an input chooses the parser; the rest is its input (arguments: NUL-separated). */
#define NETHELPER_FUZZ 1
#include "../../helper/diyc-nethelper.c"

static bool fuzz_in_group(const char *name, void *arg)
{
	return strcmp(name, "staff") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 3;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct diyc_error err = { 0 };
	if (which == 0) {
		unsigned count;
		int r = conf_allowance(text, len, "alice", fuzz_in_group, NULL, "diyc0", &count, &err);
		if (r == 0 && count > CONF_COUNT_MAX)
			__builtin_trap();
		if (r < 0 && (count != 0 || !err.msg[0]))
			__builtin_trap();
		return 0;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return 0;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (which == 1) {
		char *argv[10] = { "diyc-nethelper" };
		int argc = 1;
		for (char *p = copy; argc < 9 && p <= copy + len; p += strlen(p) + 1)
			argv[argc++] = p;
		argv[argc] = NULL;
		struct request req;
		if (args_parse(argc, argv, &req, &err) == 0) {
			/* what it accepted is what the helper may use */
			if (!bridge_name_valid(req.bridge) || (req.op == REQ_RELEASE && !req.have_addr))
				__builtin_trap();
		}
	} else {
		struct lease *v;
		size_t n;
		if (leases_parse(copy, &v, &n, &err) == 0) {
			for (size_t i = 0; i < n; i++) {
				char want[IFNAMSIZ];
				lease_veth_name(v[i].addr, want);
				if (strcmp(want, v[i].veth) != 0)
					__builtin_trap();
			}
			free(v);
		}
	}
	free(copy);
	return 0;
}
