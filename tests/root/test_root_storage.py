# SPDX-License-Identifier: MIT
# --storage-opt size= as root (issue 22), on stores made for each case inside run-all's
# private mount namespace: a loop file with xfs mounted prjquota (a project quota on the
# upper and work dirs), a loop file with ext4 and project quotas (the same, with root's
# CAP_SYS_RESOURCE kept out of the overlay's writes), and a loop file with plain ext4 (no
# quota: an ext4 image file per container on a loop device). In each: a write past the size
# fails with ENOSPC inside, the limit is kept across `start`, inspect shows limit and use, and
# after `rm` nothing is left: no loop device, mount, image file or quota limit. And
# `volume create --opt size=`: a project quota on the volume's data where the store has
# them, refused elsewhere.
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import diyctest as dt  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root (tests/run-all does that)")

MIB = 1 << 20
FILL = "dd if=/dev/zero of=/fill bs=1M count=32 2>/dev/null; echo dd=$?; wc -c < /fill"
FIRST_ID = 4000000  # storage/disk-quota.c: where diyc's project ids start


def sh(*argv, check=True):
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check:
        assert res.returncode == 0, f"{argv}: {res.stderr}"
    return res


def loops_of(path):
    """Loop devices whose backing file is below PATH."""
    found = []
    for dev in Path("/sys/block").glob("loop*"):
        try:
            backing = (dev / "loop" / "backing_file").read_text().strip()
        except OSError:
            continue
        if backing.startswith(str(path) + "/"):
            found.append((dev.name, backing))
    return found


def kernel_log_tail():
    """The kernel's last message about quotas, which says why a prjquota mount failed."""
    res = subprocess.run(["dmesg"], capture_output=True, text=True)
    lines = [line for line in res.stdout.splitlines() if "quota" in line.lower() or "QUOTA" in line]
    return lines[-1].split("]", 1)[-1].strip() if lines else ""


def have(tool):
    return shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}") or os.path.exists(f"/sbin/{tool}")


class LoopStore:
    """/var/lib/diyc on a loop-mounted file of its own (in run-all's private mount namespace)."""

    def __init__(self, tmp, kind):
        self.kind = kind
        self.img = tmp / f"store-{kind}.img"
        self.mnt = Path("/var/lib/diyc")
        with open(self.img, "wb") as f:
            f.truncate(512 * MIB)
        if kind == "xfs":
            sh("mkfs.xfs", "-q", str(self.img))
            opts = "loop,prjquota"
        elif kind == "ext4-project":
            sh("mkfs.ext4", "-q", "-F", "-O", "quota,project", "-E", "quotatype=prjquota", str(self.img))
            opts = "loop,prjquota"
        else:
            sh("mkfs.ext4", "-q", "-F", str(self.img))
            opts = "loop"
        self.mnt.mkdir(parents=True, exist_ok=True)
        res = sh("mount", "-o", opts, str(self.img), str(self.mnt), check=False)
        if res.returncode != 0 and kind != "ext4":
            self.img.unlink()
            why = kernel_log_tail()
            pytest.skip(f"this kernel cannot mount {kind} with project quotas ({why or res.stderr.strip()}): "
                        "tests/vm runs them in its guests, whose Debian kernels can (xfs under qemu, ext4 under uml)")
        assert res.returncode == 0, res.stderr
        self.store = dt.Store(os.environ)
        self.store.data, self.store.run = self.mnt, Path("/run/diyc")
        self.store.import_busybox("busybox")

    def close(self):
        dt.remove_all(self.store)
        names = self.store.diyc("volume", "ls", "-q").stdout.split()
        if names:
            self.store.diyc("volume", "rm", "-f", *names)
        sh("umount", str(self.mnt), check=False)
        self.img.unlink()


# tests/vm's guest runs only the project quota kinds (DIYC_STORAGE_KINDS): the image kind
# needs no quota support and is tested on the host
KINDS = os.environ.get("DIYC_STORAGE_KINDS", "xfs,ext4-project,ext4").split(",")


