# SPDX-License-Identifier: MIT
# Bad bundles and bad command lines: each is refused with an error that names the problem,
# and leaves nothing behind: no state under --root, no mount naming the bundle, no process.
import os
import socket

import pytest

import ocitest as ot


def create(rt, bundle, cid="bad", *extra):
    return rt("create", "--bundle", bundle.path, *extra, cid)


def check_refused(rt, bundle, res, *words):
    ot.assert_fails(res, *words)
    ot.assert_nothing_left(rt, bundle)


def test_missing_config(rt, bundle):
    check_refused(rt, bundle, create(rt, bundle), "config.json")


def test_malformed_json(rt, bundle):
    bundle.write('{"ociVersion": "1.0.2", "process": {')
    check_refused(rt, bundle, create(rt, bundle), "config.json", "json")


def test_oci_version_2(rt, bundle):
    bundle.config["ociVersion"] = "2.0.0"
    bundle.write()
    check_refused(rt, bundle, create(rt, bundle), "2.0.0")


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.3.0"])
def test_any_1x_version_accepted(rt, bundle, version):
    bundle.config["ociVersion"] = version
    bundle.args("true").write()
    ot.assert_ok(rt("run", "--bundle", bundle.path, "v1"))


def test_unknown_namespace_type(rt, bundle):
    bundle.config["linux"]["namespaces"].append({"type": "bogusns"})
    bundle.write()
    check_refused(rt, bundle, create(rt, bundle), "bogusns")


def test_relative_mount_destination_escaping(rt, bundle):
    bundle.config["mounts"].append({"destination": "../../etc", "type": "tmpfs", "source": "tmpfs"})
    bundle.write()
    check_refused(rt, bundle, create(rt, bundle), "../../etc")


def test_failing_hook(rt, bundle):
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    bundle.args("true").write()
    check_refused(rt, bundle, create(rt, bundle), "createRuntime")


def test_hook_that_times_out(rt, bundle):
    bundle.config["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    bundle.args("true").write()
    check_refused(rt, bundle, create(rt, bundle), "prestart", "time")


def test_hook_path_missing(rt, bundle):
    bundle.config["hooks"] = {"createRuntime": [{"path": "/nonexistent/hook"}]}
    bundle.args("true").write()
    check_refused(rt, bundle, create(rt, bundle), "/nonexistent/hook")


def test_duplicate_id(rt, bundle, make_bundle):
    bundle.args("sleep", "1000").write()
    ot.assert_ok(create(rt, bundle, "dup"))
    pid = rt.state("dup")["pid"]
    other = make_bundle().args("true").write()
    ot.assert_fails(create(rt, other, "dup"), "dup", "exists")
    # the first one is untouched
    st = rt.state("dup")
    assert st["status"] == "created" and st["pid"] == pid and st["bundle"] == str(bundle.path)
    assert ot.processes_in(other.path) == [] and ot.mounts_mentioning(other.path) == []


@pytest.mark.parametrize("cid", ["a/b", "../x", "..", ".", "", "-x"])
def test_bad_ids(rt, bundle, cid):
    bundle.args("true").write()
    res = create(rt, bundle, cid)
    ot.assert_fails(res)
    if cid:
        assert "id" in res.stderr.lower() or cid in res.stderr, ot.describe(res)
    ot.assert_nothing_left(rt, bundle)
    assert not (rt.root.parent / "x").exists()


def test_console_socket_not_a_socket(rt, bundle, tmp_path):
    bundle.config["process"]["terminal"] = True
    bundle.args("sh").write()
    notsock = tmp_path / "plain-file"
    notsock.write_text("")
    check_refused(rt, bundle, create(rt, bundle, "cs", "--console-socket", notsock), str(notsock))


def test_console_socket_nobody_listening(rt, bundle, tmp_path):
    bundle.config["process"]["terminal"] = True
    bundle.args("sh").write()
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()
    check_refused(rt, bundle, create(rt, bundle, "cs", "--console-socket", path), "console")


def test_terminal_without_console_socket(rt, bundle):
    bundle.config["process"]["terminal"] = True
    bundle.args("sh").write()
    check_refused(rt, bundle, create(rt, bundle), "console-socket")


def test_unknown_capability(rt, bundle):
    bundle.config["process"]["capabilities"]["bounding"] = ["CAP_KILL", "CAP_BOGUS"]
    bundle.write()
    check_refused(rt, bundle, create(rt, bundle), "CAP_BOGUS")


def test_unknown_rlimit(rt, bundle):
    bundle.config["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1})
    bundle.write()
    check_refused(rt, bundle, create(rt, bundle), "RLIMIT_BOGUS")


def test_missing_executable(rt, bundle):
    bundle.args("/no/such/program").write()
    res = rt("run", "--bundle", bundle.path, "nx")
    ot.assert_fails(res, "/no/such/program")
    assert "no such file" in res.stderr.lower() or "not found" in res.stderr.lower(), ot.describe(res)
    ot.assert_nothing_left(rt, bundle)


def test_missing_rootfs(rt, bundle):
    bundle.config["root"]["path"] = "no-such-rootfs"
    bundle.write()
    check_refused(rt, bundle, create(rt, bundle), "no-such-rootfs")


@pytest.mark.parametrize("argv,words", [
    (["create", "--bogus-flag", "x"], ["--bogus-flag"]),
    (["--bogus-global", "list"], ["--bogus-global"]),
    (["nosuchcommand"], ["nosuchcommand"]),
    (["create"], ["id"]),
    (["kill"], ["id"]),
    (["exec", "--preserve-fds", "many", "x", "true"], ["many"]),
])
def test_bad_flags(rt, argv, words):
    ot.assert_fails(rt(*argv), *words)
    assert rt.state_dirs() == []


def test_kill_bad_signal(rt, bundle):
    bundle.args("sleep", "1000").write()
    rt.ok("create", "--bundle", bundle.path, "ks")
    ot.assert_fails(rt("kill", "ks", "SIGBOGUS"), "SIGBOGUS")
    ot.assert_fails(rt("kill", "ks", "999"), "999")
    assert rt.state("ks")["status"] == "created"


def test_commands_on_a_missing_container(rt):
    for argv in (["start", "gone"], ["state", "gone"], ["kill", "gone", "KILL"], ["delete", "gone"],
                 ["exec", "gone", "true"], ["ps", "gone"], ["pause", "gone"]):
        ot.assert_fails(rt(*argv), "gone", "does not exist")


def test_bundle_not_a_directory(rt, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    ot.assert_fails(rt("create", "--bundle", f, "nb"), str(f))
    assert rt.state_dirs() == []
    assert os.listdir(tmp_path) == ["file"] or set(os.listdir(tmp_path)) <= {"file", "state"}


@pytest.mark.parametrize("how", ["world-writable", "group-writable", "another user's"])
def test_state_root_others_may_write_is_refused(bundle, tmp_path, how):
    """The state root (the default one without XDG_RUNTIME_DIR is in /tmp) made by someone
    else, or writable by others: create refuses it, and writes nothing there."""
    root = tmp_path / "state"
    root.mkdir()
    if how == "world-writable":
        os.chmod(root, 0o777)
    elif how == "group-writable":
        os.chmod(root, 0o770)
    else:
        os.chmod(root, 0o755)
        os.chown(root, 65534, 65534)
    rt = ot.Runtime(root)
    bundle.args("true").write()
    res = rt("create", "--bundle", bundle.path, "c1")
    ot.assert_fails(res, "state directory", "--root")
    assert list(root.iterdir()) == []
