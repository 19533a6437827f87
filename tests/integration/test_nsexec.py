# SPDX-License-Identifier: MIT
# `diyc nsexec`: a host command in new namespaces. Each flag is proven from outside by
# comparing the namespace links in /proc with the test's own.
import os
import socket

import pytest

import diyctest as dt


def nsexec(store, *args, **kw):
    return store.diyc("nsexec", *args, **kw)


def test_pid_ns_shell_is_pid1(store):
    res = dt.assert_ok(nsexec(store, "-p", "-m", "sh", "-c", "echo $$"))
    assert res.stdout == "1\n", dt.describe(res)


def test_pid_ns_without_mount_ns(store):
    res = dt.assert_ok(nsexec(store, "-p", "sh", "-c", "echo $$"))
    assert res.stdout == "1\n", dt.describe(res)


def test_pid_and_mount_ns_ps_sees_only_itself(store):
    if not dt.which("ps"):
        pytest.skip("ps is not installed (Debian package procps)")
    res = dt.assert_ok(nsexec(store, "-p", "-m", "ps", "-e", "-o", "pid="))
    assert res.stdout.split() == ["1"], "a fresh /proc should show only PID 1\n" + dt.describe(res)


def test_pid_and_mount_ns_fresh_proc(store):
    res = dt.assert_ok(nsexec(store, "-p", "-m", "sh", "-c", "ls /proc | grep -c '^[0-9]'; cat /proc/1/comm"))
    count, comm = res.stdout.split()
    assert int(count) <= 3 and comm == "sh", dt.describe(res)


def test_uts_ns_hostname(store):
    host = socket.gethostname()
    res = dt.assert_ok(nsexec(store, "-u", "--hostname", "ns-host", "hostname"))
    assert res.stdout == "ns-host\n", dt.describe(res)
    assert socket.gethostname() == host, "the host's hostname changed"


def test_uts_ns_set_hostname_inside(store):
    host = socket.gethostname()
    res = dt.assert_ok(nsexec(store, "-u", "sh", "-c", "hostname inner-host && hostname"))
    assert res.stdout == "inner-host\n", dt.describe(res)
    assert socket.gethostname() == host, "the host's hostname changed"


def test_net_ns_only_loopback(store):
    res = dt.assert_ok(nsexec(store, "-n", "cat", "/proc/net/dev"))
    names = [line.split(":")[0].strip() for line in res.stdout.splitlines()[2:] if ":" in line]
    assert names == ["lo"], dt.describe(res)


def test_net_ns_ip_link(store):
    if not dt.which("ip"):
        pytest.skip("ip is not installed (Debian package iproute2)")
    res = dt.assert_ok(nsexec(store, "-n", "ip", "-o", "link"))
    lines = res.stdout.splitlines()
    assert len(lines) == 1 and ": lo:" in lines[0], dt.describe(res)


@pytest.mark.parametrize("flag,ns", [("-m", "mnt"), ("-u", "uts"), ("-i", "ipc"), ("-n", "net"),
                                     ("-p", "pid"), ("-U", "user")])
def test_flag_creates_namespace(store, flag, ns):
    res = dt.assert_ok(nsexec(store, flag, "readlink", f"/proc/self/ns/{ns}"))
    mine = os.readlink(f"/proc/self/ns/{ns}")
    assert res.stdout.strip().startswith(f"{ns}:["), dt.describe(res)
    assert res.stdout.strip() != mine, f"{flag} did not create a new {ns} namespace\n" + dt.describe(res)


@pytest.mark.parametrize("ns", ["mnt", "uts", "ipc", "net", "pid"])
def test_other_namespaces_are_kept(store, ns):
    # only what is asked for is new (the user namespace is implied for a normal user)
    flag = "-u" if ns != "uts" else "-i"
    res = dt.assert_ok(nsexec(store, flag, "readlink", f"/proc/self/ns/{ns}"))
    assert res.stdout.strip() == os.readlink(f"/proc/self/ns/{ns}"), dt.describe(res)


@pytest.mark.parametrize("flags", [[], ["-p"], ["-p", "-m"], ["-U", "-n", "-u", "-i"]],
                         ids=lambda f: " ".join(f) or "none")
def test_exit_status_passes_through(store, flags):
    dt.assert_ok(nsexec(store, *flags, "sh", "-c", "exit 7"), 7)
    dt.assert_ok(nsexec(store, *flags, "true"), 0)


def test_killed_by_signal(store):
    dt.assert_ok(nsexec(store, "sh", "-c", "kill -TERM $$"), 143)


def test_command_not_found(store):
    res = nsexec(store, "-p", "no-such-command-xyz")
    dt.assert_ok(res, 127)
    assert "no-such-command-xyz" in res.stderr and res.stderr.startswith("diyc: "), dt.describe(res)


def test_stdio_passes_through(store):
    res = dt.assert_ok(nsexec(store, "-p", "-m", "cat", input="piped\n"))
    assert res.stdout == "piped\n", dt.describe(res)
