# SPDX-License-Identifier: MIT
# Broken and hostile OCI layouts, OCI archives and docker archives, derived from the valid
# images umoci and skopeo wrote (imagetools): each is refused with one clear line and exit
# 125, nothing is left in the store (layers, temporary layer directories, image records),
# the layers it shares with stored images are kept, and nothing is written outside the store.
import gzip
import hashlib
import io
import json
import os
import secrets
import tarfile
import time
from pathlib import Path

import pytest

import diyctest as dt
import imagetools as it
from imagetools import images  # noqa: F401  (the session fixture)

IMPORT_TIMEOUT = 120


# -- tar entries -------------------------------------------------------------------------

def reg(name, data=b"evil\n", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    return ti, data


def sym(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.SYMTYPE
    ti.linkname = target
    ti.mode = 0o777
    return ti, None


def hard(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE
    ti.linkname = target
    ti.mode = 0o644
    return ti, None


def dirent(name, mode=0o755):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    return ti, None


def fresh_layer():
    """A valid layer no other image has (so that a refused import has one to clean up)."""
    return it.tar_bytes([dirent("fresh"), reg(f"fresh/{secrets.token_hex(8)}", os.urandom(4096))])


def hostile_layer(entries):
    # harmless entries first, so that a partial extraction has something to clean up
    return it.tar_bytes([dirent("ok-dir"), reg("ok-dir/ok", b"ok\n")] + entries)


# -- images derived from the valid ones --------------------------------------------------

def oci_with_layers(images, dst, layers):  # noqa: F811
    """The small layout (one busybox layer, already in the primed store) plus LAYERS."""
    lay = it.copy_layout(images.small, dst)
    for layer in layers:
        it.add_layer(lay, layer)
    return lay


def docker_with_layers(src, dst, layers, diff_ids=None):
    """The docker archive SRC with LAYERS (uncompressed tars) appended, its config and
    manifest.json rewritten to match (DIFF_IDS, when given, replace the true ones)."""
    with tarfile.open(src) as tin:
        members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()]
    data = {m.name: d for m, d in members}
    manifest = json.loads(data["manifest.json"])
    cfg_name = manifest[0]["Config"]
    config = json.loads(data[cfg_name])
    out = [(m, d) for m, d in members if m.name not in ("manifest.json", cfg_name)]
    for i, layer in enumerate(layers):
        h = hashlib.sha256(layer).hexdigest()
        name = f"{h}.tar"
        out.append(reg(name, layer))
        manifest[0]["Layers"].append(name)
        config["rootfs"]["diff_ids"].append(diff_ids[i] if diff_ids else "sha256:" + h)
    cfg = json.dumps(config).encode()
    cname = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest[0]["Config"] = cname
    out += [reg(cname, cfg), reg("manifest.json", json.dumps(manifest).encode())]
    write_tar(dst, out)
    return dst


def write_tar(path, entries):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for ti, data in entries:
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return path


def layout_entries(layout):
    """The files of LAYOUT as tar entries (for archives with extra members)."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(layout):
        rel = os.path.relpath(dirpath, layout)
        for n in sorted(dirnames):
            entries.append(dirent(os.path.normpath(os.path.join(rel, n))))
        for n in sorted(filenames):
            with open(os.path.join(dirpath, n), "rb") as f:
                entries.append(reg(os.path.normpath(os.path.join(rel, n)), f.read()))
    return entries


def make_format(images, tmp_path, fmt, layers):  # noqa: F811
    """The small image plus LAYERS as FMT: an OCI layout, an OCI archive (tar of the layout)
    or a docker archive (based on base-docker.tar)."""
    if fmt == "docker-archive":
        return docker_with_layers(images.docker_base, tmp_path / "evil-docker.tar", layers)
    lay = oci_with_layers(images, tmp_path / "evil-layout", layers)
    if fmt == "oci-archive":
        return it.tar_dir(lay, tmp_path / "evil-oci.tar")
    return lay


# -- the checks --------------------------------------------------------------------------


class Scene:
    """A primed store (the small image imported) and things an escape would touch: VICTIM,
    a directory of the user's with one file, SECRET, a file of the user's, CWD, the
    directory diyc runs in."""

    def __init__(self, store, tmp_path, images):  # noqa: F811
        self.store, self.tmp = store, tmp_path
        self.victim = tmp_path / "victim"
        self.victim.mkdir()
        (self.victim / "target").write_text("victim's file\n")
        self.secret = tmp_path / "secret"
        self.secret.write_text("the user's secret\n")
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir()
        res = dt.assert_ok(store.diyc("image", "import", images.small, "small", timeout=IMPORT_TIMEOUT))
        self.small_id = res.stdout.strip()

    def refused(self, path, *needles, args=(), name="evil", timeout=IMPORT_TIMEOUT):
        """Imports PATH, expects diyc's error mentioning NEEDLES and no trace anywhere."""
        s = self.store
        before = s.snapshot()
        outside = dt.tree(self.tmp, prune=("store",))
        tmp_before = dt.tmp_entries()
        rows = image_rows(s)
        argv = ["image", "import", *args, path] + ([name] if name else [])
        res = s.diyc(*argv, cwd=self.cwd, timeout=timeout)
        line = dt.assert_error(res, *needles)
        after = s.snapshot()
        for part in ("data", "run"):
            assert after[part] == before[part], \
                f"the refused import changed the store ({part}): {sorted(after[part] ^ before[part])}"
        assert not [p for p in s.layers() if p.name.startswith(".")], "temporary layer directories left"
        now = dt.tree(self.tmp, prune=("store",))
        assert now == outside, f"the refused import wrote outside the store: {sorted(now ^ outside)}"
        assert dt.tmp_entries() == tmp_before, "temporary files left"
        self.check_untouched()
        assert image_rows(s) == rows, "the image list changed"
        return line

    def check_untouched(self):
        assert sorted(os.listdir(self.victim)) == ["target"], os.listdir(self.victim)
        assert (self.victim / "target").read_text() == "victim's file\n"
        assert os.lstat(self.victim / "target").st_nlink == 1, "a hard link to the user's file was made"
        assert self.secret.read_text() == "the user's secret\n"
        assert os.lstat(self.secret).st_nlink == 1, "a hard link to the user's file was made"
        assert os.listdir(self.cwd) == []
        for p in ("/evil", "/evil-abs", "/x", "/tmp/evil", "/tmp/evil-outer"):
            assert not os.path.lexists(p), f"{p} was written"


def image_rows(store):
    res = store.diyc("image", "ls")
    return sorted(line.split()[:3] for line in res.stdout.splitlines()[1:]) if res.returncode == 0 else None


@pytest.fixture
def scene(empty_store, tmp_path, images):  # noqa: F811
    return Scene(empty_store, tmp_path, images)


# -- hostile layer contents, in each format ----------------------------------------------


def layer_cases(victim, secret):
    v = str(victim)
    deep = "../" * 40 + v.lstrip("/")
    deep_secret = "../" * 40 + str(secret).lstrip("/")
    return {
        "dotdot": ([reg("../evil")], ("../evil", "..")),
        "dotdot-nested": ([dirent("a"), reg("a/../../evil")], ("evil", "..")),
        "dotdot-deep": ([reg(deep + "/evil")], ("evil", "..")),
        "absolute": ([reg(v + "/abs")], ("abs", "absolute")),
        "absolute-root": ([reg("/evil-abs")], ("evil-abs", "absolute")),
        "symlink-abs-then-file": ([sym("etc2", v), reg("etc2/x")], "etc2"),
        "symlink-dotdot-then-file": ([sym("up", ".."), reg("up/x")], "up"),
        "symlink-deep-then-file": ([sym("up", deep), reg("up/x")], "up"),
        "symlink-chain": ([sym("a", "b"), sym("b", v), reg("a/x")], ("a/x", "b")),
        "symlink-then-dir": ([sym("d", v), dirent("d/sub")], "d"),
        "dir-replaced-by-symlink": ([dirent("etc2"), sym("etc2", v), reg("etc2/x")], "etc2"),
        "hardlink-absolute": ([hard("hl", str(secret))], ("hl", "secret")),
        "hardlink-dotdot": ([hard("hl", "../../../../secret")], ("hl", "secret")),
        "hardlink-deep": ([hard("hl", deep_secret)], ("hl", "secret")),
        "hardlink-through-symlink": ([sym("s", v), hard("hl", "s/target")], ("hl", "s/target")),
        "whiteout-dotdot": ([dirent("data2"), reg("data2/.wh...", b"")], (".wh.", "..", "whiteout")),
        "whiteout-dotdot-root": ([reg(".wh...", b"")], (".wh.", "..", "whiteout")),
    }


LAYER_CASES = list(layer_cases("/v", "/s"))
FORMATS = ["oci-layout", "oci-archive", "docker-archive"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", LAYER_CASES)
def test_hostile_layer_refused(scene, images, tmp_path, fmt, case):  # noqa: F811
    entries, mention = layer_cases(scene.victim, scene.secret)[case]
    path = make_format(images, tmp_path, fmt, [fresh_layer(), hostile_layer(entries)])
    scene.refused(path, mention)


@pytest.mark.parametrize("fmt", FORMATS)
def test_symlink_in_lower_layer_not_followed(scene, images, tmp_path, fmt):  # noqa: F811
    # layer 1 has etc2 -> VICTIM, layer 2 writes etc2/x: each layer is extracted in its own
    # tree, so this may be accepted (the upper etc2/ is a directory) or refused, but
    # nothing may be written to VICTIM
    low = it.tar_bytes([sym("etc2", str(scene.victim)), sym("up", "../../../..")])
    high = it.tar_bytes([dirent("etc2"), reg("etc2/x"), dirent("up"), reg("up/evil")])
    path = make_format(images, tmp_path, fmt, [low, high])
    res = scene.store.diyc("image", "import", path, "crosslayer", cwd=scene.cwd, timeout=IMPORT_TIMEOUT)
    if res.returncode != 0:
        dt.assert_error(res)
    scene.check_untouched()
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_whiteout_through_lower_symlink(scene, images, tmp_path, fmt):  # noqa: F811
    # layer 1 has wlink -> VICTIM, layer 2 deletes wlink/target: the whiteout is about the
    # image's tree, never a reason to delete the user's file
    low = it.tar_bytes([sym("wlink", str(scene.victim)), sym("rlink", "../../../../../../../../" +
                                                              str(scene.victim).lstrip("/"))])
    high = it.tar_bytes([reg("wlink/.wh.target", b""), dirent("rlink"), reg("rlink/.wh.target", b"")])
    path = make_format(images, tmp_path, fmt, [low, high])
    res = scene.store.diyc("image", "import", path, "whlink", cwd=scene.cwd, timeout=IMPORT_TIMEOUT)
    if res.returncode != 0:
        dt.assert_error(res)
    scene.check_untouched()


def test_refused_import_keeps_shared_layer(scene, images, tmp_path):  # noqa: F811
    # the hostile image's first layer is the small image's: it stays, and small still runs
    path = make_format(images, tmp_path, "oci-layout", [fresh_layer(), hostile_layer([reg("../evil")])])
    scene.refused(path)
    small_layers = it.oci_diff_ids(images.small)
    for d in small_layers:
        assert (scene.store.data / "layers" / d / "diff" / "bin" / "busybox").is_file()
    res = dt.assert_ok(scene.store.diyc("run", "--rm", "small", "/bin/sh", "-c", "echo still-runs"))
    assert res.stdout == "still-runs\n"


def test_refused_import_on_store_with_busybox(private_store, tmp_path, images):  # noqa: F811
    s = private_store
    before = s.snapshot()
    lay = oci_with_layers(images, tmp_path / "evil", [fresh_layer(), hostile_layer([sym("etc2", "/"),
                                                                                    reg("etc2/x")])])
    dt.assert_error(s.diyc("image", "import", lay, "other", timeout=IMPORT_TIMEOUT))
    assert s.snapshot() == before
    dt.assert_ok(s.diyc("run", "--rm", "busybox", "true"))


# -- broken OCI layouts --------------------------------------------------------------------


def small_copy(images, tmp_path, extra=True):  # noqa: F811
    """A copy of the small layout with a fresh layer on top; returns (layout, that layer's descriptor)."""
    lay = it.copy_layout(images.small, tmp_path / "broken")
    layer = it.add_layer(lay, fresh_layer()) if extra else None
    return lay, layer


def index_desc(lay):
    return it.read_json(lay / "index.json")["manifests"][0]


@pytest.mark.parametrize("archive", [False, True], ids=["layout", "archive"])
def test_layer_digest_mismatch(scene, images, tmp_path, archive):  # noqa: F811
    lay, layer = small_copy(images, tmp_path)
    # another valid gzip tar under the digest of the real one
    it.blob(lay, layer["digest"]).write_bytes(gzip.compress(fresh_layer(), mtime=0))
    path = it.tar_dir(lay, tmp_path / "broken.tar") if archive else lay
    scene.refused(path, "digest")


def test_diff_id_mismatch(scene, images, tmp_path):  # noqa: F811
    # the blob is what the manifest says, but its content is not the config's diff id:
    # storing it under that id would poison the store for every image using the id
    lay = it.copy_layout(images.small, tmp_path / "broken")
    it.add_layer(lay, fresh_layer(), diff_id="sha256:" + "1" * 64)
    scene.refused(lay, ("digest", "diff"))


def test_diff_id_of_stored_layer_claimed(scene, images, tmp_path):  # noqa: F811
    # a new layer that claims the diff id of the small image's (stored) layer
    lay = it.copy_layout(images.small, tmp_path / "broken")
    small = it.oci_diff_ids(images.small)[0]
    it.add_layer(lay, hostile_layer([reg("bin/busybox", b"#!/bin/sh\necho pwned\n", 0o755)]),
                 diff_id="sha256:" + small)
    res = scene.store.diyc("image", "import", lay, "claim", timeout=IMPORT_TIMEOUT)
    if res.returncode != 0:
        dt.assert_error(res)
    # whatever happened, the stored layer is the real one
    busybox = scene.store.data / "layers" / small / "diff" / "bin" / "busybox"
    assert busybox.stat().st_size > 100000, "a layer's content was replaced by another one claiming its digest"


def test_config_digest_mismatch(scene, images, tmp_path):  # noqa: F811
    lay, _ = small_copy(images, tmp_path)
    mf = it.read_json(it.blob(lay, index_desc(lay)["digest"]))
    cfg_path = it.blob(lay, mf["config"]["digest"])
    cfg = json.loads(cfg_path.read_text())
    cfg["config"] = {"Cmd": ["/bin/sh", "-c", "echo changed"]}
    cfg_path.write_text(json.dumps(cfg))
    scene.refused(lay, "digest")


def test_manifest_digest_mismatch(scene, images, tmp_path):  # noqa: F811
    lay, _ = small_copy(images, tmp_path)
    mf_path = it.blob(lay, index_desc(lay)["digest"])
    mf = json.loads(mf_path.read_text())
    mf["annotations"] = {"changed": "yes"}
    mf_path.write_text(json.dumps(mf))
    scene.refused(lay, "digest")


@pytest.mark.parametrize("which", ["layer", "config", "manifest"])
def test_missing_blob(scene, images, tmp_path, which):  # noqa: F811
    lay, layer = small_copy(images, tmp_path)
    mf_digest = index_desc(lay)["digest"]
    digest = {"layer": layer["digest"], "manifest": mf_digest,
              "config": it.read_json(it.blob(lay, mf_digest))["config"]["digest"]}[which]
    it.blob(lay, digest).unlink()
    scene.refused(lay, ("missing", "not found"))


@pytest.mark.parametrize("archive", [False, True], ids=["layout", "archive"])
def test_index_not_json(scene, images, tmp_path, archive):  # noqa: F811
    lay, _ = small_copy(images, tmp_path)
    (lay / "index.json").write_text('{"schemaVersion": 2, "manifests": [')
    path = it.tar_dir(lay, tmp_path / "broken.tar") if archive else lay
    scene.refused(path, "index.json")


def test_manifest_not_json(scene, images, tmp_path):  # noqa: F811
    lay, _ = small_copy(images, tmp_path)
    index = it.read_json(lay / "index.json")
    index["manifests"][0].update(it.write_blob(lay, b"this is not a manifest\n"))
    (lay / "index.json").write_text(json.dumps(index))
    scene.refused(lay, "manifest")


@pytest.mark.parametrize("where", ["index", "manifest-layer", "manifest-config"])
def test_digest_with_path(scene, images, tmp_path, where):  # noqa: F811
    # a digest is algorithm:hex, never a path to follow out of blobs/
    lay, _ = small_copy(images, tmp_path)
    (tmp_path / "outside-blob").write_text('{"schemaVersion": 2}')
    evil = "sha256:../../../outside-blob"
    if where == "index":
        index = it.read_json(lay / "index.json")
        index["manifests"][0]["digest"] = evil
        (lay / "index.json").write_text(json.dumps(index))
    else:
        def edit(mf, cfg):
            if where == "manifest-layer":
                mf["layers"][-1]["digest"] = evil
            else:
                mf["config"]["digest"] = evil
        it.rewrite_manifest(lay, edit)
    scene.refused(lay, ("digest", "config") if where == "manifest-config" else "digest")


def test_unknown_digest_algorithm(scene, images, tmp_path):  # noqa: F811
    lay, _ = small_copy(images, tmp_path)
    index = it.read_json(lay / "index.json")
    index["manifests"][0]["digest"] = "md5:" + "0" * 32
    (lay / "index.json").write_text(json.dumps(index))
    scene.refused(lay, "digest")


def replace_top_layer(lay, data, diff_id):
    def edit(mf, cfg):
        mf["layers"][-1].update(it.write_blob(lay, data))
        cfg["rootfs"]["diff_ids"][-1] = diff_id
    it.rewrite_manifest(lay, edit)


@pytest.mark.parametrize("archive", [False, True], ids=["layout", "archive"])
def test_truncated_gzip_layer(scene, images, tmp_path, archive):  # noqa: F811
    # the blob's digest is right (the manifest describes the truncated blob): the gzip
    # stream ends early
    lay, _ = small_copy(images, tmp_path)
    tar = hostile_layer([reg(f"big/{i}", os.urandom(8192)) for i in range(16)])
    gz = gzip.compress(tar, mtime=0)
    replace_top_layer(lay, gz[: len(gz) // 2], "sha256:" + hashlib.sha256(tar).hexdigest())
    path = it.tar_dir(lay, tmp_path / "broken.tar") if archive else lay
    scene.refused(path)


def test_layer_not_gzip(scene, images, tmp_path):  # noqa: F811
    lay, _ = small_copy(images, tmp_path)
    junk = os.urandom(20000)
    replace_top_layer(lay, junk, "sha256:" + hashlib.sha256(junk).hexdigest())
    scene.refused(lay)


def test_truncated_tar_in_layer(scene, images, tmp_path):  # noqa: F811
    # a complete gzip stream of a tar cut in the middle of a file
    lay, _ = small_copy(images, tmp_path)
    tar = hostile_layer([reg("big", os.urandom(20000))])[:6000]
    replace_top_layer(lay, gzip.compress(tar, mtime=0), "sha256:" + hashlib.sha256(tar).hexdigest())
    scene.refused(lay)


# -- hostile OCI archives (the outer tar) --------------------------------------------------


def test_oci_archive_with_dotdot_member(scene, images, tmp_path):  # noqa: F811
    path = write_tar(tmp_path / "outer.tar", layout_entries(images.small) + [reg("../evil-outer"),
                                                                            reg("../../evil-outer")])
    scene.refused(path)
    assert not (tmp_path / "evil-outer").exists()


def test_oci_archive_with_absolute_member(scene, images, tmp_path):  # noqa: F811
    path = write_tar(tmp_path / "outer.tar", layout_entries(images.small) + [reg(str(scene.victim / "abs"))])
    scene.refused(path)


def test_oci_archive_with_symlinked_blobs(scene, images, tmp_path):  # noqa: F811
    # blobs -> VICTIM, then the blobs written through it
    entries = [e for e in layout_entries(images.small) if not e[0].name.startswith("blobs")]
    blobs = [e for e in layout_entries(images.small) if e[0].name.startswith("blobs/") and e[0].isfile()]
    path = write_tar(tmp_path / "outer.tar", entries + [sym("blobs", str(scene.victim)), dirent("blobs/sha256")]
                     + blobs)
    scene.refused(path)


def test_oci_archive_with_hardlink_out(scene, images, tmp_path):  # noqa: F811
    path = write_tar(tmp_path / "outer.tar", layout_entries(images.small) + [hard("stolen", str(scene.secret))])
    scene.refused(path)


# -- broken docker archives ----------------------------------------------------------------


def test_docker_manifest_not_json(scene, images, tmp_path):  # noqa: F811
    with tarfile.open(images.docker_base) as tin:
        members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()]
    out = [reg("manifest.json", b"[{") if m.name == "manifest.json" else (m, d) for m, d in members]
    scene.refused(write_tar(tmp_path / "broken-docker.tar", out), "manifest.json")


def test_docker_layer_digest_mismatch(scene, images, tmp_path):  # noqa: F811
    path = docker_with_layers(images.docker_base, tmp_path / "broken-docker.tar", [fresh_layer()],
                              diff_ids=["sha256:" + "2" * 64])
    scene.refused(path, "digest")


def test_docker_missing_layer(scene, images, tmp_path):  # noqa: F811
    src = docker_with_layers(images.docker_base, tmp_path / "full.tar", [fresh_layer()])
    missing = it.docker_manifest(src)[0]["Layers"][-1]
    with tarfile.open(src) as tin:
        members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()
                   if m.name != missing]
    path = write_tar(tmp_path / "broken-docker.tar", members)
    os.unlink(src)
    scene.refused(path, ("missing", "not found"))


@pytest.mark.parametrize("what", ["layer", "config"])
def test_docker_paths_outside_the_archive(scene, images, tmp_path, what):  # noqa: F811
    # manifest.json names files by path inside the archive: a path out of it (absolute or
    # with ..) to a valid file of the user's must not be read
    outside_layer = fresh_layer()
    (tmp_path / "outside-layer.tar").write_bytes(outside_layer)
    src = docker_with_layers(images.docker_base, tmp_path / "full.tar", [outside_layer])
    with tarfile.open(src) as tin:
        members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()]
    data = {m.name: d for m, d in members}
    manifest = json.loads(data["manifest.json"])
    if what == "layer":
        drop = manifest[0]["Layers"][-1]
        manifest[0]["Layers"][-1] = str(tmp_path / "outside-layer.tar")
        manifest[0]["Layers"][-2] = "../" * 30 + str(tmp_path / "outside-layer.tar").lstrip("/")
        config = json.loads(data[manifest[0]["Config"]])
        config["rootfs"]["diff_ids"][-2] = config["rootfs"]["diff_ids"][-1]
        cfg = json.dumps(config).encode()
        drop_cfg = manifest[0]["Config"]
        manifest[0]["Config"] = hashlib.sha256(cfg).hexdigest() + ".json"
        kept = [(m, d) for m, d in members if m.name not in ("manifest.json", drop, drop_cfg)]
        kept.append(reg(manifest[0]["Config"], cfg))
    else:
        (tmp_path / "outside-config.json").write_bytes(data[manifest[0]["Config"]])
        drop = manifest[0]["Config"]
        manifest[0]["Config"] = str(tmp_path / "outside-config.json")
        kept = [(m, d) for m, d in members if m.name not in ("manifest.json", drop)]
    kept.append(reg("manifest.json", json.dumps(manifest).encode()))
    path = write_tar(tmp_path / "escape-docker.tar", kept)
    os.unlink(src)
    scene.refused(path)


# -- selectors -----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["layout", "oci-archive", "docker-archive", "multi"])
def test_unknown_ref(scene, images, which):  # noqa: F811
    path = {"layout": images.layout, "oci-archive": images.oci_archive_ref,
            "docker-archive": images.docker_archive, "multi": images.multi}[which]
    scene.refused(path, ("ref", "no image"), args=("--ref", "no-such-ref"))


@pytest.mark.parametrize("platform", ["linux/s390x", "windows/amd64"])
def test_platform_not_in_index(scene, images, platform):  # noqa: F811
    # the line says which platform has no image (not that several images are there)
    scene.refused(images.multi, "platform", platform, args=("--platform", platform))


def test_platform_not_of_single_image(scene, images):  # noqa: F811
    # the small image is linux/amd64 only (its config says so; its index entry has no platform)
    scene.refused(images.small, "platform", "linux/ppc64le", args=("--platform", "linux/ppc64le"))


@pytest.mark.parametrize("platform", ["linux", "", "linux/amd64/v1/extra", "/amd64"])
def test_platform_malformed(scene, images, platform):  # noqa: F811
    scene.refused(images.multi, "platform", args=("--platform", platform))


# -- expansion and depth limits -------------------------------------------------------------

BOMB_MIB = 48


def zeros_layer(mib, name="bomb/zeros"):
    """A layer holding one file of MIB MiB of zeros: a few dozen KiB once gzip'd."""
    return it.tar_bytes([dirent(name.split("/")[0]), reg(name, bytes(mib << 20))])


@pytest.mark.parametrize("fmt", ["oci-layout", "oci-archive"])
def test_decompression_bomb_layer(scene, images, tmp_path, fmt):  # noqa: F811
    path = make_format(images, tmp_path, fmt, [zeros_layer(BOMB_MIB)])
    assert os.path.getsize(path) < (8 << 20), "the bomb should be small before it expands"
    line = scene.refused(path, "expand", "more than 8 MiB", "--max-size", args=("--max-size", "8m"))
    assert str(path) in line, line


def test_decompression_bomb_accepted_under_a_higher_limit(scene, images, tmp_path):  # noqa: F811
    # the limit is what refused it: the same layout imports with room to spare
    path = make_format(images, tmp_path, "oci-layout", [zeros_layer(BOMB_MIB)])
    scene.refused(path, "expand", "8 MiB", args=("--max-size", "8m"))
    res = dt.assert_ok(scene.store.diyc("image", "import", "--max-size", "1g", path, "bomb",
                                        timeout=IMPORT_TIMEOUT))
    out = dt.assert_ok(scene.store.diyc("run", "--rm", "bomb", "stat", "-c", "%s", "/bomb/zeros"))
    assert out.stdout.strip() == str(BOMB_MIB << 20), dt.describe(res)


def test_decompression_bomb_across_layers(scene, images, tmp_path):  # noqa: F811
    # each layer is under the limit; together they are over it
    path = make_format(images, tmp_path, "oci-layout",
                       [zeros_layer(6, "b1/zeros"), zeros_layer(6, "b2/zeros")])
    scene.refused(path, "expand", "10 MiB", args=("--max-size", "10m"))


def test_decompression_bomb_docker_archive(scene, images, tmp_path):  # noqa: F811
    # a docker archive's layers are plain tars in a gzip'd outer archive: unpacking the
    # outer archive is what expands
    inner = make_format(images, tmp_path, "docker-archive", [zeros_layer(BOMB_MIB)])
    bomb = tmp_path / "bomb-docker.tar.gz"
    with open(inner, "rb") as f, gzip.open(bomb, "wb", compresslevel=6) as g:
        while chunk := f.read(1 << 20):
            g.write(chunk)
    os.unlink(inner)
    assert os.path.getsize(bomb) < (8 << 20)
    scene.refused(bomb, "more than 8 MiB", "--max-size", args=("--max-size", "8m"))


def test_decompression_bomb_rootfs_tarball(scene, tmp_path):
    bomb = tmp_path / "rootfs-bomb.tar.gz"
    bomb.write_bytes(gzip.compress(zeros_layer(BOMB_MIB), compresslevel=6))
    scene.refused(bomb, "expands to more than 4 MiB", args=("--max-size", "4m"))


@pytest.mark.parametrize("size", ["0", "-1", "1x", "m", "10q", "99999999999999999999", "1.5g", ""])
def test_max_size_malformed(scene, images, size):  # noqa: F811
    scene.refused(images.small, "--max-size", args=("--max-size", size))


def deep_tree(depth):
    """Directories a/a/a/... DEPTH deep and a file at the bottom."""
    entries, path = [], "a"
    for _ in range(depth):
        entries.append(dirent(path))
        path += "/a"
    return entries + [reg(path[:-2] + "/bottom", b"bottom\n")]


@pytest.mark.parametrize("fmt", ["oci-layout", "rootfs"])
def test_ten_thousand_deep_tree(scene, images, tmp_path, fmt):  # noqa: F811
    tar = it.tar_bytes(deep_tree(10000))
    if fmt == "rootfs":
        path = tmp_path / "deep.tar.gz"
        path.write_bytes(gzip.compress(tar, compresslevel=1))
    else:
        path = make_format(images, tmp_path, fmt, [tar])
    del tar
    scene.refused(path, "directories deep", "512")


def test_deep_but_reasonable_tree_is_fine(scene, images, tmp_path):  # noqa: F811
    path = make_format(images, tmp_path, "oci-layout", [it.tar_bytes(deep_tree(200))])
    dt.assert_ok(scene.store.diyc("image", "import", path, "deep200", timeout=IMPORT_TIMEOUT))
    bottom = "/" + "/".join(["a"] * 200) + "/bottom"
    res = dt.assert_ok(scene.store.diyc("run", "--rm", "deep200", "cat", bottom))
    assert res.stdout == "bottom\n"


def test_skipped_entry_data_is_not_held_in_memory(scene, images, tmp_path):  # noqa: F811
    # a whiteout entry carrying 600 MiB of data: extraction skips it, and the tar-split
    # record must write that data out as it streams, not collect it in memory. diyc runs
    # with a 300 MiB address space limit (it needs far less).
    wh = reg("bomb/.wh.gone", bytes(600 << 20))
    tar = it.tar_bytes([dirent("bomb"), wh, reg("bomb/after", b"after\n")])
    del wh
    path = make_format(images, tmp_path, "oci-layout", [tar])
    diff_id = hashlib.sha256(tar).hexdigest()
    del tar
    res = dt.run(["prlimit", f"--as={300 << 20}", dt.diyc_bin(), "image", "import", str(path), "bigwh"],
                 env=scene.store.env, timeout=IMPORT_TIMEOUT)
    assert res.returncode == 0, dt.describe(res)
    out = dt.assert_ok(scene.store.diyc("run", "--rm", "bigwh", "cat", "/bomb/after"))
    assert out.stdout == "after\n"
    # the record survived (one that ran out of memory would have been dropped)
    assert (scene.store.data / "layers" / diff_id / "tar-split.gz").is_file()


def test_sparse_entry_in_the_outer_archive(scene, tmp_path):
    # a 1 TiB hole as a blob of an OCI archive (GNU tar --sparse): the size it claims counts
    lay = tmp_path / "sparse-layout"
    (lay / "blobs" / "sha256").mkdir(parents=True)
    (lay / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (lay / "index.json").write_text('{"schemaVersion":2,"manifests":[]}')
    hole = lay / "blobs" / "sha256" / ("ab" * 32)
    with open(hole, "wb") as f:
        f.truncate(1 << 40)
    path = tmp_path / "sparse-outer.tar"
    res = dt.run(["tar", "--sparse", "-C", str(lay), "-cf", str(path), "."])
    assert res.returncode == 0, dt.describe(res)
    os.unlink(hole)
    assert os.path.getsize(path) < (1 << 20)
    scene.refused(path, "unpacks to more than 1 MiB", args=("--max-size", "1m"))


def test_outer_archive_and_layers_share_the_limit(scene, images, tmp_path):  # noqa: F811
    # a docker archive's layers are unpacked (6 MiB) and then extracted (6 MiB again):
    # both are on disk, both count
    path = make_format(images, tmp_path, "docker-archive", [zeros_layer(6)])
    scene.refused(path, "more than 10 MiB", args=("--max-size", "10m"))
    dt.assert_ok(scene.store.diyc("image", "import", "--max-size", "20m", path, "shared",
                                  timeout=IMPORT_TIMEOUT))


# -- blobs that are not files of the source ------------------------------------------------
# open_oci() once checked each blob below the source's root and kept only its path, which
# the import opened again, following symlinks: a blob linked to a host path passed the check
# thanks to a decoy file at that path inside the source, and the host's file was read. Each
# file of a source is now opened once, below its root, without following a symlink, without
# blocking, and only when it is a regular file; that fd is hashed and extracted.

REFUSE_WITHIN = 1.0   # seconds: a refusal reads nothing first
HANG_TIMEOUT = 20     # a hang (the old /dev/zero or FIFO case) fails the test, not the run


def timed_refusal(scene, path, *needles):  # noqa: F811
    """scene.refused(), which must come within REFUSE_WITHIN seconds."""
    start = time.monotonic()
    line = scene.refused(path, *needles, timeout=HANG_TIMEOUT)
    took = time.monotonic() - start
    assert took < REFUSE_WITHIN, f"the refusal took {took:.2f} s"
    return line


def store_holds(store, needle):
    """Files of the store (those the user can read) that contain NEEDLE."""
    found = []
    for dirpath, _dirs, files in os.walk(store.data, onerror=lambda e: None):
        for n in files:
            p = os.path.join(dirpath, n)
            try:
                if not os.path.islink(p) and needle in open(p, "rb").read():
                    found.append(p)
            except OSError:
                pass
    return found


def archive_of(lay, dst):
    """An OCI archive of LAYOUT as it is (symlinks kept, FIFOs and decoys too), its
    oci-layout and index.json first, so that it is taken for an OCI archive whatever
    follows."""
    lay = Path(lay)
    first = ["oci-layout", "index.json"]
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tar:
        for n in first:
            tar.add(lay / n, arcname=n, recursive=False)
        for dirpath, dirnames, filenames in os.walk(lay):
            for n in sorted(dirnames) + sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, n), lay)
                if rel not in first:
                    tar.add(os.path.join(dirpath, n), arcname=rel, recursive=False)
    return Path(dst)


def link_blob(lay, digest, target, decoy=True):
    """Makes blob DIGEST of LAYOUT a symlink to the absolute host path TARGET, with a decoy
    regular file at that path inside the layout (what let the old check pass)."""
    b = it.blob(lay, digest)
    b.unlink(missing_ok=True)
    os.symlink(target, b)
    if decoy:
        inside = lay / str(target).lstrip("/")
        inside.parent.mkdir(parents=True, exist_ok=True)
        inside.write_bytes(b"decoy\n")


def host_blob_layout(images, tmp_path, target_kind):  # noqa: F811
    """The small layout plus a layer whose blob links to a host file (TARGET_KIND `file`: a
    valid layer of the user's, so that the digests match what the old code read; `zero`:
    /dev/zero; `fifo`: a FIFO of the user's with no writer). Returns the layout and the
    token the host file holds."""
    token = ("HOST-FILE-" + secrets.token_hex(8)).encode()
    lay = it.copy_layout(images.small, tmp_path / "evil-layout")
    layer = it.add_layer(lay, it.tar_bytes([reg("host-marker", token + b"\n")]))
    host = tmp_path / "host-blob"
    if target_kind == "file":
        os.rename(it.blob(lay, layer["digest"]), host)
    elif target_kind == "fifo":
        os.mkfifo(host)
    else:
        host = "/dev/zero"
    link_blob(lay, layer["digest"], host)
    return lay, token


@pytest.mark.parametrize("archive", [False, True], ids=["layout", "oci-archive"])
@pytest.mark.parametrize("target_kind", ["file", "zero", "fifo"])
def test_blob_linked_to_host_path(scene, images, tmp_path, archive, target_kind):  # noqa: F811
    lay, token = host_blob_layout(images, tmp_path, target_kind)
    path = archive_of(lay, tmp_path / "evil.tar") if archive else lay
    timed_refusal(scene, path, "symlink", "layer blob")
    assert not store_holds(scene.store, token), "the host's file is in the store"
    assert not os.listdir(scene.store.data / "tmp"), "an unpacked archive was left in the store"


def test_blob_that_is_a_fifo(scene, images, tmp_path):  # noqa: F811
    # in a layout directory the blob itself can be a FIFO: it must not be opened for reading
    lay = it.copy_layout(images.small, tmp_path / "evil-layout")
    layer = it.add_layer(lay, fresh_layer())
    b = it.blob(lay, layer["digest"])
    b.unlink()
    os.mkfifo(b)
    timed_refusal(scene, lay, "not a regular file", "layer blob")


@pytest.mark.parametrize("which", ["index.json", "oci-layout", "manifest", "config"])
def test_json_file_that_is_a_fifo(scene, images, tmp_path, which):  # noqa: F811
    lay = it.copy_layout(images.small, tmp_path / "evil-layout")
    if which == "manifest":
        target = it.blob(lay, it.oci_descriptor(lay)["digest"])
    elif which == "config":
        target = it.blob(lay, it.oci_manifest(lay)["config"]["digest"])
    else:
        target = lay / which
    target.unlink()
    os.mkfifo(target)
    timed_refusal(scene, lay, "not a regular file", "the image's")


def test_config_linked_to_host_file(scene, images, tmp_path):  # noqa: F811
    # a config blob linked to a host file (with a decoy) is refused, not read through the link
    lay = it.copy_layout(images.small, tmp_path / "evil-layout")
    cfg = it.oci_manifest(lay)["config"]["digest"]
    host = tmp_path / "host-config"
    os.rename(it.blob(lay, cfg), host)
    link_blob(lay, cfg, host)
    timed_refusal(scene, lay, "symlink", "config")


def test_docker_layer_linked_to_host_file(scene, images, tmp_path):  # noqa: F811
    # a docker archive's layer file as a symlink to the host's file, with a decoy
    token = ("HOST-FILE-" + secrets.token_hex(8)).encode()
    layer = it.tar_bytes([reg("host-marker", token + b"\n")])
    src = docker_with_layers(images.docker_base, tmp_path / "base.tar", [layer])
    host = tmp_path / "host-layer.json"  # a decoy whose name a docker archive may hold
    host.write_bytes(layer)
    name = hashlib.sha256(layer).hexdigest() + ".tar"
    with tarfile.open(src) as tin:
        members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()]
    members = [(m, d) for m, d in members if m.name != name]
    path = write_tar(tmp_path / "evil-docker.tar",
                     members + [sym(name, str(host)), reg(str(host).lstrip("/"), b"decoy\n")])
    timed_refusal(scene, path, "symlink", "layer")
    assert not store_holds(scene.store, token), "the host's file is in the store"


