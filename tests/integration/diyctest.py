# SPDX-License-Identifier: MIT
"""Shared helpers of diyc's integration tests: where diyc, its tools and its store are,
running diyc with a timeout, the caller's subordinate id ranges, the mount table, and the
snapshots the leak checks compare. The VM's cgroup tests use them too (a copy in the guest,
see tests/vm/cgroups/cgtest.py): nothing here may need more than the guest has."""

import fnmatch
import os
import pwd
import re
import secrets
import select
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# seconds for any one subprocess: a hang fails the test instead of blocking (the default of
# every timeout=None below, read at each call: a slower machine's tests may raise it)
TIMEOUT = 30
NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")


def diyc_bin():
    """The diyc under test: $DIYC, or the repository's build."""
    return os.environ.get("DIYC") or str(REPO / "build" / "diyc")


def tools_dir():
    return Path(os.environ.get("DIYC_TOOLS") or REPO / "tools")


def unique_name(prefix="t"):
    """A container name no other test uses (and short enough to be the whole hostname)."""
    # no `_`: it is valid in a name but not in a hostname, and tests compare the two
    prefix = re.sub(r"[^a-zA-Z0-9.-]", "-", prefix).strip("-.")[:40] or "t"
    return f"{prefix}-{secrets.token_hex(4)}"


def run(argv, *, input=None, stdin=None, env=None, timeout=None, cwd=None, binary=False):
    """subprocess.run with a timeout (TIMEOUT unless given), stdin from /dev/null unless INPUT
    or STDIN is given, both outputs captured (text unless BINARY)."""
    if input is not None and isinstance(input, str):
        input = input.encode()
    if input is None and stdin is None:
        stdin = subprocess.DEVNULL
    res = subprocess.run([str(a) for a in argv], input=input, stdin=stdin, capture_output=True,
                         env=env, timeout=TIMEOUT if timeout is None else timeout, cwd=cwd)
    if not binary:
        res.stdout = res.stdout.decode(errors="replace")
        res.stderr = res.stderr.decode(errors="replace")
    return res


def describe(res):
    """What a failed assertion shows about a finished command."""
    return (f"command: {res.args!r}\nexit status: {res.returncode}\n"
            f"stdout: {res.stdout!r}\nstderr: {res.stderr!r}")


def assert_ok(res, status=0):
    assert res.returncode == status, f"expected exit status {status}\n" + describe(res)
    return res


def assert_error(res, *needles):
    """diyc's own error: exit 125, nothing on stdout, and exactly one line on stderr that
    starts with `diyc: ` (not a warning) and mentions each needle (a string, or a tuple of
    alternatives), case-insensitively."""
    assert res.returncode == 125, "expected exit status 125 (a diyc error)\n" + describe(res)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, "expected exactly one line on stderr\n" + describe(res)
    line = lines[0]
    assert line.startswith("diyc: "), "the error line must start with `diyc: `\n" + describe(res)
    assert not line.startswith("diyc: warning:"), "expected an error, got a warning\n" + describe(res)
    assert len(line) > len("diyc: ") + 5, "the error line says nothing\n" + describe(res)
    for n in needles:
        alts = n if isinstance(n, tuple) else (n,)
        assert any(a.lower() in line.lower() for a in alts), \
            f"the error line should mention {' or '.join(map(repr, alts))}\n" + describe(res)
    assert res.stdout == "" or res.stdout == b"", "a failing diyc printed on stdout\n" + describe(res)
    return line


