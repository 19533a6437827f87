# SPDX-License-Identifier: MIT
# Fixtures of the engine tests (tests/vm/engines), which run inside the VM guest of
# tests/vm/run, in the same pytest runs as the cgroup tests (as tester, then as root): the
# skip reasons (not in the guest, no diyc-oci, an engine not installed), the tests marked
# `root` left out of the run as tester (containerd and dockerd run as root; podman runs in
# both) and those marked `rootless` out of the run as root, the offline busybox archives,
# the logging wrapper around diyc-oci, and the check after each test file that no engine
# process is left.
import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import engtest as et

ENGINE_PROCS = ("containerd", "dockerd", "containerd-shim", "containerd-shim-runc-v2", "conmon",
                "diyc-oci", "docker-proxy", "catatonit")


def pytest_configure(config):
    config.addinivalue_line("markers", "root: runs only as root (left out of the run as tester)")
    config.addinivalue_line("markers", "rootless: runs only as tester (left out of the run as root)")
    config.addinivalue_line("markers", "engine(name): needs the engine's executable NAME")


@functools.lru_cache(maxsize=None)
def _missing():
    real = os.environ.get("DIYC_OCI", "")
    if not real or not os.access(real, os.X_OK):
        return f"no diyc-oci binary at {real!r}: set DIYC_OCI (tests/vm/run copies BUILD/diyc-oci)"
    if subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True,
                      text=True).stdout.strip() != "cgroup2fs":
        return "/sys/fs/cgroup is not cgroup2: these tests run in the VM guest of tests/vm/run"
    if not os.path.isdir("/run/systemd/system"):
        return "systemd is not PID 1: these tests run in the VM guest of tests/vm/run"
    return None


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    mine = [i for i in items if Path(str(i.fspath)).resolve().parent == here]
    drop = [i for i in mine if i.get_closest_marker("rootless" if et.ROOT else "root")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if i not in drop]
        mine = [i for i in mine if i not in drop]
    reason = _missing()
    for item in mine:
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        m = item.get_closest_marker("engine")
        if m and not shutil.which(m.args[0]):
            item.add_marker(pytest.mark.skip(reason=f"{m.args[0]} is not installed in this guest "
                                                    "(tests/vm/build-guest installs containerd, docker.io, podman)"))


@pytest.fixture(scope="session")
def runtime(tmp_path_factory):
    """The wrapper around diyc-oci that the engines are given (et.Runtime)."""
    d = tmp_path_factory.mktemp("runtime")
    os.chmod(d, 0o755)
    return et.Runtime(d, os.environ["DIYC_OCI"])


@pytest.fixture(scope="session")
def archives(tmp_path_factory):
    """(OCI archive, docker archive) of the busybox image, made from the guest's busybox-static."""
    d = tmp_path_factory.mktemp("images")
    os.chmod(d, 0o755)
    return et.make_archives(d)


@pytest.fixture(scope="module", autouse=True)
def no_engine_left(request):
    """After each test file: no engine daemon, shim, conmon or diyc-oci process left."""
    before = set(et.pids_running(ENGINE_PROCS))
    yield
    if _missing() is not None:
        return
    left = []

    def check():
        nonlocal left
        left = [p for p in et.pids_running(ENGINE_PROCS) if p not in before]
        return not left

    try:
        et.wait_until(check, 15, "engine processes to end")
    except AssertionError:
        desc = []
        for p in left:
            try:
                desc.append(f"{p}: {Path(f'/proc/{p}/cmdline').read_bytes().replace(bytes(1), b' ').decode()}")
                os.kill(p, 9)
            except OSError:
                pass
        pytest.fail("processes left after %s:\n%s" % (request.node.name, "\n".join(desc)))
