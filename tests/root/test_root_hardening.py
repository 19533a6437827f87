# SPDX-License-Identifier: MIT
# The hardening tests of tests/integration/test_hardening.py as root (`sudo diyc`, no user
# namespace: the container's root is the host's root minus the capabilities it lacks, so
# every escape matters most here), and what only root can try. tests/run-all runs this
# file as root in a private mount namespace with a tmpfs over /var/lib and /run; the tests
# themselves come from the integration directory, next to this one in the test tree.
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import diyctest as dt  # noqa: E402
import test_hardening as th  # noqa: E402
from test_hardening import *  # noqa: E402,F401,F403  (every test there, run here as root)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root (tests/run-all does that)")

# root reads any file: an unreadable profile is a test of the unprivileged caller's only
del test_seccomp_profile_unreadable  # noqa: F821


@pytest.fixture
def hx(root_store, tmp_path):
    """Root: root's store; after the test, no container and no mount left behind."""
    watched = [root_store.data, root_store.run, tmp_path]
    containers, mounts = root_store.containers(), set(dt.mounts_under(watched))
    h = th.Hx(root_store, tmp_path, root=True)
    yield h
    h.cleanup()
    left = root_store.containers() - containers
    assert not left, f"container directories left: {sorted(left)}"
    new_mounts = set(dt.mounts_under(watched)) - mounts
    assert not new_mounts, f"mounts left in the host mount namespace: {sorted(new_mounts)}"


# -- root only -----------------------------------------------------------------------------------


def test_root_container_root_is_host_root_minus_caps(hx):
    # a directory of another user's, 0700, on a volume: root reads it through
    # CAP_DAC_OVERRIDE, and not without it
    d = hx.tmp / "private"
    d.mkdir(mode=0o700)
    (d / "secret").write_text("secret\n")
    os.chmod(d / "secret", 0o600)
    os.chown(d / "secret", 1000, 1000)
    os.chown(d, 1000, 1000)
    res = hx.run_ok("-v", f"{d}:/private", "busybox", "cat", "/private/secret")
    assert res.stdout == "secret\n"
    res = hx.run("--cap-drop", "DAC_OVERRIDE", "-v", f"{d}:/private", "busybox", "cat", "/private/secret")
    assert res.returncode != 0 and "Permission denied" in res.stderr, dt.describe(res)
    # what it makes there is root's, on the host
    dt.assert_ok(hx.run("-v", f"{d}:/private", "busybox", "touch", "/private/made"))
    assert os.stat(d / "made").st_uid == 0
    res = hx.run("--cap-drop", "CHOWN", "-v", f"{d}:/private", "busybox", "chown", "0:0", "/private/secret")
    assert res.returncode != 0 and "Operation not permitted" in res.stderr, dt.describe(res)
    assert os.stat(d / "secret").st_uid == 1000


def test_root_no_sys_admin_without_seccomp(hx):
    # without the filter the capabilities still hold: no mount, no namespace, no clock
    r = th.results(hx.run("--security-opt", "seccomp=unconfined", "busybox", "/probe", "syscall",
                          "mount", "unshare-mount", "unshare-net"))
    assert r == {"mount": "EPERM", "unshare-mount": "EPERM", "unshare-net": "EPERM"}
    res = hx.run("--security-opt", "seccomp=unconfined", "busybox", "date", "-s", "2000-01-01")
    assert "can't set date: Operation not permitted" in res.stderr, dt.describe(res)


def test_root_host_uid_of_exec_user(hx):
    # exec -u 1: the process is the host's uid 1, without capabilities
    tok = dt.token()
    name = hx.detached()
    with dt.Background([dt.diyc_bin(), "exec", "-u", "1:1", name, "sleep", tok], env=hx.store.env) as bg:
        pids = dt.wait_until(lambda: dt.sleepers(tok), 10, what="the exec'd sleep")
        with open(f"/proc/{pids[0]}/status") as f:
            status = f.read()
        os.kill(pids[0], 9)
        bg.finish()
    assert th.status_field(status, "Uid") == "1"
    caps = th.parse_caps(status)
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapInh"] == caps["CapAmb"] == 0, status


def test_root_stdio_is_piped(hx):
    # under sudo the container's root is the host's: given the caller's own file as stdout,
    # it could chown and chmod it through the fd (a set-uid root copy of whatever it wrote).
    # A root container without -t gets pipes, which diyc copies
    out = hx.tmp / "out.log"
    inp = hx.tmp / "in.txt"
    out.write_text("")
    inp.write_text("from stdin\n")
    for f in (out, inp):
        os.chown(f, 1000, 1000)
        os.chmod(f, 0o644)
    script = ("chown 0:0 /proc/self/fd/0 /proc/self/fd/1; chmod 4755 /proc/self/fd/0 /proc/self/fd/1; "
              "ls -l /proc/self/fd/0 /proc/self/fd/1 | sed 's/.*-> //'; cat; echo done")
    with open(inp) as i, open(out, "w") as o:
        res = subprocess.run([dt.diyc_bin(), "run", "--rm", "-i", "--net=none", "busybox", "sh", "-c", script],
                             stdin=i, stdout=o, stderr=subprocess.PIPE, env=hx.store.env, timeout=dt.TIMEOUT)
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("pipe:") and lines[1].startswith("pipe:"), lines
    assert lines[2:] == ["from stdin", "done"], lines
    for f in (out, inp):
        s = os.stat(f)
        assert (s.st_uid, s.st_gid, s.st_mode & 0o7777) == (1000, 1000, 0o644), f"{f} was changed: {s}"
    # the same for exec
    name = hx.detached()
    with open(out, "w") as o:
        res = subprocess.run([dt.diyc_bin(), "exec", name, "sh", "-c", "chmod 4755 /proc/self/fd/1; echo x"],
                             stdout=o, stderr=subprocess.PIPE, env=hx.store.env, timeout=dt.TIMEOUT)
    assert res.returncode == 0, res.stderr
    s = os.stat(out)
    assert (s.st_uid, s.st_mode & 0o7777) == (1000, 0o644) and out.read_text() == "x\n", s


def test_root_stdio_pipes_do_not_deadlock(hx):
    # stdin copied into a full pipe must not stop the copying of the output the container is
    # blocked on: 5 MB in while 3 MB come out before the command reads any of it
    script = "head -c 3000000 /dev/zero; cat | wc -c"
    res = subprocess.run(f"head -c 5000000 /dev/zero | {dt.diyc_bin()} run --rm -i --net=none busybox sh -c '{script}'"
                         " | wc -c", shell=True, capture_output=True, text=True, env=hx.store.env, timeout=60)
    assert res.returncode == 0 and res.stdout.split() == ["3000008"], res


def test_root_stdout_stderr_keep_their_order(hx):
    # 2>&1 (the same open file): one pipe for both, so the order the container wrote in holds
    res = subprocess.run([dt.diyc_bin(), "run", "--rm", "--net=none", "busybox", "sh", "-c",
                          "echo 1; echo 2 >&2; echo 3; echo 4 >&2; echo 5"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=hx.store.env, timeout=dt.TIMEOUT)
    assert res.returncode == 0 and res.stdout.split() == [b"1", b"2", b"3", b"4", b"5"], res
    # apart, each to its own
    res = subprocess.run([dt.diyc_bin(), "run", "--rm", "--net=none", "busybox", "sh", "-c",
                          "echo out; echo err >&2"], capture_output=True, env=hx.store.env, timeout=dt.TIMEOUT)
    assert (res.stdout, res.stderr) == (b"out\n", b"err\n"), res