class Store:
    """One diyc store, $XDG_DATA_HOME/diyc and $XDG_RUNTIME_DIR/diyc, and the environment
    that selects it (the same rules as diyc's lib/paths.c)."""

    def __init__(self, env):
        self.env = dict(env)
        uid = os.getuid()
        xdg_data = env.get("XDG_DATA_HOME", "")
        if xdg_data.startswith("/"):
            self.data = Path(xdg_data) / "diyc"
        else:
            home = env.get("HOME", "")
            if not home.startswith("/"):
                home = pwd.getpwuid(uid).pw_dir
            self.data = Path(home) / ".local" / "share" / "diyc"
        xdg_run = env.get("XDG_RUNTIME_DIR", "")
        if xdg_run.startswith("/"):
            self.run = Path(xdg_run) / "diyc"
        else:
            # /run/user/UID when it is the caller's own and only it writes there, else DATA/run
            try:
                st = os.lstat(f"/run/user/{uid}")
                own = (st.st_mode & 0o170000) == 0o040000 and st.st_uid == uid and not st.st_mode & 0o022
            except OSError:
                own = False
            self.run = Path(f"/run/user/{uid}/diyc") if own else self.data / "run"

    @classmethod
    def default(cls):
        return cls(os.environ)

    @classmethod
    def private(cls, base):
        """A store of its own below BASE, for tests that leave containers behind (there is
        no `diyc rm` yet) or that compare the whole store."""
        base = Path(base)
        data, rundir = base / "data", base / "run"
        data.mkdir(parents=True)
        rundir.mkdir(mode=0o700)
        os.chmod(rundir, 0o700)
        return cls(dict(os.environ, XDG_DATA_HOME=str(data), XDG_RUNTIME_DIR=str(rundir)))

    def diyc(self, *args, env=None, **kw):
        e = dict(self.env)
        if env:
            e.update(env)
        return run([diyc_bin(), *args], env=e, **kw)

    def popen(self, *args, env=None, **kw):
        e = dict(self.env)
        if env:
            e.update(env)
        return Background([diyc_bin(), *args], env=e, **kw)

    def import_busybox(self, name="busybox", timeout=120):
        res = run([tools_dir() / "mkimage-busybox", "--diyc", diyc_bin(), name], env=self.env, timeout=timeout)
        assert res.returncode == 0, "tools/mkimage-busybox failed\n" + describe(res)
        return name

    def container_dirs(self, name):
        return self.data / "containers" / name, self.run / "containers" / name

    def containers(self):
        """Names that have a directory in either containers/ directory."""
        names = set()
        for d in (self.data / "containers", self.run / "containers"):
            try:
                names.update(os.listdir(d))
            except FileNotFoundError:
                pass
        return names

    def layers(self):
        try:
            return sorted(p for p in (self.data / "layers").iterdir())
        except FileNotFoundError:
            return []

    def snapshot(self):
        """Everything in the store except the contents of layer trees and of upper/work
        dirs (which may be unreadable: owned by subordinate ids), and the compiled seccomp
        filters diyc keeps (seccomp/: a cache the first container of a profile fills)."""
        prune = ("layers/*/diff", "containers/*/upper", "containers/*/work")
        data = {e for e in tree(self.data, prune) if e[0] != "seccomp" and not e[0].startswith("seccomp/")}
        return {"data": data, "run": tree(self.run, prune)}


def tree(root, prune=()):
    """The set of relative paths under ROOT (symlinks not followed), with a type letter and,
    for symlinks, the target; directories matching a PRUNE pattern are listed, not entered."""
    root = Path(root)
    out = set()

    def walk(d, rel):
        try:
            entries = list(os.scandir(d))
        except (FileNotFoundError, NotADirectoryError):
            return
        except PermissionError:
            out.add((rel, "unreadable"))
            return
        for e in entries:
            r = f"{rel}/{e.name}" if rel else e.name
            if e.is_symlink():
                out.add((r, "l:" + os.readlink(e.path)))
            elif e.is_dir(follow_symlinks=False):
                out.add((r, "d"))
                if not any(fnmatch.fnmatch(r, p) for p in prune):
                    walk(e.path, r)
            else:
                out.add((r, "f"))

    walk(root, "")
    return out


def find_named(root, names):
    """Paths under ROOT (not following symlinks) whose last component is in NAMES."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        for n in dirnames + filenames:
            if n in names:
                found.append(os.path.join(dirpath, n))
    return found


def tmp_entries():
    """Entries of /tmp and $TMPDIR owned by the caller (to catch temporary files left behind)."""
    uid = os.getuid()
    out = set()
    for d in {"/tmp", os.environ.get("TMPDIR") or "/tmp"}:
        try:
            for e in os.scandir(d):
                try:
                    if e.stat(follow_symlinks=False).st_uid == uid:
                        out.add(e.path)
                except FileNotFoundError:
                    pass
        except FileNotFoundError:
            pass
    return out


def _unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mount_points():
    """Mount points of the caller's mount namespace (/proc/self/mountinfo)."""
    with open("/proc/self/mountinfo") as f:
        return [_unescape(line.split()[4]) for line in f if line.strip()]


