# SPDX-License-Identifier: MIT
# `diyc image import/ls/rm`: a root filesystem imported from a directory or a tarball
# (plain, gzip, xz, zstd) is stored, listed, runnable and removable; hostile tarballs
# (`..` paths, extraction through symlinks, hardlinks out of the tree) are refused with one
# clear line, exit 125, nothing written anywhere and nothing left in the store.
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

import diyctest as dt

HELLO = "hello from the image\n"


def make_rootfs(d):
    """A small root filesystem: static busybox, some files with modes, links of each kind."""
    d = Path(d)
    for sub in ("bin", "etc", "data/empty-dir", "tmp", "root"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    shutil.copyfile("/bin/busybox", d / "bin" / "busybox")
    os.chmod(d / "bin" / "busybox", 0o755)
    for applet in ("sh", "cat", "stat", "readlink", "ls", "true", "id"):
        os.symlink("busybox", d / "bin" / applet)
    (d / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (d / "etc" / "group").write_text("root:x:0:\n")
    os.symlink("/proc/self/mounts", d / "etc" / "mtab")  # absolute symlinks are normal in images
    (d / "data" / "hello").write_text(HELLO)
    os.link(d / "data" / "hello", d / "data" / "hello-hardlink")
    os.symlink("hello", d / "data" / "hello-symlink")
    (d / "data" / "secret").write_text("s\n")
    os.chmod(d / "data" / "secret", 0o600)
    (d / "data" / "script").write_text("#!/bin/sh\necho script-ran\n")
    os.chmod(d / "data" / "script", 0o755)
    os.chmod(d / "tmp", 0o1777)
    os.chmod(d / "root", 0o700)
    return d


def root_owned(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def make_tar(rootfs, path, mode="w", owner=root_owned):
    """A tarball like `docker export` writes: entries relative to the root, no `./`."""
    with tarfile.open(path, mode) as tar:
        for entry in sorted(os.listdir(rootfs)):
            tar.add(os.path.join(rootfs, entry), arcname=entry, filter=owner)
    return path


def parse_id(res):
    out = res.stdout.strip()
    assert re.fullmatch(r"(sha256:)?[0-9a-f]{12,64}", out), "import should print the image id\n" + dt.describe(res)
    return out.split(":")[-1]


def image_json(store, image_id):
    files = [p for p in (store.data / "images").glob("*.json") if p.name.startswith(image_id)]
    assert len(files) == 1, f"no single {store.data}/images/{image_id}*.json: {files}"
    return json.loads(files[0].read_text()), files[0]


def ls_rows(store):
    """The rows of `image ls` after its header line, split on blanks."""
    res = dt.assert_ok(store.diyc("image", "ls"))
    lines = res.stdout.splitlines()
    assert lines and "TAG" in lines[0], "`image ls` should start with a header line\n" + dt.describe(res)
    return [line.split() for line in lines[1:]]


def check_stored(store, name, tag, image_id):
    meta, path = image_json(store, image_id)
    assert re.fullmatch(r"[0-9a-f]{64}", meta.get("id", "")) and meta["id"].startswith(image_id), meta
    assert path.name == meta["id"] + ".json"
    link = store.data / "images" / "names" / f"{name}:{tag}"
    assert os.path.islink(link) and os.readlink(link) == meta["id"], f"{link} should be a symlink to the id"
    layers = meta.get("layers")
    assert layers, meta
    for layer in layers:
        assert (store.data / "layers" / layer / "diff").is_dir(), f"layer {layer} is missing"
    assert any(r[:3] == [name, tag, meta["id"][:12]] for r in ls_rows(store)), \
        f"`image ls` does not list {name}:{tag} {meta['id'][:12]}"
    return meta


def prime(store, tmp_path):
    """Imports a one-file image, so that the store exists as after any earlier use."""
    src = tmp_path / "primer"
    src.mkdir()
    (src / "file").write_text("primer\n")
    dt.assert_ok(store.diyc("image", "import", src, "primer"))
    rows = ls_rows(store)
    assert [r[:2] for r in rows] == [["primer", "latest"]]
    return rows


def check_layer_contents(store, meta):
    diff = store.data / "layers" / meta["layers"][-1] / "diff"
    assert (diff / "data" / "hello").read_text() == HELLO
    assert stat.S_IMODE(os.lstat(diff / "data" / "secret").st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(diff / "data" / "script").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(diff / "tmp").st_mode) == 0o1777
    assert os.readlink(diff / "data" / "hello-symlink") == "hello"
    assert os.readlink(diff / "etc" / "mtab") == "/proc/self/mounts"
    assert os.readlink(diff / "bin" / "sh") == "busybox"
    assert os.lstat(diff / "data" / "hello-hardlink").st_ino == os.lstat(diff / "data" / "hello").st_ino, \
        "the hardlink was not kept"
    assert (diff / "data" / "empty-dir").is_dir()


def check_runs(store, ref):
    res = dt.assert_ok(store.diyc("run", "--rm", ref, "/bin/sh", "-c",
                                  "cat /data/hello; /data/script; stat -c %a /tmp; id -u"))
    assert res.stdout == HELLO + "script-ran\n1777\n0\n", dt.describe(res)


def test_import_directory(empty_store, tmp_path):
    s = empty_store
    rootfs = make_rootfs(tmp_path / "rootfs")
    res = dt.assert_ok(s.diyc("image", "import", rootfs, "dirimg"))
    image_id = parse_id(res)
    meta = check_stored(s, "dirimg", "latest", image_id)
    assert (s.data / "images" / "names" / "dirimg:latest").is_symlink()
    check_layer_contents(s, meta)
    check_runs(s, "dirimg")
    check_runs(s, "dirimg:latest")
    assert (rootfs / "data" / "hello").read_text() == HELLO, "the source directory changed"


def test_image_metadata(empty_store, tmp_path):
    # the store layout: images/<id>.json {"id","layers","created","size"}; the names live
    # only in images/names/ (one symlink NAME:TAG -> id), their single source of truth
    s = empty_store
    image_id = parse_id(dt.assert_ok(s.diyc("image", "import", make_rootfs(tmp_path / "rootfs"), "meta:t1")))
    meta, _ = image_json(s, image_id)
    for key in ("id", "layers", "created", "size"):
        assert key in meta, f"images/<id>.json has no {key!r}: {meta}"
    assert meta["id"] == image_id, meta
    link = s.data / "images" / "names" / "meta:t1"
    assert os.readlink(link) == image_id


def test_image_ls_header(empty_store, tmp_path):
    s = empty_store
    dt.assert_ok(s.diyc("image", "import", make_rootfs(tmp_path / "rootfs"), "hdr"))
    res = dt.assert_ok(s.diyc("image", "ls"))
    # the same columns as docker and podman
    assert re.match(r"REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s*$", res.stdout.splitlines()[0]), dt.describe(res)


@pytest.mark.parametrize("mode,suffix", [("w", ".tar"), ("w:gz", ".tar.gz"), ("w:xz", ".tar.xz")])
def test_import_tarball(empty_store, tmp_path, mode, suffix):
    s = empty_store
    tar = make_tar(make_rootfs(tmp_path / "rootfs"), tmp_path / ("img" + suffix), mode)
    meta = check_stored(s, "tarimg", "v1", parse_id(dt.assert_ok(s.diyc("image", "import", tar, "tarimg:v1"))))
    check_layer_contents(s, meta)
    check_runs(s, "tarimg:v1")


def test_import_gnu_tar_with_dot_prefix(empty_store, tmp_path):
    s = empty_store
    rootfs = make_rootfs(tmp_path / "rootfs")
    tar = tmp_path / "gnu.tar"
    subprocess.run(["tar", "-C", str(rootfs), "--owner=0", "--group=0", "-cf", str(tar), "."], check=True, timeout=30)
    meta = check_stored(s, "gnu", "latest", parse_id(dt.assert_ok(s.diyc("image", "import", tar, "gnu"))))
    check_layer_contents(s, meta)
    check_runs(s, "gnu")


def test_import_zstd_tarball(empty_store, tmp_path):
    if not dt.which("zstd"):
        pytest.skip("zstd is not installed (Debian package zstd)")
    s = empty_store
    rootfs = make_rootfs(tmp_path / "rootfs")
    tar = tmp_path / "img.tar.zst"
    subprocess.run(["tar", "-C", str(rootfs), "--owner=0", "--group=0", "--zstd", "-cf", str(tar), "."],
                   check=True, timeout=30)
    meta = check_stored(s, "zimg", "latest", parse_id(dt.assert_ok(s.diyc("image", "import", tar, "zimg"))))
    check_layer_contents(s, meta)


def test_import_keeps_mapped_owners(empty_store, tmp_path, subids):
    s = empty_store
    rootfs = make_rootfs(tmp_path / "rootfs")

    def owner(ti):
        root_owned(ti)
        if ti.name.startswith("data/secret"):
            ti.uid, ti.gid = 1000, 1001
        return ti

    tar = make_tar(rootfs, tmp_path / "owners.tar", owner=owner)
    dt.assert_ok(s.diyc("image", "import", tar, "owners"))
    res = dt.assert_ok(s.diyc("run", "--rm", "owners", "/bin/stat", "-c", "%u:%g", "/data/secret", "/data/hello"))
    assert res.stdout == "1000:1001\n0:0\n", dt.describe(res)


def test_image_ls_and_rm(empty_store, tmp_path):
    s = empty_store
    rootfs = make_rootfs(tmp_path / "rootfs")
    image_id = parse_id(dt.assert_ok(s.diyc("image", "import", rootfs, "gone:1")))
    meta, json_path = image_json(s, image_id)
    layer_dirs = [s.data / "layers" / layer for layer in meta["layers"]]
    assert [r[:2] for r in ls_rows(s)] == [["gone", "1"]]
    res = dt.assert_ok(s.diyc("image", "rm", "gone:1"))
    assert res.stderr == "", dt.describe(res)
    assert ls_rows(s) == []
    assert not json_path.exists()
    assert not os.path.lexists(s.data / "images" / "names" / "gone:1")
    for d in layer_dirs:
        assert not d.exists(), f"image rm left the layer {d}"
    assert not list((s.data / "layers").iterdir()), "image rm left something in layers/"
    dt.assert_error(s.diyc("image", "rm", "gone:1"), "gone")
    dt.assert_error(s.diyc("run", "--rm", "gone:1", "true"), "gone")


def test_image_rm_several(empty_store, tmp_path):
    s = empty_store
    rootfs = make_rootfs(tmp_path / "rootfs")
    dt.assert_ok(s.diyc("image", "import", rootfs, "one"))
    dt.assert_ok(s.diyc("image", "import", rootfs, "two:t"))
    assert sorted(r[:2] for r in ls_rows(s)) == [["one", "latest"], ["two", "t"]]
    dt.assert_ok(s.diyc("image", "rm", "one", "two:t"))
    assert ls_rows(s) == []
    assert not list((s.data / "layers").iterdir())


def test_import_missing_path(empty_store, tmp_path):
    s = empty_store
    prime(s, tmp_path)
    before = dt.tree(tmp_path)
    dt.assert_error(s.diyc("image", "import", tmp_path / "no-such-dir", "x"), "no-such-dir")
    assert dt.tree(tmp_path) == before


def test_import_not_a_tarball(empty_store, tmp_path):
    s = empty_store
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(4096))
    prime(s, tmp_path)
    before = dt.tree(tmp_path)
    dt.assert_error(s.diyc("image", "import", junk, "junk"))
    assert dt.tree(tmp_path) == before
    assert not os.path.lexists(s.data / "images" / "names" / "junk:latest")


# Hostile tarballs. VICTIM is a directory the test user can write: an extraction that
# escaped would land there; SECRET is a file of the user's that a hardlink could reach.


def reg(name, data=b"evil\n"):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    return ti, data


def sym(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.SYMTYPE
    ti.linkname = target
    return ti, None


def hard(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE
    ti.linkname = target
    return ti, None


def dirent(name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    return ti, None


def write_tar(path, entries):
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        # a few harmless entries first, so that a partial extraction has something to clean up
        for ti, data in [dirent("bin"), reg("bin/ok", b"ok\n"), dirent("etc-real")] + entries:
            root_owned(ti)
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return path


def hostile_cases(victim, secret):
    v = str(victim)
    deep = "../" * 40 + v.lstrip("/")
    return {
        "dotdot": ([reg("../evil")], "evil"),
        "dotdot-nested": ([dirent("a"), reg("a/../../evil")], "evil"),
        "dotdot-deep": ([reg(deep + "/evil")], "evil"),
        "abs-symlink-to-root": ([sym("etc", "/"), reg("etc/x")], "etc"),
        "abs-symlink-to-victim": ([sym("etc", v), reg("etc/x")], "etc"),
        "symlink-to-dotdot": ([sym("up", ".."), reg("up/x")], "up"),
        "symlink-deep-relative": ([sym("up", deep), reg("up/x")], "up"),
        "symlink-chain": ([sym("a", "b"), sym("b", v), reg("a/x")], ("a/x", "b")),
        "symlink-then-dir": ([sym("d", v), dirent("d/sub")], "d"),
        "dir-replaced-by-symlink": ([dirent("etc"), sym("etc", v), reg("etc/x")], "etc"),
        "hardlink-dotdot": ([hard("hl", "../../x")], ("hl", "../../x")),
        "hardlink-absolute": ([hard("hl", str(secret))], ("hl", str(secret))),
        "hardlink-through-symlink": ([sym("s", v), hard("hl", "s/target")], ("hl", "s")),
    }


CASES = list(hostile_cases("/v", "/s"))


@pytest.mark.parametrize("case", CASES)
def test_hostile_tarball_refused(empty_store, tmp_path, case):
    s = empty_store
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "target").write_text("victim's file\n")
    secret = tmp_path / "secret"
    secret.write_text("the user's secret\n")
    entries, mention = hostile_cases(victim, secret)[case]
    tar = write_tar(tmp_path / f"{case}.tar", entries)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    rows = prime(s, tmp_path)
    before = dt.tree(tmp_path)
    tmp_before = dt.tmp_entries()
    res = s.diyc("image", "import", tar, "hostile", cwd=cwd)
    # the line names the tarball and the offending entry
    dt.assert_error(res, tar.name, mention)
    assert dt.tree(tmp_path) == before, \
        f"the refused import wrote or left something: {sorted(dt.tree(tmp_path) ^ before)}"
    assert dt.tmp_entries() == tmp_before, "temporary files left"
    assert sorted(os.listdir(victim)) == ["target"]
    assert (victim / "target").read_text() == "victim's file\n"
    assert os.lstat(secret).st_nlink == 1, "a hardlink to the user's file was made"
    assert os.lstat(victim / "target").st_nlink == 1, "a hardlink to the user's file was made"
    assert not os.path.lexists("/x") and not os.path.lexists("/evil")
    assert [r[:3] for r in ls_rows(s)] == [r[:3] for r in rows], "the image list changed"


def test_absolute_entry_not_written_to_the_host(empty_store, tmp_path):
    s = empty_store
    victim = tmp_path / "victim"
    victim.mkdir()
    tar = write_tar(tmp_path / "abs.tar", [reg(str(victim / "abs"))])
    res = s.diyc("image", "import", tar, "absolute")
    assert not os.path.lexists(victim / "abs"), "an absolute entry was written on the host"
    if res.returncode != 0:
        dt.assert_error(res)


def test_hostile_tarball_leaves_existing_images_alone(private_store, tmp_path):
    s = private_store
    before = s.snapshot()
    tar = write_tar(tmp_path / "evil.tar", [sym("etc", "/"), reg("etc/x")])
    dt.assert_error(s.diyc("image", "import", tar, "other"))
    assert s.snapshot() == before
    dt.assert_ok(s.diyc("run", "--rm", "busybox", "true"))
