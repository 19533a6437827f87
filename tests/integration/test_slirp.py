# SPDX-License-Identifier: MIT
# --net=slirp: a tap device in the container, libslirp in diyc's supervising process. Traffic
# goes only to servers this test starts on the host's loopback.
import hashlib
import http.server
import os
import stat
import threading

import pytest

import diyctest as dt


def tun_usable():
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
        return True
    except OSError:
        return False


needs_tun = pytest.mark.skipif(not tun_usable(), reason="/dev/net/tun cannot be opened by this user (mode 0600, "
                               "as on the development host): tests/run-all gives the test user a private 0666 "
                               "node; run through it")


@pytest.fixture
def http_server(tmp_path):
    """A server on the host's 127.0.0.1 with a 4 MiB file of random bytes; yields (port, sha256)."""
    blob = os.urandom(4 << 20)
    (tmp_path / "blob").write_bytes(blob)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1], hashlib.sha256(blob).hexdigest()
    srv.shutdown()
    srv.server_close()


@needs_tun
def test_tap_configured(s):
    res = dt.assert_ok(s.diyc("run", "--rm", "--net=slirp", "busybox", "sh", "-c",
                              "ip -o -4 addr show tap0; ip route; cat /sys/class/net/tap0/mtu; ip -o link show lo"))
    out = res.stdout
    assert "inet 10.0.2.100/24" in out, dt.describe(res)
    assert "default via 10.0.2.2 dev tap0" in out, dt.describe(res)
    assert "\n65520\n" in out, dt.describe(res)
    assert "UP" in out.splitlines()[-1], "loopback is up too\n" + dt.describe(res)


@needs_tun
def test_mtu_option(s):
    res = dt.assert_ok(s.diyc("run", "--rm", "--net=slirp", "--mtu", "1500", "busybox", "cat",
                              "/sys/class/net/tap0/mtu"))
    assert res.stdout.strip() == "1500", dt.describe(res)


@needs_tun
@pytest.mark.parametrize("detach", [False, True], ids=["foreground", "detached"])
def test_fetch_from_host_loopback(s, name, http_server, detach):
    port, digest = http_server
    script = f"wget -q -O - http://10.0.2.2:{port}/blob | sha256sum"
    if not detach:
        res = dt.assert_ok(s.diyc("run", "--rm", "--net=slirp:allow_host_loopback=true", "busybox", "sh", "-c", script))
        out = res.stdout
    else:
        dt.assert_ok(s.diyc("run", "-d", "--name", name, "--net=slirp:allow_host_loopback=true", "busybox", "sh",
                            "-c", script))
        dt.wait_exited(s, name, timeout=30)
        res = dt.assert_ok(s.diyc("logs", name))
        out = res.stdout
    assert out.split()[0] == digest, "the file arrived changed or not at all\n" + dt.describe(res)


@needs_tun
def test_host_loopback_refused_by_default(s, http_server):
    port, digest = http_server
    # busybox wget may crash on a refused connection: only the missing data counts
    res = s.diyc("run", "--rm", "--net=slirp", "busybox", "sh", "-c",
                 f"wget -q -T 5 -O /tmp/b http://10.0.2.2:{port}/blob; sha256sum < /tmp/b")
    assert digest not in res.stdout, "the host's loopback must not be reachable without allow_host_loopback\n" + \
        dt.describe(res)


@needs_tun
def test_inspect_shows_slirp(s, name):
    dt.assert_ok(s.diyc("run", "--name", name, "--net=slirp", "busybox", "true"))
    assert dt.inspect(s, name)["HostConfig"]["NetworkMode"] == "slirp"
    # start runs it with the same network again
    res = dt.assert_ok(s.diyc("start", "-a", name))
    assert res.returncode == 0


@pytest.mark.parametrize("args,needle", [
    (["--net=slirp:foo=1"], "unknown option `foo=1`"),
    (["--net=bogus"], "unknown network `bogus`"),
    (["--net=slirp", "--mtu", "100"], "invalid --mtu `100`"),
    (["--net=slirp", "--mtu", "70000"], "invalid --mtu `70000`"),
    (["--net=slirp", "--mtu", "x"], "invalid --mtu `x`"),
    (["--net=none", "--mtu", "1500"], "--mtu is for --net=slirp"),
], ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_bad_network_flags(s, args, needle):
    before = s.snapshot()
    dt.assert_error(s.diyc("run", "--rm", *args, "busybox", "true"), needle)
    assert s.snapshot() == before, "nothing may be created"



@needs_tun
def test_peer_closing_early_does_not_kill_diyc(s):
    """A host server that closes while the container still sends: libslirp's writes fail
    with EPIPE, which must not end the foreground diyc (SIGPIPE)."""
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    stop = threading.Event()

    def serve():
        srv.settimeout(0.5)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            # read a little, then close with data still arriving: the kernel answers the
            # rest with a reset, and slirp's next writes fail
            for _ in range(64):
                if not c.recv(65536):
                    break
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        for _ in range(3):
            res = s.diyc("run", "--rm", "--net=slirp:allow_host_loopback=true", "busybox", "sh", "-c",
                         f"head -c 200000000 /dev/zero | nc 10.0.2.2 {port}; echo sent")
            assert res.returncode == 0 and "sent" in res.stdout, dt.describe(res)
    finally:
        stop.set()
        t.join()
        srv.close()


def tap_holders():
    """PIDs of this user's processes that hold an fd of /dev/net/tun (the character device
    10:200, whatever path it shows): whoever reads the container's frames."""
    pids = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.stat(f"/proc/{pid}").st_uid != os.getuid():
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                st = os.stat(f"/proc/{pid}/fd/{fd}")
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(10, 200):
                    pids.append(int(pid))
                    break
        except OSError:
            pass
    return pids


@needs_tun
def test_libslirp_runs_in_an_empty_root(s, name):
    """The process that parses the container's packets (libslirp, holding the tap) sees no
    file of the host: its root is a read-only tmpfs with etc/resolv.conf alone, and the
    supervisor itself no longer holds the tap."""
    before = set(tap_holders())
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sleep", "60"))
    try:
        monitor = dt.inspect(s, name)["State"]["MonitorPid"]
        holders = dt.wait_until(lambda: set(tap_holders()) - before, what="a process holding the tap")
        assert monitor not in holders, "the supervisor holds the tap: libslirp runs in it"
        assert len(holders) == 1, holders
        pid = holders.pop()
        assert dt.proc_ppid(pid) == monitor, f"{pid} is not the supervisor's child"
        root = f"/proc/{pid}/root"
        assert os.listdir(root) == ["etc"], os.listdir(root)
        assert os.listdir(f"{root}/etc") == ["resolv.conf"]
        with open(f"{root}/etc/resolv.conf") as f:
            assert all(l.startswith("nameserver") for l in f.read().splitlines())
        with open(f"/proc/{pid}/mountinfo") as f:
            mounts = [l.split() for l in f]
        assert len(mounts) == 1, mounts
        assert mounts[0][4] == "/" and "ro" in mounts[0][5].split(","), mounts
        with open(f"/proc/{pid}/status") as f:
            status = dict(l.split(":\t", 1) for l in f.read().splitlines() if ":\t" in l)
        assert int(status["CapEff"], 16) == 0 and status["NoNewPrivs"].strip() == "1", status
        assert status["Seccomp"].strip() == "2", status
        # and the network works through it
        dt.assert_ok(s.diyc("exec", name, "ping", "-c", "1", "-W", "5", "10.0.2.2"))
    finally:
        dt.assert_ok(s.diyc("rm", "-f", name))
    assert not set(tap_holders()) - before, "the slirp process outlived its container"
