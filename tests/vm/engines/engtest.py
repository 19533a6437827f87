# SPDX-License-Identifier: MIT
"""Helpers of the engine tests (tests/vm/engines), which run inside the VM guest of
tests/vm/run and drive diyc-oci through containerd, dockerd and podman: running a command
with a timeout (also on a pty, for -t and -it), the offline busybox image as an OCI archive
and as a docker archive, the logging wrapper the engines are given instead of diyc-oci
itself, the cgroup of a process, and waiting for a condition."""

import errno
import fcntl
import hashlib
import io
import json
import os
import pty
import select
import signal
import subprocess
import tarfile
import termios
import time
from pathlib import Path

UID = os.geteuid()
ROOT = UID == 0
CGROOT = Path("/sys/fs/cgroup")
MIB = 1 << 20
TIMEOUT = 120  # seconds for one engine command: the guest may be emulated (qemu TCG)
IMAGE = "diyc-busybox"  # the image, docker.io/library/diyc-busybox:latest in every engine
IMAGE_REF = f"docker.io/library/{IMAGE}:latest"


def describe(res):
    """A command's line, status and output, for an assertion's message."""
    out = res.stdout if isinstance(res.stdout, str) else (res.stdout or b"").decode(errors="replace")
    err = res.stderr if isinstance(res.stderr, str) else (res.stderr or b"").decode(errors="replace")
    return (f"$ {' '.join(map(str, res.args))}\nexit {res.returncode}\n"
            f"--- stdout\n{out[-4000:]}\n--- stderr\n{err[-4000:]}")


def run(argv, timeout=TIMEOUT, env=None, input=None, check=False):
    """ARGV with its output captured (text); a timeout kills its whole process group and is
    returned as exit status 124 with what it printed so far."""
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err = f"{err}\n[killed after a timeout of {timeout}s]"
        res = subprocess.CompletedProcess(p.args, 124, out, err)
    else:
        res = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    if check:
        assert res.returncode == 0, describe(res)
    return res


