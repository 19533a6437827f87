# SPDX-License-Identifier: MIT
# `sudo diyc run`: root uses the same binary and code path without a user namespace,
# with its store in /var/lib/diyc and /run/diyc. tests/run-all runs this file as root in
# a private mount namespace with a tmpfs over /var/lib and /run, so the host's own
# directories are never written.
import os
import subprocess

import pytest

DIYC = os.environ.get("DIYC", "diyc")
TOOLS = os.environ.get("DIYC_TOOLS", "tools")
DATA = "/var/lib/diyc"
RUN = "/run/diyc"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root (tests/run-all does that)")


def diyc(*args, timeout=30, **kw):
    return subprocess.run([DIYC, *args], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module", autouse=True)
def private_store():
    # run-all mounts these tmpfs; refuse to write the host's real store
    for d in ("/var/lib", "/run"):
        fstype = subprocess.run(["stat", "-f", "-c", "%T", d], capture_output=True, text=True).stdout.strip()
        assert fstype == "tmpfs", f"{d} is not a private tmpfs: run this through tests/run-all"
    res = subprocess.run([os.path.join(TOOLS, "mkimage-busybox"), "--diyc", DIYC, "busybox"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    yield


def mounts_below(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(path)]


def test_root_runs_without_user_namespace():
    res = diyc("run", "--rm", "busybox", "sh", "-c",
               "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; readlink /proc/self/ns/pid; echo $$")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "0", "4294967295"], "root is mapped as usual, no user namespace"
    assert lines[2] == os.readlink("/proc/self/ns/user"), "the host's user namespace is kept"
    assert lines[3] != os.readlink("/proc/self/ns/pid"), "a new PID namespace"
    assert lines[4] == "2", "the command is PID 2 under diyc's init"


def test_root_dev_nodes_are_created_not_bound():
    res = diyc("run", "--rm", "busybox", "sh", "-c",
               "ls -ln /dev/null /dev/zero; grep ' /dev/null ' /proc/self/mountinfo | sed 's/.* - //'")
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out[0].startswith("crw-rw-rw-") and " 1,   3 " in out[0], out
    assert out[1].startswith("crw-rw-rw-") and " 1,   5 " in out[1], out
    # root makes the nodes with mknod in the container's /dev tmpfs instead of bind-mounting
    # the host's (whose inode root could chmod); each is then bound on itself, so that it
    # keeps working when /dev becomes nodev
    assert len(out) == 3 and out[2].split()[0] == "tmpfs", \
        f"/dev/null should be a bind of a node in the container's tmpfs, not the host's devtmpfs: {out}"


def test_root_write_lands_in_upper_and_rm_cleans():
    res = diyc("run", "--name", "rootbox", "busybox", "sh", "-c", "echo hi > /written; chown 1000:1000 /written")
    assert res.returncode == 0, res.stderr
    f = os.path.join(DATA, "containers", "rootbox", "upper", "written")
    st = os.stat(f)
    assert (st.st_uid, st.st_gid) == (1000, 1000), "root's ids are the host's ids"
    for layer in os.listdir(os.path.join(DATA, "layers")):
        assert not os.path.exists(os.path.join(DATA, "layers", layer, "diff", "written"))
    res = diyc("run", "--rm", "--name", "rootbox2", "busybox", "true")
    assert res.returncode == 0
    assert sorted(os.listdir(os.path.join(DATA, "containers"))) == ["rootbox"]
    assert os.listdir(os.path.join(RUN, "containers")) == []
    assert mounts_below(DATA) == [] and mounts_below(RUN) == []


def test_root_exit_codes_and_errors():
    assert diyc("run", "--rm", "busybox", "sh", "-c", "exit 42").returncode == 42
    res = diyc("run", "--rm", "busybox", "no-such-command")
    assert res.returncode == 127 and res.stderr.startswith("diyc: ") and res.stderr.count("\n") == 1
    res = diyc("run", "--rm", "no-such-image", "true")
    assert res.returncode == 125 and "not found" in res.stderr


def test_root_tty():
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(DIYC, [DIYC, "run", "--rm", "-t", "busybox", "tty"])
    out = b""
    while True:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"/dev/pts/0" in out, out


def test_root_image_rm_removes_layer():
    res = diyc("image", "import", os.path.join(DATA, "layers", os.listdir(os.path.join(DATA, "layers"))[0], "diff"), "copy:1")
    assert res.returncode == 0, res.stderr
    layers_before = set(os.listdir(os.path.join(DATA, "layers")))
    res = diyc("image", "rm", "copy:1")
    assert res.returncode == 0, res.stderr
    assert len(set(os.listdir(os.path.join(DATA, "layers")))) == len(layers_before) - 1
