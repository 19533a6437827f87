/* SPDX-License-Identifier: MIT */
/* output.c: printing errors, warnings, tables and JSON for a terminal, and the advice that
 * goes with each hint the library names, in the command line's own words (which command or
 * flag to use); sizes, the lines of the prunes and their question as docker prints them. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "output.h"
#include "lib/util.h"

/* "{}" stands for the hint's argument (a name) */
static const char *const hint_advice[] = {
	[DIYC_HINT_NAME_TAKEN] = ": choose another with --name, or remove the old container with `diyc rm {}`",
	[DIYC_HINT_NO_CONTAINER] = " (see `diyc ps -a`)",
	[DIYC_HINT_SEE_LOGS] = " (see `diyc logs {}`)",
	[DIYC_HINT_CONTAINER_RUNNING] = ": stop it first (`diyc stop {}`) or use `diyc rm -f {}`",
	[DIYC_HINT_NOT_RUNNING] = " (start it with `diyc start {}`)",
	[DIYC_HINT_NO_IMAGE] = ": pull it with `diyc pull {}` or import it with `diyc image import PATH {}` (see `diyc "
		"image ls`)",
	[DIYC_HINT_IMAGE_DAMAGED] = ": remove it with `diyc image rm {}` and import it again",
	[DIYC_HINT_IMAGE_IN_USE] = ": remove the container first, or use `diyc image rm -f`",
	[DIYC_HINT_MAX_SIZE] = " (set another limit with --max-size)",
	[DIYC_HINT_CHOOSE_REF_PLATFORM] = ": choose one with --ref or --platform",
	[DIYC_HINT_CHOOSE_REF] = ": choose one with --ref NAME:TAG",
	[DIYC_HINT_CHOOSE_OCI_REF] = ": choose one with --ref",
	[DIYC_HINT_NOT_IMAGE_SOURCE] = ": --platform and --ref do not apply",
	/* net/ */
	[DIYC_HINT_NET_HELPER_NOT_SETUID] = ": as root, `chown root {} && chmod 4755 {}`; or use --net=slirp",
	[DIYC_HINT_NET_BRIDGE_OTHER_SUBNET] = ": `sudo diyc network teardown` first, or choose that subnet",
	[DIYC_HINT_NET_NO_HELPER] = " (meson install as root does it), and a bridge root made with `sudo diyc network "
		"setup`; or run with sudo, or use --net=slirp",
	[DIYC_HINT_NET_TUN_DENIED] = "; or use --net=none",
	/* diyc-nethelper has the same texts for the three below */
	[DIYC_HINT_NET_IP_TAKEN] = ": choose another, or leave --ip out",
	[DIYC_HINT_NET_NO_BRIDGE] = " (root makes it: sudo diyc network setup)",
	[DIYC_HINT_NET_BRIDGE_NO_SUBNET] = " (sudo diyc network setup gives it one)",
	/* cgroup/ */
	[DIYC_HINT_CGROUP_NO_SYSTEMD] = "; use --cgroup-manager cgroupfs",
	[DIYC_HINT_CGROUP_NOT_DELEGATED] = ". Use --cgroup-manager systemd, or run diyc inside a delegated cgroup "
		"(systemd-run --user --scope -p Delegate=yes diyc run ...)",
	[DIYC_HINT_CGROUP_NO_USER_BUS] = " (or run with --cgroup-manager cgroupfs inside a delegated cgroup)",
	/* rootfs/ */
	[DIYC_HINT_ROOTFS_KERNEL_DIRS] = " (a container's /proc, /sys and /dev, and with --read-only /tmp and /run, must "
		"be directories)",
	/* registry/ */
	[DIYC_HINT_REGISTRY_LOGIN] = ": log in with `diyc login {}` (or give --creds USER:PASSWORD)",
	[DIYC_HINT_REGISTRY_TLS] = ": put its CA in ~/.config/containers/certs.d/{}/ca.crt (or /etc/containers/certs.d/), "
		"or use --tls-verify=false for a registry you trust",
	/* storage/ */
	[DIYC_HINT_STORAGE_SIZE] = ": add --rm (its changes then live in a tmpfs of that size, mounted in its user "
		"namespace), or run it as root (a project quota or an image file on a loop device); see docs/rootfs.md",
	[DIYC_HINT_NO_VOLUME] = " (see `diyc volume ls`)",
	[DIYC_HINT_VOLUME_REPLACED] = ": remove it with `diyc volume rm -f {}` (its data goes with it) and create it "
		"again",
};

static void append(char *out, size_t size, size_t *n, const char *s, size_t len)
{
	if (*n + 1 >= size)
		return;
	if (len > size - 1 - *n)
		len = size - 1 - *n;
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
}