def wait_until(cond, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run_pty(argv, answer=None, after="ready", timeout=TIMEOUT, env=None):
    """ARGV with a new pty as its controlling terminal and stdio (what `-t`/`-it` need).
    Once the output shows AFTER, writes ANSWER followed by a carriage return (the outer
    terminal is raw while an engine relays it). Returns (exit status, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x18\x00\x50\x00\x00\x00\x00\x00")  # 24x80

    def ctty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=slave, stderr=slave, env=env,
                         start_new_session=True, preexec_fn=ctty, close_fds=True)
    os.close(slave)
    out = b""
    sent = answer is None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    break  # every holder of the slave has closed it
                if not chunk:
                    break
                out += chunk
            if not sent and after.encode() in out:
                os.write(master, answer.encode() + b"\r")
                sent = True
            if not r and p.poll() is not None:
                break
        else:
            os.killpg(p.pid, signal.SIGKILL)
            out += f"\n[killed after a timeout of {timeout}s]".encode()
        rc = p.wait(timeout=30)
    finally:
        os.close(master)
    return rc, out.decode(errors="replace").replace("\r", "")


# -- the image ---------------------------------------------------------------------------------

def _tar_add(tf, name, data=None, mode=0o644, kind=tarfile.REGTYPE, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.mode, ti.type, ti.linkname, ti.mtime = mode, kind, linkname, 0
    ti.uname = ti.gname = "root"
    if data is not None:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def busybox_layer(busybox="/bin/busybox"):
    """An uncompressed layer tar: the guest's static busybox, its applets as symlinks, and
    the few files a shell wants."""
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for d, mode in (("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755),
                        ("usr/sbin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777),
                        ("proc", 0o755), ("sys", 0o755), ("dev", 0o755), ("var", 0o755),
                        ("var/tmp", 0o1777), ("home", 0o755)):
            _tar_add(tf, d, mode=mode, kind=tarfile.DIRTYPE)
        _tar_add(tf, "bin/busybox", Path(busybox).read_bytes(), mode=0o755)
        seen = {"bin/busybox"}
        for a in applets:
            if a in seen or a.count("/") not in (1, 2):
                continue
            seen.add(a)
            target = {"bin": "busybox", "sbin": "../bin/busybox"}.get(a.split("/")[0], "../../bin/busybox")
            _tar_add(tf, a, kind=tarfile.SYMTYPE, linkname=target, mode=0o777)
        _tar_add(tf, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        _tar_add(tf, "etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue()


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def make_archives(dest):
    """Writes DEST/busybox-oci.tar (an OCI image layout, for `ctr image import` and
    `podman load`) and DEST/busybox-docker.tar (`docker save`'s format, for `docker load`)
    of one image, IMAGE_REF. Returns their paths."""
    dest = Path(dest)
    layer = busybox_layer()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha(layer)}"]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "tests/vm/engines: busybox-static"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{_sha(config)}", "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{_sha(layer)}", "size": len(layer)}],
    }, sort_keys=True).encode()
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": f"sha256:{_sha(manifest)}", "size": len(manifest),
                       "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"io.containerd.image.name": IMAGE_REF,
                                       "org.opencontainers.image.ref.name": "latest"}}],
    }, sort_keys=True).encode()
    oci = dest / "busybox-oci.tar"
    with tarfile.open(oci, "w", format=tarfile.GNU_FORMAT) as tf:
        _tar_add(tf, "blobs", mode=0o755, kind=tarfile.DIRTYPE)
        _tar_add(tf, "blobs/sha256", mode=0o755, kind=tarfile.DIRTYPE)
        for blob in (layer, config, manifest):
            _tar_add(tf, f"blobs/sha256/{_sha(blob)}", blob)
        _tar_add(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _tar_add(tf, "index.json", index)
    docker = dest / "busybox-docker.tar"
    with tarfile.open(docker, "w", format=tarfile.GNU_FORMAT) as tf:
        _tar_add(tf, f"{_sha(layer)}", mode=0o755, kind=tarfile.DIRTYPE)
        _tar_add(tf, f"{_sha(layer)}/layer.tar", layer)
        _tar_add(tf, f"{_sha(config)}.json", config)
        _tar_add(tf, "manifest.json", json.dumps([{
            "Config": f"{_sha(config)}.json", "RepoTags": [IMAGE_REF],
            "Layers": [f"{_sha(layer)}/layer.tar"]}]).encode())
    return oci, docker


# -- the runtime the engines are given ---------------------------------------------------------

WRAPPER = """#!/bin/sh
# tests/vm/engines: logs how an engine calls diyc-oci, then runs it (not exec: the status is logged)
printf '%s uid=%s pid=%s argv: %s\\n' "$(date +%s.%N)" "$(id -u)" "$$" "$*" >>{log}
{real} "$@"
rc=$?
printf '%s pid=%s exit %s\\n' "$(date +%s.%N)" "$$" "$rc" >>{log}
exit $rc
"""


class Runtime:
    """DIR/bin/diyc-oci: a shell wrapper named as diyc-oci is (podman decides by the file
    name whether a runtime takes --log-format json) that logs each call to DIR/calls.log and
    runs the real diyc-oci ($DIYC_OCI)."""

    def __init__(self, d, real):
        self.real = real
        self.log = Path(d) / "calls.log"
        self.path = Path(d) / "bin" / "diyc-oci"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(WRAPPER.format(log=self.log, real=real))
        self.path.chmod(0o755)
        self.log.touch()
        os.chmod(self.log, 0o666)

    def calls(self):
        return self.log.read_text(errors="replace").splitlines()

    COMMANDS = ("create", "start", "state", "kill", "delete", "exec", "ps", "pause", "resume",
                "update", "run")

    def commands(self, container_id):
        """The diyc-oci commands (create, start, exec, ...), in order, whose arguments name
        CONTAINER_ID."""
        out = []
        for line in self.calls():
            if " argv: " not in line:
                continue
            argv = line.split(" argv: ", 1)[1].split()
            if container_id in argv:
                out.extend([w for w in argv if w in self.COMMANDS][:1])
        return out

    def tail(self, n=30):
        return "--- diyc-oci calls (last %d)\n%s" % (n, "\n".join(self.calls()[-n:]))


# -- processes and cgroups ----------------------------------------------------------------------

def cgroup_of(pid):
    """The cgroup v2 path of PID, as the host sees it ("/system.slice/...")."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise AssertionError(f"no cgroup v2 line in /proc/{pid}/cgroup")


def cg_read(cg, name):
    return (CGROOT / cg.lstrip("/") / name).read_text().strip()


def cg_exists(cg):
    return (CGROOT / cg.lstrip("/")).is_dir()


def memory_events(cg):
    return dict((k, int(v)) for k, v in (line.split() for line in cg_read(cg, "memory.events").splitlines()))


def mounts_under(path):
    path = str(path).rstrip("/") + "/"
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].encode().decode("unicode_escape")
        if mp.startswith(path):
            out.append(mp)
    return out


def unmount_under(path):
    for mp in sorted(mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def stop_process(p, sig=signal.SIGTERM, timeout=30):
    """Stops the daemon P (a Popen) with SIG, then SIGKILL; returns its exit status."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)
    return p.returncode


def pids_running(exe_names):
    """Pids of live processes whose comm is one of EXE_NAMES. Zombies among our own
    children are reaped on the way: pytest is a subreaper (tests/vm/cgroups/conftest.py),
    so the shims and conmon, which daemonize, end as its children."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                comm = (d / "comm").read_text().strip()
                st = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if comm not in exe_names:
                continue
            if st[0] == "Z":
                if int(st[1]) == os.getpid():
                    try:
                        os.waitpid(int(d.name), os.WNOHANG)
                    except ChildProcessError:
                        pass
                continue
            out.append(int(d.name))
    return out
