# SPDX-License-Identifier: MIT
# Bridge networking: root sets up diyc0 once, a normal user runs containers on it through
# the set-uid diyc-nethelper, and that helper is attacked by the same user. tests/run-all
# runs this file as root inside private network and mount namespaces (fresh tmpfs over
# /run and /var/lib, an overlay over /etc): pytest is root only to set up and to look;
# every diyc and helper call of a user runs with that user's ids.
import concurrent.futures
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

DIYC = os.environ.get("DIYC", "diyc")
TOOLS = os.environ.get("DIYC_TOOLS", "tools")
HELPER = os.path.join(os.path.dirname(DIYC), "diyc-nethelper")
CONF = "/etc/diyc/nethelper.conf"
NETDIR = "/run/diyc/net"
LEASES = NETDIR + "/diyc0.leases"
BRIDGE = "diyc0"
NS_REFUSED = ("diyc-nethelper: fd 3 and fd 4 must be a network namespace and the user namespace "
              "that owns it, created by you")


def in_private_namespaces():
    if os.geteuid() != 0:
        return False
    try:
        fs = {d: subprocess.run(["stat", "-f", "-c", "%T", d], capture_output=True, text=True).stdout.strip()
              for d in ("/run", "/var/lib")}
        out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        # a network namespace of its own: nothing in it but what the tests make
        own_net = all(l.split(":")[1].strip().split("@")[0] in ("lo", "diyc0", "otherbr") or
                      l.split(":")[1].strip().startswith("vdiyc") for l in out.splitlines())
    except (OSError, IndexError):
        return False
    return fs == {"/run": "tmpfs", "/var/lib": "tmpfs"} and own_net and "DIYC_TEST_USER" in os.environ


pytestmark = pytest.mark.skipif(not in_private_namespaces(),
                                reason="needs root in the private namespaces tests/run-all makes for it")


class User:
    def __init__(self, name):
        self.pw = pwd.getpwnam(name)
        self.name = name
        self.uid = self.pw.pw_uid
        base = os.path.join(os.environ["DIYC_BRIDGE_HOME"], name)
        self.home = base
        self.env = {
            "HOME": base, "XDG_RUNTIME_DIR": base + "/run", "XDG_DATA_HOME": base + "/data",
            "TMPDIR": base + "/tmp", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
        }
        for d in (base, base + "/run", base + "/data", base + "/tmp"):
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.uid, self.pw.pw_gid)
            os.chmod(d, 0o700)

    def popen_args(self, fds=None, close_stdio=False, env=None):
        fds = fds or {}

        def pre():
            moved = {t: os.dup2(s, 200 + t) for t, s in fds.items()}
            for t in fds:
                os.dup2(200 + t, t)
                os.close(200 + t)
            if close_stdio:
                for fd in (0, 1, 2):
                    os.close(fd)
            del moved

        e = dict(self.env)
        if env is not None:
            e = env
        return dict(user=self.uid, group=self.pw.pw_gid, extra_groups=[], env=e,
                    preexec_fn=pre if fds or close_stdio else None, pass_fds=tuple(fds.keys()), cwd=self.home)

    def run(self, argv, timeout=60, fds=None, close_stdio=False, env=None, input=None):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                              **self.popen_args(fds, close_stdio, env))

    def diyc(self, *args, timeout=60):
        return self.run([DIYC, *args], timeout=timeout)

    def popen(self, argv, **kw):
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                **self.popen_args(**kw))


def describe(res):
    return f"exit {res.returncode}\nstdout: {res.stdout!r}\nstderr: {res.stderr!r}"


def ok(res):
    assert res.returncode == 0, describe(res)
    return res


