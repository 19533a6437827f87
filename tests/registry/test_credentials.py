# SPDX-License-Identifier: MIT
# No credential in any output, `--verbose` included, for push and login as for pull
# (test_auth.py::test_verbose_prints_no_credential): not the password, not user:password
# in base64 (a Basic header), not a token (a JWT starts `eyJ`), not a refresh token; on
# success and on failure. And the auth file `diyc login`/`logout` write: 0600 even when it
# was not, every other key kept as it was, nothing left beside it.
import base64
import json
import os
import stat

import pytest

import diycreg as dr
import diyctest as dt
import regtest as rt

ALICE = rt.DEFAULT_USERS["alice"]


@pytest.fixture(params=["basic", "token"])
def auth_reg(request):
    return request.getfixturevalue(f"{request.param}_reg")


def assert_clean(res, user, password, *more):
    """No secret in RES: the password, user:password in base64, a JWT, MORE."""
    dr.assert_no_secret(res, password, *more)
    text = res.stdout + res.stderr
    b = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert b[:-4] not in text, "a Basic Authorization was printed\n" + dt.describe(res)
    assert "eyJ" not in text, "a JWT was printed\n" + dt.describe(res)
    assert "Authorization" not in text and "authorization:" not in text.lower(), \
        "an Authorization header was printed\n" + dt.describe(res)


def test_push_verbose_prints_no_credential(store, auth_reg, token_server):
    store.import_busybox("busybox")
    token_server.clear()
    dest = f"{auth_reg.host}/alice/verbose:1"
    res = dt.assert_ok(dr.push(store, "busybox", "--verbose", "--creds", f"alice:{ALICE}", dest=dest))
    assert_clean(res, "alice", ALICE)
    assert "1" in auth_reg.tags("alice/verbose", user="alice")


def test_push_verbose_with_an_authfile_prints_no_credential(store, auth_reg, tmp_path):
    store.import_busybox("busybox")
    af = dr.auth_json(tmp_path / "auth.json", {auth_reg.host: ("alice", ALICE)})
    res = dt.assert_ok(dr.push(store, "busybox", "--verbose", "--authfile", af,
                               dest=f"{auth_reg.host}/alice/verbose-af:1"))
    assert_clean(res, "alice", ALICE)
    # --verbose says where the credentials came from (the file), never what they are
    assert str(af) in res.stderr, "--verbose did not say where the credentials came from\n" + dt.describe(res)


def test_push_verbose_with_wrong_password(store, auth_reg):
    store.import_busybox("busybox")
    res = dr.push(store, "busybox", "--verbose", "--creds", "alice:wrong-push-pw",
                  dest=f"{auth_reg.host}/alice/verbose-bad:1")
    # --verbose may add debug lines: the last line is the error
    assert res.returncode == 125, dt.describe(res)
    lines = res.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("diyc: ") and not lines[-1].startswith("diyc: warning"), dt.describe(res)
    assert_clean(res, "alice", "wrong-push-pw")
    dt.assert_error(dr.push(store, "busybox", "--creds", "alice:wrong-push-pw",
                            dest=f"{auth_reg.host}/alice/verbose-bad:1"),
                    ("unauthorized", "authentication", "401", "credentials", "denied"))


def test_push_verbose_with_identity_token(store, token_reg, token_server, tmp_path):
    store.import_busybox("busybox")
    rtok = token_server._new_refresh("alice")
    af = dr.auth_json(tmp_path / "auth.json", {token_reg.host: {"identitytoken": rtok}})
    res = dt.assert_ok(dr.push(store, "busybox", "--verbose", "--authfile", af,
                               dest=f"{token_reg.host}/alice/verbose-it:1"))
    assert_clean(res, "alice", ALICE, rtok)


@pytest.mark.parametrize("how", ["-p", "stdin"])
def test_login_verbose_prints_no_credential(store, auth_reg, tmp_path, how):
    af = tmp_path / "auth.json"
    args = ["-p", ALICE] if how == "-p" else ["--password-stdin"]
    res = dt.assert_ok(store.diyc("login", "--verbose", "-u", "alice", *args, "--authfile", af, auth_reg.host,
                                  input=ALICE + "\n" if how == "stdin" else None))
    assert "Login Succeeded!" in res.stdout
    assert_clean(res, "alice", ALICE)
    assert stat.S_IMODE(os.stat(af).st_mode) == 0o600


