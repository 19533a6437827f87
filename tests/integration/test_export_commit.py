# SPDX-License-Identifier: MIT
"""diyc image export (alias image save) and diyc commit, with real containers and the
tools that read and write the same formats.

commit: a container's changes (new, changed, deleted files, several whiteouts in several
directories, a directory removed and made again (opaque), owners, modes, setuid, symlinks,
hard links) become one new layer that `diyc run` of the new image shows; the config takes
the container's command, environment, working directory and user and gets a history
entry; a committed image's container can be committed again; a running container can be
committed; diyc's generated /etc/hosts, /etc/hostname and /etc/resolv.conf mount points
are left out of the layer; the layer is in the image format (`.wh.` files, no devices).

export: the archive is an OCI image layout in a tar whose config is the image's own (its
digest is the image id) and whose layers are the diff_ids, uncompressed; skopeo and umoci
read it; importing it again shares every layer, into a fresh store gives the same id and
the same files; two exports are byte-identical (mtime 0); stdout, `-`, -o and `image save`
give the same bytes; the image's name round trips; a terminal is refused.

Round trip: commit -> export -> import into a fresh store -> run.

podman (when it runs here, with storage of its own): it loads diyc's export under the same
id, and diyc imports what `podman save` writes as OCI and docker archives.

Bad input: unknown image or container, unwritable destinations, bad arguments and names:
exit 125, a clear message, and nothing left behind (no temporary files in the store or
beside the destination, no new layers, no partial archive)."""

import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

import diyctest as dt
import imagetools as it
from imagetools import images  # noqa: F401  (the session fixture)

TIMEOUT = 120
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"

# -- helpers --------------------------------------------------------------------------


def import_ok(store, *args):
    """`diyc image import ARGS...`; returns the id it printed."""
    res = dt.assert_ok(store.diyc("image", "import", *args, timeout=TIMEOUT))
    assert re.fullmatch(r"[0-9a-f]{64}\n", res.stdout), \
        "import should print the image id and nothing else\n" + dt.describe(res)
    return res.stdout.strip()


def commit_ok(store, *args):
    """`diyc commit ARGS...`; returns the new image id (64 hex digits and a newline)."""
    res = dt.assert_ok(store.diyc("commit", *args, timeout=TIMEOUT))
    assert re.fullmatch(r"[0-9a-f]{64}\n", res.stdout), \
        "commit should print the new image id and nothing else\n" + dt.describe(res)
    return res.stdout.strip()


def export_ok(store, *args):
    """`diyc image export ARGS...` to a file: nothing on stdout; returns the result."""
    res = dt.assert_ok(store.diyc("image", "export", *args, timeout=TIMEOUT))
    assert res.stdout == "", "an export to a file prints nothing on stdout\n" + dt.describe(res)
    return res


def sh(store, ref, script, *run_args):
    return dt.assert_ok(store.diyc("run", "--rm", *run_args, ref, "sh", "-c", script)).stdout


def layer_names(store):
    return {p.name for p in store.layers()}


def store_tmp(store):
    """What is in the store's tmp directory (an export stages its layers there)."""
    try:
        return sorted(os.listdir(store.data / "tmp"))
    except FileNotFoundError:
        return []


def beside(path):
    """Entries next to PATH that start with its name (the archive and its temporary file)."""
    path = Path(path)
    try:
        return sorted(n for n in os.listdir(path.parent) if n.startswith(path.name))
    except FileNotFoundError:
        return []


def inspect_image(store, ref):
    data = dt.json_out(store.diyc("image", "inspect", ref))
    assert isinstance(data, list) and len(data) == 1, data
    return data[0]


def stored_config(store, image_id):
    """The config blob of an image (images/ID.config): its sha256 is the image id."""
    data = (store.data / "images" / f"{image_id}.config").read_bytes()
    assert hashlib.sha256(data).hexdigest() == image_id, "the id of an image is the digest of its config"
    return json.loads(data)


def sha256(path):
    return it.sha256_file(path)


def clean_name(name):
    """A tar member's path as a layer means it: without `./` and a trailing `/`."""
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


class Archive:
    """An OCI archive as diyc writes it, read whole (the test images are a few MB)."""

    def __init__(self, path):
        self.path = Path(path)
        with tarfile.open(path) as tar:
            self.members = tar.getmembers()
            self.files = {m.name: tar.extractfile(m).read() for m in self.members if m.isfile()}
        assert "oci-layout" in self.files and "index.json" in self.files, \
            f"an OCI archive has oci-layout and index.json: {sorted(self.files)}"
        assert json.loads(self.files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
        self.index = json.loads(self.files["index.json"])
        assert self.index.get("schemaVersion") == 2
        assert len(self.index["manifests"]) == 1, f"one image per archive: {self.index}"
        self.descriptor = self.index["manifests"][0]
        self.manifest = json.loads(self.blob(self.descriptor["digest"]))
        self.config_digest = self.manifest["config"]["digest"].split(":", 1)[1]
        self.config = json.loads(self.blob(self.manifest["config"]["digest"]))
        self.layer_digests = [d["digest"].split(":", 1)[1] for d in self.manifest["layers"]]

    def blob(self, digest):
        name = "blobs/sha256/" + digest.split(":", 1)[-1]
        assert name in self.files, f"the archive has no blob {name}: {sorted(self.files)}"
        return self.files[name]

    @property
    def annotations(self):
        return self.descriptor.get("annotations") or {}

    def layer(self, index):
        """The members of layer INDEX (bottom first): {clean name: TarInfo}."""
        data = self.blob(self.manifest["layers"][index]["digest"])
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            return {clean_name(m.name): m for m in tar.getmembers()}

    def check_blobs(self):
        """Every blob is named by its sha256, every entry has mtime 0."""
        for name, data in self.files.items():
            if name.startswith("blobs/sha256/"):
                assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1], f"blob {name} has another digest"
        assert all(m.mtime == 0 for m in self.members), \
            f"archive entries should have mtime 0: {[(m.name, m.mtime) for m in self.members if m.mtime]}"


# -- what the commit tests do in a busybox container ------------------------------------

