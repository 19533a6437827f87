# SPDX-License-Identifier: MIT
"""The image config applied by `diyc run` as docker applies it, under the command line:
Entrypoint and Cmd (arguments replace Cmd; --entrypoint replaces the entrypoint and drops
Cmd), Env (-e overrides), WorkingDir (-w), User (-u), and Labels and ExposedPorts, which
`diyc inspect` shows with --label and --expose added. The image is the small busybox
layout with a config written by `umoci config` at test time. Bad --label and --expose
values are refused before anything is created."""

import pytest

import diyctest as dt
import imagetools as it
from imagetools import images  # noqa: F401  (the session fixture)

TIMEOUT = 120


@pytest.fixture(scope="module")
def cfg_layout(images, tmp_path_factory):  # noqa: F811
    lay = it.copy_layout(images.small, tmp_path_factory.mktemp("cfg") / "layout")
    res = dt.run(["umoci", "config", "--image", f"{lay}:small", "--tag", "cfg",
                  "--config.env", "FROM_IMAGE=yes", "--config.env", "OVERRIDE=image",
                  "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
                  "--config.cmd", 'echo "cmd $0 $FROM_IMAGE $OVERRIDE $(pwd) $(id -u):$(id -g)"',
                  "--config.workingdir", "/tmp", "--config.user", "1000:1000",
                  "--config.label", "org.example.team=images", "--config.label", "tier=base",
                  "--config.exposedports", "8080/tcp", "--config.exposedports", "53/udp"], timeout=TIMEOUT)
    assert res.returncode == 0, dt.describe(res)
    return lay


@pytest.fixture
def store(empty_store, cfg_layout):
    dt.assert_ok(empty_store.diyc("image", "import", "--ref", "cfg", cfg_layout, "cfg", timeout=TIMEOUT))
    return empty_store


def run_out(store, *args):
    return dt.assert_ok(store.diyc("run", "--rm", *args)).stdout


def test_entrypoint_and_cmd(store):
    assert run_out(store, "cfg") == "cmd /bin/sh yes image /tmp 1000:1000\n"


def test_arguments_replace_cmd_not_entrypoint(store):
    # the entrypoint is sh -c: the first argument is the script
    assert run_out(store, "cfg", "echo args $0", "zero") == "args zero\n"


def test_entrypoint_flag_drops_cmd(store):
    assert run_out(store, "--entrypoint", "/bin/echo", "cfg", "hello") == "hello\n"
    # with no arguments, nothing of the image's Cmd is left: echo prints an empty line
    assert run_out(store, "--entrypoint", "/bin/echo", "cfg") == "\n"


def test_empty_entrypoint(store):
    assert run_out(store, "--entrypoint", "", "cfg", "/bin/echo", "plain") == "plain\n"


def test_env_and_override(store):
    out = run_out(store, "-e", "OVERRIDE=cli", "-e", "EXTRA=1", "cfg", 'echo "$FROM_IMAGE $OVERRIDE $EXTRA"')
    assert out == "yes cli 1\n"


def test_workdir_and_user_flags_win(store):
    out = run_out(store, "-w", "/etc", "-u", "0:0", "cfg", 'echo "$(pwd) $(id -u):$(id -g)"')
    assert out == "/etc 0:0\n"


def test_labels_and_exposed_ports_in_inspect(store):
    name = dt.unique_name("cfg")
    dt.assert_ok(store.diyc("run", "--name", name, "-l", "tier=app", "--label", "extra",
                            "--expose", "9000", "--expose", "8080/tcp", "--expose", "5353/udp", "cfg", "true"))
    try:
        conf = dt.inspect(store, name)["Config"]
        assert conf["Labels"] == {"org.example.team": "images", "tier": "app", "extra": ""}, conf
        assert conf["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}, "9000/tcp": {}, "5353/udp": {}}, conf
        # they survive a start (config.json keeps them)
        dt.assert_ok(store.diyc("start", "-a", name))
        assert dt.inspect(store, name)["Config"]["Labels"]["tier"] == "app"
        # and a commit takes them into the new image
        dt.assert_ok(store.diyc("commit", name, "cfg-committed"))
        img = dt.json_out(store.diyc("image", "inspect", "cfg-committed"))[0]["Config"]
        assert img["Labels"]["tier"] == "app" and "9000/tcp" in img["ExposedPorts"], img
    finally:
        store.diyc("rm", "-f", name)


def test_image_without_labels(empty_store):
    s = empty_store
    s.import_busybox()
    name = dt.unique_name("plain")
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "true"))
    try:
        conf = dt.inspect(s, name)["Config"]
        assert conf["Labels"] == {} and conf["ExposedPorts"] == {}, conf
    finally:
        s.diyc("rm", "-f", name)


@pytest.mark.parametrize("args, needle", [
    (["--label", ""], "label"),
    (["-l", "=value"], "label"),
    (["--expose", "0"], "expose"),
    (["--expose", "65536"], "expose"),
    (["--expose", "80/icmp"], "expose"),
    (["--expose", "http"], "expose"),
    (["--expose", "-1"], "expose"),
    (["--expose", "80/"], "expose"),
    (["--expose", "080"], "expose"),
])
def test_bad_label_and_expose(store, args, needle):
    before = store.snapshot()
    name = dt.unique_name("bad")
    dt.assert_error(store.diyc("run", "--name", name, *args, "cfg", "true"), needle)
    assert store.snapshot() == before, "a refused run changed the store"
    assert name not in dt.ps_all(store)
