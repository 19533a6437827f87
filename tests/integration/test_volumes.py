# SPDX-License-Identifier: MIT
# Bind mounts (-v HOST:CONTAINER[:ro|rw]) and --tmpfs: writes reach the host owned by the
# caller (container root is the caller), ro refuses writes, targets are created, bad specs
# and missing host paths are clear errors that create nothing, and both survive stop/start.
# Then the volumes of the store (see the second half): `volume create|ls|inspect|rm|prune`,
# -v NAME:/PATH, anonymous volumes (-v /PATH, the image's Volumes), --mount's grammar,
# seeding from the image, the _data symlink swap, commit and export without volume contents,
# `ps --filter volume=`.
import hashlib
import io
import json
import os
import platform
import re
import shutil
import tarfile

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


# (NAME:/x is a named volume now, and an absolute path alone an anonymous one: see below)
MALFORMED = ["rel/ative:/x", "./rel:/x", "HOST:relative", "HOST:/a/../b", "HOST:/y:bogus", "..:/x", "HOST:/..",
             "HOST:/a/..", "relative", ":/x", "HOST:", "HOST:/y:ro:extra", "HOST:/y:", "", "HOST:/y:ro,rw",
             "HOST:/y:nocopy", "na me:/x", ".hidden:/x"]


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


# == volumes of the store ======================================================================

VOLUME_KEYS = {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}
BAD_NAMES = ["..", "a/b", "../x", ".hidden", "-dash", "a b", "x" * 129, "a:b", "é"]


@pytest.fixture
def vs(private_store):
    """A private store whose containers and volumes are all removed after the test (a
    volume's files may be owned by subordinate ids, which only diyc can remove)."""
    yield private_store
    dt.remove_all(private_store)
    res = private_store.diyc("volume", "ls", "-q")
    if res.returncode == 0 and res.stdout.split():
        private_store.diyc("volume", "rm", "-f", *res.stdout.split(), timeout=120)


def volumes_dir(store):
    return store.data / "volumes"


def volume_names(store):
    res = dt.assert_ok(store.diyc("volume", "ls", "-q"))
    return set(res.stdout.split())


def volume_dirs(store):
    """Everything in DATA/volumes, leftovers (`.new-*`, `.rm-*`) included."""
    try:
        return set(os.listdir(volumes_dir(store)))
    except FileNotFoundError:
        return set()


def vinspect(store, name):
    data = dt.json_out(store.diyc("volume", "inspect", name))
    assert isinstance(data, list) and len(data) == 1, data
    return data[0]


def assert_nothing_left(store, name, before_dirs):
    assert volume_dirs(store) == before_dirs, f"volumes were made or left: {volume_dirs(store) - before_dirs}"
    assert name not in store.containers(), f"container {name} was left"


# -- an image with Volumes and content at them -------------------------------------------------

