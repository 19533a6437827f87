# SPDX-License-Identifier: MIT
"""Helpers of the cgroup tests that run inside the VM guest (tests/vm/run copies only this
directory into the guest, so nothing here imports tests/integration/diyctest.py): running
diyc with a timeout, its JSON output, systemd's units, the cgroup tree and the processes
of the guest. The same code serves uid 1000 (a lingering user with its own systemd user
manager) and root (the system manager)."""

import json
import os
import re
import secrets
import select
import subprocess
import time
from pathlib import Path

TIMEOUT = 60  # seconds for any one diyc call: the guest is slow (software emulation)
GONE_TIMEOUT = 15  # seconds for systemd to stop and collect an empty scope
CGROOT = Path("/sys/fs/cgroup")
UID = os.geteuid()
ROOT = UID == 0
# where the scopes of the caller's systemd manager are
MANAGER_CGROUP = "/system.slice" if ROOT else f"/user.slice/user-{UID}.slice/user@{UID}.service"
SCOPE_RE = r"diyc-{name}-[0-9a-f]{{8}}\.scope"
MIB = 1 << 20


def diyc_bin():
    return os.environ.get("DIYC") or "diyc"


def tools_dir():
    return Path(os.environ.get("DIYC_TOOLS") or Path(__file__).resolve().parents[3] / "tools")


def run(argv, *, input=None, stdin=None, env=None, timeout=TIMEOUT):
    """subprocess.run with a timeout, stdin from /dev/null unless INPUT or STDIN is given,
    text outputs captured."""
    if input is None and stdin is None:
        stdin = subprocess.DEVNULL
    res = subprocess.run([str(a) for a in argv], input=input, stdin=stdin, capture_output=True,
                         text=True, errors="replace", env=env, timeout=timeout)
    return res


def diyc(*args, **kw):
    return run([diyc_bin(), *args], **kw)


def describe(res):
    return (f"command: {res.args!r}\nexit status: {res.returncode}\n"
            f"stdout: {res.stdout!r}\nstderr: {res.stderr!r}")


def assert_ok(res, status=0):
    assert res.returncode == status, f"expected exit status {status}\n" + describe(res)
    return res


def assert_error(res, *needles):
    """diyc's own error: exit 125, nothing on stdout, one line `diyc: ...` on stderr that
    mentions each needle (a string or a tuple of alternatives), case-insensitively."""
    assert res.returncode == 125, "expected exit status 125 (a diyc error)\n" + describe(res)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, "expected exactly one line on stderr\n" + describe(res)
    line = lines[0]
    assert line.startswith("diyc: ") and not line.startswith("diyc: warning:"), describe(res)
    for n in needles:
        alts = n if isinstance(n, tuple) else (n,)
        assert any(a.lower() in line.lower() for a in alts), \
            f"the error line should mention {' or '.join(map(repr, alts))}\n" + describe(res)
    assert res.stdout == "", "a failing diyc printed on stdout\n" + describe(res)
    return line


def json_out(res):
    assert_ok(res)
    try:
        return json.loads(res.stdout)
    except ValueError as e:
        raise AssertionError(f"not JSON: {e}\n" + describe(res))


def inspect(name):
    data = json_out(diyc("inspect", name))
    assert isinstance(data, list) and len(data) == 1, f"inspect {name}: {data!r}"
    return data[0]


def ps_all():
    """`diyc ps -a --format json` as {name: entry}."""
    data = json_out(diyc("ps", "-a", "--format", "json"))
    return {e["Name"]: e for e in data}


def container_names():
    res = assert_ok(diyc("ps", "-a", "-q"))
    return set(res.stdout.split())


def remove(*names):
    """`diyc rm -f` of the NAMES that still exist."""
    names = [n for n in names if n in container_names()]
    if names:
        assert_ok(diyc("rm", "-f", *names))


def run_detached(name, *args):
    res = assert_ok(diyc("run", "-d", "--name", name, *args))
    assert res.stdout == f"{name}\n", "run -d should print the name\n" + describe(res)


def unique_name(prefix):
    prefix = re.sub(r"[^a-zA-Z0-9.-]", "-", prefix).strip("-.")[:30] or "t"
    return f"{prefix}-{secrets.token_hex(3)}"


def token():
    """A number that marks one container's `sleep` among the guest's processes."""
    return str(100000 + secrets.randbelow(900000))