void diyc_error_text(const struct diyc_error *err, char *out, size_t size)
{
	size_t n = 0;
	if (!size)
		return;
	out[0] = '\0';
	const char *msg = err->msg[0] ? err->msg : "unknown error";
	append(out, size, &n, msg, strlen(msg));
	const char *advice = err->hint > 0 && (size_t)err->hint < sizeof(hint_advice) / sizeof(hint_advice[0])
		? hint_advice[err->hint] : NULL;
	for (const char *a = advice; a && *a;) {
		const char *ph = strstr(a, "{}");
		size_t len = ph ? (size_t)(ph - a) : strlen(a);
		append(out, size, &n, a, len);
		if (!ph)
			break;
		append(out, size, &n, err->hint_arg, strlen(err->hint_arg));
		a = ph + 2;
	}
}

void diyc_print_line(const char *prefix, const char *msg)
{
	/* one line, whatever the user typed: control characters are shown escaped */
	char out[4 * 2048 + 1];
	str_escape(msg, out, sizeof(out));
	fprintf(stderr, "%s%s\n", prefix, out);
}

void diyc_error_print(const struct diyc_error *err)
{
	char text[2048];
	diyc_error_text(err, text, sizeof(text));
	diyc_print_line("diyc: ", text);
}

void output_log_handler(enum diyc_log_level level, const char *msg)
{
	if (level == DIYC_LOG_WARN) {
		diyc_print_line("diyc: warning: ", msg);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "diyc[%d] %ld.%06ld: ", getpid(), (long)ts.tv_sec, ts.tv_nsec / 1000);
	diyc_print_line(prefix, msg);
}

void print_cell(FILE *f, const char *s, size_t width)
{
	fputs(s, f);
	for (size_t n = str_columns(s); n < width; n++)
		fputc(' ', f);
}

void print_json_text(FILE *f, const char *json)
{
	/* json-c escapes the C0 controls but writes DEL, C1 controls in UTF-8 and bytes that
	 * are not UTF-8 as they are: \u escapes for those (a stray byte taken as Latin-1), so
	 * that the text stays valid JSON and nothing reaches the terminal as a control */
	for (const unsigned char *c = (const unsigned char *)(json ? json : "null"); *c;) {
		unsigned cp = 0;
		size_t len = *c < 0x80 ? 1 : utf8_seq(c, &cp);
		if (*c == 0x7f || len == 0 || (len == 2 && cp < 0xa0)) {
			fprintf(f, "\\u%04x", len == 2 ? cp : *c);
			c += len == 2 ? 2 : 1;
			continue;
		}
		fwrite(c, 1, len, f);
		c += len;
	}
	fputc('\n', f);
}

void output_size(char *buf, size_t n, uint64_t v)
{
	if (v < 1000)
		snprintf(buf, n, "%lluB", (unsigned long long)v);
	else if (v < 1000 * 1000)
		snprintf(buf, n, "%.3gkB", v / 1e3);
	else if (v < 1000ULL * 1000 * 1000)
		snprintf(buf, n, "%.3gMB", v / 1e6);
	else
		snprintf(buf, n, "%.3gGB", v / 1e9);
}

void output_human_size(char *buf, size_t n, uint64_t v)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double d = (double)v;
	size_t u = 0;
	while (d >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		d /= 1000;
		u++;
	}
	snprintf(buf, n, "%.4g%s", d, units[u]);
}

void print_json(struct json_object *o)
{
	print_json_text(stdout, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
}

void prune_output_item(struct prune_output *o, const char *heading, const char *prefix, const char *what)
{
	if (!o->heading || strcmp(o->heading, heading)) {
		printf("%s%s\n", o->heading ? "\n" : "", heading);
		o->heading = heading;
	}
	_cleanup_free_ char *shown = str_escape_dup(what);
	printf("%s%s\n", prefix, shown ? shown : "?");
	fflush(stdout);
}

void prune_output_total(const struct prune_output *o, uint64_t bytes)
{
	char size[32];
	output_human_size(size, sizeof(size), bytes);
	printf("%sTotal reclaimed space: %s\n", o->heading ? "\n" : "", size);
	fflush(stdout);
}

bool output_confirm(void)
{
	printf("\nAre you sure you want to continue? [y/N] ");
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin)) {
		putchar('\n');
		return false;
	}
	char *s = line;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strcspn(s, " \t\r\n");
	return (n == 1 && tolower((unsigned char)s[0]) == 'y') || (n == 3 && !strncasecmp(s, "yes", 3));
}
