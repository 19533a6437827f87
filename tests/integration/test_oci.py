# SPDX-License-Identifier: MIT
# Importing images in the formats other tools write: OCI image layouts (umoci), OCI archives
# and docker archives (skopeo), a tar of a whole layout. The image id is the digest of the
# config blob; layers are stored once under their diff id and shared between images; names
# come from the command line, a docker archive's RepoTags or nothing (`<none>`); --ref and
# --platform select one image of several; whiteouts, opaque directories, owners, modes and
# links of the layers are what the container sees.
import os
import re
import subprocess

import pytest

import diyctest as dt
import imagetools as it
from imagetools import images  # noqa: F401  (the session fixture)

IMPORT_TIMEOUT = 120


def import_ok(store, *args):
    """`diyc image import ARGS...`; returns the id it printed (64 lowercase hex digits)."""
    res = dt.assert_ok(store.diyc("image", "import", *args, timeout=IMPORT_TIMEOUT))
    out = res.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", out) and res.stdout == out + "\n", \
        "import should print the image id (64 lowercase hex digits) and nothing else\n" + dt.describe(res)
    return out


def ls_rows(store):
    res = dt.assert_ok(store.diyc("image", "ls"))
    lines = res.stdout.splitlines()
    assert lines and "TAG" in lines[0], "`image ls` should start with a header line\n" + dt.describe(res)
    return [line.split() for line in lines[1:]]


def rows_of(store, image_id):
    return [r for r in ls_rows(store) if len(r) >= 3 and image_id.startswith(r[2])]


def layer_names(store):
    return {p.name for p in store.layers()}


def image_files(store):
    return sorted(p.name for p in (store.data / "images").glob("*.json"))


def check_layers(store, diff_ids):
    for d in diff_ids:
        assert (store.data / "layers" / d / "diff").is_dir(), \
            f"layer {d} is not stored as {store.data}/layers/{d}/diff: {sorted(layer_names(store))}"


def sh(store, ref, script):
    res = dt.assert_ok(store.diyc("run", "--rm", ref, "/bin/sh", "-c", script))
    return res.stdout


# The three forms of the image `derived`: (path, args, the id's source)
FORMATS = ["oci-layout", "oci-archive", "docker-archive"]


def derived_source(images, fmt):  # noqa: F811
    if fmt == "oci-layout":
        return images.layout, ["--ref", "derived"]
    if fmt == "oci-archive":
        return images.oci_archive, []
    return images.docker_archive, []


# -- formats and ids -------------------------------------------------------------------


def test_import_oci_layout(empty_store, images):  # noqa: F811
    s = empty_store
    image_id = import_ok(s, "--ref", "derived", images.layout, "ocilay:v1")
    assert image_id == it.oci_image_id(images.layout, "derived"), "the id is the digest of the config blob"
    diff_ids = it.oci_diff_ids(images.layout, "derived")
    check_layers(s, diff_ids)
    assert layer_names(s) == set(diff_ids), "the store holds exactly the image's layers, by diff id"
    assert [r[:2] for r in rows_of(s, image_id)] == [["ocilay", "v1"]]
    assert sh(s, "ocilay:v1", "cat /data/hello /data/new") == it.CHANGED + "new\n"


@pytest.mark.parametrize("kind", ["zstd", "plain"])
def test_import_layer_compressions(empty_store, images, kind):  # noqa: F811
    # the same image with zstd and with uncompressed layers (skopeo): the same id and diff ids
    s = empty_store
    layout = images.zstd if kind == "zstd" else images.plain
    assert import_ok(s, layout, "comp") == it.oci_image_id(images.layout, "derived")
    assert layer_names(s) == set(it.oci_diff_ids(images.layout, "derived"))
    assert sh(s, "comp", "cat /data/hello; ls -A /opq; stat -c %u /data/user") == it.CHANGED + "new-in-opq\n1000\n"


def test_import_leaves_the_source_alone(empty_store, images):  # noqa: F811
    s = empty_store
    sources = [images.layout, images.oci_archive, images.docker_archive]
    before = [(dt.tree(p), os.stat(p).st_mtime_ns) for p in sources]
    import_ok(s, "--ref", "derived", images.layout, "src1")
    import_ok(s, images.oci_archive, "src2")
    import_ok(s, images.docker_archive, "src3")
    assert [(dt.tree(p), os.stat(p).st_mtime_ns) for p in sources] == before, "the import changed its source"


