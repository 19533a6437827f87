# SPDX-License-Identifier: MIT
# `diyc exec`: a new process in a running container sees what the container's own
# processes see (PID namespace, hostname, mounts, files, cgroup), its exit status passes
# through, -e/-w/-u/-i/-t work, and exec into a stopped or unknown container is a clean error.
import os
import re
import select
import subprocess
import time

import pytest

import diyctest as dt

NAMESPACES = ["pid", "mnt", "uts", "ipc", "net", "user", "cgroup"]


@pytest.fixture
def ctr(s, name):
    """A running container NAME whose PID 1 (diyc's init) runs a script that records what
    the container sees, then sleeps; returns (store, name, token of its sleep)."""
    tok = dt.token()
    script = ("hostname > /ctr-hostname; cat /proc/self/mountinfo > /ctr-mountinfo; "
              "cat /proc/self/cgroup > /ctr-cgroup; echo from-container > /ctr-file; "
              f"touch /ready; exec sleep {tok}")
    res = dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sh", "-c", script))
    assert res.stdout == f"{name}\n", dt.describe(res)
    ready = s.container_dirs(name)[0] / "upper" / "ready"
    dt.wait_until(ready.exists, 10, what="the container's script")
    dt.wait_until(lambda: dt.sleepers(tok), 5, what="the container's sleep")
    return s, name, tok


def exec_ok(ctr, cmd, *opts, status=0, **kw):
    s, name, _ = ctr
    return dt.assert_ok(s.diyc("exec", *opts, name, *cmd, **kw), status)


def mount_points(mountinfo):
    return sorted(line.split()[4] for line in mountinfo.splitlines() if line.strip())


def test_same_namespaces_as_pid1(ctr):
    script = "; ".join(f"echo {n} $(readlink /proc/self/ns/{n}) $(readlink /proc/1/ns/{n})" for n in NAMESPACES)
    res = exec_ok(ctr, ["sh", "-c", script])
    lines = res.stdout.splitlines()
    assert len(lines) == len(NAMESPACES), dt.describe(res)
    for line in lines:
        parts = line.split()
        assert len(parts) == 3 and parts[1] == parts[2], f"namespace differs from PID 1's: {line}\n" + dt.describe(res)


def test_same_namespaces_seen_from_host(ctr):
    s, name, _ = ctr
    pid = dt.container_pid(s, name)
    script = "; ".join(f"readlink /proc/self/ns/{n}" for n in NAMESPACES)
    res = exec_ok(ctr, ["sh", "-c", script])
    try:
        host = [os.readlink(f"/proc/{pid}/ns/{n}") for n in NAMESPACES]
    except PermissionError:
        pytest.skip(f"cannot read /proc/{pid}/ns of the container from the host")
    assert res.stdout.splitlines() == host, dt.describe(res)
    # and not the host's own namespaces (but cgroup, which a container may share)
    mine = {n: os.readlink(f"/proc/self/ns/{n}") for n in NAMESPACES}
    for n, link in zip(NAMESPACES, res.stdout.splitlines()):
        if n != "cgroup":
            assert link != mine[n], f"exec runs in the host's {n} namespace"


def test_sees_container_processes(ctr):
    s, name, tok = ctr
    res = exec_ok(ctr, ["sh", "-c", "echo $$; test -d /proc/$$ && echo own-pid-visible; "
                                    "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done"])
    lines = res.stdout.splitlines()
    assert int(lines[0]) > 1 and lines[1] == "own-pid-visible", dt.describe(res)
    cmdlines = [line.strip() for line in lines[2:]]
    assert f"sleep {tok}" in cmdlines, "the container's command is not visible\n" + dt.describe(res)
    # the container's PID namespace, not the host's: only a handful of processes
    assert len(cmdlines) < 10, dt.describe(res)
    res1 = exec_ok(ctr, ["cat", "/proc/1/comm"])
    assert res1.stdout.strip() != "sh", dt.describe(res1)


def test_hostname(ctr):
    s, name, _ = ctr
    res = exec_ok(ctr, ["sh", "-c", "hostname; cat /etc/hostname; cat /ctr-hostname"])
    assert res.stdout == f"{name}\n" * 3, dt.describe(res)


