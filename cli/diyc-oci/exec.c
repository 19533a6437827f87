/* SPDX-License-Identifier: MIT */
/* exec.c: `diyc-oci exec`: a process in a running container, from a process JSON file
 * (--process, as the shim, conmon and CRI-O pass it) or from flags and arguments. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "oci-cli.h"
#include "security/caps.h"
#include "lib/util.h"

struct exec_flags {
	struct oci_exec_opts o;
	const char *process_file;
	char **env;
	size_t n_env;
	const char *user;
	bool tty, nnp;
	char **caps;
	size_t n_caps;
	int bad;
};

static const struct option exec_opts[] = {
	{ "process", required_argument, NULL, 'p' }, { "detach", no_argument, NULL, 'd' },
	{ "pid-file", required_argument, NULL, 'P' }, { "console-socket", required_argument, NULL, 'c' },
	{ "tty", no_argument, NULL, 't' }, { "preserve-fds", required_argument, NULL, 'f' },
	{ "cwd", required_argument, NULL, 'w' }, { "env", required_argument, NULL, 'e' },
	{ "user", required_argument, NULL, 'u' }, { "cap", required_argument, NULL, 'C' },
	{ "no-new-privs", no_argument, NULL, 'n' }, { "additional-gids", required_argument, NULL, 'g' },
	{ "process-label", required_argument, NULL, 'L' }, { "apparmor", required_argument, NULL, 'A' },
	{ "ignore-paused", no_argument, NULL, 'I' }, { "cgroup", required_argument, NULL, 'G' },
	{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

static int exec_flag(int c, const char *arg, void *ctx)
{
	struct exec_flags *f = ctx;
	switch (c) {
	case 'p': f->process_file = arg; break;
	case 'd': f->o.detach = true; break;
	case 'P': f->o.pid_file = arg; break;
	case 'c': f->o.console_socket = arg; break;
	case 't': f->tty = true; break;
	case 'w': f->o.process.cwd = strdup(arg); break;
	case 'e': strv_push(&f->env, &f->n_env, strdup(arg)); break;
	case 'u': f->user = arg; break;
	case 'C': strv_push(&f->caps, &f->n_caps, strdup(arg)); break;
	case 'n': f->nnp = true; break;
	case 'f': {
		uint64_t v;
		if (parse_u64(arg, 1 << 20, &v) < 0) {
			oci_fail_msg("--preserve-fds must be a number, not `%s`", arg);
			return 1;
		}
		f->o.preserve_fds = (int)v;
		break;
	}
	default: break;
	}
	return 0;
}

static const char exec_help[] =
	"Usage: diyc-oci exec [FLAGS] ID [COMMAND [ARG...]]\n\n"
	"Runs a process in a running container: from --process FILE (a process object as in\n"
	"config.json), or COMMAND with the flags below. Without --detach it waits for the\n"
	"process and exits with its status.\n\n"
	"  -p, --process FILE        the process as JSON (`-` reads stdin)\n"
	"  -d, --detach              return once the process runs\n"
	"  --pid-file FILE           write its pid there\n"
	"  --console-socket PATH     a unix socket to receive the pty master (with a terminal)\n"
	"  -t, --tty                 give it a terminal (needs --console-socket)\n"
	"  --cwd DIR, -e/--env K=V, -u/--user UID[:GID], --cap CAP, --no-new-privs\n"
	"  --preserve-fds N          pass fds 3 to 3+N-1\n";

/* The process from the flags: COMMAND, its env, user, capabilities. */
static int process_from_flags(struct exec_flags *f, char **args, struct diyc_error *err)
{
	struct oci_process *p = &f->o.process;
	p->args = strv_dedup(args, false);
	p->env = f->env ? f->env : calloc(1, sizeof(char *));
	p->terminal = f->tty;
	p->no_new_privileges = f->nnp;
	if (!p->cwd)
		p->cwd = strdup("/");
	if (f->user) {
		unsigned uid = 0, gid = 0;
		if (sscanf(f->user, "%u:%u", &uid, &gid) < 1)
			return diyc_error_plain(err, EINVAL, "--user must be UID[:GID], not `%s`", f->user);
		p->uid = uid;
		p->gid = gid;
	}
	for (size_t i = 0; i < f->n_caps; i++) {
		int c = caps_value(f->caps[i]);
		if (c < 0)
			return diyc_error_plain(err, EINVAL, "--cap: unknown capability `%s`", f->caps[i]);
		p->bounding |= CAP_BIT(c);
		p->effective |= CAP_BIT(c);
		p->permitted |= CAP_BIT(c);
	}
	p->has_caps = true;
	return 0;
}

int cmd_exec(int argc, char **argv)
{
	struct exec_flags f;
	memset(&f, 0, sizeof(f));
	/* runc's short forms: -p --process, -d --detach, -t --tty, -e --env, -u --user */
	int r = oci_parse_flags_short(argc, argv, "+:hp:dte:u:", exec_opts, exec_help, 1, 1 << 20, exec_flag, &f);
	if (r)
		return r < 0 ? 0 : r;
	struct diyc_error err = { 0 };
	f.o.root = g_oci.root;
	f.o.id = argv[optind];
	_cleanup_free_ char *json = NULL;
	if (f.process_file) {
		size_t len;
		int fd = strcmp(f.process_file, "-") ? open(f.process_file, O_RDONLY | O_CLOEXEC) : 0;
		if (fd < 0 || read_fd_all(fd, 4 << 20, &json, &len) < 0) {
			oci_fail_msg("exec: read the process file %s: %s", f.process_file, strerror(errno));
			return 1;
		}
		if (fd > 0)
			close(fd);
		f.o.process_json = json;
	} else if (optind + 1 >= argc) {
		oci_fail_msg("exec: give a command, or the process as --process FILE");
		return 1;
	} else if (process_from_flags(&f, argv + optind + 1, &err) < 0)
		return oci_fail(&err);
	pid_t pid = 0;
	int status = 0;
	r = oci_exec(&f.o, &pid, &status, &err);
	if (r < 0) {
		oci_fail(&err);
		return err.status == 126 || err.status == 127 ? err.status : 255;
	}
	if (f.o.pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", pid);
		int fd = open(f.o.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write_all(fd, buf, n) < 0)
			oci_fail_msg("exec: write the pid file %s: %s", f.o.pid_file, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f.o.detach ? 0 : status;
}
