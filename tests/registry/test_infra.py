# SPDX-License-Identifier: MIT
# The test infrastructure itself, without diyc: the three registries answer, skopeo pushes
# and inspects the built images through each with the same digests, the token server's
# tokens are taken by distribution for the right user only, podman pulls through all three,
# and the hostile registry serves a well-formed image. When these fail, the diyc tests'
# failures say nothing about diyc.
import json

import pytest

import hostile as hs
import regtest as rt

pytestmark = pytest.mark.infra


def test_registries_answer(reg_http, reg_basic, reg_token, ca):
    st, _, _ = rt.http(reg_http.url + "/v2/")
    assert st == 200
    st, h, _ = rt.http(reg_basic.url + "/v2/", ctx=ca.client_context())
    assert st == 401 and h["www-authenticate"].startswith("Basic "), h
    st, h, _ = rt.http(reg_token.url + "/v2/", ctx=ca.client_context())
    assert st == 401 and h["www-authenticate"].startswith("Bearer "), h
    assert reg_token.token.realm in h["www-authenticate"]


@pytest.mark.parametrize("which", ["http_reg", "basic_reg", "token_reg"])
def test_skopeo_pushed_what_was_built(request, which, busybox_images):
    reg = request.getfixturevalue(which)
    user = None if reg.mode == "http" else "alice"
    idx = json.loads(rt.skopeo_inspect(reg, "library/busybox:latest", user=user, raw=True))
    assert idx["mediaType"] == rt.MT_OCI_INDEX
    assert [m["digest"] for m in idx["manifests"]] == [busybox_images["amd64"].digest,
                                                        busybox_images["arm64"].digest]
    assert rt.sha256(json.dumps(busybox_images["index"][1], sort_keys=True, separators=(",", ":")).encode()) \
        == busybox_images["index"][0]["digest"]
    info = rt.skopeo_inspect(reg, "library/busybox:amd64", user=user)
    assert info["Digest"] == busybox_images["amd64"].digest
    d, mt, m = reg.manifest("library/busybox", "v2s2", user=user)
    assert mt == rt.MT_DOCKER_MANIFEST and m["config"]["digest"] == busybox_images["amd64"].config_digest


def test_debian_layers(debian_http, debian_images):
    g, z = debian_images["gzip"], debian_images["zstd"]
    assert len(g.layers) == 3 and g.diff_ids == z.diff_ids
    assert {l["mediaType"] for l in z.layers} == {rt.MT_OCI_LAYER_ZSTD}
    for tag, im in (("gzip", g), ("zstd", z)):
        d, mt, m = debian_http.manifest("library/debian", tag)
        assert d == im.digest and [l["digest"] for l in m["layers"]] == [l["digest"] for l in im.layers]


def test_token_grants(token_reg, token_server, ca):
    """alice may push, bob may only pull, anonymous only public/*; a wrong password gets no
    token; a token signed by an unknown key is refused."""
    for user, can_push in (("alice", True), ("bob", False)):
        tok = token_server.token_for(user, rt.DEFAULT_USERS[user], "repository:library/pushtest:pull,push")
        st, _, _ = token_reg.request("/v2/library/pushtest/blobs/uploads/", method="POST", data=b"",
                                     headers={"Authorization": "Bearer " + tok})
        assert (st == 202) == can_push, (user, st)
    for user, repo, want in (("bob", "library/busybox", 200), (None, "library/busybox", 401),
                             (None, "public/busybox", 200)):
        tok = token_server.token_for(user, rt.DEFAULT_USERS.get(user), f"repository:{repo}:pull")
        st, _, _ = token_reg.request(f"/v2/{repo}/manifests/amd64", headers={"Authorization": "Bearer " + tok})
        assert st == want, (user, repo, st)
    with pytest.raises(RuntimeError):
        token_server.token_for("alice", "wrong", "repository:library/busybox:pull")
    other = rt.TokenServer(token_server.dir.parent / "token-other", ca)
    bad = other.make_token("alice", [("library/busybox", ["pull"])])[0]
    st, _, _ = token_reg.request("/v2/library/busybox/manifests/amd64", headers={"Authorization": "Bearer " + bad})
    assert st == 401


def test_token_oauth_post_chunked(token_reg, token_server, ca):
    """The OAuth2 POST, as skopeo and podman send it (chunked), with both grants."""
    import http.client
    import urllib.parse

    def post(form):
        c = http.client.HTTPSConnection("127.0.0.1", token_server.port, context=ca.client_context())
        body = urllib.parse.urlencode(form).encode()
        c.putrequest("POST", "/token")
        c.putheader("Content-Type", "application/x-www-form-urlencoded")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        c.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        r = c.getresponse()
        return r.status, json.loads(r.read())

    st, out = post({"grant_type": "password", "username": "bob", "password": rt.DEFAULT_USERS["bob"],
                    "service": rt.SERVICE, "scope": "repository:library/busybox:pull", "client_id": "t",
                    "access_type": "offline"})
    assert st == 200 and out["refresh_token"], out
    st, out2 = post({"grant_type": "refresh_token", "refresh_token": out["refresh_token"], "service": rt.SERVICE,
                     "scope": "repository:library/busybox:pull", "client_id": "t"})
    assert st == 200, out2
    st, _, _ = token_reg.request("/v2/library/busybox/manifests/amd64",
                                 headers={"Authorization": "Bearer " + out2["access_token"]})
    assert st == 200
    assert token_server.requests[-1]["chunked"] and token_server.requests[-1]["user"] == "bob"


@pytest.mark.parametrize("which", ["http_reg", "basic_reg", "token_reg"])
def test_podman_pulls(request, which, tmp_path, busybox_images):
    reg = request.getfixturevalue(which)
    user = None if reg.mode == "http" else "bob"
    pm = rt.Podman(tmp_path / "podman")
    try:
        res = pm("pull", "-q", *reg.skopeo_args(user), f"{reg.host}/library/busybox:amd64")
        assert res.stdout.decode().strip() == busybox_images["amd64"].image_id
    finally:
        pm.close()


def test_hostile_serves_an_image(hostile, busybox_images):
    im = hostile.serve_image("library/busybox", "amd64", busybox_images["amd64"])
    st, h, body = rt.http(f"{hostile.url}/v2/library/busybox/manifests/amd64")
    assert st == 200 and rt.sha256(body) == im.digest and h["content-type"] == rt.MT_OCI_MANIFEST
    hostile.on("GET", hostile.blob_path("library/busybox", im.layers[0]["digest"]), hs.json_error(500))
    st, _, body = rt.http(f"{hostile.url}/v2/library/busybox/blobs/{im.layers[0]['digest']}")
    assert st == 500 and json.loads(body)["errors"][0]["code"] == "UNKNOWN"
    assert len(hostile.requests) == 2
