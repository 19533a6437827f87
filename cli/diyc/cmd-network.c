/* SPDX-License-Identifier: MIT */
/* cmd-network.c: `diyc network setup|teardown|ls`: the bridge diyc0 and its NAT. */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "output.h"
#include "verbs.h"
#include "net/bridge.h"
#include "net/veth.h"
#include "lib/util.h"

static const char network_usage[] =
	"Usage: diyc network COMMAND\n"
	"\n"
	"Manage the bridge that --net=bridge puts containers on.\n"
	"\n"
	"Commands:\n"
	"  setup [--subnet CIDR]  Create bridge " BRIDGE_DEFAULT " with the first address of CIDR (default\n"
	"                         " BRIDGE_DEFAULT_SUBNET "), turn on IPv4 forwarding and NAT the subnet\n"
	"                         to the outside (root; doing it again changes nothing)\n"
	"  teardown               Remove all that setup made (root)\n"
	"  ls [--format json]     Show the bridge, its subnet and the addresses containers hold\n"
	"\n"
	"A normal user's containers join the bridge through the set-uid diyc-nethelper, as\n"
	"root allows in /etc/diyc/nethelper.conf, one line per user or group:\n"
	"  alice bridge " BRIDGE_DEFAULT " count 10\n"
	"  @netusers bridge " BRIDGE_DEFAULT " count 4\n";


static int need_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	struct diyc_error err = { 0 };
	diyc_error_plain(&err, EPERM, "`diyc network %s` changes the host's network and needs root: run `sudo diyc "
			 "network %s`", what, what);
	return fail(&err);
}

/* --subnet CIDR: into the const char * data points to */
static int setup_opt(int c, const char *arg, void *data)
{
	(void)c;
	*(const char **)data = arg;
	return 0;
}

int cmd_network_setup(int argc, char **argv)
{
	static const struct option opts[] = { { "subnet", required_argument, NULL, 's' }, OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "network setup", network_usage, "+:", opts };
	const char *subnet = BRIDGE_DEFAULT_SUBNET;
	int r;
	if (!parse_options(&spec, argc, argv, setup_opt, &subnet, &r))
		return r;
	if (optind < argc)
		return usage_error("network setup", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct in_addr net;
	int prefix;
	if (subnet_parse(subnet, &net, &prefix, &err) < 0)
		return usage_error("network setup", "%s", err.msg);
	r = need_root("setup");
	if (r)
		return r;
	if (bridge_setup(BRIDGE_DEFAULT, net, prefix, &err) < 0)
		return fail(&err);
	return 0;
}

int cmd_network_teardown(int argc, char **argv)
{
	static const struct option opts[] = { OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "network teardown", network_usage, "+:", opts };
	int r;
	if (!parse_options(&spec, argc, argv, no_options, NULL, &r))
		return r;
	if (optind < argc)
		return usage_error("network teardown", "unexpected argument `%s`", argv[optind]);
	r = need_root("teardown");
	if (r)
		return r;
	struct diyc_error err = { 0 };
	if (bridge_teardown(BRIDGE_DEFAULT, &err) < 0)
		return fail(&err);
	return 0;
}

/* The name of uid as the password database has it (for the JSON form), or its number. */
static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
	return buf;
}

/* The leases as a table; a veth name (from the lease file) and a user name (from the
 * password database) are escaped, and the columns sized to what they hold. */
static void print_leases(const struct lease *leases, size_t n)
{
	char (*veth)[4 * IFNAMSIZ + 1] = calloc(n, sizeof(*veth));
	char (*who)[4 * 64 + 1] = calloc(n, sizeof(*who));
	if (!veth || !who) {
		free(veth);
		free(who);
		return;
	}
	size_t w = 15;
	for (size_t i = 0; i < n; i++) {
		char name[64];
		str_escape(leases[i].veth, veth[i], sizeof(veth[i]));
		str_escape(user_name(leases[i].uid, name, sizeof(name)), who[i], sizeof(who[i]));
		if (str_columns(veth[i]) > w)
			w = str_columns(veth[i]);
	}
	printf("\n%-15s ", "ADDRESS");
	print_cell(stdout, "VETH", w);
	printf(" %s\n", "USER");
	for (size_t i = 0; i < n; i++) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &leases[i].addr, ip, sizeof(ip));
		printf("%-15s ", ip);
		print_cell(stdout, veth[i], w);
		printf(" %s\n", who[i]);
	}
	free(veth);
	free(who);
}

