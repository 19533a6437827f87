# SPDX-License-Identifier: MIT
# Hostile registries (hostile.py): each misbehaviour ends in one clear error line (exit
# 125), within bounded time and memory, with nothing left in the store (the leak check
# looks at tmp/ and half-made layers after each test) and no layer stored that was not
# verified; and the recoverable ones (500 then success, 429 with Retry-After, a truncated
# body resumed with Range) succeed.
import io
import os
import signal
import tarfile
import time

import pytest

import diycreg as dr
import diyctest as dt
import hostile as hs
import regtest as rt

NOTLS = "--tls-verify=false"
STALL = "3"
NAME = "library/busybox"


@pytest.fixture
def bb(hostile, busybox_images):
    """The hostile registry serving busybox amd64 as library/busybox:amd64."""
    return hostile.serve_image(NAME, "amd64", busybox_images["amd64"])


def pull_h(store, hostile, *args, ref=None, timeout=60, env=None):
    e = {"DIYC_REGISTRY_STALL_TIMEOUT": STALL}
    e.update(env or {})
    t0 = time.monotonic()
    res = dr.pull(store, ref or f"{hostile.host}/{NAME}:amd64", NOTLS, *args, env=e, timeout=timeout)
    res.elapsed = time.monotonic() - t0
    return res


def layer(bb):
    return bb.layers[0]["digest"], bb.layout.read_blob(bb.layers[0]["digest"])


def assert_nothing_stored(store):
    assert dr.layer_dirs(store) == [], "a layer was stored from a failed pull"


def test_well_behaved_hostile_serves(store, hostile, bb):
    dr.pull_ok(store, f"{hostile.host}/{NAME}:amd64", NOTLS)


def test_wrong_digest(store, hostile, bb):
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.corrupted(data))
    res = pull_h(store, hostile, "--retry", "1")
    dt.assert_error(res, "digest")
    assert_nothing_stored(store)


@pytest.mark.parametrize("extra", [100, -100])
def test_wrong_size(store, hostile, bb, extra):
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.resized(data, extra))
    res = pull_h(store, hostile, "--retry", "0")
    dt.assert_error(res, ("size", "digest", "length", "bytes"))
    assert_nothing_stored(store)


def test_truncated_body_fails_without_retries(store, hostile, bb):
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.truncated(data, len(data) // 2))
    res = pull_h(store, hostile, "--retry", "0")
    dt.assert_error(res, ("truncated", "short", "incomplete", "connection", "transfer", "closed"))
    assert_nothing_stored(store)


def test_truncated_body_resumes_with_range(store, hostile, bb):
    d, data = layer(bb)
    keep = len(data) // 2
    hostile.on("GET", hostile.blob_path(NAME, d), hs.truncated(data, keep, times=1))
    dr.pull_ok(store, f"{hostile.host}/{NAME}:amd64", NOTLS, "--retry", "2",
               env={"DIYC_REGISTRY_STALL_TIMEOUT": STALL})
    gets = hostile.requests_to(hostile.blob_path(NAME, d), "GET")
    assert len(gets) == 2, gets
    assert gets[1]["headers"].get("range") == f"bytes={keep}-", "the retry resumes where the cut was"


def test_endless_body(store, hostile, bb):
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.endless())
    res = pull_h(store, hostile, "--retry", "0", timeout=60)
    dt.assert_error(res, ("size", "too", "long", "large", "bytes", "digest"))
    assert res.elapsed < 30
    assert_nothing_stored(store)


def test_endless_body_claiming_its_size(store, hostile, bb):
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.endless(length=len(data) * 1000))
    res = pull_h(store, hostile, "--retry", "0", timeout=60)
    dt.assert_error(res, ("size", "length", "large", "bytes"))
    assert res.elapsed < 30


@pytest.mark.parametrize("declare", [True, False])
def test_huge_manifest(store, hostile, bb, declare):
    hostile.on("GET", hostile.manifest_path(NAME, "amd64"), hs.huge_manifest(declare_length=declare))
    # ru_maxrss of children is the largest any child had: run it in a fresh process tree
    cmd = ["/usr/bin/env", f"DIYC_REGISTRY_STALL_TIMEOUT={STALL}", dt.diyc_bin(), "pull", NOTLS,
           f"{hostile.host}/{NAME}:amd64"]
    probe = ("import resource,subprocess,sys; r=subprocess.run(sys.argv[1:],capture_output=True,timeout=60);"
             "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)+'\\n');"
             "sys.stderr.write(r.stderr.decode()); sys.exit(r.returncode)")
    t0 = time.monotonic()
    res = dt.run(["/usr/bin/python3", "-c", probe, *cmd], env=store.env, timeout=90)
    elapsed = time.monotonic() - t0
    rss = int(res.stdout.strip() or 0)
    res.stdout = ""
    dt.assert_error(res, ("manifest", "large", "size", "big"))
    assert rss < 64 * 1024, f"pulling a 100 MB manifest took {rss} KiB"
    assert elapsed < 30


