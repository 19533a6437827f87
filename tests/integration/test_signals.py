# SPDX-License-Identifier: MIT
# Signals that reach the diyc process are forwarded to the container's command: a trap
# in busybox sh prints which one arrived and exits with a known status.
import signal
import time

import pytest

import diyctest as dt

FORWARDED = ["TERM", "INT", "HUP", "QUIT", "USR1", "USR2"]


def trap_script(sig):
    # `wait` returns as soon as a trapped signal arrives; the trap then runs
    return (f'trap "echo got-{sig}; exit 7" {sig}; echo ready; '
            "while :; do sleep 10 & wait $!; done")


@pytest.mark.parametrize("sig", FORWARDED)
def test_signal_forwarded(store, busybox, sig):
    with store.popen("run", "--rm", "busybox", "sh", "-c", trap_script(sig)) as p:
        p.read_until("ready\n")
        p.signal(getattr(signal, "SIG" + sig))
        res = p.finish(timeout=15)
    assert res.returncode == 7, f"SIG{sig} did not reach the command's trap\n" + dt.describe(res)
    assert res.stdout == f"ready\ngot-{sig}\n", dt.describe(res)


@pytest.mark.parametrize("sig", ["TERM", "USR1"])
def test_signal_forwarded_without_init(store, busybox, sig):
    # the command is PID 1: a signal it has a handler for is delivered
    with store.popen("run", "--rm", "--no-init", "busybox", "sh", "-c", trap_script(sig)) as p:
        p.read_until("ready\n")
        p.signal(getattr(signal, "SIG" + sig))
        res = p.finish(timeout=15)
    assert res.returncode == 7, dt.describe(res)
    assert res.stdout == f"ready\ngot-{sig}\n", dt.describe(res)


def test_several_signals_in_a_row(store, busybox):
    script = ('n=0; trap \'n=$((n+1)); echo usr1-$n\' USR1; trap "echo got-TERM; exit 9" TERM; '
              "echo ready; while :; do sleep 10 & wait $!; done")
    with store.popen("run", "--rm", "busybox", "sh", "-c", script) as p:
        p.read_until("ready\n")
        for i in (1, 2, 3):
            p.signal(signal.SIGUSR1)
            p.read_until(f"usr1-{i}\n")
        p.signal(signal.SIGTERM)
        res = p.finish(timeout=15)
    assert res.returncode == 9, dt.describe(res)
    assert res.stdout == "ready\nusr1-1\nusr1-2\nusr1-3\ngot-TERM\n", dt.describe(res)


def test_sigterm_kills_command_without_handler(store, busybox):
    with store.popen("run", "--rm", "busybox", "sh", "-c", "echo ready; exec sleep 60") as p:
        p.read_until("ready\n")
        start = time.monotonic()
        p.signal(signal.SIGTERM)
        res = p.finish(timeout=15)
    assert res.returncode == 143, dt.describe(res)
    assert time.monotonic() - start < 10, "the command was not terminated by the forwarded SIGTERM"


def test_sigint_kills_command_without_handler(store, busybox):
    with store.popen("run", "--rm", "busybox", "sh", "-c", "echo ready; exec sleep 60") as p:
        p.read_until("ready\n")
        p.signal(signal.SIGINT)
        res = p.finish(timeout=15)
    assert res.returncode == 130, dt.describe(res)
