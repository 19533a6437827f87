# SPDX-License-Identifier: MIT
# Hardening (issue 8): capabilities, seccomp, no-new-privileges, masked and read-only
# /proc and /sys paths, --read-only, --privileged, and one test per known container escape
# of runc, crun and bubblewrap, tried the way its exploit worked. The probe that runs in the
# containers is tests/helpers/escape-probe (static C, bind-mounted at /probe).
#
# The same tests run twice: here as the unprivileged test user (rootless diyc), and as root
# from tests/root/test_root_hardening.py, which imports this module and gives the `hx`
# fixture its root variant. Every test goes through `hx` (an Hx): nothing below may depend
# on the integration conftest's fixtures, which the root tests do not have.
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import pty
import re
import select
import shutil
import signal
import stat as st
import subprocess
import termios
import time
import tty
from pathlib import Path

import pytest

import diyctest as dt

# docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
DEFAULT_CAPS = 0x00000000A80425FB
CAP = {"CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "KILL": 5, "SETUID": 7,
       "NET_ADMIN": 12, "NET_RAW": 13, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_ADMIN": 21,
       "SYS_TIME": 25, "MKNOD": 27}
DETACHED_EXE = "/memfd:diyc-detached (deleted)"
SEALED_EXE = "/memfd:diyc-sealed (deleted)"


