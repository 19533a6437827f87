# SPDX-License-Identifier: MIT
"""diyc image inspect and image prune, as the unprivileged user."""
import json
import os
import time

import pytest
import diyctest as dt


def _rootfs(tmp_path, content):
    d = tmp_path / f"rootfs-{content}"
    (d / "etc").mkdir(parents=True, exist_ok=True)
    (d / "etc" / "content").write_text(content + "\n")
    return d


def test_inspect_shows_names_layers_and_config(empty_store, tmp_path):
    s = empty_store
    img = dt.assert_ok(s.diyc("image", "import", _rootfs(tmp_path, "a"), "insp:1")).stdout.strip()
    dt.assert_ok(s.diyc("image", "import", _rootfs(tmp_path, "a"), "insp:2"))
    res = dt.assert_ok(s.diyc("image", "inspect", "insp:1"))
    data = json.loads(res.stdout)
    assert isinstance(data, list) and len(data) == 1, res.stdout
    d = data[0]
    assert d["Id"] == "sha256:" + img
    assert "insp:1" in d["RepoTags"]
    assert d["Os"] == "linux" and d["Architecture"]
    assert isinstance(d["Config"], dict)
    assert d["RootFS"]["Type"] == "layers" and len(d["RootFS"]["Layers"]) == 1
    layer = d["RootFS"]["Layers"][0]
    assert layer.startswith("sha256:") and (s.data / "layers" / layer[7:] / "diff" / "etc" / "content").exists()
    # the same root filesystem twice is one layer
    assert len(s.layers()) == 1
    # by id, and several at once
    both = json.loads(dt.assert_ok(s.diyc("image", "inspect", img[:12], "insp:2")).stdout)
    assert len(both) == 2 and both[0]["Id"] == d["Id"]


def test_inspect_unknown_image(empty_store):
    before = empty_store.snapshot()
    dt.assert_error(empty_store.diyc("image", "inspect", "nothing-here"), "not found")
    assert empty_store.snapshot() == before


def dt_layer_of(s, img):
    return json.loads((s.data / "images" / f"{img}.json").read_text())["layers"][0]


def test_prune_removes_unnamed_unused_images_and_stray_layers(empty_store, tmp_path):
    s = empty_store
    keep = dt.assert_ok(s.diyc("image", "import", _rootfs(tmp_path, "keep"), "keep")).stdout.strip()
    gone = dt.assert_ok(s.diyc("image", "import", _rootfs(tmp_path, "gone"))).stdout.strip()
    # a stray layer: a copy of a layer directory that no image lists
    layers_before = {p.name for p in s.layers()}
    gone_layer = dt_layer_of(s, gone)
    stray = s.data / "layers" / ("f" * 64)
    (stray / "diff").mkdir(parents=True)
    res = dt.assert_ok(s.diyc("image", "prune"))
    assert f"deleted image {gone}" in res.stdout, dt.describe(res)
    assert f"deleted layer {'f' * 64}" in res.stdout, dt.describe(res)
    assert not stray.exists()
    ids = dt.assert_ok(s.diyc("image", "ls", "-q")).stdout.split()
    assert any(keep.startswith(i) for i in ids)
    assert not any(gone.startswith(i) for i in ids)
    assert not (s.data / "images" / f"{gone}.json").exists()
    assert not (s.data / "images" / f"{gone}.config").exists()
    assert {p.name for p in s.layers()} == layers_before - {gone_layer}
    # a second prune has nothing to do
    res = dt.assert_ok(s.diyc("image", "prune"))
    assert "deleted" not in res.stdout


def test_prune_keeps_images_of_containers(private_store, tmp_path, name):
    s = private_store
    img = dt.assert_ok(s.diyc("image", "import", _rootfs(tmp_path, "c"))).stdout.strip()
    old = json.loads(dt.assert_ok(s.diyc("image", "inspect", "busybox")).stdout)[0]["Id"][7:]
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "true"))
    # another image imported as busybox takes the name: the container's image has none left
    dt.assert_ok(s.diyc("image", "import", _rootfs(tmp_path, "newer"), "busybox"))
    new = json.loads(dt.assert_ok(s.diyc("image", "inspect", "busybox")).stdout)[0]["Id"][7:]
    assert new != old
    res = dt.assert_ok(s.diyc("image", "prune"))
    assert f"deleted image {img}" in res.stdout, dt.describe(res)
    assert old not in res.stdout, "an image a container uses must stay\n" + dt.describe(res)
    assert (s.data / "images" / f"{old}.json").exists()
    dt.assert_ok(s.diyc("start", "-a", name))
    dt.assert_ok(s.diyc("rm", name))
    res = dt.assert_ok(s.diyc("image", "prune"))
    assert f"deleted image {old}" in res.stdout, dt.describe(res)
    assert (s.data / "images" / f"{new}.json").exists()


def test_image_subcommand_help_and_bad_flags(store):
    for sub in ("inspect", "prune"):
        res = dt.assert_ok(store.diyc("image", sub, "--help"))
        assert "Usage: diyc image " + sub in res.stdout
        dt.assert_error(store.diyc("image", sub, "--bogus"), "unknown flag")
    dt.assert_error(store.diyc("image", "prune", "extra"), "unexpected argument")
    dt.assert_error(store.diyc("image", "inspect"), "required")


def test_prune_removes_day_old_leftovers_only(empty_store, tmp_path):
    s = empty_store
    dt.assert_ok(s.diyc("image", "import", _rootfs(tmp_path, "x"), "x"))
    old_unpack, new_unpack = s.data / "tmp" / "unpack-old", s.data / "tmp" / "unpack-new"
    old_tmp, new_tmp = s.data / "layers" / ".tmp-old", s.data / "layers" / ".tmp-new"
    for d in (old_unpack, new_unpack, old_tmp, new_tmp):
        (d / "sub").mkdir(parents=True)
    day_ago = time.time() - 2 * 86400
    for d in (old_unpack, old_tmp):
        os.utime(d, (day_ago, day_ago))
    dt.assert_ok(s.diyc("image", "prune"))
    assert not old_unpack.exists() and not old_tmp.exists()
    # an import may be at work in the fresh ones
    assert new_unpack.exists() and new_tmp.exists()
    for d in (new_unpack, new_tmp):
        (d / "sub").rmdir()
        d.rmdir()


@pytest.mark.parametrize("args", [["--ref", ""], ["--platform", "linux/amd64"], ["--ref", "latest"]],
                         ids=["empty-ref", "platform-on-rootfs", "ref-on-rootfs"])
def test_import_choice_flags_refused(empty_store, tmp_path, args):
    s = empty_store
    src = _rootfs(tmp_path, "r")
    before = s.snapshot()
    dt.assert_error(s.diyc("image", "import", *args, src, "r"), ("--ref", "--platform"))
    assert s.snapshot() == before