# Changes of every kind: new files, a changed file, deletions from the image's layer in
# several directories (overlay may make its whiteouts hard links of one inode), a whole
# directory deleted, one deleted and made again (opaque), owners, modes, links.
CHANGES = r'''set -e
mkdir -p /data
echo new > /data/new
ln /data/new /data/hard
ln -s new /data/link
echo owned > /data/owned; chown 1000:1000 /data/owned; chmod 4755 /data/owned
mkdir /data/udir; chown 1000:1000 /data/udir; chmod 750 /data/udir
echo 'extra:x:1000:1000::/home/extra:/bin/sh' >> /etc/passwd
rm /etc/shadow /bin/vi /sbin/halt /usr/bin/wc
rm -r /var/tmp
rm -rf /usr/sbin; mkdir /usr/sbin; echo only > /usr/sbin/only
'''
DELETED = ["/etc/shadow", "/bin/vi", "/sbin/halt", "/usr/bin/wc", "/var/tmp"]

CHECK = r'''cat /data/new /data/hard /data/link /usr/sbin/only
readlink /data/link
stat -c '%n %u %g %a %h' /data/owned /data/udir /data/new /etc/passwd /bin/busybox
[ "$(stat -c %i /data/new)" = "$(stat -c %i /data/hard)" ] && echo same-inode
tail -n 1 /etc/passwd
echo "sbin: $(ls -A /usr/sbin)"
echo "var: $(ls -A /var)"
for f in ''' + " ".join(DELETED) + r'''; do if [ -e $f ] || [ -L $f ]; then echo "visible: $f"; fi; done
echo "wh: $(find / -xdev -name '.wh.*' | busybox wc -l)"
readlink /bin/sh
'''


def check_changes(store, ref):
    """`diyc run` of REF shows what CHANGES did."""
    out = sh(store, ref, CHECK)
    assert out.splitlines() == [
        "new", "new", "new", "only",
        "new",
        "/data/owned 1000 1000 4755 1",
        "/data/udir 1000 1000 750 2",
        "/data/new 0 0 644 2",
        "/etc/passwd 0 0 644 1",
        "/bin/busybox 0 0 755 1",
        "same-inode",
        "extra:x:1000:1000::/home/extra:/bin/sh",
        "sbin: only",
        "var: ",
        "wh: 0",
        "busybox",
    ], f"the image does not hold the container's changes:\n{out}"


def make_changes(store, image="busybox"):
    """Runs CHANGES in a new container of IMAGE; returns the container's name."""
    name = dt.unique_name("chg")
    dt.assert_ok(store.diyc("run", "--name", name, image, "sh", "-c", CHANGES))
    return name


def minimal_rootfs(path):
    """A root filesystem with busybox and no /etc/hosts, /etc/hostname or /etc/resolv.conf."""
    root = Path(path)
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp"):
        (root / d).mkdir(parents=True)
    busybox = os.environ.get("BUSYBOX", "/bin/busybox")
    shutil.copy(busybox, root / "bin" / "busybox")
    os.chmod(root / "bin" / "busybox", 0o755)
    for applet in ("sh", "cat", "ls", "echo"):
        os.symlink("busybox", root / "bin" / applet)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    return root


def imported_derived(store, images, name="exp:v3"):  # noqa: F811
    """Imports the umoci image `derived` (whiteouts, an opaque directory, owners) as NAME."""
    image_id = import_ok(store, "--ref", "derived", images.layout, name)
    assert image_id == it.oci_image_id(images.layout, "derived")
    return image_id


def check_derived_files(store, ref):
    """What a container of the image `derived` sees (as test_oci checks it)."""
    out = sh(store, ref, "cat /data/hello /data/new; ls -A /opq; "
                         "stat -c '%n %u %g %a' /data/user /data/nobody /usr/local/bin/suid; "
                         "for f in /data/gone /data/dir /opq/old1 /etc/removeme; do "
                         "  if [ -e $f ] || [ -L $f ]; then echo visible: $f; fi; done")
    assert out.splitlines() == [
        it.CHANGED.strip(), "new", "new-in-opq",
        "/data/user 1000 1000 640", "/data/nobody 65534 65534 604", "/usr/local/bin/suid 0 0 4755",
    ], f"the image's files, whiteouts and opaque directory:\n{out}"


# -- commit ---------------------------------------------------------------------------


def test_commit_changes_are_in_the_new_image(private_store):
    s = private_store
    base = inspect_image(s, "busybox")
    ctr = make_changes(s)
    image_id = commit_ok(s, "-m", "my changes", "-a", "Jane <jane@example.org>", ctr, "committed:v1")
    check_changes(s, "committed:v1")
    check_changes(s, image_id[:12])
    info = inspect_image(s, "committed:v1")
    assert info["Id"] == "sha256:" + image_id and "committed:v1" in info["RepoTags"]
    layers = info["RootFS"]["Layers"]
    assert len(layers) == len(base["RootFS"]["Layers"]) + 1, "one new layer on top of the image's"
    assert layers[:-1] == base["RootFS"]["Layers"], "the image's layers stay below the new one"
    assert (s.data / "layers" / layers[-1].split(":", 1)[1] / "diff").is_dir()
    assert info["Config"].get("Cmd") == ["sh", "-c", CHANGES], info["Config"]
    assert not info["Config"].get("Entrypoint"), info["Config"]
    # the base image and the container are untouched
    assert sh(s, "busybox", "cat /etc/shadow; ls /usr/sbin/chroot; [ -e /data ] || echo no-data") == \
        "root:*:19000:0:99999:7:::\n/usr/sbin/chroot\nno-data\n"
    assert dt.ps_entry(s, ctr)["State"] == "exited"


def test_commit_config_history_and_author(private_store):
    s = private_store
    ctr = make_changes(s)
    before = stored_config(s, inspect_image(s, "busybox")["Id"].split(":", 1)[1])
    started = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
    image_id = commit_ok(s, "--message", "the comment", "--author", "Jane", ctr, "hist")
    cfg = stored_config(s, image_id)
    assert cfg["author"] == "Jane"
    assert cfg["history"][:-1] == before["history"], "the image's history is kept"
    last = cfg["history"][-1]
    assert last["created_by"] == "diyc commit" and last["comment"] == "the comment" and last["author"] == "Jane", last
    assert cfg["created"] == last["created"] and cfg["created"] >= started, (cfg["created"], started)
    assert cfg["rootfs"]["diff_ids"][:-1] == before["rootfs"]["diff_ids"]
    assert cfg["rootfs"]["diff_ids"][-1] == inspect_image(s, "hist")["RootFS"]["Layers"][-1]
    assert cfg["os"] == before["os"] and cfg["architecture"] == before["architecture"]