/* --format table|json: into the enum output_format data points to. Its message is its
 * own (not parse_format's): `network ls` always worded it so. */
static int ls_opt(int c, const char *arg, void *data)
{
	(void)c;
	if (!strcmp(arg, "json"))
		*(enum output_format *)data = OUTPUT_JSON;
	else if (!strcmp(arg, "table"))
		*(enum output_format *)data = OUTPUT_TABLE;
	else
		return usage_error("network ls", "--format is table or json, not `%s`", arg);
	return 0;
}

int cmd_network_ls(int argc, char **argv)
{
	static const struct option opts[] = { OPTION_FORMAT_ENTRY, OPTION_HELP_ENTRY, OPTION_END };
	static const struct command_options spec = { "network ls", network_usage, "+:", opts };
	enum output_format format = OUTPUT_TABLE;
	int r;
	if (!parse_options(&spec, argc, argv, ls_opt, &format, &r))
		return r;
	if (optind < argc)
		return usage_error("network ls", "unexpected argument `%s`", argv[optind]);
	struct diyc_error err = { 0 };
	struct netlink *nl = NULL;
	if (netlink_open(&nl, &err) < 0)
		return fail(&err);
	struct bridge_info b;
	r = bridge_query(nl, BRIDGE_DEFAULT, &b, &err);
	netlink_close(nl);
	if (r < 0 && r != -ENODEV)
		return fail(&err);
	bool exists = r == 0;
	_cleanup_free_ struct lease *leases = NULL;
	size_t n = 0;
	if (lease_list(BRIDGE_DEFAULT, &leases, &n, &err) < 0)
		return fail(&err);
	char subnet[32] = "", addr[INET_ADDRSTRLEN] = "";
	if (exists && b.prefix) {
		subnet_format(b.addr, b.prefix, subnet);
		inet_ntop(AF_INET, &b.addr, addr, sizeof(addr));
	}
	char who[64];
	if (format == OUTPUT_JSON) {
		struct json_object *a = json_object_new_array();
		if (exists) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "Name", json_object_new_string(BRIDGE_DEFAULT));
			json_object_object_add(o, "Subnet", json_object_new_string(subnet));
			json_object_object_add(o, "Gateway", json_object_new_string(addr));
			json_object_object_add(o, "Up", json_object_new_boolean(b.up));
			struct json_object *l = json_object_new_array();
			for (size_t i = 0; i < n; i++) {
				struct json_object *e = json_object_new_object();
				char ip[INET_ADDRSTRLEN];
				inet_ntop(AF_INET, &leases[i].addr, ip, sizeof(ip));
				json_object_object_add(e, "Address", json_object_new_string(ip));
				json_object_object_add(e, "Veth", json_object_new_string(leases[i].veth));
				json_object_object_add(e, "Uid", json_object_new_int64(leases[i].uid));
				json_object_object_add(e, "User",
						       json_object_new_string(user_name(leases[i].uid, who, sizeof(who))));
				json_object_array_add(l, e);
			}
			json_object_object_add(o, "Leases", l);
			json_object_array_add(a, o);
		}
		print_json(a);
		json_object_put(a);
		return 0;
	}
	if (!exists) {
		printf("no bridge `%s`: root makes it with `sudo diyc network setup`\n", BRIDGE_DEFAULT);
		return 0;
	}
	printf("%-8s %-18s %-15s %-5s %s\n", "BRIDGE", "SUBNET", "GATEWAY", "STATE", "LEASES");
	printf("%-8s %-18s %-15s %-5s %zu\n", BRIDGE_DEFAULT, *subnet ? subnet : "-", *addr ? addr : "-",
	       b.up ? "up" : "down", n);
	if (n)
		print_leases(leases, n);
	return 0;
}

int cmd_network(int argc, char **argv)
{
	return verb_dispatch("network", network_usage, true, argc, argv);
}
