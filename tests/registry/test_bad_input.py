# SPDX-License-Identifier: MIT
# Bad command lines of the registry commands (pull, push, login, logout, image tag, run
# --pull): each is refused with diyc's one `diyc: ` line and exit status 125, before any
# request is made, and leaves the store as it was (the conftest leak check covers tmp/ and
# half-made layers; the snapshot here covers everything else).
import os

import pytest

import diycreg as dr
import diyctest as dt

NOTLS = "--tls-verify=false"


def refused(store, args, *needles, input=None):
    before = store.snapshot()
    res = store.diyc(*args, input=input)
    dt.assert_error(res, *needles)
    assert store.snapshot() == before, "a refused command changed the store"
    return res


@pytest.mark.parametrize("args,needle", [
    (["pull"], "expected one image"),
    (["pull", "a", "b"], "expected one image"),
    (["pull", "--platform", "amd64", "x/y"], "--platform"),
    (["pull", "--platform", "", "x/y"], "--platform"),
    (["pull", "--retry", "-1", "x/y"], "--retry"),
    (["pull", "--retry", "101", "x/y"], "--retry"),
    (["pull", "--retry", "many", "x/y"], "--retry"),
    (["pull", "--retry-delay", "soon", "x/y"], "--retry-delay"),
    (["pull", "--retry-delay", "11m", "x/y"], "--retry-delay"),
    (["pull", "--max-concurrent-downloads", "0", "x/y"], "--max-concurrent-downloads"),
    (["pull", "--max-concurrent-downloads", "17", "x/y"], "--max-concurrent-downloads"),
    (["pull", "--tls-verify=maybe", "x/y"], "--tls-verify"),
    (["pull", "--creds", "", "x/y"], "--creds"),
    (["pull", "--creds", ":secret", "x/y"], "--creds"),
    (["pull", "--authfile", "", "x/y"], "--authfile"),
    (["pull", "--no-such-flag", "x/y"], "no-such-flag"),
    (["push"], "IMAGE"),
    (["push", "a", "b", "c"], "IMAGE"),
    (["push", "--platform", "linux/amd64", "a"], "--platform"),
    (["push", "--max-concurrent-downloads", "2", "a"], "--max-concurrent-downloads"),
    (["push", "--allow-foreign-layers", "a"], "--allow-foreign-layers"),
    (["login"], "registry"),
    (["login", "a.example", "b.example"], "registry"),
    (["login", "--retry", "3", "a.example"], "unexpected option"),
    (["login", "-u", "alice", "--password-stdin", "-p", "x", "a.example"], "mutually exclusive"),
    (["login", "--password-stdin", "a.example"], "--username"),
    (["login", "-u", "alice", "-p", "secret", "bad host!"], "invalid registry"),
    (["login", "-u", "al:ice", "-p", "secret", "a.example"], ":"),
    (["logout"], "registry"),
    (["logout", "--all", "a.example"], "--all"),
    (["logout", "bad host!"], "invalid registry"),
    (["image", "tag"], "SOURCE TARGET"),
    (["image", "tag", "a"], "SOURCE TARGET"),
    (["run", "--pull=sometimes", "busybox", "true"], "--pull"),
    (["run", "--pull", "", "busybox", "true"], "--pull"),
])
def test_bad_command_lines(store, args, needle):
    refused(store, args, needle)


def test_login_password_stdin_empty(store):
    refused(store, ["login", "-u", "alice", "--password-stdin", "a.example"], "password", input="")


def test_login_without_a_terminal_or_password(store):
    """No terminal to ask at and no password given: refused, nothing asked, nothing written."""
    refused(store, ["login", "-u", "alice", "a.example"], "password")
    assert not os.path.exists(os.path.join(store.env["XDG_RUNTIME_DIR"], "containers", "auth.json"))


@pytest.mark.parametrize("target", ["upper/CASE", "a//b", "-lead", "x:tag:more", "a/b:" + "t" * 129, "a b",
                                    "host:port/x", "x@sha256:00"])
def test_image_tag_bad_target(store, target):
    refused(store, ["image", "tag", "some-image", target], "invalid")


def test_image_tag_unknown_source(store):
    refused(store, ["image", "tag", "no-such-image", "a/b:c"], "not found")


def test_push_unknown_image_names_it(store):
    refused(store, ["push", NOTLS, "127.0.0.1:1/no/such:image"], "not found")


def test_push_to_a_digest_is_refused(store, http_reg, busybox_images):
    ref = f"{http_reg.host}/library/busybox:amd64"
    dr.pull_ok(store, ref, NOTLS)
    refused(store, ["push", NOTLS, ref, f"{http_reg.host}/x/y@{busybox_images['amd64'].digest}"], "digest")


def test_logout_when_not_logged_in(store, tmp_path):
    refused(store, ["logout", "--authfile", str(tmp_path / "auth.json"), "a.example:5000"], "not logged in")


def test_run_pull_never_names_the_image(store):
    refused(store, ["run", "--rm", "--pull=never", "127.0.0.1:1/no/such:image", "true"], "not found")