def _tar_entry(name, *, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.linkname = kind, mode, uid, gid, link
    ti.mtime = 1_600_000_000
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, (data if kind == tarfile.REGTYPE else None)


def _arch():
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def volume_image_archive(path):
    """A docker archive of busybox plus /seed (modes, owners, a symlink, a hard link, a
    set-uid file) and /anon, whose config has Volumes /seed and /anon."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    applets = dt.run([busybox, "--list"]).stdout.split()
    D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
    entries = [_tar_entry(d, kind=D, mode=0o755) for d in ("bin", "etc", "proc", "sys", "dev", "tmp")]
    with open(busybox, "rb") as f:
        entries.append(_tar_entry("bin/busybox", data=f.read(), mode=0o755))
    entries += [_tar_entry(f"bin/{a}", kind=L, link="busybox", mode=0o777) for a in applets if a != "busybox"]
    entries += [
        _tar_entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n"),
        _tar_entry("etc/group", data=b"root:x:0:\nuser:x:1000:\n"),
        _tar_entry("seed", kind=D, mode=0o750, uid=1000, gid=1000),
        _tar_entry("seed/file", data=b"seeded\n", mode=0o640, uid=1000, gid=100),
        _tar_entry("seed/sub", kind=D, mode=0o700, uid=0, gid=0),
        _tar_entry("seed/sub/deep", data=b"deep\n", mode=0o600),
        _tar_entry("seed/link", kind=L, link="file", mode=0o777, uid=1000, gid=1000),
        _tar_entry("seed/abs", kind=L, link="/etc/passwd", mode=0o777),
        _tar_entry("seed/hard1", data=b"linked\n", mode=0o644),
        _tar_entry("seed/hard2", kind=H, link="seed/hard1"),
        _tar_entry("seed/suid", data=b"#!/bin/sh\n", mode=0o4755),
        _tar_entry("anon", kind=D, mode=0o755),
        _tar_entry("anon/a", data=b"anon-content\n"),
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    layer = buf.getvalue()
    diff = hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": _arch(), "os": "linux",
                         "config": {"Cmd": ["sh"], "Volumes": {"/seed": {}, "/anon": {}}},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff}"]}}).encode()
    cname = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cname, "RepoTags": ["volimg:latest"], "Layers": [f"{diff}.tar"]}]).encode()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in ((f"{diff}.tar", layer), (cname, config), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def volimg_archive(tmp_path_factory):
    return volume_image_archive(tmp_path_factory.mktemp("volimg") / "volimg.tar")


@pytest.fixture
def vimg(vs, volimg_archive, subids):
    """The private store with `volimg` imported (its files of uid 1000 need the subordinate
    ids)."""
    dt.assert_ok(vs.diyc("image", "import", volimg_archive, timeout=120))
    return vs


# -- the commands -------------------------------------------------------------------------------

def test_volume_create_ls_inspect(vs):
    res = dt.assert_ok(vs.diyc("volume", "create", "--label", "team=db", "-l", "tier=x", "data"))
    assert res.stdout == "data\n", dt.describe(res)
    v = vinspect(vs, "data")
    assert VOLUME_KEYS <= set(v), v
    assert v["Name"] == "data" and v["Driver"] == "local" and v["Scope"] == "local", v
    assert v["Labels"] == {"team": "db", "tier": "x"} and v["Options"] == {}, v
    assert v["Mountpoint"] == str(volumes_dir(vs) / "data" / "_data"), v
    assert os.path.isdir(v["Mountpoint"]) and not os.listdir(v["Mountpoint"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["CreatedAt"]), v
    # a generated name, and the same name again (same labels: the volume as it is)
    gen = dt.assert_ok(vs.diyc("volume", "create")).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", gen), gen
    dt.assert_ok(vs.diyc("volume", "create", "--label", "team=db", "-l", "tier=x", "data"))
    dt.assert_error(vs.diyc("volume", "create", "--label", "team=web", "data"), "data", "exists")
    assert vinspect(vs, "data")["Labels"] == {"team": "db", "tier": "x"}
    # ls: docker's table, -q, json
    lines = dt.assert_ok(vs.diyc("volume", "ls")).stdout.splitlines()
    assert lines[0].split() == ["DRIVER", "VOLUME", "NAME"], lines
    assert sorted(tuple(line.split()) for line in lines[1:]) == sorted([("local", "data"), ("local", gen)]), lines
    assert volume_names(vs) == {"data", gen}
    arr = dt.json_out(vs.diyc("volume", "ls", "--format", "json"))
    assert {e["Name"] for e in arr} == {"data", gen} and all(VOLUME_KEYS <= set(e) for e in arr), arr
    filtered = dt.assert_ok(vs.diyc("volume", "ls", "-q", "--filter", "label=team=db")).stdout.split()
    assert filtered == ["data"]
    dt.assert_error(vs.diyc("volume", "ls", "--filter", "bogus=1"), "bogus")
    # several at once; a missing one is an error that names it, the others are shown
    res = vs.diyc("volume", "inspect", "data", "nosuch")
    assert res.returncode == 125 and "nosuch" in res.stderr and "no such volume" in res.stderr, dt.describe(res)
    assert [e["Name"] for e in json.loads(res.stdout)] == ["data"]
    dt.assert_error(vs.diyc("volume", "inspect", "nosuch"), "no such volume", "nosuch")


@pytest.mark.parametrize("sub", ["create", "ls", "inspect", "rm", "prune"])
def test_volume_help(vs, sub):
    res = dt.assert_ok(vs.diyc("volume", sub, "--help"))
    assert res.stdout.startswith(f"Usage: diyc volume {sub}"), dt.describe(res)
    assert "Usage: diyc volume COMMAND" in dt.assert_ok(vs.diyc("volume", "--help")).stdout
    dt.assert_error(vs.diyc("volume", "bogus"), "bogus")


@pytest.mark.parametrize("opt, needle", [("size=10m", "root"), ("type=tmpfs", "not supported"),
                                         ("device=/dev/sda", "not supported"), ("o=bind", "not supported"),
                                         ("bogus=1", "unknown"), ("size=abc", "size"), ("size=0", "size"),
                                         ("size", "KEY=VALUE")])
def test_volume_options_refused(vs, opt, needle):
    before = volume_dirs(vs)
    dt.assert_error(vs.diyc("volume", "create", "--opt", opt, "optvol"), needle)
    assert volume_dirs(vs) == before and "optvol" not in volume_names(vs)
    dt.assert_error(vs.diyc("volume", "create", "--driver", "nfs", "optvol"), "local")


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_bad_volume_names_refused(vs, name, bad):
    before = volume_dirs(vs)
    for args in (["volume", "create", bad], ["volume", "inspect", bad], ["volume", "rm", bad],
                 ["run", "--name", name, "-v", f"{bad}:/x", "busybox", "true"],
                 ["run", "--name", name, "--mount", f"type=volume,src={bad},dst=/x", "busybox", "true"]):
        res = vs.diyc(*args)
        assert res.returncode == 125, dt.describe(res)
        assert res.stdout == "" and res.stderr.startswith("diyc: "), dt.describe(res)
        assert_nothing_left(vs, name, before)
    # nothing appeared next to the store either (a `..` that was followed)
    assert not (vs.data / "x").exists() and not (vs.data.parent / "x").exists()


def test_nul_in_recorded_volume_name_refused(vs, name):
    """A NUL cannot cross the command line (execve ends each argument there); one written into a
    container's config.json, which would cut the name short, makes the file damaged."""
    dt.assert_ok(vs.diyc("run", "--name", name, "-v", "good:/d", "busybox", "true"))
    cfg_path = vs.container_dirs(name)[0] / "config.json"
    cfg = json.loads(cfg_path.read_text())
    vol = [m for m in cfg["mounts"] if m["type"] == "volume"]
    assert vol and vol[0]["source"] == "good", cfg["mounts"]
    vol[0]["source"] = "good\u0000/../../../escape"
    cfg_path.write_text(json.dumps(cfg))
    before = volume_dirs(vs)
    dt.assert_error(vs.diyc("start", "-a", name), name, "configuration")
    assert volume_dirs(vs) == before
    assert not (vs.data / "escape").exists()


def test_two_containers_share_a_volume(vs):
    c1, c2 = dt.unique_name("one"), dt.unique_name("two")
    tok = dt.token()
    dt.run_detached(vs, c1, "-v", "shared:/s", "busybox", "sh", "-c", f"echo from-one > /s/one; exec sleep {tok}")
    dt.wait_until(lambda: (volumes_dir(vs) / "shared" / "_data" / "one").exists(), what="the first write")
    dt.run_detached(vs, c2, "-v", "shared:/data", "busybox", "sleep", tok)
    res = dt.assert_ok(vs.diyc("exec", c2, "sh", "-c", "cat /data/one; echo from-two > /data/two"))
    assert res.stdout == "from-one\n", dt.describe(res)
    res = dt.assert_ok(vs.diyc("exec", c1, "cat", "/s/two"))
    assert res.stdout == "from-two\n", dt.describe(res)
    assert (volumes_dir(vs) / "shared" / "_data" / "two").read_text() == "from-two\n"
    # the store's view: one volume, used by both
    assert volume_names(vs) == {"shared"}
    names = dt.assert_ok(vs.diyc("ps", "--filter", "volume=shared", "--format", "json")).stdout
    assert {e["Name"] for e in json.loads(names)} == {c1, c2}


def test_named_volume_created_at_run_and_survives_rm(vs, name):
    assert "keep" not in volume_names(vs)
    dt.assert_ok(vs.diyc("run", "--name", name, "-v", "keep:/keep", "busybox", "sh", "-c", "echo kept > /keep/f"))
    assert "keep" in volume_names(vs)
    assert not vinspect(vs, "keep")["Anonymous"]
    dt.assert_ok(vs.diyc("rm", "-v", name))  # -v: anonymous volumes only
    assert "keep" in volume_names(vs)
    res = dt.assert_ok(vs.diyc("run", "--rm", "--mount", "type=volume,source=keep,target=/other,readonly",
                               "busybox", "sh", "-c", "cat /other/f; touch /other/g 2>/dev/null || echo ro"))
    assert res.stdout == "kept\nro\n", dt.describe(res)


def test_rm_refused_while_in_use_then_forced(vs):
    stopped, running = dt.unique_name("stopped"), dt.unique_name("running")
    dt.assert_ok(vs.diyc("run", "--name", stopped, "-v", "busy:/b", "busybox", "true"))
    line = dt.assert_error(vs.diyc("volume", "rm", "busy"), "busy", stopped, "-f")
    assert "in use" in line, line
    tok = dt.token()
    dt.run_detached(vs, running, "-v", "busy:/b", "busybox", "sleep", tok)
    line = dt.assert_error(vs.diyc("volume", "rm", "busy"), stopped, running)
    assert "busy" in volume_names(vs)
    assert dt.ps_entry(vs, running)["State"] == "running"
    # -f: as podman, the containers go first (the running one killed), then the volume
    res = dt.assert_ok(vs.diyc("volume", "rm", "-f", "busy"))
    assert res.stdout == "busy\n", dt.describe(res)
    assert "busy" not in volume_names(vs) and "busy" not in volume_dirs(vs)
    assert dt.ps_entry(vs, running) is None and dt.ps_entry(vs, stopped) is None
    dt.wait_until(lambda: not dt.sleepers(tok), what="the container's process to end")
    # a missing volume: an error, but not with -f (docker)
    dt.assert_error(vs.diyc("volume", "rm", "busy"), "no such volume")
    assert dt.assert_ok(vs.diyc("volume", "rm", "-f", "busy")).stdout == ""


def test_prune(vs, name):
    for v in ("unused-named", "used-named"):
        dt.assert_ok(vs.diyc("volume", "create", v))
    dt.assert_ok(vs.diyc("run", "--name", name, "-v", "used-named:/u", "-v", "/anon-used", "busybox", "true"))
    gone = dt.unique_name("gone")
    dt.assert_ok(vs.diyc("run", "--name", gone, "-v", "/anon-unused", "busybox", "sh", "-c",
                         "head -c 100000 /dev/zero > /anon-unused/f"))
    anon_unused = [b.split(":")[0] for b in dt.inspect(vs, gone)["HostConfig"]["Binds"]][0]
    dt.assert_ok(vs.diyc("rm", gone))  # without -v: its anonymous volume stays, unused
    assert anon_unused in volume_names(vs)
    before = volume_names(vs)
    # without -f it asks (docker's question); no answer, or no: nothing goes
    for answer in ("", "n\n", "no\n"):
        res = vs.diyc("volume", "prune", input=answer)
        assert res.returncode == 125 and "Are you sure you want to continue? [y/N]" in res.stdout, dt.describe(res)
        assert "cancelled" in res.stderr, dt.describe(res)
        assert volume_names(vs) == before
    # every volume no container uses goes, named or anonymous (docker 20.10, podman)
    res = dt.assert_ok(vs.diyc("volume", "prune", "-f"))
    lines = res.stdout.splitlines()
    assert lines[0] == "Deleted Volumes:" and sorted(lines[1:3]) == sorted([anon_unused, "unused-named"]), \
        dt.describe(res)
    assert lines[3] == "", dt.describe(res)
    m = re.fullmatch(r"Total reclaimed space: ([0-9.]+)(B|kB|MB)", lines[4])
    assert m and len(lines) == 5, dt.describe(res)
    size = float(m.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6}[m.group(2)]
    assert size >= 100000, dt.describe(res)
    assert volume_names(vs) == before - {anon_unused, "unused-named"}
    # never one a container uses; -a is taken (newer docker's scripts) and changes nothing
    assert dt.assert_ok(vs.diyc("volume", "prune", "-a", "-f")).stdout == "Total reclaimed space: 0B\n"
    dt.assert_ok(vs.diyc("volume", "create", "again"))
    res = dt.assert_ok(vs.diyc("volume", "prune", input="y\n"))
    assert "Deleted Volumes:\nagain\n" in res.stdout, dt.describe(res)


# -- anonymous volumes --------------------------------------------------------------------------

def test_anonymous_volume_goes_with_rm(vs, name):
    before = volume_names(vs)
    res = dt.assert_ok(vs.diyc("run", "--rm", "-v", "/scratch", "busybox", "sh", "-c",
                               "echo x > /scratch/f; grep -c ' /scratch ' /proc/mounts"))
    assert res.stdout == "1\n", dt.describe(res)
    assert volume_names(vs) == before, "--rm leaves no anonymous volume"
    # detached: the monitor removes it
    tok = dt.token()
    dt.run_detached(vs, name, "--rm", "-v", "/scratch", "busybox", "sleep", tok)
    anon = [b.split(":")[0] for b in dt.inspect(vs, name)["HostConfig"]["Binds"]]
    assert len(anon) == 1 and anon[0] in volume_names(vs) and vinspect(vs, anon[0])["Anonymous"]
    dt.assert_ok(vs.diyc("kill", name))
    dt.wait_until(lambda: dt.ps_entry(vs, name) is None, what="the container to go")
    dt.wait_until(lambda: volume_names(vs) == before, what="its anonymous volume to go")
    # rm -v
    dt.assert_ok(vs.diyc("run", "--name", name, "-v", "/scratch", "-v", "named:/n", "busybox", "true"))
    assert len(volume_names(vs) - before) == 2
    dt.assert_ok(vs.diyc("rm", "-v", name))
    assert volume_names(vs) - before == {"named"}


def test_rm_v_keeps_an_anonymous_volume_another_container_uses(vs, name):
    dt.assert_ok(vs.diyc("run", "--name", name, "-v", "/shared", "busybox", "true"))
    anon = dt.inspect(vs, name)["HostConfig"]["Binds"][0].split(":")[0]
    other = dt.unique_name("other")
    dt.assert_ok(vs.diyc("run", "--name", other, "-v", f"{anon}:/x", "busybox", "true"))
    res = dt.assert_ok(vs.diyc("rm", "-v", name))
    assert "kept" in res.stderr and other in res.stderr, dt.describe(res)
    assert anon in volume_names(vs)
    dt.assert_ok(vs.diyc("rm", "-v", other))  # a named use: -v leaves it
    assert anon in volume_names(vs)


def test_image_volumes_are_anonymous_and_seeded(vimg, name):
    s = vimg
    res = dt.assert_ok(s.diyc("run", "--name", name, "volimg", "sh", "-c",
                              "cat /anon/a /seed/file; grep -E ' /(seed|anon) ' /proc/mounts | wc -l"))
    assert res.stdout == "anon-content\nseeded\n2\n", dt.describe(res)
    binds = dt.inspect(s, name)["HostConfig"]["Binds"]
    anon = {b.split(":")[1]: b.split(":")[0] for b in binds}
    assert set(anon) == {"/seed", "/anon"}, binds
    for v in anon.values():
        assert re.fullmatch(r"[0-9a-f]{64}", v) and vinspect(s, v)["Anonymous"], v
    # a -v or --mount on the path takes its place
    other = dt.unique_name("other")
    dt.assert_ok(s.diyc("run", "--name", other, "-v", "mine:/seed", "--mount", "type=tmpfs,dst=/anon", "volimg",
                        "true"))
    assert [b for b in dt.inspect(s, other)["HostConfig"]["Binds"]] == ["mine:/seed"]
    assert len(volume_names(s)) == 3
    # they go with rm -v; a start runs with them again before that
    res = dt.assert_ok(s.diyc("start", "-a", name))
    assert res.stdout.startswith("anon-content\nseeded\n"), dt.describe(res)
    dt.assert_ok(s.diyc("rm", "-v", name, other))
    assert volume_names(s) == {"mine"}


def test_seeding_copies_the_image_content(vimg, subids):
    s = vimg
    script = ("cd /seed && stat -c '%n %a %u:%g %F' . file sub sub/deep link abs hard1 suid && "
              "readlink link && readlink abs && stat -c %i hard1 hard2 | uniq | wc -l && cat sub/deep")
    res = dt.assert_ok(s.diyc("run", "--rm", "-v", "seeded:/seed", "volimg", "sh", "-c", script))
    lines = res.stdout.splitlines()
    assert lines[:8] == [". 750 1000:1000 directory", "file 640 1000:100 regular file",
                         "sub 700 0:0 directory", "sub/deep 600 0:0 regular file",
                         "link 777 1000:1000 symbolic link", "abs 777 0:0 symbolic link",
                         "hard1 644 0:0 regular file", "suid 4755 0:0 regular file"], dt.describe(res)
    assert lines[8:] == ["file", "/etc/passwd", "1", "deep"], dt.describe(res)
    # on the host: the data is the volume's, owned through the user namespace
    data = volumes_dir(s) / "seeded" / "_data"
    uid_1000 = dt.map_id(dt.expected_map(os.getuid(), subids["uid"]), 1000)
    st = os.lstat(data)
    assert st.st_uid == uid_1000 and (st.st_mode & 0o7777) == 0o750, (st, uid_1000)
    # (0750 of uid 1000 inside: the caller cannot look in, as with podman's volumes)
    assert not os.access(data, os.X_OK)
    # used again: what the container changed is kept, nothing is copied over it
    dt.assert_ok(s.diyc("run", "--rm", "-v", "seeded:/seed", "volimg", "sh", "-c", "rm -r /seed/* && echo mine > "
                        "/seed/mine"))
    res = dt.assert_ok(s.diyc("run", "--rm", "-v", "seeded:/seed", "volimg", "ls", "/seed"))
    assert res.stdout == "mine\n", dt.describe(res)
    # an emptied volume is filled again at its next use, as docker does
    dt.assert_ok(s.diyc("run", "--rm", "-v", "seeded:/seed", "volimg", "rm", "/seed/mine"))
    res = dt.assert_ok(s.diyc("run", "--rm", "-v", "seeded:/seed", "volimg", "cat", "/seed/file"))
    assert res.stdout == "seeded\n", dt.describe(res)


@pytest.mark.parametrize("opt", [["-v", "nc:/seed:nocopy"], ["--mount", "type=volume,src=nc,dst=/seed,volume-nocopy"],
                                 ["--mount", "src=nc,dst=/seed,volume-nocopy=true"]])
def test_nocopy(vimg, opt):
    res = dt.assert_ok(vimg.diyc("run", "--rm", *opt, "volimg", "ls", "-A", "/seed"))
    assert res.stdout == "", "volume-nocopy: the volume stays empty\n" + dt.describe(res)
    assert not os.listdir(volumes_dir(vimg) / "nc" / "_data")


def test_start_recreates_a_removed_volume(vs, name):
    dt.assert_ok(vs.diyc("run", "--name", name, "-v", "again:/a", "busybox", "sh", "-c",
                         "ls /a; echo x > /a/f"))
    shutil.rmtree(volumes_dir(vs) / "again")
    res = dt.assert_ok(vs.diyc("start", "-a", name))
    assert res.stdout == "", "the volume is made again, empty\n" + dt.describe(res)
    assert "again" in volume_names(vs)
    assert (volumes_dir(vs) / "again" / "_data" / "f").read_text() == "x\n"


def test_create_makes_the_volumes(vs, name):
    res = dt.assert_ok(vs.diyc("create", "--name", name, "-v", "/anon", "-v", "made-at-create:/m", "busybox",
                               "sh", "-c", "echo ok > /anon/f && cat /anon/f"))
    assert "made-at-create" in volume_names(vs) and len(volume_names(vs)) == 2, dt.describe(res)
    res = dt.assert_ok(vs.diyc("start", "-a", name))
    assert res.stdout == "ok\n", dt.describe(res)
    dt.assert_ok(vs.diyc("rm", "-v", name))
    assert volume_names(vs) == {"made-at-create"}


# -- --mount ------------------------------------------------------------------------------------

def test_mount_kinds(vs, host):
    script = ("cat /b/pre; touch /b/x 2>/dev/null || echo bind-ro; echo v > /v/f && cat /v/f; "
              "grep -E ' /(t|b|v) ' /proc/mounts | cut -d' ' -f2,3 | sort; stat -c %a /t; df -k /t | tail -1")
    res = dt.assert_ok(vs.diyc("run", "--rm", "--mount", f"type=bind,source={host},target=/b,readonly=true",
                               "--mount", "dst=/v,src=mvol", "--mount",
                               "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=700",
                               "busybox", "sh", "-c", script))
    lines = res.stdout.splitlines()
    assert lines[:3] == ["from-host", "bind-ro", "v"], dt.describe(res)
    assert [line.split()[0] for line in lines[3:6]] == ["/b", "/t", "/v"] and lines[4].split()[1] == "tmpfs", \
        dt.describe(res)
    assert lines[6] == "700" and int(lines[7].split()[1]) == 1024, dt.describe(res)
    assert "mvol" in volume_names(vs)


BAD_MOUNTS = [
    ("type=bogus,dst=/x", "bogus"),
    ("type=volume,src=mv", "destination"),
    ("type=volume,src=mv,src=mw,dst=/x", "twice"),
    ("type=volume,source=mv,src=mw,dst=/x", "twice"),
    ("type=volume,src=mv,dst=/x,target=/y", "twice"),
    ("type=tmpfs,src=mv,dst=/t", "source"),
    ("type=bind,src=relative,dst=/x", "absolute"),
    ("type=bind,src=HOST,dst=relative", "absolute"),
    ("type=bind,dst=/x", "source"),
    ("type=bind,src=HOST/../vol,dst=/x", ".."),
    ("type=volume,src=mv,dst=/x,bogus=1", "bogus"),
    ("type=volume,src=mv,dst=/x,ro=maybe", "maybe"),
    ("type=volume,src=mv,dst=/a/../b", ".."),
    ("type=volume,src=..,dst=/x", "volume name"),
    ("type=volume,src=/abs,dst=/x", "type=bind"),
    ("type=bind,src=HOST,dst=/x,volume-nocopy", "volume-nocopy"),
    ("type=volume,src=mv,dst=/x,tmpfs-size=1m", "tmpfs-size"),
    ("type=tmpfs,dst=/t,tmpfs-size=abc", "tmpfs-size"),
    ("type=tmpfs,dst=/t,tmpfs-mode=999", "tmpfs-mode"),
    ("type=volume,src=mv,dst=/x,,", "empty"),
    ("", "--mount"),
    ("type=volume,src=mv,dst=/x,bind-propagation=shared", "not supported"),
    ("type=volume,src=,dst=/x", "empty"),
    ("type,dst=/x", "value"),
    ("type=volume,src=mv,dst=/", "root"),
    ("type=volume,src=mv,dst=/x,volume-opt=size=1g", "volume create"),
]


@pytest.mark.parametrize("spec, needle", BAD_MOUNTS, ids=[b[0] or "empty" for b in BAD_MOUNTS])
def test_bad_mount_refused(vs, name, host, spec, needle):
    spec = spec.replace("HOST", str(host))
    before, snap = volume_dirs(vs), vs.snapshot()
    for cmd in ("run", "create"):
        line = dt.assert_error(vs.diyc(cmd, "--name", name, "--mount", spec, "busybox", "true"), needle)
        assert "--mount" in line, line
        assert_nothing_left(vs, name, before)
        assert vs.snapshot() == snap
    assert sorted(os.listdir(host)) == ["pre"]


def test_bad_volume_flag_leaves_no_volume(vs, name):
    """A bad flag after good ones: the volumes of the good ones are not made either."""
    before = volume_dirs(vs)
    dt.assert_error(vs.diyc("run", "--name", name, "-v", "fine:/a", "-v", "/anon", "--mount", "type=nope,dst=/x",
                            "busybox", "true"), "nope")
    dt.assert_error(vs.diyc("run", "--name", name, "-v", "fine:/a", "-v", "/anon", "--pull", "never",
                            "nosuchimage:v1", "true"))
    assert_nothing_left(vs, name, before)
    # the name is taken: the volumes this run made go again
    dt.assert_ok(vs.diyc("run", "--name", name, "busybox", "true"))
    dt.assert_error(vs.diyc("run", "--name", name, "-v", "fine:/a", "-v", "/anon", "busybox", "true"), name)
    assert volume_dirs(vs) == before


# -- a _data swapped for a symlink --------------------------------------------------------------

@pytest.mark.parametrize("what", ["_data", "volume"])
def test_data_symlink_swap_is_never_followed(vs, name, tmp_path, what):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "host-file").write_text("host\n")
    dt.assert_ok(vs.diyc("volume", "create", "swapped"))
    vol = volumes_dir(vs) / "swapped"
    if what == "_data":
        os.rmdir(vol / "_data")
        os.symlink(victim, vol / "_data")
    else:
        real = volumes_dir(vs) / "elsewhere"
        os.rename(vol, real)
        os.makedirs(victim / "_data")
        os.symlink(victim, vol)
    for args in (["-v", "swapped:/d"], ["--mount", "src=swapped,dst=/d"]):
        res = vs.diyc("run", "--name", name, *args, "busybox", "sh", "-c",
                      "ls /d; echo planted > /d/planted; echo planted > /d/_data/planted")
        line = dt.assert_error(res, "swapped", "symbolic link")
        assert "volume rm" in line, line
        assert name not in vs.containers()
    assert sorted(os.listdir(victim)) == (["host-file"] if what == "_data" else ["_data", "host-file"])
    assert (victim / "host-file").read_text() == "host\n"
    if what == "volume":
        assert os.listdir(victim / "_data") == []
    # removing it removes the link, never what it points to
    dt.assert_ok(vs.diyc("volume", "rm", "-f", "swapped"))
    assert (victim / "host-file").read_text() == "host\n"
    assert "swapped" not in volume_dirs(vs)
    if what == "volume":
        shutil.rmtree(volumes_dir(vs) / "elsewhere")