@pytest.fixture(scope="module", params=KINDS)
def loop_store(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(f"store-{request.param}")
    if request.param == "xfs" and not have("mkfs.xfs"):
        pytest.skip("mkfs.xfs is not installed (Debian package xfsprogs; tools/install-deps --test installs it)")
    if not os.path.exists("/dev/loop-control"):
        pytest.skip("this machine has no loop devices (/dev/loop-control)")
    st = LoopStore(tmp_path, request.param)
    yield st
    st.close()


def backing(kind):
    return "image" if kind == "ext4" else "project"


def project_limits(st):
    """{id: hard block limit in KiB} of diyc's project ids with a limit on the store's filesystem."""
    if st.kind == "xfs":
        out = sh("xfs_quota", "-x", "-c", "report -p -n -N", str(st.mnt)).stdout
    else:
        res = sh("repquota", "-P", "-n", str(st.mnt), check=False) if have("repquota") else None
        if res is None or res.returncode != 0:
            return quotactl_limits(st)
        out = res.stdout
    limits = {}
    for line in out.splitlines():
        m = re.match(r"#?(\d+)\s+(?:--\s+)?(\d+)\s+(\d+)\s+(\d+)", line.strip())
        if m and int(m.group(1)) >= FIRST_ID:
            limits[int(m.group(1))] = int(m.group(4))
    return {k: v for k, v in limits.items() if v}


def quotactl_limits(st):
    """The same through quotactl_fd, for an ext4 without quota tools installed."""
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(st.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        limits = {}
        buf = ctypes.create_string_buffer(72)
        q_getquota, prjquota = 0x800007, 2
        for pid in range(FIRST_ID, FIRST_ID + 64):
            if libc.syscall(443, fd, (q_getquota << 8) | prjquota, pid, buf) == 0:
                bhard = struct.unpack_from("Q", buf.raw, 0)[0]
                if bhard:
                    limits[pid] = bhard
        return limits
    finally:
        os.close(fd)


def assert_nothing_left(st, name):
    data, rundir = st.store.container_dirs(name)
    assert not data.exists() and not rundir.exists()
    assert not loops_of(st.mnt), f"loop devices left: {loops_of(st.mnt)}"
    assert not [m for m in dt.mounts_under([st.mnt, Path('/run/diyc')]) if m != str(st.mnt)], \
        dt.mounts_under([st.mnt])
    assert not list(st.mnt.glob("containers/*/disk.ext4"))
    if st.kind != "ext4":
        assert project_limits(st) == {}, f"project quota limits left: {project_limits(st)}"


def written(res):
    words = res.stdout.split()
    assert words and words[0].startswith("dd="), dt.describe(res)
    return int(words[0][3:]), int(words[1])


def test_dd_past_the_size_fails_inside(loop_store):
    st = loop_store
    name = dt.unique_name("quota")
    # /fill stops at a whole MiB; /more then fills what is left, 4 KiB at a time, and fails
    res = dt.assert_ok(st.store.diyc("run", "--rm", "--name", name, "--net=none", "--storage-opt", "size=16m",
                                     "busybox", "sh", "-c",
                                     FILL + "; dd if=/dev/zero of=/more bs=4k count=512 2>&1; echo more=$?"))
    assert "more=1" in res.stdout, dt.describe(res)
    status, size = written(res)
    assert status != 0, dt.describe(res)
    assert 15 * MIB <= size <= 16 * MIB + 64 * 1024, f"{size} bytes written under a 16 MiB limit"
    assert re.search(r"No space left on device|Disk quota exceeded", res.stdout), dt.describe(res)
    assert_nothing_left(st, name)


def test_limit_kept_across_start_and_released_by_rm(loop_store):
    st = loop_store
    name = dt.unique_name("quota")
    free_before = shutil.disk_usage(st.mnt).free
    # each start writes 10 MiB more, to a new file
    more = "n=$(ls / | grep -c '^f[0-9]'); dd if=/dev/zero of=/f$n bs=1M count=10 2>/dev/null"
    dt.assert_ok(st.store.diyc("run", "--name", name, "--net=none", "--storage-opt", "size=24m", "busybox",
                               "sh", "-c", more))
    info = dt.inspect(st.store, name)
    assert info["Storage"]["Backing"] == backing(st.kind), info["Storage"]
    assert info["Storage"]["Limit"] == 24 * MIB
    assert info["Storage"]["Used"] >= 10 * MIB, info["Storage"]
    # /f0 is kept, and 10 more MiB fit; a third round does not
    dt.assert_ok(st.store.diyc("start", "-a", name))
    res = st.store.diyc("start", "-a", name)
    assert res.returncode != 0, "a third 10 MiB over a 24 MiB limit should fail\n" + dt.describe(res)
    if st.kind != "ext4":
        assert len(project_limits(st)) == 1
    # a full container did not fill the store's filesystem beyond its limit
    assert free_before - shutil.disk_usage(st.mnt).free < 40 * MIB
    dt.assert_ok(st.store.diyc("rm", name))
    assert_nothing_left(st, name)


def test_running_container_shows_use_and_rm_f_releases(loop_store):
    st = loop_store
    name = dt.unique_name("quota")
    tok = dt.token()
    dt.assert_ok(st.store.diyc("run", "-d", "--name", name, "--net=none", "--storage-opt", "size=32m", "busybox",
                               "sh", "-c", f"dd if=/dev/zero of=/f bs=1M count=6 2>/dev/null; sleep {tok}"))
    dt.wait_until(lambda: dt.inspect(st.store, name)["Storage"]["Used"] >= 6 * MIB, what="6 MiB used")
    used = dt.inspect(st.store, name)["Storage"]["Used"]
    assert used < 12 * MIB, used
    if st.kind == "ext4":
        assert len(loops_of(st.mnt)) == 1, "the running container's image is on one loop device"
        # mounted only in the container's mount namespace, never in the host's
        assert not [m for m in dt.mounts_under([st.mnt]) if m != str(st.mnt)]
    dt.assert_ok(st.store.diyc("rm", "-f", name))
    assert not dt.sleepers(tok)
    assert_nothing_left(st, name)


def test_commit_of_a_stopped_container_with_a_size(loop_store):
    st = loop_store
    name = dt.unique_name("quota")
    dt.assert_ok(st.store.diyc("run", "--name", name, "--net=none", "--storage-opt", "size=16m", "busybox",
                               "sh", "-c", "echo kept > /marker"))
    img = dt.assert_ok(st.store.diyc("commit", name, "sized:1")).stdout.strip()
    assert img
    res = dt.assert_ok(st.store.diyc("run", "--rm", "--net=none", "sized:1", "cat", "/marker"))
    assert res.stdout == "kept\n"
    dt.assert_ok(st.store.diyc("rm", name))
    dt.assert_ok(st.store.diyc("image", "rm", "sized:1"))
    assert_nothing_left(st, name)


def test_size_over_the_store_free_space_is_refused(loop_store):
    st = loop_store
    before = st.store.snapshot()
    dt.assert_error(st.store.diyc("run", "--rm", "--storage-opt", "size=2g", "busybox", "true"), "free")
    dt.assert_error(st.store.diyc("create", "--storage-opt", "size=0", "busybox", "true"), "positive")
    assert st.store.snapshot() == before
    assert not loops_of(st.mnt)


def test_volume_size(loop_store):
    """`volume create --opt size=`: a project quota on _data where the store has them, else refused."""
    st = loop_store
    if st.kind == "ext4":
        before = set(os.listdir(st.mnt / "volumes")) if (st.mnt / "volumes").exists() else set()
        line = dt.assert_error(st.store.diyc("volume", "create", "--opt", "size=16m", "small"), "project quota")
        assert "xfs" in line and "prjquota" in line, line
        after = set(os.listdir(st.mnt / "volumes")) if (st.mnt / "volumes").exists() else set()
        assert after == before, after
        return
    assert dt.assert_ok(st.store.diyc("volume", "create", "--opt", "size=16m", "small")).stdout == "small\n"
    v = dt.json_out(st.store.diyc("volume", "inspect", "small"))[0]
    assert v["Options"] == {"size": "16m"}, v
    assert list(project_limits(st).values()) == [16 * 1024], project_limits(st)
    res = dt.assert_ok(st.store.diyc("run", "--rm", "--net=none", "-v", "small:/q", "busybox", "sh", "-c",
                               "dd if=/dev/zero of=/q/fill bs=1M count=32 2>&1; echo dd=$?; wc -c < /q/fill"))
    assert "dd=1" in res.stdout and re.search(r"No space left|quota exceeded", res.stdout), dt.describe(res)
    size = int(res.stdout.split()[-1])
    assert 15 * MIB <= size <= 16 * MIB, f"{size} bytes written in a 16 MiB volume"
    # the store's own filesystem took no more than the volume's share
    dt.assert_ok(st.store.diyc("volume", "rm", "small"))
    assert project_limits(st) == {}, "the quota id is released with the volume"
    assert not (st.mnt / "volumes" / "small").exists()
