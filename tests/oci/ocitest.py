# SPDX-License-Identifier: MIT
# Helpers of the diyc-oci tests: running the binary, a busybox root filesystem, bundles
# with a config.json written here (not by `diyc-oci spec`, which is tested on its own),
# and looking for what a failed command may have left: state, mounts, processes.
import array
import copy
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DIYC_OCI = os.environ.get("DIYC_OCI", "diyc-oci")
BUSYBOX = os.environ.get("BUSYBOX", "/bin/busybox")

DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

# what runc's `spec` writes, trimmed: no resources (this host has no cgroup v2 of its own)
BASE_CONFIG = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh"],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
        "cwd": "/",
        "capabilities": {k: DEFAULT_CAPS for k in ("bounding", "effective", "permitted")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": False},
    "hostname": "ocitest",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ],
    "linux": {
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
}


def make_rootfs(dest):
    """A root filesystem of the host's static busybox: /bin/busybox, its applets as links."""
    dest = Path(dest)
    for d in ("bin", "proc", "sys", "dev", "etc", "tmp", "root"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            (dest / "bin" / a).symlink_to("busybox")
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\nnobody:x:65534:\n")
    os.chmod(dest / "tmp", 0o1777)
    return dest


class Bundle:
    """A bundle directory: rootfs/ (a copy of the session's busybox tree) and config.json."""

    def __init__(self, path, template):
        self.path = Path(path)
        self.rootfs = self.path / "rootfs"
        self.path.mkdir(parents=True, exist_ok=True)
        shutil.copytree(template, self.rootfs, symlinks=True)
        self.config = copy.deepcopy(BASE_CONFIG)
        self.config["process"]["env"].append(f"{MARK}={self.path}")

    def args(self, *argv):
        self.config["process"]["args"] = list(argv)
        return self

    def sh(self, script):
        return self.args("sh", "-c", script)

    def write(self, text=None):
        (self.path / "config.json").write_text(text if text is not None else json.dumps(self.config, indent=1))
        return self


class Runtime:
    """diyc-oci with its own --root, so that each test sees only its own state."""

    def __init__(self, root, log=None, log_format=None):
        self.root = Path(root)
        self.log = log
        self.log_format = log_format

    def argv(self, *args):
        g = [DIYC_OCI, "--root", str(self.root)]
        if self.log:
            g += ["--log", str(self.log)]
        if self.log_format:
            g += ["--log-format", self.log_format]
        return g + [str(a) for a in args]

    def __call__(self, *args, timeout=30, **kw):
        kw.setdefault("env", dict(os.environ, **{MARK: str(self.root.parent)}))
        return run(self.argv(*args), timeout=timeout, **kw)

    def ok(self, *args, **kw):
        return assert_ok(self(*args, **kw))

    def state(self, cid):
        return json.loads(self.ok("state", cid).stdout)

    def wait_status(self, cid, want, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            st = self.state(cid)
            if st["status"] == want or time.monotonic() > deadline:
                return st
            time.sleep(0.05)

    def state_dirs(self):
        return sorted(p.name for p in self.root.iterdir()) if self.root.exists() else []


def run(argv, timeout=30, **kw):
    """subprocess.run with stdout and stderr in files, not pipes: `create` hands its stdio to
    the container, which keeps them open, so a pipe would not end when the command does."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run(argv, timeout=timeout, stdout=out, stderr=err, **kw)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(p.args, p.returncode, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))


def describe(res):
    return f"command: {res.args}\nstatus: {res.returncode}\nstdout: {res.stdout!r}\nstderr: {res.stderr!r}"


def assert_ok(res):
    assert res.returncode == 0, describe(res)
    return res


def assert_fails(res, *words):
    """The command failed and its stderr names each of WORDS (case-insensitive)."""
    assert res.returncode != 0, "should have failed\n" + describe(res)
    for w in words:
        assert w.lower() in res.stderr.lower(), f"the error should say {w!r}\n" + describe(res)
    return res


def mounts_mentioning(path):
    path = str(path)
    with open("/proc/self/mountinfo") as f:
        return [line.strip() for line in f if path in line]


MARK = "OCITEST_MARK"


def processes_in(path):
    """Pids of processes marked with PATH (or a path below it) in their environment: every
    diyc-oci call carries the test's directory as OCITEST_MARK and so does each bundle's
    process.env (a process in another mount namespace cannot be found by its root or cwd)."""
    path = str(path)
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            continue
        for e in env:
            if e.startswith(MARK.encode() + b"="):
                v = e.split(b"=", 1)[1].decode(errors="replace")
                if (v == path or v.startswith(path + "/")) and not zombie:
                    found.append(int(pid))
                break
    return found


def wait_gone(path, timeout=5):
    deadline = time.monotonic() + timeout
    while processes_in(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes_in(path)


def assert_nothing_left(rt, bundle):
    """No state under --root, no mount naming the bundle, no process in it."""
    assert rt.state_dirs() == [], f"state left under {rt.root}: {rt.state_dirs()}"
    assert mounts_mentioning(bundle.path) == [], "mounts left behind:\n" + "\n".join(mounts_mentioning(bundle.path))
    left = wait_gone(bundle.path.parent)
    assert left == [], f"processes left behind: {left}"


def recv_fds(conn, maxfds=8):
    """One message from a unix socket: (data, [fds])."""
    fds = array.array("i")
    msg, anc, _flags, _addr = conn.recvmsg(1024, socket.CMSG_LEN(maxfds * fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return msg, list(fds)


def read_until(fd, needle, timeout=10):
    """Reads the pty master FD until NEEDLE (bytes) appears; returns all that was read."""
    import select
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} did not come; read {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf
