# SPDX-License-Identifier: MIT
# Without -t a container never gets the caller's terminal. Any of diyc's fds 0-2 that is a
# terminal reaches the container as a pipe that diyc copies (as root every stream does), so
# nothing in it can read what the user types (a terminal opened read-write is readable
# through fd 1 too), change the terminal's settings or window size, which outlast it, or
# push characters into its input; pipes, files and /dev/null are still passed as they are.
# Driven through a real pty that is diyc's controlling terminal, for run, start -a and exec,
# with and without -i. The output still arrives complete and in order, and the exit status
# and the forwarding of signals are those of a container without the relay.
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

import diyctest as dt

TYPED = b"typed-secret-1\ntyped-secret-2\ntyped-secret-3\n"

# for each of the fds 0-2: is it a terminal, read a line from it (the fds in $READ), stty on
# it and on a reopened copy (/proc/self/fd/N), TIOCSTI through it
ATTACK = r'''
exec 3<&0 4<&1 5<&2
for fd in 0 1 2; do
	s=$((fd + 3))
	[ -t $fd ] && echo "TTY-ON-$fd"
	case " $READ " in *" $fd "*) echo "GOT-$fd:$(timeout 2 head -n 1 <&$s 2>/dev/null)";; esac
	stty -echo -icanon rows 7 cols 9 <&$s 2>/dev/null && echo "STTY-ON-$fd"
	stty -echo -icanon rows 7 cols 9 </proc/self/fd/$fd 2>/dev/null && echo "STTY-REOPENED-ON-$fd"
	/probe tiocsti INJECTED $fd
done
echo ATTACKS-DONE
'''


def probe_bin():
    for p in (Path(dt.diyc_bin()).parent / "escape-probe", dt.REPO / "build" / "tests" / "helpers" / "escape-probe"):
        if p.is_file():
            return p
    pytest.fail("tests/helpers/escape-probe is not built (meson compile -C build)")


def winsize(fd):
    return struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]


class Terminal:
    """A fresh pty; diyc runs with its slave as controlling terminal (a session of its own,
    as a login shell has) and as the streams the test chooses. The test types and reads on
    the master, and looks at the terminal's settings and pending input on the slave."""

    def __init__(self, rows=24, cols=80):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.attrs = termios.tcgetattr(self.slave)
        self.size = winsize(self.slave)

    def start(self, store, args, stdin=None, stdout=None, stderr=None):
        slave = self.slave

        def ctty():
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        stdin, stdout, stderr = (slave if x is None else x for x in (stdin, stdout, stderr))
        return subprocess.Popen([dt.diyc_bin(), *[str(a) for a in args]], stdin=stdin, stdout=stdout, stderr=stderr,
                                env=store.env, start_new_session=True, preexec_fn=ctty)

    def collect(self, p, timeout=60, until=None):
        """What appears on the terminal until P exits (and a little after), \\r\\n as \\n.
        UNTIL(out): called on the way; True once it has done its part."""
        out = b""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.05)[0]:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    break
                out += chunk
                quiet_since = None
                if until:
                    until = None if until(out.replace(b"\r\n", b"\n")) else until
                continue
            if p.poll() is not None:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.3:
                    break
        if p.poll() is None:
            p.kill()
            p.wait()
            pytest.fail(f"diyc did not exit; terminal so far: {out!r}")
        return p.returncode, out.replace(b"\r\n", b"\n")

    def pending_input(self):
        """The input typed into the terminal that nobody has read."""
        os.set_blocking(self.slave, False)
        got = b""
        try:
            while True:
                chunk = os.read(self.slave, 65536)
                if not chunk:
                    break
                got += chunk
        except BlockingIOError:
            pass
        os.set_blocking(self.slave, True)
        return got

    def close(self):
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def term():
    t = Terminal()
    yield t
    t.close()


def run_args(*opts, image_cmd=("busybox", "sh", "-c", ATTACK)):
    return ["run", "--rm", "--net=none", "-v", f"{probe_bin()}:/probe:ro", *opts, *image_cmd]


