# SPDX-License-Identifier: MIT
# `diyc push`: to the http, htpasswd and token registries; what it pushes, skopeo and
# podman read with the same digests; run -> commit -> push -> pull into a fresh store ->
# run; blobs already there skipped (HEAD), a cross-repository mount on the same registry,
# the manifest last.

import pytest

import diycreg as dr
import diyctest as dt
import regtest as rt

NOTLS = "--tls-verify=false"
ALICE, BOB = rt.DEFAULT_USERS["alice"], rt.DEFAULT_USERS["bob"]


def local_busybox(store, tmp_path):
    """The busybox of tools/mkimage-busybox, imported (not pulled): nothing of it is in any
    registry yet."""
    store.import_busybox("busybox")
    return "busybox"


def test_push_to_http(store, http_reg, tmp_path):
    src = local_busybox(store, tmp_path)
    dest = f"{http_reg.host}/pushed/busybox:1"
    dt.assert_ok(store.diyc("image", "tag", src, dest))
    mark = http_reg.mark()
    dt.assert_ok(dr.push(store, dest, NOTLS))
    digest, mt, m = http_reg.manifest("pushed/busybox", "1")
    assert m["config"]["digest"].split(":")[1] == dr.image_id(store, src)
    info = dr.image(store, src)
    assert len(m["layers"]) == len(info["RootFS"]["Layers"])
    writes = [a for a in http_reg.access_since(mark) if a["method"] in ("PUT", "PATCH", "POST")]
    assert writes and writes[-1]["path"] == "/v2/pushed/busybox/manifests/1", \
        f"the manifest goes last: {[(a['method'], a['path']) for a in writes]}"
    # skopeo and podman see the same image
    sk = rt.skopeo_inspect(http_reg, "pushed/busybox:1")
    assert sk["Digest"] == digest and sk["Layers"] == [l["digest"] for l in m["layers"]]
    pm = rt.Podman(tmp_path / "podman")
    try:
        assert pm("pull", "-q", NOTLS, dest).stdout.decode().strip() == dr.image_id(store, src)
    finally:
        pm.close()


def test_push_with_destination_argument(store, http_reg, tmp_path):
    src = local_busybox(store, tmp_path)
    dt.assert_ok(dr.push(store, src, NOTLS, dest=f"{http_reg.host}/pushed/other:2"))
    assert "2" in http_reg.tags("pushed/other")


def test_push_again_uploads_nothing(store, http_reg, tmp_path):
    src = local_busybox(store, tmp_path)
    dest = f"{http_reg.host}/pushed/again:1"
    dt.assert_ok(dr.push(store, src, NOTLS, dest=dest))
    mark = http_reg.mark()
    dt.assert_ok(dr.push(store, src, NOTLS, dest=dest))
    assert http_reg.access_since(mark, r"/blobs/uploads/") == [], "blobs already there are not uploaded again"
    assert http_reg.access_since(mark, r"/blobs/sha256:", "HEAD"), "HEAD asks whether they are there"


def test_cross_repository_mount(store, http_reg, busybox_images):
    src = f"{http_reg.host}/library/busybox:amd64"
    dr.pull_ok(store, src, NOTLS)
    dest = f"{http_reg.host}/mounted/busybox:1"
    dt.assert_ok(store.diyc("image", "tag", src, dest))
    mark = http_reg.mark()
    dt.assert_ok(dr.push(store, dest, NOTLS))
    ups = http_reg.access_since(mark, r"/blobs/uploads/")
    mounts = [a for a in ups if "mount=" in a["path"] and
              ("from=library/busybox" in a["path"] or "from=library%2Fbusybox" in a["path"])]
    assert mounts, f"no cross-repository mount: {ups}"
    assert not http_reg.access_since(mark, r"/blobs/uploads/.+", "PATCH"), "a mounted blob is not uploaded"
    _, _, m = http_reg.manifest("mounted/busybox", "1")
    im = busybox_images["amd64"]
    assert m["config"]["digest"] == im.config_digest
    assert [l["digest"] for l in m["layers"]] == [l["digest"] for l in im.layers], \
        "a pulled image is pushed with the layers it was pulled with"