def kernel_can_repoint_exe():
    """What diyc asks the kernel before it starts a container: whether PR_SET_MM_MAP exists
    (only with CONFIG_CHECKPOINT_RESTORE). Where it does, diyc's processes in a container
    point /proc/PID/exe at an empty memfd; where not, diyc runs from a sealed copy of itself.
    tests/run-all runs these tests a second time under tests/helpers/no-setmm, whose seccomp
    filter makes the kernel look like one without it (and sets DIYC_EXPECT_SEALED=1)."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = ctypes.c_uint(0)
    return libc.prctl(35, 15, ctypes.byref(size), 0, 0) == 0 and size.value > 0  # PR_SET_MM, _MAP_SIZE


SEALED = not kernel_can_repoint_exe()
EXPECTED_EXE = SEALED_EXE if SEALED else DETACHED_EXE
# what exec of the runtime's own file says in the container: an empty file has no format;
# the sealed copy has no execute bit
EXEC_REFUSED = "Permission denied" if SEALED else "Exec format error"
# what docker masks and makes read-only (diyc's lists); only those the host has can be checked
MASKED = ["/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY_FILES = ["/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches",
                  "/proc/irq/default_smp_affinity", "/proc/sysrq-trigger"]
# a sysctl of the container's own network namespace: writable by its root with CAP_NET_ADMIN,
# even rootless, were /proc/sys not read-only
OWN_SYSCTL = "/proc/sys/net/ipv4/ip_forward"


def bit(*names):
    m = 0
    for n in names:
        m |= 1 << CAP[n]
    return m


def probe_bin():
    """The static escape-probe of tests/helpers, next to the diyc under test or in the build."""
    for p in (Path(dt.diyc_bin()).parent / "escape-probe", dt.REPO / "build" / "tests" / "helpers" / "escape-probe"):
        if p.is_file():
            return p
    pytest.fail("tests/helpers/escape-probe is not built (meson compile -C build)")


def last_cap():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def own_caps():
    """The capability sets of this (the test's) process."""
    with open("/proc/self/status") as f:
        return parse_caps(f.read())


def parse_caps(text):
    return {k: int(v, 16) for k, v in re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", text, re.M)}


def status_field(text, field):
    m = re.search(rf"^{field}:\s+(\S+)", text, re.M)
    return m.group(1) if m else None


def no_filter_of_diycs(status_text):
    """A container's /proc/self/status says diyc installed no seccomp filter: the process
    has the filters the test itself runs under (none, or no-setmm's), no more."""
    with open("/proc/self/status") as f:
        own = f.read()
    return all(status_field(status_text, k) == status_field(own, k) for k in ("Seccomp", "Seccomp_filters"))


def results(res):
    """A probe's `WHAT RESULT` lines as {WHAT: RESULT}."""
    dt.assert_ok(res)
    out = {}
    for line in res.stdout.splitlines():
        what, _, result = line.rpartition(" ")
        if what:
            out[what] = result
    return out


def mountinfo(text):
    """Lines of /proc/PID/mountinfo as dicts: root, point, opts (the mount's), fstype, source."""
    out = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split()
        if len(f) >= 6 and len(r) >= 2:
            out.append({"root": dt._unescape(f[3]), "point": dt._unescape(f[4]), "opts": f[5].split(","),
                        "fstype": r[0], "source": r[1]})
    return out


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Hx:
    """How the hardening tests run diyc, rootless or as root: the store, the probe, the
    containers and images a test made (removed at the end), and the checks that a refused
    command left nothing behind."""

    def __init__(self, store, tmp, root):
        self.store, self.tmp, self.root = store, Path(tmp), root
        self.probe = probe_bin()
        self.names, self.images = [], []

    # -- running diyc ---------------------------------------------------------------------

    def diyc(self, *args, exe=None, timeout=None, pass_fds=(), stdin=subprocess.DEVNULL, env=None):
        """diyc ARGS (EXE instead of the diyc under test; ENV added to the store's environment),
        outputs as text."""
        res = subprocess.run([str(exe or dt.diyc_bin()), *map(str, args)], stdin=stdin, capture_output=True,
                             env={**self.store.env, **(env or {})}, pass_fds=pass_fds,
                             timeout=dt.TIMEOUT if timeout is None else timeout)
        res.stdout = res.stdout.decode(errors="replace")
        res.stderr = res.stderr.decode(errors="replace")
        return res

    def run(self, *args, **kw):
        """`diyc run --rm --net=none` with the probe at /probe; ARGS: options, image, command."""
        return self.diyc("run", "--rm", "--net=none", "-v", f"{self.probe}:/probe:ro", *args, **kw)

    def run_ok(self, *args, **kw):
        return dt.assert_ok(self.run(*args, **kw))

    def detached(self, *opts, image="busybox", cmd=("sleep", "100000"), exe=None, env=None):
        """A container that keeps running: `diyc run -d OPTS IMAGE CMD`, the probe at /probe."""
        name = dt.unique_name("hard")
        self.names.append(name)
        res = self.diyc("run", "-d", "--name", name, "--net=none", "-v", f"{self.probe}:/probe:ro", *opts, image,
                        *cmd, exe=exe, env=env)
        dt.assert_ok(res)
        return name

    def exec(self, *args, **kw):
        return self.diyc("exec", *args, **kw)

    def caps(self, *args):
        """The probe's capability sets in `diyc run ARGS... busybox /probe caps`."""
        res = self.run_ok(*args, "busybox", "/probe", "caps")
        return parse_caps(res.stdout), res.stdout

    def all_caps(self):
        """What `ALL` can give: every capability of the kernel in a user namespace of the
        container's own; as root, what root has (its bounding set)."""
        if self.root:
            return own_caps()["CapBnd"]
        return (1 << (last_cap() + 1)) - 1

    def need_subids(self):
        if not self.root and not (dt.have_subids() and dt.which("newuidmap") and dt.which("newgidmap")):
            pytest.skip(f"user {dt.user_name()} has no subordinate id range (or uidmap is missing): "
                        "the container has no uid other than 0")

    def diyc_copy(self):
        """A copy of diyc in a directory of the caller's, which the caller may write: what
        the container's root (the caller, rootless; root, as root) would overwrite."""
        d = self.tmp / "diyc-copy"
        d.mkdir(exist_ok=True)
        exe = d / "diyc"
        shutil.copy2(dt.diyc_bin(), exe)
        os.chmod(exe, 0o755)
        return exe

    # -- images -----------------------------------------------------------------------------

    def image(self, tweak):
        """An image: busybox in /bin (every applet a symlink), /etc/passwd and /etc/group,
        the usual directories, then TWEAK(rootfs) makes it hostile. Returns its name."""
        rootfs = self.tmp / dt.unique_name("rootfs")
        for d in ("bin", "etc", "root", "tmp", "proc", "sys", "dev", "var/tmp", "home"):
            (rootfs / d).mkdir(parents=True, exist_ok=True)
        os.chmod(rootfs / "tmp", 0o1777)
        busybox = os.environ.get("BUSYBOX", "/bin/busybox")
        shutil.copy2(busybox, rootfs / "bin" / "busybox")
        for applet in dt.run([busybox, "--list"]).stdout.split():
            if applet != "busybox":
                os.symlink("busybox", rootfs / "bin" / applet)
        (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (rootfs / "etc" / "group").write_text("root:x:0:\n")
        (rootfs / "etc" / "shadow").write_text("root:*:19000:0:99999:7:::\n")
        tweak(rootfs)
        name = dt.unique_name("hostile")
        dt.assert_ok(self.diyc("image", "import", rootfs, name, timeout=120))
        self.images.append(name)
        return name

    # -- checks -----------------------------------------------------------------------------

    def refused(self, *args, needles=(), command=("busybox", "true"), timeout=None):
        """`diyc run --name N ARGS busybox true` fails with diyc's one-line error mentioning
        NEEDLES, and nothing was created: no container N, the store unchanged."""
        name = dt.unique_name("refused")
        before = self.store.snapshot()
        res = self.diyc("run", "--name", name, *args, *command, timeout=timeout)
        line = dt.assert_error(res, *needles)
        assert name not in dt.ps_all(self.store), f"a refused run left container {name}"
        after = self.store.snapshot()
        for part in ("data", "run"):
            assert after[part] == before[part], \
                f"the refused run changed the store ({part}): {sorted(after[part] ^ before[part])}"
        return line

    def cleanup(self):
        if self.names:
            dt.assert_ok(self.diyc("rm", "-f", *self.names, timeout=120))
        for image in self.images:
            dt.assert_ok(self.diyc("image", "rm", "-f", image, timeout=120))


@pytest.fixture
def hx(store, busybox, tmp_path):
    """Rootless: the caller's default store with busybox (the leak check of the conftest
    runs after each test)."""
    h = Hx(store, tmp_path, root=False)
    yield h
    h.cleanup()


# -- capabilities ----------------------------------------------------------------------------


def test_caps_default(hx):
    caps, out = hx.caps()
    assert caps == {"CapInh": 0, "CapPrm": DEFAULT_CAPS, "CapEff": DEFAULT_CAPS, "CapBnd": DEFAULT_CAPS,
                    "CapAmb": 0}, out


@pytest.mark.parametrize("spelling", ["NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_Net_Admin"])
def test_caps_add(hx, spelling):
    caps, out = hx.caps("--cap-add", spelling)
    want = DEFAULT_CAPS | bit("NET_ADMIN")
    assert (caps["CapPrm"], caps["CapEff"], caps["CapBnd"]) == (want, want, want), out
    assert caps["CapInh"] == caps["CapAmb"] == 0, out


def test_caps_add_several(hx):
    caps, out = hx.caps("--cap-add", "NET_ADMIN,SYS_TIME", "--cap-add", "sys_ptrace")
    assert caps["CapEff"] == DEFAULT_CAPS | bit("NET_ADMIN", "SYS_TIME", "SYS_PTRACE"), out


def test_caps_drop(hx):
    caps, out = hx.caps("--cap-drop", "CHOWN,cap_kill", "--cap-drop", "Net_Raw")
    want = DEFAULT_CAPS & ~bit("CHOWN", "KILL", "NET_RAW")
    assert (caps["CapPrm"], caps["CapEff"], caps["CapBnd"]) == (want, want, want), out
    # and the dropped one is gone in practice: chown needs CAP_CHOWN
    res = hx.run("--cap-drop", "CHOWN", "busybox", "sh", "-c", "touch /f && chown 1:1 /f")
    assert res.returncode != 0 and "Operation not permitted" in res.stderr, dt.describe(res)


def test_caps_drop_all_add_one(hx):
    caps, out = hx.caps("--cap-drop", "ALL", "--cap-add", "NET_ADMIN")
    want = bit("NET_ADMIN")
    assert (caps["CapPrm"], caps["CapEff"], caps["CapBnd"], caps["CapInh"], caps["CapAmb"]) == \
        (want, want, want, 0, 0), out


def test_caps_drop_all(hx):
    caps, out = hx.caps("--cap-drop", "all")
    assert set(caps.values()) == {0}, out


def test_caps_add_all(hx):
    caps, out = hx.caps("--cap-add", "ALL", "--cap-drop", "SYS_ADMIN")
    want = hx.all_caps() & ~bit("SYS_ADMIN")
    assert (caps["CapPrm"], caps["CapEff"], caps["CapBnd"]) == (want, want, want), out
    assert caps["CapInh"] == caps["CapAmb"] == 0, out


def test_caps_non_root_user(hx):
    hx.need_subids()
    caps, out = hx.caps("-u", "1000")
    assert caps == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": DEFAULT_CAPS, "CapAmb": 0}, out
    caps, out = hx.caps("-u", "1000:1000", "--cap-add", "NET_ADMIN")
    assert caps == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": DEFAULT_CAPS | bit("NET_ADMIN"),
                    "CapAmb": 0}, out


def test_caps_exec(hx):
    want = (DEFAULT_CAPS | bit("NET_ADMIN")) & ~bit("CHOWN")
    tok = dt.token()
    name = hx.detached("--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", cmd=("sleep", tok))
    caps = parse_caps(dt.assert_ok(hx.exec(name, "/probe", "caps")).stdout)
    assert caps == {"CapInh": 0, "CapPrm": want, "CapEff": want, "CapBnd": want, "CapAmb": 0}
    # the container's command, read from the host
    pids = dt.sleepers(tok)
    assert len(pids) == 1, pids
    with open(f"/proc/{pids[0]}/status") as f:
        host_view = parse_caps(f.read())
    assert host_view == caps


def test_caps_exec_seen_from_host(hx):
    tok, tok2 = dt.token(), dt.token()
    name = hx.detached("--cap-drop", "ALL", "--cap-add", "KILL,NET_RAW", cmd=("sleep", tok))
    with dt.Background([dt.diyc_bin(), "exec", name, "sleep", tok2], env=hx.store.env) as bg:
        pids = dt.wait_until(lambda: dt.sleepers(tok2), 10, what="the exec'd sleep")
        with open(f"/proc/{pids[0]}/status") as f:
            caps = parse_caps(f.read())
        os.kill(pids[0], signal.SIGKILL)
        res = bg.finish()
    assert res.returncode == 137, dt.describe(res)
    want = bit("KILL", "NET_RAW")
    assert caps == {"CapInh": 0, "CapPrm": want, "CapEff": want, "CapBnd": want, "CapAmb": 0}


def test_init_keeps_only_cap_kill(hx):
    res = hx.run_ok("--cap-add", "SYS_ADMIN", "busybox", "cat", "/proc/1/status")
    assert status_field(res.stdout, "Name") == "diyc-init", res.stdout
    caps = parse_caps(res.stdout)
    assert caps["CapEff"] == caps["CapPrm"] == bit("KILL"), res.stdout
    assert caps["CapInh"] == caps["CapAmb"] == 0 and caps["CapBnd"] & ~bit("KILL") == 0, res.stdout


def test_init_does_not_show_the_callers_environment(hx):
    # diyc's init is a fork of diyc: what its /proc/1/environ shows is the environment diyc
    # was started with, on the host (tokens, agent sockets, ...), unless diyc hides it
    # (unreadable is as good as empty)
    secret = "s3cret-" + dt.token()
    env = {"DIYC_HARDENING_SECRET": secret}
    res = hx.diyc("run", "--rm", "--net=none", "busybox", "sh", "-c", "cat /proc/1/environ 2>&1; echo; env", env=env)
    dt.assert_ok(res)
    assert secret not in res.stdout, "the caller's environment is readable in the container " \
        f"(/proc/1/environ of diyc-init): {res.stdout[:300]!r}"
    name = hx.detached(env=env)
    res = dt.assert_ok(hx.exec(name, "sh", "-c", "cat /proc/1/environ 2>&1; true"))
    assert secret not in res.stdout, f"/proc/1/environ of diyc-init: {res.stdout[:300]!r}"


@pytest.mark.parametrize("how", ["run", "exec"])
def test_no_new_privileges(hx, how):
    for opt, want in (("no-new-privileges", "1"), ("no-new-privileges=true", "1"), ("no-new-privileges:true", "1"),
                      ("no-new-privileges=false", "0"), (None, "0")):
        args = ("--security-opt", opt) if opt else ()
        if how == "run":
            out = hx.run_ok(*args, "busybox", "cat", "/proc/self/status").stdout
        else:
            name = hx.detached(*args)
            out = dt.assert_ok(hx.exec(name, "cat", "/proc/self/status")).stdout
        assert status_field(out, "NoNewPrivs") == want, f"{opt}: {out}"


def test_no_new_privileges_blocks_file_caps(hx):
    # with no_new_privs an exec cannot gain what a file's capabilities would give
    hx.need_subids()
    name = hx.detached("--cap-add", "NET_ADMIN", "--security-opt", "no-new-privileges")
    dt.assert_ok(hx.exec(name, "sh", "-c", "cp /probe /tmp/fp && /probe setfcap /tmp/fp permitted 1000"))
    caps = parse_caps(dt.assert_ok(hx.exec("-u", "1000", name, "/tmp/fp", "caps")).stdout)
    assert caps["CapEff"] == 0 and caps["CapPrm"] == 0


# -- seccomp ---------------------------------------------------------------------------------

# (ptrace is not among them: docker's default allows it on kernels from 4.8 on, whose ptrace
# checks are safe, and so does diyc's)
BLOCKED = ["unshare-user", "unshare-mount", "unshare-net", "mount", "keyctl", "add_key", "io_uring_setup",
           "personality"]


def test_seccomp_default_blocks(hx):
    r = results(hx.run("busybox", "/probe", "syscall", "getpid", "mkdir", *BLOCKED, "clone3"))
    assert r["getpid"] == "OK" and r["mkdir"] == "OK", r
    for call in BLOCKED:
        assert r[call] == "EPERM", f"{call} should fail with EPERM under the default profile: {r}"
    assert r["clone3"] == "ENOSYS", "clone3 is ENOSYS without CAP_SYS_ADMIN (libc falls back to clone)"
    res = hx.run("busybox", "unshare", "-U", "true")
    assert res.returncode != 0 and "Operation not permitted" in res.stderr, dt.describe(res)
    status = hx.run_ok("busybox", "cat", "/proc/self/status").stdout
    assert status_field(status, "Seccomp") == "2", status


def test_seccomp_cap_sys_admin_allows_namespaces(hx):
    r = results(hx.run("--cap-add", "SYS_ADMIN", "busybox", "/probe", "syscall",
                       "unshare-mount", "unshare-net", "mount", "clone3", "keyctl"))
    assert r["unshare-mount"] == r["unshare-net"] == r["mount"] == r["clone3"] == "OK", r
    assert r["keyctl"] == "EPERM", r


def test_seccomp_cap_sys_ptrace_allows_ptrace(hx):
    r = results(hx.run("--cap-add", "SYS_PTRACE", "busybox", "/probe", "syscall", "ptrace", "keyctl"))
    assert r == {"ptrace": "OK", "keyctl": "EPERM"}


def test_seccomp_unconfined(hx):
    res = hx.run_ok("--security-opt", "seccomp=unconfined", "busybox", "cat", "/proc/self/status")
    assert no_filter_of_diycs(res.stdout), res.stdout
    r = results(hx.run("--security-opt", "seccomp=unconfined", "busybox", "/probe", "syscall",
                       "keyctl", "add_key", "ptrace", "clone3", "unshare-user", "personality", "mount"))
    assert r["keyctl"] == r["add_key"] == r["ptrace"] == r["clone3"] == r["personality"] == "OK", r
    assert r["unshare-user"] == "OK", r
    # no filter, but still no CAP_SYS_ADMIN: mounting stays refused by the kernel
    assert r["mount"] == "EPERM", r
    dt.assert_ok(hx.run("--security-opt", "seccomp=unconfined", "busybox", "unshare", "-U", "true"))


def test_seccomp_exec(hx):
    name = hx.detached()
    r = results(hx.exec(name, "/probe", "syscall", "keyctl", "unshare-user", "clone3", "getpid"))
    assert r == {"keyctl": "EPERM", "unshare-user": "EPERM", "clone3": "ENOSYS", "getpid": "OK"}
    name = hx.detached("--security-opt", "seccomp=unconfined")
    r = results(hx.exec(name, "/probe", "syscall", "keyctl", "unshare-user"))
    assert r == {"keyctl": "OK", "unshare-user": "OK"}


def write_profile(path, errno_ret=None, names=("mkdir", "mkdirat")):
    rule = {"names": list(names), "action": "SCMP_ACT_ERRNO"}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}))
    return path


