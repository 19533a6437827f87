# SPDX-License-Identifier: MIT
# diyc-nethelper against the signals its caller can make happen: a user who runs it on a
# pty of its own (^C, TIOCSIG, a hangup, the SIGHUP of a session leader's exit), with an
# itimer armed before execve, with its output on a closed pipe, with low limits, or who
# has it SIGKILLed at any instant (as a delegated cgroup's cgroup.kill would). Whatever
# happens, no veth may be left on the bridge without its lease, and another user's call
# may not wait long. Run like test_bridge.py, whose helpers it uses: root inside private
# network and mount namespaces, every helper call with the user's ids.
import concurrent.futures
import fcntl
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from test_bridge import (BRIDGE, CONF, HELPER, LEASES, NETDIR, Sleeper, bridge, conf_and_cleanup,  # noqa: F401
                         describe, leases, ok, own_ns, pytestmark, user, user2, wait_until, write_conf)

# Run as the user: starts the helper (argv[3:]) on a new pty, in a session of its own
# whose controlling terminal that pty is, then attacks it as MODE says, DELAY seconds
# after its execve (once its /proc/PID/exe is closed to the user: its creds are root's);
# prints how it ended, and whether it had blocked SIGINT when the attack began.
#   intr         writes ^C to the master, again and again until the helper is gone
#   tiocsig-int  ioctl(TIOCSIG, SIGINT) on the master, again and again
#   tiocsig-quit ioctl(TIOCSIG, SIGQUIT) on the master, again and again
#   hangup       closes the master: SIGHUP and SIGCONT to the session
#   leader       nothing: the helper leads the session, and the kernel sends SIGHUP to
#                the terminal's foreground process group when it exits
#   alarm        an ITIMER_REAL of DELAY, armed before execve (itimers survive it)
DRIVER = r'''
import fcntl, os, signal, sys, termios, time
TIOCSIG = 0x40045436
mode, delay, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
master, slave = os.openpty()
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    if mode == "alarm":
        signal.setitimer(signal.ITIMER_REAL, delay)
    os.execv(argv[0], argv)
os.close(slave)
fcntl.fcntl(master, fcntl.F_SETFL, os.O_NONBLOCK)
def drain():
    try:
        while os.read(master, 4096):
            pass
    except OSError:
        pass
def gone():
    p, status = os.waitpid(pid, os.WNOHANG)
    return status if p else None
def execed():
    try:
        os.readlink(f"/proc/{pid}/exe")
        return False
    except OSError:
        return True
def sigint_blocked():
    try:
        with open(f"/proc/{pid}/status") as f:
            blk = [l for l in f if l.startswith("SigBlk:")][0].split()[1]
        return bool(int(blk, 16) & (1 << (signal.SIGINT - 1)))
    except (OSError, IndexError):
        return False
status, shielded = None, "-"
while not execed() and (status := gone()) is None:
    pass
t0 = time.monotonic()
if mode in ("intr", "tiocsig-int", "tiocsig-quit", "hangup"):
    while time.monotonic() - t0 < delay and status is None and (status := gone()) is None:
        pass
    if status is None:
        shielded = "blocked" if sigint_blocked() else "open"
    if mode == "hangup" and status is None:
        os.close(master)
        master = -1
    while status is None:
        if mode == "intr":
            os.write(master, b"\x03")
        elif mode != "hangup":
            fcntl.ioctl(master, TIOCSIG, signal.SIGINT if mode == "tiocsig-int" else signal.SIGQUIT)
        if master >= 0:
            drain()
        time.sleep(0.0002)
        status = gone()
else:
    while status is None and (status := gone()) is None:
        if master >= 0:
            drain()
        time.sleep(0.0005)
how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
print(how, shielded, round(time.monotonic() - t0, 4))
'''


def ports():
    """The links plugged into the bridge, as `ip` sees them."""
    out = subprocess.run(["ip", "-o", "link", "show", "master", BRIDGE], capture_output=True, text=True,
                         check=True).stdout
    return sorted(l.split(":")[1].strip().split("@")[0] for l in out.splitlines())


def orphans():
    """The veths of ours on the bridge that have no lease."""
    held = {v for _, v, _ in leases()}
    return [p for p in ports() if p.startswith("vdiyc") and p not in held]


