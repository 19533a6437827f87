# SPDX-License-Identifier: MIT
# The terminal as conmon and the shim get it: with process.terminal, the pty master comes
# over --console-socket, exactly one fd in one SCM_RIGHTS message, and the container's shell
# answers through it. exec: in the foreground with the process's exit status, --detach with
# --pid-file, --process FILE, --tty.
import json
import os
import socket
import stat
import subprocess
import time

import ocitest as ot


def console_server(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(4)
    return srv


def receive_master(srv):
    """Accepts one connection and reads every message on it: exactly one fd, in one message."""
    srv.settimeout(10)
    conn, _ = srv.accept()
    fds_per_msg = []
    with conn:
        while True:
            data, fds = ot.recv_fds(conn)
            if fds:
                fds_per_msg.append(fds)
            if not data and not fds:
                break
    assert len(fds_per_msg) == 1 and len(fds_per_msg[0]) == 1, \
        f"one message with exactly one fd expected, got {fds_per_msg}"
    fd = fds_per_msg[0][0]
    assert stat.S_ISCHR(os.fstat(fd).st_mode), "the fd is not a character device"
    assert os.path.basename(os.readlink(f"/proc/self/fd/{fd}")) == "ptmx" or \
        os.readlink(f"/proc/self/fd/{fd}").endswith("ptmx"), os.readlink(f"/proc/self/fd/{fd}")
    return fd


def test_console_socket_gets_the_pty_master(rt, bundle, tmp_path):
    bundle.config["process"]["terminal"] = True
    bundle.config["process"]["consoleSize"] = {"height": 33, "width": 101}
    bundle.args("sh").write()
    sock = tmp_path / "console.sock"
    srv = console_server(sock)
    rt.ok("create", "--bundle", bundle.path, "--console-socket", sock, "tty1")
    master = receive_master(srv)
    try:
        rt.ok("start", "tty1")
        os.write(master, b"tty; stty size; echo marker-$((40+2))\n")
        out = ot.read_until(master, b"marker-42")
        assert b"/dev/pts/" in out or b"/dev/console" in out, out
        assert b"33 101" in out, out
        os.write(master, b"exit 7\n")
        assert rt.wait_status("tty1", "stopped")["status"] == "stopped"
    finally:
        os.close(master)
        srv.close()
    rt.ok("delete", "tty1")
    ot.assert_nothing_left(rt, bundle)


def start_sleeper(rt, bundle, cid):
    bundle.args("sleep", "1000").write()
    rt.ok("run", "--detach", "--bundle", bundle.path, cid)


def test_exec_foreground_exit_status_and_output(rt, bundle):
    start_sleeper(rt, bundle, "ex1")
    res = rt("exec", "ex1", "sh", "-c", "echo in-$(hostname); echo err >&2; exit 5")
    assert res.returncode == 5, ot.describe(res)
    assert res.stdout == "in-ocitest\n" and "err\n" in res.stderr, ot.describe(res)
    res = rt("exec", "--env", "FOO=bar", "--cwd", "/tmp", "ex1", "sh", "-c", "echo $FOO $(pwd)")
    assert ot.assert_ok(res).stdout == "bar /tmp\n"


def test_exec_stdin_is_relayed(rt, bundle):
    start_sleeper(rt, bundle, "exin")
    p = subprocess.run(rt.argv("exec", "exin", "cat"), input=b"through\n", capture_output=True, timeout=30)
    assert p.returncode == 0 and p.stdout == b"through\n", p


def test_exec_detach_with_pid_file(rt, bundle, tmp_path):
    start_sleeper(rt, bundle, "ex2")
    init = rt.state("ex2")["pid"]
    pidfile = tmp_path / "exec.pid"
    rt.ok("exec", "--detach", "--pid-file", pidfile, "ex2", "sh", "-c", "echo detached > /tmp/d; sleep 1000")
    pid = int(pidfile.read_text())
    for ns in ("pid", "mnt", "net", "uts", "ipc"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{init}/ns/{ns}"), ns
    deadline = time.monotonic() + 5
    while not (bundle.rootfs / "tmp" / "d").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (bundle.rootfs / "tmp" / "d").read_text() == "detached\n"
    pids = json.loads(rt.ok("ps", "--format", "json", "ex2").stdout)
    assert pid in pids and init in pids
    rt.ok("delete", "--force", "ex2")
    ot.assert_nothing_left(rt, bundle)


def test_exec_process_file(rt, bundle, tmp_path):
    start_sleeper(rt, bundle, "ex3")
    proc = dict(bundle.config["process"], args=["sh", "-c", "id -u; echo $X; exit 4"], env=["X=from-file", "PATH=/bin"],
                user={"uid": 65534, "gid": 65534})
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    res = rt("exec", "--process", f, "ex3")
    assert res.returncode == 4 and res.stdout == "65534\nfrom-file\n", ot.describe(res)


def test_exec_tty_through_console_socket(rt, bundle, tmp_path):
    start_sleeper(rt, bundle, "ex4")
    sock = tmp_path / "exec.sock"
    srv = console_server(sock)
    pidfile = tmp_path / "exec.pid"
    rt.ok("exec", "--detach", "--tty", "--console-socket", sock, "--pid-file", pidfile, "ex4", "sh")
    master = receive_master(srv)
    try:
        os.write(master, b"tty; echo tty-$((6*7))\n")
        out = ot.read_until(master, b"tty-42")
        assert b"/dev/pts/" in out, out
        os.write(master, b"exit\n")
    finally:
        os.close(master)
        srv.close()


def test_exec_in_a_stopped_container_fails(rt, bundle):
    bundle.args("true").write()
    rt.ok("run", "--detach", "--bundle", bundle.path, "ex5")
    rt.wait_status("ex5", "stopped")
    ot.assert_fails(rt("exec", "ex5", "true"), "not running")