def test_hostname_option(s, name):
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "-h", "other-host", "busybox", "sleep", dt.token()))
    res = dt.assert_ok(s.diyc("exec", name, "hostname"))
    assert res.stdout == "other-host\n", dt.describe(res)


def test_same_mounts(ctr):
    res = exec_ok(ctr, ["sh", "-c", "cat /proc/self/mountinfo; echo --; cat /ctr-mountinfo"])
    mine, theirs = res.stdout.split("--\n")
    assert mount_points(mine) == mount_points(theirs), dt.describe(res)
    assert "/" in mount_points(mine) and "/proc" in mount_points(mine), dt.describe(res)


def test_same_cgroup(ctr):
    res = exec_ok(ctr, ["sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup"])
    mine, init = res.stdout.split("--\n")
    assert mine == init and mine.strip(), dt.describe(res)


def test_files(ctr):
    s, name, _ = ctr
    res = exec_ok(ctr, ["cat", "/ctr-file"])
    assert res.stdout == "from-container\n", dt.describe(res)
    exec_ok(ctr, ["sh", "-c", "echo from-exec > /exec-file"])
    upper = s.container_dirs(name)[0] / "upper"
    assert (upper / "exec-file").read_text() == "from-exec\n", "the exec's write is not in the container's upper dir"
    res = exec_ok(ctr, ["cat", "/exec-file"])
    assert res.stdout == "from-exec\n", dt.describe(res)


def test_root_is_the_containers(ctr, tmp_path):
    (tmp_path / "host-only").write_text("x")
    res = exec_ok(ctr, ["sh", "-c", f"test -e {tmp_path}/host-only && echo host-visible; ls /; readlink /proc/1/root"])
    assert "host-visible" not in res.stdout, dt.describe(res)
    assert "ctr-file" in res.stdout.split(), dt.describe(res)


@pytest.mark.parametrize("script,status", [("true", 0), ("exit 3", 3), ("exit 255", 255), ("false", 1),
                                           ("kill -KILL $$", 137), ("kill -TERM $$", 143)])
def test_exit_status(ctr, script, status):
    res = exec_ok(ctr, ["sh", "-c", script], status=status)
    assert res.stderr == "", dt.describe(res)


@pytest.mark.parametrize("cmd,status", [("no-such-command", 127), ("/no/such/file", 127), ("/etc/passwd", 126)])
def test_cannot_run(ctr, cmd, status):
    res = exec_ok(ctr, [cmd, "arg"], status=status)
    assert res.stderr.startswith("diyc: ") and cmd in res.stderr and len(res.stderr.splitlines()) == 1, \
        dt.describe(res)
    s, name, tok = ctr
    assert dt.ps_entry(s, name)["State"] == "running", "a failed exec changed the container"


def test_output_and_stdin(ctr):
    res = exec_ok(ctr, ["sh", "-c", "cat; echo out; echo err >&2"], "-i", input="piped\n")
    assert res.stdout == "piped\nout\n" and res.stderr == "err\n", dt.describe(res)
    res = exec_ok(ctr, ["cat"], "--interactive", input="long-option\n")
    assert res.stdout == "long-option\n", dt.describe(res)
    # without -i the command's stdin is empty
    res = exec_ok(ctr, ["sh", "-c", "cat; echo end"], input="not-read\n")
    assert res.stdout == "end\n", dt.describe(res)


def test_env(ctr):
    res = exec_ok(ctr, ["env"], "-e", "FOO=bar", "--env", "WITH_EQ=a=b", "-e", "EMPTY=")
    env = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    assert env.get("FOO") == "bar" and env.get("WITH_EQ") == "a=b" and env.get("EMPTY") == "", dt.describe(res)
    assert "/bin" in env.get("PATH", "").split(":"), dt.describe(res)
    assert "XDG_DATA_HOME" not in env, "the host environment leaked in\n" + dt.describe(res)