def test_commit_without_name_or_message(private_store):
    s = private_store
    ctr = make_changes(s)
    image_id = commit_ok(s, ctr)
    rows = [line.split() for line in dt.assert_ok(s.diyc("image", "ls")).stdout.splitlines()[1:]]
    assert [r[:2] for r in rows if image_id.startswith(r[2])] == [["<none>", "<none>"]], rows
    cfg = stored_config(s, image_id)
    assert cfg["history"][-1]["created_by"] == "diyc commit"
    assert "comment" not in cfg["history"][-1] and "author" not in cfg
    check_changes(s, image_id)


def test_commit_takes_command_env_workdir_user(private_store):
    # as docker commit: the container's settings become the image's defaults
    s = private_store
    ctr = dt.unique_name("cfg")
    script = 'echo "$FOO $BAR $(pwd) $(id -u):$(id -g) $0 $1"; touch /tmp/made-$(id -u)'
    dt.assert_ok(s.diyc("run", "--name", ctr, "-e", "FOO=1", "-e", "BAR=x", "-e", "FOO=2", "-w", "/tmp",
                        "-u", "1000:1000", "--entrypoint", "sh", "busybox", "-c", script, "zero", "one"))
    image_id = commit_ok(s, ctr, "withcfg")
    conf = inspect_image(s, "withcfg")["Config"]
    assert conf.get("Entrypoint") == ["sh"], conf
    assert conf.get("Cmd") == ["-c", script, "zero", "one"], conf
    env = conf.get("Env") or []
    assert [e for e in env if e.startswith("FOO=")] == ["FOO=2"], f"one entry per key, the last given: {env}"
    assert "BAR=x" in env, env
    assert conf.get("WorkingDir") == "/tmp" and conf.get("User") == "1000:1000", conf
    assert stored_config(s, image_id)["config"] == conf
    # run without a command: the committed one, with its environment, directory and user
    out = dt.assert_ok(s.diyc("run", "--rm", "withcfg")).stdout
    assert out == "2 x /tmp 1000:1000 zero one\n", out
    # arguments go to the committed entrypoint
    out = dt.assert_ok(s.diyc("run", "--rm", "withcfg", "-c", "ls /tmp; pwd; id -u")).stdout
    assert out == "made-1000\n/tmp\n1000\n", "the container's file is in the image"


def test_commit_twice_stacks_layers(private_store):
    s = private_store
    first = commit_ok(s, make_changes(s), "level1")
    ctr2 = dt.unique_name("lvl2")
    dt.assert_ok(s.diyc("run", "--name", ctr2, "level1", "sh", "-c",
                        "rm /data/owned /usr/sbin/only; echo second > /usr/sbin/second; echo two >> /data/new"))
    second = commit_ok(s, "-m", "level 2", ctr2, "level2:latest")
    assert second != first
    l1, l2 = inspect_image(s, "level1")["RootFS"]["Layers"], inspect_image(s, "level2")["RootFS"]["Layers"]
    assert len(l2) == len(l1) + 1 and l2[:-1] == l1, (l1, l2)
    # (overlay's copy-up of /data/new leaves its hard link /data/hard as it was: not checked)
    out = sh(s, "level2", "cat /data/new /usr/sbin/second; ls -A /usr/sbin; "
                          "[ -e /data/owned ] || echo owned-gone; [ -e /etc/shadow ] || echo shadow-gone; "
                          "stat -c '%u %g %a' /data/udir")
    assert out.splitlines() == ["new", "two", "second", "second", "owned-gone", "shadow-gone",
                                "1000 1000 750"], out
    # level1 is unchanged by its container's changes
    check_changes(s, "level1")
    hist = stored_config(s, second)["history"]
    assert [h.get("created_by") for h in hist[-2:]] == ["diyc commit", "diyc commit"]
    assert hist[-1].get("comment") == "level 2"


def test_commit_running_container(private_store):
    s = private_store
    ctr = dt.unique_name("live")
    tok = dt.token()
    dt.assert_ok(s.diyc("run", "-d", "--name", ctr, "busybox", "sh", "-c",
                        f"echo live > /live; rm /etc/shadow; echo ready; exec sleep {tok}"))
    try:
        dt.wait_until(lambda: "ready" in s.diyc("logs", ctr).stdout, 10, 0.1, "the container to be ready")
        image_id = commit_ok(s, "-m", "while running", ctr, "fromlive")
        assert dt.ps_entry(s, ctr)["State"] == "running", "commit does not stop the container"
        assert dt.sleepers(tok), "the container's process still runs"
        out = sh(s, image_id, "cat /live; [ -e /etc/shadow ] || echo shadow-gone")
        assert out == "live\nshadow-gone\n", out
        assert inspect_image(s, "fromlive")["Config"]["Cmd"] == \
            ["sh", "-c", f"echo live > /live; rm /etc/shadow; echo ready; exec sleep {tok}"]
    finally:
        s.diyc("rm", "-f", ctr)
    assert not dt.sleepers(tok)