def test_import_oci_archive(empty_store, images):  # noqa: F811
    s = empty_store
    image_id = import_ok(s, images.oci_archive, "ociarch")
    assert image_id == it.oci_image_id(images.layout, "derived")
    check_layers(s, it.oci_diff_ids(images.layout, "derived"))
    assert layer_names(s) == set(it.oci_diff_ids(images.layout, "derived"))
    assert sh(s, "ociarch", "cat /data/hello") == it.CHANGED


def test_import_oci_archive_with_ref(empty_store, images):  # noqa: F811
    s = empty_store
    image_id = import_ok(s, "--ref", "derived-ref", images.oci_archive_ref, "ociref:1")
    assert image_id == it.oci_image_id(images.layout, "derived")
    assert sh(s, "ociref:1", "cat /data/new") == "new\n"


def test_import_oci_archive_with_ref_without_flag(empty_store, images):  # noqa: F811
    # one image in the index: no --ref needed even when it has a ref name
    s = empty_store
    assert import_ok(s, images.oci_archive_ref, "onlyone") == it.oci_image_id(images.layout, "derived")


def test_import_docker_archive(empty_store, images):  # noqa: F811
    s = empty_store
    image_id = import_ok(s, images.docker_archive)
    assert image_id == it.docker_image_id(images.docker_archive), "the id is docker's: the config's sha256"
    diff_ids = it.docker_diff_ids(images.docker_archive)
    check_layers(s, diff_ids)
    assert layer_names(s) == set(diff_ids)
    # named after the first RepoTag (docker.io/library/dockimg:v1, or its short form)
    rows = rows_of(s, image_id)
    assert len(rows) == 1 and rows[0][0].endswith("dockimg") and rows[0][1] == "v1", \
        f"the image should be named after the first RepoTag: {rows}"
    assert sh(s, f"{rows[0][0]}:v1", "cat /data/hello") == it.CHANGED


def test_import_docker_archive_ref(empty_store, images):  # noqa: F811
    s = empty_store
    second = it.docker_manifest(images.docker_archive)[0]["RepoTags"][1]
    image_id = import_ok(s, "--ref", second, images.docker_archive, "dref")
    assert image_id == it.docker_image_id(images.docker_archive)


def test_import_oci_layout_with_gzip_and_docker_layers_share(empty_store, images):  # noqa: F811
    # the same image from a layout (gzip layers), an OCI archive and a docker archive
    # (uncompressed layers): one id, one set of layers, one image record
    s = empty_store
    ids = {import_ok(s, "--ref", "derived", images.layout, "a"),
           import_ok(s, images.oci_archive, "b"),
           import_ok(s, images.docker_archive, "c")}
    assert ids == {it.oci_image_id(images.layout, "derived")}
    assert layer_names(s) == set(it.oci_diff_ids(images.layout, "derived"))
    assert len(image_files(s)) == 1, f"one image, several names: {image_files(s)}"
    names = {tuple(r[:2]) for r in ls_rows(s)}
    assert {("a", "latest"), ("b", "latest"), ("c", "latest")} <= names, names


def test_import_twice_same_id(empty_store, images):  # noqa: F811
    s = empty_store
    first = import_ok(s, "--ref", "base", images.layout, "twice")
    layers, files = layer_names(s), image_files(s)
    before = s.snapshot()
    second = import_ok(s, "--ref", "base", images.layout, "twice")
    assert first == second == it.oci_image_id(images.layout, "base")
    assert layer_names(s) == layers and image_files(s) == files
    assert s.snapshot() == before, "importing the same image again changed the store"
    assert [r[:2] for r in rows_of(s, first)] == [["twice", "latest"]]


@pytest.mark.parametrize("ref", ["base", "other", "derived"])
def test_ref_selects_image(empty_store, images, ref):  # noqa: F811
    s = empty_store
    assert import_ok(s, "--ref", ref, images.layout, f"sel-{ref}") == it.oci_image_id(images.layout, ref)
    assert layer_names(s) == set(it.oci_diff_ids(images.layout, ref))


def test_several_images_without_ref_name_the_refs(empty_store, images):  # noqa: F811
    # three linux/amd64 images: diyc cannot choose, and says which refs there are
    s = empty_store
    res = s.diyc("image", "import", images.layout, "which", timeout=IMPORT_TIMEOUT)
    dt.assert_error(res, "base", "other", "derived")
    assert layer_names(s) == set() and not image_files(s)


