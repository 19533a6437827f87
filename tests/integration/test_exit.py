# SPDX-License-Identifier: MIT
# The container's exit status becomes diyc's: the command's own status, 126 when it
# cannot be executed, 127 when it is not found, 128+N when it is killed by signal N.
import pytest

import diyctest as dt

INIT_MODES = pytest.mark.parametrize("init", [[], ["--no-init"]], ids=["init", "no-init"])


@INIT_MODES
@pytest.mark.parametrize("script,status", [("true", 0), ("exit 0", 0), ("exit 1", 1), ("exit 42", 42),
                                           ("exit 255", 255)])
def test_exit_status(store, busybox, init, script, status):
    res = store.diyc("run", "--rm", *init, "busybox", "sh", "-c", script)
    dt.assert_ok(res, status)
    assert res.stderr == "", dt.describe(res)


@INIT_MODES
def test_false(store, busybox, init):
    dt.assert_ok(store.diyc("run", "--rm", *init, "busybox", "false"), 1)


@INIT_MODES
@pytest.mark.parametrize("cmd", ["/etc/passwd", "/tmp", "/dev/null"])
def test_cannot_execute_is_126(store, busybox, init, cmd):
    res = store.diyc("run", "--rm", *init, "busybox", cmd)
    dt.assert_ok(res, 126)
    assert cmd in res.stderr and res.stderr.startswith("diyc: "), \
        "expected a message naming the command\n" + dt.describe(res)
    assert len(res.stderr.splitlines()) == 1, dt.describe(res)


@INIT_MODES
@pytest.mark.parametrize("cmd", ["no-such-command", "/no/such/file", "/bin/no-such-command"])
def test_not_found_is_127(store, busybox, init, cmd):
    res = store.diyc("run", "--rm", *init, "busybox", cmd, "arg")
    dt.assert_ok(res, 127)
    assert cmd in res.stderr and res.stderr.startswith("diyc: "), \
        "expected a message naming the command\n" + dt.describe(res)
    assert len(res.stderr.splitlines()) == 1, dt.describe(res)


def test_not_found_in_shell_is_127(store, busybox):
    # the shell's own 127 passes through unchanged
    dt.assert_ok(store.diyc("run", "--rm", "busybox", "sh", "-c", "no-such-command 2>/dev/null"), 127)


@pytest.mark.parametrize("sig,status", [("KILL", 137), ("TERM", 143), ("INT", 130), ("USR1", 138),
                                        ("HUP", 129), ("USR2", 140), ("PIPE", 141)])
def test_killed_by_signal(store, busybox, sig, status):
    # under init the shell is PID 2, so it can kill itself with any signal
    res = store.diyc("run", "--rm", "busybox", "sh", "-c", f"kill -{sig} $$; sleep 5; exit 3")
    dt.assert_ok(res, status)


def test_killed_child_is_128_plus_n_without_init(store, busybox):
    # without init, PID 1 ignores signals it has no handler for, even SIGKILL from inside;
    # a command killed by the shell running as PID 1 gives the shell's own 128+N
    res = store.diyc("run", "--rm", "--no-init", "busybox", "sh", "-c", "sh -c 'kill -9 $$'; exit $?")
    dt.assert_ok(res, 137)