def test_login_verbose_wrong_password(store, auth_reg, tmp_path):
    af = tmp_path / "auth.json"
    res = store.diyc("login", "--verbose", "-u", "alice", "-p", "wrong-login-pw", "--authfile", af, auth_reg.host)
    assert res.returncode == 125, dt.describe(res)
    assert res.stderr.strip().splitlines()[-1].startswith("diyc: "), dt.describe(res)
    assert_clean(res, "alice", "wrong-login-pw")
    assert not af.exists() or auth_reg.host not in dr.read_auth(af).get("auths", {})


def test_logout_prints_no_credential(store, auth_reg, tmp_path):
    af = dr.auth_json(tmp_path / "auth.json", {auth_reg.host: ("alice", ALICE)})
    res = dt.assert_ok(store.diyc("logout", "--authfile", af, auth_reg.host))
    assert_clean(res, "alice", ALICE)


# -- the auth file login writes --------------------------------------------------------------

OTHER_KEYS = {
    "credHelpers": {"helper.example": "nope"},
    "HttpHeaders": {"User-Agent": "kept"},
    "diyc-test-unknown": {"nested": [1, 2, {"x": None}], "s": "kept"},
}


def left_beside(d):
    """What is in D besides auth.json and its lock file (kept: a lock file removed after use
    races with the next locker), e.g. a temporary file of an atomic write left over."""
    return sorted(n for n in os.listdir(d) if n not in ("auth.json", ".auth.json.lock"))


def test_login_makes_the_file_0600_and_keeps_other_keys(store, auth_reg, tmp_path):
    d = tmp_path / "cfg"
    af = dr.auth_json(d / "auth.json", {"other.example:5000": {"auth": base64.b64encode(b"u:p").decode(),
                                                               "email": "kept@example.com"},
                                        "tok.example": {"identitytoken": "kept-identity"}},
                      mode=0o644, **OTHER_KEYS)
    before = dr.read_auth(af)
    dt.assert_ok(store.diyc("login", "-u", "alice", "-p", ALICE, "--authfile", af, auth_reg.host))
    assert stat.S_IMODE(os.stat(af).st_mode) == 0o600, "login leaves the auth file readable by others"
    after = dr.read_auth(af)
    for k, v in OTHER_KEYS.items():
        assert after.get(k) == v, f"login lost or changed the key {k!r}: {after.get(k)!r}"
    for host, entry in before["auths"].items():
        assert after["auths"].get(host) == entry, f"login changed the entry of {host}"
    assert base64.b64decode(after["auths"][auth_reg.host]["auth"]).decode() == f"alice:{ALICE}"
    assert left_beside(d) == [], f"left beside the auth file: {os.listdir(d)}"
    # logout: the same care
    os.chmod(af, 0o644)
    dt.assert_ok(store.diyc("logout", "--authfile", af, auth_reg.host))
    assert stat.S_IMODE(os.stat(af).st_mode) == 0o600, "logout leaves the auth file readable by others"
    final = dr.read_auth(af)
    assert auth_reg.host not in final.get("auths", {})
    for k, v in OTHER_KEYS.items():
        assert final.get(k) == v
    assert final["auths"] == before["auths"]
    assert left_beside(d) == []


def test_login_creates_the_file_0600_in_a_new_directory(store, auth_reg, tmp_path):
    af = tmp_path / "new" / "dir" / "auth.json"
    dt.assert_ok(store.diyc("login", "-u", "alice", "-p", ALICE, "--authfile", af, auth_reg.host))
    assert stat.S_IMODE(os.stat(af).st_mode) == 0o600
    assert set(json.loads(af.read_text())["auths"]) == {auth_reg.host}


def test_login_refuses_a_broken_auth_file_and_keeps_it(store, auth_reg, tmp_path):
    """An auth file that is not JSON is not overwritten (it may hold what the user wants)."""
    af = tmp_path / "auth.json"
    af.write_text("{ not json")
    os.chmod(af, 0o600)
    res = store.diyc("login", "-u", "alice", "-p", ALICE, "--authfile", af, auth_reg.host)
    dt.assert_error(res, ("auth", "json", str(af)))
    assert af.read_text() == "{ not json"
    dr.assert_no_secret(res, ALICE)
