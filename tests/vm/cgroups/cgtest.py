# SPDX-License-Identifier: MIT
"""Helpers of the cgroup tests that run inside the VM guest: tests/integration/diyctest.py
(which tests/vm/run puts on the guest's PYTHONPATH) bound to the caller's default store
with the guest's longer timeout, and what only these tests need: systemd's units, the
cgroup tree, and diyc's processes. The same code serves uid 1000 (a lingering user with
its own systemd user manager) and root (the system manager)."""

import functools
import os
import sys
from pathlib import Path

try:
    import diyctest as dt
except ImportError:  # run from the repository rather than in the guest
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration"))
    import diyctest as dt
# what the tests use of diyctest as it is
from diyctest import (Background, assert_error, assert_ok, children_of, describe, diyc_bin,  # noqa: F401
                      json_out, leftover_children, proc_cmdline, proc_comm, proc_ppid, proc_state, processes_with,
                      run, sleepers, token, tools_dir, unique_name, wait_until)

TIMEOUT = 60  # seconds for any one diyc call: the guest is slow (software emulation)
dt.TIMEOUT = TIMEOUT  # the default of diyctest's run(), Background and Store.diyc()
GONE_TIMEOUT = 15  # seconds for systemd to stop and collect an empty scope
CGROOT = Path("/sys/fs/cgroup")
UID = os.geteuid()
ROOT = UID == 0
# where the scopes of the caller's systemd manager are
MANAGER_CGROUP = "/system.slice" if ROOT else f"/user.slice/user-{UID}.slice/user@{UID}.service"
SCOPE_RE = r"diyc-{name}-[0-9a-f]{{8}}\.scope"
MIB = 1 << 20

# the caller's default store (the XDG variables tests/vm/in-guest sets)
STORE = dt.Store.default()
diyc = STORE.diyc
inspect = functools.partial(dt.inspect, STORE)
ps_all = functools.partial(dt.ps_all, STORE)
run_detached = functools.partial(dt.run_detached, STORE)


def container_names():
    res = assert_ok(diyc("ps", "-a", "-q"))
    return set(res.stdout.split())


# -- systemd -----------------------------------------------------------------------------------

def systemctl(*args, timeout=TIMEOUT):
    return run(["systemctl", *([] if ROOT else ["--user"]), *args], timeout=timeout)


def units(*patterns):
    """Units of the caller's manager matching PATTERNS (default diyc-*), in any state."""
    res = systemctl("list-units", "--all", "--no-legend", "--plain", "--full", *(patterns or ("diyc-*",)))
    assert res.returncode == 0, describe(res)
    out = []
    for line in res.stdout.splitlines():
        words = [w for w in line.split() if w not in ("●", "*", "×")]
        if words:
            out.append(words[0])
    return sorted(out)


def unit_active(unit):
    return systemctl("is-active", unit).stdout.strip()


# -- cgroups and processes ---------------------------------------------------------------------

def cgdir(rel):
    """The directory of cgroup REL (a path as /proc/PID/cgroup shows it from the host)."""
    assert rel.startswith("/"), f"not a cgroup path: {rel!r}"
    return CGROOT / rel.lstrip("/")


def read_cg(rel, file):
    return (cgdir(rel) / file).read_text().strip()


def proc_cgroup(pid):
    """The cgroup v2 path of PID, as the test (in the guest's root cgroup namespace) sees it."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    raise AssertionError(f"no cgroup v2 line in /proc/{pid}/cgroup")


def own_cgroup():
    return proc_cgroup("self")


def cgroup_dirs_named(prefix="diyc-"):
    """Every directory of the cgroup tree whose name starts with PREFIX."""
    found = set()
    for dirpath, dirnames, _ in os.walk(CGROOT, onerror=lambda e: None):
        for d in dirnames:
            if d.startswith(prefix):
                found.add(os.path.join(dirpath, d))
    return found


def cgroupfs_root_children():
    try:
        return sorted(os.listdir(CGROOT / "diyc"))
    except FileNotFoundError:
        return []


def diyc_processes():
    """Live processes of diyc: the CLI, its monitors and the containers' init."""
    progs = ("diyc", "diyc-monitor", "diyc-init")
    return {pid for pid, args in dt.cmdlines()
            if (proc_comm(pid) in progs or os.path.basename(args[0]) in progs) and dt.pid_alive(pid)}