# -- commit and export --------------------------------------------------------------------------

def test_commit_and_export_leave_out_volumes(vimg, name, tmp_path):
    s = vimg
    dt.assert_ok(s.diyc("run", "--name", name, "-v", "cv:/vol", "volimg", "sh", "-c",
                        "echo secret > /vol/in-named; echo secret > /anon/in-anon; echo secret > /seed/in-seed; "
                        "echo outside > /outside"))
    res = dt.assert_ok(s.diyc("commit", name, "committed", timeout=120))
    image_id = res.stdout.strip()
    # the new image keeps Volumes: its anonymous volumes are filled from what the image has
    before = volume_names(s)
    res = dt.assert_ok(s.diyc("run", "--rm", "committed", "sh", "-c", "cat /outside; ls -A /vol /anon /seed"))
    assert res.stdout.split() == ["outside", "/anon:", "a", "/seed:", "abs", "file", "hard1", "hard2",
                                  "link", "sub", "suid", "/vol:"], dt.describe(res)
    assert volume_names(s) == before
    # and the image as a file: no layer holds what went into a volume
    out = tmp_path / "committed.tar"
    dt.assert_ok(s.diyc("image", "export", image_id, out, timeout=120))
    names = []
    with tarfile.open(out) as arc:
        for m in arc.getmembers():
            if m.isfile() and m.name.startswith("blobs/"):
                try:
                    with tarfile.open(fileobj=arc.extractfile(m)) as layer:
                        names += layer.getnames()
                except tarfile.ReadError:
                    pass  # a JSON blob
    assert "outside" in names or "./outside" in names, names[-20:]
    leaked = [n for n in names if re.search(r"in-(named|anon|seed)$", n)]
    assert not leaked, f"volume contents in the exported image: {leaked}"


