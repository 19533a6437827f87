# SPDX-License-Identifier: MIT
# The default network (slirp) and published ports (-p). Every server runs in a container
# or on the host's loopback; traffic goes nowhere else.
import hashlib
import os
import socket
import urllib.request
from pathlib import Path

import pytest

import diyctest as dt
from test_slirp import needs_tun

WWW = "mkdir -p /www && head -c 4194304 /dev/urandom > /www/blob && echo hello > /www/index.html && "


def udp_echo_bin():
    """The static udp-echo of tests/helpers, next to the diyc under test or in the build."""
    for p in (Path(dt.diyc_bin()).parent / "udp-echo", dt.REPO / "build" / "tests" / "helpers" / "udp-echo"):
        if p.exists():
            return p
    pytest.fail("tests/helpers/udp-echo is not built (meson compile -C build)")


def free_port(kind=socket.SOCK_STREAM, family=socket.AF_INET, addr="127.0.0.1"):
    with socket.socket(family, kind) as sk:
        sk.bind((addr, 0))
        return sk.getsockname()[1]


def port_bindable(port, kind=socket.SOCK_STREAM, addr="127.0.0.1"):
    """Whether a server could take the port now: with SO_REUSEADDR for TCP, as servers (and
    diyc) bind, so connections of the last run still in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, kind) as sk:
        if kind == socket.SOCK_STREAM:
            sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sk.bind((addr, port))
            return True
        except OSError:
            return False


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def start_httpd(s, name, port, *extra):
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", *extra, "busybox", "sh", "-c",
                        WWW + "exec httpd -f -p 80 -h /www"))
    dt.wait_until(lambda: try_fetch(f"http://127.0.0.1:{port}/index.html"), 10, what="httpd to answer")


def try_fetch(url):
    try:
        return fetch(url, timeout=2) == b"hello\n"
    except OSError:
        return False


def host_has_ipv6():
    try:
        with open("/proc/net/if_inet6") as f:
            return any(line.split()[3] == "00" and line.split()[5] != "lo" for line in f)
    except OSError:
        return False


def monitor_of(s, name):
    return dt.proc_ppid(dt.container_pid(s, name))


def status_field(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1]
    return None


@needs_tun
def test_default_network_is_slirp(s, name):
    links = sorted(os.listdir("/sys/class/net"))
    res = dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c",
                              "ip -o -4 addr show tap0; cat /etc/resolv.conf"))
    assert "inet 10.0.2.100/24" in res.stdout, dt.describe(res)
    lines = res.stdout.splitlines()
    resolv = lines[1:]
    assert resolv[0] == "nameserver 10.0.2.3", "slirp's DNS forwarder comes first\n" + dt.describe(res)
    assert sum(1 for line in resolv if line.startswith("nameserver")) == 1, dt.describe(res)
    # the host's search and options lines are kept
    with open("/etc/resolv.conf") as f:
        kept = [line.strip() for line in f if line.split()[:1] in (["search"], ["options"], ["domain"])]
    for line in kept:
        assert line in resolv, f"`{line}` of the host's resolv.conf is missing\n" + dt.describe(res)
    assert dt.inspect(s, name)["HostConfig"]["NetworkMode"] == "slirp"
    # tap0 went with the container's network namespace, never into the host's
    dt.wait_until(lambda: sorted(os.listdir("/sys/class/net")) == links, 5, what="the host's links as before")


@needs_tun
def test_httpd_published_many_fetches(s, name):
    port = free_port()
    start_httpd(s, name, port)
    for _ in range(100):
        assert fetch(f"http://127.0.0.1:{port}/index.html") == b"hello\n"
    blob = fetch(f"http://127.0.0.1:{port}/blob")
    inside = dt.assert_ok(s.diyc("exec", name, "sha256sum", "/www/blob")).stdout.split()[0]
    assert len(blob) == 4 << 20 and hashlib.sha256(blob).hexdigest() == inside, "the 4 MiB file arrived changed"
    # many at once
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        got = list(ex.map(lambda _: fetch(f"http://127.0.0.1:{port}/index.html"), range(64)))
    assert got == [b"hello\n"] * 64
    ps = dt.assert_ok(s.diyc("ps")).stdout
    assert f"127.0.0.1:{port}->80/tcp" in ps, ps
    pb = dt.inspect(s, name)["HostConfig"]["PortBindings"]
    assert pb == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}, pb


@needs_tun
def test_udp_echo_published(s, name):
    port = free_port(socket.SOCK_DGRAM)
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:7/udp",
                        "-v", f"{udp_echo_bin()}:/udp-echo:ro", "busybox", "/udp-echo", "7"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sk:
        sk.settimeout(0.5)

        def echoes(payload):
            sk.sendto(payload, ("127.0.0.1", port))
            try:
                return sk.recvfrom(70000)[0] == payload
            except socket.timeout:
                return False

        # the first datagram may race the echo server's start
        dt.wait_until(lambda: echoes(b"ready?"), 10, what="the echo server")
        for size in (1, 100, 1400, 9000, 60000):
            payload = os.urandom(size)
            assert echoes(payload), f"a {size}-byte datagram did not come back"
    # a second client is a second flow
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sk2:
        sk2.settimeout(2)
        sk2.sendto(b"second", ("127.0.0.1", port))
        assert sk2.recvfrom(100)[0] == b"second"


@needs_tun
def test_ten_containers_ports_freed_at_stop(s):
    names = [dt.unique_name("pub") for _ in range(10)]
    ports = [free_port() for _ in names]
    assert len(set(ports)) == 10
    for n, p in zip(names, ports):
        dt.assert_ok(s.diyc("run", "-d", "--name", n, "-p", f"127.0.0.1:{p}:80", "busybox", "sh", "-c",
                            f"mkdir -p /www && echo {n} > /www/index.html && exec httpd -f -p 80 -h /www"))
    for n, p in zip(names, ports):
        dt.wait_until(lambda: fetch_or_none(f"http://127.0.0.1:{p}/") == f"{n}\n".encode(), 10,
                      what=f"container {n} to answer on port {p}")
    for n, p in zip(names, ports):
        assert not port_bindable(p), f"port {p} should be held while {n} runs"
    dt.assert_ok(s.diyc("stop", "-t", "1", *names))
    free = [p for p in ports if port_bindable(p)]
    assert free == ports, "every port must be free when stop returns"
    # and published again by start
    dt.assert_ok(s.diyc("start", names[0]))
    dt.wait_until(lambda: fetch_or_none(f"http://127.0.0.1:{ports[0]}/") == f"{names[0]}\n".encode(), 10,
                  what="the restarted container to answer")


def fetch_or_none(url):
    try:
        return fetch(url, timeout=2)
    except OSError:
        return None


@needs_tun
def test_nothing_listening_is_a_closed_connection(s, name):
    port = free_port()
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "100"))
    # the reset may come before connect() returns or after: both are the connection ending
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.settimeout(5)
            try:
                data = c.recv(10)
            except ConnectionResetError:
                data = b""
    except ConnectionResetError:
        data = b""
    assert data == b"", "a connection to a port nobody listens on in the container ends at once"


@needs_tun
def test_supervisor_confined(s, name):
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sleep", "100"))
    pid1 = dt.container_pid(s, name)
    mon = dt.proc_ppid(pid1)
    assert status_field(mon, "NoNewPrivs") == "1"
    assert status_field(mon, "Seccomp") == "2", "the supervisor runs under a seccomp filter"
    # the container's own processes are not touched by it (its command: diyc's init sets
    # no_new_privs for itself, see docs/security.md)
    with open(f"/proc/{pid1}/task/{pid1}/children") as f:
        command = int(f.read().split()[0])
    assert status_field(command, "NoNewPrivs") == "0"
    # and --rm still removes files of other ids through the container's user namespace
    n2 = dt.unique_name("conf")
    dt.assert_ok(s.diyc("run", "--rm", "--name", n2, "busybox", "sh", "-c",
                        "mkdir -p /x/d && touch /x/d/f && chown -R 1234:1234 /x && chmod 700 /x/d"))
    assert n2 not in dt.ps_all(s)
    assert not list(s.data.glob(f"containers/*{n2}*")), "the --rm container's files must be gone"


@needs_tun
@pytest.mark.skipif(not host_has_ipv6(), reason="this host has no global IPv6 address, so containers get none")
def test_ipv6(s, name):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.bind(("::1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        res = s.diyc("run", "-d", "--name", name, "--net=slirp:allow_host_loopback=true", "busybox", "sh", "-c",
                     f"ip -o -6 addr show tap0; ip -6 route; echo hi6 | nc fd00::2 {port}")
        dt.assert_ok(res)
        srv.settimeout(10)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(5)
            assert conn.recv(10) == b"hi6\n"
    finally:
        srv.close()
    dt.wait_exited(s, name, timeout=10)
    out = dt.assert_ok(s.diyc("logs", name)).stdout
    assert "fd00::100/64" in out and "default via fd00::2" in out, out


@needs_tun
def test_publish_on_ipv6_loopback(s, name):
    if not socket.has_ipv6 or not Path("/proc/net/if_inet6").exists():
        pytest.skip("IPv6 is disabled in this kernel")
    port = free_port(family=socket.AF_INET6, addr="::1")
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "-p", f"[::1]:{port}:80", "busybox", "sh", "-c",
                        "mkdir /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www"))
    dt.wait_until(lambda: try_fetch(f"http://[::1]:{port}/index.html"), 10, what="httpd on [::1]")


BAD = [
    ("80", "a host port is needed"),
    ("0:80", "bad host port `0`"),
    ("70000:80", "bad host port `70000`"),
    ("8080:0", "bad container port `0`"),
    ("8080:65536", "bad container port `65536`"),
    ("8080:80/sctp", "unknown protocol `sctp`"),
    ("8080:80/", "unknown protocol"),
    ("x:80", "bad host port `x`"),
    ("1.2.3:8080:80", "bad host address `1.2.3`"),
    ("[::1:8080:80", "bad host address"),
    (":8080:80", "empty host address"),
    ("8080-8081:80", "port ranges are not supported"),
    ("", "a host port is needed"),
]


@pytest.mark.parametrize("spec,needle", BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_publish(s, spec, needle):
    before = s.snapshot()
    dt.assert_error(s.diyc("run", "--rm", "-p", spec, "busybox", "true"), f"invalid -p `{spec}`", needle)
    assert s.snapshot() == before, "nothing may be created"


@pytest.mark.parametrize("net,needle", [("none", "no network to publish"), ("host", "uses the host's ports")])
def test_publish_needs_slirp(s, net, needle):
    before = s.snapshot()
    dt.assert_error(s.diyc("run", "--rm", f"--net={net}", "-p", "8080:80", "busybox", "true"), needle)
    assert s.snapshot() == before


@needs_tun
@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_busy_port(s, name, kind):
    st = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, st) as busy:
        busy.bind(("127.0.0.1", 0))
        if kind == "tcp":
            busy.listen(1)
        port = busy.getsockname()[1]
        before = s.snapshot()
        tok = dt.token()
        res = s.diyc("run", "--name", name, "-p", f"127.0.0.1:{port}:80/{kind}", "busybox", "sleep", tok)
        dt.assert_error(res, f"host port {port}/{kind} is already in use")
        assert s.snapshot() == before, "nothing may be left"
        assert not dt.processes_with(tok), "nothing may have started"
        assert name not in dt.ps_all(s)
    # a port taken by the same run twice
    port = free_port()
    dt.assert_error(s.diyc("run", "--rm", "-p", f"127.0.0.1:{port}:80", "-p", f"127.0.0.1:{port}:81", "busybox",
                           "true"), "already in use")
    assert port_bindable(port), "the first of the two must be closed again"


def unprivileged_port_start():
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        return int(f.read())


@needs_tun
def test_privileged_port(s, name):
    start = unprivileged_port_start()
    if os.geteuid() == 0 or start <= 1:
        pytest.skip(f"this user may bind every port (uid {os.geteuid()}, ip_unprivileged_port_start {start})")
    port = start - 1
    before = s.snapshot()
    dt.assert_error(s.diyc("run", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox", "true"),
                    f"host port {port} is privileged", "ip_unprivileged_port_start")
    assert s.snapshot() == before


@needs_tun
def test_busy_port_at_start(s, name):
    """A port taken while the container was stopped: start says so, the container stays as it was."""
    port = free_port()
    dt.assert_ok(s.diyc("run", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox", "true"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen(1)
        dt.assert_error(s.diyc("start", name), "already in use")
    assert dt.ps_entry(s, name)["State"] == "exited"
    dt.assert_ok(s.diyc("start", "-a", name))


def first_nameserver():
    with open("/etc/resolv.conf") as f:
        for line in f:
            w = line.split()
            if w[:1] == ["nameserver"] and len(w) > 1:
                return w[1]
    return None


@needs_tun
@pytest.mark.skipif(first_nameserver() != "127.53.0.1",
                    reason="needs the test resolver that tests/run-all starts on the host's 127.53.0.1 and names "
                    "in the tests' /etc/resolv.conf (traffic may only go to loopback)")
def test_dns_through_slirp_to_a_loopback_resolver(s):
    # the host's resolver listens on its loopback, as a stub resolver (127.0.0.53) does: the
    # container cannot reach it directly, slirp's forwarder at 10.0.2.3 asks it for it
    res = dt.assert_ok(s.diyc("run", "--rm", "busybox", "sh", "-c",
                              "head -1 /etc/resolv.conf; nslookup probe.diyc.test"))
    assert res.stdout.splitlines()[0] == "nameserver 10.0.2.3", dt.describe(res)
    assert "10.11.12.13" in res.stdout, dt.describe(res)
    res = s.diyc("run", "--rm", "busybox", "nslookup", "unknown.example.invalid")
    assert res.returncode != 0 and "10.11.12.13" not in res.stdout, dt.describe(res)


@needs_tun
def test_socket_maker_holds_nothing(s, name):
    port = free_port()
    start_httpd(s, name, port)
    mon = monitor_of(s, name)
    makers = [int(p) for p in os.listdir("/proc") if p.isdigit() and dt.proc_ppid(int(p)) == mon
              and Path(f"/proc/{p}/comm").read_text().strip() == "diyc-netns"]
    assert len(makers) == 1, "one helper makes the sockets in the container's network namespace"
    m = makers[0]
    assert status_field(m, "CapEff") == "0000000000000000", "it keeps no capability in the container's namespace"
    assert status_field(m, "NoNewPrivs") == "1"
    # it is not in the container's PID namespace: invisible inside
    inside = dt.assert_ok(s.diyc("exec", name, "sh", "-c", "cat /proc/[0-9]*/comm")).stdout.split()
    assert "diyc-netns" not in inside, inside
    # non-dumpable: its fds are not open to the user's other processes through /proc
    with pytest.raises(PermissionError):
        os.listdir(f"/proc/{m}/fd")