@pytest.mark.parametrize("flag", ["-w", "--workdir"])
def test_workdir(ctr, flag):
    res = exec_ok(ctr, ["pwd"], flag, "/var/tmp")
    assert res.stdout == "/var/tmp\n", dt.describe(res)


@pytest.mark.parametrize("spec,ids", [("1000", "1000"), ("1000:1000", "1000 1000"), ("nobody", "65534 65534"),
                                      ("0", "0 0")])
def test_user(ctr, subids, spec, ids):
    res = exec_ok(ctr, ["sh", "-c", "echo $(id -u) $(id -g)"], "-u", spec)
    assert res.stdout.split()[:len(ids.split())] == ids.split(), dt.describe(res)
    res = exec_ok(ctr, ["id", "-u"], "--user", spec)
    assert res.stdout == ids.split()[0] + "\n", dt.describe(res)


def test_unknown_user(ctr):
    s, name, _ = ctr
    before = s.snapshot()
    dt.assert_error(s.diyc("exec", "-u", "no-such-user", name, "true"), "no-such-user")
    assert s.snapshot() == before


def test_tty(ctr):
    s, name, _ = ctr
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([dt.diyc_bin(), "exec", "-t", "-i", name, "sh", "-c",
                              "tty; test -t 0 && test -t 1 && echo in-tty-$((6*7)); exit 5"],
                             stdin=slave, stdout=slave, stderr=slave, env=s.env, start_new_session=True,
                             close_fds=True)
        buf = b""
        deadline = time.monotonic() + 15
        while p.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    buf += os.read(master, 65536)
                except OSError:
                    break
        try:
            status = p.wait(timeout=1)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError(f"exec -t did not exit; terminal: {buf!r}")
        buf += dt.drain(master)
    finally:
        os.close(master)
        os.close(slave)
    assert status == 5, f"exit status {status}; terminal: {buf!r}"
    assert re.search(rb"/dev/pts/\d+\r?\n", buf) and b"in-tty-42" in buf, f"terminal: {buf!r}"


def test_tty_without_terminal(ctr):
    # -t with pipes: the command still gets a pty of its own, its output comes out on stdout
    res = exec_ok(ctr, ["sh", "-c", "test -t 1 && echo out-is-a-tty"], "-t")
    assert "out-is-a-tty" in res.stdout, dt.describe(res)


def test_exec_leaves_no_process(ctr):
    s, name, tok = ctr
    exec_ok(ctr, ["true"])
    # the glob is expanded by the shell itself: init, the sleep, and this shell
    res = exec_ok(ctr, ["sh", "-c", "set -- /proc/[0-9]*; echo $#"])
    assert int(res.stdout) == 3, dt.describe(res)


def test_stopped_container(s, name):
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "true"))
    before = s.snapshot()
    dt.assert_error(s.diyc("exec", name, "true"), "is not running")
    dt.assert_error(s.diyc("exec", "-t", "-i", name, "sh"), "is not running")
    assert s.snapshot() == before
    assert dt.ps_entry(s, name)["Status"] == "exited (0)"


def test_after_stop(ctr):
    s, name, tok = ctr
    dt.assert_ok(s.diyc("stop", name))
    before = s.snapshot()
    dt.assert_error(s.diyc("exec", name, "true"), "is not running")
    assert s.snapshot() == before


def test_unknown_container(s, name):
    before = s.snapshot()
    dt.assert_error(s.diyc("exec", name, "true"), "no such container")
    assert s.snapshot() == before


def test_exec_after_restart(ctr):
    s, name, tok = ctr
    exec_ok(ctr, ["sh", "-c", "echo before-stop > /exec-file"])
    dt.assert_ok(s.diyc("stop", name))
    dt.assert_ok(s.diyc("start", name))
    dt.wait_until(lambda: dt.sleepers(tok), 5, what="the container's script to run again")
    res = exec_ok(ctr, ["sh", "-c", "cat /exec-file; readlink /proc/self/ns/pid; readlink /proc/1/ns/pid"])
    lines = res.stdout.splitlines()
    assert lines[0] == "before-stop" and lines[1] == lines[2], dt.describe(res)