def test_seccomp_profile_file(hx):
    prof = write_profile(hx.tmp / "no-mkdir.json", errno.EDOM)
    r = results(hx.run("--security-opt", f"seccomp={prof}", "busybox", "/probe", "syscall",
                       "mkdir", "mkdirat", "keyctl", "getpid"))
    # only what the profile says: keyctl, blocked by the default profile, is allowed here
    assert r == {"mkdir": "EDOM", "mkdirat": "EDOM", "keyctl": "OK", "getpid": "OK"}
    res = hx.run("--security-opt", f"seccomp={prof}", "busybox", "mkdir", "/tmp/d")
    assert res.returncode != 0 and "Numerical argument out of domain" in res.stderr, dt.describe(res)
    prof = write_profile(hx.tmp / "no-mkdir-eperm.json")
    r = results(hx.run("--security-opt", f"seccomp={prof}", "busybox", "/probe", "syscall", "mkdir", "mkdirat"))
    assert r == {"mkdir": "EPERM", "mkdirat": "EPERM"}


def test_seccomp_profile_is_kept_in_the_config(hx):
    # read and checked at `run`: later changes to the file do not matter, for exec and start
    prof = write_profile(hx.tmp / "no-mkdir.json", errno.EDOM)
    name = hx.detached("--security-opt", f"seccomp={prof}")
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    assert results(hx.exec(name, "/probe", "syscall", "mkdir")) == {"mkdir": "EDOM"}
    prof.unlink()
    dt.assert_ok(hx.diyc("stop", "-t", "1", name))
    dt.assert_ok(hx.diyc("start", name))
    assert results(hx.exec(name, "/probe", "syscall", "mkdir")) == {"mkdir": "EDOM"}


# -- bad input: refused with one clear line, nothing created ---------------------------------


@pytest.mark.parametrize("opt", ["--cap-add", "--cap-drop"])
@pytest.mark.parametrize("cap", ["FOO", "CAP_NOPE", "NET_ADMIN,BOGUS", "ALL,FOO", "net admin", "../x", "CAP_",
                                 "NET_ADMIN;", "CAP_CAP_CHOWN", "a" * 300, "NET\nADMIN", "\u00e9"])
def test_bad_cap_name(hx, opt, cap):
    bad = cap.split(",")[-1]
    line = hx.refused(opt, cap, needles=("unknown capability",))
    if bad.isascii() and bad.isprintable():
        assert f"`{bad}`" in line, line


@pytest.mark.parametrize("opt", ["--cap-add", "--cap-drop"])
@pytest.mark.parametrize("cap", ["", ",", ",,"])
def test_empty_cap(hx, opt, cap):
    hx.refused(opt, cap, needles=(("no capability", "capability"),))


@pytest.mark.parametrize("sopt", ["seccomp", "seccomp=", "no-new-privileges=maybe", "no-new-privileges:yes",
                                  "apparmor=unconfined", "label=disable", "", "SECCOMP=unconfined",
                                  "seccomp-unconfined", "no-new-privileges=", "x\ny"])
def test_bad_security_opt(hx, sopt):
    hx.refused("--security-opt", sopt, needles=("--security-opt",))


def _profiles(tmp):
    """name -> (path, a word the error must have)"""
    big = '{"defaultAction": "SCMP_ACT_ALLOW"' + " " * (1 << 20) + "}"
    files = {
        "not-json.json": ('{"defaultAction": "SCMP_ACT_ALLOW"', "JSON"),
        "trailing-garbage.json": ('{"defaultAction": "SCMP_ACT_ALLOW"} x', "JSON"),
        "empty.json": ("", "JSON"),
        "huge.json": (big, "1 MiB"),
        "nul.json": ('{"defaultAction": "SCMP_ACT_ALLOW"}\0', "text"),
        "array.json": ("[]", "object"),
        "deep.json": ("[" * 100000 + "]" * 100000, ("JSON", "object", "deep")),
        "no-default.json": ('{"syscalls": []}', "defaultAction"),
        "default-number.json": ('{"defaultAction": 5}', "defaultAction"),
        "syscalls-string.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": "mkdir"}', "syscalls"),
        "names-string.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                              '[{"names": "mkdir", "action": "SCMP_ACT_ERRNO"}]}', "names"),
        "names-numbers.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                               '[{"names": [83], "action": "SCMP_ACT_ERRNO"}]}', "names"),
        "no-action.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"]}]}', "action"),
        "errno-string.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                              '[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": "1"}]}', "errnoRet"),
        "errno-range.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                             '[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}', "errnoRet"),
        "unknown-default-action.json": ('{"defaultAction": "SCMP_ACT_NOPE"}', "SCMP_ACT_NOPE"),
        "unknown-action.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                                '[{"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]}', "SCMP_ACT_FOO"),
        "unknown-op.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], '
                            '"action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]}',
                            "SCMP_CMP_XX"),
        "bad-index.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], '
                           '"action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}',
                           "index"),
        "value-string.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], '
                              '"action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": "1", '
                              '"op": "SCMP_CMP_EQ"}]}]}', "value"),
        "syscall-not-object.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [7]}', "syscalls[0]"),
    }
    out = {}
    for fname, (content, word) in files.items():
        p = tmp / fname
        p.write_text(content)
        out[fname] = (p, word)
    (tmp / "dir.json").mkdir()
    out["dir.json"] = (tmp / "dir.json", ("not a regular file",))
    out["missing.json"] = (tmp / "missing.json", "No such file")
    out["/dev/zero"] = (Path("/dev/zero"), "not a regular file")
    return out


