# SPDX-License-Identifier: MIT
# Foreign (nondistributable) layers: a manifest whose layer has `urls` (and the foreign
# media type, docker's or OCI's) is refused with one clear error, and nothing is fetched
# from those URLs (they point at a second scripted server on 127.0.0.2 that records every
# request); nothing is stored. With --allow-foreign-layers the layer comes from its URL,
# which gets no Authorization (it is not the registry).
import pytest

import diycreg as dr
import diyctest as dt
import regtest as rt

NOTLS = "--tls-verify=false"
NAME = "library/foreign"
MT_DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
MT_OCI_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"


def foreign_image(layout_dir, url, kind, busybox):
    """(manifest bytes, media type, foreign layer's digest, its gzip bytes, layout, the
    other blobs) of an image of two layers: BUSYBOX's (an Image), then a foreign one
    (served from URL)."""
    layout = rt.Layout(layout_dir)
    foreign = rt.tar_layer([("etc", "d", None, 0o755), ("etc/foreign", "f", "foreign\n", 0o644)])
    docker = kind == "docker"
    gz_base, gz_foreign = busybox.layout.read_blob(busybox.layers[0]["digest"]), rt.compress(foreign, "gzip")
    l1 = layout.blob(gz_base, rt.MT_DOCKER_LAYER if docker else rt.MT_OCI_LAYER_GZIP)
    l2 = layout.blob(gz_foreign, MT_DOCKER_FOREIGN if docker else MT_OCI_NONDIST, urls=[url])
    config = rt.image_config("amd64", [busybox.diff_ids[0], rt.sha256(foreign)], ["sh"])
    cdesc = layout.json_blob(config, rt.MT_DOCKER_CONFIG if docker else rt.MT_OCI_CONFIG)
    mt = rt.MT_DOCKER_MANIFEST if docker else rt.MT_OCI_MANIFEST
    manifest = {"schemaVersion": 2, "mediaType": mt, "config": cdesc, "layers": [l1, l2]}
    body = json_bytes(manifest)
    return body, mt, l2["digest"], gz_foreign, layout, [cdesc["digest"], l1["digest"]]


def json_bytes(obj):
    import json
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def serve(hostile, other_host, tmp_path, kind, busybox_images):
    url = f"{other_host.url}/foreign/{kind}/layer.tar.gz"
    body, mt, fdigest, fdata, layout, blobs = foreign_image(tmp_path / "layout", url, kind, busybox_images["amd64"])
    hostile.serve_raw_manifest(NAME, kind, body, mt)
    for d in blobs:
        hostile.blobs[d] = layout.read_blob(d)
    other_host.on("GET", r"/foreign/.*", lambda req, m: req.send(200, fdata, ctype="application/octet-stream"))
    return fdigest


@pytest.mark.parametrize("kind", ["docker", "oci"])
def test_foreign_layer_is_refused_and_its_url_not_fetched(store, hostile, other_host, tmp_path, kind, busybox_images):
    fdigest = serve(hostile, other_host, tmp_path, kind, busybox_images)
    ref = f"{hostile.host}/{NAME}:{kind}"
    res = dr.pull(store, ref, NOTLS, "--retry", "0", timeout=60)
    dt.assert_error(res, "foreign")
    assert other_host.requests == [], f"the foreign layer's URL was fetched: {other_host.requests}"
    assert not hostile.requests_to(hostile.blob_path(NAME, fdigest), "GET"), \
        "the refused layer was fetched from the registry all the same"
    assert dr.layer_dirs(store) == []
    assert not dr.has_image(store, ref)


def test_foreign_layer_with_run_pull_is_refused(store, hostile, other_host, tmp_path, busybox_images):
    """`run` pulling a missing image refuses the same way, before creating anything."""
    serve(hostile, other_host, tmp_path, "docker", busybox_images)
    conf = dr.insecure_conf(tmp_path / "registries.conf", hostile.host)
    res = store.diyc("run", "--rm", "--net=none", f"{hostile.host}/{NAME}:docker", "true", env=conf, timeout=60)
    dt.assert_error(res, "foreign")
    assert other_host.requests == []
    assert dr.layer_dirs(store) == []


def test_foreign_layer_allowed_comes_from_its_url_without_credentials(store, hostile, other_host, tmp_path,
                                                                         busybox_images):
    import hostile as hs
    serve(hostile, other_host, tmp_path, "docker", busybox_images)
    hostile.on("GET", r"/v2/.*", hs.basic_auth_required("alice", "foreign-pw",
                                                          lambda req, m: hostile._default(req)))
    ref = f"{hostile.host}/{NAME}:docker"
    res = dr.pull(store, ref, NOTLS, "--allow-foreign-layers", "--creds", "alice:foreign-pw", timeout=60)
    dt.assert_ok(res)
    dr.assert_no_secret(res, "foreign-pw")
    assert other_host.requests, "the foreign layer was not fetched from its URL"
    assert not [r for r in other_host.requests if "authorization" in r["headers"]], \
        "the registry's credentials went to the foreign layer's host"
    assert dr.run_cat(store, ref, "/etc/foreign") == "foreign\n"
    assert dr.run_cat(store, ref, "/etc/diyc-image") == "busybox amd64\n"
