# SPDX-License-Identifier: MIT
# `diyc pull` from the real registry (distribution 2.8.2) over http and https: names,
# tags and digests, platforms from an index, OCI and docker schema2 manifests, gzip and
# zstd layers, layers already present skipped before any byte is fetched, what the store
# records (RepoTags, RepoDigests, image ls --digests), `run --pull=...`, and the
# TLS rules (certs.d, --tls-verify=false).
import threading

import pytest

import diycreg as dr
import diyctest as dt
import regtest as rt

NOTLS = "--tls-verify=false"


def blob_gets(reg, mark):
    return [a for a in reg.access_since(mark, r"/blobs/sha256:", "GET") if a["status"] in (200, 206)]


def test_pull_by_tag(store, http_reg, busybox_images):
    ref = f"{http_reg.host}/library/busybox:amd64"
    dr.pull_ok(store, ref, NOTLS)
    im = busybox_images["amd64"]
    info = dr.image(store, ref)
    assert info["Id"].split(":")[-1] == im.image_id
    assert info["RepoTags"] == [ref]
    assert f"{http_reg.host}/library/busybox@{im.digest}" in info["RepoDigests"]
    assert info["Architecture"] == "amd64"
    assert info["RootFS"]["Layers"] == im.diff_ids
    assert dr.run_cat(store, ref, "/etc/diyc-image") == "busybox amd64\n"


def test_pull_quiet_prints_the_id_only(store, http_reg, busybox_images):
    res = dt.assert_ok(dr.pull(store, f"{http_reg.host}/library/busybox:amd64", "-q", NOTLS))
    assert res.stdout == busybox_images["amd64"].image_id + "\n", dt.describe(res)
    assert res.stderr == "", "nothing but errors on stderr when it is not a terminal\n" + dt.describe(res)
    res = dt.assert_ok(dr.pull(store, f"{http_reg.host}/library/busybox:amd64", "--quiet", NOTLS))
    assert res.stdout == busybox_images["amd64"].image_id + "\n"


def test_default_tag_is_latest_and_index_picks_the_host(store, http_reg, busybox_images):
    dr.pull_ok(store, f"{http_reg.host}/library/busybox", NOTLS, name=f"{http_reg.host}/library/busybox:latest")
    info = dr.image(store, f"{http_reg.host}/library/busybox:latest")
    assert info["Architecture"] == "amd64"
    assert info["Id"].split(":")[-1] == busybox_images["amd64"].image_id
    idx = busybox_images["index"][0]["digest"]
    assert f"{http_reg.host}/library/busybox@{idx}" in info["RepoDigests"], \
        "RepoDigests names the digest the tag pointed to (the index), as docker does"


@pytest.mark.parametrize("platform", ["linux/arm64", "linux/arm64/v8"])
def test_platform_from_index(store, http_reg, busybox_images, platform):
    ref = f"{http_reg.host}/library/busybox:latest"
    dr.pull_ok(store, ref, "--platform", platform, NOTLS)
    info = dr.image(store, ref)
    assert info["Architecture"] == "arm64"
    assert info["Id"].split(":")[-1] == busybox_images["arm64"].image_id


def test_platform_not_in_index_lists_what_it_offers(store, http_reg):
    res = dr.pull(store, f"{http_reg.host}/library/busybox:latest", "--platform", "linux/s390x", NOTLS)
    dt.assert_error(res, "s390x", "linux/amd64", "linux/arm64")
    assert dr.layer_dirs(store) == []


def test_platform_of_a_single_manifest_is_checked(store, http_reg):
    """An image that is not an index but is for another platform: a clear error."""
    res = dr.pull(store, f"{http_reg.host}/library/busybox:arm64", NOTLS)
    if res.returncode == 0:
        # docker and podman pull it with a warning; then the architecture must be right
        assert dr.image(store, f"{http_reg.host}/library/busybox:arm64")["Architecture"] == "arm64"
    else:
        dt.assert_error(res, "arm64")


def test_pull_by_digest(store, http_reg, busybox_images):
    im = busybox_images["amd64"]
    ref = f"{http_reg.host}/library/busybox@{im.digest}"
    dt.assert_ok(dr.pull(store, ref, NOTLS))
    assert dr.last_line(dr.pull(store, ref, NOTLS)) == ref
    info = dr.image(store, ref)
    assert info["Id"].split(":")[-1] == im.image_id
    assert ref in info["RepoDigests"]
    rows = dr.ls_digests(store)
    assert any(r.get("DIGEST") == im.digest for r in rows), rows


def test_pull_by_index_digest_with_platform(store, http_reg, busybox_images):
    idx = busybox_images["index"][0]["digest"]
    dt.assert_ok(dr.pull(store, f"{http_reg.host}/library/busybox@{idx}", "--platform", "linux/arm64", NOTLS))
    assert dr.image(store, f"{http_reg.host}/library/busybox@{idx}")["Architecture"] == "arm64"