def test_killed_import_leaves_nothing_prune_keeps(empty_store, images, tmp_path):  # noqa: F811
    # an import killed while it unpacks an archive leaves tmp/unpack-*: its lock is gone
    # with it, and the next import or `diyc image prune` removes it at once
    s = empty_store
    big = it.copy_layout(images.small, tmp_path / "big")
    it.add_layer(big, it.tar_bytes([reg("big", bytes(128 << 20))]), compress=False)
    archive = tmp_path / "big.tar.gz"
    dt.assert_ok(dt.run(["tar", "-C", big, "-czf", archive, "."], timeout=120))
    tmp = s.data / "tmp"
    with s.popen("image", "import", archive, "big") as p:
        dt.wait_until(lambda: tmp.exists() and any(n.startswith("unpack-") for n in os.listdir(tmp)),
                      timeout=60, interval=0.01, what="the import to unpack")
        p.kill()
    assert [n for n in os.listdir(tmp) if n.startswith("unpack-")], "the killed import should leave its files"
    dt.assert_ok(s.diyc("image", "prune"))
    assert not [n for n in os.listdir(tmp) if n.startswith("unpack-")], "prune left the killed import's files"
    dt.wait_until(lambda: not [p for p in s.layers() if p.name.startswith(".")] or
                  s.diyc("image", "prune").returncode != 0, timeout=10, what="the temporary layer to go")