def mounts_under(paths):
    paths = [str(p).rstrip("/") for p in paths if p]
    return [m for m in mount_points() if any(m == p or m.startswith(p + "/") for p in paths)]


def user_name():
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return None


def subid_ranges(path, uid=None):
    """The caller's ranges in /etc/subuid or /etc/subgid (lines NAME:START:COUNT or UID:START:COUNT)."""
    uid = os.getuid() if uid is None else uid
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = None
    ranges = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(":")
                if len(parts) != 3 or parts[0] not in (name, str(uid)):
                    continue
                try:
                    start, count = int(parts[1]), int(parts[2])
                except ValueError:
                    continue
                if count > 0:
                    ranges.append((start, count))
    except FileNotFoundError:
        pass
    return ranges


def expected_map(outside, ranges):
    """Container 0 -> OUTSIDE, then 1.. over the subordinate ranges in order."""
    m = [(0, outside, 1)]
    nxt = 1
    for start, count in ranges:
        m.append((nxt, start, count))
        nxt += count
    return m


def map_id(idmap, inside):
    """The host id of container id INSIDE under IDMAP (a list of (inside, outside, count))."""
    for i, o, c in idmap:
        if i <= inside < i + c:
            return o + inside - i
    raise KeyError(inside)


def parse_idmap(text):
    return [tuple(int(x) for x in line.split()) for line in text.splitlines() if line.strip()]


def have_subids():
    return bool(subid_ranges("/etc/subuid")) and bool(subid_ranges("/etc/subgid"))


