# SPDX-License-Identifier: MIT
"""Test images in the formats other tools write, made once per session with real tools:
umoci writes OCI image layouts (several layers, whiteouts and an opaque directory, files
owned by uid 1000 and 65534, setuid and setgid bits, symlinks, hard links), skopeo turns
them into OCI archives, docker archives and layouts with zstd or uncompressed layers, tar
makes an OCI archive of a whole layout.

umoci runs as root of a user namespace that maps the caller's subordinate range (as
`unshare --map-users` does in tests/run-all's cleanup), so that it can chown files to 1000
and 65534 and records those owners in the layers. The helpers at the end read what the
tools wrote (image ids, diff ids, refs) for the tests to compare with; the hostile tests
also use them to derive broken images from a valid layout."""

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

import diyctest as dt

BUILD_TIMEOUT = 600

# Files the images hold (what the tests read back inside a container).
HELLO = "hello\n"
CHANGED = "changed\n"

# Runs as root of the user namespace. $1: work dir (bundles, removed at the end), $2: output.
BUILD_SCRIPT = r'''
set -eu
W=$1
O=$2
BUSYBOX=${BUSYBOX:-/bin/busybox}
export TMPDIR="$O/tmp" HOME="$O/home"
mkdir -p "$TMPDIR" "$HOME" "$W"
trap 'rm -rf "$W"' EXIT

# a root filesystem with busybox, as tools/mkimage-busybox makes it
busybox_rootfs() {
  r=$1
  mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/etc" "$r/root" "$r/tmp" "$r/proc" \
           "$r/sys" "$r/dev" "$r/var/tmp" "$r/home"
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 700 "$r/root"
  cp "$BUSYBOX" "$r/bin/busybox"
  chmod 755 "$r/bin/busybox"
  for applet in $("$BUSYBOX" --list-full); do
    dst=$r/$applet
    [ -e "$dst" ] && continue
    case "$applet" in
      bin/*) ln -s busybox "$dst" ;;
      sbin/*) ln -s ../bin/busybox "$dst" ;;
      usr/bin/*|usr/sbin/*) ln -s ../../bin/busybox "$dst" ;;
    esac
  done
  printf '%s\n' root:x:0:0:root:/root:/bin/sh user:x:1000:1000::/home/user:/bin/sh \
    nobody:x:65534:65534:nobody:/nonexistent:/bin/false > "$r/etc/passwd"
  printf 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n' > "$r/etc/group"
  touch "$r/etc/hostname" "$r/etc/hosts" "$r/etc/resolv.conf"
  echo "removed by a later layer" > "$r/etc/removeme"
}

# -- layout: base (2 layers), other (base + 1), derived (base + 2, whiteouts, opaque dir)
L=$O/layout
umoci init --layout "$L"
umoci new --image "$L:base"
umoci unpack --image "$L:base" "$W/b0"
busybox_rootfs "$W/b0/rootfs"
umoci repack --image "$L:base" "$W/b0"

umoci unpack --image "$L:base" "$W/b1"
r=$W/b1/rootfs
mkdir -p "$r/data/dir/sub" "$r/opq/keepdir" "$r/home/user" "$r/data/sticky" "$r/usr/local/bin"
echo hello > "$r/data/hello"
echo gone > "$r/data/gone"
echo a > "$r/data/dir/a"
echo b > "$r/data/dir/sub/b"
echo old1 > "$r/opq/old1"
echo old2 > "$r/opq/keepdir/old2"
echo user > "$r/data/user"; chown 1000:1000 "$r/data/user"; chmod 640 "$r/data/user"
echo nobody > "$r/data/nobody"; chown 65534:65534 "$r/data/nobody"; chmod 604 "$r/data/nobody"
chown 1000:1000 "$r/home/user"; chmod 750 "$r/home/user"
echo mine > "$r/home/user/file"; chown 1000:1000 "$r/home/user/file"
printf '#!/bin/sh\necho suid\n' > "$r/usr/local/bin/suid"; chmod 4755 "$r/usr/local/bin/suid"
printf '#!/bin/sh\necho sgid\n' > "$r/usr/local/bin/sgid"; chown 0:65534 "$r/usr/local/bin/sgid"
chmod 2755 "$r/usr/local/bin/sgid"
printf '#!/bin/sh\necho usersuid\n' > "$r/usr/local/bin/usersuid"
chown 1000:1000 "$r/usr/local/bin/usersuid"; chmod 4750 "$r/usr/local/bin/usersuid"
chmod 1777 "$r/data/sticky"
echo linked > "$r/data/hl-src"
ln "$r/data/hl-src" "$r/data/hl-dst"
ln -s hello "$r/data/rel-link"
ln -s /data/hello "$r/data/abs-link"
umoci repack --image "$L:base" "$W/b1"

umoci unpack --image "$L:base" "$W/b2"
echo other > "$W/b2/rootfs/data/other"
umoci repack --image "$L:other" "$W/b2"

umoci unpack --image "$L:base" "$W/b3"
r=$W/b3/rootfs
rm "$r/data/gone" "$r/etc/removeme"
rm -r "$r/data/dir"
echo changed > "$r/data/hello"
echo new > "$r/data/new"
umoci repack --image "$L:derived" "$W/b3"
# an opaque directory: the layer has opq/.wh..wh..opq (umoci 0.4.7's `insert --opaque`
# writes a truncated tar, so tar makes the layer and umoci adds it)
mkdir -p "$W/opqsrc/opq"
echo new-in-opq > "$W/opqsrc/opq/new-in-opq"
: > "$W/opqsrc/opq/.wh..wh..opq"
tar -C "$W/opqsrc" --owner=0 --group=0 --numeric-owner -cf "$W/opq.tar" opq
umoci raw add-layer --image "$L:derived" "$W/opq.tar"
umoci gc --layout "$L"

# -- multi: the same files as amd64 (ref amd) and arm64 (ref arm)
M=$O/multi
umoci init --layout "$M"
umoci new --image "$M:amd"
umoci unpack --image "$M:amd" "$W/m"
busybox_rootfs "$W/m/rootfs"
umoci repack --image "$M:amd" "$W/m"
umoci config --image "$M:amd" --tag arm --architecture arm64
umoci gc --layout "$M"

# -- what skopeo writes
S="skopeo --insecure-policy copy -q"
$S "oci:$M:amd" "oci:$O/small:small"
$S "oci:$L:derived" "oci-archive:$O/derived-oci.tar"
$S "oci:$L:derived" "oci-archive:$O/derived-oci-ref.tar:derived-ref"
$S --additional-tag dockimg:v2 "oci:$L:derived" "docker-archive:$O/derived-docker.tar:dockimg:v1"
$S "oci:$L:base" "docker-archive:$O/base-docker.tar:dockbase:latest"
$S --dest-compress-format zstd "oci:$L:derived" "oci:$O/zstd:derived"
$S --dest-decompress "oci:$L:derived" "dir:$W/dir"
$S --dest-oci-accept-uncompressed-layers "dir:$W/dir" "oci:$O/plain:derived"
rm -rf "$TMPDIR" "$HOME"
'''


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def blob(layout, digest):
    return Path(layout) / "blobs" / "sha256" / digest.split(":", 1)[1]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def ref_of(desc):
    return (desc.get("annotations") or {}).get("org.opencontainers.image.ref.name")