def test_unknown_digest_and_tag(store, http_reg):
    res = dr.pull(store, f"{http_reg.host}/library/busybox@sha256:{'0' * 64}", NOTLS)
    dt.assert_error(res, ("not found", "unknown", "404"))
    res = dr.pull(store, f"{http_reg.host}/library/busybox:no-such-tag", NOTLS)
    dt.assert_error(res, ("not found", "unknown", "404"), "no-such-tag")
    res = dr.pull(store, f"{http_reg.host}/no/such/repo:1", NOTLS)
    dt.assert_error(res, ("not found", "unknown", "404"))


@pytest.mark.parametrize("bad", ["UPPER/case", "a//b", "name:tag:tag", "name@sha256:1234",
                                 "name@md5:" + "0" * 32, "-name", "name:" + "t" * 129])
def test_bad_references(store, bad):
    dt.assert_error(dr.pull(store, f"127.0.0.1:1/{bad}", NOTLS))


def test_docker_schema2(store, http_reg, busybox_images):
    ref = f"{http_reg.host}/library/busybox:v2s2"
    dr.pull_ok(store, ref, NOTLS)
    assert dr.image_id(store, ref) == busybox_images["amd64"].image_id
    assert dr.run_cat(store, ref, "/etc/diyc-image") == "busybox amd64\n"


def test_one_component_path_gets_no_library(store, http_reg):
    """library/ is docker.io's; another registry's one-component name stays as it is."""
    dr.pull_ok(store, f"{http_reg.host}/busybox:amd64", NOTLS)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_debian_three_layers(store, debian_http, debian_images, compression):
    ref = f"{debian_http.host}/library/debian:{compression}"
    dr.pull_ok(store, ref, NOTLS)
    im = debian_images[compression]
    info = dr.image(store, ref)
    assert info["Id"].split(":")[-1] == im.image_id
    assert info["RootFS"]["Layers"] == im.diff_ids
    assert dr.run_cat(store, ref, "/etc/debian_version").startswith("12.")


def test_second_pull_fetches_no_blob(store, debian_http):
    ref = f"{debian_http.host}/library/debian:gzip"
    dr.pull_ok(store, ref, NOTLS)
    mark = debian_http.mark()
    dr.pull_ok(store, ref, NOTLS)
    assert blob_gets(debian_http, mark) == [], "an image already present: no blob fetched"


def test_layers_known_by_diff_id_are_not_fetched(store, debian_http, debian_images):
    """The zstd image has the gzip one's layers (same diff_ids): after one, the other fetches
    its config and no layer."""
    dr.pull_ok(store, f"{debian_http.host}/library/debian:gzip", NOTLS)
    mark = debian_http.mark()
    dr.pull_ok(store, f"{debian_http.host}/library/debian:zstd", NOTLS)
    got = {a["path"].rsplit("/", 1)[1] for a in blob_gets(debian_http, mark)}
    layers = {l["digest"] for l in debian_images["zstd"].layers}
    assert not got & layers, f"layers fetched again: {got & layers}"


def test_only_the_missing_layer_is_fetched(store, http_reg, busybox_images, work):
    base = busybox_images["amd64"]
    im = rt.build_small(base.layout.dir, "plus-one", {"etc/added": "added\n"}, base=base)
    rt.skopeo_push(base.layout.dir, "plus-one", http_reg, "library/busybox:plus-one")
    dr.pull_ok(store, f"{http_reg.host}/library/busybox:amd64", NOTLS)
    mark = http_reg.mark()
    dr.pull_ok(store, f"{http_reg.host}/library/busybox:plus-one", NOTLS)
    got = [a["path"].rsplit("/", 1)[1] for a in blob_gets(http_reg, mark)]
    assert sorted(got) == sorted([im.layers[1]["digest"], im.config_digest]), got
    assert dr.run_cat(store, f"{http_reg.host}/library/busybox:plus-one", "/etc/added") == "added\n"


def test_concurrent_pulls_of_one_image(store, debian_http, debian_images):
    ref = f"{debian_http.host}/library/debian:gzip"
    results = [None, None]

    def go(i):
        results[i] = dr.pull(store, ref, NOTLS)
    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        dt.assert_ok(r)
    assert dr.image_id(store, ref) == debian_images["gzip"].image_id
    assert len(dr.layer_dirs(store)) == 3


def test_image_ls_digests(store, http_reg, busybox_images):
    dr.pull_ok(store, f"{http_reg.host}/library/busybox:amd64", NOTLS)
    rows = dr.ls_digests(store)
    row = [r for r in rows if r.get("REPOSITORY") == f"{http_reg.host}/library/busybox"]
    assert row and row[0]["TAG"] == "amd64" and row[0]["DIGEST"] == busybox_images["amd64"].digest, rows
    plain = dt.assert_ok(store.diyc("image", "ls")).stdout
    assert "DIGEST" not in plain.splitlines()[0]


