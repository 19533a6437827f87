# SPDX-License-Identifier: MIT
# Credentials: htpasswd (Basic) and token (Bearer) registries, --creds, login/logout and
# the auth files podman and docker write (in podman's order), credential helpers, OAuth2
# refresh tokens (identitytoken), token reuse per scope, and no secret ever printed.
import base64
import json
import os
import stat

import pytest

import diycreg as dr
import diyctest as dt
import regtest as rt

ALICE, BOB = rt.DEFAULT_USERS["alice"], rt.DEFAULT_USERS["bob"]


@pytest.fixture(params=["basic", "token"])
def auth_reg(request):
    return request.getfixturevalue(f"{request.param}_reg")


def test_pull_without_credentials_is_refused(store, auth_reg):
    res = dr.pull(store, f"{auth_reg.host}/library/busybox:amd64")
    dt.assert_error(res, ("unauthorized", "authentication", "401", "denied"))
    assert dr.layer_dirs(store) == []


def test_pull_with_creds(store, auth_reg):
    res = dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64", "--creds", f"bob:{BOB}")
    dr.assert_no_secret(res, BOB)


def test_wrong_password(store, auth_reg):
    res = dr.pull(store, f"{auth_reg.host}/library/busybox:amd64", "--creds", "bob:not-the-password")
    dt.assert_error(res, ("unauthorized", "authentication", "401", "credentials", "denied"))
    dr.assert_no_secret(res, "not-the-password")


def test_creds_without_password_reads_nothing_from_a_closed_stdin(store, auth_reg):
    res = dr.pull(store, f"{auth_reg.host}/library/busybox:amd64", "--creds", "bob")
    assert res.returncode == 125, dt.describe(res)


def test_login_pull_logout(store, auth_reg, tmp_path):
    af = tmp_path / "auth.json"
    res = dt.assert_ok(store.diyc("login", "-u", "alice", "-p", ALICE, "--authfile", af, auth_reg.host))
    assert "Login Succeeded!" in res.stdout
    dr.assert_no_secret(res, ALICE)
    assert stat.S_IMODE(os.stat(af).st_mode) == 0o600
    entry = dr.read_auth(af)["auths"][auth_reg.host]
    assert base64.b64decode(entry["auth"]).decode() == f"alice:{ALICE}"
    dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64", "--authfile", af)
    dt.assert_ok(store.diyc("logout", "--authfile", af, auth_reg.host))
    assert auth_reg.host not in dr.read_auth(af).get("auths", {})
    dt.assert_error(dr.pull(store, f"{auth_reg.host}/library/busybox:arm64", "--authfile", af))


def test_login_password_stdin_and_default_file(store, auth_reg):
    res = dt.assert_ok(store.diyc("login", "-u", "bob", "--password-stdin", auth_reg.host, input=BOB + "\n"))
    assert "Login Succeeded!" in res.stdout
    default = store.run.parent / "containers" / "auth.json"   # $XDG_RUNTIME_DIR/containers/auth.json
    assert default.exists(), "login writes $XDG_RUNTIME_DIR/containers/auth.json by default"
    assert stat.S_IMODE(os.stat(default).st_mode) == 0o600
    dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64")
    dt.assert_ok(store.diyc("logout", "--all"))
    assert not dr.read_auth(default).get("auths")


def test_login_wrong_password_writes_nothing(store, auth_reg, tmp_path):
    af = tmp_path / "auth.json"
    res = store.diyc("login", "-u", "alice", "-p", "wrong-pw", "--authfile", af, auth_reg.host)
    dt.assert_error(res, ("unauthorized", "authentication", "401", "credentials", "denied"))
    dr.assert_no_secret(res, "wrong-pw")
    assert not af.exists() or auth_reg.host not in dr.read_auth(af).get("auths", {})


def test_login_keeps_other_entries(store, auth_reg, tmp_path):
    af = dr.auth_json(tmp_path / "auth.json", {"other.example:5000": ("u", "p")}, credHelpers={"x.example": "nope"})
    dt.assert_ok(store.diyc("login", "-u", "bob", "-p", BOB, "--authfile", af, auth_reg.host))
    data = dr.read_auth(af)
    assert "other.example:5000" in data["auths"] and auth_reg.host in data["auths"]
    assert data["credHelpers"] == {"x.example": "nope"}


def test_registry_auth_file_variable(store, auth_reg, tmp_path):
    af = dr.auth_json(tmp_path / "env-auth.json", {auth_reg.host: ("bob", BOB)})
    dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64", env={"REGISTRY_AUTH_FILE": str(af)})


def test_podman_written_auth_file(store, auth_reg, tmp_path):
    af = tmp_path / "podman-auth.json"
    pm = rt.Podman(tmp_path / "podman")
    try:
        pm("login", "--authfile", af, "-u", "bob", "-p", BOB, *auth_reg.skopeo_args()[:2], auth_reg.host)
    finally:
        pm.close()
    dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64", "--authfile", af)


