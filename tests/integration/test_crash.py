# SPDX-License-Identifier: MIT
# Crash safety: diyc or the monitor killed with SIGKILL at any point (while a container
# runs, during its start, during stop and rm) leaves nothing that `diyc ps` misreports and
# `diyc rm`/`prune` cannot clean: no process, no mount, no directory.
import os
import re
import select
import signal
import subprocess
import time

import pytest

import diyctest as dt


def leftovers(store):
    """In-progress entries (.new-*, .rm-*) of the store's containers directories, but an
    empty .new-* (diyc killed between its mkdir and the creation of its lock file), which
    prune leaves for a minute to its creator, by design (test_prune_cleans_leftovers checks
    that old ones go)."""
    out = []
    for d in (store.data / "containers", store.run / "containers"):
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for n in names:
            if n.startswith(".new-") and (d / n).is_dir() and not os.listdir(d / n):
                continue
            if n.startswith("."):
                out.append(str(d / n))
    return out


def assert_clean(store, name, tok):
    """NAME is gone entirely: no directory, no ps entry, no process, no mount, nothing in progress."""
    dt.wait_until(lambda: not dt.processes_with(tok), 5, what=f"the processes of {name} to end")
    assert name not in store.containers(), f"directories of {name} are left: {store.container_dirs(name)}"
    assert dt.ps_entry(store, name) is None, f"ps -a still lists {name}"
    assert not leftovers(store), f"in-progress entries left: {leftovers(store)}"
    assert not dt.mounts_under([store.data, store.run]), dt.mounts_under([store.data, store.run])


def settle(store, name, tok, timeout=8):
    """After a crash: waits until what ps says of NAME agrees with the processes on the host
    (running and its command runs, or not running and none of its processes left); returns
    the ps entry (None when there is none)."""
    deadline = time.monotonic() + timeout
    while True:
        e = dt.ps_entry(store, name)
        running = e is not None and e["State"] == "running"
        if running and dt.pid_alive(e["Pid"]) and dt.sleepers(tok):
            return e
        if not running and not dt.processes_with(tok):
            if e is not None:
                assert e["Pid"] == 0 and dt.STATUS_RE.fullmatch(e["Status"]), e
            return e
        if time.monotonic() > deadline:
            raise AssertionError(f"ps says {e!r} of {name}, but processes with {tok} are "
                                 f"{[(p, dt.proc_cmdline(p)) for p in dt.processes_with(tok)]}")
        time.sleep(0.05)


def force_remove(store, name):
    res = store.diyc("rm", "-f", name)
    if res.returncode != 0:
        dt.assert_error(res, "no such container")
    dt.assert_ok(store.diyc("prune", "-f"))