def test_commit_layer_is_in_image_format(private_store, tmp_path):
    # seen through an export: whiteouts are empty `.wh.` files of their own (not hard
    # links to one another, as overlay makes them), an opaque directory has its marker,
    # owners and modes are in the headers, and no device node is in the layer
    s = private_store
    image_id = commit_ok(s, make_changes(s), "fmt")
    export_ok(s, "fmt", tmp_path / "fmt.tar")
    a = Archive(tmp_path / "fmt.tar")
    assert len(a.layer_digests) == len(inspect_image(s, "busybox")["RootFS"]["Layers"]) + 1
    top = a.layer(len(a.layer_digests) - 1)
    whiteouts = {n for n in top if os.path.basename(n).startswith(".wh.")}
    assert whiteouts == {"etc/.wh.shadow", "bin/.wh.vi", "sbin/.wh.halt", "usr/bin/.wh.wc", "var/.wh.tmp",
                         "usr/sbin/.wh..wh..opq"}, sorted(top)
    for n in whiteouts:
        assert top[n].isreg() and top[n].size == 0, f"{n} should be an empty regular file: {top[n].type!r}"
    assert not [m.name for m in top.values() if m.ischr() or m.isblk()], "no device node in an image layer"
    assert "usr/sbin/only" in top and not [n for n in top if n.startswith("usr/sbin/") and n not in
                                           ("usr/sbin/only", "usr/sbin/.wh..wh..opq")]
    owned = top["data/owned"]
    assert (owned.uid, owned.gid, owned.mode & 0o7777) == (1000, 1000, 0o4755)
    assert top["data/link"].issym() and top["data/link"].linkname == "new"
    hard = top["data/hard"] if top["data/hard"].islnk() else top["data/new"]
    assert hard.islnk() and clean_name(hard.linkname) in ("data/new", "data/hard"), "the hard link is kept"
    assert "etc/passwd" in top and "bin/busybox" not in top, "only the changes are in the layer"
    assert a.config_digest == image_id, \
        f"the export of a committed image has its own config (the id {image_id[:12]})"


def test_commit_leaves_out_generated_etc_files(empty_store, tmp_path):
    s = empty_store
    root = minimal_rootfs(tmp_path / "rootfs")
    import_ok(s, root, "minimal")
    ctr = dt.unique_name("noetc")
    out = dt.assert_ok(s.diyc("run", "--name", ctr, "minimal", "sh", "-c",
                              "ls /etc; echo mine > /etc/mine")).stdout
    assert {"hosts", "hostname", "resolv.conf"} <= set(out.split()), "diyc makes them in the container"
    image_id = commit_ok(s, ctr, "minimal-c")
    export_ok(s, image_id, tmp_path / "min.tar")
    a = Archive(tmp_path / "min.tar")
    top = a.layer(len(a.layer_digests) - 1)
    assert "etc/mine" in top
    for f in ("etc/hosts", "etc/hostname", "etc/resolv.conf"):
        assert f not in top, f"the committed layer holds diyc's mount point {f}: {sorted(top)}"
    # the new image runs and has the container's file (diyc makes the others again)
    assert sh(s, "minimal-c", "cat /etc/mine; ls /etc") == "mine\nhostname\nhosts\nmine\npasswd\nresolv.conf\n"


def test_commit_leaves_out_volume_contents(private_store, tmp_path):
    s = private_store
    vol = tmp_path / "vol"
    vol.mkdir()
    ctr = dt.unique_name("vol")
    dt.assert_ok(s.diyc("run", "--name", ctr, "-v", f"{vol}:/vol", "busybox", "sh", "-c",
                        "echo in-volume > /vol/f; echo outside > /outside"))
    assert (vol / "f").read_text() == "in-volume\n"
    commit_ok(s, ctr, "withvol")
    out = sh(s, "withvol", "cat /outside; if [ -e /vol/f ]; then echo leaked; fi")
    assert out == "outside\n", f"a volume's contents are not part of the image:\n{out}"


def test_commit_after_its_image_was_removed(private_store):
    s = private_store
    commit_ok(s, make_changes(s), "short-lived")
    ctr = dt.unique_name("orphan")
    dt.assert_ok(s.diyc("run", "--name", ctr, "short-lived", "true"))
    dt.assert_ok(s.diyc("image", "rm", "-f", "short-lived"))
    layers, before = s.layers(), s.snapshot()
    dt.assert_error(s.diyc("commit", ctr, "again"), "no longer in the store", ctr)
    assert s.snapshot() == before and s.layers() == layers, "a failed commit changed the store"
    dt.assert_error(s.diyc("image", "inspect", "again"), "not found")


# -- export ---------------------------------------------------------------------------


