# SPDX-License-Identifier: MIT
# The command line: help and version, and bad input (unknown flags, commands and images,
# bad and duplicate names): exit 125, one line `diyc: ...` that says what is wrong, and
# nothing written or left behind.
import re

import pytest

import diyctest as dt

COMMANDS = [[], ["run"], ["image"], ["image", "import"], ["image", "ls"], ["image", "rm"], ["nsexec"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "diyc")
def test_help(store, cmd):
    res = dt.assert_ok(store.diyc(*cmd, "--help"))
    assert re.search(r"usage", res.stdout, re.I), "no usage text on stdout\n" + dt.describe(res)
    assert res.stderr == "", dt.describe(res)


def test_help_lists_commands(store):
    res = dt.assert_ok(store.diyc("--help"))
    for word in ("run", "image", "nsexec"):
        assert word in res.stdout, f"`diyc --help` does not mention {word}\n" + dt.describe(res)


def test_run_help_lists_options(store):
    res = dt.assert_ok(store.diyc("run", "--help"))
    for opt in ("--name", "--rm", "--tty", "--interactive", "--env", "--workdir", "--user", "--hostname"):
        assert opt in res.stdout, f"`diyc run --help` does not mention {opt}\n" + dt.describe(res)


def test_version(store):
    res = dt.assert_ok(store.diyc("--version"))
    assert re.search(r"\d+\.\d+\.\d+", res.stdout), dt.describe(res)
    assert "diyc" in res.stdout, dt.describe(res)
    assert res.stderr == "", dt.describe(res)


def test_no_arguments_is_a_usage_error(store):
    dt.assert_error(store.diyc())


BOGUS_FLAG = [
    ["--bogus-flag"],
    ["run", "--bogus-flag", "busybox", "true"],
    ["run", "--rm", "--bogus-flag", "busybox", "true"],
    ["image", "import", "--bogus-flag", "/nonexistent", "x"],
    ["image", "ls", "--bogus-flag"],
    ["image", "rm", "--bogus-flag", "x"],
    ["nsexec", "--bogus-flag", "true"],
]


@pytest.mark.parametrize("argv", BOGUS_FLAG, ids=lambda a: " ".join(a))
def test_unknown_flag(store, busybox, argv):
    before = store.snapshot()
    line = dt.assert_error(store.diyc(*argv), "bogus-flag")
    assert "diyc: " not in line[len("diyc: "):], f"the prefix is repeated: {line!r}"
    assert store.snapshot() == before


def test_unknown_short_flag(store, busybox):
    before = store.snapshot()
    dt.assert_error(store.diyc("run", "-Z", "busybox", "true"), "Z")
    assert store.snapshot() == before


def test_unknown_command(store):
    dt.assert_error(store.diyc("frobnicate"), "frobnicate")


def test_unknown_image_subcommand(store):
    dt.assert_error(store.diyc("image", "frobnicate"), "frobnicate")


@pytest.mark.parametrize("argv", [["run"], ["run", "--rm"], ["run", "--name"], ["run", "-e"],
                                  ["image", "import"], ["image", "rm"],
                                  ["nsexec"]], ids=lambda a: " ".join(a))
def test_missing_argument(store, argv):
    before = store.snapshot()
    dt.assert_error(store.diyc(*argv))
    assert store.snapshot() == before


def test_image_import_without_name(empty_store, tmp_path):
    # NAME is optional, as with `docker import`: the image is listed as <none> and is
    # removed by its id, layer included
    src = tmp_path / "rootfs"
    (src / "etc").mkdir(parents=True)
    (src / "etc" / "hello").write_text("hi\n")
    before = dt.tree(src)
    res = dt.assert_ok(empty_store.diyc("image", "import", src))
    image_id = res.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", image_id), dt.describe(res)
    assert dt.tree(src) == before
    ls = dt.assert_ok(empty_store.diyc("image", "ls")).stdout.splitlines()
    rows = [l.split() for l in ls[1:]]
    assert ["<none>", "<none>", image_id[:12]] in [r[:3] for r in rows], ls
    dt.assert_ok(empty_store.diyc("image", "rm", image_id[:12]))
    assert dt.assert_ok(empty_store.diyc("image", "ls", "-q")).stdout.strip() == ""
    assert not any((empty_store.data / "layers").iterdir())


def test_unknown_image(store, busybox):
    before = store.snapshot()
    dt.assert_error(store.diyc("run", "--rm", "no-such-image-xyz", "true"), "no-such-image-xyz")
    assert store.snapshot() == before


def test_unknown_tag(store, busybox):
    before = store.snapshot()
    dt.assert_error(store.diyc("run", "--rm", "busybox:no-such-tag", "true"), "no-such-tag")
    assert store.snapshot() == before


def test_unknown_image_named_container(store, busybox, name):
    # with a name, the container directories must not be created (or must be removed)
    before = store.snapshot()
    dt.assert_error(store.diyc("run", "--name", name, "no-such-image-xyz", "true"), "no-such-image-xyz")
    assert store.snapshot() == before


BAD_NAMES = ["", "/", "..", ".", "a/b", "../escape", "a/../b", "x" * 129, "-leading", ".hidden",
             "_under", "a b", "a\tb", "a\nb", "a:b", "caf\u00e9"]


@pytest.mark.parametrize("bad", BAD_NAMES, ids=lambda n: repr(n) if len(n) < 20 else f"{len(n)} chars")
def test_bad_name(store, busybox, bad):
    before = store.snapshot()
    tmp_before = dt.tmp_entries()
    dt.assert_error(store.diyc("run", "--rm", f"--name={bad}", "busybox", "true"), "name")
    assert store.snapshot() == before, "a bad name wrote into the store"
    assert dt.tmp_entries() == tmp_before


def test_bad_name_without_rm_creates_nothing(private_store):
    before = private_store.snapshot()
    for bad in ("..", "a/b", "/"):
        dt.assert_error(private_store.diyc("run", f"--name={bad}", "busybox", "true"), "name")
    assert private_store.snapshot() == before


@pytest.mark.parametrize("good", ["a", "A1", "a_b.c-d", "0" + "x" * 127])
def test_good_names(store, busybox, good):
    # the longest name allowed is 128 characters; names are unique per test run because
    # the store is fresh and each container is removed
    res = dt.assert_ok(store.diyc("run", "--rm", f"--name={good}", "busybox", "true"))
    assert res.stderr == "", dt.describe(res)


def test_duplicate_name_of_a_stopped_container(private_store, name):
    s = private_store
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c", "echo first > /mark"))
    data_dir, run_dir = s.container_dirs(name)
    config = (data_dir / "config.json").read_bytes()
    before = s.snapshot()
    dt.assert_error(s.diyc("run", "--name", name, "busybox", "true"), "already in use")
    dt.assert_error(s.diyc("run", "--rm", "--name", name, "busybox", "true"), "already in use")
    assert s.snapshot() == before, "the failed duplicate changed the store"
    assert (data_dir / "config.json").read_bytes() == config, "the failed duplicate rewrote config.json"
    assert (data_dir / "upper" / "mark").read_text() == "first\n"


def test_duplicate_name_of_a_running_container(store, busybox, name):
    with store.popen("run", "--rm", "--name", name, "busybox", "sh", "-c", "echo ready; sleep 3; echo done") as first:
        first.read_until("ready")
        dt.assert_error(store.diyc("run", "--rm", "--name", name, "busybox", "true"), "already in use")
        res = first.finish()
    assert res.returncode == 0, dt.describe(res)
    assert res.stdout == "ready\ndone\n", "the first container was disturbed\n" + dt.describe(res)
    assert name not in store.containers()
