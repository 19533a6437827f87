/* SPDX-License-Identifier: MIT */
/* test-cgroup.c: the resource-limit settings (-m, --memory-swap, --pids-limit, --cpus,
 * --cgroup-manager), their combination rules, the labels the messages name them by (the
 * caller's), and their round trip through config.json. No cgroup is touched. */
#include <errno.h>
#include <stdint.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "cgroup/cgroup.h"
#include "check.h"
#include "container/config.h"

static struct diyc_error err;

static uint64_t memory(const char *s)
{
	uint64_t v = 0;
	memset(&err, 0, sizeof(err));
	if (cgroup_limit_parse_memory("--memory", s, &v, &err) < 0) {
		fprintf(stderr, "-m `%s` refused: %s\n", s, err.msg);
		exit(1);
	}
	return v;
}

/* Refused, with a message naming the flag, the value and WHAT. */
static void bad_memory(const char *s, const char *what)
{
	uint64_t v = 77;
	memset(&err, 0, sizeof(err));
	CHECK(cgroup_limit_parse_memory("--memory", s, &v, &err) == -EINVAL);
	CHECK(v == 77);
	CHECK(strstr(err.msg, "--memory") && strstr(err.msg, s) && strstr(err.msg, what));
}

static uint64_t cpus(const char *s)
{
	uint64_t q = 0;
	memset(&err, 0, sizeof(err));
	if (cgroup_limit_parse_cpus("--cpus", s, &q, &err) < 0) {
		fprintf(stderr, "--cpus `%s` refused: %s\n", s, err.msg);
		exit(1);
	}
	return q;
}

static void bad_cpus(const char *s)
{
	uint64_t q = 77;
	memset(&err, 0, sizeof(err));
	CHECK(cgroup_limit_parse_cpus("--cpus", s, &q, &err) == -EINVAL);
	CHECK(q == 77 && strstr(err.msg, "--cpus") && strstr(err.msg, s));
}

static void bad_pids(const char *s)
{
	uint64_t v = 77;
	memset(&err, 0, sizeof(err));
	CHECK(cgroup_limit_parse_pids("--pids-limit", s, &v, &err) == -EINVAL);
	CHECK(v == 77 && strstr(err.msg, "--pids-limit") && strstr(err.msg, s));
}

