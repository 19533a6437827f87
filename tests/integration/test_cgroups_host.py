# SPDX-License-Identifier: MIT
# Resource limits (issue 5) on a host where they cannot apply: cgroup v1 or a hybrid layout
# (cgroup2 only at /sys/fs/cgroup/unified), as on the development host. A limit is refused
# with exit 125 and a message that names cgroup v2 and the flag, before anything is
# created; a run without limits works as before; bad values are refused everywhere (so
# here too), naming the flag and the value; `diyc stats` and `run --help`. The limits
# themselves are tested in the VM guest (tests/vm/cgroups/).
import os
import re
import subprocess

import pytest

import diyctest as dt


def cgroup_fstype():
    return subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True,
                          text=True).stdout.strip()


needs_no_v2 = pytest.mark.skipif(
    cgroup_fstype() == "cgroup2fs",
    reason="/sys/fs/cgroup is cgroup2 here: limits may apply, so the refusal of a cgroup v1 or "
           "hybrid host is not what this machine should do")


def diyc_cgroups():
    """Directories named diyc* anywhere under /sys/fs/cgroup (v1 hierarchies and the cgroup2
    one at /sys/fs/cgroup/unified)."""
    found = set()
    for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup", onerror=lambda e: None):
        found.update(os.path.join(dirpath, d) for d in dirnames if d.startswith("diyc"))
    return found


def snapshot(store):
    return store.snapshot(), dt.ps_all(store).keys(), diyc_cgroups(), dt.token()


def assert_nothing_started(store, before, ps_before, cgroups_before, name, tok, res):
    assert store.snapshot() == before, "the refused run changed the store\n" + dt.describe(res)
    assert dt.ps_all(store).keys() == ps_before, "the refused run added a container\n" + dt.describe(res)
    assert dt.ps_entry(store, name) is None
    assert not dt.processes_with(tok), "the refused run started the command"
    assert diyc_cgroups() == cgroups_before, "the refused run made a cgroup\n" + dt.describe(res)


# -- limits refused where cgroup v2 is not at /sys/fs/cgroup ------------------------------------

LIMITS = [
    (["-m", "64m"], "--memory"),
    (["--memory", "64m"], "--memory"),
    (["-m", "64m", "--memory-swap", "128m"], "--memory"),
    (["--pids-limit", "10"], "--pids-limit"),
    (["--cpus", "0.5"], "--cpus"),
    (["--cgroup-manager", "cgroupfs", "-m", "64m"], "--memory"),
]


@needs_no_v2
@pytest.mark.parametrize("detach", [[], ["-d"]], ids=["foreground", "detached"])
@pytest.mark.parametrize("flags,flag", LIMITS, ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_limit_refused_without_cgroup_v2(store, busybox, name, flags, flag, detach):
    before, ps_before, cgroups_before, tok = snapshot(store)
    res = store.diyc("run", *detach, "--name", name, *flags, "busybox", "sleep", tok)
    dt.assert_error(res, "cgroup v2", flag)
    assert_nothing_started(store, before, ps_before, cgroups_before, name, tok, res)


def test_run_without_limits_works(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "busybox", "true"))
    assert res.stdout == "" and res.stderr == "", dt.describe(res)
    res = dt.assert_ok(store.diyc("run", "--rm", "busybox", "echo", "ok"))
    assert res.stdout == "ok\n", dt.describe(res)


def test_cgroup_manager_none_without_limits_works(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "--cgroup-manager", "none", "busybox", "echo", "ok"))
    assert res.stdout == "ok\n", dt.describe(res)


