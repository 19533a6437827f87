# SPDX-License-Identifier: MIT
# Persistent containers (issue 3): run -d, start, stop, kill, rm, prune, ps, inspect; what
# persists between runs, the exit status kept after a container ends, concurrency on one
# name, and bad input: exit 125, one clear `diyc: ` line, and nothing changed in the store.
import os
import re
import signal
import time

import pytest

import diyctest as dt


def upper(store, name):
    return store.container_dirs(name)[0] / "upper"


def assert_gone(store, name):
    data, rundir = store.container_dirs(name)
    assert not data.exists(), f"{data} is still there"
    assert not rundir.exists(), f"{rundir} is still there"
    assert dt.ps_entry(store, name) is None, f"ps -a still lists {name}"
    assert not dt.mounts_under([store.data, store.run]), dt.mounts_under([store.data, store.run])


# -- persistence ---------------------------------------------------------------------------

PERSIST = "if [ -e /mark ]; then cat /mark; else echo first-run > /mark; echo new; fi; exit 3"


def test_file_persists_across_start_attach(s, name):
    res = dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c", PERSIST), 3)
    assert res.stdout == "new\n", dt.describe(res)
    assert dt.ps_entry(s, name)["Status"] == "exited (3)"
    res = dt.assert_ok(s.diyc("start", "-a", name), 3)
    assert res.stdout == "first-run\n", "the file written by the first run is gone\n" + dt.describe(res)
    res = dt.assert_ok(s.diyc("start", "--attach", name), 3)
    assert res.stdout == "first-run\n", dt.describe(res)


def test_start_attach_interactive(s, name):
    res = dt.assert_ok(s.diyc("run", "-i", "--name", name, "busybox", "cat", input="one\n"))
    assert res.stdout == "one\n", dt.describe(res)
    res = dt.assert_ok(s.diyc("start", "-a", "-i", name, input="two\n"))
    assert res.stdout == "two\n", "start -a -i should pipe stdin to the command\n" + dt.describe(res)


