# SPDX-License-Identifier: MIT
# Without XDG_RUNTIME_DIR, diyc's runtime directory is not a name in /tmp that someone else
# can make first: whatever is at /tmp/diyc-run-UID (a directory open to all, a symlink, a
# FIFO) neither stops diyc nor is used by it. tests/root/test_root_rundir.py makes that
# squat as another user.
import os
import shutil
import stat

import pytest

import diyctest as dt

SQUAT = f"/tmp/diyc-run-{os.getuid()}"


@pytest.fixture(scope="module")
def nort(tmp_path_factory):
    """A store chosen without XDG_RUNTIME_DIR, with busybox in it."""
    base = tmp_path_factory.mktemp("nort")
    (base / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(HOME=str(base / "home"), XDG_DATA_HOME=str(base / "data"))
    st = dt.Store(env)
    st.import_busybox()
    return st


def squat_dir(path, elsewhere):
    os.mkdir(path)
    os.chmod(path, 0o777)


def squat_symlink(path, elsewhere):
    os.symlink(elsewhere, path)


def squat_fifo(path, elsewhere):
    os.mkfifo(path, 0o666)


@pytest.mark.parametrize("squat", [squat_dir, squat_symlink, squat_fifo], ids=["dir-0777", "symlink", "fifo"])
def test_squatted_tmp_path_is_not_used(nort, tmp_path, name, squat):
    if os.path.lexists(SQUAT):
        pytest.skip(f"{SQUAT} exists already (an older diyc's?): cannot squat it")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    squat(SQUAT, elsewhere)
    try:
        before = os.lstat(SQUAT)
        dt.assert_ok(nort.diyc("run", "--rm", "--net=none", "busybox", "true"))
        dt.assert_ok(nort.diyc("run", "-d", "--net=none", "--name", name, "busybox", "sleep", "30"))
        try:
            # its runtime part is where the store's rules say, not in /tmp
            assert not (str(nort.run) + "/").startswith(SQUAT + "/"), nort.run
            assert (nort.run / "containers" / name).is_dir(), f"no {nort.run}/containers/{name}"
            ps = dt.assert_ok(nort.diyc("ps", "-q")).stdout.split()
            assert name in ps
        finally:
            dt.assert_ok(nort.diyc("rm", "-f", name))
        after = os.lstat(SQUAT)
        assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
        if stat.S_ISDIR(after.st_mode):
            assert os.listdir(SQUAT) == [], "diyc wrote into the squatted directory"
        assert os.listdir(elsewhere) == [], "diyc followed the squatted symlink"
        st = os.lstat(nort.run)
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077, \
            f"{nort.run}: mode {oct(st.st_mode)}, owner {st.st_uid}"
    finally:
        if os.path.isdir(SQUAT) and not os.path.islink(SQUAT):
            shutil.rmtree(SQUAT)
        else:
            os.unlink(SQUAT)


def test_without_xdg_runtime_dir_the_run_dir_is_the_users(nort, name):
    dt.assert_ok(nort.diyc("run", "--rm", "--net=none", "busybox", "true"))
    uid = os.getuid()
    try:
        st = os.lstat(f"/run/user/{uid}")
        logind = stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not st.st_mode & 0o022
    except OSError:
        logind = False
    expected = f"/run/user/{uid}/diyc" if logind else str(nort.data / "run")
    assert str(nort.run) == expected
    assert os.path.isdir(expected)
    assert not os.path.lexists(SQUAT) or os.lstat(SQUAT).st_uid != uid or not os.path.isdir(SQUAT) or \
        os.listdir(SQUAT) == [], f"diyc used {SQUAT}"