def test_deeply_nested_manifest(store, hostile, bb):
    hostile.on("GET", hostile.manifest_path(NAME, "amd64"), hs.nested_manifest())
    res = pull_h(store, hostile)
    dt.assert_error(res, ("manifest", "json", "nest", "depth", "parse"))


def test_schema1_is_refused(store, hostile, bb):
    body = b'{"schemaVersion":1,"name":"library/busybox","tag":"amd64","fsLayers":[],"history":[]}'
    hostile.serve_raw_manifest(NAME, "amd64", body, rt.MT_SCHEMA1_SIGNED)
    dt.assert_error(pull_h(store, hostile), "schema")


def test_content_type_must_match_media_type(store, hostile, bb):
    body = bb.layout.read_blob(bb.digest)
    hostile.serve_raw_manifest(NAME, "amd64", body, rt.MT_DOCKER_MANIFEST)
    line = dt.assert_error(pull_h(store, hostile))
    assert rt.MT_DOCKER_MANIFEST in line and rt.MT_OCI_MANIFEST in line, \
        f"the error should name both media types: {line}"


def test_manifest_digest_header_checked(store, hostile, bb):
    body = bb.layout.read_blob(bb.digest)
    hostile.on("GET", hostile.manifest_path(NAME, "amd64"),
               hs.answer(200, body, {"Docker-Content-Digest": "sha256:" + "1" * 64}, ctype=rt.MT_OCI_MANIFEST))
    dt.assert_error(pull_h(store, hostile), "digest")


def test_manifest_by_digest_checked(store, hostile, bb, busybox_images):
    """Asked by digest, the bytes must have that digest (a registry answering with another
    manifest, even a valid one, is caught)."""
    other = busybox_images["arm64"]
    hostile.serve_raw_manifest(NAME, bb.digest, other.layout.read_blob(other.digest), rt.MT_OCI_MANIFEST)
    res = pull_h(store, hostile, ref=f"{hostile.host}/{NAME}@{bb.digest}")
    dt.assert_error(res, "digest")


def test_redirect_loop(store, hostile, bb):
    d, _ = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.redirect("/loop/0"))
    hostile.on("GET", r"/loop/(\d+)", lambda req, m: req.send(302, b"", {"Location": f"/loop/{int(m.group(1)) + 1}"}))
    res = pull_h(store, hostile, "--retry", "0")
    dt.assert_error(res, ("redirect",))
    assert len(hostile.requests_to(r"^/loop/")) <= 20


def test_redirect_to_another_host_drops_authorization(store, hostile, other_host, busybox_images):
    """The registry needs Basic auth; its blobs redirect to another host (another port on
    127.0.0.2), which must get no Authorization, and serves the blob."""
    im = busybox_images["amd64"]
    hostile.serve_image(NAME, "amd64", im)
    for d in [im.config_digest] + [l["digest"] for l in im.layers]:
        other_host.blobs[d] = im.layout.read_blob(d)
        hostile.on("GET", hostile.blob_path(NAME, d),
                   hs.basic_auth_required("alice", "hostile-pw", hs.redirect(f"{other_host.url}/v2/{NAME}/blobs/{d}")))
    hostile.on("GET", r"/v2/", hs.basic_auth_required("alice", "hostile-pw", hs.answer(200, b"{}")))
    hostile.on("GET", hostile.manifest_path(NAME, "amd64"),
               hs.basic_auth_required("alice", "hostile-pw",
                                      lambda req, m: req.send(200, im.layout.read_blob(im.digest),
                                                              ctype=rt.MT_OCI_MANIFEST)))
    res = dr.pull(store, f"{hostile.host}/{NAME}:amd64", NOTLS, "--creds", "alice:hostile-pw")
    dt.assert_ok(res)
    assert other_host.requests, "the redirect was not followed"
    leaked = [r for r in other_host.requests if "authorization" in r["headers"]]
    assert not leaked, "the registry's Authorization was sent to another host"