PROFILE_CASES = ["not-json.json", "trailing-garbage.json", "empty.json", "huge.json", "nul.json", "array.json",
                 "deep.json", "no-default.json", "default-number.json", "syscalls-string.json",
                 "names-string.json", "names-numbers.json", "no-action.json", "errno-string.json",
                 "errno-range.json", "unknown-default-action.json", "unknown-action.json", "unknown-op.json",
                 "bad-index.json", "value-string.json", "syscall-not-object.json", "dir.json", "missing.json",
                 "/dev/zero"]


@pytest.mark.parametrize("case", PROFILE_CASES)
def test_bad_seccomp_profile(hx, case):
    path, word = _profiles(hx.tmp)[case]
    hx.refused("--security-opt", f"seccomp={path}", needles=("seccomp profile", str(path), word))


def test_seccomp_profile_fifo(hx):
    # a FIFO (or anything that is not a regular file) is refused; it must not hang diyc
    fifo = hx.tmp / "fifo.json"
    os.mkfifo(fifo)
    try:
        hx.refused("--security-opt", f"seccomp={fifo}", needles=("seccomp profile", str(fifo)), timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"diyc run --security-opt seccomp={fifo} hung opening a FIFO as its profile "
                    "(expected: refused, exit 125)")


def test_seccomp_profile_unreadable(hx):
    # (not among the root tests: root reads any file)
    p = hx.tmp / "secret.json"
    write_profile(p)
    os.chmod(p, 0)
    hx.refused("--security-opt", f"seccomp={p}", needles=("seccomp profile", str(p), "Permission denied"))


# -- masked and read-only paths, --read-only, --privileged ------------------------------------


def masked_on_this_host():
    return [p for p in MASKED if os.path.exists(p)]


def check_masked(out):
    """OUT: lines `PATH TYPE MAJOR:MINOR SIZE ENTRIES` for the masked paths (see MASK_SCRIPT)."""
    seen = {}
    for line in out.splitlines():
        path, kind, dev, size, entries = line.split("|")
        seen[path] = (kind, dev, size, entries)
    for p in masked_on_this_host():
        kind, dev, size, entries = seen[p]
        if os.path.isdir(p):
            assert kind == "directory" and entries == "0", f"{p} should be an empty directory: {seen[p]}"
        else:
            assert (kind, dev, size) == ("character special file", "1:3", "0"), \
                f"{p} should be covered by /dev/null: {seen[p]}"
    return seen


MASK_SCRIPT = ('for p in "$@"; do printf "%s|%s|%s|%s|%s\\n" "$p" "$(stat -c "%F" "$p")" "$(stat -c "%t:%T" "$p")" '
               '"$(cat "$p" 2>/dev/null | wc -c)" "$(ls -A "$p" 2>/dev/null | wc -l)"; done')


def test_masked_paths(hx):
    paths = masked_on_this_host()
    if not paths:
        pytest.skip("the host has none of the masked /proc and /sys paths")
    res = hx.run_ok("busybox", "sh", "-c", MASK_SCRIPT, "sh", *paths)
    check_masked(res.stdout)
    # a masked directory takes no writes; a masked file is /dev/null: its kernel file is not reached
    for p in paths:
        if os.path.isdir(p):
            r = results(hx.run("busybox", "/probe", "open-write", p + "/x"))
            assert r["open"] in ("EROFS", "ENOENT", "EACCES"), f"{p}: {r}"
            res = hx.run("busybox", "touch", p + "/x")
            assert res.returncode != 0 and "Read-only file system" in res.stderr, dt.describe(res)
    # the mounts are the host's /dev/null and empty read-only tmpfs
    info = mountinfo(hx.run_ok("busybox", "cat", "/proc/self/mountinfo").stdout)
    for p in paths:
        m = [e for e in info if e["point"] == p]
        assert m, f"{p} is not masked by a mount: {info}"
        if os.path.isdir(p):
            assert m[-1]["fstype"] == "tmpfs" and "ro" in m[-1]["opts"], m


def test_masked_paths_in_exec(hx):
    paths = masked_on_this_host()
    if not paths:
        pytest.skip("the host has none of the masked /proc and /sys paths")
    name = hx.detached()
    check_masked(dt.assert_ok(hx.exec(name, "sh", "-c", MASK_SCRIPT, "sh", *paths)).stdout)


def test_readonly_proc_paths(hx):
    files = [p for p in READONLY_FILES if os.path.exists(p)]
    # opened for writing, never written: on a host where this fails, nothing happens to it
    r = results(hx.run("--cap-add", "NET_ADMIN", "busybox", "sh", "-c",
                       'for f in "$@"; do echo "$f $(/probe open-write "$f")"; done', "sh", *files))
    for f in files:
        # rootless, the host's sysctls are not the container root's to write anyway (EACCES
        # comes before the mount's EROFS); its own network namespace's are
        ok = ("EROFS",) if hx.root or f == OWN_SYSCTL else ("EROFS", "EACCES")
        assert r[f + " open"] in ok, f"{f}: {r}"
    res = hx.run("--cap-add", "NET_ADMIN", "busybox", "sh", "-c", f"cat {OWN_SYSCTL} > {OWN_SYSCTL}")
    assert res.returncode != 0 and "Read-only file system" in res.stderr, dt.describe(res)
    # reading them still works
    assert hx.run_ok("busybox", "cat", "/proc/sys/kernel/ostype").stdout == "Linux\n"


def test_read_only_rootfs(hx):
    rw, ro = hx.tmp / "rw", hx.tmp / "ro"
    rw.mkdir()
    ro.mkdir()
    script = ('for p in / /etc /root /var/tmp /bin /tmp /run /dev/shm /rw /ro /scratch; do '
              'if touch "$p/probe-file" 2>/dev/null; then echo "$p yes"; else echo "$p no"; fi; done; '
              '/probe open-write /etc/passwd x')
    r = results(hx.run("--read-only", "-v", f"{rw}:/rw", "-v", f"{ro}:/ro:ro", "--tmpfs", "/scratch",
                       "busybox", "sh", "-c", script))
    assert r == {"/": "no", "/etc": "no", "/root": "no", "/var/tmp": "no", "/bin": "no", "/tmp": "yes", "/run": "yes",
                 "/dev/shm": "yes", "/rw": "yes", "/ro": "no", "/scratch": "yes", "open": "EROFS"}
    assert os.listdir(rw) == ["probe-file"] and os.listdir(ro) == []
    res = hx.run("--read-only", "busybox", "sh", "-c", "echo x > /etc/hostname-new")
    assert res.returncode != 0 and "Read-only file system" in res.stderr, dt.describe(res)


def test_read_only_rootfs_in_exec(hx):
    name = hx.detached("--read-only")
    res = hx.exec(name, "touch", "/x")
    assert res.returncode != 0 and "Read-only file system" in res.stderr, dt.describe(res)
    dt.assert_ok(hx.exec(name, "touch", "/tmp/x"))


def test_privileged(hx):
    res = hx.run_ok("--privileged", "busybox", "cat", "/proc/self/status")
    caps = parse_caps(res.stdout)
    want = hx.all_caps()
    assert (caps["CapPrm"], caps["CapEff"], caps["CapBnd"]) == (want, want, want), res.stdout
    assert no_filter_of_diycs(res.stdout), res.stdout
    # nothing masked, /proc/sys writable (the sysctl is of the container's network namespace)
    paths = masked_on_this_host()
    info = hx.run_ok("--privileged", "busybox", "cat", "/proc/self/mountinfo").stdout
    mounted = {e["point"] for e in mountinfo(info)}
    assert not set(paths) & mounted, f"--privileged masks nothing: {sorted(set(paths) & mounted)}"
    dt.assert_ok(hx.run("--privileged", "busybox", "sh", "-c", f"echo 1 > {OWN_SYSCTL} && grep -x 1 {OWN_SYSCTL}"))
    r = results(hx.run("--privileged", "busybox", "/probe", "syscall", "keyctl", "unshare-mount", "clone3"))
    assert r == {"keyctl": "OK", "unshare-mount": "OK", "clone3": "OK"}


# -- device nodes made in the container ----------------------------------------------------


