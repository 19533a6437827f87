# SPDX-License-Identifier: MIT
# Hooks (state JSON on stdin, poststop at delete, a failing prestart or a slow hook stops
# create with a clear error and leaves nothing, a failing poststart is only a warning) and
# the --log file in json and text (created even when all goes well, one JSON line per
# error, the engine's last line is the error it shows).
import json
import time

import ocitest as ot


def hook(script, timeout=None):
    h = {"path": "/bin/sh", "args": ["sh", "-c", script]}
    if timeout:
        h["timeout"] = timeout
    return h


def test_hooks_get_the_state_on_stdin(rt, bundle, tmp_path):
    out = tmp_path / "hooks"
    out.mkdir()
    bundle.config["hooks"] = {
        "createRuntime": [hook(f"cat > {out}/createRuntime")],
        "poststart": [hook(f"cat > {out}/poststart")],
        "poststop": [hook(f"cat > {out}/poststop")],
    }
    bundle.args("sleep", "1000").write()
    rt.ok("create", "--bundle", bundle.path, "h1")
    pid = rt.state("h1")["pid"]
    st = json.loads((out / "createRuntime").read_text())
    assert st["id"] == "h1" and st["pid"] == pid and st["bundle"] == str(bundle.path), st
    assert st["ociVersion"].startswith("1.") and st["status"] in ("creating", "created"), st
    rt.ok("start", "h1")
    st = json.loads((out / "poststart").read_text())
    assert st["id"] == "h1" and st["pid"] == pid, st
    assert not (out / "poststop").exists()
    rt.ok("kill", "h1", "KILL")
    rt.wait_status("h1", "stopped")
    rt.ok("delete", "h1")
    st = json.loads((out / "poststop").read_text())
    assert st["id"] == "h1" and st["status"] == "stopped", st
    ot.assert_nothing_left(rt, bundle)


def test_poststop_hooks_run_at_delete_in_order(rt, bundle, tmp_path):
    log = tmp_path / "order"
    bundle.config["hooks"] = {"poststop": [hook(f"echo one >> {log}"), hook(f"echo two >> {log}")]}
    bundle.args("true").write()
    rt.ok("run", "--detach", "--bundle", bundle.path, "h2")
    rt.wait_status("h2", "stopped")
    assert not log.exists(), "poststop ran before delete"
    rt.ok("delete", "h2")
    assert log.read_text() == "one\ntwo\n"


def test_every_kind_of_hook_runs_in_order_and_at_its_time(rt, bundle, tmp_path):
    """The conformance suite's `hooks` program checks this against a string its own hooks
    can never write (it is left out): here the same six hooks, with the process's own line
    and the points in the life cycle between them."""
    log = tmp_path / "order"
    bundle.config["hooks"] = {
        "prestart": [hook(f"echo prestart1 >> {log}"), hook(f"echo prestart2 >> {log}")],
        "createRuntime": [hook(f"echo createRuntime >> {log}")],
        "poststart": [hook(f"echo poststart1 >> {log}"), hook(f"echo poststart2 >> {log}")],
        "poststop": [hook(f"echo poststop1 >> {log}"), hook(f"echo poststop2 >> {log}")],
    }
    bundle.args("sleep", "1000").write()
    rt.ok("create", "--bundle", bundle.path, "h0")
    assert log.read_text() == "prestart1\nprestart2\ncreateRuntime\n"
    rt.ok("start", "h0")
    assert log.read_text().endswith("poststart1\npoststart2\n")
    rt.ok("kill", "h0", "KILL")
    rt.wait_status("h0", "stopped")
    rt.ok("delete", "h0")
    assert log.read_text() == ("prestart1\nprestart2\ncreateRuntime\npoststart1\npoststart2\n"
                               "poststop1\npoststop2\n")
    ot.assert_nothing_left(rt, bundle)


