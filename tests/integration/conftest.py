# SPDX-License-Identifier: MIT
# Fixtures of diyc's integration tests: the store and the busybox image they share, private
# stores, unique names, and the leak check that runs after every test (no mounts, no
# container directories, no temporary files, no processes left behind).
import ctypes
import os
import signal
import tempfile

import pytest

import diyctest as dt

PR_SET_CHILD_SUBREAPER = 36


def _own_directories_per_worker():
    """Under pytest-xdist (tests/run-all runs two workers), each worker gets a HOME, a store
    (XDG_DATA_HOME, XDG_RUNTIME_DIR) and a TMPDIR of its own below the ones it was given:
    the leak checks compare those before and after each test, and another worker's
    containers and files must not count."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    for var, mode in (("HOME", 0o755), ("XDG_RUNTIME_DIR", 0o700), ("TMPDIR", 0o755)):
        base = os.environ.get(var)
        if base and base.startswith("/"):
            own = os.path.join(base, worker)
            os.makedirs(own, mode=mode, exist_ok=True)
            os.chmod(own, mode)
            os.environ[var] = own
    os.environ["XDG_DATA_HOME"] = os.path.join(os.environ["HOME"], ".local", "share")
    tempfile.tempdir = None  # read TMPDIR again


def pytest_configure(config):
    _own_directories_per_worker()
    # Orphans of diyc (a container that outlived its `diyc run`) are reparented to pytest,
    # so the leak check finds them among its children.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # A shell that started us in the background may have ignored SIGINT and SIGQUIT; the
    # commands run by the signal tests must start with the default dispositions (a shell
    # cannot trap a signal that was ignored when it started).
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.geteuid() == 0:
        reason = ("running as root: these tests need an unprivileged user with a subordinate id range "
                  "(tests/run-all creates one)")
    elif not os.path.exists(dt.diyc_bin()):
        reason = f"no diyc binary at {dt.diyc_bin()}: build it or set DIYC"
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def store():
    """The caller's default store (the XDG variables of the environment)."""
    return dt.Store.default()


@pytest.fixture(scope="session")
def busybox(store):
    """The busybox image, imported once into the default store by tools/mkimage-busybox."""
    return store.import_busybox("busybox")


@pytest.fixture
def private_store(tmp_path):
    """A store of this test's own, with the busybox image in it."""
    s = dt.Store.private(tmp_path / "store")
    s.import_busybox("busybox")
    return s


@pytest.fixture
def s(private_store):
    """A private store whose containers are all force-removed after the test."""
    yield private_store
    dt.remove_all(private_store)


@pytest.fixture
def empty_store(tmp_path):
    """A store of this test's own, with nothing in it."""
    return dt.Store.private(tmp_path / "store")


@pytest.fixture
def name(request):
    return dt.unique_name(request.node.originalname.replace("test_", "", 1))


@pytest.fixture(scope="session")
def subids():
    """The caller's subordinate ranges {'uid': [...], 'gid': [...]}; skips when there are none."""
    u, g = dt.subid_ranges("/etc/subuid"), dt.subid_ranges("/etc/subgid")
    if not u or not g:
        pytest.skip(f"user {dt.user_name()} has no subordinate range in /etc/subuid and /etc/subgid")
    if not dt.which("newuidmap") or not dt.which("newgidmap"):
        pytest.skip("newuidmap/newgidmap are not installed (Debian package uidmap)")
    return {"uid": u, "gid": g}


@pytest.fixture(autouse=True)
def leak_check(request, store, tmp_path):
    """After each test: no mount under the stores or the test's directories in the caller's
    mount namespace, no new container directory in the default store (tests that keep a
    container use a private store), no new temporary entry in /tmp or $TMPDIR, and no
    process left over."""
    watched = [store.data, store.run, tmp_path, os.environ.get("HOME")]
    mounts_before = set(dt.mounts_under(watched))
    containers_before = store.containers()
    tmp_before = dt.tmp_entries()
    yield
    problems = []
    kids = dt.leftover_children()
    if kids:
        problems.append("processes left running: " + "; ".join(f"{p}: {dt.proc_cmdline(p)}" for p in kids))
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in kids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    new_mounts = set(dt.mounts_under(watched)) - mounts_before
    if new_mounts:
        problems.append(f"mounts left in the host mount namespace: {sorted(new_mounts)}")
    new_containers = store.containers() - containers_before
    if new_containers:
        problems.append(f"container directories left in {store.data / 'containers'} or "
                        f"{store.run / 'containers'}: {sorted(new_containers)}")
    new_tmp = {p for p in dt.tmp_entries() - tmp_before if not os.path.basename(p).startswith("pytest-")}
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # test_rundir.py makes this squat in /tmp on purpose while another worker's test may
        # run, and checks itself that diyc leaves it alone
        new_tmp.discard(f"/tmp/diyc-run-{os.getuid()}")
    if new_tmp:
        problems.append(f"temporary files left: {sorted(new_tmp)}")
    assert not problems, "leak check: " + "\n".join(problems)
