# SPDX-License-Identifier: MIT
# --storage-opt size= as a normal user (issue 22): a container removed at exit (--rm) gets
# its upper and work dirs on a tmpfs of that size in its user namespace, so a write past the
# size fails with ENOSPC inside and nothing reaches the store's disk; a persistent container
# is refused with why and what works. Bad sizes: 125, one clear line, nothing made. The root
# paths (project quota, ext4 image on a loop device) are in tests/root/test_root_storage.py.
import os
import shutil

import pytest

import diyctest as dt

MIB = 1 << 20
# writes 32 MiB where 16 fit; prints dd's status and the size written
FILL = "dd if=/dev/zero of=/fill bs=1M count=32 2>/dev/null; echo dd=$?; wc -c < /fill"


def written(res):
    lines = res.stdout.split()
    assert lines[0].startswith("dd="), dt.describe(res)
    return int(lines[0][3:]), int(lines[1])


def test_rm_tmpfs_stops_dd_at_size(s, name):
    res = dt.assert_ok(s.diyc("run", "--rm", "--name", name, "--net=none", "--storage-opt", "size=16m", "busybox",
                              "sh", "-c", FILL))
    status, size = written(res)
    assert status != 0, "dd past the size should fail\n" + dt.describe(res)
    assert 15 * MIB <= size <= 16 * MIB, f"wrote {size} bytes into a 16 MiB upper dir\n" + dt.describe(res)
    assert not s.container_dirs(name)[0].exists()


def test_rm_tmpfs_enospc_is_the_error(s, name):
    res = s.diyc("run", "--rm", "--net=none", "--storage-opt", "size=8m", "busybox",
                 "dd", "if=/dev/zero", "of=/fill", "bs=1M", "count=20")
    assert res.returncode != 0, dt.describe(res)
    assert "No space left on device" in res.stderr, dt.describe(res)


def test_rm_tmpfs_leaves_the_store_disk_alone(s, name):
    """The 12 MiB written go to the tmpfs, not below the store."""
    before = shutil.disk_usage(s.data).used
    res = dt.assert_ok(s.diyc("run", "--rm", "--name", name, "--net=none", "--storage-opt", "size=64m", "busybox",
                              "sh", "-c", "dd if=/dev/urandom of=/f bs=1M count=12 2>/dev/null; du -k /f; "
                              "find / -xdev -name f -maxdepth 1"))
    assert res.stdout.split()[0].isdigit() and int(res.stdout.split()[0]) >= 12 * 1024, dt.describe(res)
    assert shutil.disk_usage(s.data).used - before < 8 * MIB


def test_rm_tmpfs_image_files_still_there_and_changes_work(s, name):
    """The overlay over the tmpfs works as usual: the image's files, deletions, renames."""
    res = dt.assert_ok(s.diyc("run", "--rm", "--net=none", "--storage-opt", "size=16m", "busybox", "sh", "-c",
                              "echo hi > /etc/x && mv /etc/x /etc/y && cat /etc/y && rm /etc/passwd && "
                              "ls /etc/passwd 2>&1; ls /bin/sh"))
    assert res.stdout.splitlines()[0] == "hi", dt.describe(res)
    assert "No such file" in res.stdout and "/bin/sh" in res.stdout, dt.describe(res)


def test_inspect_shows_limit_and_use_while_running(s, name):
    tok = dt.token()
    dt.assert_ok(s.diyc("run", "-d", "--rm", "--name", name, "--net=none", "--storage-opt", "size=32m", "busybox",
                        "sh", "-c", f"dd if=/dev/zero of=/f bs=1M count=5 2>/dev/null; sleep {tok}"))
    try:
        dt.wait_until(lambda: dt.inspect(s, name)["Storage"]["Used"] >= 5 * MIB, what="5 MiB used")
        info = dt.inspect(s, name)
        assert info["Storage"]["Backing"] == "tmpfs"
        assert info["Storage"]["Limit"] == 32 * MIB
        assert 5 * MIB <= info["Storage"]["Used"] < 8 * MIB, info["Storage"]
        assert info["HostConfig"]["StorageOpt"] == {"size": str(32 * MIB)}
    finally:
        s.diyc("rm", "-f", name)


def test_persistent_container_is_refused_with_why(s, name):
    before = s.snapshot()
    res = s.diyc("run", "--name", name, "--storage-opt", "size=16m", "busybox", "true")
    dt.assert_error(res, "--rm", "root")
    assert s.snapshot() == before, "a refused run left something in the store"
    res = s.diyc("create", "--name", name, "--storage-opt", "size=16m", "busybox", "true")
    dt.assert_error(res, "--rm", "root")
    assert s.snapshot() == before


def test_create_rm_then_start(s, name):
    res = dt.assert_ok(s.diyc("create", "--rm", "--name", name, "--net=none", "--storage-opt", "size=8m", "busybox",
                              "sh", "-c", "dd if=/dev/zero of=/f bs=1M count=20 2>/dev/null; echo $?"))
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert dt.ps_entry(s, name)["State"] == "created"
    assert dt.inspect(s, name)["HostConfig"]["StorageOpt"] == {"size": str(8 * MIB)}
    res = dt.assert_ok(s.diyc("start", "-a", name))
    assert res.stdout.strip() != "0", "dd past 8 MiB should fail\n" + dt.describe(res)
    assert dt.ps_entry(s, name) is None, "--rm: the container should be gone"


@pytest.mark.parametrize("opt,needles", [
    ("size=0", ("size", "positive")),
    ("size=-1", ("size", "positive")),
    ("size=-16m", ("size", "positive")),
    ("size=abc", ("size", "512m")),
    ("size=16x", ("size", "512m")),
    ("size=", ("size",)),
    ("size=1k", ("minimum",)),
    ("size=99999999999999999999", ("too large",)),
    ("size=100t", ("free",)),
    ("sizes=16m", ("unknown", "size=")),
    ("16m", ("unknown", "size=")),
    ("", ("unknown",)),
])
def test_bad_sizes_are_refused_and_leave_nothing(s, name, opt, needles):
    before = s.snapshot()
    res = s.diyc("run", "--rm", "--name", name, "--storage-opt", opt, "busybox", "true")
    dt.assert_error(res, *needles)
    assert s.snapshot() == before, "a refused size left something in the store"
    assert not dt.mounts_under([s.data, s.run])


def test_bad_size_on_create_leaves_nothing(s, name):
    before = s.snapshot()
    dt.assert_error(s.diyc("create", "--rm", "--name", name, "--storage-opt", "size=0", "busybox"), "positive")
    assert s.snapshot() == before


def test_help_names_the_flag(s):
    res = dt.assert_ok(s.diyc("run", "--help"))
    assert "--storage-opt size=SIZE" in res.stdout
    res = dt.assert_ok(s.diyc("create", "--help"))
    assert "diyc start" in res.stdout


def test_free_space_bound_is_the_store_filesystem(s, name):
    """A size just over what the store's filesystem has free is refused; under it works."""
    free = shutil.disk_usage(s.data).free
    over = free // MIB + 64
    dt.assert_error(s.diyc("run", "--rm", "--storage-opt", f"size={over}m", "busybox", "true"), "free")
    dt.assert_ok(s.diyc("run", "--rm", "--net=none", "--storage-opt", f"size={min(free // MIB // 2, 1024)}m",
                        "busybox", "true"))


def test_container_without_size_has_no_storage_section(s, name):
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "true"))
    info = dt.inspect(s, name)
    assert "Storage" not in info and info["HostConfig"]["StorageOpt"] == {}
    assert os.path.isdir(s.container_dirs(name)[0] / "upper")
