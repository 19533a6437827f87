# SPDX-License-Identifier: MIT
# stdin: with -i it is piped to the command (all of it, and its end), without -i the
# command gets no input and diyc does not read the caller's stdin.
import hashlib
import os

import diyctest as dt


def test_pipe_with_i(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "-i", "busybox", "cat", input="data\n"))
    assert res.stdout == "data\n", dt.describe(res)


def test_pipe_with_interactive_long_option(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "--interactive", "busybox", "tr", "a-z", "A-Z",
                                  input="shout\n"))
    assert res.stdout == "SHOUT\n", dt.describe(res)


def test_large_binary_input(store, busybox):
    data = os.urandom(4 << 20)
    res = store.diyc("run", "--rm", "-i", "busybox", "sha256sum", input=data, binary=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_large_binary_output(store, busybox):
    data = os.urandom(2 << 20)
    res = store.diyc("run", "--rm", "-i", "busybox", "cat", input=data, binary=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == data, "the bytes that came out differ from those that went in"


def test_empty_input_ends(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "-i", "busybox", "wc", "-c", input=""))
    assert res.stdout.strip() == "0", dt.describe(res)


def test_stdin_not_read_without_i(store, busybox):
    r, w = os.pipe()
    try:
        os.write(w, b"data")
        # the write end stays open: a command that read this pipe would wait until the timeout
        res = dt.assert_ok(store.diyc("run", "--rm", "busybox", "cat", stdin=r, timeout=20))
        assert res.stdout == "", dt.describe(res)
        os.set_blocking(r, False)
        assert os.read(r, 100) == b"data", "diyc read the caller's stdin without -i"
    finally:
        os.close(r)
        os.close(w)


def test_stdout_and_stderr_are_separate(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2"))
    assert res.stdout == "out\n" and res.stderr == "err\n", dt.describe(res)