def test_inspect_without_limits(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    info = dt.inspect(s, name)
    state, hc = info["State"], info["HostConfig"]
    assert state["Cgroup"] == "" and state["CgroupScope"] == "" and state["OOMKilled"] is False, state
    assert (hc["Memory"], hc["MemorySwap"], hc["PidsLimit"], hc["NanoCpus"]) == (0, 0, 0, 0), hc
    dt.assert_ok(s.diyc("stop", "-t", "1", name))
    entry = dt.ps_entry(s, name)
    assert entry["OOMKilled"] is False and entry["Status"] == "exited (143)", entry
    assert dt.inspect(s, name)["State"]["OOMKilled"] is False


# -- bad values: refused before the cgroup v2 check, so on every host ----------------------------

BAD = [
    (["-m", "0"], "--memory", "0"),
    (["-m", "-5"], "--memory", "-5"),
    (["-m", "12q"], "--memory", "12q"),
    (["--memory", "12q"], "--memory", "12q"),
    (["-m", "99999999g"], "--memory", "99999999g"),
    (["-m", "1m"], "--memory", "1m"),
    (["-m", ""], "--memory", ""),
    (["-m", "32m", "--memory-swap", "x"], "--memory-swap", "x"),
    (["--cpus", "0"], "--cpus", "0"),
    (["--cpus", "-1"], "--cpus", "-1"),
    (["--cpus", "abc"], "--cpus", "abc"),
    (["--cpus", "1000"], "--cpus", "1000"),
    (["--cpus", "0.5x"], "--cpus", "0.5x"),
    (["--pids-limit", "-1"], "--pids-limit", "-1"),
    (["--pids-limit", "0"], "--pids-limit", "0"),
    (["--pids-limit", "x"], "--pids-limit", "x"),
    (["--pids-limit", "99999999999999999999999"], "--pids-limit", "99999999999999999999999"),
    (["--cgroup-manager", "foo"], "--cgroup-manager", "foo"),
]


def refused(store, name, flags):
    """Runs `diyc run` with FLAGS, checks that nothing was started or created, returns the
    one error line."""
    before, ps_before, cgroups_before, tok = snapshot(store)
    res = store.diyc("run", "--name", name, *flags, "busybox", "sleep", tok)
    line = dt.assert_error(res)
    assert "cgroup v2" not in line.lower(), \
        "bad input must be refused as such, before the check for cgroup v2\n" + dt.describe(res)
    assert_nothing_started(store, before, ps_before, cgroups_before, name, tok, res)
    return line, res


def names_flag(line, flag):
    """LINE names FLAG itself (not only a longer flag that starts with it, as --memory-swap
    starts with --memory)."""
    return re.search(re.escape(flag) + r"(?![\w-])", line) is not None


@pytest.mark.parametrize("flags,flag,value", BAD, ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_bad_value_refused(store, busybox, name, flags, flag, value):
    line, res = refused(store, name, flags)
    assert names_flag(line, flag), f"the error should name {flag}\n" + dt.describe(res)
    assert any(q in line for q in (f"`{value}`", f"'{value}'", f'"{value}"')), \
        f"the error should quote the value `{value}`\n" + dt.describe(res)


# flags that are valid alone but not together: the error names both
BAD_TOGETHER = [
    (["-m", "32m", "--memory-swap", "10m"], ["--memory-swap", "--memory"]),
    (["--memory-swap", "64m"], ["--memory-swap", "--memory"]),
    (["--cgroup-manager", "none", "-m", "32m"], ["--cgroup-manager", "--memory"]),
    (["--cgroup-manager", "none", "--pids-limit", "5"], ["--cgroup-manager", "--pids-limit"]),
]


@pytest.mark.parametrize("flags,named", BAD_TOGETHER, ids=lambda x: " ".join(x))
def test_bad_combination_refused(store, busybox, name, flags, named):
    line, res = refused(store, name, flags)
    for flag in named:
        assert names_flag(line, flag), f"the error should name {flag}\n" + dt.describe(res)
    if "none" in flags:
        assert re.search(r"\bnone\b", line), dt.describe(res)


# -- diyc stats -----------------------------------------------------------------------------------

def test_stats_help(store):
    res = dt.assert_ok(store.diyc("stats", "--help"))
    assert "usage" in res.stdout.lower() and "--no-stream" in res.stdout and "--format" in res.stdout, \
        dt.describe(res)
    assert res.stderr == "", dt.describe(res)


def test_help_lists_stats(store):
    res = dt.assert_ok(store.diyc("--help"))
    assert "stats" in res.stdout, dt.describe(res)


@pytest.mark.parametrize("opts", [[], ["--no-stream"], ["--no-stream", "--format", "json"]],
                         ids=["stream", "--no-stream", "json"])
def test_stats_unknown_container(store, opts):
    dt.assert_error(store.diyc("stats", *opts, "nosuch-container"), "nosuch-container")


def test_stats_unknown_format(store):
    dt.assert_error(store.diyc("stats", "--no-stream", "--format", "yaml"), "yaml")


def test_stats_stopped_container(s, name):
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "true"))
    dt.assert_error(s.diyc("stats", "--no-stream", name), name, "not running")


def test_stats_without_cgroup(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    for args in ([name], []):
        data = dt.json_out(s.diyc("stats", "--no-stream", "--format", "json", *args))
        assert isinstance(data, list), data
        entries = [e for e in data if e.get("Name") == name]
        assert len(entries) == 1, f"stats {' '.join(args)}: {data!r}"
        e = entries[0]
        for key in ("CPUPerc", "CPUUsageUsec", "MemUsage", "MemLimit", "PIDs", "PIDsLimit"):
            assert key in e and e[key] is None, f"{key} of a container without a cgroup should be null: {e!r}"
    res = dt.assert_ok(s.diyc("stats", "--no-stream", name))
    lines = res.stdout.splitlines()
    assert len(lines) == 2, dt.describe(res)
    header = lines[0]
    for col in ("NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"):
        assert col in header, f"the table has no {col} column\n" + dt.describe(res)
    assert lines[1].split()[0] == name and "--" in lines[1].split(), dt.describe(res)
    dt.assert_ok(s.diyc("rm", "-f", name))
    assert not dt.sleepers(tok)


def test_run_help_lists_limit_flags(store):
    res = dt.assert_ok(store.diyc("run", "--help"))
    for opt in ("--memory", "-m,", "--memory-swap", "--pids-limit", "--cpus", "--cgroup-manager"):
        assert opt in res.stdout, f"`diyc run --help` does not mention {opt}\n" + dt.describe(res)