def oci_descriptor(layout, ref=None):
    """The descriptor of index.json naming REF (or the only one)."""
    descs = read_json(Path(layout) / "index.json")["manifests"]
    if ref is None:
        assert len(descs) == 1, f"{layout} has several images: {[ref_of(d) for d in descs]}"
        return descs[0]
    found = [d for d in descs if ref_of(d) == ref]
    assert len(found) == 1, f"{layout} has no single image {ref!r}"
    return found[0]


def oci_manifest(layout, ref=None):
    return read_json(blob(layout, oci_descriptor(layout, ref)["digest"]))


def oci_config(layout, ref=None):
    return read_json(blob(layout, oci_manifest(layout, ref)["config"]["digest"]))


def oci_image_id(layout, ref=None):
    """The image id diyc must print: the hex digest of the config blob."""
    return oci_manifest(layout, ref)["config"]["digest"].split(":", 1)[1]


def oci_diff_ids(layout, ref=None):
    return [d.split(":", 1)[1] for d in oci_config(layout, ref)["rootfs"]["diff_ids"]]


def docker_manifest(archive):
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


def docker_image_id(archive, index=0):
    """docker's image id: the sha256 of the config file an archive's manifest.json names."""
    with tarfile.open(archive) as tar:
        name = json.load(tar.extractfile("manifest.json"))[index]["Config"]
        return hashlib.sha256(tar.extractfile(name).read()).hexdigest()


