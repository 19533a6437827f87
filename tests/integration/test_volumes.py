# SPDX-License-Identifier: MIT
# Volumes (-v HOST:CONTAINER[:ro|rw]) and --tmpfs: writes reach the host owned by the
# caller (container root is the caller), ro refuses writes, targets are created, bad specs
# and missing host paths are clear errors that create nothing, and both survive stop/start.
import os
import shutil

import pytest

import diyctest as dt


@pytest.fixture
def host(tmp_path):
    d = tmp_path / "vol"
    d.mkdir()
    (d / "pre").write_text("from-host\n")
    return d


def mount_line(text, target):
    """The /proc/mounts line of TARGET in TEXT (the last one: the visible mount)."""
    found = [line.split() for line in text.splitlines() if len(line.split()) > 3 and line.split()[1] == target]
    return found[-1] if found else None


def assert_nothing_created(store, name, before):
    assert store.snapshot() == before, "the store changed"
    assert name not in store.containers()
    res = dt.assert_ok(store.diyc("ps", "-a", "-q"))
    assert name not in res.stdout.split(), dt.describe(res)


# -- bind volumes ------------------------------------------------------------------------------

@pytest.mark.parametrize("opt", ["", ":rw"], ids=["default", "rw"])
def test_rw_volume(store, busybox, host, opt):
    script = ("cat /data/pre; echo from-container > /data/new; mkdir /data/dir; echo x > /data/dir/f; "
              "stat -c %u:%g /data/new; grep ' /data ' /proc/mounts")
    res = dt.assert_ok(store.diyc("run", "--rm", "-v", f"{host}:/data{opt}", "busybox", "sh", "-c", script))
    lines = res.stdout.splitlines()
    assert lines[:2] == ["from-host", "0:0"], dt.describe(res)
    assert "rw" in lines[2].split()[3].split(","), dt.describe(res)
    assert (host / "new").read_text() == "from-container\n"
    assert (host / "dir" / "f").read_text() == "x\n"
    for p in (host / "new", host / "dir", host / "dir" / "f"):
        st = os.lstat(p)
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()), \
            f"{p} is owned by {st.st_uid}:{st.st_gid} on the host, not by the caller"


def test_ro_volume(store, busybox, host):
    script = ("cat /data/pre; echo x > /data/new || echo write-refused; touch /data/pre || echo touch-refused; "
              "rm /data/pre || echo rm-refused; grep ' /data ' /proc/mounts")
    res = dt.assert_ok(store.diyc("run", "--rm", "-v", f"{host}:/data:ro", "busybox", "sh", "-c", script))
    lines = res.stdout.splitlines()
    assert lines[:4] == ["from-host", "write-refused", "touch-refused", "rm-refused"], dt.describe(res)
    assert "ro" in lines[4].split()[3].split(","), dt.describe(res)
    assert "Read-only file system" in res.stderr, dt.describe(res)
    assert sorted(os.listdir(host)) == ["pre"] and (host / "pre").read_text() == "from-host\n"


def test_file_volume(store, busybox, tmp_path):
    f = tmp_path / "conf"
    f.write_text("line1\n")
    res = dt.assert_ok(store.diyc("run", "--rm", "-v", f"{f}:/etc/my.conf", "busybox", "sh", "-c",
                                  "cat /etc/my.conf; echo line2 >> /etc/my.conf"))
    assert res.stdout == "line1\n", dt.describe(res)
    assert f.read_text() == "line1\nline2\n"
    res = dt.assert_ok(store.diyc("run", "--rm", "-v", f"{f}:/etc/my.conf:ro", "busybox", "sh", "-c",
                                  "cat /etc/my.conf; echo line3 >> /etc/my.conf || echo refused"))
    assert res.stdout == "line1\nline2\nrefused\n", dt.describe(res)
    assert f.read_text() == "line1\nline2\n"


def test_target_created_when_missing(store, busybox, host, tmp_path):
    f = tmp_path / "file"
    f.write_text("file-content\n")
    res = dt.assert_ok(store.diyc("run", "--rm", "-v", f"{host}:/new/deep/dir", "-v", f"{f}:/other/new.txt",
                                  "busybox", "sh", "-c",
                                  "cat /new/deep/dir/pre; test -f /other/new.txt && cat /other/new.txt"))
    assert res.stdout == "from-host\nfile-content\n", dt.describe(res)


def test_several_volumes_and_nesting(store, busybox, host, tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "i").write_text("inner\n")
    res = dt.assert_ok(store.diyc("run", "--rm", "-v", f"{host}:/data", "-v", f"{inner}:/data/sub:ro",
                                  "busybox", "sh", "-c", "cat /data/pre /data/sub/i; touch /data/sub/x || echo ro"))
    assert res.stdout == "from-host\ninner\nro\n", dt.describe(res)
    assert not (inner / "x").exists()


