# SPDX-License-Identifier: MIT
# What another user can do to a normal user's diyc, and what reaches a terminal, tested as
# root because only root can act as two users or make a bridge:
# - without XDG_RUNTIME_DIR, a second user who makes /tmp/diyc-run-UID first (a directory,
#   a symlink) does not stop the first user's diyc, which never uses that path;
# - `diyc network ls` shows a lease's user name (from the password database) escaped.
# The users: $DIYC_TEST_USER (default diyc-test, with a subordinate range) runs diyc and
# $DIYC_TEST_USER2 (default nobody) squats. The network test runs in private network and
# mount namespaces of its own.
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

DIYC = os.path.abspath(os.environ.get("DIYC", "diyc"))
TOOLS = os.path.abspath(os.environ.get("DIYC_TOOLS", "tools"))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root (tests/run-all does that)")


def user(var, default):
    name = os.environ.get(var, default)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pytest.skip(f"no user {name} (set {var})")


def as_user(pw, argv, env, timeout=120):
    return subprocess.run(["runuser", "-u", pw.pw_name, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()],
                           *argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def home():
    d = tempfile.mkdtemp(prefix="diyc-rundir-", dir=os.environ.get("TMPDIR"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("kind", ["dir", "symlink"])
def test_another_users_squat_does_not_stop_diyc(home, kind):
    victim, squatter = user("DIYC_TEST_USER", "diyc-test"), user("DIYC_TEST_USER2", "nobody")
    squat = f"/tmp/diyc-run-{victim.pw_uid}"
    if os.path.lexists(squat):
        pytest.skip(f"{squat} exists already")
    vhome = os.path.join(home, "victim")
    os.mkdir(vhome, 0o700)
    os.chown(vhome, victim.pw_uid, victim.pw_gid)
    env = {"HOME": vhome, "XDG_DATA_HOME": f"{vhome}/.local/share", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "TMPDIR": vhome}
    res = as_user(victim, [f"{TOOLS}/mkimage-busybox", "--diyc", DIYC, "busybox"], env)
    assert res.returncode == 0, res.stderr
    # the squatter makes the path first, as itself, from a process of its own
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(squatter.pw_gid)
            os.setuid(squatter.pw_uid)
            if kind == "dir":
                os.mkdir(squat, 0o755)
            else:
                os.symlink("/", squat)
            os._exit(0)
        except BaseException:
            os._exit(1)
    assert os.waitpid(pid, 0)[1] == 0, "the squatter could not make the path"
    try:
        assert os.lstat(squat).st_uid == squatter.pw_uid
        res = as_user(victim, [DIYC, "run", "--rm", "--net=none", "busybox", "echo", "ok"], env)
        assert res.returncode == 0 and res.stdout == "ok\n", res.stderr
        assert kind != "dir" or os.listdir(squat) == []
        # the runtime directory is the victim's: DATA/run here, as there is no /run/user/UID
        rundir = f"{vhome}/.local/share/diyc/run"
        if not os.path.isdir(f"/run/user/{victim.pw_uid}"):
            st = os.lstat(rundir)
            assert st.st_uid == victim.pw_uid and not st.st_mode & 0o077
    finally:
        if kind == "dir":
            shutil.rmtree(squat)
        else:
            os.unlink(squat)


VETH = "vdiycac100005"  # 172.16.0.5's: the lease file allows no other name
EVIL_USER = "ev\x1b]2;pwned\x07il"


def test_network_ls_escapes_lease_entries(tmp_path):
    # a passwd with a user whose name holds an ESC sequence, who holds a lease
    with open("/etc/passwd") as f:
        passwd = f.read()
    (tmp_path / "passwd").write_text(passwd + f"{EVIL_USER}:x:4242:4242::/:/bin/false\n")
    os.chmod(tmp_path / "passwd", 0o644)
    script = r'''
        set -e
        ip link set lo up
        mount -t tmpfs -o mode=755 tmpfs /run
        mount --bind "$1/passwd" /etc/passwd
        ip link add diyc0 type bridge
        ip addr add 172.16.0.1/16 dev diyc0
        ip link add "$2" type bridge
        mkdir -p -m 755 /run/diyc/net
        printf '172.16.0.5 %s 4242\n' "$2" > /run/diyc/net/diyc0.leases
        : > /run/diyc/net/diyc0.lock
        chmod 600 /run/diyc/net/diyc0.leases /run/diyc/net/diyc0.lock
        "$3" network ls
    '''
    res = subprocess.run(["unshare", "-m", "-n", "--propagation", "private", "sh", "-c", script, "sh",
                          str(tmp_path), VETH, DIYC], capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert not [b for b in out if (b < 0x20 and b != 0x0a) or b == 0x7f], out
    text = out.decode()
    assert VETH in text and "ev\\x1b]2;pwned\\x07il" in text, text
    lines = text.splitlines()
    head = lines.index(next(l for l in lines if l.startswith("ADDRESS")))
    assert lines[head + 1].index("ev\\x1b") == lines[head].index("USER"), text