class Containers:
    """Containers of the default store that a test made, removed after it."""

    def __init__(self, store):
        self.store = store
        self.names = []

    def detached(self):
        name = dt.unique_name("ttyio")
        self.names.append(name)
        dt.assert_ok(self.store.diyc("run", "-d", "--name", name, "--net=none", "-v", f"{probe_bin()}:/probe:ro",
                                     "busybox", "sleep", "100000"))
        return name

    def created(self, *opts, cmd=("sh", "-c", ATTACK), status=0):
        """A stopped container whose command is CMD: run once with pipes for stdio."""
        name = dt.unique_name("ttyio")
        self.names.append(name)
        dt.assert_ok(self.store.diyc("run", "--name", name, "--net=none", "-v", f"{probe_bin()}:/probe:ro", *opts,
                                     "busybox", *cmd), status)
        return name

    def remove(self):
        for n in self.names:
            self.store.diyc("rm", "-f", n)


@pytest.fixture
def ctrs(store, busybox):
    c = Containers(store)
    yield c
    c.remove()


# the ways a container is given the caller's stdio without -t: the arguments of diyc, given the
# containers a test may make and the fds the attack reads
MODES = {
    "run": lambda c, read: run_args("-e", f"READ={read}"),
    "run -i": lambda c, read: run_args("-i", "-e", f"READ={read}"),
    "exec": lambda c, read: ["exec", "-e", f"READ={read}", c.detached(), "sh", "-c", ATTACK],
    "exec -i": lambda c, read: ["exec", "-i", "-e", f"READ={read}", c.detached(), "sh", "-c", ATTACK],
    "start -a": lambda c, read: ["start", "-a", c.created("-e", f"READ={read}")],
    "start -a -i": lambda c, read: ["start", "-a", "-i", c.created("-i", "-e", f"READ={read}")],
}


def assert_attacks_failed(out, t, *, typed_kept):
    text = out.decode(errors="replace")
    assert "ATTACKS-DONE" in text, f"the attacks did not run to their end: {text!r}"
    for fd in range(3):
        assert f"TTY-ON-{fd}" not in text, f"the container's fd {fd} is the caller's terminal: {text!r}"
        assert f"STTY-ON-{fd}" not in text and f"STTY-REOPENED-ON-{fd}" not in text, \
            f"stty on the container's fd {fd} changed the caller's terminal: {text!r}"
        assert f"GOT-{fd}:typed" not in text, f"the container read the typed line through fd {fd}: {text!r}"
    tiocsti = [line for line in text.splitlines() if line.startswith("tiocsti ")]
    assert len(tiocsti) == 3 and all(r in ("tiocsti ENOTTY", "tiocsti EPERM") for r in tiocsti), text
    assert termios.tcgetattr(t.slave) == t.attrs, "the terminal's settings changed (stty -echo -icanon)"
    assert winsize(t.slave) == t.size, f"the window size changed: {winsize(t.slave)} (stty rows 7 cols 9)"
    pending = t.pending_input()
    assert b"INJECTED" not in pending, f"TIOCSTI pushed input into the caller's terminal: {pending!r}"
    if typed_kept:
        # without -i nobody reads the terminal: the lines are there for the caller's next reader
        assert pending == TYPED, f"the typed lines were consumed: left {pending!r}"


@pytest.mark.parametrize("mode", list(MODES))
def test_container_cannot_use_the_terminal(term, store, busybox, ctrs, mode):
    interactive = mode.endswith("-i")
    # with -i the container's stdin carries what is typed: that one it may read
    read = "1 2" if interactive else "0 1 2"
    args = MODES[mode](ctrs, read)
    p = term.start(store, args)
    # typed before the container runs: a read of the terminal would find it at once
    os.write(term.master, TYPED)
    rc, out = term.collect(p)
    assert rc == 0, f"exit status {rc}: {out!r}"
    assert_attacks_failed(out, term, typed_kept=not interactive)