# -- names -------------------------------------------------------------------------------


def test_name_given_wins_over_repotag(empty_store, images):  # noqa: F811
    s = empty_store
    image_id = import_ok(s, images.docker_archive, "mine:1")
    assert [r[:2] for r in ls_rows(s)] == [["mine", "1"]], "the given name replaces the RepoTags"
    assert rows_of(s, image_id)


def test_oci_without_name_is_none(empty_store, images):  # noqa: F811
    s = empty_store
    image_id = import_ok(s, images.oci_archive)
    rows = rows_of(s, image_id)
    assert len(rows) == 1 and rows[0][0] == "<none>", f"an unnamed image is listed as <none>: {rows}"
    # runnable by id
    assert sh(s, image_id, "cat /data/new") == "new\n"
    assert sh(s, image_id[:12], "cat /data/new") == "new\n"


def test_oci_ref_is_not_a_name(empty_store, images):  # noqa: F811
    s = empty_store
    image_id = import_ok(s, "--ref", "derived", images.layout)
    rows = rows_of(s, image_id)
    assert len(rows) == 1 and rows[0][0] == "<none>", f"an OCI ref is not an image name: {rows}"


# -- platforms ---------------------------------------------------------------------------


@pytest.mark.parametrize("archive", [False, True], ids=["layout", "archive"])
def test_platform_default_is_host(empty_store, images, archive):  # noqa: F811
    s = empty_store
    src = images.multi_archive if archive else images.multi
    assert import_ok(s, src, "hostplat") == it.oci_image_id(images.multi, "amd"), \
        "an index with one image per platform gives the host's (linux/amd64)"
    assert sh(s, "hostplat", "echo ran") == "ran\n"


@pytest.mark.parametrize("archive", [False, True], ids=["layout", "archive"])
@pytest.mark.parametrize("platform,ref", [("linux/arm64", "arm"), ("linux/amd64", "amd")])
def test_platform_selects(empty_store, images, archive, platform, ref):  # noqa: F811
    s = empty_store
    src = images.multi_archive if archive else images.multi
    assert import_ok(s, "--platform", platform, src, "plat") == it.oci_image_id(images.multi, ref)


def test_ref_selects_other_platform(empty_store, images):  # noqa: F811
    # --ref names one image: it is that image, whatever its platform
    s = empty_store
    assert import_ok(s, "--ref", "arm", images.multi, "armref") == it.oci_image_id(images.multi, "arm")


def test_platform_and_ref_agree(empty_store, images):  # noqa: F811
    s = empty_store
    assert import_ok(s, "--platform", "linux/arm64", "--ref", "arm", images.multi, "armref") == \
        it.oci_image_id(images.multi, "arm")


# -- layers shared -----------------------------------------------------------------------


def test_layers_shared_between_images(empty_store, images):  # noqa: F811
    s = empty_store
    base = it.oci_diff_ids(images.layout, "base")
    other = it.oci_diff_ids(images.layout, "other")
    derived = it.oci_diff_ids(images.layout, "derived")
    import_ok(s, "--ref", "base", images.layout, "base")
    assert layer_names(s) == set(base) and len(s.layers()) == 2
    import_ok(s, "--ref", "other", images.layout, "other")
    assert layer_names(s) == set(other) and len(s.layers()) == 3, "other shares base's two layers"
    import_ok(s, "--ref", "derived", images.layout, "derived")
    assert len(s.layers()) == 5 and layer_names(s) == set(base + other + derived)
    # the same base from a docker archive (uncompressed layers): nothing new stored
    assert import_ok(s, images.docker_base, "dockbase") == it.oci_image_id(images.layout, "base")
    assert len(s.layers()) == 5
    assert len(image_files(s)) == 3
    # the shared lower layers are untouched by the upper ones' whiteouts
    assert sh(s, "base", "cat /data/hello /data/gone /data/dir/a; ls -A /opq") == "hello\ngone\na\nkeepdir\nold1\n"
    assert sh(s, "other", "cat /data/other /data/gone; ls -A /opq") == "other\ngone\nkeepdir\nold1\n"
    assert sh(s, "derived", "cat /data/hello; ls -A /opq") == it.CHANGED + "new-in-opq\n"
    assert sh(s, "dockbase", "cat /data/hello /data/gone") == "hello\ngone\n"