OVERLAY_XATTRS = {"user.overlay.metacopy": "", "user.overlay.redirect": "/elsewhere",
                  "user.overlay.opaque": "y", "user.overlay.whiteout": "y", "user.overlay.origin": "x",
                  "trusted.overlay.metacopy": "", "trusted.overlay.opaque": "y"}


def test_overlay_xattrs_in_a_layer_are_dropped(private_store, images, tmp_path):  # noqa: F811
    # overlay honours its own xattrs on a lower layer's files: a metacopy file gave EPERM in
    # the container, a redirect or opaque mark could hide or point at other files
    s = private_store
    ti, data = reg("meta/file", b"readable\n")
    ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in OVERLAY_XATTRS.items()}
    ti.pax_headers["SCHILY.xattr.user.kept"] = "yes"
    d, _ = dirent("meta/dir")
    d.pax_headers = {"SCHILY.xattr.user.overlay.opaque": "y"}
    lay = oci_with_layers(images, tmp_path / "xattr-layout", [it.tar_bytes([dirent("meta"), (d, None), (ti, data)])])
    dt.assert_ok(s.diyc("image", "import", lay, "xattrs", timeout=IMPORT_TIMEOUT))
    res = dt.assert_ok(s.diyc("run", "--rm", "--net=none", "xattrs", "cat", "/meta/file"))
    assert res.stdout == "readable\n", dt.describe(res)
    diff = [p / "diff" / "meta" for p in s.layers() if (p / "diff" / "meta").exists()]
    assert len(diff) == 1, diff
    for p in (diff[0] / "file", diff[0] / "dir"):
        names = os.listxattr(p, follow_symlinks=False)
        assert not [n for n in names if ".overlay." in n], f"{p} kept overlay xattrs: {names}"
    assert "user.kept" in os.listxattr(diff[0] / "file", follow_symlinks=False), "other xattrs stay"