def test_token_realm_on_http_is_refused(store, hostile_tls, hostile, busybox_images):
    """An https registry whose token realm is http: refused, and the credentials never go
    to the realm."""
    hostile_tls.serve_image(NAME, "amd64", busybox_images["amd64"])
    hostile_tls.on("*", r"/v2/.*", hs.bearer_challenge(f"{hostile.url}/token", scope=f"repository:{NAME}:pull"))
    hostile.on("GET", r"/token", hs.answer(200, b'{"token":"x"}'))
    res = dr.pull(store, f"{hostile_tls.host}/{NAME}:amd64", "--creds", "alice:realm-pw",
                  env={"DIYC_REGISTRY_STALL_TIMEOUT": STALL})
    dt.assert_error(res, ("realm", "http", "insecure"))
    dr.assert_no_secret(res, "realm-pw")
    assert not [r for r in hostile.requests if "authorization" in r["headers"]], "credentials sent over http"


@pytest.mark.parametrize("lie", ["start", "body"])
def test_content_range_that_lies(store, hostile, bb, lie):
    d, data = layer(bb)
    keep = len(data) // 2
    fn = hs.lying_range(data, keep, start_offset=keep + 7) if lie == "start" else \
        hs.lying_range(data, keep, body_from=keep - 5)
    hostile.on("GET", hostile.blob_path(NAME, d), fn)
    res = pull_h(store, hostile, "--retry", "3")
    if res.returncode == 0:
        # restarting the blob from the start is a fine answer to a lie; the layer must be right
        assert dr.run_cat(store, f"{hostile.host}/{NAME}:amd64", "/etc/diyc-image") == "busybox amd64\n"
    else:
        dt.assert_error(res, ("range", "digest", "more than", "bytes"))
        assert_nothing_stored(store)
    assert any(r["headers"].get("range") for r in hostile.requests_to(hostile.blob_path(NAME, d))), \
        "the retry should have tried to resume"


def _evil_image(layout_dir, entries):
    layout = rt.Layout(layout_dir)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return rt.build_image(layout, "evil", [buf.getvalue()])


@pytest.mark.parametrize("path", ["../escape-{t}", "etc/../../escape-{t}", "/../escape-{t}"])
def test_layer_with_dotdot_path(store, hostile, tmp_path, path):
    t = dt.token()
    im = _evil_image(tmp_path / "evil", [("etc/ok", b"ok\n"), (path.format(t=t), b"escaped\n")])
    hostile.serve_image(NAME, "evil", im)
    res = pull_h(store, hostile, ref=f"{hostile.host}/{NAME}:evil")
    dt.assert_error(res, ("..", "path", "outside", "unsafe"))
    assert not dt.find_named(tmp_path, {f"escape-{t}"}), "a file was written outside the layer"
    assert not dr.has_image(store, f"{hostile.host}/{NAME}:evil")


@pytest.mark.parametrize("headers_too", [False, True])
def test_slow_loris(store, hostile, bb, headers_too):
    """A byte a second keeps a connection alive forever: the pull must still end, in bounded
    time (a transfer that slow counts as stalled)."""
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.slow_loris(data, every=1.0, headers_too=headers_too))
    res = pull_h(store, hostile, "--retry", "0", timeout=90)
    dt.assert_error(res, ("stall", "slow", "timeout", "timed out"))
    assert res.elapsed < 60, f"the slow-loris held the pull {res.elapsed:.0f}s"
    assert_nothing_stored(store)


def test_500_then_success(store, hostile, bb):
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.fail_then([500, 500], lambda r, m: hs.serve_blob(r, data)))
    dr.pull_ok(store, f"{hostile.host}/{NAME}:amd64", NOTLS, "--retry", "3")
    assert len(hostile.requests_to(hostile.blob_path(NAME, d), "GET")) == 3


def test_500_gives_up_after_retries(store, hostile, bb):
    d, data = layer(bb)
    hostile.on("GET", hostile.blob_path(NAME, d), hs.json_error(500))
    res = pull_h(store, hostile, "--retry", "2")
    dt.assert_error(res, "500")
    assert len(hostile.requests_to(hostile.blob_path(NAME, d), "GET")) == 3
    assert_nothing_stored(store)