def orphans_after_settling(timeout=1.5):
    """The orphans still there after a while: an older helper deleted a given-back veth in
    the background, which takes the kernel some 20 ms."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        left = orphans()
        if not left:
            return []
        time.sleep(0.05)
    return orphans()


def delete_links(names):
    for n in names:
        subprocess.run(["ip", "link", "del", n], capture_output=True)


def add(user, ns, *addr):
    res = ok(user.run([HELPER, "add", BRIDGE, *addr], fds={3: ns.net, 4: ns.user}))
    return res.stdout.split()[1].split("/")[0]


def give_back_all(user):
    """Gives back whatever lease the user still holds (a helper killed before it did)."""
    for a, _, uid in leases():
        if uid == user.uid:
            user.run([HELPER, "release", BRIDGE, a])
    wait_until(lambda: not [p for p in ports() if p.startswith("vdiyc")], what="the veths to go")


def attack_releases(user, ns, mode, delays):
    """For each delay: adds a lease, then releases it under attack `mode` on a pty. Returns
    the orphans seen (each removed before the next round) and how the helpers ended."""
    seen, ends = [], []
    for d in delays:
        addr = add(user, ns)
        res = user.run([sys.executable, "-c", DRIVER, mode, f"{d:.4f}", HELPER, "release", BRIDGE, addr],
                       timeout=30)
        assert res.returncode == 0, describe(res)
        ends.append(res.stdout.strip())
        left = orphans_after_settling()
        if left:
            seen.append((mode, d, left))
            delete_links(left)
        give_back_all(user)
    return seen, ends


def release_time(user, ns):
    """How long a release takes, started on a pty as the driver does."""
    times = []
    for _ in range(3):
        addr = add(user, ns)
        res = ok(user.run([sys.executable, "-c", DRIVER, "leader", "0", HELPER, "release", BRIDGE, addr]))
        times.append(float(res.stdout.split()[3]))
        delete_links(orphans_after_settling())
        give_back_all(user)
    return min(times)


@pytest.mark.parametrize("mode", ["intr", "tiocsig-int", "tiocsig-quit", "hangup", "alarm"])
def test_release_interrupted_from_the_terminal_leaves_no_veth_without_its_lease(user, own_ns, mode):
    t = release_time(user, own_ns)
    # from the start of the helper to past its end, in 16 steps
    delays = [t * i / 12 for i in range(16)]
    seen, ends = attack_releases(user, own_ns, mode, delays)
    print(f"{mode}: release takes {t:.4f} s; the helpers ended: {ends}")
    assert seen == [], f"veths left without a lease: {seen} (release takes {t:.4f} s; helpers ended {ends})"
    # a signal may still end it while the dynamic loader runs, before its first
    # instruction (harmless: it has done nothing yet), never once it has blocked them
    assert all(e.startswith("exit 0 ") for e in ends if " blocked " in e), ends
    if mode != "alarm":
        assert any(" blocked " in e for e in ends), f"no attack came after the helper's start: {ends}"


def test_release_as_session_leader_leaves_no_veth_without_its_lease(user, own_ns):
    # the kernel sends SIGHUP to the terminal's foreground process group when the session
    # leader exits: an older helper's background child was still in that group
    seen, ends = attack_releases(user, own_ns, "leader", [0] * 12)
    print(f"leader: the helpers ended: {ends}")
    assert seen == [], f"veths left without a lease: {seen}"
    assert all(e.startswith("exit 0 ") for e in ends), ends


def kill_every_helper_here():
    """SIGKILL to every diyc-nethelper process of this network namespace, as a cgroup's
    cgroup.kill sends it to all the processes of the cgroup (an older helper left one
    behind to delete the veth, in a session of its own)."""
    here = os.readlink("/proc/self/ns/net")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "diyc-nethelper" and os.readlink(f"/proc/{pid}/ns/net") == here:
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            continue


def test_release_killed_at_any_instant_leaves_no_veth_without_its_lease(user, own_ns):
    # SIGKILL, which nothing blocks, at a random instant, to the helper and whatever
    # process it made: what a delegated cgroup's cgroup.kill or memory.max can do
    def release(delay):
        addr = add(user, own_ns)
        p = subprocess.Popen([HELPER, "release", BRIDGE, addr], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, **user.popen_args())
        t0 = time.monotonic()   # Popen returns once the helper is executed
        if delay is None:
            p.wait()
            give_back_all(user)
        return p, time.monotonic() - t0

    t = min(release(None)[1] for _ in range(3))
    seen, killed = [], 0
    random.seed(1)
    for i in range(24):
        p, _ = release(0)
        time.sleep(random.uniform(0.1 * t, 1.0 * t))
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        kill_every_helper_here()
        killed += p.wait() == -signal.SIGKILL
        left = orphans_after_settling()
        if left:
            seen.append(left)
            delete_links(left)
        give_back_all(user)
    print(f"killed {killed} of 24 releases (a release takes {t:.4f} s)")
    assert seen == [], f"veths left without a lease: {seen} ({killed} of 24 releases killed)"


def test_add_with_its_output_on_a_closed_pipe_gives_the_lease_back(user, own_ns):
    # the caller closes the pipe it reads the answer from: SIGPIPE killed an older helper
    # after it made the veth and its lease, which nobody then knew of
    for _ in range(3):
        r, w = os.pipe()
        os.close(r)
        try:
            p = subprocess.Popen([HELPER, "add", BRIDGE], stdout=w, stderr=subprocess.PIPE, text=True,
                                 **user.popen_args(fds={3: own_ns.net, 4: own_ns.user}))
            _, err = p.communicate(timeout=30)
        finally:
            os.close(w)
        assert p.returncode == 1, (p.returncode, err)
        assert leases() == [] and not [x for x in ports() if x.startswith("vdiyc")], (leases(), ports())


def hold_lock():
    os.makedirs(NETDIR, mode=0o755, exist_ok=True)
    fd = os.open(os.path.join(NETDIR, BRIDGE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def proc_fields(pid, name):
    with open(f"/proc/{pid}/{name}") as f:
        return f.read()


def test_helper_shuts_out_signals_limits_and_the_callers_group(user, own_ns):
    # a caller with low limits, an armed itimer, nice 19 and its own session; the helper,
    # held at the lease lock, is looked at from outside
    def pre():
        import resource
        # low soft limits (a caller may lower hard ones too: root raises them again
        # where it has CAP_SYS_RESOURCE, which this machine's root may lack)
        resource.setrlimit(resource.RLIMIT_CPU, (1, resource.RLIM_INFINITY))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, 1024))
        os.nice(19)
        signal.setitimer(signal.ITIMER_REAL, 0.5)

    lock = hold_lock()
    try:
        args = user.popen_args(fds={3: own_ns.net, 4: own_ns.user})
        inner = args["preexec_fn"]
        args["preexec_fn"] = lambda: (inner(), pre())
        p = subprocess.Popen([HELPER, "add", BRIDGE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             **args)
        wait_until(lambda: "diyc-nethelper" in proc_fields(p.pid, "status").split("\n")[0] and
                   proc_fields(p.pid, "status").count("Uid:\t0\t0\t0\t0"), what="the helper to be root")
        time.sleep(0.7)   # past the itimer
        status = proc_fields(p.pid, "status")
        assert p.poll() is None, "the helper lives on past its caller's itimer"
        fields = dict(l.split(":\t", 1) for l in status.splitlines() if ":\t" in l)
        blocked = int(fields["SigBlk"], 16)
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGHUP, signal.SIGPIPE, signal.SIGALRM,
                    signal.SIGXCPU, signal.SIGXFSZ, signal.SIGTTIN, signal.SIGTTOU, signal.SIGVTALRM, signal.SIGPROF,
                    signal.SIGTERM, signal.SIGUSR1, signal.SIGCONT):
            assert blocked & (1 << (sig - 1)), f"{sig!r} is not blocked: SigBlk {fields['SigBlk']}"
        assert fields["Gid"].split() == ["0"] * 4, fields["Gid"]
        assert fields["Groups"].strip() == "", fields["Groups"]
        limits = proc_fields(p.pid, "limits")
        for row in ("Max cpu time", "Max file size"):
            line = [l for l in limits.splitlines() if l.startswith(row)][0]
            assert line.split()[3:5] == ["unlimited", "unlimited"], line
        stat = proc_fields(p.pid, "stat").rsplit(")", 1)[1].split()
        nice, session = int(stat[16]), int(stat[3])
        assert nice == 0, nice
        assert session == p.pid, "the helper has left its caller's session"
    finally:
        os.close(lock)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, (p.returncode, out, err)
    ok(user.run([HELPER, "release", BRIDGE, out.split()[1].split("/")[0]]))


def test_files_the_helper_makes_are_roots_group_too(user, own_ns):
    # a fresh directory: the helper makes it, the lock and the leases
    for n in os.listdir(NETDIR):
        os.unlink(os.path.join(NETDIR, n))
    os.rmdir(NETDIR)
    addr = add(user, own_ns)
    try:
        for path in (NETDIR, os.path.join(NETDIR, BRIDGE + ".lock"), LEASES):
            st = os.stat(path)
            assert (st.st_uid, st.st_gid) == (0, 0), f"{path} is {st.st_uid}:{st.st_gid}"
    finally:
        ok(user.run([HELPER, "release", BRIDGE, addr]))
    # a lock file an older helper made in its caller's group becomes root's
    os.chown(os.path.join(NETDIR, BRIDGE + ".lock"), 0, user.pw.pw_gid)
    addr = add(user, own_ns)
    ok(user.run([HELPER, "release", BRIDGE, addr]))
    assert os.stat(os.path.join(NETDIR, BRIDGE + ".lock")).st_gid == 0


@pytest.mark.parametrize("how", ["userns", "userns-and-own-run"])
def test_uid_0_of_a_user_namespace_is_not_root(user, how):
    # as root of a user namespace of its own the set-uid bit does not apply, and an older
    # helper took that uid 0 for root: no allowance needed, any lease given back
    write_conf("# nobody\n")
    script = f'exec {HELPER} release {BRIDGE} 172.16.0.9'
    if how == "userns-and-own-run":
        script = f'mount -t tmpfs tmpfs /run && mkdir -p {NETDIR} && touch {NETDIR}/{BRIDGE}.lock && ' + script
    res = user.run(["unshare", "-Urm", "sh", "-c", script])
    assert res.returncode == 1, describe(res)
    assert "runs only in the host's user namespace" in res.stderr, describe(res)


def make_orphan(addr_hex, peer):
    name = "vdiyc" + addr_hex
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    subprocess.run(["ip", "link", "set", name, "master", BRIDGE, "up"], check=True)
    return name


def test_a_veth_left_without_lease_is_reclaimed_by_the_next_call(user, own_ns):
    # what a crash (or an older helper killed at the wrong instant) left: vdiyc ports of
    # the bridge that no lease holds; other ports of the bridge are not ours
    subprocess.run(["ip", "link", "add", "h1keep", "type", "veth", "peer", "name", "h1keepp"], check=True)
    subprocess.run(["ip", "link", "set", "h1keep", "master", BRIDGE], check=True)
    try:
        held = add(user, own_ns)        # a lease with its veth: kept
        assert held == "172.16.0.2"
        make_orphan("ac100003", "h1p3")  # 172.16.0.3 and .4, the lowest free addresses
        make_orphan("ac100004", "h1p4")
        assert len(orphans()) == 2
        other = Sleeper(user)
        try:
            got = add(user, other)
            assert orphans() == [] and "h1keep" in ports() and "vdiycac100002" in ports(), ports()
            assert got == "172.16.0.3", "the address the orphan blocked is free again"
            ok(user.run([HELPER, "release", BRIDGE, got]))
        finally:
            other.close()
        # and a release reclaims them too
        make_orphan("ac100009", "h1p9")
        ok(user.run([HELPER, "release", BRIDGE, held]))
        assert orphans() == [] and "h1keep" in ports(), ports()
        assert [a for a, _, _ in leases()] == []
    finally:
        subprocess.run(["ip", "link", "del", "h1keep"], capture_output=True)


def test_another_users_add_waits_little_while_addresses_have_veths_without_leases(user, user2, own_ns):
    # ten addresses whose veth has no lease, each asked for: an older helper slept up to
    # 2 s for each, holding the lease lock, while the other user's add waited
    write_conf(f"{user.name} bridge {BRIDGE} count 20\n{user2.name} bridge {BRIDGE} count 3\n")
    names = [make_orphan(f"ac1009{i:02x}", f"h1o{i}") for i in range(1, 11)]
    other = Sleeper(user2)
    try:
        def ask(i):
            return user.run([HELPER, "add", BRIDGE, f"172.16.9.{i}"], fds={3: own_ns.net, 4: own_ns.user})

        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            calls = [ex.submit(ask, i) for i in range(1, 11)]
            time.sleep(0.05)
            t0 = time.monotonic()
            res = user2.run([HELPER, "add", BRIDGE], fds={3: other.net, 4: other.user})
            waited = time.monotonic() - t0
            results = [c.result() for c in calls]
        print(f"the other user's add took {waited:.3f} s")
        assert res.returncode == 0, describe(res)
        assert waited < 1.0, f"the other user's add took {waited:.2f} s"
        assert sum(r.returncode == 0 for r in results) == 1, [describe(r) for r in results]
        assert orphans() == []
        ok(user2.run([HELPER, "release", BRIDGE, res.stdout.split()[1].split("/")[0]]))
    finally:
        other.close()
        delete_links([n for n in names if n in ports()])
        give_back_all(user)