def wait_until(pred, timeout=10, what="a condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def links():
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return sorted(l.split(":")[1].strip().split("@")[0] for l in out.splitlines())


def our_veths():
    return [l for l in links() if l.startswith("vdiyc")]


def leases():
    try:
        with open(LEASES) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        addr, veth, uid = line.split()
        out.append((addr, veth, int(uid)))
    return out


def settled():
    """Waits until every veth of ours has a lease: the kernel removes a veth with its
    container's network namespace in the background (the helper deletes one before it
    gives its lease back, and waits for it)."""
    wait_until(lambda: set(our_veths()) <= {v for _, v, _ in leases()}, what="given-back veths to go")


def snapshot():
    """What a refused call must not change (an empty lock or lease file may appear)."""
    settled()
    files = {}
    if os.path.isdir(NETDIR):
        for n in sorted(os.listdir(NETDIR)):
            if n.endswith(".lock"):
                continue
            with open(os.path.join(NETDIR, n), "rb") as f:
                data = f.read()
            if data or not n.endswith(".leases"):   # no leases: an empty file, or none
                files[n] = data
    return links(), files


def write_conf(text, mode=0o644, owner=0):
    os.makedirs("/etc/diyc", exist_ok=True)
    os.chmod("/etc/diyc", 0o755)
    with open(CONF, "w") as f:
        f.write(text)
    os.chmod(CONF, mode)
    os.chown(CONF, owner, 0)


@pytest.fixture(scope="module")
def user():
    u = User(os.environ["DIYC_TEST_USER"])
    res = u.run([os.path.join(TOOLS, "mkimage-busybox"), "--diyc", DIYC, "busybox"], timeout=120)
    assert res.returncode == 0, describe(res)
    return u


@pytest.fixture(scope="module")
def user2():
    return User(os.environ["DIYC_TEST_USER2"])


def ip_forward():
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        return f.read().strip()


FORWARD_BEFORE = []


@pytest.fixture(scope="module", autouse=True)
def bridge():
    FORWARD_BEFORE.append(ip_forward())
    res = subprocess.run([DIYC, "network", "setup"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, describe(res)
    # root's own image, for root's containers on the bridge
    res = subprocess.run([os.path.join(TOOLS, "mkimage-busybox"), "--diyc", DIYC, "busybox"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, describe(res)
    yield
    subprocess.run([DIYC, "network", "teardown"], capture_output=True, text=True, timeout=60)


@pytest.fixture(autouse=True)
def conf_and_cleanup(user):
    """Each test starts with the test user allowed 3 addresses, and ends with nothing of
    its containers left: no veth of ours, no lease."""
    write_conf(f"# test\n{user.name} bridge {BRIDGE} count 3\n")
    yield
    for name in user.diyc("ps", "-a", "-q").stdout.split():
        user.diyc("rm", "-f", name)
    subprocess.run([DIYC, "rm", "-f", *subprocess.run([DIYC, "ps", "-a", "-q"], capture_output=True,
                                                      text=True).stdout.split()], capture_output=True)
    wait_until(lambda: not our_veths(), what="the veths to go")
    assert not our_veths()
    # the next change drops stale leases: none may remain once the veths are gone
    assert all(os.path.exists(f"/sys/class/net/{v}") for _, v, _ in leases()), leases()


class Sleeper:
    """A process of a user in a user and network namespace of its own (unshare -Urn)."""

    def __init__(self, u):
        self.p = u.popen(["unshare", "-Urn", "sleep", "120"])
        wait_until(lambda: os.readlink(f"/proc/{self.p.pid}/ns/user") != os.readlink("/proc/self/ns/user"),
                   what="unshare")
        self.net = os.open(f"/proc/{self.p.pid}/ns/net", os.O_RDONLY)
        self.user = os.open(f"/proc/{self.p.pid}/ns/user", os.O_RDONLY)

    def close(self):
        os.close(self.net)
        os.close(self.user)
        self.p.kill()
        self.p.wait()


@pytest.fixture
def own_ns(user):
    s = Sleeper(user)
    yield s
    s.close()


def helper(u, *args, fds=None, **kw):
    return u.run([HELPER, *args], fds=fds, **kw)


# -- setup and teardown ---------------------------------------------------------------------------

def nft_table():
    return subprocess.run(["nft", "list", "table", "ip", "diyc_" + BRIDGE], capture_output=True, text=True)


def test_setup_made_bridge_forwarding_and_nat():
    addr = subprocess.run(["ip", "-4", "-o", "addr", "show", BRIDGE], capture_output=True, text=True).stdout
    assert "172.16.0.1/16" in addr
    assert ip_forward() == "1"
    t = nft_table()
    assert t.returncode == 0 and "ip saddr 172.16.0.0/16" in t.stdout and "masquerade" in t.stdout, describe(t)


def test_setup_twice_changes_nothing():
    before = (nft_table().stdout, links(), subprocess.run(["ip", "addr"], capture_output=True, text=True).stdout)
    ok(subprocess.run([DIYC, "network", "setup"], capture_output=True, text=True))
    after = (nft_table().stdout, links(), subprocess.run(["ip", "addr"], capture_output=True, text=True).stdout)
    assert before == after


def test_setup_with_another_subnet_is_refused():
    res = subprocess.run([DIYC, "network", "setup", "--subnet", "10.99.0.0/24"], capture_output=True, text=True)
    assert res.returncode == 125 and "exists with 172.16.0.1/16" in res.stderr and "teardown" in res.stderr, \
        describe(res)


def test_teardown_removes_everything_and_setup_again():
    ok(subprocess.run([DIYC, "network", "teardown"], capture_output=True, text=True))
    assert BRIDGE not in links()
    assert nft_table().returncode != 0, "the NAT table is gone"
    assert ip_forward() == FORWARD_BEFORE[0], "forwarding is as it was before setup"
    assert not [n for n in os.listdir(NETDIR) if n.startswith(BRIDGE)] if os.path.isdir(NETDIR) else True
    ok(subprocess.run([DIYC, "network", "teardown"], capture_output=True, text=True))  # nothing left: no error
    ok(subprocess.run([DIYC, "network", "setup", "--subnet", "10.77.0.0/24"], capture_output=True, text=True))
    addr = subprocess.run(["ip", "-4", "-o", "addr", "show", BRIDGE], capture_output=True, text=True).stdout
    assert "10.77.0.1/24" in addr
    ok(subprocess.run([DIYC, "network", "teardown"], capture_output=True, text=True))
    ok(subprocess.run([DIYC, "network", "setup"], capture_output=True, text=True))


@pytest.mark.parametrize("subnet", ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/31", "10.0.0.0/4", "300.1.1.1/16",
                                    "abc/16", "10.0.0.0/-1", "10.0.0.0/16x", ""])
def test_setup_bad_subnet(subnet):
    before = snapshot()
    res = subprocess.run([DIYC, "network", "setup", "--subnet", subnet], capture_output=True, text=True)
    assert res.returncode == 125 and "subnet" in res.stderr, describe(res)
    assert snapshot() == before


def test_setup_needs_root(user):
    for sub in ("setup", "teardown"):
        res = user.diyc("network", sub)
        assert res.returncode == 125 and "sudo diyc network " + sub in res.stderr, describe(res)
    assert BRIDGE in links()


def test_network_help_and_bad_commands(user):
    assert "setup" in ok(user.diyc("network", "--help")).stdout
    for args in (["network"], ["network", "bogus"], ["network", "ls", "--bogus"], ["network", "ls", "--format", "x"],
                 ["network", "ls", "extra"], ["network", "setup", "extra"], ["network", "teardown", "extra"],
                 ["network", "setup", "--subnet"]):
        res = user.diyc(*args)
        assert res.returncode == 125 and res.stderr.startswith("diyc: "), describe(res)


# -- containers of a normal user ----------------------------------------------------------------

def run_detached(u, name, *args):
    return ok(u.diyc("run", "-d", "--name", name, "--net=bridge", *args, timeout=60))


def inspect(u, name):
    return json.loads(ok(u.diyc("inspect", name)).stdout)[0]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def test_three_containers_reach_each_other_and_the_host_reaches_them(user):
    names = ["br-a", "br-b", "br-c"]
    for n in names:
        run_detached(user, n, "busybox", "sh", "-c", f"echo {n} > /tmp/who && exec httpd -f -p 80 -h /tmp")
    addrs = {n: inspect(user, n)["NetworkSettings"]["IPAddress"] for n in names}
    assert len(set(addrs.values())) == 3 and all(a.startswith("172.16.") for a in addrs.values()), addrs
    assert sorted(a for a, _, _ in leases()) == sorted(addrs.values())
    assert all(uid == user.uid for _, _, uid in leases())
    assert len(our_veths()) == 3
    # container to container
    for src in names:
        for dst in names:
            if src != dst:
                res = ok(user.diyc("exec", src, "wget", "-qO-", f"http://{addrs[dst]}/who"))
                assert res.stdout.strip() == dst
    # host to container
    for n in names:
        wait_until(lambda: _try_get(f"http://{addrs[n]}/who") == n + "\n", what=f"httpd of {n}")
    # ps shows the address
    ps = ok(user.diyc("ps")).stdout
    for n in names:
        row = [l for l in ps.splitlines() if l.startswith(n + " ")]
        assert row and addrs[n] in row[0].split(), ps
    ls = ok(user.diyc("network", "ls")).stdout
    assert all(a in ls for a in addrs.values()), ls


def _try_get(url):
    try:
        return http_get(url, timeout=2)
    except OSError:
        return None


def test_ip_gives_the_asked_address(user):
    run_detached(user, "br-ip", "--ip", "172.16.7.7", "busybox", "sleep", "60")
    assert inspect(user, "br-ip")["NetworkSettings"]["IPAddress"] == "172.16.7.7"
    res = ok(user.diyc("exec", "br-ip", "ip", "-4", "-o", "addr", "show", "eth0"))
    assert "172.16.7.7/16" in res.stdout
    res = ok(user.diyc("exec", "br-ip", "ip", "route"))
    assert "default via 172.16.0.1" in res.stdout
    # stop and start again at once (its old veth may still be going away): the same
    # address, kept in its configuration
    ok(user.diyc("stop", "-t", "1", "br-ip"))
    assert not leases()
    ok(user.diyc("start", "br-ip"))
    assert inspect(user, "br-ip")["NetworkSettings"]["IPAddress"] == "172.16.7.7"
    for _ in range(5):
        ok(user.diyc("stop", "-t", "1", "br-ip"))
        ok(user.diyc("start", "br-ip"))
    assert inspect(user, "br-ip")["NetworkSettings"]["IPAddress"] == "172.16.7.7"


@pytest.mark.parametrize("ip,needle", [
    ("10.1.2.3", "is not in the subnet"),
    ("172.16.0.1", "is the address of bridge"),
    ("172.16.255.255", "broadcast"),
    ("172.16.0.0", "network"),
])
def test_ip_refused(user, ip, needle):
    before = snapshot()
    res = user.diyc("run", "--rm", "--net=bridge", "--ip", ip, "busybox", "true")
    assert res.returncode == 125 and needle in res.stderr, describe(res)
    assert snapshot() == before
    assert ok(user.diyc("ps", "-a", "-q")).stdout == ""


def test_ip_taken(user):
    run_detached(user, "br-t", "--ip", "172.16.0.9", "busybox", "sleep", "60")
    before = snapshot()
    res = user.diyc("run", "--rm", "--net=bridge", "--ip", "172.16.0.9", "busybox", "true")
    assert res.returncode == 125 and "172.16.0.9 is taken" in res.stderr, describe(res)
    assert snapshot() == before


@pytest.mark.parametrize("args,needle", [
    (["--ip", "1.2.3"], "is not an IPv4 address"),
    (["--ip", "::1"], "is not an IPv4 address"),
    (["--net=none", "--ip", "172.16.0.5"], "--ip is for --net=bridge"),
    (["--net=bridgex"], "unknown network"),
])
def test_bad_bridge_flags(user, args, needle):
    before = snapshot()
    res = user.diyc("run", "--rm", *args, "busybox", "true")
    assert res.returncode == 125 and needle in res.stderr, describe(res)
    assert snapshot() == before


def test_quota_refuses_the_fourth(user):
    for i in range(3):
        run_detached(user, f"q{i}", "busybox", "sleep", "60")
    before = snapshot()
    res = user.diyc("run", "-d", "--name", "q3", "--net=bridge", "busybox", "sleep", "60")
    assert res.returncode == 125 and "holds 3 of the 3 addresses" in res.stderr, describe(res)
    assert "nethelper.conf" in res.stderr
    assert snapshot() == before
    assert sorted(ok(user.diyc("ps", "-a", "-q")).stdout.split()) == ["q0", "q1", "q2"]


def test_ten_concurrent_starts_with_quota_three(user):
    def start(i):
        return user.diyc("run", "-d", "--name", f"c{i}", "--net=bridge", "busybox", "sleep", "60", timeout=120)

    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        results = list(ex.map(start, range(10)))
    won = [r for r in results if r.returncode == 0]
    lost = [r for r in results if r.returncode != 0]
    assert len(won) == 3, [describe(r) for r in results]
    assert all("holds 3 of the 3" in r.stderr for r in lost), [describe(r) for r in lost]
    ls = leases()
    assert len(ls) == 3 and len({a for a, _, _ in ls}) == 3
    assert sorted(v for _, v, _ in ls) == our_veths()
    assert len(ok(user.diyc("ps", "-q")).stdout.split()) == 3


def test_stop_and_rm_leave_no_veth_or_lease(user):
    run_detached(user, "br-s", "busybox", "sleep", "60")
    assert len(our_veths()) == 1 and len(leases()) == 1
    ok(user.diyc("stop", "-t", "1", "br-s"))
    assert leases() == []
    wait_until(lambda: not our_veths(), what="the veth to go")
    ok(user.diyc("start", "br-s"))
    assert len(our_veths()) == 1
    ok(user.diyc("rm", "-f", "br-s"))
    assert leases() == []
    wait_until(lambda: not our_veths(), what="the veth to go")
    # --rm in the foreground
    res = ok(user.diyc("run", "--rm", "--net=bridge", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"))
    assert "172.16." in res.stdout
    assert leases() == []
    wait_until(lambda: not our_veths(), what="the veth to go")


def test_command_not_found_on_the_bridge_leaves_nothing(user):
    before = snapshot()
    res = user.diyc("run", "--rm", "--net=bridge", "busybox", "no-such-command")
    assert res.returncode == 127 and "no-such-command" in res.stderr, describe(res)
    assert snapshot() == before
    res = user.diyc("run", "--name", "br-x", "--net=bridge", "busybox", "sh", "-c", "exit 7")
    assert res.returncode == 7, describe(res)
    assert snapshot() == before
    ok(user.diyc("rm", "br-x"))


def test_kill_9_of_diyc_leaves_nothing_after_the_next_call(user):
    p = user.popen([DIYC, "run", "--name", "br-k", "--net=bridge", "busybox", "sleep", "60"])
    try:
        wait_until(lambda: len(leases()) == 1 and len(our_veths()) == 1, what="the container's lease")
        stale = leases()[0]
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        # the kernel removes the veth with the container's namespace
        wait_until(lambda: not our_veths(), what="the veth to go with the namespace")
        # the next call drops the stale lease
        ok(user.diyc("run", "--rm", "--net=bridge", "busybox", "true"))
        assert stale not in leases() and leases() == []
        assert user.diyc("ps", "-a", "--format", "json").returncode == 0
        ok(user.diyc("rm", "-f", "br-k"))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_publish_in_bridge_mode(user):
    port = 18080
    run_detached(user, "br-p", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c",
                 "echo published > /tmp/x && exec httpd -f -p 80 -h /tmp")
    wait_until(lambda: _try_get(f"http://127.0.0.1:{port}/x") == "published\n", what="the published port")
    ok(user.diyc("stop", "-t", "1", "br-p"))
    assert _try_get(f"http://127.0.0.1:{port}/x") is None


def test_root_runs_on_the_bridge_by_default(user):
    res = subprocess.run([DIYC, "run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "172.16." in res.stdout, describe(res)
    assert leases() == []


def test_without_helper_allowance_clear_error(user):
    write_conf("# nobody\n")
    before = snapshot()
    res = user.diyc("run", "--rm", "--net=bridge", "busybox", "true")
    assert res.returncode == 125 and "does not let" in res.stderr and user.name in res.stderr, describe(res)
    assert snapshot() == before


# -- attacks on the helper, as the user ------------------------------------------------------------

def test_helper_legit_call_then_release(user, own_ns):
    res = ok(helper(user, "add", BRIDGE, fds={3: own_ns.net, 4: own_ns.user}))
    m = re.fullmatch(r"(vdiyc[0-9a-f]{8}) (172\.16\.\d+\.\d+)/16 172\.16\.0\.1 (\d+)\n", res.stdout)
    assert m, res.stdout
    veth, addr = m.group(1), m.group(2)
    assert our_veths() == [veth] and leases() == [(addr, veth, user.uid)]
    # the peer is in the caller's namespace, as eth0
    inside = subprocess.run(["nsenter", f"--net=/proc/{own_ns.p.pid}/ns/net", "ip", "-o", "link"],
                            capture_output=True, text=True).stdout
    assert " eth0@" in inside
    ok(helper(user, "release", BRIDGE, addr))
    # the veth went before its lease, and the helper waited for it: neither is left
    assert leases() == [] and our_veths() == []


def refused_ns(user, fds):
    before = snapshot()
    res = helper(user, "add", BRIDGE, fds=fds)
    assert res.returncode == 1, describe(res)
    assert res.stderr.strip() == NS_REFUSED, describe(res)
    assert snapshot() == before


def test_helper_refuses_the_hosts_namespace(user, own_ns):
    net = os.open("/proc/self/ns/net", os.O_RDONLY)
    init_user = os.open("/proc/self/ns/user", os.O_RDONLY)
    try:
        refused_ns(user, {3: net, 4: init_user})
        refused_ns(user, {3: net, 4: own_ns.user})
    finally:
        os.close(net)
        os.close(init_user)


def test_helper_refuses_a_namespace_root_made(user, own_ns):
    subprocess.run(["ip", "netns", "add", "diyc-attack"], check=True)
    try:
        net = os.open("/run/netns/diyc-attack", os.O_RDONLY)
        try:
            refused_ns(user, {3: net, 4: own_ns.user})
        finally:
            os.close(net)
    finally:
        subprocess.run(["ip", "netns", "del", "diyc-attack"], check=True)


def test_helper_refuses_another_users_namespace(user, user2, own_ns):
    other = Sleeper(user2)
    try:
        refused_ns(user, {3: other.net, 4: other.user})
        refused_ns(user, {3: other.net, 4: own_ns.user})
        refused_ns(user, {3: own_ns.net, 4: other.user})
    finally:
        other.close()


def test_helper_refuses_what_is_not_a_namespace(user, own_ns, tmp_path):
    null = os.open("/dev/null", os.O_RDONLY)
    f = tmp_path / "file"
    f.write_text("x")
    reg = os.open(f, os.O_RDONLY)
    try:
        refused_ns(user, {3: null, 4: own_ns.user})
        refused_ns(user, {3: reg, 4: own_ns.user})
        refused_ns(user, {3: own_ns.user, 4: own_ns.user})   # a user namespace in place of the network one
        refused_ns(user, {3: own_ns.net, 4: own_ns.net})
        refused_ns(user, {3: own_ns.net})                     # fd 4 missing
        refused_ns(user, {})                                  # neither
    finally:
        os.close(null)
        os.close(reg)


@pytest.mark.parametrize("ip,needle", [
    ("10.1.2.3", "is not in the subnet"),
    ("172.16.0.1", "is the address of bridge"),
    ("172.16.255.255", "broadcast"),
    ("172.16.0.0", "network"),
])
def test_helper_refuses_bad_addresses(user, own_ns, ip, needle):
    before = snapshot()
    res = helper(user, "add", BRIDGE, ip, fds={3: own_ns.net, 4: own_ns.user})
    assert res.returncode == 1 and needle in res.stderr, describe(res)
    assert snapshot() == before


def test_helper_refuses_a_taken_address(user, own_ns):
    run_detached(user, "br-taken", "--ip", "172.16.0.20", "busybox", "sleep", "60")
    before = snapshot()
    res = helper(user, "add", BRIDGE, "172.16.0.20", fds={3: own_ns.net, 4: own_ns.user})
    assert res.returncode == 1 and "is taken" in res.stderr, describe(res)
    assert snapshot() == before


def test_helper_refuses_a_bridge_not_in_the_config(user, own_ns):
    subprocess.run(["ip", "link", "add", "otherbr", "type", "bridge"], check=True)
    try:
        before = snapshot()
        for br in ("otherbr", "nosuchbr"):
            res = helper(user, "add", br, fds={3: own_ns.net, 4: own_ns.user})
            assert res.returncode == 1 and "does not let" in res.stderr, describe(res)
        assert snapshot() == before
    finally:
        subprocess.run(["ip", "link", "del", "otherbr"], check=True)


@pytest.mark.parametrize("case", ["user-owned", "group-writable", "world-writable", "symlink", "dir-writable",
                                  "bad-line", "bad-count", "missing"])
def test_helper_refuses_everything_with_an_unsafe_or_bad_config(user, own_ns, case):
    good = f"{user.name} bridge {BRIDGE} count 3\n"
    if case == "user-owned":
        write_conf(good, owner=user.uid)
    elif case == "group-writable":
        write_conf(good, mode=0o664)
    elif case == "world-writable":
        write_conf(good, mode=0o666)
    elif case == "symlink":
        os.makedirs("/run/diyc-conf", exist_ok=True)
        with open("/run/diyc-conf/real", "w") as f:
            f.write(good)
        os.unlink(CONF)
        os.symlink("/run/diyc-conf/real", CONF)
    elif case == "dir-writable":
        write_conf(good)
        os.chmod("/etc/diyc", 0o777)
    elif case == "bad-line":
        write_conf(good + "this line is wrong\n")
    elif case == "bad-count":
        write_conf(f"{user.name} bridge {BRIDGE} count -1\n")
    elif case == "missing":
        os.unlink(CONF)
    try:
        before = snapshot()
        res = helper(user, "add", BRIDGE, fds={3: own_ns.net, 4: own_ns.user})
        assert res.returncode == 1 and "nethelper.conf" in res.stderr, describe(res)
        assert snapshot() == before
    finally:
        os.chmod("/etc/diyc", 0o755)
        if os.path.islink(CONF):
            os.unlink(CONF)


@pytest.mark.parametrize("args", [
    [], ["add"], ["bogus", BRIDGE], ["add", BRIDGE, "172.16.0.5", "extra"], ["release", BRIDGE],
    ["add", "x" * 16], ["add", "x" * 5000], ["add", "../../etc"], ["add", "br/0"], ["add", "-rf"],
    ["add", BRIDGE, "172.16.0.05"], ["add", BRIDGE, "172.16.0"], ["add", BRIDGE, "::1"],
    ["add", BRIDGE, "172.16.0.5" + "0" * 100], ["add", "diyc0\nx"], ["add", ""],
])
def test_helper_refuses_malformed_arguments(user, own_ns, args):
    before = snapshot()
    res = helper(user, *args, fds={3: own_ns.net, 4: own_ns.user})
    assert res.returncode == 2 and res.stderr.startswith("diyc-nethelper: ") and res.stderr.count("\n") == 1, \
        describe(res)
    assert snapshot() == before


def test_helper_with_stdio_closed(user, own_ns):
    # the dynamic loader of a set-uid program opens /dev/full and /dev/null (read-only) in
    # place of closed fds 0-2: the helper cannot print its answer, so it gives the lease
    # back, and nothing it opened took the place of stdout
    before = snapshot()
    with open(CONF) as f:
        conf = f.read()
    res = helper(user, "add", BRIDGE, fds={3: own_ns.net, 4: own_ns.user}, close_stdio=True)
    assert res.returncode == 1
    assert snapshot() == before
    with open(CONF) as f:
        assert f.read() == conf
    # and with only stdout open it works
    res = helper(user, "add", BRIDGE, fds={3: own_ns.net, 4: own_ns.user})
    assert res.returncode == 0 and len(leases()) == 1, describe(res)
    ok(helper(user, "release", BRIDGE, leases()[0][0]))


def test_helper_ignores_ld_preload_and_odd_environment(user, own_ns, tmp_path):
    if not shutil.which("cc"):
        pytest.skip("no C compiler to build the preload library")
    marker = tmp_path / "preloaded"
    src = tmp_path / "evil.c"
    src.write_text('#include <stdio.h>\n__attribute__((constructor)) static void f(void) '
                   f'{{ FILE *f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')
    so = tmp_path / "evil.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    os.chmod(tmp_path, 0o777)
    os.chmod(so, 0o755)
    env = dict(user.env, LD_PRELOAD=str(so), LD_LIBRARY_PATH=str(tmp_path), GCONV_PATH=str(tmp_path),
               LOCALPATH=str(tmp_path), NLSPATH=str(tmp_path) + "/%N", PATH=str(tmp_path), IFS="x",
               HOSTALIASES=str(tmp_path / "h"), MALLOC_CHECK_="3", LIBNL_DEBUG="9", NLDBG="9", NLCB="debug",
               BIG="x" * 100000)
    res = helper(user, "add", BRIDGE, fds={3: own_ns.net, 4: own_ns.user}, env=env)
    assert res.returncode == 0, describe(res)
    assert not marker.exists(), "LD_PRELOAD ran in the set-uid helper"
    assert res.stderr == "", "libnl's debug output was not turned on by the environment"
    addr = res.stdout.split()[1].split("/")[0]
    ok(helper(user, "release", BRIDGE, addr, env=env))
    # the same library does run in an ordinary program: the test would notice
    subprocess.run(["true"], env={"LD_PRELOAD": str(so)}, check=True)
    assert marker.exists()


def test_helper_refuses_release_of_another_users_lease(user, own_ns):
    # a lease of root's (a root container) and one of the user's
    p = subprocess.Popen([DIYC, "run", "--name", "rootc", "--net=bridge", "busybox", "sleep", "60"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: any(uid == 0 for _, _, uid in leases()), what="root's lease")
        root_addr = [a for a, _, uid in leases() if uid == 0][0]
        before = snapshot()
        res = helper(user, "release", BRIDGE, root_addr)
        assert res.returncode == 1 and "is not yours" in res.stderr, describe(res)
        res = helper(user, "release", BRIDGE, "172.16.200.200")
        assert res.returncode == 1 and "no container holds" in res.stderr, describe(res)
        assert snapshot() == before
    finally:
        subprocess.run([DIYC, "rm", "-f", "rootc"], capture_output=True)
        p.wait(timeout=30)


def test_helper_files_keep_their_modes_under_any_umask(user, own_ns):
    env_umask = ["sh", "-c", 'umask 777; exec "$0" "$@"', HELPER]
    res = user.run(env_umask + ["add", BRIDGE], fds={3: own_ns.net, 4: own_ns.user})
    assert res.returncode == 0, describe(res)
    addr = res.stdout.split()[1].split("/")[0]
    ok(user.run(env_umask + ["release", BRIDGE, addr]))
    modes = {n: os.stat(os.path.join(NETDIR, n)).st_mode & 0o7777 for n in os.listdir(NETDIR)}
    assert modes[BRIDGE + ".leases"] == 0o644 and modes[BRIDGE + ".lock"] == 0o600, modes
    assert os.stat(NETDIR).st_mode & 0o7777 == 0o755
    # and the next call of another umask works (once the last pair, whose eth0 is in the
    # same namespace, is gone)
    settled()
    res = helper(user, "add", BRIDGE, fds={3: own_ns.net, 4: own_ns.user})
    assert res.returncode == 0, describe(res)
    ok(helper(user, "release", BRIDGE, res.stdout.split()[1].split("/")[0]))


def test_user_cannot_hold_the_lease_lock(user):
    # the lock is root's alone: a user cannot take it and stall everyone's calls
    res = user.run(["flock", "-n", "-x", os.path.join(NETDIR, BRIDGE + ".lock"), "true"])
    assert res.returncode != 0 and "Permission denied" in res.stderr, describe(res)
    assert "ADDRESS" in ok(user.diyc("network", "ls")).stdout or leases() == []


def test_helper_release_creates_nothing(user):
    before = snapshot()
    for br in ("br0", "nosuchbr", BRIDGE):
        res = helper(user, "release", br, "1.1.1.1")
        assert res.returncode == 1, describe(res)
    assert snapshot() == before
    assert not [n for n in os.listdir(NETDIR) if n.startswith(("br0", "nosuchbr"))]


def test_helper_waits_for_the_lock_a_bounded_time_and_cannot_be_stopped_by_the_caller(user, own_ns):
    import fcntl
    fd = os.open(os.path.join(NETDIR, BRIDGE + ".lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        p = user.popen([HELPER, "add", BRIDGE], fds={3: own_ns.net, 4: own_ns.user})
        time.sleep(0.3)
        assert p.poll() is None, "the helper waits for the lock"
        # its ids are all root's now: the caller cannot stop it while it waits or holds the lock
        res = user.run(["kill", "-STOP", str(p.pid)])
        assert res.returncode != 0, describe(res)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 1 and "stayed locked" in err, (p.returncode, out, err)
    finally:
        os.close(fd)
    assert leases() == [] and our_veths() == []


def test_iptables_fallback_where_nft_is_missing(tmp_path):
    nft = shutil.which("nft")
    ipt = shutil.which("iptables")
    if not ipt:
        pytest.skip("iptables is not installed: the fallback cannot be tried")
    ok(subprocess.run([DIYC, "network", "teardown"], capture_output=True, text=True))
    blank = tmp_path / "no-nft"
    blank.write_text("")
    os.chmod(blank, 0o644)   # not executable: diyc must not find nft
    subprocess.run(["mount", "--bind", str(blank), nft], check=True)
    rule = ["-t", "nat", "-C", "POSTROUTING", "-s", "172.16.0.0/16", "!", "-o", BRIDGE,
            "-m", "comment", "--comment", "diyc_" + BRIDGE, "-j", "MASQUERADE"]
    try:
        ok(subprocess.run([DIYC, "network", "setup"], capture_output=True, text=True))
        ok(subprocess.run([DIYC, "network", "setup"], capture_output=True, text=True))
        ok(subprocess.run([ipt, "-w", *rule], capture_output=True, text=True))
        listing = subprocess.run([ipt, "-w", "-t", "nat", "-S", "POSTROUTING"], capture_output=True, text=True).stdout
        assert listing.count("diyc_" + BRIDGE) == 1, "setup twice adds the rule once\n" + listing
        ok(subprocess.run([DIYC, "network", "teardown"], capture_output=True, text=True))
        assert subprocess.run([ipt, "-w", *rule], capture_output=True, text=True).returncode != 0
        assert BRIDGE not in links()
    finally:
        subprocess.run(["umount", nft], check=True)
        ok(subprocess.run([DIYC, "network", "setup"], capture_output=True, text=True))
    assert nft_table().returncode == 0


def test_helper_with_eth0_taken_in_the_namespace(user):
    p = user.popen(["unshare", "-Urn", "sh", "-c", "ip link add eth0 type veth peer name x0 && exec sleep 120"])
    try:
        def has_eth0():
            r = subprocess.run(["nsenter", f"--net=/proc/{p.pid}/ns/net", "ip", "-o", "link"],
                               capture_output=True, text=True)
            return re.search(r" eth0[@:]", r.stdout) is not None
        wait_until(has_eth0, what="eth0 in the user's namespace")
        net = os.open(f"/proc/{p.pid}/ns/net", os.O_RDONLY)
        usr = os.open(f"/proc/{p.pid}/ns/user", os.O_RDONLY)
        try:
            before = snapshot()
            res = helper(user, "add", BRIDGE, fds={3: net, 4: usr})
            assert res.returncode == 1 and "`eth0` in the container's network namespace" in res.stderr, describe(res)
            assert snapshot() == before
        finally:
            os.close(net)
            os.close(usr)
    finally:
        p.kill()
        p.wait()


def test_root_monitor_leaves_no_process_holding_the_container(user):
    # a root diyc gives the lease back from its monitor: nothing of it (no process that
    # deletes the veth) may keep
    # any fd of the monitor's, the container's lock among them
    ok(subprocess.run([DIYC, "run", "-d", "--name", "rootlock", "--net=bridge", "busybox", "sleep", "60"],
                      capture_output=True, text=True, timeout=60))
    lock = "/var/lib/diyc/containers/rootlock/lock"
    assert os.path.exists(lock)
    ok(subprocess.run([DIYC, "stop", "-t", "1", "rootlock"], capture_output=True, text=True, timeout=60))
    holders = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == lock:
                    holders.append(pid)
        except OSError:
            continue
    assert holders == [], f"processes still holding {lock}: {holders}"
    ok(subprocess.run([DIYC, "rm", "rootlock"], capture_output=True, text=True, timeout=60))