def host_devices():
    """Device nodes of the host that would matter in a container's hands (its disks, loop
    devices, virtual consoles): {path: (kind, major, minor)} of those this host has."""
    out = {}
    candidates = ["/dev/loop0", "/dev/tty0", "/dev/tty1", "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda",
                  "/dev/kvm"]
    for p in candidates:
        try:
            info = os.stat(p)
        except OSError:
            continue
        if st.S_ISBLK(info.st_mode) or st.S_ISCHR(info.st_mode):
            out[p] = ("b" if st.S_ISBLK(info.st_mode) else "c", os.major(info.st_rdev), os.minor(info.st_rdev))
    return out


def test_mknod_host_devices_cannot_be_opened(hx):
    # CAP_MKNOD is in docker's default set: a node the container makes for a host device
    # (a disk, a console) must not open (docker: the devices cgroup; rootless: the kernel)
    devices = host_devices()
    if not devices:
        pytest.skip("the host has none of the device nodes this test makes (loop0, tty0, disks, kvm)")
    script = ('i=0; while [ $# -gt 0 ]; do i=$((i+1)); '
              'if mknod /tmp/dev$i $2 $3 $4 2>/dev/null; then echo "$1 $(/probe open /tmp/dev$i)"; '
              'else echo "$1 mknod-refused"; fi; shift 4; done')
    args = [x for p, (kind, ma, mi) in devices.items() for x in (p, kind, ma, mi)]
    r = results(hx.run("busybox", "sh", "-c", script, "sh", *args))
    opened = [p for p in devices if r.get(p + " open") == "OK"]
    assert not opened, f"host devices opened in the container through nodes it made: {opened} ({r})"
    for p in devices:
        assert r.get(p) == "mknod-refused" or p + " open" in r, f"{p}: {r}"


# -- runc CVE-2019-5736: the runtime binary overwritten from the container --------------------


def test_cve_2019_5736_proc_exe_is_detached(hx):
    exe = hx.diyc_copy()
    before = sha256(exe)
    name = hx.detached(exe=exe)
    # (as root the link may not even be readable: diyc's init is not dumpable)
    script = ("readlink /proc/1/exe || echo refused; wc -c < /proc/1/exe || echo refused; "
              "/probe open-write /proc/1/exe pwned; stat -L -c %a /proc/1/exe || echo refused")
    for res in (hx.exec(name, "sh", "-c", script, exe=exe), hx.run("busybox", "sh", "-c", script, exe=exe)):
        dt.assert_ok(res)
        lines = res.stdout.splitlines()
        assert lines[0] in (EXPECTED_EXE, "refused"), res.stdout
        if SEALED:
            # a read-only copy that no process can write and that has no execute bit
            assert lines[1].strip() in (str(os.path.getsize(exe)), "refused"), res.stdout
            assert lines[-1] in ("0", "refused"), f"the sealed copy keeps an execute bit: {res.stdout}"
        else:
            assert lines[1].strip() in ("0", "refused"), "diyc's init runs an empty file, not the diyc binary"
            assert lines[2] != "open OK", f"/proc/1/exe could be opened for writing: {res.stdout}"
        assert "write OK" not in res.stdout, f"/proc/1/exe could be written: {res.stdout}"
    assert sha256(exe) == before, "the diyc binary changed"


def test_selfexe_way_matches_the_kernel(hx):
    # the container's PID 1, seen from the host: the empty memfd where the kernel can repoint
    # an executable, the sealed copy where it cannot; never the diyc binary
    if os.environ.get("DIYC_EXPECT_SEALED") == "1":
        assert SEALED, "DIYC_EXPECT_SEALED=1 but the kernel answers PR_SET_MM_MAP_SIZE: no-setmm is not in effect"
    name = hx.detached()
    pid = dt.container_pid(hx.store, name)
    assert os.readlink(f"/proc/{pid}/exe") == EXPECTED_EXE
    if SEALED:
        mode = os.stat(f"/proc/{pid}/exe").st_mode
        assert mode & 0o7777 == 0, f"the sealed copy's mode is {oct(mode)}"
        # sealed against writes: F_GET_SEALS (1034) has F_SEAL_WRITE (8) and F_SEAL_SEAL (1)
        if hx.root:
            fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY)
            try:
                seals = fcntl.fcntl(fd, 1034)
            finally:
                os.close(fd)
            assert seals & 8 and seals & 1, f"seals {seals:#x}"
    # what --verbose says
    res = dt.assert_ok(hx.run("--verbose", "busybox", "true"))
    said = "running from a sealed copy of diyc" if SEALED else "detached from the diyc binary"
    assert said in res.stderr, res.stderr


def test_sealed_copy_is_not_executed_or_written(hx):
    # whatever the way, a container's root cannot run or write the runtime through its
    # processes' executables, in a run and in an exec
    name = hx.detached()
    script = "/proc/1/exe --version; echo status $?; /probe open-write /proc/1/exe pwned"
    res = dt.assert_ok(hx.exec(name, "sh", "-c", script))
    assert "diyc version" not in res.stdout, res.stdout
    assert "write OK" not in res.stdout, res.stdout
    if SEALED:
        assert "status 126" in res.stdout, res.stdout


def test_cve_2019_5736_shebang_proc_self_exe(hx):
    # a command that is a script starting `#!/proc/self/exe`: the kernel would execute the
    # runtime itself, in the container, from a process still running the runtime's binary
    exe = hx.diyc_copy()
    before = sha256(exe)
    scripts = hx.tmp / "scripts"
    scripts.mkdir()
    (scripts / "evil").write_text("#!/proc/self/exe\n")
    os.chmod(scripts / "evil", 0o755)
    res = hx.run("-v", f"{scripts}:/s", "busybox", "/s/evil", exe=exe)
    assert res.returncode == 126, dt.describe(res)
    assert EXEC_REFUSED in res.stderr, dt.describe(res)
    name = hx.detached("-v", f"{scripts}:/s", exe=exe)
    res = hx.exec(name, "/s/evil", exe=exe)
    assert res.returncode == 126 and EXEC_REFUSED in res.stderr, dt.describe(res)
    res = hx.exec("-u", "0", name, "/s/evil", "--version", exe=exe)
    assert res.returncode == 126, dt.describe(res)
    assert sha256(exe) == before, "the diyc binary changed"
    dt.assert_ok(hx.diyc("ps", exe=exe))


def test_cve_2019_5736_exe_race_with_exec(hx):
    # the exploit's second half: a process of the container watches for a runtime process
    # entering it, keeps its /proc/PID/exe and writes it once it is no longer busy
    exe = hx.diyc_copy()
    before = sha256(exe)
    name = dt.unique_name("grab")
    argv = [exe, "run", "--rm", "--name", name, "--net=none", "-v", f"{hx.probe}:/probe:ro", "busybox",
            "/probe", "grab-exe", "6"]
    with dt.Background(argv, env=hx.store.env) as bg:
        dt.wait_until(lambda: name in dt.ps_all(hx.store), 10, what="the container to run")
        deadline = time.monotonic() + 4
        n = 0
        while time.monotonic() < deadline:
            hx.exec(name, "true", exe=exe)
            n += 1
        res = bg.finish(timeout=30)
    dt.assert_ok(res)
    assert n >= 5, f"only {n} execs in 4 s"
    seen = [ln[4:] for ln in res.stdout.splitlines() if ln.startswith("exe ")]
    assert not [ln for ln in res.stdout.splitlines() if ln.startswith("wrote")], res.stdout
    assert not [t for t in seen if t.endswith("/diyc") or str(exe) in t], \
        f"a process of the container ran the diyc binary: {seen}"
    assert res.stdout.splitlines()[-1] == "done", res.stdout
    print(f"{n} execs; executables the container got hold of: {seen}")
    assert sha256(exe) == before, "the diyc binary changed"


# -- runc CVE-2024-21626: leaked fds and a working directory outside the root ------------------