def test_export_keeps_the_image_digests(empty_store, images, tmp_path):  # noqa: F811
    s = empty_store
    image_id = imported_derived(s, images)
    dest = tmp_path / "derived.tar"
    res = export_ok(s, "exp:v3", dest)
    a = Archive(dest)
    a.check_blobs()
    assert a.config_digest == image_id == it.oci_image_id(images.layout, "derived"), \
        "the archive's config is the image's own: its digest is the id\n" + dt.describe(res)
    assert a.layer_digests == it.oci_diff_ids(images.layout, "derived"), \
        "the layers are the image's exact tar streams: their digests are the diff_ids\n" + dt.describe(res)
    assert a.blob("sha256:" + image_id) == it.blob(images.layout, "sha256:" + image_id).read_bytes(), \
        "the config blob is the one the image came with"
    assert {d["mediaType"] for d in a.manifest["layers"]} == {LAYER_TAR}
    assert a.manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert a.descriptor["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert a.descriptor["platform"] == {"architecture": "amd64", "os": "linux"}
    assert hashlib.sha256(a.blob(a.descriptor["digest"])).hexdigest() == a.descriptor["digest"].split(":")[1]
    assert res.stderr == "", "an intact image exports without a warning\n" + dt.describe(res)
    assert store_tmp(s) == [] and beside(dest) == ["derived.tar"]


def test_export_read_by_skopeo(empty_store, images, tmp_path):  # noqa: F811
    s = empty_store
    image_id = imported_derived(s, images)
    dest = tmp_path / "sk.tar"
    export_ok(s, "exp:v3", dest)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    res = dt.assert_ok(dt.run(["skopeo", "inspect", f"oci-archive:{dest}"], env=env, timeout=TIMEOUT))
    info = json.loads(res.stdout)
    assert info["Layers"] == ["sha256:" + d for d in it.oci_diff_ids(images.layout, "derived")], info
    raw = json.loads(dt.assert_ok(dt.run(["skopeo", "inspect", "--raw", f"oci-archive:{dest}"], env=env,
                                         timeout=TIMEOUT)).stdout)
    assert raw["config"]["digest"] == "sha256:" + image_id, raw
    cfg = json.loads(dt.assert_ok(dt.run(["skopeo", "inspect", "--config", f"oci-archive:{dest}"], env=env,
                                         timeout=TIMEOUT)).stdout)
    assert cfg["rootfs"]["diff_ids"] == it.oci_config(images.layout, "derived")["rootfs"]["diff_ids"]


def test_export_unpacked_by_umoci(empty_store, images, tmp_path):  # noqa: F811
    if not dt.which("umoci"):
        pytest.skip("umoci is not installed")
    s = empty_store
    imported_derived(s, images)
    dest = tmp_path / "um.tar"
    export_ok(s, "exp:v3", dest)
    layout = tmp_path / "layout"
    layout.mkdir()
    dt.assert_ok(dt.run(["tar", "-C", layout, "-xf", dest]))
    env = dict(os.environ, TMPDIR=str(tmp_path))
    dt.assert_ok(dt.run(["umoci", "unpack", "--rootless", "--image", f"{layout}:exp:v3", tmp_path / "bundle"],
                        env=env, timeout=TIMEOUT))
    rootfs = tmp_path / "bundle" / "rootfs"
    assert (rootfs / "data" / "hello").read_text() == it.CHANGED
    assert (rootfs / "data" / "new").read_text() == "new\n"
    assert not (rootfs / "data" / "gone").exists() and not (rootfs / "data" / "dir").exists()
    assert sorted(os.listdir(rootfs / "opq")) == ["new-in-opq"]
    assert os.readlink(rootfs / "data" / "rel-link") == "hello"


def test_export_reimport_shares_layers(empty_store, images, tmp_path):  # noqa: F811
    s = empty_store
    image_id = imported_derived(s, images)
    dest = tmp_path / "again.tar"
    export_ok(s, "exp:v3", dest)
    layers = s.layers()
    images_before = sorted(os.listdir(s.data / "images"))
    assert import_ok(s, dest, "again:1") == image_id, "importing the export gives the same image"
    assert s.layers() == layers, "no new layer: every layer of the archive is the store's own"
    assert sorted(os.listdir(s.data / "images")) == images_before
    assert store_tmp(s) == []
    assert inspect_image(s, "again:1")["Id"] == "sha256:" + image_id


def test_export_import_into_fresh_store(empty_store, images, tmp_path):  # noqa: F811
    s = empty_store
    image_id = imported_derived(s, images)
    dest = tmp_path / "fresh.tar"
    export_ok(s, "exp:v3", dest)
    other = dt.Store.private(tmp_path / "store2")
    assert import_ok(other, dest, "moved") == image_id
    assert layer_names(other) == set(it.oci_diff_ids(images.layout, "derived"))
    check_derived_files(other, "moved")


def test_export_is_reproducible(empty_store, images, tmp_path):  # noqa: F811
    s = empty_store
    imported_derived(s, images)
    export_ok(s, "exp:v3", tmp_path / "one.tar")
    time.sleep(1.1)  # a clock that ticked must not change the archive
    export_ok(s, "exp:v3", tmp_path / "two.tar")
    assert sha256(tmp_path / "one.tar") == sha256(tmp_path / "two.tar"), "two exports of an image differ"
    Archive(tmp_path / "one.tar").check_blobs()


def test_export_to_stdout_and_o_flag_same_bytes(private_store, tmp_path):
    s = private_store
    export_ok(s, "busybox", tmp_path / "file.tar")
    want = (tmp_path / "file.tar").read_bytes()
    for args in (["busybox"], ["busybox", "-"], ["-o", "-", "busybox"]):
        res = dt.assert_ok(s.diyc("image", "export", *args, binary=True, timeout=TIMEOUT))
        assert res.stdout == want, f"`image export {' '.join(args)}` to a pipe differs from the file"
        assert res.stderr == b""
    export_ok(s, "-o", tmp_path / "o.tar", "busybox")
    export_ok(s, "--output", tmp_path / "output.tar", "busybox")
    dt.assert_ok(s.diyc("image", "save", "busybox", tmp_path / "save.tar", timeout=TIMEOUT))
    for f in ("o.tar", "output.tar", "save.tar"):
        assert (tmp_path / f).read_bytes() == want, f"{f} differs"
    assert Archive(tmp_path / "o.tar").config_digest == inspect_image(s, "busybox")["Id"].split(":")[1]
    assert store_tmp(s) == []


def test_export_replaces_an_existing_file(private_store, tmp_path):
    s = private_store
    dest = tmp_path / "old.tar"
    dest.write_text("old contents\n")
    export_ok(s, "busybox", dest)
    assert Archive(dest).layer_digests == [l.split(":")[1] for l in inspect_image(s, "busybox")["RootFS"]["Layers"]]
    assert beside(dest) == ["old.tar"]


def test_export_of_a_changed_layer_writes_a_new_tar(private_store, tmp_path):
    # a layer whose files no longer match its record cannot give back its tar stream:
    # the export warns, writes a new tar and a config that matches it
    s = private_store
    info = inspect_image(s, "busybox")
    (layer,) = [l.split(":", 1)[1] for l in info["RootFS"]["Layers"]]
    with open(s.data / "layers" / layer / "diff" / "etc" / "passwd", "a") as f:
        f.write("changed:x:7:7::/:/bin/sh\n")
    dest = tmp_path / "changed.tar"
    res = export_ok(s, "busybox", dest)
    assert "warning" in res.stderr and "new" in res.stderr, "the export says the archive is not the image\n" + \
        dt.describe(res)
    a = Archive(dest)
    a.check_blobs()
    assert a.config_digest != info["Id"].split(":", 1)[1] and a.layer_digests != [layer]
    assert a.config["rootfs"]["diff_ids"] == ["sha256:" + d for d in a.layer_digests], \
        "the new config names the layers as written"
    other = dt.Store.private(tmp_path / "store2")
    assert import_ok(other, dest) == a.config_digest
    assert sh(other, "busybox", "tail -n 1 /etc/passwd") == "changed:x:7:7::/:/bin/sh\n"
    assert store_tmp(s) == []


def test_export_name_round_trips(empty_store, images, tmp_path):  # noqa: F811
    s = empty_store
    image_id = imported_derived(s, images, "roundname:v3")
    export_ok(s, "roundname:v3", tmp_path / "named.tar")
    a = Archive(tmp_path / "named.tar")
    assert a.annotations == {"io.containerd.image.name": "roundname:v3",
                             "org.opencontainers.image.ref.name": "roundname:v3"}, a.descriptor
    # by id: no name in the archive
    export_ok(s, image_id[:12], tmp_path / "byid.tar")
    assert Archive(tmp_path / "byid.tar").annotations == {}
    other = dt.Store.private(tmp_path / "store2")
    assert import_ok(other, tmp_path / "named.tar") == image_id
    assert inspect_image(other, "roundname:v3")["Id"] == "sha256:" + image_id, "import named it from the archive"
    third = dt.Store.private(tmp_path / "store3")
    assert import_ok(third, tmp_path / "byid.tar") == image_id
    rows = [line.split() for line in dt.assert_ok(third.diyc("image", "ls")).stdout.splitlines()[1:]]
    assert [r[:2] for r in rows] == [["<none>", "<none>"]], rows


def test_export_default_tag_is_latest(private_store, tmp_path):
    s = private_store
    export_ok(s, "busybox", tmp_path / "bb.tar")
    assert Archive(tmp_path / "bb.tar").annotations.get("org.opencontainers.image.ref.name") == "busybox:latest"


def test_export_refuses_a_terminal(private_store):
    s = private_store
    master, slave = os.openpty()
    try:
        for args in (["busybox"], ["busybox", "-"]):
            res = subprocess.run([dt.diyc_bin(), "image", "export", *args], env=s.env, stdin=subprocess.DEVNULL,
                                 stdout=slave, stderr=subprocess.PIPE, timeout=TIMEOUT)
            err = res.stderr.decode()
            assert res.returncode == 125 and "terminal" in err and err.startswith("diyc: "), (res.returncode, err)
            written = dt.drain(master)
            assert written == b"", f"an archive was written to the terminal: {written[:80]!r}"
    finally:
        os.close(slave)
        os.close(master)
    assert store_tmp(s) == []


# -- round trip -------------------------------------------------------------------------


def test_round_trip_commit_export_import(private_store, tmp_path):
    s = private_store
    image_id = commit_ok(s, "-m", "round trip", make_changes(s), "trip:1")
    dest = tmp_path / "trip.tar"
    res = export_ok(s, "trip:1", dest)
    a = Archive(dest)
    a.check_blobs()
    assert a.config_digest == image_id, \
        "the export of a committed image keeps its config, so its id\n" + dt.describe(res)
    assert ["sha256:" + d for d in a.layer_digests] == inspect_image(s, "trip:1")["RootFS"]["Layers"]
    other = dt.Store.private(tmp_path / "store2")
    assert import_ok(other, dest) == image_id, "imported elsewhere, the committed image has the same id"
    assert inspect_image(other, "trip:1")["Id"] == "sha256:" + image_id
    check_changes(other, "trip:1")
    assert stored_config(other, image_id)["history"][-1]["comment"] == "round trip"


# -- podman -----------------------------------------------------------------------------


class Podman:
    """podman with storage of its own below BASE (vfs: no mounts), nothing of the user's."""

    def __init__(self, base):
        base = Path(base)
        self.base = base
        self.root, self.tmp = base / "root", base / "tmp"
        # podman takes no runroot of more than 50 characters: one of its own in /tmp
        self.runroot = Path(tempfile.mkdtemp(prefix="diyc-podman-"))
        run = base / "xdg-run"
        for d in (base / "home", base / "config", self.tmp, run):
            d.mkdir(parents=True)
        os.chmod(run, 0o700)
        self.env = dict(os.environ, HOME=str(base / "home"), XDG_CONFIG_HOME=str(base / "config"),
                        XDG_RUNTIME_DIR=str(run), XDG_DATA_HOME=str(base / "data"), TMPDIR=str(self.tmp))
        self.argv = ["podman", "--root", self.root, "--runroot", self.runroot, "--tmpdir", self.tmp,
                     "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]

    def __call__(self, *args, timeout=TIMEOUT):
        return dt.run([*self.argv, *args], env=self.env, timeout=timeout)

    def ok(self, *args):
        res = self(*args)
        assert res.returncode == 0, "podman failed\n" + dt.describe(res)
        return res

    def image_id(self, ref):
        return self.ok("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()

    def close(self):
        # its files belong to subordinate ids: remove them in its user namespace
        self("unshare", "rm", "-rf", self.root, self.runroot)
        shutil.rmtree(self.runroot, ignore_errors=True)
        # the pause process that keeps podman's user namespace (reparented to pytest)
        for pidfile in (self.tmp / "pause.pid", Path(self.env["XDG_RUNTIME_DIR"]) / "libpod" / "tmp" / "pause.pid"):
            try:
                pid = int(pidfile.read_text())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                dt.wait_until(lambda: not dt.pid_alive(pid), 5, 0.05, f"podman's pause process {pid} to end")


@pytest.fixture
def podman(tmp_path):
    if not dt.which("podman"):
        pytest.skip("podman is not installed")
    p = Podman(tmp_path / "podman")
    try:
        res = p("images")
        if res.returncode != 0:
            pytest.skip("podman cannot run as this user here: " + res.stderr.strip()[-300:])
        yield p
    finally:
        p.close()


def test_podman_loads_diyc_export(empty_store, images, tmp_path, podman):  # noqa: F811
    s = empty_store
    image_id = imported_derived(s, images, "forpodman:v1")
    dest = tmp_path / "to-podman.tar"
    export_ok(s, "forpodman:v1", dest)
    res = podman.ok("load", "-i", dest)
    assert "forpodman:v1" in res.stdout, dt.describe(res)
    assert podman.image_id("forpodman:v1") == image_id, "podman loads the image under the same id"
    listed = podman.ok("images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").stdout.split()
    assert listed[0] == image_id[:12] and listed[1].endswith("forpodman:v1"), listed
    layers = json.loads(podman.ok("image", "inspect", "forpodman:v1").stdout)[0]["RootFS"]["Layers"]
    assert layers == ["sha256:" + d for d in it.oci_diff_ids(images.layout, "derived")]


def test_podman_loads_committed_image(private_store, tmp_path, podman):
    s = private_store
    image_id = commit_ok(s, make_changes(s), "podcommit:v1")
    export_ok(s, "podcommit:v1", tmp_path / "c.tar")
    podman.ok("load", "-i", tmp_path / "c.tar")
    assert podman.image_id("podcommit:v1") == image_id


@pytest.mark.parametrize("fmt", ["oci-archive", "docker-archive"])
def test_diyc_imports_podman_save(empty_store, images, tmp_path, podman, fmt):  # noqa: F811
    # podman loads `derived` in the format it then saves (an OCI image saved as a docker
    # archive, or the reverse, gets a new config from podman, hence another id)
    s = empty_store
    want = it.oci_image_id(images.layout, "derived")
    res = podman.ok("load", "-i", images.oci_archive if fmt == "oci-archive" else images.docker_archive)
    assert podman.image_id(want) == want, dt.describe(res)
    podman.ok("tag", want, "frompod:v1")
    dest = tmp_path / f"podman-{fmt}.tar"
    podman.ok("save", "--format", fmt, "-o", dest, "frompod:v1")
    assert import_ok(s, dest, "frompodman") == want, f"diyc imports podman's {fmt} under podman's id"
    assert layer_names(s) == set(it.oci_diff_ids(images.layout, "derived"))
    check_derived_files(s, "frompodman")
    # and without a name: podman's own name for it
    other = dt.Store.private(tmp_path / "store2")
    assert import_ok(other, dest) == want
    names = [line.split()[:2] for line in dt.assert_ok(other.diyc("image", "ls")).stdout.splitlines()[1:]]
    assert len(names) == 1 and names[0][0].endswith("frompod") and names[0][1] == "v1", names


# -- bad input --------------------------------------------------------------------------


def assert_nothing_left(store, layers_before, *dests):
    assert store_tmp(store) == [], f"temporary files left in {store.data / 'tmp'}: {store_tmp(store)}"
    assert store.layers() == layers_before, "a failed command changed the store's layers"
    for dest in dests:
        assert beside(dest) == [], f"left beside {dest}: {beside(dest)}"


def test_export_unknown_image(private_store, tmp_path):
    s = private_store
    layers = s.layers()
    dest = tmp_path / "nope.tar"
    dt.assert_error(s.diyc("image", "export", "nosuchimage:v9", dest), "not found", "nosuchimage")
    dt.assert_error(s.diyc("image", "export", "0123456789ab", dest), "not found")
    assert_nothing_left(s, layers, dest)


def test_export_into_missing_directory(private_store, tmp_path):
    s = private_store
    layers = s.layers()
    dest = tmp_path / "missing" / "x.tar"
    dt.assert_error(s.diyc("image", "export", "busybox", dest, timeout=TIMEOUT), str(dest), "no such file")
    assert not dest.parent.exists()
    assert_nothing_left(s, layers, dest)


def test_export_onto_a_directory(private_store, tmp_path):
    s = private_store
    layers = s.layers()
    dest = tmp_path / "adir"
    (dest / "inside").mkdir(parents=True)
    dt.assert_error(s.diyc("image", "export", "busybox", dest, timeout=TIMEOUT), str(dest), "directory")
    assert sorted(os.listdir(dest)) == ["inside"] and beside(dest) == ["adir"], "the directory is untouched"
    assert_nothing_left(s, layers)


def test_export_write_error_leaves_nothing(private_store, tmp_path):
    # standard output fails mid-archive (a full disk): an error, no staged layers left
    s = private_store
    layers = s.layers()
    with open("/dev/full", "wb") as full:
        res = subprocess.run([dt.diyc_bin(), "image", "export", "busybox", "-"], env=s.env,
                             stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE, timeout=TIMEOUT)
    err = res.stderr.decode()
    assert res.returncode == 125 and err.startswith("diyc: ") and "write" in err.lower(), (res.returncode, err)
    assert len(err.splitlines()) == 1, err
    assert_nothing_left(s, layers)


@pytest.mark.parametrize("args,needle", [
    ([], "expected"),
    (["busybox", "a.tar", "b.tar"], "expected"),
    (["-o", "a.tar", "busybox", "b.tar"], "expected"),
    (["--bogus", "busybox"], "unknown flag"),
    (["-o"], "needs a value"),
    (["-o", "", "busybox"], "file name"),
    (["busybox", ""], "empty"),
], ids=["none", "too-many", "o-and-file", "bad-flag", "o-no-value", "o-empty", "file-empty"])
def test_export_bad_arguments(private_store, tmp_path, args, needle):
    s = private_store
    layers = s.layers()
    res = s.diyc("image", "export", *args, cwd=tmp_path)
    line = dt.assert_error(res, needle)
    assert "--help" in line, "a usage error points to the help\n" + dt.describe(res)
    assert sorted(os.listdir(tmp_path)) == ["store"], "nothing written"
    assert_nothing_left(s, layers)


def test_commit_unknown_container(private_store):
    s = private_store
    before = s.snapshot()
    dt.assert_error(s.diyc("commit", "nosuchctr"), "no such container", "nosuchctr")
    dt.assert_error(s.diyc("commit", "nosuchctr", "img:v1"), "no such container")
    assert s.snapshot() == before, "a failed commit changed the store"
    dt.assert_error(s.diyc("image", "inspect", "img:v1"), "not found")


@pytest.mark.parametrize("bad", ["UPPER:x", "a::b", "-dash", "x:", "a b"])
def test_commit_invalid_name(private_store, bad):
    s = private_store
    ctr = make_changes(s)
    images_before = sorted(os.listdir(s.data / "images"))
    layers = s.layers()
    before = s.snapshot()
    dt.assert_error(s.diyc("commit", ctr, bad), ("invalid image name", "invalid"))
    assert s.snapshot() == before, "nothing is written before the name is checked"
    assert sorted(os.listdir(s.data / "images")) == images_before
    assert_nothing_left(s, layers)


@pytest.mark.parametrize("args,needle", [
    ([], "expected"),
    (["a", "b", "c"], "expected"),
    (["--bogus", "x"], "unknown flag"),
    (["-m"], "needs a value"),
    (["-a"], "needs a value"),
], ids=["none", "too-many", "bad-flag", "m-no-value", "a-no-value"])
def test_commit_bad_arguments(private_store, args, needle):
    s = private_store
    before = s.snapshot()
    line = dt.assert_error(s.diyc("commit", *args), needle)
    assert "--help" in line, line
    assert s.snapshot() == before


@pytest.mark.parametrize("cmd", [["image", "export"], ["image", "save"], ["commit"]],
                         ids=["export", "save", "commit"])
def test_help(store, cmd):
    res = dt.assert_ok(store.diyc(*cmd, "--help"))
    first = res.stdout.splitlines()[0]
    if cmd == ["commit"]:
        assert first == "Usage: diyc commit [OPTIONS] CONTAINER [NAME[:TAG]]"
        for word in ("--message", "--author", "/etc/hosts"):
            assert word in res.stdout, res.stdout
    else:
        assert first == "Usage: diyc image export [OPTIONS] IMAGE [FILE]"
        for word in ("--output", "OCI archive", "standard output"):
            assert word in res.stdout, res.stdout
    assert res.stderr == ""
    image_help = dt.assert_ok(store.diyc("image", "--help")).stdout
    assert "export" in image_help


# -- attacks on commit and export ------------------------------------------------------


def test_commit_of_a_running_container_never_reads_host_files(private_store, tmp_path):
    # the container swaps a file for a symlink to a host file, over and over, while it
    # is committed: the walk of its upper dir must never follow the link on the host
    s = private_store
    secret = tmp_path / "host-secret"
    secret.write_text("HOST-SECRET-" + dt.token() + "\n")
    os.chmod(secret, 0o600)
    ctr = dt.unique_name("racer")
    pad = "0" * 100
    script = (f"mkdir -p /x; while :; do echo {pad} > /x/f.tmp; mv /x/f.tmp /x/f; "
              f"ln -s {secret} /x/l; mv /x/l /x/f; done")
    dt.assert_ok(s.diyc("run", "-d", "--name", ctr, "busybox", "sh", "-c", script))
    ids = []
    try:
        for _ in range(15):
            res = s.diyc("commit", ctr, timeout=TIMEOUT)
            if res.returncode == 0:
                ids.append(res.stdout.strip())
            else:
                # the walk met a file the container swapped under it: a clear refusal
                dt.assert_error(res, "changed while it was read", "stop it")
        assert ids, "some commits of the running container should succeed"
    finally:
        s.diyc("rm", "-f", ctr)
    assert not [p for p in s.layers() if p.name.startswith(".")], "a refused commit left a temporary layer"
    leaked = [p for p in s.layers() for f in (p / "diff").rglob("*")
              if f.is_file() and not f.is_symlink() and f.stat().st_size > 0 and "HOST-SECRET" in f.read_text(errors="replace")]
    assert not leaked, f"a commit copied the host's file into a layer: {leaked}"
    for image_id in set(ids):
        s.diyc("image", "rm", image_id)


@pytest.mark.parametrize("name", [".wh.evil", ".wh..wh..opq"])
def test_commit_refuses_whiteout_names(private_store, name):
    # a file the container names .wh.X would mean "X was deleted" in the layer
    s = private_store
    ctr = dt.unique_name("whname")
    dt.assert_ok(s.diyc("run", "--name", ctr, "busybox", "sh", "-c", f"mkdir -p /d; echo x > /d/{name}"))
    layers = s.layers()
    try:
        line = dt.assert_error(s.diyc("commit", ctr, "whname"), ".wh.", "rename")
        assert f"/d/{name}" in line, line
        assert_nothing_left(s, layers)
        assert s.diyc("image", "inspect", "whname").returncode != 0, "no image may be made"
    finally:
        s.diyc("rm", "-f", ctr)


def test_export_of_a_layer_with_a_fifo_over_a_file(empty_store, images, tmp_path):  # noqa: F811
    # a layer that writes a file `a` and then a FIFO `a`: the replay finds a FIFO where the
    # record has a file, and must neither hang nor write it
    s = empty_store
    fifo = tarfile.TarInfo("a")
    fifo.type = tarfile.FIFOTYPE
    fifo.mode = 0o644
    file_a = tarfile.TarInfo("a")
    file_a.size = 5
    layer = it.tar_bytes([(file_a, b"hello"), (fifo, None)])
    lay = it.copy_layout(images.small, tmp_path / "fifo-layout")
    it.add_layer(lay, layer)
    image_id = import_ok(s, lay, "fifo")
    dest = tmp_path / "fifo.tar"
    res = s.diyc("image", "export", "fifo", dest, timeout=30)
    assert res.returncode == 0, dt.describe(res)
    assert "new tar" in res.stderr, "the layer cannot give back its stream: a new tar, with a warning"
    with tarfile.open(dest) as tar:
        index = json.load(tar.extractfile("index.json"))
        manifest = json.load(tar.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
        top = tarfile.open(fileobj=tar.extractfile("blobs/sha256/" + manifest["layers"][-1]["digest"][7:]))
        kinds = {clean_name(m.name): m.type for m in top.getmembers()}
    assert kinds.get("a") == tarfile.FIFOTYPE, kinds
    assert manifest["config"]["digest"][7:] != image_id, "the new tar changes the config's diff_ids"


def test_commit_of_a_container_swapping_a_fifo_and_a_file(private_store, tmp_path):
    # the container swaps a FIFO and a regular file under one name while it is committed and
    # the commit exported: libarchive lstat()ed a regular file and then opened the FIFO,
    # which blocked forever. Each commit and export finishes, done or refused.
    s = private_store
    ctr = dt.unique_name("fifoswap")
    probe = Path(dt.diyc_bin()).parent / "escape-probe"
    if not probe.is_file():
        probe = dt.REPO / "build" / "tests" / "helpers" / "escape-probe"
    # renameat2(RENAME_EXCHANGE) in a loop: the name is a FIFO half of the time
    script = "mkdir -p /x && exec /probe swap-fifo /x/f 120"
    dt.assert_ok(s.diyc("run", "-d", "--net=none", "--name", ctr, "-v", f"{probe}:/probe:ro", "busybox",
                        "sh", "-c", script))
    ids = []
    try:
        for i in range(10):
            res = s.diyc("commit", ctr, timeout=30)
            if res.returncode == 0:
                ids.append(res.stdout.strip())
            else:
                dt.assert_error(res, "changed while it was read")
        for image_id in set(ids):
            res = s.diyc("image", "export", image_id, tmp_path / "out.tar", timeout=30)
            dt.assert_ok(res)
    finally:
        s.diyc("rm", "-f", ctr)
    assert not [p for p in s.layers() if p.name.startswith(".")], "a refused commit left a temporary layer"
    for image_id in set(ids):
        s.diyc("image", "rm", image_id)
