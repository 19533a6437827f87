# SPDX-License-Identifier: MIT
# Bearer tokens over their life: one past issued_at + expires_in is asked for again (not
# reused until the registry refuses it); a 401 with `error="insufficient_scope"` (from the
# real registry for a token that grants nothing, from the hostile one on a blob) is
# answered with one new token, and the request then succeeds; a registry that refuses
# every token ends in one clear error, not a loop. The token servers' request logs say
# how many tokens were asked for.
import time

import pytest

import diycreg as dr
import diyctest as dt
import hostile as hs
import regtest as rt

NOTLS = "--tls-verify=false"
BOB, ALICE = rt.DEFAULT_USERS["bob"], rt.DEFAULT_USERS["alice"]
NAME = "library/busybox"


def tokens_given(token_server, repo=NAME):
    """The token requests answered 200 that asked for REPO."""
    return [r for r in token_server.requests if r.get("answered") == 200 and
            any(g["name"] == repo for g in r.get("granted") or [])]


@pytest.fixture
def knobs(token_server):
    """The token server's knobs, reset after the test (the server lives for the session)."""
    token_server.clear()
    saved = token_server.expires_in
    yield token_server
    token_server.expires_in = saved
    token_server.clear()


def test_a_fresh_token_is_reused(store, token_reg, knobs):
    """The baseline for the next test: a pull of one layer asks for one token."""
    dr.pull_ok(store, f"{token_reg.host}/{NAME}:amd64", "--creds", f"bob:{BOB}")
    assert len(tokens_given(knobs)) == 1, [(r["method"], r.get("granted")) for r in knobs.requests]


def test_an_expired_token_is_asked_for_again(store, token_reg, knobs):
    """expires_in 60 and issued_at two minutes ago: the token is stale when it arrives (the
    JWT itself is still good for the registry), so each request that needs one asks again;
    none is reused past its life."""
    knobs.expires_in = 60
    knobs.issued_at_skew = 120
    dr.pull_ok(store, f"{token_reg.host}/{NAME}:amd64", "--creds", f"bob:{BOB}")
    got = tokens_given(knobs)
    # the manifest, the config and the layer each need a token: 3 (2 at the least)
    assert len(got) >= 2, f"an expired token was reused: {len(got)} token requests"
    assert all(r["user"] == "bob" for r in got)


def test_a_token_living_long_enough_is_kept(store, token_reg, knobs):
    """issued_at in the past but expires_in long enough: still one token."""
    knobs.expires_in = 3600
    knobs.issued_at_skew = 600
    dr.pull_ok(store, f"{token_reg.host}/{NAME}:amd64", "--creds", f"bob:{BOB}")
    assert len(tokens_given(knobs)) == 1


def test_insufficient_scope_from_the_registry_gets_a_new_token(store, token_reg, knobs):
    """The first token grants no action: distribution answers 401 `insufficient_scope`;
    diyc asks once more and the pull goes through."""
    knobs.grant_nothing = 1
    mark = token_reg.mark()
    dr.pull_ok(store, f"{token_reg.host}/{NAME}:amd64", "--creds", f"bob:{BOB}")
    got = tokens_given(knobs)
    assert len(got) == 2, [(r.get("granted")) for r in got]
    assert got[0]["granted"][0]["actions"] == [] and "pull" in got[1]["granted"][0]["actions"]
    man = token_reg.access_since(mark, r"/manifests/amd64")
    assert [a["status"] for a in man if a["method"] == "GET"][:2] == [401, 200], man


def test_push_renews_a_token_without_push(store, token_reg, knobs):
    """The same for a push (scope pull,push): the first token grants nothing."""
    store.import_busybox("busybox")
    knobs.grant_nothing = 1
    dest = f"{token_reg.host}/alice/renewed:1"
    res = dt.assert_ok(dr.push(store, "busybox", "--creds", f"alice:{ALICE}", dest=dest))
    dr.assert_no_secret(res, ALICE)
    got = tokens_given(knobs, "alice/renewed")
    assert len(got) >= 2 and got[0]["granted"][0]["actions"] == [], [r.get("granted") for r in got]
    assert "1" in token_reg.tags("alice/renewed", user="alice")


# -- insufficient_scope on a blob, from the hostile registry ---------------------------------

def bearer_hostile(hostile, image, refuse):
    """HOSTILE serving IMAGE as NAME:amd64 behind Bearer tokens from its own /token (http:
    allowed since the registry is insecure); a layer GET whose token REFUSE(token) says
    is insufficient gets 401 insufficient_scope. Returns the token endpoint."""
    hostile.serve_image(NAME, "amd64", image)
    realm = f"{hostile.url}/token"
    hostile.on("*", r"/v2/.*", hs.bearer_required(realm, lambda req, m: hostile._default(req)))
    for layer in image.layers:
        hostile.on("GET", hostile.blob_path(NAME, layer["digest"]),
                   hs.bearer_required(realm, lambda req, m: hostile._default(req), refuse=refuse,
                                      scope=f"repository:{NAME}:pull"))
    tok = hs.token_endpoint()
    hostile.on("GET", r"/token", tok)
    return tok


def test_insufficient_scope_on_a_blob_gets_one_new_token(store, hostile, busybox_images):
    im = busybox_images["amd64"]
    tok = bearer_hostile(hostile, im, refuse=lambda t: t == "hostile-token-1")
    dr.pull_ok(store, f"{hostile.host}/{NAME}:amd64", NOTLS)
    assert tok.issued == ["hostile-token-1", "hostile-token-2"], tok.issued
    assert len(hostile.requests_to(r"^/token", "GET")) == 2
    gets = [r["headers"].get("authorization") for r in hostile.requests_to(
        hostile.blob_path(NAME, im.layers[0]["digest"]), "GET")]
    assert gets[-2:] == ["Bearer hostile-token-1", "Bearer hostile-token-2"], gets
    assert dr.run_cat(store, f"{hostile.host}/{NAME}:amd64", "/etc/diyc-image") == "busybox amd64\n"


def test_insufficient_scope_every_time_is_a_clear_error(store, hostile, busybox_images):
    """A registry that refuses every token: one renewal, then one clear error (no loop)."""
    tok = bearer_hostile(hostile, busybox_images["amd64"], refuse=lambda t: True)
    t0 = time.monotonic()
    res = dr.pull(store, f"{hostile.host}/{NAME}:amd64", NOTLS, "--retry", "1", timeout=60)
    dt.assert_error(res, ("401", "unauthorized", "denied", "scope", "insufficient"))
    assert time.monotonic() - t0 < 30
    assert 2 <= len(tok.issued) <= 3, f"{len(tok.issued)} tokens asked for: a renewal loop?"
    assert dr.layer_dirs(store) == []
    assert not dr.has_image(store, f"{hostile.host}/{NAME}:amd64")