def test_volume_hides_image_dir(store, busybox, host):
    res = dt.assert_ok(store.diyc("run", "--rm", "-v", f"{host}:/var", "busybox", "ls", "/var"))
    assert res.stdout.split() == ["pre"], "the image's /var/tmp should be hidden\n" + dt.describe(res)


def test_missing_host_path(s, name, tmp_path):
    missing = tmp_path / "does-not-exist"
    before = s.snapshot()
    for opt in ([], ["-d"]):
        dt.assert_error(s.diyc("run", *opt, "--name", name, "-v", f"{missing}:/data", "busybox", "true"),
                        str(missing))
        assert_nothing_created(s, name, before)
    assert not missing.exists(), "the missing host path was created"


def test_unreadable_host_path(s, name, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "secret").write_text("x")
    locked.chmod(0)
    try:
        before = s.snapshot()
        dt.assert_error(s.diyc("run", "--name", name, "-v", f"{locked}:/data", "busybox", "ls", "/data"),
                        str(locked))
        assert_nothing_created(s, name, before)
    finally:
        locked.chmod(0o755)


MALFORMED = ["relative:/x", "HOST:relative", "HOST:/a/../b", "HOST:/y:bogus", "name:/x", "HOST:/..",
             "HOST:/a/..", "HOST", ":/x", "HOST:", "HOST:/y:ro:extra", "HOST:/y:", "", "HOST:/y:ro,rw"]


@pytest.mark.parametrize("spec", MALFORMED)
def test_malformed_volume(s, name, host, spec):
    spec = spec.replace("HOST", str(host))
    before = s.snapshot()
    line = dt.assert_error(s.diyc("run", "--name", name, "-v", spec, "busybox", "true"))
    if spec.endswith(":bogus"):
        assert "bogus" in line, line
    if ".." in spec:
        assert ".." in line, line
    assert_nothing_created(s, name, before)
    assert sorted(os.listdir(host)) == ["pre"]


def test_volume_long_option(store, busybox, host):
    res = dt.assert_ok(store.diyc("run", "--rm", "--volume", f"{host}:/data", "busybox", "cat", "/data/pre"))
    assert res.stdout == "from-host\n", dt.describe(res)


# -- a target behind a symlink of the image must not lead out of the container ---------------

@pytest.fixture
def symlink_image(empty_store, tmp_path):
    """An image whose /escape is a symlink to a directory of the host, /rel a relative symlink
    that climbs out, and which has a static busybox as /bin/sh."""
    victim = tmp_path / "victim"
    victim.mkdir()
    busybox_bin = shutil.which("busybox") or "/bin/busybox"
    root = tmp_path / "rootfs"
    for d in ("bin", "proc", "sys", "dev", "etc", "tmp"):
        (root / d).mkdir(parents=True)
    shutil.copy(busybox_bin, root / "bin" / "busybox")
    for applet in ("sh", "cat", "ls", "true"):
        (root / "bin" / applet).symlink_to("busybox")
    (root / "escape").symlink_to(victim)
    (root / "rel").symlink_to("../../../../../../../../.." + str(victim))
    dt.assert_ok(empty_store.diyc("image", "import", root, "symlinks"))
    return empty_store, victim


@pytest.mark.parametrize("target", ["/escape", "/escape/sub", "/rel/sub"])
@pytest.mark.parametrize("kind", ["volume", "tmpfs"])
def test_target_symlink_stays_inside(symlink_image, host, target, kind):
    st, victim = symlink_image
    opt = ["-v", f"{host}:{target}"] if kind == "volume" else ["--tmpfs", target]
    try:
        res = st.diyc("run", "--rm", *opt, "symlinks", "sh", "-c", f"echo planted > {target}/planted-file")
        assert os.listdir(victim) == [], \
            f"a mount or a write reached the host directory {victim}: {os.listdir(victim)}\n" + dt.describe(res)
        assert not dt.mounts_under([victim]), "a mount landed on the host"
        assert res.returncode in (0, 1, 2, 125), dt.describe(res)
    finally:
        dt.remove_all(st)


# -- tmpfs -----------------------------------------------------------------------------------

