# SPDX-License-Identifier: MIT
# Fixtures of the cgroup tests that run inside the VM guest (systemd PID 1, pure cgroup v2),
# once as the lingering user `tester` and once as root: the busybox image, container names
# that are force-removed after each test, and the leak check that runs after every test (no
# diyc-* unit of the caller's systemd manager, no diyc cgroup, no container, no process left).
import ctypes
import functools
import os
import signal
import time

import pytest

import cgtest as ct

PR_SET_CHILD_SUBREAPER = 36
CONTROLLERS = ("memory", "pids", "cpu")
# diyc's scopes, and the delegated scopes the tests make with systemd-run
UNIT_PATTERNS = ("diyc-*", "cgtest-*")


def pytest_configure(config):
    # an orphan of diyc (a container that outlived its diyc) is reparented to pytest, so
    # the leak check finds it among its children
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for sig in (signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM):
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)


def _controllers(rel):
    try:
        return set(ct.read_cg(rel, "cgroup.controllers").split())
    except OSError:
        return set()


@functools.lru_cache(maxsize=None)
def _missing():
    """What this machine lacks for these tests, or None."""
    if not os.access(ct.diyc_bin(), os.X_OK):
        return f"no diyc binary at {ct.diyc_bin()}: set DIYC"
    fstype = ct.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"]).stdout.strip()
    if fstype != "cgroup2fs":
        return (f"/sys/fs/cgroup is {fstype or 'unknown'}, not cgroup2: these tests run in the VM "
                "guest of tests/vm/run (pure cgroup v2 with systemd)")
    if not os.path.isdir("/run/systemd/system"):
        return "systemd is not running as PID 1 (no /run/systemd/system)"
    lacking = [c for c in CONTROLLERS if c not in _controllers("/")]
    if lacking:
        return f"the kernel offers no {', '.join(lacking)} controller in /sys/fs/cgroup/cgroup.controllers"
    if not ct.ROOT:
        if not os.environ.get("XDG_RUNTIME_DIR") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            return "no systemd user session: XDG_RUNTIME_DIR or DBUS_SESSION_BUS_ADDRESS is not set"
        if not os.path.isdir(ct.cgdir(ct.MANAGER_CGROUP)):
            return f"uid {ct.UID} has no running user manager (no {ct.cgdir(ct.MANAGER_CGROUP)}; loginctl enable-linger)"
        lacking = [c for c in CONTROLLERS if c not in _controllers(ct.MANAGER_CGROUP)]
        if lacking:
            return f"user@{ct.UID}.service has no delegated {', '.join(lacking)} controller"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def busybox():
    """The busybox image, made from the guest's busybox-static by tools/mkimage-busybox."""
    return ct.STORE.import_busybox("busybox", timeout=300)


class Names:
    """Container names of one test; every container so named is force-removed after it."""

    def __init__(self, test):
        self.test = test.replace("test_", "", 1)
        self.made = []

    def __call__(self, prefix=None):
        n = ct.unique_name(prefix or self.test)
        self.made.append(n)
        return n

    def cleanup(self):
        left = ct.container_names() & set(self.made)
        if left:
            ct.diyc("rm", "-f", *sorted(left))


@pytest.fixture
def names(request, busybox):
    n = Names(request.node.originalname)
    yield n
    n.cleanup()


@pytest.fixture
def name(names):
    return names()


def _settled(snapshot, timeout=ct.GONE_TIMEOUT):
    """SNAPSHOT() once it is empty, or what is left after TIMEOUT seconds (systemd stops and
    collects an empty scope asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        v = snapshot()
        if not v or time.monotonic() > deadline:
            return v
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def leak_check(request):
    """After each test: no process of diyc or child of pytest left, no diyc-* unit of the
    caller's manager (in any state), no cgroup named diyc-* anywhere in the tree, nothing
    under /sys/fs/cgroup/diyc/, and no container that was not there before."""
    containers_before = ct.container_names() if _missing() is None else set()
    procs_before = ct.diyc_processes()
    units_before = set(ct.units(*UNIT_PATTERNS)) if _missing() is None else set()
    dirs_before = ct.cgroup_dirs_named()
    yield
    if _missing() is not None:
        return
    problems = []
    kids = ct.leftover_children()
    strays = [p for p in ct.diyc_processes() - procs_before if p != os.getpid()]
    for pid in sorted(set(kids) | set(strays)):
        problems.append(f"process left running: {pid}: {ct.proc_cmdline(pid)}")
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in kids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    left = ct.container_names() - containers_before
    if left:
        problems.append(f"containers left (diyc ps -a): {sorted(left)}")
        ct.diyc("rm", "-f", *sorted(left))
    units = _settled(lambda: set(ct.units(*UNIT_PATTERNS)) - units_before)
    if units:
        states = {u: ct.unit_active(u) for u in units}
        problems.append(f"systemd units left after {ct.GONE_TIMEOUT}s: {states}")
        ct.systemctl("stop", *sorted(units))
        ct.systemctl("reset-failed", *sorted(units))
    dirs = _settled(lambda: ct.cgroup_dirs_named() - dirs_before)
    if dirs:
        problems.append(f"cgroups named diyc-* left: {sorted(dirs)}")
    fs = _settled(ct.cgroupfs_root_children)
    if fs:
        problems.append(f"cgroups left under /sys/fs/cgroup/diyc/: {fs}")
        for d in fs:
            try:
                os.rmdir(ct.CGROOT / "diyc" / d)
            except OSError:
                pass
    assert not problems, "leak check: " + "\n".join(problems)
