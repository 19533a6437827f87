# SPDX-License-Identifier: MIT
# `diyc logs`: what a detached container writes on stdout and stderr is kept in its log,
# `logs -f` follows it until the container stops, and a tty container's output is logged.
import time

import pytest

import diyctest as dt


def logs(store, name, *opts):
    res = dt.assert_ok(store.diyc("logs", *opts, name))
    assert res.stderr == "", dt.describe(res)
    return res.stdout


def test_stdout_and_stderr(s, name):
    dt.run_detached(s, name, "busybox", "sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2")
    dt.wait_exited(s, name)
    out = logs(s, name)
    lines = out.splitlines()
    assert sorted(lines) == ["err1", "err2", "out1", "out2"], out
    assert lines.index("out1") < lines.index("out2") and lines.index("err1") < lines.index("err2"), out
    log = s.container_dirs(name)[0] / "container.log"
    assert dt.inspect(s, name)["LogPath"] == str(log)
    assert sorted(log.read_text().splitlines()) == sorted(lines), "the log file holds something else"


def test_running_container(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sh", "-c", f"echo early; exec sleep {tok}")
    dt.wait_until(lambda: "early" in logs(s, name), 10, what="the output in the log")
    start = time.monotonic()
    assert logs(s, name) == "early\n"
    assert time.monotonic() - start < 5, "logs without -f should not wait for the container"
    assert dt.ps_entry(s, name)["State"] == "running"


def test_follow_until_exit(s, name):
    script = ("echo first; while [ ! -e /go ]; do sleep 0.05; done; echo second; "
              "while [ ! -e /end ]; do sleep 0.05; done; echo last; exit 4")
    dt.run_detached(s, name, "busybox", "sh", "-c", script)
    with s.popen("logs", "-f", name) as p:
        p.read_until("first\n", timeout=10)
        assert p.p.poll() is None, "logs -f ended while the container runs"
        dt.assert_ok(s.diyc("exec", name, "touch", "/go"))
        p.read_until("second\n", timeout=10)
        dt.assert_ok(s.diyc("exec", name, "touch", "/end"))
        res = p.finish(timeout=10)
    dt.assert_ok(res)
    assert res.stdout == "first\nsecond\nlast\n", dt.describe(res)
    assert dt.wait_exited(s, name)["ExitCode"] == 4


@pytest.mark.parametrize("flag", ["-f", "--follow"])
def test_follow_until_stop(s, name, flag):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sh", "-c", f"echo started; exec sleep {tok}")
    with s.popen("logs", flag, name) as p:
        p.read_until("started\n", timeout=10)
        time.sleep(0.3)
        assert p.p.poll() is None, "logs -f ended while the container runs"
        dt.assert_ok(s.diyc("stop", name))
        start = time.monotonic()
        res = p.finish(timeout=10)
    dt.assert_ok(res)
    assert time.monotonic() - start < 5, "logs -f did not end soon after the container stopped"
    assert res.stdout == "started\n", dt.describe(res)


def test_follow_exited_container_ends(s, name):
    dt.run_detached(s, name, "busybox", "echo", "done")
    dt.wait_exited(s, name)
    res = dt.assert_ok(s.diyc("logs", "-f", name, timeout=10))
    assert res.stdout == "done\n", dt.describe(res)


def test_tty_container(s, name):
    dt.run_detached(s, name, "-t", "busybox", "sh", "-c", "tty; test -t 1 && echo is-a-tty; echo bye")
    dt.wait_exited(s, name)
    out = logs(s, name)
    lines = [line.rstrip("\r") for line in out.splitlines()]
    assert len(lines) == 3 and lines[0].startswith("/dev/pts/"), out
    assert lines[1:] == ["is-a-tty", "bye"], out
    assert dt.inspect(s, name)["Config"]["Tty"] is True


def test_large_output(s, name):
    dt.run_detached(s, name, "busybox", "seq", "1", "200000")
    dt.wait_exited(s, name, timeout=30)
    res = dt.assert_ok(s.diyc("logs", name, timeout=30))
    lines = res.stdout.splitlines()
    assert len(lines) == 200000 and lines[0] == "1" and lines[-1] == "200000", \
        f"{len(lines)} lines, ending with {lines[-3:]!r}"
    assert lines == [str(i) for i in range(1, 200001)], "lines lost or out of order"


def test_output_of_later_runs_is_kept(s, name):
    dt.run_detached(s, name, "busybox", "sh", "-c", "echo run-$(cat /n 2>/dev/null || echo 1); echo 2 > /n")
    dt.wait_exited(s, name)
    dt.assert_ok(s.diyc("start", name))
    dt.wait_exited(s, name)
    dt.wait_until(lambda: "run-2" in logs(s, name), 5, what="the second run's output in the log")
    assert logs(s, name).splitlines()[-1] == "run-2"