def test_round_trip_commit_push_pull_run(store, http_reg, tmp_path, name):
    src = local_busybox(store, tmp_path)
    try:
        dt.assert_ok(store.diyc("run", "--net=none", "--name", name, src, "sh", "-c", "echo round-trip > /etc/rt"))
        dt.assert_ok(store.diyc("commit", name, "committed:1"))
    finally:
        store.diyc("rm", "-f", name)
    dest = f"{http_reg.host}/rt/committed:1"
    dt.assert_ok(dr.push(store, "committed:1", NOTLS, dest=dest))
    fresh = dt.Store.private(tmp_path / "fresh")
    fresh.env.update({k: v for k, v in store.env.items() if k.startswith(("CONTAINERS_", "DIYC_REGISTRY"))})
    dr.pull_ok(fresh, dest, NOTLS)
    assert dr.run_cat(fresh, dest, "/etc/rt") == "round-trip\n"
    assert dr.image_id(fresh, dest) == dr.image_id(store, "committed:1")
    assert dr.store_leftovers(fresh) == []


@pytest.fixture
def name():
    return dt.unique_name("push")


def test_push_zstd_pulled_image(store, debian_http, debian_images, tmp_path):
    """A pulled zstd image pushed elsewhere keeps its layers as they were (no recompression)."""
    src = f"{debian_http.host}/library/debian:zstd"
    dr.pull_ok(store, src, NOTLS)
    dest = f"{debian_http.host}/copies/debian:zstd"
    dt.assert_ok(dr.push(store, src, NOTLS, dest=dest))
    _, _, m = debian_http.manifest("copies/debian", "zstd")
    assert [l["digest"] for l in m["layers"]] == [l["digest"] for l in debian_images["zstd"].layers] or \
        all(l["mediaType"].endswith(("gzip", "zstd", "tar")) for l in m["layers"])
    fresh = dt.Store.private(tmp_path / "fresh")
    fresh.env.update({k: v for k, v in store.env.items() if k.startswith(("CONTAINERS_", "DIYC_REGISTRY"))})
    dr.pull_ok(fresh, dest, NOTLS)
    assert dr.image(fresh, dest)["RootFS"]["Layers"] == debian_images["zstd"].diff_ids


def test_push_htpasswd_needs_creds(store, basic_reg, tmp_path):
    src = local_busybox(store, tmp_path)
    dest = f"{basic_reg.host}/pushed/auth:1"
    dt.assert_error(dr.push(store, src, dest=dest), ("unauthorized", "authentication", "401"))
    res = dt.assert_ok(dr.push(store, src, "--creds", f"alice:{ALICE}", dest=dest))
    dr.assert_no_secret(res, ALICE)
    assert "1" in basic_reg.tags("pushed/auth", user="alice")


def test_push_token_alice(store, token_reg, tmp_path):
    src = local_busybox(store, tmp_path)
    dest = f"{token_reg.host}/alice/busybox:1"
    dt.assert_ok(dr.push(store, src, "--creds", f"alice:{ALICE}", dest=dest))
    info = rt.skopeo_inspect(token_reg, "alice/busybox:1", user="bob")
    assert info["Digest"].startswith("sha256:")


def test_push_unknown_image(store, http_reg):
    dt.assert_error(dr.push(store, "no-such-image:1", NOTLS, dest=f"{http_reg.host}/x/y:1"), "no-such-image")


def test_push_to_unqualified_destination_is_refused(store, tmp_path):
    """Without a registry in the name (docker.io by docker's rules), nothing must be sent
    anywhere on this machine's loopback: here it must fail clearly (no network)."""
    src = local_busybox(store, tmp_path)
    res = dr.push(store, src, NOTLS, dest="localhost:1/x/y:1", timeout=60)
    dt.assert_error(res, "localhost:1")


def test_podman_pushed_diyc_pulls(store, http_reg, busybox_images, tmp_path):
    """What podman pushes (its own compression of the layers), diyc pulls to the same image
    id, and runs."""
    src = f"{http_reg.host}/library/busybox:amd64"
    dest = f"{http_reg.host}/frompodman/busybox:1"
    pm = rt.Podman(tmp_path / "podman")
    try:
        pm("pull", "-q", NOTLS, src)
        pm("push", "--quiet", NOTLS, src, f"docker://{dest}")
    finally:
        pm.close()
    res = dt.assert_ok(dr.pull(store, dest, "-q", NOTLS))
    assert res.stdout.strip() == busybox_images["amd64"].image_id, dt.describe(res)
    assert dr.run_cat(store, dest, "/etc/diyc-image") == "busybox amd64\n"