def test_cve_2024_21626_workdir_proc_self_fd(hx):
    hostdir = os.open(hx.tmp, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for wd in [f"/proc/self/fd/{n}" for n in range(3, 12)] + [f"/proc/self/fd/{hostdir}", "/proc/1/cwd",
                                                                 "/proc/self/cwd", "/proc/thread-self/cwd"]:
            res = hx.diyc("run", "--rm", "--net=none", "-w", wd, "busybox", "sh", "-c", "echo ran; ls",
                          pass_fds=(hostdir,))
            dt.assert_error(res, "working directory", wd)
    finally:
        os.close(hostdir)


def test_cve_2024_21626_exec_workdir_proc_self_fd(hx):
    name = hx.detached()
    hostdir = os.open(hx.tmp, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for wd in [f"/proc/self/fd/{n}" for n in range(3, 10)] + [f"/proc/self/fd/{hostdir}", "/proc/1/cwd"]:
            res = hx.exec("-w", wd, name, "sh", "-c", "echo ran; ls", pass_fds=(hostdir,))
            dt.assert_error(res, "working directory", wd)
    finally:
        os.close(hostdir)


def fds_of(res):
    dt.assert_ok(res)
    return {int(ln.split(" ", 1)[0]): ln.split(" ", 1)[1] for ln in res.stdout.splitlines()}


def test_cve_2024_21626_only_stdio_reaches_the_command(hx):
    hostdir = os.open(hx.tmp, os.O_RDONLY | os.O_DIRECTORY)
    hostfile = os.open(hx.tmp / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fds = fds_of(hx.run("busybox", "/probe", "fds", pass_fds=(hostdir, hostfile)))
        assert sorted(fds) == [0, 1, 2], f"fds other than stdio reached the command: {fds}"
        fds = fds_of(hx.run("-i", "busybox", "/probe", "fds", pass_fds=(hostdir, hostfile)))
        assert sorted(fds) == [0, 1, 2], fds
        name = hx.detached()
        for args in ((), ("-i",), ("-u", "0")):
            fds = fds_of(hx.exec(*args, name, "/probe", "fds", pass_fds=(hostdir, hostfile)))
            assert sorted(fds) == [0, 1, 2], f"exec {args}: {fds}"
        # nor to the container's init
        res = dt.assert_ok(hx.exec(name, "ls", "/proc/1/fd"))
        assert len(res.stdout.split()) <= 3, f"diyc-init holds more than stdio: {res.stdout}"
    finally:
        os.close(hostdir)
        os.close(hostfile)


def test_cve_2024_21626_workdir_symlink_stays_inside(hx):
    outside = hx.tmp / "outside"
    outside.mkdir()
    (outside / "host-file").write_text("host\n")
    marker = "marker-" + dt.token()

    def tweak(r):
        os.symlink("/../../../../../../../../tmp", r / "wd")
        os.symlink("../../../../../../../../tmp", r / "wd-rel")
        os.symlink("/../../../../../../../.." + str(outside), r / "wd-host")
    image = hx.image(tweak)
    for wd in ("/wd", "/wd-rel"):
        res = hx.run_ok("-w", wd, image, "sh", "-c", f"readlink /proc/self/cwd; touch {marker}; ls")
        assert res.stdout.splitlines()[0] == "/tmp", res.stdout
        assert not os.path.exists(f"/tmp/{marker}"), "the working directory was the host's /tmp"
    res = hx.run("-w", "/wd-host", image, "sh", "-c", f"readlink /proc/self/cwd; ls; touch {marker}")
    if res.returncode != 0:
        dt.assert_error(res, "working directory")
    else:
        assert "host-file" not in res.stdout, res.stdout
    assert sorted(os.listdir(outside)) == ["host-file"], "the container wrote in the host's directory"


# -- runc CVE-2021-30465, crun CVE-2019-18837: volume targets through symlinks ------------------


def test_cve_2021_30465_cve_2019_18837_volume_target_symlink(hx):
    src, victim = hx.tmp / f"src-{dt.token()}", hx.tmp / "victim"
    src.mkdir()
    victim.mkdir()
    (victim / "victim-file").write_text("host\n")
    marker = "marker-" + dt.token()

    def tweak(r):
        os.symlink("/../../../../../../../../tmp", r / "data")
        os.symlink("/../../../../../../../.." + str(victim), r / "data-host")
        (r / "in").mkdir()
        os.symlink("../../../../../../in", r / "data-in")
    image = hx.image(tweak)
    # lands on the container's /tmp, not on the host's
    res = hx.run_ok("-v", f"{src}:/data", image, "sh", "-c", f"touch /data/{marker}; cat /proc/self/mountinfo")
    points = [e["point"] for e in mountinfo(res.stdout) if e["root"].endswith("/" + src.name)]
    assert points == ["/tmp"], res.stdout
    assert os.listdir(src) == [marker]
    assert not os.path.exists(f"/tmp/{marker}")
    res = hx.run_ok("-v", f"{src}:/data-in", image, "sh", "-c", "ls /in")
    assert res.stdout.split() == [marker]
    # a target that exists only on the host: refused or made inside, never the host's
    res = hx.run("-v", f"{src}:/data-host", image, "sh", "-c", f"ls /data-host; touch /data-host/{marker}-2")
    if res.returncode != 0:
        dt.assert_error(res, "/data-host")
    else:
        assert "victim-file" not in res.stdout, res.stdout
    assert sorted(os.listdir(victim)) == ["victim-file"], "the volume or a file landed in the host's directory"


def test_cve_2021_30465_volume_target_swapped_by_another_container(hx):
    # container A shares a volume with B and flips /shared/mnt between a directory and a
    # symlink out of the root while B starts with another volume mounted on /shared/mnt
    shared, other, victim = hx.tmp / "shared", hx.tmp / f"other-{dt.token()}", hx.tmp / "victim"
    for d in (shared, other, victim):
        d.mkdir()
    (other / "other-marker").write_text("other\n")
    (victim / "victim-file").write_text("host\n")
    target = "/../../../../../../../.." + str(victim)
    a = dt.unique_name("swapper")
    argv = [dt.diyc_bin(), "run", "--rm", "--name", a, "--net=none", "-v", f"{hx.probe}:/probe:ro",
            "-v", f"{shared}:/shared", "busybox", "/probe", "swap", "/shared/mnt", target, "12"]
    started = refused = 0
    with dt.Background(argv, env=hx.store.env) as bg:
        bg.read_until("swapping")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            res = hx.run("-v", f"{shared}:/shared", "-v", f"{other}:/shared/mnt", "busybox", "sh", "-c",
                         f"ls {victim} /shared/mnt 2>&1; echo ---; cat /proc/self/mountinfo")
            if res.returncode == 0:
                started += 1
                seen, _, info = res.stdout.partition("---\n")
                assert "victim-file" not in seen, f"B saw the host's directory: {res.stdout}"
                # on /shared/mnt (or where A's rename moved that directory since), or made
                # inside B's root where the symlink led
                points = [e["point"] for e in mountinfo(info) if e["root"].endswith("/" + other.name)]
                assert len(points) == 1 and points[0] in ("/shared/mnt", "/shared/mnt.link", str(victim)), \
                    res.stdout
            else:
                refused += 1
                assert res.returncode == 125 and res.stderr.startswith("diyc: "), dt.describe(res)
            assert sorted(os.listdir(victim)) == ["victim-file"], "the host directory received a mount or files"
        res = bg.finish(timeout=30)
    assert res.returncode == 0 and res.stdout.startswith("swapping\nswaps "), dt.describe(res)
    assert started + refused >= 5, f"only {started + refused} starts in 8 s"
    print(f"B started {started} times, refused {refused} times")
    assert sorted(os.listdir(other)) == ["other-marker"]


# -- runc CVE-2025-31133, CVE-2025-52565, CVE-2026-41579: /dev and /proc of a hostile image ------


def test_cve_2025_31133_dev_null_symlink_to_core_pattern(hx):
    # runc masked paths with the image's /dev/null: a symlink to core_pattern made it
    # writable (bound over a masked path) for the container
    with open("/proc/sys/kernel/core_pattern") as f:
        core = f.read()

    def tweak(r):
        os.symlink("/proc/sys/kernel/core_pattern", r / "dev" / "null")
    image = hx.image(tweak)
    paths = masked_on_this_host()
    # (what is written is what is there: a broken diyc would fail the test, not the host)
    res = hx.run_ok(image, "sh", "-c", MASK_SCRIPT + "; c=$(cat /proc/sys/kernel/core_pattern); "
                    'echo "$c" > /proc/sys/kernel/core_pattern; echo "core $?"; stat -c "%F %t:%T" /dev/null; '
                    "echo x > /dev/null", "sh", *paths)
    out = res.stdout.splitlines()
    check_masked("\n".join(out[:len(paths)]))
    assert out[len(paths)] == "core 1", res.stdout
    assert "Read-only file system" in res.stderr, dt.describe(res)
    assert out[len(paths) + 1] == "character special file 1:3", res.stdout
    with open("/proc/sys/kernel/core_pattern") as f:
        assert f.read() == core, "the host's core_pattern changed"


def test_cve_2025_31133_dev_null_symlink_to_host_file(hx):
    victim = hx.tmp / "victim"
    victim.write_text("untouched\n")
    mtime = victim.stat().st_mtime_ns

    def tweak(r):
        os.symlink("../../../../../../../../.." + str(victim), r / "dev" / "null")
        os.symlink(str(victim), r / "dev" / "zero")
    image = hx.image(tweak)
    paths = masked_on_this_host()
    res = hx.run_ok(image, "sh", "-c", MASK_SCRIPT + "; echo pwned > /dev/null; echo pwned > /dev/zero; "
                    "stat -c '%F %t:%T' /dev/null", "sh", *paths)
    check_masked("\n".join(res.stdout.splitlines()[:len(paths)]))
    assert res.stdout.splitlines()[-1] == "character special file 1:3", res.stdout
    assert victim.read_text() == "untouched\n" and victim.stat().st_mtime_ns == mtime


def test_cve_2025_52565_dev_console_symlink(hx):
    # runc bound the terminal on the image's /dev/console: a symlink to another file put
    # the mount (and the terminal's writes) there
    def tweak(r):
        os.symlink("../../../../../../etc/shadow", r / "dev" / "console")
        (r / "dev" / "pts").mkdir()
        os.symlink("../../../../etc/passwd", r / "dev" / "pts" / "0")
        os.symlink("/etc/shadow", r / "dev" / "ptmx")
    image = hx.image(tweak)
    script = ("tty; cat /etc/shadow; grep -c -e ' /etc/shadow ' -e ' /etc/passwd ' /proc/self/mountinfo; "
              "stat -c '%F' /dev/ptmx /dev/pts/0; ls -l /dev/console 2>&1; true")
    rc, out, _ = on_terminal(hx, [dt.diyc_bin(), "run", "--rm", "-t", "--net=none", image, "sh", "-c", script])
    text = out.decode(errors="replace").replace("\r\n", "\n")
    assert rc == 0, text
    lines = text.splitlines()
    assert lines[0] == "/dev/pts/0", text
    assert lines[1] == "root:*:19000:0:99999:7:::", "the image's /etc/shadow was written or covered: " + text
    assert lines[2] == "0", "a mount on /etc/shadow or /etc/passwd: " + text
    assert lines[3] == "symbolic link" or lines[3] == "character special file", text
    assert lines[4] == "character special file", "/dev/pts/0 is the container's terminal: " + text
    assert "shadow" not in lines[5], "/dev/console still leads to /etc/shadow: " + text


def test_cve_2026_41579_proc_symlink_in_image(hx):
    outside = hx.tmp / "hostproc"
    outside.mkdir()

    def inside(r):
        (r / "proc").rmdir()
        (r / "fakeproc").mkdir()
        os.symlink("../../../../../fakeproc", r / "proc")
    image = hx.image(inside)
    paths = masked_on_this_host()
    # refused, or proc lands on /fakeproc and the masks and read-only paths follow it there
    res = hx.run(image, "sh", "-c", MASK_SCRIPT + f"; cat {OWN_SYSCTL} > {OWN_SYSCTL}; echo \"sys $?\"",
                 "sh", *paths)
    if res.returncode == 125:
        dt.assert_error(res, "/proc")
    else:
        dt.assert_ok(res)
        out = res.stdout.splitlines()
        check_masked("\n".join(out[:len(paths)]))
        assert out[len(paths)] == "sys 1", dt.describe(res)

    def to_host(r):
        (r / "proc").rmdir()
        os.symlink("/../../../../../.." + str(outside), r / "proc")
    image = hx.image(to_host)
    res = hx.run(image, "sh", "-c", "ls /proc/self")
    if res.returncode != 0:
        dt.assert_error(res, "/proc")
    assert os.listdir(outside) == [], "something was made in the host's directory"
    assert not [m for m in dt.mount_points() if m.startswith(str(outside))]


def test_cve_2026_41579_dev_symlink_in_image(hx):
    outside = hx.tmp / "hostdev"
    outside.mkdir()

    def to_host(r):
        (r / "dev").rmdir()
        os.symlink("/../../../../../.." + str(outside), r / "dev")
    image = hx.image(to_host)
    res = hx.run(image, "sh", "-c", "stat -c '%F %t:%T' /dev/null; touch /dev/x; ls /dev")
    if res.returncode != 0:
        dt.assert_error(res, "/dev")
    else:
        assert res.stdout.splitlines()[0] == "character special file 1:3", res.stdout
    assert os.listdir(outside) == [], "device nodes or files were made in the host's directory"

    def inside(r):
        (r / "dev").rmdir()
        (r / "devdir").mkdir()
        (r / "devdir" / "image-file").write_text("image\n")
        os.symlink("devdir", r / "dev")
    image = hx.image(inside)
    res = hx.run(image, "sh", "-c", "stat -c '%F %t:%T' /dev/null; ls /dev; echo ---; cat /proc/self/mountinfo")
    if res.returncode == 125:
        dt.assert_error(res, "/dev")
        return
    dt.assert_ok(res)
    out, _, info = res.stdout.partition("---\n")
    assert out.splitlines()[0] == "character special file 1:3", res.stdout
    assert "image-file" not in out.split(), "the container's /dev is a fresh tmpfs: " + res.stdout
    assert [e["fstype"] for e in mountinfo(info) if e["point"] == "/devdir"] == ["tmpfs"], res.stdout


# -- runc CVE-2023-25809: the host's cgroup tree ----------------------------------------------


def test_cve_2023_25809_sys_fs_cgroup(hx):
    res = hx.run_ok("busybox", "sh", "-c", "ls -A /sys/fs/cgroup | wc -l; mkdir /sys/fs/cgroup/x; echo \"mkdir $?\"; "
                    "touch /sys/fs/cgroup/x 2>/dev/null; echo \"touch $?\"; cat /proc/self/mountinfo")
    out = res.stdout.splitlines()
    mounts = [e for e in mountinfo(res.stdout) if e["point"].startswith("/sys/fs/cgroup")]
    if not mounts:
        # no cgroup of the container's own: nothing of the host's cgroup tree
        assert out[0].strip() == "0", f"/sys/fs/cgroup shows entries: {res.stdout}"
    else:
        for e in mounts:
            assert "ro" in e["opts"] and e["root"] == "/", f"{e}: {res.stdout}"
    assert out[1] != "mkdir 0" and out[2] != "touch 0", res.stdout
    # (the host does have a tree there)
    assert os.listdir("/sys/fs/cgroup")


# -- runc CVE-2022-29162, crun CVE-2022-27650: inheritable capabilities --------------------------


def test_cve_2022_29162_exec_inheritable_caps(hx):
    # runc gave exec'd processes the container's capabilities as inheritable: a program
    # with inheritable file capabilities then got them, even as a non-root user
    hx.need_subids()
    name = hx.detached("--cap-add", "NET_ADMIN")
    r = results(hx.exec(name, "sh", "-c", "cp /probe /tmp/fi && cp /probe /tmp/fp && "
                        "/probe setfcap /tmp/fi inheritable 1000 && /probe setfcap /tmp/fp permitted 1000"))
    assert r == {"setfcap": "OK"}
    caps = parse_caps(dt.assert_ok(hx.exec(name, "/probe", "caps")).stdout)
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0, caps
    # control: a file's permitted capabilities work here (within the bounding set)
    caps = parse_caps(dt.assert_ok(hx.exec("-u", "1000", name, "/tmp/fp", "caps")).stdout)
    assert caps["CapEff"] == bit("NET_ADMIN"), "file capabilities do not work here: the test proves nothing"
    caps = parse_caps(dt.assert_ok(hx.exec("-u", "1000", name, "/tmp/fi", "caps")).stdout)
    assert caps == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": DEFAULT_CAPS | bit("NET_ADMIN"), "CapAmb": 0}


def test_cve_2022_27650_run_inheritable_caps(hx):
    hx.need_subids()
    vol = hx.tmp / "vol"
    vol.mkdir()
    r = results(hx.run("-v", f"{vol}:/v", "busybox", "sh", "-c", "cp /probe /v/fi && cp /probe /v/fp && "
                       "/probe setfcap /v/fi inheritable 1000 && /probe setfcap /v/fp permitted 1000"))
    assert r == {"setfcap": "OK"}
    res = hx.run_ok("--cap-add", "NET_ADMIN", "-u", "1000", "-v", f"{vol}:/v", "busybox", "sh", "-c",
                    "/v/fp caps; echo --; /v/fi caps; echo --; /probe caps")
    control, inh, plain = (parse_caps(part) for part in res.stdout.split("--\n"))
    assert control["CapEff"] == bit("NET_ADMIN"), "file capabilities do not work here: the test proves nothing"
    assert inh["CapEff"] == inh["CapPrm"] == inh["CapInh"] == 0, res.stdout
    assert plain["CapInh"] == plain["CapAmb"] == plain["CapEff"] == 0, res.stdout


# -- crun CVE-2026-30892: exec as another user kept the capabilities --------------------------


@pytest.mark.parametrize("user", ["1", "1:1", "1000:1000"])
def test_cve_2026_30892_exec_as_user_has_no_caps(hx, user):
    hx.need_subids()
    name = hx.detached("--cap-add", "SYS_ADMIN")
    res = dt.assert_ok(hx.exec("-u", user, name, "sh", "-c", "id -u; /probe caps"))
    assert res.stdout.splitlines()[0] == user.split(":")[0], res.stdout
    caps = parse_caps(res.stdout)
    assert caps == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": DEFAULT_CAPS | bit("SYS_ADMIN"),
                    "CapAmb": 0}, res.stdout
    # so what those caps would allow fails
    res = hx.exec("-u", user, name, "/probe", "syscall", "unshare-mount", "mount")
    assert results(res) == {"unshare-mount": "EPERM", "mount": "EPERM"}


# -- bubblewrap CVE-2017-5226: TIOCSTI into the caller's terminal -------------------------------


def on_terminal(hx, argv, timeout=20):
    """Runs ARGV on a new pty as its controlling terminal (a session of its own, as a login
    shell has) in raw mode. Returns (status, what it wrote, what was pushed into the
    terminal's input and never read by anyone)."""
    master, slave = pty.openpty()
    try:
        tty.setraw(slave)

        def ctty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        p = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=slave, stderr=slave, env=hx.store.env,
                             start_new_session=True, preexec_fn=ctty)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        if p.poll() is None:
            p.kill()
        rc = p.wait()
        os.set_blocking(slave, False)
        try:
            injected = os.read(slave, 65536)
        except BlockingIOError:
            injected = b""
        return rc, out, injected
    finally:
        os.close(master)
        os.close(slave)


def test_cve_2017_5226_tiocsti(hx):
    legacy = Path("/proc/sys/dev/tty/legacy_tiocsti")
    if legacy.exists() and legacy.read_text().strip() == "0":
        pytest.skip("this kernel refuses TIOCSTI to everyone (dev.tty.legacy_tiocsti=0): nothing to escape")
    # control: from the caller's session the injection works
    rc, out, injected = on_terminal(hx, [hx.probe, "tiocsti", "INJECTED"])
    assert (rc, out, injected) == (0, b"tiocsti OK\n", b"INJECTED"), (rc, out, injected)
    base = [dt.diyc_bin(), "run", "--rm", "--net=none", "-v", f"{hx.probe}:/probe:ro"]
    # the container's command, with the caller's terminal as stdin (-i) or as stdout: EPERM
    # (not its controlling terminal), or ENOTTY where diyc relays that stream through a pipe
    refused = (b"tiocsti EPERM\n", b"tiocsti ENOTTY\n")
    for extra, fd in ((["-i"], "0"), ([], "1"), (["-i"], "2")):
        rc, out, injected = on_terminal(hx, base + extra + ["busybox", "/probe", "tiocsti", "INJECTED", fd])
        assert rc == 0 and out in refused and injected == b"", (extra, fd, rc, out, injected)
    # with -t the command has a terminal of its own: what it injects stays there
    rc, out, injected = on_terminal(hx, base + ["-t", "busybox", "/probe", "tiocsti", "INJECTED"])
    assert rc == 0 and injected == b"", (rc, out, injected)
    # exec, likewise
    name = hx.detached()
    rc, out, injected = on_terminal(hx, [dt.diyc_bin(), "exec", "-i", name, "/probe", "tiocsti", "INJECTED"])
    assert rc == 0 and out in refused and injected == b"", (rc, out, injected)
    rc, out, injected = on_terminal(hx, [dt.diyc_bin(), "exec", name, "/probe", "tiocsti", "INJECTED", "1"])
    assert rc == 0 and out in refused and injected == b"", (rc, out, injected)


def test_cve_2017_5226_own_session(hx):
    # the command is in a session of its own, in run and exec (what makes TIOCSTI fail)
    res = hx.run_ok("-i", "busybox", "sh", "-c", "cut -d' ' -f6 /proc/self/stat; echo $$")
    sid, pid = res.stdout.split()
    assert sid == pid, f"the command is not the leader of its own session: {res.stdout}"
    name = hx.detached()
    res = dt.assert_ok(hx.exec(name, "sh", "-c", "cut -d' ' -f6 /proc/self/stat; echo $$"))
    sid, pid = res.stdout.split()
    assert sid == pid, res.stdout


# -- found by attack passes on the implementation -------------------------------------------------

def test_seccomp_socket_families(hx):
    # every address family but AF_ALG (38) and AF_VSOCK (40), as docker's current default; the
    # family is compared on the whole 64-bit register, so a bit in the upper half (which the
    # kernel ignores: 38 | 1 << 32 is AF_ALG to it) cannot slip past a "greater than" rule
    r = results(hx.run("busybox", "/probe", "syscall", "socket-1", "socket-2", "socket-16", "socket-38",
                       "socket-40", "socket-38-high", "socket-2-high"))
    assert r["socket-1"] == "OK" and r["socket-2"] == "OK" and r["socket-16"] == "OK", r
    for refused in ("socket-38", "socket-40", "socket-38-high", "socket-2-high"):
        assert r[refused] == "EPERM", f"{refused} should be refused by the filter: {r}"


def test_image_with_proc_sys_dev_not_a_directory_is_refused(hx):
    # a symlink (or a file) there would move diyc's proc, sysfs or /dev elsewhere in the root,
    # out of reach of the masks: a chain /proc -> /dev/x -> /elsewhere, once /dev was covered by
    # its tmpfs, left an unmasked proc at /elsewhere (as root: the host's core_pattern writable)
    def chain(r):
        (r / "proc").rmdir()
        (r / "realproc").mkdir()
        os.symlink("/dev/pl", r / "proc")
        os.symlink("/realproc", r / "dev" / "pl")
    hx.refused(hx.image(chain), needles=("/proc", "a symlink", "must be directories"), command=("true",))

    def sys_file(r):
        (r / "sys").rmdir()
        (r / "sys").write_text("")
    hx.refused(hx.image(sys_file), needles=("/sys", "a file"), command=("true",))


def test_read_only_with_run_symlink_into_proc_is_refused(hx):
    # --read-only mounts its tmpfs on /tmp and /run: an image whose /run leads to /proc would
    # cover diyc's proc with it
    def run_to_proc(r):
        os.symlink("/proc", r / "run")
    image = hx.image(run_to_proc)
    hx.refused("--read-only", image, needles=("/run", "a symlink"), command=("true",))
    # without --read-only nothing is mounted there: it runs
    dt.assert_ok(hx.run(image, "true"))


def test_passwd_on_proc_is_not_read(hx):
    # /etc/passwd and /etc/group are read by a privileged process: one that leads into proc
    # (say /proc/kmsg, which root would drain) counts as missing
    def passwd_to_proc(r):
        (r / "etc" / "passwd").unlink()
        os.symlink("/proc/self/environ", r / "etc" / "passwd")
    image = hx.image(passwd_to_proc)
    res = hx.run("-u", "root", image, "true")
    dt.assert_error(res, "unable to find user `root`")
    dt.assert_ok(hx.run("-u", "0", image, "true"))


def test_writable_mounts_are_nodev(hx):
    # no device node the image brings or the container makes opens a device anywhere it can
    # write (as root CAP_MKNOD would otherwise reach the host's disks); diyc's own nodes in
    # /dev are mounts of their own and work
    vol = hx.tmp / "vol"
    vol.mkdir()
    os.chmod(vol, 0o777)
    res = hx.run_ok("-v", f"{vol}:/vol", "--tmpfs", "/scratch", "busybox", "sh", "-c",
                    "cat /proc/self/mountinfo; echo x > /dev/null && echo null-ok")
    assert res.stdout.splitlines()[-1] == "null-ok", dt.describe(res)
    mounts = {m["point"]: m for m in mountinfo(res.stdout)}
    for point in ("/", "/dev", "/dev/shm", "/vol", "/scratch"):
        assert point in mounts and "nodev" in mounts[point]["opts"], f"{point} is not nodev: {mounts.get(point)}"
    assert "nodev" not in mounts["/dev/null"]["opts"], mounts["/dev/null"]


def test_generated_etc_files_are_nosuid_nodev_noexec(hx):
    # /etc/hosts, /etc/hostname and /etc/resolv.conf are binds of diyc's files, which the
    # container's root may write: not a set-uid program or a device node
    res = hx.run_ok("busybox", "cat", "/proc/self/mountinfo")
    mounts = {m["point"]: m for m in mountinfo(res.stdout)}
    for f in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        assert {"nosuid", "nodev", "noexec"} <= set(mounts[f]["opts"]), f"{f}: {mounts[f]}"