def test_429_retry_after(store, hostile, bb):
    hostile.on("GET", hostile.manifest_path(NAME, "amd64"),
               hs.fail_then([429], lambda r, m: hostile._default(r), headers={"Retry-After": "2"}))
    t0 = time.monotonic()
    dr.pull_ok(store, f"{hostile.host}/{NAME}:amd64", NOTLS, "--retry", "2")
    reqs = hostile.requests_to(hostile.manifest_path(NAME, "amd64"), "GET")
    assert len(reqs) >= 2
    assert reqs[1]["time"] - reqs[0]["time"] >= 1.8, "Retry-After was not waited for"
    assert time.monotonic() - t0 < 30


def test_429_without_retries_is_explained(store, hostile, bb):
    hostile.on("GET", hostile.manifest_path(NAME, "amd64"),
               hs.json_error(429, headers={"Retry-After": "30", "RateLimit-Limit": "100;w=21600",
                                           "RateLimit-Remaining": "0;w=21600"}))
    res = pull_h(store, hostile, "--retry", "0")
    dt.assert_error(res, ("429", "too many", "rate"))


@pytest.mark.parametrize("status,code,message", [
    (401, "UNAUTHORIZED", "authentication required"),
    (403, "DENIED", "requested access to the resource is denied"),
    (404, "MANIFEST_UNKNOWN", "manifest unknown"),
])
def test_distribution_error_bodies(store, hostile, bb, status, code, message):
    hostile.on("GET", hostile.manifest_path(NAME, "amd64"), hs.json_error(status, code, message))
    res = pull_h(store, hostile, "--retry", "0")
    dt.assert_error(res, (message, code.lower(), str(status)))


def test_parallel_layer_downloads(store, hostile, tmp_path):
    """Four layers each served slowly: they are fetched side by side (3 by default)."""
    layout = rt.Layout(tmp_path / "four")
    tars = [rt.tar_layer([(f"l{i}", "d", None, 0o755), (f"l{i}/f", "f", os.urandom(4096), 0o644)]) for i in range(4)]
    im = rt.build_image(layout, "four", tars)
    hostile.serve_image(NAME, "four", im)
    for l in im.layers:
        data = layout.read_blob(l["digest"])
        hostile.on("GET", hostile.blob_path(NAME, l["digest"]),
                   lambda req, m, data=data: (time.sleep(0.5), hs.serve_blob(req, data)))
    dr.pull_ok(store, f"{hostile.host}/{NAME}:four", NOTLS)
    assert hostile.max_active >= 2, f"at most {hostile.max_active} blob downloads at a time"
    assert hostile.max_active <= 4


@pytest.mark.parametrize("sig", ["INT", "TERM", "KILL"])
def test_interrupted_pull_leaves_nothing_half_made(store, hostile, tmp_path, sig):
    """A pull stopped while a layer trickles in: nothing half-made stays (after SIGKILL, the
    next pull cleans up and then succeeds)."""
    layout = rt.Layout(tmp_path / "two")
    tars = [rt.tar_layer([("a", "d", None, 0o755), ("a/f", "f", b"a" * 1000, 0o644)]),
            rt.tar_layer([("b", "d", None, 0o755), ("b/f", "f", os.urandom(200000), 0o644)])]
    im = rt.build_image(layout, "two", tars)
    hostile.serve_image(NAME, "two", im)
    slow = layout.read_blob(im.layers[1]["digest"])
    gate = {"slow": True}
    hostile.on("GET", hostile.blob_path(NAME, im.layers[1]["digest"]),
               lambda req, m: hs.slow_loris(slow, every=0.2, step=4096)(req, m) if gate["slow"]
               else hs.serve_blob(req, slow))
    ref = f"{hostile.host}/{NAME}:two"
    with store.popen("pull", NOTLS, ref, env={"DIYC_REGISTRY_STALL_TIMEOUT": "30"}) as p:
        dt.wait_until(lambda: hostile.requests_to(hostile.blob_path(NAME, im.layers[1]["digest"])), 20,
                      what="the slow layer's download to start")
        time.sleep(1.0)
        p.signal(getattr(signal, "SIG" + sig))
        res = p.finish(timeout=30)
    assert res.returncode != 0
    assert not dr.has_image(store, ref)
    if sig != "KILL":
        assert dr.store_leftovers(store) == [], "an interrupted pull left files"
    gate["slow"] = False
    dr.pull_ok(store, ref, NOTLS)
    assert dr.store_leftovers(store) == []