def which(prog, path=None):
    for d in (path if path is not None else os.environ.get("PATH", "")).split(":"):
        p = os.path.join(d or ".", prog)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def proc_stat(text):
    """Parses lines of /proc/PID/stat into {pid: (comm, ppid)}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(\d+) \((.*)\) \S+ (\d+) ", line)
        if m:
            out[int(m.group(1))] = (m.group(2), int(m.group(3)))
    return out


def children_of(pid):
    """Direct children of PID (all its threads), from /proc/PID/task/*/children."""
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


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip() or f"[pid {pid}]"
    except OSError:
        return f"[pid {pid}]"


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def leftover_children(grace=3.0, ignore=()):
    """Children of this process (pytest, a subreaper) still there after GRACE seconds, but
    those in IGNORE; zombies among them are reaped on the way."""
    deadline = time.monotonic() + grace
    while True:
        kids = []
        for pid in children_of(os.getpid()):
            if pid in ignore:
                continue
            if proc_state(pid) == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            else:
                kids.append(pid)
        if not kids or time.monotonic() > deadline:
            return kids
        time.sleep(0.05)


class Background:
    """A process whose stdout is read as it comes (for signals and concurrency tests).
    Use as a context manager: it is killed if the test leaves early."""

    def __init__(self, argv, env=None, stdin=subprocess.DEVNULL, **kw):
        self.argv = [str(a) for a in argv]
        self.p = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, **kw)
        self.out = b""

    @property
    def pid(self):
        return self.p.pid

    def read_until(self, needle, timeout=None):
        """Reads stdout until it contains NEEDLE (bytes or str), for TIMEOUT seconds unless given."""
        timeout = TIMEOUT if timeout is None else timeout
        if isinstance(needle, str):
            needle = needle.encode()
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} did not appear on stdout of {self.argv!r} "
                                     f"within {timeout}s; got {self.out!r}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    err = self._stderr_now()
                    raise AssertionError(f"{self.argv!r} closed stdout before printing {needle!r}; "
                                         f"got {self.out!r}, stderr {err!r}")
                self.out += chunk

    def _stderr_now(self):
        try:
            self.p.wait(timeout=5)
            return self.p.stderr.read().decode(errors="replace")
        except subprocess.TimeoutExpired:
            return "(still running)"

    def signal(self, sig):
        self.p.send_signal(sig)

    def finish(self, timeout=None):
        """Waits for the exit (TIMEOUT seconds unless given); returns a CompletedProcess with
        text outputs."""
        timeout = TIMEOUT if timeout is None else timeout
        try:
            rest, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.argv!r} did not exit within {timeout}s; stdout {self.out!r}")
        self.out += rest
        return subprocess.CompletedProcess(self.argv, self.p.returncode,
                                           self.out.decode(errors="replace"),
                                           err.decode(errors="replace"))

    def kill(self):
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGKILL)
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


# -- Helpers of the lifecycle tests (persistent containers, exec, logs, volumes) --------

import json  # noqa: E402

RFC3339_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def wait_until(pred, timeout=10, interval=0.05, what="a condition"):
    """Calls PRED until it returns something true (returned) or TIMEOUT seconds passed
    (AssertionError naming WHAT)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid):
    """PID exists and is not a zombie."""
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


def token():
    """A number no other process's command line has: `sleep TOKEN` marks a container's
    processes, which processes_with() then finds on the host."""
    return str(100000 + secrets.randbelow(900000))


def cmdlines():
    """(pid, [args]) of the live processes this user can read."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        yield int(d), args


def processes_with(word):
    """Live processes whose command line has WORD as one of its arguments, or inside one."""
    return [pid for pid, args in cmdlines()
            if any(word in a for a in args) and pid != os.getpid() and pid_alive(pid)]


def json_out(res):
    assert_ok(res)
    try:
        return json.loads(res.stdout)
    except ValueError as e:
        raise AssertionError(f"not JSON: {e}\n" + describe(res))


def inspect(store, name):
    """`diyc inspect NAME` as a dict."""
    data = json_out(store.diyc("inspect", name))
    assert isinstance(data, list) and len(data) == 1, f"inspect {name}: expected a 1-element array: {data!r}"
    return data[0]


def ps_all(store):
    """`diyc ps -a --format json` as {name: entry}."""
    data = json_out(store.diyc("ps", "-a", "--format", "json"))
    assert isinstance(data, list), f"ps --format json: expected an array: {data!r}"
    return {e["Name"]: e for e in data}


def ps_entry(store, name):
    return ps_all(store).get(name)


def container_pid(store, name):
    """The host PID of the container's PID 1 (inspect's State.Pid)."""
    return inspect(store, name)["State"]["Pid"]


def remove_all(store, timeout=120):
    """Force-removes every container of STORE (for the cleanup of tests that keep some)."""
    names = {n for n in store.containers() if not n.startswith(".")}
    res = store.diyc("ps", "-a", "-q", timeout=timeout)
    if res.returncode == 0:
        names.update(res.stdout.split())
    if names:
        store.diyc("rm", "-f", *sorted(names), timeout=timeout)
    store.diyc("prune", "-f", timeout=timeout)


def wait_exited(store, name, timeout=10):
    """Waits until ps says NAME is no longer running; returns its ps entry."""
    def done():
        e = ps_entry(store, name)
        return e if e and e.get("State") == "exited" else None
    return wait_until(done, timeout, 0.1, f"container {name} to exit")


def sleepers(tok):
    """Live processes that run exactly `sleep TOK` (a container's command)."""
    return [pid for pid, args in cmdlines() if args[:2] == ["sleep", tok] and pid_alive(pid)]


STATUS_RE = re.compile(r"created|running|exited \(\d+\)")


def drain(fd, idle=0.2):
    """What can be read from FD until it is idle for IDLE seconds, ends or fails."""
    out = b""
    while select.select([fd], [], [], idle)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def run_detached(store, name, *args):
    """`diyc run -d --name NAME ARGS...`, checked: prints the name, exits 0."""
    res = assert_ok(store.diyc("run", "-d", "--name", name, *args))
    assert res.stdout == f"{name}\n", "run -d should print the container's name\n" + describe(res)
    return res