def wait_until(pred, timeout=10, interval=0.1, what="a condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# -- systemd -----------------------------------------------------------------------------------

def systemctl(*args, timeout=TIMEOUT):
    return run(["systemctl", *([] if ROOT else ["--user"]), *args], timeout=timeout)


def units(*patterns):
    """Units of the caller's manager matching PATTERNS (default diyc-*), in any state."""
    res = systemctl("list-units", "--all", "--no-legend", "--plain", "--full", *(patterns or ("diyc-*",)))
    assert res.returncode == 0, describe(res)
    out = []
    for line in res.stdout.splitlines():
        words = [w for w in line.split() if w not in ("●", "*", "×")]
        if words:
            out.append(words[0])
    return sorted(out)


def unit_active(unit):
    return systemctl("is-active", unit).stdout.strip()


# -- cgroups and processes ---------------------------------------------------------------------

def cgdir(rel):
    """The directory of cgroup REL (a path as /proc/PID/cgroup shows it from the host)."""
    assert rel.startswith("/"), f"not a cgroup path: {rel!r}"
    return CGROOT / rel.lstrip("/")


def read_cg(rel, file):
    return (cgdir(rel) / file).read_text().strip()


def proc_cgroup(pid):
    """The cgroup v2 path of PID, as the test (in the guest's root cgroup namespace) sees it."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    raise AssertionError(f"no cgroup v2 line in /proc/{pid}/cgroup")


def own_cgroup():
    return proc_cgroup("self")


def cgroup_dirs_named(prefix="diyc-"):
    """Every directory of the cgroup tree whose name starts with PREFIX."""
    found = set()
    for dirpath, dirnames, _ in os.walk(CGROOT, onerror=lambda e: None):
        for d in dirnames:
            if d.startswith(prefix):
                found.add(os.path.join(dirpath, d))
    return found


def cgroupfs_root_children():
    try:
        return sorted(os.listdir(CGROOT / "diyc"))
    except FileNotFoundError:
        return []


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def pid_alive(pid):
    return bool(pid) and proc_state(pid) not in (None, "Z", "X")


def proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def proc_comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip() or f"[pid {pid}]"
    except OSError:
        return f"[pid {pid}]"


def _cmdlines():
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                yield int(d), f.read().decode(errors="replace").split("\0")
        except OSError:
            continue


def sleepers(tok):
    """Live processes that run exactly `sleep TOK`."""
    return [pid for pid, args in _cmdlines() if args[:2] == ["sleep", tok] and pid_alive(pid)]


def processes_with(word):
    return [pid for pid, args in _cmdlines()
            if any(word in a for a in args) and pid != os.getpid() and pid_alive(pid)]


def diyc_processes():
    """Live processes of diyc: the CLI, its monitors and the containers' init."""
    out = set()
    for pid, args in _cmdlines():
        comm = proc_comm(pid)
        if pid_alive(pid) and (comm in ("diyc", "diyc-monitor", "diyc-init")
                               or os.path.basename(args[0]) in ("diyc", "diyc-monitor", "diyc-init")):
            out.add(pid)
    return out


def children_of(pid):
    kids = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return kids
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return kids


class Background:
    """A diyc command whose stdout is read as it comes. Use as a context manager: it is
    killed if the test leaves early."""

    def __init__(self, argv, stdin=subprocess.DEVNULL):
        self.argv = [str(a) for a in argv]
        self.p = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""

    @property
    def pid(self):
        return self.p.pid

    def read_until(self, needle, timeout=TIMEOUT):
        needle = needle.encode()
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} did not appear on stdout of {self.argv!r} "
                                     f"within {timeout}s; got {self.out!r}")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.p.wait(timeout=10)
                    raise AssertionError(f"{self.argv!r} closed stdout before printing {needle!r}; "
                                         f"got {self.out!r}, stderr {self.p.stderr.read()!r}")
                self.out += chunk

    def finish(self, timeout=TIMEOUT):
        try:
            rest, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.argv!r} did not exit within {timeout}s; stdout {self.out!r}")
        self.out += rest
        return subprocess.CompletedProcess(self.argv, self.p.returncode, self.out.decode(errors="replace"),
                                           err.decode(errors="replace"))

    def kill(self):
        if self.p.poll() is None:
            try:
                self.p.kill()
            except ProcessLookupError:
                pass
        try:
            self.p.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False