# only one of the streams is the terminal: that one is relayed, the others passed as they are
@pytest.mark.parametrize("tty_fd", [0, 1, 2])
@pytest.mark.parametrize("interactive", [False, True])
def test_only_one_stream_a_terminal(term, store, busybox, tty_fd, interactive):
    pipes = {fd: os.pipe() for fd in (0, 1, 2) if fd != tty_fd}
    ino = {fd: os.fstat(r).st_ino for fd, (r, w) in pipes.items()}
    # stdin: the read end of a pipe whose writer stays open; stdout, stderr: write ends
    streams = [term.slave if fd == tty_fd else pipes[fd][0 if fd == 0 else 1] for fd in range(3)]
    script = ATTACK + r'''
for fd in 0 1 2; do echo "FD-$fd $(readlink /proc/self/fd/$((fd + 3)))" >&4; done
'''
    opts = ("-i",) if interactive else ()
    read = "1 2" if interactive else "0 1 2"
    try:
        p = term.start(store, run_args(*opts, "-e", f"READ={read}", image_cmd=("busybox", "sh", "-c", script)),
                       stdin=streams[0], stdout=streams[1], stderr=streams[2])
        os.write(term.master, TYPED)
        rc, on_tty = term.collect(p)
        got = b""
        for fd in (1, 2):
            if fd in pipes:
                os.close(pipes[fd][1])
                got += dt.drain(pipes[fd][0])
    finally:
        for r, w in pipes.values():
            for x in (r, w):
                try:
                    os.close(x)
                except OSError:
                    pass
    assert rc == 0, (rc, on_tty, got)
    everything = on_tty + got
    assert_attacks_failed(everything, term, typed_kept=not (interactive and tty_fd == 0))
    text = everything.decode(errors="replace")
    for fd in pipes:
        if fd == 0 and not interactive:
            assert "FD-0 /dev/null" in text, text  # as always without -i
        else:
            assert f"FD-{fd} pipe:[{ino[fd]}]" in text, f"fd {fd} is not the caller's own pipe: {text!r}"


def order_script(status):
    return ("[ -t 0 ] || [ -t 1 ] || [ -t 2 ] || echo not-a-terminal; "
            "i=0; while [ $i -lt 300 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done; "
            f"seq 1 40000; echo last-line >&2; exit {status}")


def expected_order():
    lines = ["not-a-terminal"]
    for i in range(300):
        lines += [f"out-{i}", f"err-{i}"]
    lines += [str(i) for i in range(1, 40001)] + ["last-line"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("mode", ["run", "run -i", "exec", "start -a", "run 2>reopened"])
def test_output_complete_and_in_order(term, store, busybox, ctrs, mode):
    # stdout and stderr are the same open file (or the same terminal, opened twice): one pipe
    # for both, so that their order holds; all of it arrives, also what was written just
    # before the exit, and the status passes
    script = order_script(7)
    stderr = None
    if mode == "run 2>reopened":
        stderr = os.open(os.ttyname(term.slave), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        args = run_args(image_cmd=("busybox", "sh", "-c", script))
    elif mode.startswith("run"):
        args = run_args(*mode.split()[1:], image_cmd=("busybox", "sh", "-c", script))
    elif mode == "exec":
        args = ["exec", ctrs.detached(), "sh", "-c", script]
    else:
        args = ["start", "-a", ctrs.created(cmd=("sh", "-c", script), status=7)]
    try:
        rc, out = term.collect(term.start(store, args, stderr=stderr))
    finally:
        if stderr is not None:
            os.close(stderr)
    assert rc == 7, f"exit status {rc}"
    assert out.decode(errors="replace") == expected_order(), \
        f"the output differs: {len(out)} bytes, ends {out[-200:]!r}"
    assert termios.tcgetattr(term.slave) == term.attrs


@pytest.mark.parametrize("mode", ["run", "exec"])
def test_ctrl_c_is_forwarded(term, store, busybox, ctrs, mode):
    # ^C on the terminal: SIGINT to diyc (in its foreground process group), forwarded to the
    # container as before; what it printed before is all there, the status is 128+2
    script = "[ -t 1 ] || echo not-a-terminal; echo waiting; exec sleep 30"
    if mode == "run":
        args = run_args(image_cmd=("busybox", "sh", "-c", script))
    else:
        args = ["exec", ctrs.detached(), "sh", "-c", script]
    p = term.start(store, args)
    sent = []

    def interrupt(out):
        if b"waiting\n" in out and not sent:
            time.sleep(0.2)
            os.write(term.master, b"\x03")
            sent.append(time.monotonic())
        return bool(sent)
    start = time.monotonic()
    rc, out = term.collect(p, timeout=40, until=interrupt)
    assert sent, f"the container did not start: {out!r}"
    assert rc == 128 + signal.SIGINT, f"exit status {rc}: {out!r}"
    assert time.monotonic() - start < 20, "^C did not end `sleep 30`"
    # the terminal echoes ^C itself
    assert out.replace(b"^C", b"").startswith(b"not-a-terminal\nwaiting\n"), out
