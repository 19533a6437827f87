# SPDX-License-Identifier: MIT
# Image layers that hold device nodes, as real images do (debootstrap makes /dev/console,
# /dev/null...): in an OCI layout, an OCI archive and a docker archive. Rootless, the
# nodes are left out with one warning for the whole import; as root they are kept
# (tests/root/test_root_image_devices.py runs these tests as root). Either way the image
# runs and keeps its digests, its diff_ids and its id (the digest of its config, which is
# the id podman gives the same archive), and `image export` gives the nodes back.
#
# The images are written here byte by byte (no tool needed): a busybox layer and a layer
# with dev/console (c 5 1), dev/null (c 1 3), dev/sda (b 8 0) and a file.
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path

import pytest

import diyctest as dt

TIMEOUT = 120
DEVICES = {"dev/console": (stat.S_IFCHR, 5, 1), "dev/null": (stat.S_IFCHR, 1, 3),
           "dev/sda": (stat.S_IFBLK, 8, 0)}
WARNING = "diyc: warning: skipped 3 device node(s) of the image"


def _ti(name, kind, data=None, mode=0o644, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.linkname = kind, mode, link
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mtime = 1700000000
    if data is not None:
        ti.size = len(data)
    return ti, data


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for ti, data in entries:
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def busybox_layer():
    busybox = Path(os.environ.get("BUSYBOX", "/bin/busybox")).read_bytes()
    entries = [_ti(d, tarfile.DIRTYPE, mode=0o755) for d in ("bin", "etc", "proc", "sys", "dev", "tmp")]
    entries.append(_ti("bin/busybox", tarfile.REGTYPE, busybox, 0o755))
    entries += [_ti(f"bin/{a}", tarfile.SYMTYPE, link="busybox", mode=0o777)
                for a in ("sh", "ls", "cat", "stat", "echo", "test")]
    entries.append(_ti("etc/passwd", tarfile.REGTYPE, b"root:x:0:0:root:/root:/bin/sh\n"))
    entries.append(_ti("etc/group", tarfile.REGTYPE, b"root:x:0:\n"))
    return tar_bytes(entries)


def device_layer():
    entries = [_ti("dev", tarfile.DIRTYPE, mode=0o755)]
    for path, (kind, major, minor) in DEVICES.items():
        ti, _ = _ti(path, tarfile.CHRTYPE if kind == stat.S_IFCHR else tarfile.BLKTYPE, mode=0o620)
        ti.devmajor, ti.devminor = major, minor
        entries.append((ti, None))
    entries.append(_ti("hello", tarfile.REGTYPE, b"hello from a layer with devices\n"))
    return tar_bytes(entries)


class Image:
    """The two layers and the config that names their diff_ids; written in each format."""

    def __init__(self):
        self.layers = [busybox_layer(), device_layer()]
        self.diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in self.layers]
        self.config = json.dumps({
            "architecture": "amd64" if os.uname().machine == "x86_64" else "arm64", "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
        }, sort_keys=True).encode()
        self.id = hashlib.sha256(self.config).hexdigest()

    def oci_layout(self, dst):
        dst = Path(dst)
        blobs = dst / "blobs" / "sha256"
        blobs.mkdir(parents=True)

        def blob(data, media):
            h = hashlib.sha256(data).hexdigest()
            (blobs / h).write_bytes(data)
            return {"mediaType": media, "digest": "sha256:" + h, "size": len(data)}

        layers = [blob(gzip.compress(t, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
                  for t in self.layers]
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": blob(self.config, "application/vnd.oci.image.config.v1+json"),
                               "layers": layers}).encode()
        desc = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
        desc["annotations"] = {"org.opencontainers.image.ref.name": "devices"}
        (dst / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [desc]}))
        (dst / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.layer_digests = [d["digest"] for d in layers]
        return dst

    def oci_archive(self, dst):
        lay = self.oci_layout(Path(str(dst) + ".d"))
        res = dt.run(["tar", "-C", lay, "-cf", dst, "."])
        assert res.returncode == 0, dt.describe(res)
        shutil.rmtree(lay)
        return Path(dst)

    def docker_archive(self, dst):
        entries, names = [], []
        for t in self.layers:
            name = hashlib.sha256(t).hexdigest() + "/layer.tar"
            entries += [_ti(os.path.dirname(name), tarfile.DIRTYPE, mode=0o755), _ti(name, tarfile.REGTYPE, t)]
            names.append(name)
        entries.append(_ti(f"{self.id}.json", tarfile.REGTYPE, self.config))
        manifest = [{"Config": f"{self.id}.json", "RepoTags": ["devices:latest"], "Layers": names}]
        entries.append(_ti("manifest.json", tarfile.REGTYPE, json.dumps(manifest).encode()))
        Path(dst).write_bytes(tar_bytes(entries))
        self.layer_digests = ["sha256:" + hashlib.sha256(t).hexdigest() for t in self.layers]
        return Path(dst)


FORMATS = ["oci-layout", "oci-archive", "docker-archive"]


def make(fmt, tmp):
    Path(tmp).mkdir(parents=True, exist_ok=True)
    img = Image()
    path = getattr(img, fmt.replace("-", "_"))(Path(tmp) / f"devices-{fmt}" if fmt == "oci-layout"
                                                else Path(tmp) / f"devices-{fmt}.tar")
    return img, path


def exported_layers(path):
    """The uncompressed layer tars of an OCI archive that diyc exported."""
    with tarfile.open(path) as tar:
        files = {m.name.lstrip("./"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    index = json.loads(files["index.json"])
    manifest = json.loads(files["blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]])
    out = []
    for d in manifest["layers"]:
        data = files["blobs/sha256/" + d["digest"].split(":")[1]]
        out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return out


def check_import(store, fmt, tmp, root):
    """Imports the image in FMT: diyc's id is the config's digest, the stored diff_ids are
    the config's, one warning rootless and none as root; then runs it and exports it."""
    img, path = make(fmt, tmp)
    res = dt.assert_ok(store.diyc("image", "import", path, "devices:" + fmt.replace("-", ""), timeout=TIMEOUT))
    assert res.stdout.strip() == img.id, f"the image id is the digest of its config\n{dt.describe(res)}"
    warnings = [ln for ln in res.stderr.splitlines() if ln]
    if root:
        assert warnings == [], dt.describe(res)
    else:
        assert len(warnings) == 1 and warnings[0].startswith(WARNING), dt.describe(res)
    ref = "devices:" + fmt.replace("-", "")
    info = dt.json_out(store.diyc("image", "inspect", ref))[0]
    assert info["RootFS"]["Layers"] == img.diff_ids, info["RootFS"]
    cfg = (store.data / "images" / f"{img.id}.config").read_bytes()
    assert cfg == img.config, "the config is stored byte for byte"
    stored = store.data / "layers" / img.diff_ids[1].split(":")[1] / "diff"
    for p, (kind, major, minor) in DEVICES.items():
        if root:
            st = os.lstat(stored / p)
            assert stat.S_IFMT(st.st_mode) == kind and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, minor), p
        else:
            assert not os.path.lexists(stored / p), f"{p} made in a rootless store"
    # it runs; the container's /dev is diyc's own, whatever the layer holds
    res = dt.assert_ok(store.diyc("run", "--rm", "--net=none", ref, "sh", "-c",
                                  "cat /hello; test -e /dev/sda && echo sda; stat -c '%t %T' /dev/null"))
    assert res.stdout == "hello from a layer with devices\n1 3\n", dt.describe(res)
    # the export gives the same layers back, nodes included
    out = Path(tmp) / f"export-{fmt}.tar"
    dt.assert_ok(store.diyc("image", "export", "-o", out, ref, timeout=TIMEOUT))
    layers = exported_layers(out)
    assert ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers] == img.diff_ids
    with tarfile.open(fileobj=io.BytesIO(layers[1])) as tar:
        nodes = {m.name: (m.devmajor, m.devminor) for m in tar.getmembers() if m.ischr() or m.isblk()}
    assert nodes == {p: (ma, mi) for p, (_, ma, mi) in DEVICES.items()}
    dt.assert_ok(store.diyc("image", "rm", ref, timeout=TIMEOUT))
    return img


@pytest.mark.parametrize("fmt", FORMATS)
def test_layer_with_device_nodes(empty_store, tmp_path, fmt):
    check_import(empty_store, fmt, tmp_path, root=False)


def test_layer_with_device_nodes_same_id_in_every_format(empty_store, tmp_path):
    # one image, three formats: one id, one set of layers in the store
    ids = set()
    for fmt in FORMATS:
        img, path = make(fmt, tmp_path / fmt)
        res = dt.assert_ok(empty_store.diyc("image", "import", path, f"same:{fmt}", timeout=TIMEOUT))
        ids.add(res.stdout.strip())
    assert ids == {Image().id}
    assert sorted(p.name for p in empty_store.layers()) == sorted(d.split(":")[1] for d in Image().diff_ids)


@pytest.mark.parametrize("fmt", ["oci-archive", "docker-archive"])
def test_layer_with_device_nodes_id_is_podmans(empty_store, tmp_path, fmt):
    # podman (rootless too) loads the same archive under the same id
    if not dt.which("podman"):
        pytest.skip("podman is not installed (Debian package podman): no id to compare with")
    img, path = make(fmt, tmp_path)
    got = dt.assert_ok(empty_store.diyc("image", "import", path, "devices", timeout=TIMEOUT)).stdout.strip()
    # podman takes a runroot of at most 50 characters
    run = Path(tempfile.mkdtemp(prefix="pm", dir=os.environ.get("TMPDIR", "/tmp")))
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), HOME=str(tmp_path))
    podman = ["podman", "--root", tmp_path / "podman-root", "--runroot", run / "root", "--storage-driver", "vfs",
              "--events-backend", "none", "--cgroup-manager", "cgroupfs"]
    try:
        dt.assert_ok(dt.run(podman + ["load", "-q", "-i", path], env=env, timeout=TIMEOUT))
        res = dt.assert_ok(dt.run(podman + ["images", "--no-trunc", "--format", "{{.ID}}"], env=env, timeout=TIMEOUT))
    finally:
        # podman's store holds files of subordinate ids: removed by podman, in its namespace
        dt.run(podman + ["unshare", "rm", "-rf", tmp_path / "podman-root", run / "root"], env=env, timeout=TIMEOUT)
        # rootless podman leaves a process that holds its user namespace
        pause = run / "libpod" / "tmp" / "pause.pid"
        if pause.exists():
            try:
                os.kill(int(pause.read_text()), 9)
            except (ValueError, ProcessLookupError):
                pass
        shutil.rmtree(run, ignore_errors=True)
    assert res.stdout.split() == ["sha256:" + img.id] and got == img.id, (got, res.stdout)