def docker_diff_ids(archive, index=0):
    with tarfile.open(archive) as tar:
        name = json.load(tar.extractfile("manifest.json"))[index]["Config"]
        config = json.load(tar.extractfile(name))
    return [d.split(":", 1)[1] for d in config["rootfs"]["diff_ids"]]


class ImageSet:
    """Paths of the images built for the session (read-only for the tests: copy to change)."""

    def __init__(self, out):
        out = Path(out)
        self.out = out
        self.layout = out / "layout"              # refs base, other, derived
        self.multi = out / "multi"                # refs amd (linux/amd64), arm (linux/arm64)
        self.multi_archive = out / "multi-oci.tar"  # the multi layout as a tar (an OCI archive)
        self.small = out / "small"                # one busybox layer, ref small (written by skopeo)
        self.oci_archive = out / "derived-oci.tar"          # derived, no ref annotation
        self.oci_archive_ref = out / "derived-oci-ref.tar"  # derived, ref derived-ref
        self.docker_archive = out / "derived-docker.tar"    # derived, RepoTags dockimg:v1, dockimg:v2
        self.docker_base = out / "base-docker.tar"          # base, RepoTag dockbase:latest
        self.zstd = out / "zstd"                  # derived with zstd layers (ref derived)
        self.plain = out / "plain"                # derived with uncompressed layers (ref derived)


def _userns_prefix(subids):
    (us, uc), (gs, gc) = subids["uid"][0], subids["gid"][0]
    if uc < 65534 or gc < 65534:
        pytest.skip("the first subordinate range is smaller than 65534 ids: cannot make files owned by 65534")
    n = min(uc, gc, 65536)
    return ["unshare", "--map-root-user", f"--map-users={us},1,{n}", f"--map-groups={gs},1,{n}"]


def build(out, subids):
    for tool in ("umoci", "skopeo", "unshare", "tar"):
        if not dt.which(tool):
            pytest.skip(f"{tool} is not installed (Debian packages umoci, skopeo, util-linux, tar)")
    out = Path(out)
    work = out / "work"
    res = dt.run([*_userns_prefix(subids), "sh", "-c", BUILD_SCRIPT, "build-images", work, out],
                 timeout=BUILD_TIMEOUT)
    assert res.returncode == 0, "building the test images with umoci and skopeo failed\n" + dt.describe(res)
    imgs = ImageSet(out)
    # umoci writes no platform in index.json: add the one each image's config says, as
    # multi-platform indexes have (the only hand edit of a valid image)
    index_path = imgs.multi / "index.json"
    index = read_json(index_path)
    for d in index["manifests"]:
        cfg = read_json(blob(imgs.multi, read_json(blob(imgs.multi, d["digest"]))["config"]["digest"]))
        d["platform"] = {"architecture": cfg["architecture"], "os": cfg["os"]}
    index_path.write_text(json.dumps(index))
    res = dt.run(["tar", "-C", imgs.multi, "-cf", imgs.multi_archive, "."])
    assert res.returncode == 0, dt.describe(res)
    check_built(imgs)
    return imgs


def check_built(imgs):
    """The tools made what the tests rely on (a changed tool fails here, not in diyc's tests)."""
    assert len(oci_diff_ids(imgs.layout, "base")) == 2
    assert oci_diff_ids(imgs.layout, "other")[:2] == oci_diff_ids(imgs.layout, "base")
    derived = oci_diff_ids(imgs.layout, "derived")
    assert len(derived) == 4 and derived[:2] == oci_diff_ids(imgs.layout, "base")
    names = layer_members(imgs.layout, "derived", 2) + layer_members(imgs.layout, "derived", 3)
    for wh in ("data/.wh.gone", "data/.wh.dir", "etc/.wh.removeme", "opq/.wh..wh..opq"):
        assert wh in names, f"umoci wrote no {wh}: {names}"
    owners = {m.name.lstrip("./"): (m.uid, m.gid) for m in layer_tarinfos(imgs.layout, "base", 1)}
    assert owners["data/user"] == (1000, 1000) and owners["data/nobody"] == (65534, 65534), owners
    assert docker_image_id(imgs.docker_archive) == oci_image_id(imgs.layout, "derived")
    assert docker_manifest(imgs.docker_archive)[0]["RepoTags"][0].endswith("dockimg:v1")
    assert {ref_of(d) for d in read_json(imgs.multi / "index.json")["manifests"]} == {"amd", "arm"}
    for layout, media in ((imgs.zstd, "tar+zstd"), (imgs.plain, "tar")):
        assert oci_image_id(layout) == oci_image_id(imgs.layout, "derived")
        types = {x["mediaType"] for x in oci_manifest(layout)["layers"]}
        assert types == {"application/vnd.oci.image.layer.v1." + media}, types