int main(void)
{
	/* sizes: a plain number is MiB, as in the original diyc */
	CHECK(memory("32") == 32ULL << 20);
	CHECK(memory("32m") == 32ULL << 20);
	CHECK(memory("32M") == 32ULL << 20);
	CHECK(memory("32mb") == 32ULL << 20);
	CHECK(memory("32MiB") == 32ULL << 20);
	CHECK(memory("65536k") == 64ULL << 20);
	CHECK(memory("6291456b") == 6ULL << 20);
	CHECK(memory("1g") == 1ULL << 30);
	bad_memory("0", "positive");
	bad_memory("-5", "positive");
	bad_memory("12q", "512m");
	bad_memory("", "512m");
	bad_memory("m", "512m");
	bad_memory("1.5g", "512m");
	bad_memory("1m", "6m");
	bad_memory("6291455b", "6m");
	bad_memory("99999999g", "more than this machine has");
	bad_memory("99999999999999999999999g", "too large");

	/* --memory-swap: -1 or a size */
	int64_t swap = 0;
	CHECK(cgroup_limit_parse_memory_swap("--memory-swap", "-1", &swap, &err) == 0 && swap == -1);
	CHECK(cgroup_limit_parse_memory_swap("--memory-swap", "64m", &swap, &err) == 0 && swap == 64 << 20);
	CHECK(cgroup_limit_parse_memory_swap("--memory-swap", "-2", &swap, &err) == -EINVAL && strstr(err.msg, "--memory-swap"));

	/* --cpus: a quota per 100 ms period */
	CHECK(cpus("0.5") == 50000);
	CHECK(cpus("1") == 100000);
	CHECK(cpus("0.01") == 1000);
	CHECK(cpus("1.25") == 125000);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char most[32], over[32];
	snprintf(most, sizeof(most), "%ld", ncpu);
	snprintf(over, sizeof(over), "%ld.5", ncpu);
	CHECK(cpus(most) == (uint64_t)ncpu * 100000);
	bad_cpus(over);
	bad_cpus("0");
	bad_cpus("0.001");
	bad_cpus("-1");
	bad_cpus("abc");
	bad_cpus("1.");
	bad_cpus(".5");
	bad_cpus("1e3");
	bad_cpus("1000");
	bad_cpus("");

	uint64_t pids = 0;
	CHECK(cgroup_limit_parse_pids("--pids-limit", "20", &pids, &err) == 0 && pids == 20);
	CHECK(cgroup_limit_parse_pids("--pids-limit", "4194304", &pids, &err) == 0);
	bad_pids("0");
	bad_pids("-1");
	bad_pids("x");
	bad_pids("4194305");
	bad_pids("");

	enum cgroup_manager m;
	CHECK(cgroup_limit_parse_manager("--cgroup-manager", "systemd", &m, &err) == 0 && m == CGROUP_MANAGER_SYSTEMD);
	CHECK(cgroup_limit_parse_manager("--cgroup-manager", "cgroupfs", &m, &err) == 0 && m == CGROUP_MANAGER_CGROUPFS);
	CHECK(cgroup_limit_parse_manager("--cgroup-manager", "none", &m, &err) == 0 && m == CGROUP_MANAGER_NONE);
	CHECK(cgroup_limit_parse_manager("--cgroup-manager", "foo", &m, &err) == -EINVAL && strstr(err.msg, "foo"));

	/* the caller's name for the setting is the one in the message */
	uint64_t v = 0;
	CHECK(cgroup_limit_parse_pids("pids", "0", &v, &err) == -EINVAL && !strncmp(err.msg, "invalid pids `0`", 16));
	CHECK(cgroup_limit_parse_manager("manager", "x", &m, &err) == -EINVAL && !strncmp(err.msg, "invalid manager", 15));
	CHECK(cgroup_limit_parse_memory_swap("--memory-swap", "-2", &swap, &err) == -EINVAL &&
	      strstr(err.msg, "--memory-swap"));

	/* combinations, with the command line's names */
	static const struct cgroup_labels flags = {
		.memory = "--memory", .memory_swap = "--memory-swap", .pids = "--pids-limit", .cpus = "--cpus",
		.manager = "--cgroup-manager",
	};
	struct cgroup_limits l = { .labels = &flags };
	CHECK(!cgroup_wanted(&l));
	CHECK(cgroup_limits_check(&l, &err) == 0);
	l.memory_swap = 64 << 20;
	CHECK(cgroup_limits_check(&l, &err) == -EINVAL && strstr(err.msg, "needs --memory"));
	l.memory = 128 << 20;
	CHECK(cgroup_limits_check(&l, &err) == -EINVAL && strstr(err.msg, "at least --memory"));
	l.memory_swap = -1;
	CHECK(cgroup_limits_check(&l, &err) == 0);
	CHECK(cgroup_wanted(&l));
	CHECK_STR(cgroup_first_label(&l), "--memory");
	l.manager = CGROUP_MANAGER_NONE;
	CHECK(cgroup_limits_check(&l, &err) == -EINVAL);
	CHECK_STR(err.msg, "--memory needs a cgroup: --cgroup-manager none cannot hold limits");
	CHECK(!cgroup_wanted(&l));
	struct cgroup_limits only_manager = { .manager = CGROUP_MANAGER_SYSTEMD };
	CHECK(cgroup_wanted(&only_manager));
	struct cgroup_limits only_cpu = { .cpu_quota = 50000, .labels = &flags };
	CHECK_STR(cgroup_first_label(&only_cpu), "--cpus");
	/* without labels: the settings' own names */
	CHECK_STR(cgroup_first_label(&(struct cgroup_limits){ .pids = 3 }), "pids");
	/* other names */
	static const struct cgroup_labels words = {
		.memory = "memory", .memory_swap = "swap", .pids = "pids", .cpus = "cpus", .manager = "manager",
	};
	struct cgroup_limits w = { .memory_swap = 64 << 20, .labels = &words };
	CHECK(cgroup_limits_check(&w, &err) == -EINVAL);
	CHECK_STR(err.msg, "swap needs memory: it is the limit of memory and swap together");
	w = (struct cgroup_limits){ .pids = 5, .manager = CGROUP_MANAGER_NONE, .labels = &words };
	CHECK(cgroup_limits_check(&w, &err) == -EINVAL);
	CHECK_STR(err.msg, "pids needs a cgroup: manager none cannot hold limits");

	/* the limits survive config.json */
	char *cmd[] = { "true", NULL }, *none[] = { NULL };
	struct container_config c = {
		.name = "x", .image = "busybox", .image_id = "abc", .command = cmd, .entrypoint_len = 0, .env = none,
		.hostname = "x", .limits = { .memory = 32 << 20, .memory_swap = -1, .pids = 20, .cpu_quota = 50000,
					     .manager = CGROUP_MANAGER_CGROUPFS },
	};
	char *json = config_to_json(&c);
	CHECK(json != NULL);
	struct container_config back;
	CHECK(config_from_json(json, &back, &err) == 0);
	CHECK(back.limits.memory == 32 << 20 && back.limits.memory_swap == -1 && back.limits.pids == 20 &&
	      back.limits.cpu_quota == 50000 && back.limits.manager == CGROUP_MANAGER_CGROUPFS);
	config_free(&back);
	free(json);
	/* no limits: no "resources", read back as none */
	c.limits = (struct cgroup_limits){ 0 };
	json = config_to_json(&c);
	CHECK(json && !strstr(json, "resources"));
	CHECK(config_from_json(json, &back, &err) == 0 && !cgroup_wanted(&back.limits));
	config_free(&back);
	free(json);
	/* a damaged value is refused */
	CHECK(config_from_json("{\"name\":\"x\",\"image\":\"b\",\"image_id\":\"a\",\"command\":[\"t\"],\"env\":[],"
			       "\"hostname\":\"x\",\"network\":\"none\",\"resources\":{\"memory\":-4}}", &back, &err) < 0);
	CHECK(config_from_json("{\"name\":\"x\",\"image\":\"b\",\"image_id\":\"a\",\"command\":[\"t\"],\"env\":[],"
			       "\"hostname\":\"x\",\"network\":\"none\",\"resources\":{\"cgroup_manager\":\"zz\"}}", &back,
			       &err) < 0);
	return CHECKS_DONE();
}