# -- what the container sees -------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_whiteouts(empty_store, images, fmt):  # noqa: F811
    s = empty_store
    src, args = derived_source(images, fmt)
    import_ok(s, *args, src, "wh")
    out = sh(s, "wh", "ls -A /data; echo --; ls -A /opq; echo --; ls -A /etc; echo --; cat /data/hello; "
                      "for f in /data/gone /data/dir /data/dir/a /opq/old1 /opq/keepdir /etc/removeme; do "
                      "  [ -e $f ] || [ -L $f ] && echo visible: $f; done; echo --")
    data, opq, etc, rest = out.split("--\n", 3)
    assert data.split() == ["abs-link", "hello", "hl-dst", "hl-src", "new", "nobody", "rel-link", "sticky", "user"], \
        f"/data: deleted files must be hidden and no .wh. file shown:\n{out}"
    assert opq.split() == ["new-in-opq"], f"/opq is opaque: only the top layer's files:\n{out}"
    etc = etc.split()
    assert "removeme" not in etc and not [e for e in etc if e.startswith(".wh.")], out
    assert "passwd" in etc and "group" in etc
    assert rest == it.CHANGED + "--\n", f"deleted files are visible:\n{out}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_whited_out_dir_recreated_is_empty(empty_store, images, fmt):  # noqa: F811
    s = empty_store
    src, args = derived_source(images, fmt)
    import_ok(s, *args, src, "whdir")
    out = sh(s, "whdir", "mkdir /data/dir && ls -A /data/dir; echo end; touch /data/gone && cat /data/gone; "
                         "echo end2")
    assert out == "end\nend2\n", "a deleted directory made again must not show the lower layer's files"


@pytest.mark.parametrize("fmt", FORMATS)
def test_owners_and_modes(empty_store, images, fmt, subids):  # noqa: F811
    s = empty_store
    src, args = derived_source(images, fmt)
    import_ok(s, *args, src, "owners")
    files = ["/data/user", "/data/nobody", "/home/user", "/home/user/file", "/usr/local/bin/suid",
             "/usr/local/bin/sgid", "/usr/local/bin/usersuid", "/data/sticky", "/data/hello", "/tmp", "/root",
             "/bin/busybox"]
    out = sh(s, "owners", "stat -c '%n %u %g %a' " + " ".join(files))
    assert out.splitlines() == [
        "/data/user 1000 1000 640",
        "/data/nobody 65534 65534 604",
        "/home/user 1000 1000 750",
        "/home/user/file 1000 1000 644",
        "/usr/local/bin/suid 0 0 4755",
        "/usr/local/bin/sgid 0 65534 2755",
        "/usr/local/bin/usersuid 1000 1000 4750",
        "/data/sticky 0 0 1777",
        "/data/hello 0 0 644",
        "/tmp 0 0 1777",
        "/root 0 0 700",
        "/bin/busybox 0 0 755",
    ], out
    ls = sh(s, "owners", "ls -ln /data/user /data/nobody")
    assert re.search(r"^-rw-r----- +1 +1000 +1000 .*/data/user$", ls, re.M), ls
    assert re.search(r"^-rw----r-- +1 +65534 +65534 .*/data/nobody$", ls, re.M), ls
    assert sh(s, "owners", "/usr/local/bin/suid; /usr/local/bin/sgid") == "suid\nsgid\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_links(empty_store, images, fmt):  # noqa: F811
    s = empty_store
    src, args = derived_source(images, fmt)
    import_ok(s, *args, src, "links")
    out = sh(s, "links", "readlink /data/rel-link; readlink /data/abs-link; readlink /bin/sh; "
                         "cat /data/rel-link /data/abs-link; stat -c '%i %h' /data/hl-src /data/hl-dst; cat /data/hl-dst")
    lines = out.splitlines()
    assert lines[:3] == ["hello", "/data/hello", "busybox"], out
    assert lines[3:5] == [it.CHANGED.strip()] * 2, "symlinks resolve inside the container\n" + out
    (i1, n1), (i2, n2) = lines[5].split(), lines[6].split()
    assert i1 == i2 and n1 == n2 == "2", f"the hard link must be kept (same inode, 2 links):\n{out}"
    assert lines[7] == "linked", out