def test_failing_prestart_stops_create(rt, bundle, tmp_path):
    ran = tmp_path / "ran"
    bundle.config["hooks"] = {"prestart": [hook("echo hook-says-no >&2; exit 3")],
                              "poststart": [hook(f"touch {ran}")]}
    bundle.sh("touch /tmp/ran").write()
    res = ot.assert_fails(rt("create", "--bundle", bundle.path, "h3"), "prestart")
    assert "3" in res.stderr, ot.describe(res)
    assert not (bundle.rootfs / "tmp" / "ran").exists() and not ran.exists()
    ot.assert_fails(rt("state", "h3"), "does not exist")
    ot.assert_nothing_left(rt, bundle)


def test_hook_timeout_stops_create(rt, bundle):
    bundle.config["hooks"] = {"createRuntime": [hook("sleep 30", timeout=1)]}
    bundle.args("true").write()
    t0 = time.monotonic()
    res = ot.assert_fails(rt("create", "--bundle", bundle.path, "h4"), "createRuntime")
    assert time.monotonic() - t0 < 10, "the hook's timeout was not honoured"
    assert "time" in res.stderr.lower(), ot.describe(res)
    ot.assert_nothing_left(rt, bundle)


def test_failing_poststart_is_a_warning(rt, bundle):
    bundle.config["hooks"] = {"poststart": [hook("exit 1")]}
    bundle.args("sleep", "1000").write()
    rt.ok("create", "--bundle", bundle.path, "h5")
    res = rt("start", "h5")
    assert "poststart" in res.stderr, ot.describe(res)
    assert res.returncode == 0, "a failing poststart hook is only a warning\n" + ot.describe(res)
    assert rt.state("h5")["status"] == "running"


def test_failing_poststop_is_a_warning(rt, bundle):
    bundle.config["hooks"] = {"poststop": [hook("exit 1")]}
    bundle.args("true").write()
    rt.ok("create", "--bundle", bundle.path, "h6")
    res = rt("delete", "h6")
    assert res.returncode == 0, "a failing poststop hook is only a warning\n" + ot.describe(res)
    assert "poststop" in res.stderr, ot.describe(res)
    ot.assert_nothing_left(rt, bundle)


def test_log_json_created_when_all_goes_well(bundle, tmp_path):
    log = tmp_path / "log.json"
    rt = ot.Runtime(tmp_path / "state", log=log, log_format="json")
    bundle.args("true").write()
    rt.ok("run", "--bundle", bundle.path, "l1")
    assert log.exists(), "--log FILE is created even when nothing goes wrong"
    for line in log.read_text().splitlines():
        json.loads(line)


def test_log_json_one_line_per_error(tmp_path):
    log = tmp_path / "log.json"
    rt = ot.Runtime(tmp_path / "state", log=log, log_format="json")
    res = ot.assert_fails(rt("state", "nosuch"), "does not exist")
    lines = log.read_text().splitlines()
    assert lines, "no line in the log"
    recs = [json.loads(line) for line in lines]
    errors = [r for r in recs if r.get("level") == "error"]
    assert errors, recs
    assert set(errors[-1]) >= {"level", "msg", "time"}, errors[-1]
    assert "does not exist" in errors[-1]["msg"] and "nosuch" in errors[-1]["msg"]
    assert "\n" not in errors[-1]["msg"]
    assert res.stderr.strip()
    # a second error appends a line
    ot.assert_fails(rt("kill", "nosuch2", "KILL"))
    recs2 = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(recs2) > len(recs) and recs2[-1]["level"] == "error" and "nosuch2" in recs2[-1]["msg"]


def test_log_text(tmp_path):
    log = tmp_path / "log.txt"
    rt = ot.Runtime(tmp_path / "state", log=log, log_format="text")
    ot.assert_fails(rt("state", "nosuch"))
    assert "does not exist" in log.read_text()


def test_bad_log_format_refused(tmp_path):
    rt = ot.Runtime(tmp_path / "state", log=tmp_path / "l", log_format="xml")
    ot.assert_fails(rt("list"), "xml")