def test_docker_config_json(store, auth_reg, tmp_path):
    home = tmp_path / "home"
    dr.auth_json(home / ".docker" / "config.json", {auth_reg.host: ("bob", BOB)})
    auth_reg.ca.install_certs_d(home, auth_reg.host)
    dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64", env={"HOME": str(home)})


def test_repository_key_wins_over_host_key(store, auth_reg, tmp_path):
    af = dr.auth_json(tmp_path / "auth.json", {auth_reg.host: ("bob", "wrong"),
                                                f"{auth_reg.host}/library/busybox": ("bob", BOB)})
    dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64", "--authfile", af)


def test_credential_helper(store, auth_reg, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-diyctest"
    helper.write_text("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n"
                      f"printf '{{\"ServerURL\":\"%s\",\"Username\":\"bob\",\"Secret\":\"{BOB}\"}}' \"$server\"\n")
    helper.chmod(0o755)
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"credHelpers": {auth_reg.host: "diyctest"}}))
    auth_reg.ca.install_certs_d(home, auth_reg.host)
    res = dr.pull_ok(store, f"{auth_reg.host}/library/busybox:amd64",
                     env={"HOME": str(home), "PATH": f"{bindir}:{os.environ['PATH']}"})
    dr.assert_no_secret(res, BOB)


def test_verbose_prints_no_credential(store, token_reg, token_server):
    token_server.clear()
    res = dr.pull(store, f"{token_reg.host}/library/busybox:amd64", "--verbose", "--creds", f"alice:{ALICE}")
    dt.assert_ok(res)
    dr.assert_no_secret(res, ALICE)
    tokens = [r for r in token_server.requests if r.get("answered") == 200]
    assert tokens
    assert "eyJ" not in res.stderr, "a JWT was printed\n" + dt.describe(res)


# -- token specifics ------------------------------------------------------------------------

def test_token_request_names_service_and_scope(store, token_reg, token_server):
    token_server.clear()
    dr.pull_ok(store, f"{token_reg.host}/library/busybox:amd64", "--creds", f"bob:{BOB}")
    got = [r for r in token_server.requests if r.get("answered") == 200]
    assert got, token_server.requests
    for r in got:
        q = r["query"] if r["method"] == "GET" else r["form"]
        assert q.get("service") == [rt.SERVICE], r
        assert "repository:library/busybox:pull" in " ".join(q.get("scope", [])), r
        assert r["user"] == "bob"


def test_token_is_reused_across_blobs(store, token_reg, token_server, debian_images, busybox_images):
    """One token per scope for a whole pull, not one per request."""
    for c, im in debian_images.items():
        rt.skopeo_push(im.layout.dir, c, token_reg, f"library/debian:{c}", user="alice")
    token_server.clear()
    dr.pull_ok(store, f"{token_reg.host}/library/debian:gzip", "--creds", f"bob:{BOB}")
    got = [r for r in token_server.requests if r.get("answered") == 200]
    assert 1 <= len(got) <= 2, f"{len(got)} tokens for one pull: {[r['path'] for r in got]}"


def test_anonymous_token_for_public_repository(store, token_reg, token_server):
    token_server.clear()
    dr.pull_ok(store, f"{token_reg.host}/public/busybox:amd64")
    assert token_server.requests and all("authorization" not in r["headers"] for r in token_server.requests)


def test_identity_token_uses_the_oauth2_post(store, token_reg, token_server, tmp_path):
    rtok = token_server._new_refresh("bob")
    af = dr.auth_json(tmp_path / "auth.json", {token_reg.host: {"identitytoken": rtok}})
    token_server.clear()
    res = dr.pull_ok(store, f"{token_reg.host}/library/busybox:amd64", "--authfile", af)
    dr.assert_no_secret(res, rtok)
    posts = [r for r in token_server.requests if r["method"] == "POST"]
    assert posts and posts[0]["form"]["grant_type"] == ["refresh_token"], token_server.requests
    assert posts[0]["form"]["refresh_token"] == [rtok]
    assert not [r for r in token_server.requests if r["method"] == "GET" and "authorization" in r["headers"]]


def test_token_server_failure_is_clear(store, token_reg, token_server):
    token_server.clear()
    token_server.fail_next[:] = [503] * 20
    try:
        res = dr.pull(store, f"{token_reg.host}/library/busybox:amd64", "--creds", f"bob:{BOB}", "--retry", "0")
    finally:
        token_server.fail_next.clear()
    dt.assert_error(res, ("token", "503", "auth"))


def test_push_denied_to_bob(store, token_reg):
    ref = f"{token_reg.host}/library/busybox:amd64"
    dr.pull_ok(store, ref, "--creds", f"bob:{BOB}")
    dt.assert_ok(store.diyc("image", "tag", ref, f"{token_reg.host}/bob/denied:1"))
    res = dr.push(store, f"{token_reg.host}/bob/denied:1", "--creds", f"bob:{BOB}")
    dt.assert_error(res, ("denied", "unauthorized", "403", "401", "insufficient", "not allowed"))
    assert "1" not in token_reg.tags("bob/denied", user="alice")