def test_layer_trees_on_disk(empty_store, images):  # noqa: F811
    # each layer is its own tree: the base layer has /data/gone, the upper one a whiteout
    # for it in a form overlayfs understands, not a regular `.wh.gone` file
    s = empty_store
    import_ok(s, "--ref", "derived", images.layout, "disk")
    base = it.oci_diff_ids(images.layout, "derived")
    layers = s.data / "layers"
    assert (layers / base[1] / "diff" / "data" / "gone").read_text() == "gone\n"
    upper = layers / base[2] / "diff" / "data"
    assert not (upper / ".wh.gone").exists(), "whiteouts must be converted, not stored as .wh. files"
    assert (upper / "hello").read_text() == it.CHANGED
    assert not (layers / base[3] / "diff" / "opq" / ".wh..wh..opq").exists()
    assert (layers / base[3] / "diff" / "opq" / "new-in-opq").read_text() == "new-in-opq\n"


# -- shared layers and removal, concurrent imports ---------------------------------------


def test_rm_keeps_shared_layers(empty_store, images):  # noqa: F811
    s = empty_store
    base = it.oci_diff_ids(images.layout, "base")
    derived = it.oci_diff_ids(images.layout, "derived")
    import_ok(s, "--ref", "base", images.layout, "keep")
    import_ok(s, "--ref", "derived", images.layout, "drop")
    dt.assert_ok(s.diyc("image", "rm", "drop"))
    assert layer_names(s) == set(base), "removing an image must keep the layers another image uses"
    assert sh(s, "keep", "cat /data/hello /data/gone") == "hello\ngone\n"
    dt.assert_ok(s.diyc("image", "rm", "keep"))
    assert layer_names(s) == set() and not image_files(s)
    # and importing again after the removal works
    import_ok(s, "--ref", "derived", images.layout, "again")
    assert layer_names(s) == set(derived)
    assert sh(s, "again", "cat /data/hello") == it.CHANGED


def test_concurrent_imports_share_layers(empty_store, images):  # noqa: F811
    # imports running at the same time, of images with common layers: each succeeds and
    # every layer is stored once, complete
    s = empty_store
    jobs = [("--ref", "base", images.layout, "c-base"), ("--ref", "other", images.layout, "c-other"),
            ("--ref", "derived", images.layout, "c-derived"), (images.docker_archive, "c-docker"),
            (images.oci_archive, "c-ociarch"), ("--ref", "derived", images.layout, "c-derived2")]
    procs = [subprocess.Popen([dt.diyc_bin(), "image", "import", *map(str, j)], env=s.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for j in jobs]
    results = []
    for p, j in zip(procs, jobs):
        out, err = p.communicate(timeout=IMPORT_TIMEOUT)
        results.append((j, p.returncode, out.decode(), err.decode()))
    for j, rc, out, err in results:
        assert rc == 0 and re.fullmatch(r"[0-9a-f]{64}\n", out), f"concurrent import {j} failed: {rc} {out!r} {err!r}"
    every = set(it.oci_diff_ids(images.layout, "other") + it.oci_diff_ids(images.layout, "derived"))
    assert layer_names(s) == every, sorted(layer_names(s))
    assert len(image_files(s)) == 3
    assert sh(s, "c-other", "cat /data/other /data/gone") == "other\ngone\n"
    assert sh(s, "c-docker", "cat /data/hello; ls -A /opq") == it.CHANGED + "new-in-opq\n"
    assert sh(s, "c-base", "ls -A /data | wc -l") == "10\n"


def test_shared_layers_use_disk_once(empty_store, images, subids):  # noqa: F811
    # measured with du in a user namespace that maps the subordinate range (the layers'
    # files belong to it): an image sharing a stored layer adds only its own
    s = empty_store

    def du_kib():
        res = dt.run([*it._userns_prefix(subids), "du", "-sk", str(s.data / "layers")])
        assert res.returncode == 0, dt.describe(res)
        return int(res.stdout.split()[0])

    import_ok(s, "--ref", "base", images.layout, "base")
    base = du_kib()
    assert base > 1000, f"the base image (busybox) should take over 1 MiB: {base} KiB"
    import_ok(s, "--ref", "other", images.layout, "other")
    other = du_kib()
    assert other - base < 100, f"`other` adds one small layer, not a copy of base: {base} -> {other} KiB"
    import_ok(s, images.docker_base, "dockbase")
    assert du_kib() == other, "the same image from a docker archive adds nothing to the layers"
