# SPDX-License-Identifier: MIT
# `diyc run -t -i` driven through a pseudo-terminal, as a person at a terminal would:
# the command gets a pty of its own, its size follows the terminal's (SIGWINCH), the
# terminal is in raw mode during the session and restored after, and the exit status
# passes through.
import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

import diyctest as dt


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _take_terminal():
    # runs in the child after setsid(): the pty on fd 0 becomes its controlling terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtySession:
    """diyc run on the slave side of a fresh pty; the test types and reads on the master."""

    def __init__(self, store, args, rows=30, cols=100):
        self.master, self.slave = os.openpty()
        set_winsize(self.slave, rows, cols)
        self.orig_attrs = termios.tcgetattr(self.slave)
        self.buf = b""
        self.pos = 0
        self.proc = subprocess.Popen([dt.diyc_bin(), *args], stdin=self.slave, stdout=self.slave,
                                     stderr=self.slave, env=store.env, start_new_session=True,
                                     preexec_fn=_take_terminal, close_fds=True)

    def send(self, text):
        os.write(self.master, text.encode())

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return False
        self.buf += chunk
        return bool(chunk)

    def expect(self, pattern, timeout=15):
        """Waits for PATTERN (a regex over bytes) after what earlier expects consumed."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and not self._read(0.2)):
                raise AssertionError(f"{pattern!r} did not appear on the terminal; "
                                     f"exit status {self.proc.poll()}; terminal so far: {self.buf!r}")
            self._read(min(left, 0.5))

    def wait(self, timeout=15):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        try:
            return self.proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"diyc did not exit; terminal so far: {self.buf!r}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def test_tty_session(store, busybox, name):
    s = PtySession(store, ["run", "--rm", "-t", "-i", "--name", name, "busybox", "sh"], rows=30, cols=100)
    try:
        s.send("tty; echo T-$((40+2))\r")
        m = s.expect(rb"(/dev/pts/\d+)\r?\n")
        s.expect(rb"T-42")
        assert m.group(1).startswith(b"/dev/pts/")

        # while diyc runs, the terminal it was given is in raw mode
        attrs = termios.tcgetattr(s.slave)
        assert not attrs[3] & (termios.ICANON | termios.ECHO | termios.ISIG), \
            "the terminal is not in raw mode during the session"

        s.send("stty size; echo S-$((1+1))\r")
        m = s.expect(rb"(\d+) (\d+)\r?\nS-2")
        assert (int(m.group(1)), int(m.group(2))) == (30, 100), f"terminal so far: {s.buf!r}"

        s.send("test -t 0 && test -t 1 && echo both-ttys-$((3*3))\r")
        s.expect(rb"both-ttys-9")

        # resizing the terminal sends SIGWINCH to diyc, which resizes the container's pty
        set_winsize(s.master, 40, 120)
        size = None
        deadline = time.monotonic() + 10
        i = 0
        while time.monotonic() < deadline:
            i += 1
            s.send(f"stty size; echo R-$(({i}*1000))\r")
            m = s.expect(rb"(\d+) (\d+)\r?\nR-" + str(i * 1000).encode())
            size = (int(m.group(1)), int(m.group(2)))
            if size == (40, 120):
                break
            time.sleep(0.2)
        assert size == (40, 120), f"the window size did not follow: {size}; terminal: {s.buf!r}"

        s.send("exit 3\r")
        status = s.wait()
        assert status == 3, f"exit status {status}; terminal: {s.buf!r}"
        assert termios.tcgetattr(s.slave) == s.orig_attrs, "the terminal settings were not restored"
    finally:
        s.close()


def test_tty_command_sees_a_terminal(store, busybox):
    s = PtySession(store, ["run", "--rm", "-t", "-i", "busybox", "sh", "-c",
                           "tty; stty size; test -t 0 && echo in-tty; exit 5"], rows=24, cols=80)
    try:
        s.expect(rb"/dev/pts/\d+\r?\n")
        s.expect(rb"24 80\r?\n")
        s.expect(rb"in-tty")
        assert s.wait() == 5, f"terminal: {s.buf!r}"
    finally:
        s.close()


def test_tty_ctrl_c_reaches_the_container(store, busybox):
    # in raw mode ^C is a byte for the container's terminal, whose line discipline turns it
    # into SIGINT for the container's foreground process
    s = PtySession(store, ["run", "--rm", "-t", "-i", "busybox", "sh"])
    try:
        s.send("sleep 30; echo after-$((5+5))\r")
        time.sleep(1.0)
        s.send("\x03")
        s.send("echo alive-$((7*7))\r")
        start = time.monotonic()
        s.expect(rb"alive-49", timeout=20)
        assert time.monotonic() - start < 15, "^C did not interrupt `sleep 30`"
        s.send("exit 0\r")
        assert s.wait() == 0, f"terminal: {s.buf!r}"
    finally:
        s.close()
