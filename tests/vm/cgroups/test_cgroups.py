# SPDX-License-Identifier: MIT
# Resource limits (issue 5), inside the VM guest: -m/--memory-swap/--pids-limit/--cpus are
# written to the container's cgroup and hold (an OOM kill, a fork bomb stopped), the
# container sees its own cgroup2 at /sys/fs/cgroup (limits out of its reach; cgroups below it its own to make with nsdelegate) and `0::/`, the transient
# systemd scope diyc-NAME-XXXXXXXX.scope exists while the container runs and is gone after
# it ends however it ends (exit, rm -f, kill -9 of diyc or of its monitor), exec joins the
# cgroup, stats reads it, start applies the limits again, and --cgroup-manager cgroupfs
# works for root and inside a delegated scope. The same file runs as uid 1000 (scopes of
# the user manager) and as root (scopes of the system manager).
import os
import re
import secrets
import signal
import subprocess

import pytest

import cgtest as ct

M32 = str(32 * ct.MIB)


def running_scope(name):
    """(container cgroup, scope cgroup, unit) of the running container NAME, checked from
    outside: the unit is active in the caller's manager, the cgroup exists below the scope
    and holds the container's PID 1."""
    state = ct.inspect(name)["State"]
    cg, unit = state["Cgroup"], state["CgroupScope"]
    assert re.fullmatch(ct.SCOPE_RE.format(name=re.escape(name)), unit), \
        f"State.CgroupScope should be diyc-{name}-XXXXXXXX.scope: {state!r}"
    assert cg.startswith(ct.MANAGER_CGROUP + "/") and cg.endswith(f"/{unit}/container"), \
        f"State.Cgroup should be {ct.MANAGER_CGROUP}/.../{unit}/container: {state!r}"
    scope = cg[:-len("/container")]
    assert ct.unit_active(unit) == "active", f"{unit} is not active: {ct.systemctl('status', unit).stdout}"
    assert ct.units(unit) == [unit], f"list-units does not show {unit}: {ct.units(unit)}"
    assert ct.cgdir(cg).is_dir(), f"{ct.cgdir(cg)} does not exist"
    assert ct.proc_cgroup(state["Pid"]) == cg, f"the container's PID 1 {state['Pid']} is not in {cg}"
    return cg, scope, unit


def assert_scope_gone(unit, scope):
    """UNIT is no longer known to the caller's manager (in any state) and its cgroup tree is
    gone, within the time systemd takes to stop and collect an empty scope."""
    ct.wait_until(lambda: unit not in ct.units(unit) and not ct.cgdir(scope).exists(), ct.GONE_TIMEOUT,
                  0.2, f"{unit} and {ct.cgdir(scope)} to go (units: {ct.units(unit)}, "
                       f"cgroup exists: {ct.cgdir(scope).exists()})")


def processes_gone(tok, what):
    ct.wait_until(lambda: not ct.processes_with(tok), 10, 0.1, what)


# -- memory --------------------------------------------------------------------------------------