def test_image_tag(store, http_reg, busybox_images):
    ref = f"{http_reg.host}/library/busybox:amd64"
    dr.pull_ok(store, ref, NOTLS)
    dt.assert_ok(store.diyc("image", "tag", ref, "mine/bb:1"))
    info = dr.image(store, "mine/bb:1")
    assert info["Id"].split(":")[-1] == busybox_images["amd64"].image_id
    assert set(info["RepoTags"]) >= {ref}
    dt.assert_error(store.diyc("image", "tag", "no-such-image:1", "x:1"), "no-such-image")


# -- run pulls what it lacks ---------------------------------------------------

def test_run_pulls_a_missing_image(store, http_reg, tmp_path):
    env = dr.insecure_conf(tmp_path / "insecure.conf", http_reg.host)
    ref = f"{http_reg.host}/library/busybox:amd64"
    out = dt.assert_ok(store.diyc("run", "--rm", "--net=none", ref, "cat", "/etc/diyc-image", env=env, timeout=120))
    assert out.stdout == "busybox amd64\n", dt.describe(out)
    assert dr.has_image(store, ref)


def test_run_pull_never_and_always(store, http_reg, tmp_path):
    env = dr.insecure_conf(tmp_path / "insecure.conf", http_reg.host)
    ref = f"{http_reg.host}/library/busybox:amd64"
    res = store.diyc("run", "--rm", "--net=none", "--pull=never", ref, "true", env=env)
    dt.assert_error(res, ref)
    assert not dr.has_image(store, ref)
    dt.assert_ok(store.diyc("run", "--rm", "--net=none", "--pull=missing", ref, "true", env=env, timeout=120))
    mark = http_reg.mark()
    dt.assert_ok(store.diyc("run", "--rm", "--net=none", "--pull=missing", ref, "true", env=env, timeout=120))
    assert http_reg.access_since(mark, r"/manifests/") == [], "--pull=missing asks nothing when the image is there"
    dt.assert_ok(store.diyc("run", "--rm", "--net=none", "--pull=always", ref, "true", env=env, timeout=120))
    assert http_reg.access_since(mark, r"/manifests/amd64"), "--pull=always asks the registry again"
    assert blob_gets(http_reg, mark) == []
    dt.assert_error(store.diyc("run", "--rm", "--net=none", "--pull=sometimes", ref, "true", env=env), "sometimes")


def test_run_without_pull_errors_clearly_on_http(store, http_reg):
    """An http registry not marked insecure: https is tried and fails with a clear error."""
    ref = f"{http_reg.host}/library/busybox:amd64"
    dt.assert_error(store.diyc("run", "--rm", "--net=none", ref, "true", timeout=60), http_reg.host)
    assert dr.layer_dirs(store) == []


# -- TLS ---------------------------------------------------------------------------------

def test_https_with_certs_d(store, basic_reg):
    """The CA is in $HOME/.config/containers/certs.d/HOST:PORT/ca.crt (conftest)."""
    dr.pull_ok(store, f"{basic_reg.host}/library/busybox:amd64", "--creds", f"bob:{rt.DEFAULT_USERS['bob']}")


def test_https_unknown_ca_is_refused(store, basic_reg, tmp_path):
    home = tmp_path / "home-without-certs"
    home.mkdir()
    res = dr.pull(store, f"{basic_reg.host}/library/busybox:amd64", "--creds", f"bob:{rt.DEFAULT_USERS['bob']}",
                  env={"HOME": str(home)})
    dt.assert_error(res, ("certificate", "tls", "ssl", "verify"))


def test_https_ca_in_etc_style_dir_via_xdg(store, basic_reg, ca, tmp_path):
    """certs.d below $XDG_CONFIG_HOME/containers is found too."""
    home = tmp_path / "h"
    home.mkdir()
    cfg = tmp_path / "xdg-config"
    d = cfg / "containers" / "certs.d" / basic_reg.host
    d.mkdir(parents=True)
    (d / "ca.crt").write_bytes(ca.cert.read_bytes())
    dr.pull_ok(store, f"{basic_reg.host}/library/busybox:amd64", "--creds", f"bob:{rt.DEFAULT_USERS['bob']}",
               env={"HOME": str(home), "XDG_CONFIG_HOME": str(cfg)})


def test_tls_verify_false_on_https(store, basic_reg, tmp_path):
    home = tmp_path / "home-without-certs"
    home.mkdir()
    dr.pull_ok(store, f"{basic_reg.host}/library/busybox:amd64", NOTLS, "--creds",
               f"bob:{rt.DEFAULT_USERS['bob']}", env={"HOME": str(home)})


def test_skopeo_pushed_diyc_pulls_podman_agrees(store, http_reg, busybox_images, tmp_path):
    """What skopeo pushed, diyc and podman pull to the same image id."""
    ref = f"{http_reg.host}/library/busybox:v2s2"
    res = dt.assert_ok(dr.pull(store, ref, "-q", NOTLS))
    pm = rt.Podman(tmp_path / "podman")
    try:
        got = pm("pull", "-q", NOTLS, ref).stdout.decode().strip()
    finally:
        pm.close()
    assert res.stdout.strip() == got