# -- ps --filter --------------------------------------------------------------------------------

def test_ps_filter(vs):
    a, b, c = dt.unique_name("a"), dt.unique_name("b"), dt.unique_name("c")
    dt.assert_ok(vs.diyc("run", "--name", a, "-l", "role=db", "-v", "va:/x", "busybox", "true"))
    dt.assert_ok(vs.diyc("run", "--name", b, "-v", "vb:/y", "busybox", "sh", "-c", "exit 3"), 3)
    tok = dt.token()
    dt.run_detached(vs, c, "-v", "va:/z", "busybox", "sleep", tok)

    def ps(*args):
        return set(dt.assert_ok(vs.diyc("ps", *args, "-q")).stdout.split())

    assert ps("-a", "--filter", "volume=va") == {a, c}
    assert ps("--filter", "volume=va") == {c}, "without -a: running ones"
    assert ps("-a", "--filter", "volume=/y") == {b}, "a mount point matches too"
    assert ps("-a", "-f", "volume=va", "-f", "volume=vb") == {a, b, c}
    assert ps("-a", "--filter", "volume=va", "--filter", "label=role=db") == {a}
    assert ps("-a", "--filter", "volume=nosuch") == set()
    assert ps("--filter", "status=exited") == {a, b}, "status shows stopped ones without -a"
    assert ps("--filter", "exited=3") == {b}
    assert ps("-a", "--filter", f"name={c[:5]}") == {c}
    assert ps("-a", "--filter", "ancestor=busybox") == {a, b, c}
    for bad, needle in (("bogus=1", "bogus"), ("since=x", "since"), ("volume", "KEY=VALUE"),
                        ("status=sleeping", "status"), ("exited=x", "exited")):
        dt.assert_error(vs.diyc("ps", "--filter", bad), needle)