class Run:
    """diyc with its stderr read as it comes (for --verbose), its stdout thrown away."""

    def __init__(self, store, args):
        self.p = subprocess.Popen([dt.diyc_bin(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=store.env)
        self.err = b""

    def wait_stderr(self, pattern, timeout=10):
        """Reads stderr until PATTERN (a regex) matches a line; returns the match, or None
        when diyc ended or TIMEOUT passed first."""
        rx = re.compile(pattern.encode())
        fd = self.p.stderr.fileno()
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.err)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self.err += chunk

    def kill(self):
        try:
            self.p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait(timeout=10)
        self.p.stderr.close()


# -- crash of diyc or of the monitor while the container runs --------------------------------

def test_sigkill_foreground_run(s, name):
    tok = dt.token()
    with s.popen("run", "--name", name, "busybox", "sh", "-c", f"echo ready; exec sleep {tok}") as p:
        p.read_until("ready\n")
        dt.wait_until(lambda: dt.sleepers(tok), 5, what="the container's command")
        p.signal(signal.SIGKILL)
        p.p.wait(timeout=10)
        dt.wait_until(lambda: not dt.processes_with(tok), 5,
                      what="the container's processes to end after `diyc run` was killed")
    e = dt.ps_entry(s, name)
    assert e is not None, "the container was lost"
    assert (e["State"], e["Status"], e["ExitCode"], e["Pid"]) == ("exited", "exited (137)", 137, 0), e
    assert dt.inspect(s, name)["State"]["Running"] is False
    res = dt.assert_ok(s.diyc("rm", name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert_clean(s, name, tok)


def test_sigkill_monitor(s, name):
    tok = dt.token()
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sleep", tok))
    pid1 = dt.container_pid(s, name)
    monitor = dt.proc_ppid(pid1)
    assert dt.proc_comm(monitor) == "diyc-monitor", f"parent of PID 1: {monitor} {dt.proc_comm(monitor)!r}"
    os.kill(monitor, signal.SIGKILL)
    dt.wait_until(lambda: not dt.pid_alive(pid1) and not dt.processes_with(tok), 5,
                  what="the container's processes to end after its monitor was killed")
    e = dt.ps_entry(s, name)
    assert (e["State"], e["Status"], e["ExitCode"], e["Pid"]) == ("exited", "exited (137)", 137, 0), e
    dt.assert_error(s.diyc("exec", name, "true"), "is not running")
    res = dt.assert_ok(s.diyc("rm", name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert_clean(s, name, tok)


def test_pid1_killed_from_outside(s, name):
    tok = dt.token()
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sleep", tok))
    pid1 = dt.container_pid(s, name)
    monitor = dt.proc_ppid(pid1)
    os.kill(pid1, signal.SIGKILL)
    e = dt.wait_exited(s, name)
    assert e["ExitCode"] == 137 and e["Pid"] == 0, e
    dt.wait_until(lambda: not dt.pid_alive(monitor), 5, what="the monitor to end with its container")
    dt.assert_ok(s.diyc("rm", name))
    assert_clean(s, name, tok)


def test_start_after_crash(s, name):
    # "resume after reboot": every process of the container and its monitor gone at once
    tok = dt.token()
    script = f'echo $(( $(cat /n 2>/dev/null || echo 0) + 1 )) > /n; exec sleep {tok}'
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sh", "-c", script))
    pid1 = dt.container_pid(s, name)
    monitor = dt.proc_ppid(pid1)
    # the script has written /n once it runs sleep
    dt.wait_until(lambda: dt.sleepers(tok), 5, what="the first run's script to finish")
    for pid in dt.processes_with(tok) + [monitor, pid1]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # all of them: a killed monitor holds the container's lock until it is really gone
    dt.wait_until(lambda: not dt.processes_with(tok) and not dt.pid_alive(monitor) and not dt.pid_alive(pid1),
                  5, what="the processes to end")
    assert dt.ps_entry(s, name)["State"] == "exited"
    res = dt.assert_ok(s.diyc("start", name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert dt.ps_entry(s, name)["State"] == "running"
    dt.wait_until(lambda: dt.sleepers(tok), 5, what="the second run's script to finish")
    res = dt.assert_ok(s.diyc("exec", name, "cat", "/n"))
    assert res.stdout == "2\n", dt.describe(res)
    dt.assert_ok(s.diyc("stop", name))
    assert dt.ps_entry(s, name)["ExitCode"] == 143
    dt.assert_ok(s.diyc("rm", name))
    assert_clean(s, name, tok)


# -- crash during start ------------------------------------------------------------------------

POINTS = [r"image \w+ resolved", r"container `[^`]*` prepared", r"child \d+ started", r"id maps written",
          r"child released", r"overlay mounted", r"proc and sys mounted", r"dev mounted", r"etc files mounted",
          r"pivoted", r"command prepared"]


@pytest.fixture(scope="module")
def verbose_output(tmp_path_factory):
    """What `diyc run --verbose` prints on stderr, foreground and detached (to skip the
    points it does not print at once)."""
    st = dt.Store.private(tmp_path_factory.mktemp("verbose") / "store")
    st.import_busybox("busybox")
    out = {"foreground": st.diyc("run", "--rm", "--verbose", "busybox", "true").stderr,
           "detached": st.diyc("run", "-d", "--verbose", "--name", "v", "busybox", "true").stderr}
    dt.remove_all(st)
    return out


def descendants(pid):
    out = []
    for kid in dt.children_of(pid):
        out += [kid] + descendants(kid)
    return out


def crash_at(store, name, point, mode, victim):
    """Starts NAME (`sleep TOKEN`) with --verbose and SIGKILLs VICTIM when PATTERN shows on
    stderr: `diyc` (the command), or `child` (every process diyc started, diyc itself left to
    notice; it must then end by itself; diyc when it has no child yet). Then checks that ps
    agrees with the processes, and that `rm -f` and `prune` leave the store as it was."""
    tok = dt.token()
    before = store.snapshot()
    opt = ["-d"] if mode == "detached" else []
    r = Run(store, ["run", "--verbose", *opt, "--name", name, "busybox", "sleep", tok])
    try:
        m = r.wait_stderr(point, timeout=10)
        kids = descendants(r.p.pid)
        if victim == "child" and kids:
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                r.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"diyc did not end after its child was killed at {point!r}; "
                                     f"stderr {r.err.decode(errors='replace')!r}")
    finally:
        r.kill()
    where = f"killed {victim} at {point!r} ({mode})"
    e = settle(store, name, tok)
    if mode == "foreground":
        assert e is None or e["State"] != "running", f"{where}: ps says {name} runs: {e}"
    force_remove(store, name)
    assert_clean(store, name, tok)
    after = store.snapshot()
    changed = {(k, x) for k in before for x in before[k] ^ after[k] if x != ("containers", "d")}
    assert not changed, f"{where}: the store is not as before: {sorted(changed)}"
    assert m, f"{where}: diyc --verbose did not print {point!r} this time: stderr {r.err.decode(errors='replace')!r}"


@pytest.mark.parametrize("point", POINTS)
def test_kill_during_start(s, point, verbose_output):
    done = 0
    for mode, victim in (("foreground", "diyc"), ("foreground", "child"), ("detached", "diyc")):
        if re.search(point, verbose_output[mode]):
            crash_at(s, dt.unique_name(f"crash-{mode}-{victim}"), point, mode, victim)
            done += 1
    if not done:
        pytest.skip(f"`diyc run --verbose` does not print {point!r}: {verbose_output!r}")


def delay(i, n, most=0.05):
    """The I-th of N delays from 0 to MOST seconds, denser at the start (a start takes a few
    milliseconds)."""
    return most * (i / (n - 1)) ** 2


@pytest.mark.parametrize("mode", ["foreground", "detached"])
def test_kill_run_at_random_times(s, mode):
    opt = ["-d"] if mode == "detached" else []
    for i in range(15):
        name = dt.unique_name(f"random{i}")
        tok = dt.token()
        p = subprocess.Popen([dt.diyc_bin(), "run", *opt, "--name", name, "busybox", "sleep", tok],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=s.env)
        time.sleep(delay(i, 15))
        p.kill()
        p.wait(timeout=10)
        e = settle(s, name, tok)
        if mode == "foreground":
            assert e is None or e["State"] != "running", f"try {i}: {e}"
        force_remove(s, name)
        assert_clean(s, name, tok)


@pytest.mark.parametrize("attach", [[], ["-a"]], ids=["detached", "attached"])
def test_kill_start_at_random_times(s, name, attach):
    tok = dt.token()
    dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sh", "-c", f"test -e /stop || exec sleep {tok}"))
    dt.assert_ok(s.diyc("stop", name))
    for i in range(10):
        p = subprocess.Popen([dt.diyc_bin(), "start", *attach, name], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=s.env)
        time.sleep(delay(i, 10))
        p.kill()
        p.wait(timeout=10)
        e = settle(s, name, tok)
        assert e is not None, f"try {i}: the container was lost"
        if attach:
            assert e["State"] != "running", f"try {i}: ps says it runs, though `start -a` was killed: {e}"
        if e["State"] == "running":
            dt.assert_ok(s.diyc("stop", "-t", "1", name))
        assert not dt.processes_with(tok)
    # still usable: it starts and runs its command again
    dt.assert_ok(s.diyc("start", name))
    assert dt.wait_until(lambda: dt.sleepers(tok), 5, what="the container to run again")
    dt.assert_ok(s.diyc("exec", name, "touch", "/stop"))
    dt.assert_ok(s.diyc("stop", name))
    res = dt.assert_ok(s.diyc("start", "-a", name))
    assert dt.ps_entry(s, name)["Status"] == "exited (0)", dt.describe(res)
    dt.assert_ok(s.diyc("rm", name))
    assert_clean(s, name, tok)


# -- what a crash leaves, prune cleans --------------------------------------------------------

@pytest.mark.parametrize("cmd", ["prune", "rm"])
def test_prune_cleans_leftovers(s, name, cmd):
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "true"))
    cdir = s.data / "containers"
    old = time.time() - 600
    made = []
    for entry, files in ((".new-0123456789abcdef", ["lock", "config.json"]), (".new-fedcba9876543210", []),
                         (".rm-00112233445566aa", ["lock", "state.json", "upper/f", "upper/d/g"])):
        d = cdir / entry
        for f in files:
            (d / f).parent.mkdir(parents=True, exist_ok=True)
            (d / f).write_text("x")
        d.mkdir(exist_ok=True)
        for sub in sorted((p for p in d.rglob("*")), reverse=True):
            os.utime(sub, (old, old))
        os.utime(d, (old, old))
        made.append(entry)
    res = dt.assert_ok(s.diyc(*(["prune"] if cmd == "prune" else ["rm", name])))
    assert res.stdout.split() == [name], f"{cmd} should print the names of the containers it removed\n" + \
        dt.describe(res)
    assert os.listdir(cdir) == [], f"{cmd} left {os.listdir(cdir)} (made {made})"


def test_prune_removes_fresh_leftover_of_dead_creator(s):
    """diyc killed between the mkdir of its `.new-PID-*` directory and its lock file: prune
    removes it at once when PID is gone, and leaves it (for a minute) while PID lives."""
    cdir = s.data / "containers"
    cdir.mkdir(parents=True, exist_ok=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = cdir / f".new-{gone.pid}-0123456789abcdef"
    alive = cdir / f".new-{os.getpid()}-fedcba9876543210"
    dead.mkdir()
    alive.mkdir()
    dt.assert_ok(s.diyc("prune"))
    left = sorted(os.listdir(cdir))
    assert left == [alive.name], f"prune left {left}: the dead creator's entry should go, the living one's stay"
    alive.rmdir()


# -- crash during stop and rm --------------------------------------------------------------------

def test_kill_during_stop(s):
    for i in range(8):
        name = dt.unique_name(f"stopkill{i}")
        tok = dt.token()
        dt.assert_ok(s.diyc("run", "-d", "--name", name, "busybox", "sleep", tok))
        p = subprocess.Popen([dt.diyc_bin(), "stop", name], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=s.env)
        time.sleep(delay(i, 8, 0.03))
        p.kill()
        p.wait(timeout=10)
        e = settle(s, name, tok)
        assert e is not None, f"try {i}: the container was lost"
        res = dt.assert_ok(s.diyc("rm", "-f", name))
        assert res.stdout == f"{name}\n", dt.describe(res)
        assert_clean(s, name, tok)


def test_kill_during_rm(s):
    for i in range(6):
        name = dt.unique_name(f"rmkill{i}")
        tok = dt.token()
        dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c",
                            f"mkdir -p /many/{tok} && cd /many/{tok} && seq 1 3000 | xargs touch"))
        p = subprocess.Popen([dt.diyc_bin(), "rm", name], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=s.env)
        time.sleep(delay(i, 6))
        p.kill()
        p.wait(timeout=10)
        e = dt.ps_entry(s, name)
        assert e is None or e["State"] == "exited", f"try {i}: {e}"
        force_remove(s, name)
        assert_clean(s, name, tok)
        assert os.listdir(s.data / "containers") == [], os.listdir(s.data / "containers")