def layer_tarinfos(layout, ref, index):
    desc = oci_manifest(layout, ref)["layers"][index]
    with tarfile.open(blob(layout, desc["digest"]), "r:*") as tar:
        return tar.getmembers()


def layer_members(layout, ref, index):
    return [m.name.lstrip("./") if m.name.startswith("./") else m.name
            for m in layer_tarinfos(layout, ref, index)]


_built = {}


@pytest.fixture(scope="session")
def images(subids, tmp_path_factory):
    """The test images (an ImageSet), built once per session (the modules that import this
    fixture each get a session fixture of their own: they share what the first one built)."""
    key = str(tmp_path_factory.getbasetemp())
    if key not in _built:
        _built[key] = build(tmp_path_factory.mktemp("oci-images"), subids)
    return _built[key]


# -- Deriving other images from a valid layout (for the hostile tests) ---------------------

def write_blob(layout, data):
    """Adds DATA as a blob of LAYOUT; returns its descriptor fields (digest, size)."""
    digest = hashlib.sha256(data).hexdigest()
    path = Path(layout) / "blobs" / "sha256" / digest
    path.write_bytes(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def copy_layout(src, dst):
    shutil.copytree(src, dst, symlinks=True)
    for dirpath, dirnames, filenames in os.walk(dst):
        for n in dirnames:
            os.chmod(os.path.join(dirpath, n), 0o755)
        for n in filenames:
            os.chmod(os.path.join(dirpath, n), 0o644)
    return Path(dst)


def add_layer(layout, tar_bytes, ref=None, compress=True, diff_id=None):
    """Appends a layer (TAR_BYTES, gzipped unless not COMPRESS) to the image REF of LAYOUT,
    rewriting the config, the manifest and index.json with correct digests (DIFF_ID, when
    given, replaces the true one). Returns the layer's descriptor."""
    layout = Path(layout)
    index = read_json(layout / "index.json")
    descs = index["manifests"]
    pos = 0 if ref is None else [ref_of(d) for d in descs].index(ref)
    manifest = read_json(blob(layout, descs[pos]["digest"]))
    config = read_json(blob(layout, manifest["config"]["digest"]))
    data = gzip.compress(tar_bytes, mtime=0) if compress else tar_bytes
    layer = dict(mediaType="application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else ""),
                 **write_blob(layout, data))
    config["rootfs"]["diff_ids"].append(diff_id or "sha256:" + hashlib.sha256(tar_bytes).hexdigest())
    manifest["config"].update(write_blob(layout, json.dumps(config).encode()))
    manifest["layers"].append(layer)
    descs[pos].update(write_blob(layout, json.dumps(manifest).encode()))
    (layout / "index.json").write_text(json.dumps(index))
    return layer


def rewrite_manifest(layout, edit, ref=None):
    """Calls EDIT(manifest, config) and stores both again with correct digests (the
    manifest keeps a config digest EDIT set)."""
    layout = Path(layout)
    index = read_json(layout / "index.json")
    descs = index["manifests"]
    pos = 0 if ref is None else [ref_of(d) for d in descs].index(ref)
    manifest = read_json(blob(layout, descs[pos]["digest"]))
    config_digest = manifest["config"]["digest"]
    config = read_json(blob(layout, config_digest))
    edit(manifest, config)
    stored = write_blob(layout, json.dumps(config).encode())
    if manifest["config"]["digest"] == config_digest:  # unless EDIT changed it
        manifest["config"].update(stored)
    descs[pos].update(write_blob(layout, json.dumps(manifest).encode()))
    (layout / "index.json").write_text(json.dumps(index))
    return manifest


def tar_bytes(entries):
    """An uncompressed tar of ENTRIES: (TarInfo, bytes or None) pairs, owned by root."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for ti, data in entries:
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mtime = 1700000000
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def tar_dir(src, dst):
    """An OCI archive of the layout SRC, made by tar."""
    res = dt.run(["tar", "-C", src, "-cf", dst, "."])
    assert res.returncode == 0, dt.describe(res)
    return Path(dst)
