# SPDX-License-Identifier: MIT
# Without newuidmap/newgidmap (diyc looks them up in PATH) diyc warns once and maps only
# the caller: root in the container is the caller, nothing else is mapped.
import os

import diyctest as dt


def path_without_uidmap(tmp_path):
    """A PATH of symlinks to a few ordinary tools, without newuidmap and newgidmap."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("sh", "cat", "true", "id"):
        target = dt.which(tool)
        if target:
            os.symlink(target, bindir / tool)
    assert not dt.which("newuidmap", str(bindir)) and not dt.which("newgidmap", str(bindir))
    return str(bindir)


def test_run_without_newuidmap(store, busybox, tmp_path):
    res = store.diyc("run", "--rm", "busybox", "sh", "-c",
                     "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id -u",
                     env={"PATH": path_without_uidmap(tmp_path)})
    dt.assert_ok(res)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("diyc: warning:"), \
        "expected exactly one warning line\n" + dt.describe(res)
    assert "newuidmap" in lines[0], dt.describe(res)
    umap, gmap, uid = res.stdout.split("--\n")
    assert dt.parse_idmap(umap) == [(0, os.getuid(), 1)], dt.describe(res)
    assert dt.parse_idmap(gmap) == [(0, os.getgid(), 1)], dt.describe(res)
    assert uid == "0\n", dt.describe(res)


def test_run_without_newuidmap_writes_as_caller(private_store, tmp_path, name):
    s = private_store
    res = s.diyc("run", "--name", name, "busybox", "sh", "-c", "echo hi > /f",
                 env={"PATH": path_without_uidmap(tmp_path)})
    dt.assert_ok(res)
    st = os.lstat(s.container_dirs(name)[0] / "upper" / "f")
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_nsexec_without_newuidmap(store, tmp_path):
    res = store.diyc("nsexec", "-U", "cat", "/proc/self/uid_map", env={"PATH": path_without_uidmap(tmp_path)})
    dt.assert_ok(res)
    assert dt.parse_idmap(res.stdout) == [(0, os.getuid(), 1)], dt.describe(res)
    lines = res.stderr.splitlines()
    assert len(lines) <= 1 and all(line.startswith("diyc: warning:") for line in lines), dt.describe(res)