def test_memory_limit_oom_kill(name):
    # busybox dd allocates its block (100 MiB) and read() from /dev/zero fills every page of it
    res = ct.diyc("run", "--name", name, "-m", "32m", "busybox",
                  "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
    assert res.returncode == 137, "a 100 MiB block in a 32 MiB container should be OOM-killed\n" + ct.describe(res)
    state = ct.inspect(name)["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137, state
    entry = ct.ps_all()[name]
    assert entry["OOMKilled"] is True and entry["Status"] == "exited (137, OOM-killed)", entry
    table = ct.assert_ok(ct.diyc("ps", "-a"))
    rows = [line for line in table.stdout.splitlines() if line.split()[:1] == [name]]
    assert len(rows) == 1 and "exited (137, OOM-killed)" in rows[0], ct.describe(table)
    ct.assert_ok(ct.diyc("rm", name))


def test_memory_within_limit(name):
    res = ct.assert_ok(ct.diyc("run", "--name", name, "-m", "32m", "busybox", "sh", "-c",
                               "cat /sys/fs/cgroup/memory.max; dd if=/dev/zero of=/dev/null bs=8M count=1 && echo done"))
    assert res.stdout == f"{M32}\ndone\n", ct.describe(res)
    state = ct.inspect(name)["State"]
    assert state["OOMKilled"] is False and state["ExitCode"] == 0, state
    entry = ct.ps_all()[name]
    assert entry["OOMKilled"] is False and entry["Status"] == "exited (0)", entry
    ct.assert_ok(ct.diyc("rm", name))


@pytest.mark.parametrize("flags,swap_max", [
    (["-m", "32m"], M32),  # docker's default: as much swap as memory
    (["-m", "32m", "--memory-swap", "64m"], M32),
    (["-m", "32m", "--memory-swap", "-1"], "max"),
], ids=["default", "64m", "-1"])
def test_memory_swap(flags, swap_max):
    res = ct.assert_ok(ct.diyc("run", "--rm", *flags, "busybox", "cat",
                               "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.swap.max"))
    assert res.stdout.split() == [M32, swap_max], ct.describe(res)


# -- pids and cpu --------------------------------------------------------------------------------

FORK_LOOP = (
    "read max < /sys/fs/cgroup/pids.max; echo max=$max; : > /tmp/forks; "
    # a failed fork ends the subshell (ash raises an error); the sleeps it started stay
    "(i=0; while [ $i -lt 40 ]; do sleep 60 & echo ok >> /tmp/forks; i=$((i+1)); done) 2>/dev/null; "
    # only builtins from here on: no free pid is needed
    "n=0; while read l; do n=$((n+1)); done < /tmp/forks; echo forks=$n; "
    "read cur < /sys/fs/cgroup/pids.current; echo current=$cur; "
    "while read k v; do [ $k = max ] && echo events=$v; done < /sys/fs/cgroup/pids.events; true"
)


def test_pids_limit_stops_fork_loop():
    res = ct.assert_ok(ct.diyc("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c", FORK_LOOP))
    vals = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    assert vals.get("max") == "20", ct.describe(res)
    forks = int(vals["forks"])
    assert 10 <= forks <= 20, f"{forks} of 40 forks succeeded under pids.max 20\n" + ct.describe(res)
    assert int(vals["current"]) <= 20, ct.describe(res)
    assert int(vals.get("events", "0")) > 0, "pids.events counts no refused fork\n" + ct.describe(res)


def test_cpus():
    res = ct.assert_ok(ct.diyc("run", "--rm", "--cpus", "0.5", "busybox", "cat", "/sys/fs/cgroup/cpu.max"))
    assert res.stdout == "50000 100000\n", ct.describe(res)


# -- the view from inside ------------------------------------------------------------------------

def host_nsdelegate():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if left.split()[4] == "/sys/fs/cgroup" and right.split()[0] == "cgroup2":
                return "nsdelegate" in right.split()[2].split(",")
    return False


def test_own_cgroup_namespace_limits_out_of_reach():
    """The container is at the root of its own cgroup namespace and sees its limits; it
    cannot raise them: read-only without nsdelegate, and with it (systemd mounts cgroup2
    so) the kernel refuses writes to the namespace root's limits (CVE-2023-25809 gave a
    rootless container the host's cgroup tree, writable)."""
    script = ("cat /proc/self/cgroup; grep ' /sys/fs/cgroup ' /proc/self/mounts; "
              "echo 1073741824 > /sys/fs/cgroup/memory.max && echo wrote; cat /sys/fs/cgroup/memory.max; "
              "ls /sys/fs/cgroup | grep -c -e '^user.slice$' -e '^system.slice$' -e '^init.scope$'; true")
    res = ct.assert_ok(ct.diyc("run", "--rm", "-m", "32m", "busybox", "sh", "-c", script))
    lines = res.stdout.splitlines()
    assert lines[0] == "0::/", "the container should be at the root of its cgroup namespace\n" + ct.describe(res)
    mount = lines[1].split()
    delegated = host_nsdelegate()
    assert mount[2] == "cgroup2" and ("rw" if delegated else "ro") in mount[3].split(","), \
        f"/sys/fs/cgroup should be cgroup2, {'writable (nsdelegate)' if delegated else 'read-only'}\n" + ct.describe(res)
    assert "wrote" not in lines and lines[-2] == M32, "the container raised its own limit\n" + ct.describe(res)
    assert lines[-1] == "0", "the host's cgroups are visible in the container\n" + ct.describe(res)


def test_delegated_cgroup_below_its_own(name):
    """With nsdelegate the container may make cgroups below its own and move its processes
    there (as systemd in a container does); the limit still holds for them, and every
    cgroup it made goes with the container."""
    if not host_nsdelegate():
        pytest.skip("the host's cgroup2 has no nsdelegate: the container's view is read-only")
    # busybox dd allocates its block (100 MiB) and fills it: beyond the container's 32 MiB
    script = ("mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs && cat /proc/self/cgroup && "
              "dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null; echo dd=$?")
    res = ct.assert_ok(ct.diyc("run", "--name", name, "-m", "32m", "busybox", "sh", "-c", script))
    assert res.stdout.splitlines() == ["0::/sub", "dd=137"], \
        "the shell should be in the cgroup it made, and 100 MiB there should meet the 32 MiB limit\n" + ct.describe(res)
    state = ct.inspect(name)["State"]
    assert state["OOMKilled"] is True, state
    ct.assert_ok(ct.diyc("rm", name))


# -- the scope: there while the container runs, gone after ---------------------------------------

def test_scope_while_running_and_gone_after_exit(name):
    argv = [ct.diyc_bin(), "run", "-i", "--name", name, "-m", "32m", "busybox", "sh", "-c",
            "echo ready; read x; echo bye"]
    with ct.Background(argv, stdin=subprocess.PIPE) as p:
        p.read_until("ready\n")
        cg, scope, unit = running_scope(name)
        assert ct.read_cg(cg, "memory.max") == M32
        assert ct.proc_cgroup(p.pid) == scope + "/supervisor", \
            f"`diyc run` ({p.pid}) should wait in {scope}/supervisor, it is in {ct.proc_cgroup(p.pid)}"
        p.p.stdin.write(b"go\n")
        p.p.stdin.flush()
        res = p.finish()
    ct.assert_ok(res)
    assert res.stdout == "ready\nbye\n", ct.describe(res)
    assert_scope_gone(unit, scope)
    ct.assert_ok(ct.diyc("rm", name))


def run_detached_in_scope(name):
    """`diyc run -d -m 32m busybox sleep TOKEN` as NAME; returns (TOKEN, scope cgroup, unit,
    monitor pid) once the scope is checked and the container's monitor found waiting in its
    supervisor cgroup."""
    tok = ct.token()
    ct.run_detached(name, "-m", "32m", "busybox", "sleep", tok)
    cg, scope, unit = running_scope(name)
    monitor = ct.proc_ppid(ct.inspect(name)["State"]["Pid"])
    assert ct.proc_comm(monitor) == "diyc-monitor", f"{monitor}: {ct.proc_cmdline(monitor)}"
    assert ct.proc_cgroup(monitor) == scope + "/supervisor", \
        f"the monitor should wait in {scope}/supervisor, it is in {ct.proc_cgroup(monitor)}"
    return tok, scope, unit, monitor


def test_scope_gone_after_rm_f(name):
    tok, scope, unit, _ = run_detached_in_scope(name)
    ct.assert_ok(ct.diyc("rm", "-f", name))
    processes_gone(tok, "the container's processes to end after rm -f")
    assert_scope_gone(unit, scope)


def test_scope_gone_after_kill_of_foreground_diyc(name):
    tok = ct.token()
    argv = [ct.diyc_bin(), "run", "--name", name, "-m", "32m", "busybox", "sh", "-c", f"echo ready; exec sleep {tok}"]
    with ct.Background(argv) as p:
        p.read_until("ready\n")
        cg, scope, unit = running_scope(name)
        os.kill(p.pid, signal.SIGKILL)
        p.p.wait(timeout=10)
    processes_gone(tok, "the container's processes to end after `diyc run` was killed")
    assert_scope_gone(unit, scope)
    assert ct.ps_all()[name]["State"] == "exited"
    ct.assert_ok(ct.diyc("rm", name))


def test_scope_gone_after_kill_of_monitor(name):
    tok, scope, unit, monitor = run_detached_in_scope(name)
    os.kill(monitor, signal.SIGKILL)
    processes_gone(tok, "the container's processes to end after its monitor was killed")
    assert_scope_gone(unit, scope)
    ct.wait_until(lambda: ct.ps_all()[name]["State"] == "exited", 10, 0.2, f"ps to say {name} exited")
    ct.assert_ok(ct.diyc("rm", name))


# -- exec, stats, start --------------------------------------------------------------------------

def test_exec_joins_container_cgroup(name):
    tok = ct.token()
    ct.run_detached(name, "-m", "32m", "--pids-limit", "30", "busybox", "sleep", tok)
    cg, scope, unit = running_scope(name)
    res = ct.assert_ok(ct.diyc("exec", name, "sh", "-c",
                               "cat /proc/self/cgroup; echo $$; cat /sys/fs/cgroup/cgroup.procs"))
    lines = res.stdout.splitlines()
    assert lines[0] == "0::/", ct.describe(res)
    assert lines[1] in lines[2:], "the exec'd shell is not in the container's cgroup.procs\n" + ct.describe(res)
    # from outside: a process started by exec is in the container's cgroup
    tok2 = ct.token()
    ct.assert_ok(ct.diyc("exec", name, "sh", "-c", f"sleep {tok2} </dev/null >/dev/null 2>&1 &"))
    pid = ct.wait_until(lambda: ct.sleepers(tok2), 10, 0.1, "the exec'd sleep")[0]
    assert ct.proc_cgroup(pid) == cg, f"exec'd process {pid} is in {ct.proc_cgroup(pid)}, not {cg}"
    assert str(pid) in ct.read_cg(cg, "cgroup.procs").split()
    ct.assert_ok(ct.diyc("rm", "-f", name))
    processes_gone(tok, "the container's processes to end")
    assert_scope_gone(unit, scope)


def test_inspect_and_stats_of_limited_container(name):
    tok = ct.token()
    ct.run_detached(name, "-m", "32m", "--pids-limit", "50", "--cpus", "0.5", "busybox", "sleep", tok)
    cg, scope, unit = running_scope(name)
    hc = ct.inspect(name)["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["PidsLimit"], hc["NanoCpus"]) == \
        (32 * ct.MIB, 0, 50, 500000000), hc
    # the manager asked for (none given: chosen at each start), not a resolved one
    assert hc["CgroupManager"] in ("auto", "systemd"), hc
    data = ct.json_out(ct.diyc("stats", "--no-stream", "--format", "json", name))
    assert isinstance(data, list) and len(data) == 1, data
    e = data[0]
    assert e["Name"] == name, e
    assert e["MemLimit"] == 32 * ct.MIB and e["PIDsLimit"] == 50, e
    assert isinstance(e["MemUsage"], int) and e["MemUsage"] > 0, e
    assert isinstance(e["PIDs"], int) and e["PIDs"] >= 1, e
    assert e["PIDs"] == int(ct.read_cg(cg, "pids.current")), f"{e} vs pids.current of {cg}"
    assert isinstance(e["CPUPerc"], (int, float)) and e["CPUPerc"] >= 0, e
    assert isinstance(e["CPUUsageUsec"], int) and e["CPUUsageUsec"] >= 0, e
    every = ct.json_out(ct.diyc("stats", "--no-stream", "--format", "json"))
    assert name in [x["Name"] for x in every], "stats without a name should list every running container"
    table = ct.assert_ok(ct.diyc("stats", "--no-stream", name))
    lines = table.stdout.splitlines()
    assert lines and lines[0].split()[0] == "NAME" and "PIDS" in lines[0], ct.describe(table)
    assert [line for line in lines[1:] if line.split()[:1] == [name]], ct.describe(table)
    ct.assert_ok(ct.diyc("rm", "-f", name))
    assert_scope_gone(unit, scope)


def test_start_applies_limits_again(name):
    cmd = ["busybox", "cat", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max"]
    res = ct.assert_ok(ct.diyc("run", "--name", name, "-m", "32m", "--pids-limit", "30", *cmd))
    assert res.stdout.split() == [M32, "30"], ct.describe(res)
    hc = ct.inspect(name)["HostConfig"]
    assert (hc["Memory"], hc["PidsLimit"]) == (32 * ct.MIB, 30), hc
    res = ct.assert_ok(ct.diyc("start", "-a", name))
    assert res.stdout.split() == [M32, "30"], "start did not apply the limits again\n" + ct.describe(res)
    ct.assert_ok(ct.diyc("rm", name))


# -- the cgroupfs manager ------------------------------------------------------------------------

def test_cgroupfs_manager(name):
    tok = ct.token()
    flags = ["--cgroup-manager", "cgroupfs", "-m", "32m", "--pids-limit", "25"]
    if not ct.ROOT:
        own = ct.own_cgroup()
        if os.access(ct.cgdir(own), os.W_OK):
            pytest.skip(f"this test's own cgroup {own} is writable by uid {ct.UID} (delegated): "
                        "the machine gives no undelegated cgroup to check the refusal from")
        res = ct.diyc("run", "--rm", "--name", name, *flags, "busybox", "sleep", tok)
        ct.assert_error(res, "cgroup", ("delegat", "writ", "permission"))
        assert name not in ct.container_names() and not ct.processes_with(tok), ct.describe(res)
        assert not ct.cgroup_dirs_named(f"diyc-{name}"), ct.cgroup_dirs_named(f"diyc-{name}")
        return
    ct.run_detached(name, *flags, "busybox", "sleep", tok)
    state = ct.inspect(name)["State"]
    cg = state["Cgroup"]
    assert cg == f"/diyc/{name}" and state["CgroupScope"] == "", state
    assert ct.proc_cgroup(state["Pid"]) == cg
    assert ct.read_cg(cg, "memory.max") == M32 and ct.read_cg(cg, "pids.max") == "25"
    assert not ct.units(f"diyc-{name}-*"), "cgroupfs made a systemd unit"
    assert ct.inspect(name)["HostConfig"]["CgroupManager"] == "cgroupfs"
    res = ct.assert_ok(ct.diyc("exec", name, "cat", "/proc/self/cgroup", "/sys/fs/cgroup/memory.max"))
    assert res.stdout.split() == ["0::/", M32], ct.describe(res)
    ct.assert_ok(ct.diyc("stop", "-t", "1", name))
    ct.wait_until(lambda: not ct.cgdir(cg).exists(), 10, 0.1, f"{ct.cgdir(cg)} to be removed")
    ct.assert_ok(ct.diyc("rm", name))


def run_in_delegated_scope(name, script):
    """`diyc run -d --cgroup-manager cgroupfs -m 32m ... sh -c SCRIPT` started inside a scope
    with Delegate=yes made by systemd-run (the monitor stays there); returns (unit, scope
    cgroup, container cgroup) once the placement is checked: root's cgroupfs cgroup is
    /diyc/NAME, a user's is a child diyc-NAME of the delegated scope."""
    unit = f"cgtest-{secrets.token_hex(4)}.scope"
    argv = ["systemd-run", *([] if ct.ROOT else ["--user"]), "--scope", "--quiet", f"--unit={unit}",
            "-p", "Delegate=yes", "--", "sh", "-c", 'cat /proc/self/cgroup >&2; exec "$0" "$@"',
            ct.diyc_bin(), "run", "-d", "--name", name, "--cgroup-manager", "cgroupfs", "-m", "32m",
            "busybox", "sh", "-c", script]
    res = ct.assert_ok(ct.run(argv))
    assert res.stdout == f"{name}\n", ct.describe(res)
    scope = [line[3:] for line in res.stderr.splitlines() if line.startswith("0::")][0]
    assert scope.endswith("/" + unit), ct.describe(res)
    state = ct.inspect(name)["State"]
    cg = state["Cgroup"]
    if ct.ROOT:
        assert cg == f"/diyc/{name}", f"root with cgroupfs uses /sys/fs/cgroup/diyc/NAME: {state!r}"
    else:
        assert cg.startswith(scope + "/") and f"diyc-{name}" in cg[len(scope):].split("/"), \
            f"the container's cgroup should be a child diyc-{name} of the delegated {scope}: {state!r}"
    # a user's delegated cgroup is recorded with the unit that delegated it (exec asks it
    # to move processes); root's /diyc/NAME belongs to no unit
    assert state["CgroupScope"] == ("" if ct.ROOT else unit), state
    assert ct.proc_cgroup(state["Pid"]) == cg
    assert ct.read_cg(cg, "memory.max") == M32
    return unit, scope, cg


def remove_delegated(name, tok, unit, scope, cg):
    ct.assert_ok(ct.diyc("rm", "-f", name))
    processes_gone(tok, "the container's processes to end")
    ct.wait_until(lambda: not ct.cgdir(cg).exists(), 10, 0.1, f"{ct.cgdir(cg)} to be removed")
    assert_scope_gone(unit, scope)


def test_cgroupfs_in_delegated_scope(name):
    tok = ct.token()
    unit, scope, cg = run_in_delegated_scope(
        name, f"cat /proc/self/cgroup /sys/fs/cgroup/memory.max; exec sleep {tok}")
    ct.wait_until(lambda: len(ct.diyc("logs", name).stdout.split()) >= 2, 10, 0.2, "the container's output in its log")
    res = ct.assert_ok(ct.diyc("logs", name))
    assert res.stdout.split() == ["0::/", M32], "what the container saw of its cgroup\n" + ct.describe(res)
    remove_delegated(name, tok, unit, scope, cg)


def test_exec_into_delegated_cgroup(name):
    # the exec runs outside the delegated scope (in the test's own cgroup)
    tok = ct.token()
    unit, scope, cg = run_in_delegated_scope(name, f"exec sleep {tok}")
    res = ct.assert_ok(ct.diyc("exec", name, "cat", "/proc/self/cgroup", "/sys/fs/cgroup/memory.max"))
    assert res.stdout.split() == ["0::/", M32], ct.describe(res)
    tok2 = ct.token()
    ct.assert_ok(ct.diyc("exec", name, "sh", "-c", f"sleep {tok2} </dev/null >/dev/null 2>&1 &"))
    pid = ct.wait_until(lambda: ct.sleepers(tok2), 10, 0.1, "the exec'd sleep")[0]
    assert ct.proc_cgroup(pid) == cg, f"exec'd process {pid} is in {ct.proc_cgroup(pid)}, not {cg}"
    remove_delegated(name, tok, unit, scope, cg)


# -- no limits -----------------------------------------------------------------------------------

def test_no_limits_no_cgroup(name):
    res = ct.assert_ok(ct.diyc("run", "--rm", "busybox", "echo", "ok"))
    assert res.stdout == "ok\n", ct.describe(res)
    tok = ct.token()
    ct.run_detached(name, "busybox", "sleep", tok)
    info = ct.inspect(name)
    state, hc = info["State"], info["HostConfig"]
    assert state["Cgroup"] == "" and state["CgroupScope"] == "", state
    assert (hc["Memory"], hc["PidsLimit"], hc["NanoCpus"]) == (0, 0, 0), hc
    assert not ct.units(f"diyc-{name}-*"), "a container without limits got a scope"
    assert ct.proc_cgroup(state["Pid"]) == ct.own_cgroup(), \
        "a container without limits should stay in its caller's cgroup"
    e = ct.json_out(ct.diyc("stats", "--no-stream", "--format", "json", name))[0]
    assert e["Name"] == name and e["MemLimit"] is None and e["PIDsLimit"] is None, e
    ct.assert_ok(ct.diyc("rm", "-f", name))