def test_tmpfs_default(s, name):
    script = "grep ' /scratch ' /proc/mounts; stat -c %a /scratch; echo x > /scratch/f && echo written"
    res = dt.assert_ok(s.diyc("run", "--name", name, "--tmpfs", "/scratch", "busybox", "sh", "-c", script))
    lines = res.stdout.splitlines()
    m = lines[0].split()
    assert m[1:3] == ["/scratch", "tmpfs"], dt.describe(res)
    opts = m[3].split(",")
    assert "rw" in opts and "nosuid" in opts and "nodev" in opts, dt.describe(res)
    assert lines[1:] == ["1777", "written"], dt.describe(res)
    # the write went to memory, not to the container's upper dir
    upper = s.container_dirs(name)[0] / "upper"
    assert not (upper / "scratch" / "f").exists(), "a tmpfs write reached the upper dir"


def test_tmpfs_options(store, busybox, subids):
    script = ("grep ' /small ' /proc/mounts; stat -c %a:%u:%g /small; "
              "dd if=/dev/zero of=/small/big bs=1024 count=2048 2>/dev/null && echo fits || echo full; "
              "touch /ro/x 2>/dev/null && echo ro-written || echo ro-refused; "
              "cp /bin/busybox /exec/true && /exec/true && echo exec-ok; "
              "cp /bin/busybox /noexec/true && /noexec/true 2>/dev/null && echo noexec-ran || echo noexec-refused")
    res = dt.assert_ok(store.diyc("run", "--rm", "--tmpfs", "/small:size=1m,mode=700,uid=1000,gid=100",
                                  "--tmpfs", "/ro:ro", "--tmpfs", "/exec:exec", "--tmpfs", "/noexec:noexec",
                                  "busybox", "sh", "-c", script))
    lines = res.stdout.splitlines()
    assert lines[0].split()[2] == "tmpfs", dt.describe(res)
    assert lines[1:] == ["700:1000:100", "full", "ro-refused", "exec-ok", "noexec-refused"], dt.describe(res)


def test_tmpfs_nr_inodes_and_units(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "--tmpfs", "/a:size=64k", "--tmpfs", "/b:size=1g,nr_inodes=100",
                                  "busybox", "sh", "-c", "df -k /a | tail -1; grep ' /b ' /proc/mounts"))
    lines = res.stdout.splitlines()
    assert int(lines[0].split()[1]) == 64, dt.describe(res)
    assert "nr_inodes=100" in lines[1], dt.describe(res)


BAD_TMPFS = ["relative", "/s:size=abc", "/s:bogusopt", "/s:mode=999", "/s:uid=x", "/a/../b", "/..", "",
             "/s:size=", "/s:,"]


@pytest.mark.parametrize("spec", BAD_TMPFS)
def test_bad_tmpfs(s, name, spec):
    before = s.snapshot()
    line = dt.assert_error(s.diyc("run", "--name", name, "--tmpfs", spec, "busybox", "true"))
    if "bogusopt" in spec:
        assert "bogusopt" in line, line
    assert_nothing_created(s, name, before)


# -- persistence -----------------------------------------------------------------------------

def test_volumes_survive_stop_start(s, name, host):
    tok = dt.token()
    res = dt.assert_ok(s.diyc("run", "-d", "--name", name, "-v", f"{host}:/data", "-v", f"{host}:/ro-data:ro",
                              "--tmpfs", "/scratch:size=1m", "busybox", "sleep", tok))
    assert res.stdout == f"{name}\n", dt.describe(res)
    dt.assert_ok(s.diyc("exec", name, "sh", "-c", "echo one > /data/a; echo t > /scratch/t"))
    binds = dt.inspect(s, name)["HostConfig"]["Binds"]
    dt.assert_ok(s.diyc("stop", name))
    assert (host / "a").read_text() == "one\n"
    dt.assert_ok(s.diyc("start", name))
    res = dt.assert_ok(s.diyc("exec", name, "sh", "-c",
                              "cat /data/a /ro-data/pre; echo two > /data/b; touch /ro-data/x || echo ro; "
                              "ls /scratch; grep ' /scratch ' /proc/mounts | cut -d' ' -f3"))
    assert res.stdout == "one\nfrom-host\nro\ntmpfs\n", "the volumes or the tmpfs were not there again\n" + \
        dt.describe(res)
    assert (host / "b").read_text() == "two\n"
    assert dt.inspect(s, name)["HostConfig"]["Binds"] == binds
    assert binds == [f"{host}:/data", f"{host}:/ro-data:ro"] or binds == [f"{host}:/data:rw", f"{host}:/ro-data:ro"], \
        binds


def test_volume_with_start_attach(s, name, host):
    dt.assert_ok(s.diyc("run", "--name", name, "-v", f"{host}:/data", "busybox", "sh", "-c",
                        "echo x >> /data/count; cat /data/count | wc -l"))
    res = dt.assert_ok(s.diyc("start", "-a", name))
    assert res.stdout.strip() == "2", dt.describe(res)
    assert (host / "count").read_text() == "x\nx\n"