def test_file_persists_after_stop_and_start(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    dt.assert_ok(s.diyc("exec", name, "sh", "-c", "echo kept > /data-file"))
    res = dt.assert_ok(s.diyc("stop", "-t", "2", name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert dt.ps_entry(s, name)["State"] == "exited"
    assert not dt.sleepers(tok), "the container's command survived stop"
    res = dt.assert_ok(s.diyc("start", name))
    assert res.stdout == f"{name}\n", "start should print the name\n" + dt.describe(res)
    assert dt.ps_entry(s, name)["State"] == "running", "start returned before the container ran"
    res = dt.assert_ok(s.diyc("exec", name, "cat", "/data-file"))
    assert res.stdout == "kept\n", dt.describe(res)
    assert len(dt.sleepers(tok)) == 1


def test_start_several(s):
    names = [dt.unique_name("several") for _ in range(2)]
    for n in names:
        dt.assert_ok(s.diyc("run", "--name", n, "busybox", "sh", "-c", "echo run >> /count"))
    res = dt.assert_ok(s.diyc("start", *names))
    assert res.stdout.split() == names, dt.describe(res)
    for n in names:
        assert dt.wait_exited(s, n)["ExitCode"] == 0
        count = upper(s, n) / "count"
        assert count.read_text() == "run\nrun\n", f"{n} did not run again: {count.read_text()!r}"


def new_entries(before, after):
    """What changed between two snapshots, but for the containers/ directory itself."""
    diff = set()
    for k in before:
        diff |= {(k, e) for e in before[k] ^ after[k] if e != ("containers", "d")}
    return diff


def test_rm_flag_leaves_nothing(private_store, name):
    s = private_store
    before = s.snapshot()
    res = dt.assert_ok(s.diyc("run", "--rm", "--name", name, "busybox", "sh", "-c", "echo x > /f; echo done"))
    assert res.stdout == "done\n", dt.describe(res)
    assert not new_entries(before, s.snapshot()), "run --rm left something in the store"
    assert dt.ps_entry(s, name) is None


def test_rm_flag_detached_leaves_nothing(private_store, name):
    s = private_store
    before = s.snapshot()
    tok = dt.token()
    try:
        dt.run_detached(s, name, "--rm", "busybox", "sleep", tok)
        assert dt.ps_entry(s, name)["State"] == "running"
        assert dt.inspect(s, name)["HostConfig"]["AutoRemove"] is True
        dt.assert_ok(s.diyc("stop", name))
        dt.wait_until(lambda: name not in s.containers(), 10, what=f"{name} to be removed")
        assert dt.ps_entry(s, name) is None
        assert not dt.sleepers(tok)
        dt.wait_until(lambda: not new_entries(before, s.snapshot()), 5, what="the store to be as before")
    finally:
        dt.remove_all(s)


# -- run -d ------------------------------------------------------------------------------------

def test_detached_prints_name_and_runs(s, name):
    tok = dt.token()
    start = time.monotonic()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    assert time.monotonic() - start < 10
    e = dt.ps_entry(s, name)
    assert e["State"] == "running" and e["Status"] == "running", e
    pid = dt.container_pid(s, name)
    assert dt.pid_alive(pid), f"State.Pid {pid} is not a live process"
    assert dt.sleepers(tok), "the command is not running"
    assert dt.proc_comm(dt.proc_ppid(pid)) == "diyc-monitor", \
        f"PID 1's parent should be the monitor, it is {dt.proc_comm(dt.proc_ppid(pid))!r}"


def test_detached_generated_name(s):
    res = dt.assert_ok(s.diyc("run", "-d", "busybox", "sleep", dt.token()))
    gen = res.stdout.strip()
    assert res.stdout == gen + "\n" and dt.NAME_RE.fullmatch(gen), dt.describe(res)
    assert dt.ps_entry(s, gen)["State"] == "running"


def test_detached_command_not_found_is_127(s, name):
    res = s.diyc("run", "-d", "--name", name, "busybox", "no-such-command")
    assert res.returncode == 127, dt.describe(res)
    assert res.stderr.startswith("diyc: ") and "no-such-command" in res.stderr, dt.describe(res)
    e = dt.ps_entry(s, name)
    assert e is not None, "the container should be kept, exited (127)"
    assert e["State"] == "exited" and e["ExitCode"] == 127 and e["Status"] == "exited (127)", e


def test_detached_stdin(s):
    # without -i the command's stdin is at its end at once; with -i it stays open
    closed, opened = dt.unique_name("stdin-closed"), dt.unique_name("stdin-open")
    dt.run_detached(s, closed, "busybox", "cat")
    dt.run_detached(s, opened, "-i", "busybox", "cat")
    assert dt.wait_exited(s, closed)["ExitCode"] == 0
    time.sleep(0.5)
    assert dt.ps_entry(s, opened)["State"] == "running", "run -d -i: cat saw the end of its input"


def test_natural_exit_status_kept(s, name):
    dt.run_detached(s, name, "busybox", "sh", "-c", "exit 42")
    e = dt.wait_exited(s, name)
    assert e["ExitCode"] == 42 and e["Status"] == "exited (42)" and e["Pid"] == 0, e
    st = dt.inspect(s, name)["State"]
    assert st["Status"] == "exited" and st["Running"] is False and st["ExitCode"] == 42, st
    assert dt.RFC3339_RE.fullmatch(st["FinishedAt"]), st


# -- ps ------------------------------------------------------------------------------------

def rows(text, name):
    return [line for line in text.splitlines() if line.split() and line.split()[0] == name]


def test_ps(s):
    running, exited = dt.unique_name("ps-running"), dt.unique_name("ps-exited")
    tok = dt.token()
    dt.assert_ok(s.diyc("run", "--name", exited, "busybox", "sh", "-c", "exit 3"), 3)
    dt.run_detached(s, running, "busybox", "sleep", tok)

    res = dt.assert_ok(s.diyc("ps"))
    header = res.stdout.splitlines()[0].split()
    assert header == ["NAME", "IMAGE", "COMMAND", "STATUS", "STARTED", "PID", "ADDRESS", "PORTS"], dt.describe(res)
    r = rows(res.stdout, running)
    assert len(r) == 1 and "running" in r[0] and "busybox" in r[0], dt.describe(res)
    assert str(dt.container_pid(s, running)) in r[0].split(), dt.describe(res)
    assert not rows(res.stdout, exited), "ps without -a lists an exited container\n" + dt.describe(res)

    for flag in ("-a", "--all"):
        res = dt.assert_ok(s.diyc("ps", flag))
        assert len(rows(res.stdout, running)) == 1, dt.describe(res)
        r = rows(res.stdout, exited)
        assert len(r) == 1 and "exited (3)" in r[0], dt.describe(res)

    res = dt.assert_ok(s.diyc("ps", "-q"))
    assert res.stdout == f"{running}\n", dt.describe(res)
    res = dt.assert_ok(s.diyc("ps", "--quiet", "--all"))
    assert sorted(res.stdout.split()) == sorted([running, exited]) and len(res.stdout.splitlines()) == 2, \
        dt.describe(res)


def test_ps_json(s):
    running, exited = dt.unique_name("json-running"), dt.unique_name("json-exited")
    tok = dt.token()
    dt.assert_ok(s.diyc("run", "--name", exited, "busybox", "sh", "-c", "exit 3"), 3)
    dt.run_detached(s, running, "busybox", "sleep", tok)

    only_running = dt.json_out(s.diyc("ps", "--format", "json"))
    assert [e["Name"] for e in only_running] == [running], only_running
    entries = dt.ps_all(s)
    assert set(entries) == {running, exited}, entries
    keys = {"Name", "Image", "ImageID", "Command", "State", "Status", "ExitCode", "Pid", "Created",
            "StartedAt", "FinishedAt"}
    for e in entries.values():
        assert keys <= set(e), f"missing keys {keys - set(e)} in {e}"
        assert e["Image"] == "busybox", e
        assert re.fullmatch(r"[0-9a-f]{12,64}", e["ImageID"]), e
        assert isinstance(e["ExitCode"], int) and isinstance(e["Pid"], int), e
        assert dt.RFC3339_RE.fullmatch(e["Created"]) and dt.RFC3339_RE.fullmatch(e["StartedAt"]), e
        assert dt.STATUS_RE.fullmatch(e["Status"]), e

    r = entries[running]
    assert r["Command"] == ["sleep", tok], r
    assert (r["State"], r["Status"]) == ("running", "running"), r
    assert r["Pid"] == dt.container_pid(s, running) and dt.pid_alive(r["Pid"]), r
    assert r["FinishedAt"] == "", r

    x = entries[exited]
    assert x["Command"] == ["sh", "-c", "exit 3"], x
    assert (x["State"], x["Status"], x["ExitCode"], x["Pid"]) == ("exited", "exited (3)", 3, 0), x
    assert dt.RFC3339_RE.fullmatch(x["FinishedAt"]), x


def test_ps_empty_store(empty_store):
    assert dt.json_out(empty_store.diyc("ps", "-a", "--format", "json")) == []
    res = dt.assert_ok(empty_store.diyc("ps", "-a", "-q"))
    assert res.stdout == "", dt.describe(res)
    res = dt.assert_ok(empty_store.diyc("ps"))
    assert res.stdout.split() in ([], ["NAME", "IMAGE", "COMMAND", "STATUS", "STARTED", "PID", "ADDRESS", "PORTS"]), dt.describe(res)


# -- stop, kill ------------------------------------------------------------------------------

def test_stop_with_init_is_fast(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    pid = dt.container_pid(s, name)
    start = time.monotonic()
    res = dt.assert_ok(s.diyc("stop", name))
    took = time.monotonic() - start
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert took < 3, f"stop took {took:.1f}s: init should pass SIGTERM to `sleep`, which ends at once"
    # stop returns after the state was recorded: no waiting here
    e = dt.ps_entry(s, name)
    assert (e["State"], e["ExitCode"], e["Status"], e["Pid"]) == ("exited", 143, "exited (143)", 0), e
    assert not dt.pid_alive(pid) and not dt.sleepers(tok)


def test_stop_timeout_sigkill(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "--no-init", "busybox", "sh", "-c", f'trap "" TERM; touch /ready; sleep {tok}')
    dt.wait_until(lambda: (upper(s, name) / "ready").exists(), 10, what="the trap to be set")
    pid = dt.container_pid(s, name)
    start = time.monotonic()
    res = dt.assert_ok(s.diyc("stop", "-t", "1", name))
    took = time.monotonic() - start
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert 0.8 <= took < 4, f"stop -t 1 of a command that ignores SIGTERM took {took:.2f}s"
    e = dt.ps_entry(s, name)
    assert (e["State"], e["ExitCode"], e["Status"]) == ("exited", 137, "exited (137)"), e
    assert not dt.pid_alive(pid)
    dt.wait_until(lambda: not dt.processes_with(tok), 3, what="the container's processes and monitor to end")

    # stopping it again: its name, exit 0, and the status kept
    res = dt.assert_ok(s.diyc("stop", "--time", "1", name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    st = dt.inspect(s, name)["State"]
    assert (st["Status"], st["Running"], st["Pid"], st["ExitCode"]) == ("exited", False, 0, 137), st
    assert dt.RFC3339_RE.fullmatch(st["FinishedAt"]), st


def test_stop_several(s):
    names = [dt.unique_name("stop-several") for _ in range(3)]
    tok = dt.token()
    for n in names:
        dt.run_detached(s, n, "busybox", "sleep", tok)
    assert len(dt.sleepers(tok)) == 3
    res = dt.assert_ok(s.diyc("stop", *names))
    assert res.stdout.split() == names, dt.describe(res)
    assert not dt.sleepers(tok)
    assert all(dt.ps_entry(s, n)["State"] == "exited" for n in names)


KILL_SIGNALS = [([], 137), (["-s", "KILL"], 137), (["-s", "SIGKILL"], 137), (["-s", "kill"], 137),
                (["-s", "9"], 137), (["--signal", "TERM"], 143), (["-s", "15"], 143),
                (["-s", "term"], 143), (["-s", "SIGTERM"], 143)]


@pytest.mark.parametrize("opt,status", KILL_SIGNALS, ids=lambda v: " ".join(v) if isinstance(v, list) else str(v))
def test_kill(s, name, opt, status):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    res = dt.assert_ok(s.diyc("kill", *opt, name))
    assert res.stdout in ("", f"{name}\n"), dt.describe(res)
    e = dt.wait_exited(s, name)
    assert e["ExitCode"] == status and e["Status"] == f"exited ({status})", e
    assert not dt.sleepers(tok)


@pytest.mark.parametrize("sig", ["USR1", str(int(signal.SIGUSR1))])
def test_kill_signal_reaches_command(s, name, sig):
    script = 'trap "touch /got-usr1; exit 7" USR1; touch /ready; while :; do sleep 10 & wait $!; done'
    dt.run_detached(s, name, "busybox", "sh", "-c", script)
    dt.wait_until(lambda: (upper(s, name) / "ready").exists(), 10, what="the trap to be set")
    dt.assert_ok(s.diyc("kill", "-s", sig, name))
    e = dt.wait_exited(s, name)
    assert e["ExitCode"] == 7, e
    assert (upper(s, name) / "got-usr1").exists()


def test_kill_not_running(s, name):
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c", "exit 4"), 4)
    before = s.snapshot()
    dt.assert_error(s.diyc("kill", name), "not running")
    assert s.snapshot() == before
    assert dt.ps_entry(s, name)["Status"] == "exited (4)"


@pytest.mark.parametrize("sig", ["BOGUS", "SIGBOGUS", "999", "-3", "1x"])
def test_kill_bad_signal(s, name, sig):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    pid = dt.container_pid(s, name)
    before = s.snapshot()
    dt.assert_error(s.diyc("kill", "-s", sig, name), sig)
    assert s.snapshot() == before
    assert dt.pid_alive(pid) and dt.sleepers(tok), "a bad signal changed the container"
    assert dt.ps_entry(s, name)["State"] == "running"


# -- start on a running container ------------------------------------------------------------

def test_start_running_is_noop(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    pid = dt.container_pid(s, name)
    before = dt.inspect(s, name)
    res = dt.assert_ok(s.diyc("start", name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    after = dt.inspect(s, name)
    assert after["State"] == before["State"], (before, after)
    assert dt.pid_alive(pid) and len(dt.sleepers(tok)) == 1


# -- rm, prune --------------------------------------------------------------------------------

def test_rm_stopped(s, name):
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c", "echo x > /f"))
    data, _ = s.container_dirs(name)
    assert data.is_dir()
    res = dt.assert_ok(s.diyc("rm", name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert_gone(s, name)
    assert not [p for p in os.listdir(s.data / "containers") if p.startswith((".rm-", ".new-"))]


def test_rm_running_without_force_is_refused(s, name):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    pid = dt.container_pid(s, name)
    before = s.snapshot()
    dt.assert_error(s.diyc("rm", name), "running")
    assert s.snapshot() == before, "a refused rm changed the store"
    assert dt.pid_alive(pid) and dt.container_pid(s, name) == pid
    assert dt.ps_entry(s, name)["State"] == "running"
    dt.assert_ok(s.diyc("exec", name, "true"))


@pytest.mark.parametrize("flag", ["-f", "--force"])
def test_rm_force_running(s, name, flag):
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    pid = dt.container_pid(s, name)
    res = dt.assert_ok(s.diyc("rm", flag, name))
    assert res.stdout == f"{name}\n", dt.describe(res)
    assert not dt.pid_alive(pid) and not dt.sleepers(tok)
    dt.wait_until(lambda: not dt.processes_with(tok), 3, what="the monitor to end")
    assert_gone(s, name)


def test_rm_several_one_unknown(s):
    a, b = dt.unique_name("rm-a"), dt.unique_name("rm-b")
    unknown = dt.unique_name("rm-unknown")
    for n in (a, b):
        dt.assert_ok(s.diyc("run", "--name", n, "busybox", "true"))
    res = s.diyc("rm", a, unknown, b)
    assert res.returncode == 125, dt.describe(res)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("diyc: ") and "no such container" in lines[0].lower(), \
        dt.describe(res)
    assert res.stdout.split() == [a, b], "each name is processed\n" + dt.describe(res)
    assert_gone(s, a)
    assert_gone(s, b)


def test_prune(s):
    tok = dt.token()
    running = dt.unique_name("prune-running")
    stopped = [dt.unique_name("prune-stopped") for _ in range(2)]
    for n in stopped:
        dt.assert_ok(s.diyc("run", "--name", n, "busybox", "true"))
    dt.run_detached(s, running, "busybox", "sleep", tok)
    res = dt.assert_ok(s.diyc("prune"))
    assert sorted(res.stdout.split()) == sorted(stopped), dt.describe(res)
    for n in stopped:
        assert_gone(s, n)
    assert dt.ps_entry(s, running)["State"] == "running" and dt.sleepers(tok)
    res = dt.assert_ok(s.diyc("prune", "-f"))
    assert res.stdout == "", "nothing left to prune\n" + dt.describe(res)
    assert set(dt.ps_all(s)) == {running}


# -- inspect ---------------------------------------------------------------------------------

def test_inspect(s, name, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    tok = dt.token()
    dt.run_detached(s, name, "-e", "FOO=bar", "-w", "/tmp", "-h", "inspected", "-v", f"{vol}:/data:ro",
                 "--tmpfs", "/scratch", "busybox", "sleep", tok)
    i = dt.inspect(s, name)
    for k in ("Name", "Image", "ImageID", "Created", "State", "Config", "HostConfig", "LogPath", "Paths"):
        assert k in i, f"inspect has no {k}: {i}"
    assert i["Name"] == name and i["Image"] == "busybox", i
    assert re.fullmatch(r"[0-9a-f]{12,64}", i["ImageID"]) and dt.RFC3339_RE.fullmatch(i["Created"]), i
    st = i["State"]
    assert (st["Status"], st["Running"], st["ExitCode"]) == ("running", True, 0), st
    assert dt.pid_alive(st["Pid"]) and dt.RFC3339_RE.fullmatch(st["StartedAt"]), st
    assert st["FinishedAt"] == "", st
    c = i["Config"]
    assert c["Cmd"] == ["sleep", tok], c
    assert "FOO=bar" in c["Env"], c
    assert (c["Hostname"], c["WorkingDir"], c["Tty"], c["OpenStdin"], c["Init"]) == \
        ("inspected", "/tmp", False, False, True), c
    assert "User" in c, c
    h = i["HostConfig"]
    assert h["AutoRemove"] is False and "NetworkMode" in h, h
    assert h["Binds"] == [f"{vol}:/data:ro"], h
    assert list(h["Tmpfs"]) == ["/scratch"], h
    data, rundir = s.container_dirs(name)
    assert i["LogPath"] == str(data / "container.log"), i
    assert str(data).startswith(i["Paths"]["Data"]) and str(rundir).startswith(i["Paths"]["Run"]), i

    dt.assert_ok(s.diyc("stop", name))
    st = dt.inspect(s, name)["State"]
    assert (st["Status"], st["Running"], st["Pid"], st["ExitCode"]) == ("exited", False, 0, 143), st
    assert dt.RFC3339_RE.fullmatch(st["FinishedAt"]), st


def test_inspect_several(s):
    names = [dt.unique_name("inspect-several") for _ in range(2)]
    for n in names:
        dt.assert_ok(s.diyc("run", "--name", n, "-t", "busybox", "true"))
    data = dt.json_out(s.diyc("inspect", *reversed(names)))
    assert [d["Name"] for d in data] == list(reversed(names)), data
    assert all(d["Config"]["Tty"] is True for d in data), data


# -- many at once ------------------------------------------------------------------------------

def test_twenty_detached_then_prune(private_store):
    s = private_store
    n = 20
    tok = dt.token()
    names = [dt.unique_name(f"twenty{i}") for i in range(n)]
    procs = []
    try:
        procs = [s.popen("run", "-d", "--name", nm, "busybox", "sleep", tok) for nm in names]
        results = [p.finish(timeout=120) for p in procs]
        for nm, res in zip(names, results):
            assert res.returncode == 0 and res.stdout == f"{nm}\n", dt.describe(res)
        assert sorted(dt.assert_ok(s.diyc("ps", "-q")).stdout.split()) == sorted(names)
        assert len(dt.sleepers(tok)) == n
        pids = [dt.container_pid(s, nm) for nm in names]
        assert all(dt.pid_alive(p) for p in pids)
        monitors = [dt.proc_ppid(p) for p in pids]
        res = dt.assert_ok(s.diyc("stop", *names, timeout=120))
        assert sorted(res.stdout.split()) == sorted(names), dt.describe(res)
        res = dt.assert_ok(s.diyc("prune", timeout=120))
        assert sorted(res.stdout.split()) == sorted(names), dt.describe(res)
        assert dt.assert_ok(s.diyc("ps", "-a", "-q")).stdout == ""
        assert not dt.processes_with(tok), "processes left after prune"
        dt.wait_until(lambda: not any(dt.pid_alive(m) for m in monitors + pids), 5,
                      what="the monitors and containers to end")
        assert not dt.mounts_under([s.data, s.run])
        assert os.listdir(s.data / "containers") == []
        assert not (s.run / "containers").exists() or os.listdir(s.run / "containers") == []
    finally:
        for p in procs:
            p.kill()
        dt.remove_all(s)


# -- one name, two commands at once -----------------------------------------------------------

@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
def test_same_name_at_once(s, detach):
    for _ in range(4):
        nm = dt.unique_name("race")
        tok = dt.token()
        opt = ["-d"] if detach else []
        cmd = ["sleep", tok] if detach else ["sh", "-c", f"sleep 1 && echo ran {tok}"]
        procs = [s.popen("run", *opt, "--name", nm, "busybox", *cmd) for _ in range(2)]
        try:
            results = [p.finish(timeout=60) for p in procs]
        finally:
            for p in procs:
                p.kill()
        ok = [r for r in results if r.returncode == 0]
        bad = [r for r in results if r.returncode != 0]
        assert len(ok) == 1 and len(bad) == 1, "exactly one should win\n" + "\n".join(map(dt.describe, results))
        assert ok[0].stdout == (f"{nm}\n" if detach else f"ran {tok}\n"), dt.describe(ok[0])
        dt.assert_error(bad[0], (nm, "exist", "already", "in use"))
        if detach:
            assert len(dt.sleepers(tok)) == 1
            assert dt.ps_entry(s, nm)["State"] == "running"
            dt.assert_ok(s.diyc("rm", "-f", nm))
        else:
            assert dt.ps_entry(s, nm)["ExitCode"] == 0


def test_concurrent_commands_on_one_container(s, name):
    # start, stop, kill, exec, inspect and ps at once: stop, start, inspect and ps always
    # succeed (stopping a stopped container is fine, starting a running one too), kill and
    # exec succeed or fail cleanly, and the state stays readable and true to the processes
    tok = dt.token()
    dt.run_detached(s, name, "busybox", "sleep", tok)
    cmds = [["stop", "-t", "1", name], ["start", name], ["kill", name], ["inspect", name], ["ps", "-a"],
            ["exec", name, "true"], ["start", name], ["stop", "-t", "2", name], ["inspect", name], ["start", name]]
    for i in range(5):
        start = time.monotonic()
        procs = [s.popen(*c) for c in cmds]
        try:
            results = [p.finish(timeout=60) for p in procs]
        finally:
            for p in procs:
                p.kill()
        took = time.monotonic() - start
        for c, res in zip(cmds, results):
            if c[0] == "exec" and res.returncode in (137, 143):
                continue  # the container was stopped under it
            if c[0] in ("exec", "kill") and res.returncode != 0:
                dt.assert_error(res)
                continue
            dt.assert_ok(res)
        assert took < 15, f"round {i}: the commands took {took:.1f}s\n" + "\n".join(map(dt.describe, results))
        def agreed():
            st = dt.inspect(s, name)["State"]
            if st["Running"]:
                return st if dt.pid_alive(st["Pid"]) and dt.sleepers(tok) else None
            return st if st["Pid"] == 0 and not dt.sleepers(tok) else None
        dt.wait_until(agreed, 5, what="the state to agree with the processes")
    dt.assert_ok(s.diyc("rm", "-f", name))
    assert_gone(s, name)
    assert not dt.sleepers(tok)


# -- bad input ---------------------------------------------------------------------------------

NEW_COMMANDS = ["start", "stop", "kill", "rm", "prune", "ps", "exec", "logs", "inspect"]


@pytest.mark.parametrize("cmd", NEW_COMMANDS)
def test_help(store, cmd):
    res = dt.assert_ok(store.diyc(cmd, "--help"))
    assert re.search(r"usage", res.stdout, re.I), "no usage text on stdout\n" + dt.describe(res)
    assert res.stderr == "", dt.describe(res)


def test_help_lists_new_commands(store):
    res = dt.assert_ok(store.diyc("--help"))
    for word in NEW_COMMANDS:
        assert re.search(rf"\b{word}\b", res.stdout), f"`diyc --help` does not mention {word}\n" + dt.describe(res)


def test_run_help_lists_new_options(store):
    res = dt.assert_ok(store.diyc("run", "--help"))
    for opt in ("--detach", "--volume", "--tmpfs"):
        assert opt in res.stdout, f"`diyc run --help` does not mention {opt}\n" + dt.describe(res)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """A store with one exited container (`bad.existing`), so that "nothing changed" means
    something; shared by the bad-input tests, which must leave it as it is."""
    st = dt.Store.private(tmp_path_factory.mktemp("bad-input") / "store")
    st.import_busybox("busybox")
    st.existing = dt.unique_name("exited")
    dt.assert_ok(st.diyc("run", "--name", st.existing, "busybox", "sh", "-c", "echo hi > /f"))
    dt.assert_ok(st.diyc("ps", "-a"))
    yield st
    dt.remove_all(st)


def assert_unchanged(st, before):
    assert st.snapshot() == before, "the store changed"
    e = dt.ps_entry(st, st.existing)
    assert e and e["Status"] == "exited (0)", e


UNKNOWN = [["start"], ["start", "-a"], ["stop"], ["kill"], ["rm"], ["rm", "-f"], ["logs"], ["logs", "-f"],
           ["inspect"]]


@pytest.mark.parametrize("cmd", UNKNOWN, ids=" ".join)
def test_unknown_container(bad, cmd):
    before = bad.snapshot()
    dt.assert_error(bad.diyc(*cmd, dt.unique_name("missing")), "no such container")
    assert_unchanged(bad, before)


def test_unknown_container_exec(bad):
    before = bad.snapshot()
    dt.assert_error(bad.diyc("exec", dt.unique_name("missing"), "true"), "no such container")
    assert_unchanged(bad, before)


BAD_NAMES = ["..", ".", "../x", "a/b", "/abs", "", "-", ".new-x", "x" * 200]


@pytest.mark.parametrize("cmd", [["start"], ["stop"], ["kill"], ["rm"], ["rm", "-f"], ["logs"], ["inspect"],
                                 ["exec"]], ids=" ".join)
def test_bad_names(bad, cmd):
    before = bad.snapshot()
    for nm in BAD_NAMES:
        extra = ["true"] if cmd == ["exec"] else []
        argv = [*cmd, "--", nm, *extra] if nm.startswith("-") else [*cmd, nm, *extra]
        dt.assert_error(bad.diyc(*argv))
        assert_unchanged(bad, before)


@pytest.mark.parametrize("argv", [["start", "--bogus-flag", "x"], ["stop", "--bogus-flag", "x"],
                                  ["kill", "--bogus-flag", "x"], ["rm", "--bogus-flag", "x"],
                                  ["prune", "--bogus-flag"], ["ps", "--bogus-flag"],
                                  ["exec", "--bogus-flag", "x", "true"], ["logs", "--bogus-flag", "x"],
                                  ["inspect", "--bogus-flag", "x"], ["run", "-d", "--bogus-flag", "busybox"]],
                         ids=lambda a: a[0])
def test_unknown_flag(bad, argv):
    before = bad.snapshot()
    dt.assert_error(bad.diyc(*[bad.existing if a == "x" else a for a in argv]), "bogus-flag")
    assert_unchanged(bad, before)


@pytest.mark.parametrize("argv", [["start"], ["stop"], ["kill"], ["rm"], ["exec"], ["logs"], ["inspect"],
                                  ["exec", "X"], ["stop", "-t"], ["kill", "-s"], ["stop", "-t", "soon", "X"],
                                  ["ps", "--format", "yaml"], ["ps", "--format"]], ids=" ".join)
def test_missing_or_bad_argument(bad, argv):
    before = bad.snapshot()
    dt.assert_error(bad.diyc(*[bad.existing if a == "X" else a for a in argv]))
    assert_unchanged(bad, before)


def test_run_name_taken_by_exited(bad):
    before = bad.snapshot()
    dt.assert_error(bad.diyc("run", "--name", bad.existing, "busybox", "true"), bad.existing)
    dt.assert_error(bad.diyc("run", "-d", "--name", bad.existing, "busybox", "true"), bad.existing)
    assert_unchanged(bad, before)
