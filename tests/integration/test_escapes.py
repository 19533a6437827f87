# SPDX-License-Identifier: MIT
# What diyc prints that came from an image, a container, the store or the kernel reaches
# the caller's terminal without a single control character: an image whose Cmd sets the
# terminal's title and clears the screen shows as text in `ps`, and so do C1 controls and
# bytes that are not UTF-8. Valid UTF-8 stays as it is, and the tables stay aligned.
import json
import os

import pytest

import diyctest as dt

# OSC 2 (the window title), BEL, then CSI 2J (clear the screen)
EVIL = "\x1b]2;pwned\x07\x1b[2J"
EVIL_SHOWN = "\\x1b]2;pwned\\x07\\x1b[2J"
# CSI as a C1 control written in UTF-8, then as a lone byte (not UTF-8), then UTF-8 text
C1 = "\u009b"
RAW = "\udc9b"  # os.fsencode: the single byte 0x9b
MIXED = "\x1b[2J" + "é" + C1 + RAW + "→"
MIXED_SHOWN = "\\x1b[2Jé\\xc2\\x9b\\x9b→"


def assert_clean(out, what):
    """No C0 control but newline, no DEL, valid UTF-8 with no C1 control in it."""
    bad = sorted({b for b in out if (b < 0x20 and b != 0x0a) or b == 0x7f})
    assert not bad, f"{what}: control bytes {[hex(b) for b in bad]} in {out!r}"
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(f"{what}: not UTF-8 ({e}): {out!r}")
    c1 = sorted({hex(ord(c)) for c in text if 0x80 <= ord(c) <= 0x9f})
    assert not c1, f"{what}: C1 controls {c1} in {text!r}"
    return text


def diyc_bytes(store, *args):
    res = store.diyc(*args, binary=True)
    assert res.returncode == 0, dt.describe(res)
    assert_clean(res.stderr, f"diyc {' '.join(args)} (stderr)")
    return assert_clean(res.stdout, f"diyc {' '.join(args)}")


@pytest.fixture
def evil(s):
    """An image committed with an ESC sequence in its Cmd, a stopped container of it that
    runs that Cmd, and a running container whose arguments hold C1 and non-UTF-8 bytes."""
    base, stopped, running = dt.unique_name("base"), dt.unique_name("stopped"), dt.unique_name("running")
    dt.assert_ok(s.diyc("run", "--net=none", "--name", base, "busybox", "sh", "-c", ":", EVIL))
    dt.assert_ok(s.diyc("commit", base, "evil:cmd", timeout=120))
    dt.assert_ok(s.diyc("rm", base))
    res = s.diyc("run", "--net=none", "--name", stopped, "evil:cmd")
    assert res.returncode == 0, dt.describe(res)
    dt.assert_ok(s.diyc("run", "-d", "--net=none", "--name", running, "busybox", "sh", "-c", "sleep 60", MIXED))
    return {"stopped": stopped, "running": running}


def columns_aligned(text, heads):
    """Each column of each line starts where its heading does (one column per character)."""
    lines = [l for l in text.split("\n") if l]
    starts = [lines[0].index(h) for h in heads]
    for line in lines[1:]:
        for h, at in zip(heads[1:], starts[1:]):
            assert line[at - 3:at] == "   " and line[at] != " ", \
                f"column {h} does not start at {at} in {line!r}\n{text}"


def test_ps_escapes_an_image_command(s, evil):
    text = diyc_bytes(s, "ps", "-a")
    assert EVIL_SHOWN in text, text
    assert MIXED_SHOWN in text, text
    columns_aligned(text, ["NAME", "IMAGE", "COMMAND", "STATUS", "STARTED", "PID"])
    running = diyc_bytes(s, "ps")
    assert MIXED_SHOWN in running and evil["stopped"] not in running, running
    columns_aligned(running, ["NAME", "IMAGE", "COMMAND", "STATUS", "STARTED", "PID"])
    quiet = diyc_bytes(s, "ps", "-a", "-q")
    assert set(quiet.split()) == {evil["stopped"], evil["running"]}, quiet


def test_json_keeps_the_text_escaped_as_json(s, evil):
    for args in (("ps", "-a", "--format", "json"), ("inspect", evil["stopped"], evil["running"])):
        data = json.loads(diyc_bytes(s, *args))
        cmds = {e["Name"]: (e.get("Command") or e["Config"]["Cmd"]) for e in data}
        assert cmds[evil["stopped"]] == ["sh", "-c", ":", EVIL], cmds
        # the byte that is not UTF-8 reads as the Latin-1 character it would be
        assert cmds[evil["running"]] == ["sh", "-c", "sleep 60", MIXED.replace(RAW, "\u009b")], cmds


def test_stats_escapes(s, evil):
    text = diyc_bytes(s, "stats", "--no-stream")
    assert evil["running"] in text, text
    diyc_bytes(s, "stats", "--no-stream", "--format", "json")


def test_image_ls_escapes_a_name_in_the_store(s):
    # image names are checked at import; one planted in the store directly is still shown
    # as text (the store is the user's, but anything running as the user can write there)
    names = s.data / "images" / "names"
    target = os.readlink(names / "busybox:latest")
    os.symlink(target, names / f"ev{EVIL}il:latest")
    for args in (("image", "ls"), ("images",)):
        text = diyc_bytes(s, *args)
        assert f"ev{EVIL_SHOWN}il" in text, text
    # such a name cannot be given on the command line: the error shows it escaped
    res = s.diyc("image", "rm", f"ev{EVIL}il:latest", binary=True)
    assert res.returncode == 125 and EVIL_SHOWN.encode() in res.stderr, dt.describe(res)
    assert_clean(res.stderr, "diyc image rm")
    os.unlink(names / f"ev{EVIL}il:latest")


def test_network_ls_prints_no_control(s):
    # a normal user has no bridge here: the line that says so (tests/root has the table)
    diyc_bytes(s, "network", "ls")
    json.loads(diyc_bytes(s, "network", "ls", "--format", "json"))
