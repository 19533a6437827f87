# SPDX-License-Identifier: MIT
# How `diyc push` uploads: a layer over 32 MiB in PATCH chunks (each with its
# Content-Range, contiguous from 0), then a PUT ?digest= with no body; a small blob in a
# single PUT ?digest=. The image is made by `diyc run` + `diyc commit`; what diyc pushed,
# `skopeo inspect` reports with the digest diyc printed, and `podman pull` gets with the
# same image id. Requests go through a recording proxy (hostile.Proxy) in front of the
# real registry, whose access log has the methods and paths but not the headers.
import re

import pytest

import diycreg as dr
import diyctest as dt
import hostile as hs
import regtest as rt

NOTLS = "--tls-verify=false"
BIG = 40 << 20
UPLOAD = re.compile(r"/v2/.+/blobs/uploads/([^/?]+)")


@pytest.fixture
def proxy(http_reg):
    p = hs.Proxy(http_reg.host).start()
    yield p
    p.stop()


def uploads(proxy):
    """{upload id: [requests]} in order, and the digest each upload was finished with."""
    out, digests = {}, {}
    for r in proxy.requests:
        m = UPLOAD.search(r["path"])
        if not m:
            continue
        out.setdefault(m.group(1), []).append(r)
        d = re.search(r"[?&]digest=(sha256(?::|%3A)[0-9a-f]{64})", r["path"])
        if r["method"] == "PUT" and d:
            digests[m.group(1)] = d.group(1).replace("%3A", ":")
    return out, digests


def content_range(r):
    m = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)", r["headers"].get("content-range", ""))
    assert m, f"a PATCH without a usable Content-Range: {r['headers']}"
    return int(m.group(1)), int(m.group(2))


def pushed_digest(res):
    line = dr.last_line(res)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", line), "push should print the manifest's digest\n" + dt.describe(res)
    return line


@pytest.fixture
def name():
    return dt.unique_name("chunks")


def test_large_layer_goes_in_chunks(store, http_reg, proxy, tmp_path, name):
    store.import_busybox("busybox")
    try:
        dt.assert_ok(store.diyc("run", "--net=none", "--name", name, "busybox", "sh", "-c",
                                f"head -c {BIG} /dev/urandom > /big && echo chunked > /etc/chunked", timeout=120))
        dt.assert_ok(store.diyc("commit", name, "big:1"))
    finally:
        store.diyc("rm", "-f", name)
    info = dr.image(store, "big:1")
    big_layer = info["RootFS"]["Layers"][-1]
    dest = f"{proxy.host}/chunked/big:1"
    mark = http_reg.mark()
    res = dt.assert_ok(dr.push(store, "big:1", NOTLS, dest=dest, timeout=300))
    digest = pushed_digest(res)

    ups, done = uploads(proxy)
    by_digest = {d: ups[u] for u, d in done.items()}
    assert big_layer in by_digest, f"no upload finished for the big layer {big_layer}: {done}"
    reqs = by_digest[big_layer]
    patches = [r for r in reqs if r["method"] == "PATCH"]
    assert len(patches) >= 2, f"a {BIG >> 20} MiB layer went up in {len(patches)} PATCH: {[r['method'] for r in reqs]}"
    at = 0
    for p in patches:
        start, end = content_range(p)
        assert start == at, f"chunks not contiguous: {[p['headers'].get('content-range') for p in patches]}"
        assert p["body_len"] == end - start + 1, "a chunk's body does not match its Content-Range"
        at = end + 1
    put = reqs[-1]
    assert put["method"] == "PUT" and put["body_len"] == 0, "the upload ends with a PUT ?digest= with no body"
    assert at > BIG, f"the chunks covered {at} bytes of a layer over {BIG}"
    # the small blobs (busybox's layer, the config): one PUT each, no PATCH
    small = {d: r for d, r in by_digest.items() if d != big_layer}
    assert small, "the small blobs were not uploaded"
    for d, rs in small.items():
        assert [r["method"] for r in rs] == ["PUT"], f"{d}: {[r['method'] for r in rs]}"
        assert rs[0]["body_len"] > 0
    # the registry's own log says the same
    assert http_reg.access_since(mark, r"/blobs/uploads/", "PATCH"), "the registry saw no PATCH"
    assert all(a["status"] == 202 for a in http_reg.access_since(mark, r"/blobs/uploads/", "PATCH"))
    assert [a for a in http_reg.access_since(mark, r"/blobs/uploads/.+digest=", "PUT") if a["status"] == 201]

    # skopeo sees the digest diyc printed; podman pulls the same image
    sk = rt.skopeo_inspect(http_reg, "chunked/big:1")
    assert sk["Digest"] == digest, (sk["Digest"], digest)
    assert big_layer in sk["Layers"]
    pm = rt.Podman(tmp_path / "podman")
    try:
        got = pm("pull", "-q", NOTLS, f"{http_reg.host}/chunked/big:1", timeout=300).stdout.decode().strip()
        assert got == dr.image_id(store, "big:1")
    finally:
        pm.close()


def test_small_image_goes_in_single_puts(store, http_reg, proxy):
    store.import_busybox("busybox")
    res = dt.assert_ok(dr.push(store, "busybox", NOTLS, dest=f"{proxy.host}/single/busybox:1"))
    digest = pushed_digest(res)
    ups, done = uploads(proxy)
    assert done, "nothing was uploaded"
    assert not [r for r in proxy.requests if r["method"] == "PATCH"], "a small blob went up in PATCH chunks"
    for u, rs in ups.items():
        assert [r["method"] for r in rs] == ["PUT"] and rs[0]["body_len"] > 0, (u, rs)
    assert proxy.requests[-1]["method"] == "PUT" and "/manifests/1" in proxy.requests[-1]["path"]
    assert rt.skopeo_inspect(http_reg, "single/busybox:1")["Digest"] == digest


def test_pushed_digest_matches_what_skopeo_reads(store, http_reg, tmp_path, name):
    """The plain round trip without the proxy: commit, push, skopeo and podman agree."""
    store.import_busybox("busybox")
    try:
        dt.assert_ok(store.diyc("run", "--net=none", "--name", name, "busybox", "sh", "-c", "echo x > /etc/x"))
        dt.assert_ok(store.diyc("commit", name, "committed:2"))
    finally:
        store.diyc("rm", "-f", name)
    res = dt.assert_ok(dr.push(store, "committed:2", NOTLS, dest=f"{http_reg.host}/committed/x:2"))
    digest = pushed_digest(res)
    assert rt.skopeo_inspect(http_reg, "committed/x:2")["Digest"] == digest
    d, _, _ = http_reg.manifest("committed/x", "2")
    assert d == digest
    pm = rt.Podman(tmp_path / "podman")
    try:
        got = pm("pull", "-q", NOTLS, f"{http_reg.host}/committed/x@{digest}").stdout.decode().strip()
        assert got == dr.image_id(store, "committed:2")
    finally:
        pm.close()
