# SPDX-License-Identifier: MIT
# diyc system df, prune and info. The figures of `system df` are checked against du(1) of
# the very directories the test made the store write (layers of imported and committed
# images, the upper dirs of containers that wrote files, volumes), measured inside a user
# namespace with the caller's subordinate ranges, where files of other container users are
# readable (as diyc measures them). Prune: what goes and what stays, with -f, -a, --volumes,
# and the prompt. Info: the JSON fields against what the machine says. Bad flags: 125.
import json
import os
import stat
import sys

import pytest

import diyctest as dt

KIB = 1024


# -- helpers -----------------------------------------------------------------------------------

def human(v):
    """docker's units.HumanSize, as `system df` prints sizes (four significant digits)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
    d, u = float(v), 0
    while d >= 1000 and u + 1 < len(units):
        d /= 1000
        u += 1
    return f"{d:.4g}{units[u]}"


def userns_prefix(subids):
    (us, uc), (gs, gc) = subids["uid"][0], subids["gid"][0]
    n = min(uc, gc, 65536)
    return ["unshare", "--map-root-user", f"--map-users={us},1,{n}", f"--map-groups={gs},1,{n}"]


def du(subids, *paths):
    """du -s -B1 of each path, inside a user namespace that maps the subordinate ids (so that
    directories of other container users can be read): {path: bytes}."""
    if not paths:
        return {}
    res = dt.assert_ok(dt.run([*userns_prefix(subids), "du", "-s", "-B1", "--", *paths]))
    out = {}
    for line in res.stdout.splitlines():
        size, path = line.split("\t", 1)
        out[path] = int(size)
    assert len(out) == len(paths), dt.describe(res)
    return out


def df(store, *args):
    res = dt.assert_ok(store.diyc("system", "df", "--format", "json", *args))
    return json.loads(res.stdout)


def summary(store):
    return {e["Type"]: e for e in df(store)}


def layers_of(store, ref):
    res = dt.assert_ok(store.diyc("image", "inspect", ref))
    return [d.split(":", 1)[1] for d in json.loads(res.stdout)[0]["RootFS"]["Layers"]]


def image_id(store, ref):
    res = dt.assert_ok(store.diyc("image", "inspect", ref))
    return json.loads(res.stdout)[0]["Id"].split(":", 1)[1]


def store_layers(store):
    return sorted(p.name for p in store.layers() if len(p.name) == 64)


def upper(store, name):
    return store.data / "containers" / name / "upper"


def sh(store, name, script, *run_args):
    """A container NAME of busybox that ran SCRIPT and exited 0 (kept: no --rm)."""
    dt.assert_ok(store.diyc("run", "--name", name, *run_args, "busybox", "sh", "-c", script))


def commit(store, name, ref):
    res = dt.assert_ok(store.diyc("commit", name, ref, timeout=60))
    return res.stdout.strip()


def have_volumes(store):
    return store.diyc("volume", "create", "--help").returncode == 0


VOLUMES_MISSING = "`diyc volume create` does not exist in this build yet (the named volumes of issue 22)"


# -- a store with something in it --------------------------------------------------------------

@pytest.fixture
def filled(s, subids):
    """The private store of `s`, with:
    - busybox and `derived:1` (busybox's layer and one of its own, made by commit): a layer
      shared by two images;
    - c-big: exited, wrote 300 KiB and a hard link to it (counted once);
    - c-priv: exited, wrote 200 KiB into a 0700 directory of uid 1000 (unreadable outside
      without the subordinate ids);
    - c-run: running, wrote 100 KiB."""
    sh(s, "c-derive", "dd if=/dev/zero of=/derived bs=1024 count=64 2>/dev/null")
    commit(s, "c-derive", "derived:1")
    dt.assert_ok(s.diyc("rm", "c-derive"))
    sh(s, "c-big", "dd if=/dev/urandom of=/big bs=1024 count=300 2>/dev/null && ln /big /big-link")
    sh(s, "c-priv", "mkdir /priv && dd if=/dev/urandom of=/priv/f bs=1024 count=200 2>/dev/null && "
                    "chown -R 1000:1000 /priv && chmod 700 /priv")
    dt.run_detached(s, "c-run", "busybox", "sh", "-c",
                    "dd if=/dev/urandom of=/run-data bs=1024 count=100 2>/dev/null; touch /ready; exec sleep 1000")
    dt.wait_until(lambda: (upper(s, "c-run") / "ready").exists(), timeout=20, what="c-run to write its file")
    return s


# -- system df ---------------------------------------------------------------------------------

def test_df_figures_are_du(filled, subids):
    s = filled
    # the test really has a tree the caller cannot read: diyc must measure it as du does
    with pytest.raises(PermissionError):
        os.listdir(upper(s, "c-priv") / "priv")
    layers = store_layers(s)
    base, derived = layers_of(s, "busybox"), layers_of(s, "derived:1")
    assert len(set(derived) - set(base)) == 1 and set(base) <= set(derived)
    sizes = du(subids, *(s.data / "layers" / d for d in layers))
    by_layer = {p.rsplit("/", 1)[1]: v for p, v in sizes.items()}
    names = ["c-big", "c-priv", "c-run"]
    uppers = du(subids, *(upper(s, n) for n in names))
    by_ctr = {n: uppers[str(upper(s, n))] for n in names}

    sm = summary(s)
    assert sm["Images"]["Total"] == 2 and sm["Images"]["Active"] == 1, sm
    # the shared layer once
    assert sm["Images"]["RawSize"] == sum(by_layer.values()), (sm, by_layer)
    # derived's own layer is what goes with it; busybox's is kept by busybox, which is used
    own = (set(derived) - set(base)).pop()
    assert sm["Images"]["RawReclaimable"] == by_layer[own], (sm, by_layer)
    assert sm["Containers"]["Total"] == 3 and sm["Containers"]["Active"] == 1, sm
    assert sm["Containers"]["RawSize"] == sum(by_ctr.values()), (sm, by_ctr)
    assert sm["Containers"]["RawReclaimable"] == by_ctr["c-big"] + by_ctr["c-priv"], (sm, by_ctr)
    for e in sm.values():
        assert e["TotalCount"] == e["Total"] and e["Size"] == human(e["RawSize"])
        pct = f" ({e['RawReclaimable'] * 100 // e['RawSize']}%)" if e["RawSize"] else ""
        assert e["Reclaimable"] == human(e["RawReclaimable"]) + pct, e

    v = df(s, "-v")
    imgs = {i["Repository"]: i for i in v["Images"]}
    assert set(imgs) == {"busybox", "derived"}, v["Images"]
    bb, dv = imgs["busybox"], imgs["derived"]
    assert bb["Size"] == sum(by_layer[d] for d in set(base)) and bb["SharedSize"] == bb["Size"], bb
    assert bb["UniqueSize"] == 0 and bb["Containers"] == 3, bb
    assert dv["Size"] == bb["Size"] + by_layer[own] and dv["SharedSize"] == bb["Size"], dv
    assert dv["UniqueSize"] == by_layer[own] and dv["Containers"] == 0, dv
    assert bb["ImageID"] == image_id(s, "busybox") and dv["Tag"] == "1"
    ctrs = {c["Names"]: c for c in v["Containers"]}
    assert set(ctrs) == set(names), v["Containers"]
    for n in names:
        assert ctrs[n]["RWSize"] == by_ctr[n], (n, ctrs[n], by_ctr)
        assert ctrs[n]["Image"] == "busybox" and ctrs[n]["Command"][:2] == ["sh", "-c"], ctrs[n]
    assert ctrs["c-run"]["State"] == "running" and ctrs["c-run"]["Status"].startswith("Up ")
    assert ctrs["c-big"]["State"] == "exited" and ctrs["c-big"]["Status"].startswith("Exited (0) ")
    # the hard link is counted once: 300 KiB of data, not 600
    assert 300 * KIB <= by_ctr["c-big"] < 400 * KIB and ctrs["c-big"]["RWSize"] < 400 * KIB
    assert by_ctr["c-priv"] >= 200 * KIB and by_ctr["c-run"] >= 100 * KIB
    assert v["Volumes"] == [] or have_volumes(s)


def test_df_is_never_stale(filled, subids):
    """An upper dir that grows is walked again: the figure follows at once."""
    s = filled
    before = {c["Names"]: c["RWSize"] for c in df(s, "-v")["Containers"]}
    dt.assert_ok(s.diyc("exec", "c-run", "dd", "if=/dev/urandom", "of=/more", "bs=1024", "count=256"))
    after = {c["Names"]: c["RWSize"] for c in df(s, "-v")["Containers"]}
    assert after["c-run"] == du(subids, upper(s, "c-run"))[str(upper(s, "c-run"))]
    assert after["c-run"] >= before["c-run"] + 256 * KIB, (before, after)
    assert after["c-big"] == before["c-big"]
    # an image imported again after a removal is measured again, not taken from the record
    dt.assert_ok(s.diyc("rm", "-f", "c-run", "c-big", "c-priv"))
    dt.assert_ok(s.diyc("image", "rm", "derived:1"))
    assert summary(s)["Images"]["RawSize"] == sum(du(subids, *(s.data / "layers" / d for d in store_layers(s))).values())


def test_df_table(filled):
    s = filled
    sm = summary(s)
    res = dt.assert_ok(s.diyc("system", "df"))
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], dt.describe(res)
    # docker's tabwriter: columns at least 10 wide, 3 spaces of padding
    assert lines[0].startswith("TYPE            TOTAL     ACTIVE    SIZE"), dt.describe(res)
    rows = {}
    for line in lines[1:]:
        typ = "Local Volumes" if line.startswith("Local Volumes") else line.split()[0]
        rows[typ] = line[len(typ):].split(None, 3)
    assert list(rows) == ["Images", "Containers", "Local Volumes"], dt.describe(res)
    for typ, cells in rows.items():
        e = sm[typ]
        assert cells == [str(e["Total"]), str(e["Active"]), e["Size"], e["Reclaimable"]], (typ, cells, e)


def test_df_verbose_table(filled):
    s = filled
    res = dt.assert_ok(s.diyc("system", "df", "-v"))
    out = res.stdout
    for head in ("Images space usage:", "Containers space usage:", "Local Volumes space usage:"):
        assert f"{head}\n\n" in out, dt.describe(res)
    lines = out.splitlines()
    h = lines.index("Images space usage:") + 2
    assert lines[h].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE", "SHARED", "SIZE",
                                "UNIQUE", "SIZE", "CONTAINERS"], dt.describe(res)
    c = lines.index("Containers space usage:")
    bb = [line for line in lines[h + 1:c] if line.startswith("busybox ")]
    assert len(bb) == 1 and image_id(s, "busybox")[:12] in bb[0] and bb[0].split()[-1] == "3", dt.describe(res)
    c += 2
    assert lines[c].split() == ["IMAGE", "COMMAND", "LOCAL", "VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]
    run_line = [line for line in lines if line.endswith(" c-run")]
    assert len(run_line) == 1 and '"sh -c dd if=/dev/ur…"' in run_line[0] and " Up " in run_line[0], \
        dt.describe(res)
    v = lines.index("Local Volumes space usage:") + 2
    assert lines[v].split() == ["VOLUME", "NAME", "LINKS", "SIZE"], dt.describe(res)


def test_df_empty_store(empty_store):
    res = dt.assert_ok(empty_store.diyc("system", "df"))
    assert res.stdout.splitlines()[1:] == [
        "Images          0         0         0B        0B",
        "Containers      0         0         0B        0B",
        "Local Volumes   0         0         0B        0B",
    ], dt.describe(res)
    assert json.loads(dt.assert_ok(empty_store.diyc("system", "df", "-v", "--format", "json")).stdout) == \
        {"Images": [], "Containers": [], "Volumes": []}
    res = dt.assert_ok(empty_store.diyc("system", "prune", "-f", "-a", "--volumes"))
    assert res.stdout == "Total reclaimed space: 0B\n", dt.describe(res)
    # df and prune made nothing in a store that does not exist yet
    assert not empty_store.data.exists() or not any(empty_store.data.iterdir())


def test_df_volumes(s, subids):
    if not have_volumes(s):
        pytest.skip(VOLUMES_MISSING)
    dt.assert_ok(s.diyc("volume", "create", "vol-used"))
    dt.assert_ok(s.diyc("volume", "create", "vol-idle"))
    sh(s, "c-vol", "dd if=/dev/urandom of=/data/f bs=1024 count=120 2>/dev/null", "-v", "vol-used:/data")
    dt.assert_ok(s.diyc("run", "--rm", "-v", "vol-idle:/data", "busybox", "sh", "-c",
                        "dd if=/dev/urandom of=/data/g bs=1024 count=80 2>/dev/null"))
    data = {n: s.data / "volumes" / n / "_data" for n in ("vol-used", "vol-idle")}
    sizes = du(subids, *data.values())
    used, idle = sizes[str(data["vol-used"])], sizes[str(data["vol-idle"])]
    assert used >= 120 * KIB and idle >= 80 * KIB
    sm = summary(s)["Local Volumes"]
    assert (sm["Total"], sm["Active"], sm["RawSize"], sm["RawReclaimable"]) == (2, 1, used + idle, idle), sm
    v = {x["VolumeName"]: x for x in df(s, "-v")["Volumes"]}
    assert (v["vol-used"]["Links"], v["vol-used"]["Size"]) == (1, used), v
    assert (v["vol-idle"]["Links"], v["vol-idle"]["Size"]) == (0, idle), v
    ctr = [c for c in df(s, "-v")["Containers"] if c["Names"] == "c-vol"][0]
    assert ctr["LocalVolumes"] == 1, ctr
    # an anonymous volume counts as any other, and goes with its container (rm -v)
    sh(s, "c-anon", "dd if=/dev/urandom of=/anon/h bs=1024 count=40 2>/dev/null", "-v", "/anon")
    anon = [x for x in df(s, "-v")["Volumes"] if x["Anonymous"]]
    assert len(anon) == 1 and anon[0]["Links"] == 1, anon
    assert anon[0]["Size"] == du(subids, anon[0]["Mountpoint"])[anon[0]["Mountpoint"]] >= 40 * KIB, anon
    assert summary(s)["Local Volumes"]["Total"] == 3
    dt.assert_ok(s.diyc("rm", "-v", "c-anon"))
    assert summary(s)["Local Volumes"]["Total"] == 2
    dt.assert_ok(s.diyc("rm", "c-vol"))
    for name in ("vol-used", "vol-idle"):
        s.diyc("volume", "rm", name)


# -- system prune ------------------------------------------------------------------------------

def prune(store, *args, input=None):
    res = dt.assert_ok(store.diyc("system", "prune", *args, input=input, timeout=120))
    return res


def sections(out):
    """docker's prune output: {heading: [lines]} and the total line."""
    got, cur = {}, None
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(("untagged", "deleted")):
            cur = got.setdefault(line[:-1], [])
        elif line.startswith("Total reclaimed space: "):
            got["total"] = line.split(": ", 1)[1]
        elif line:
            cur.append(line)
    return got


def test_prune_force(filled, subids):
    s = filled
    # a dangling image: derived:1 committed again takes the name from the first commit
    sh(s, "c-derive2", "echo again > /again")
    old = image_id(s, "derived:1")
    new = commit(s, "c-derive2", "derived:1")
    dt.assert_ok(s.diyc("rm", "c-derive2"))
    assert old != new
    old_layers = set(layers_of(s, old)) - set(layers_of(s, "busybox")) - set(layers_of(s, new))
    before = df(s, "-v")
    ctr_size = {c["Names"]: c["RWSize"] for c in before["Containers"]}
    gone_layers = du(subids, *(s.data / "layers" / d for d in old_layers))
    res = prune(s, "-f")
    got = sections(res.stdout)
    assert sorted(got["Deleted Containers"]) == ["c-big", "c-priv"], dt.describe(res)
    assert got["Deleted Images"] == [f"deleted: sha256:{old}"], dt.describe(res)
    assert "Deleted Volumes" not in got
    assert got["total"] == human(ctr_size["c-big"] + ctr_size["c-priv"] + sum(gone_layers.values())), \
        (dt.describe(res), ctr_size, gone_layers)
    # what stays: the running container, the named images
    ps = dt.assert_ok(s.diyc("ps", "-a", "-q")).stdout.split()
    assert ps == ["c-run"]
    ids = {i["ImageID"] for i in df(s, "-v")["Images"]}
    assert ids == {image_id(s, "busybox"), new}
    assert not any((s.data / "layers" / d).exists() for d in old_layers)
    # nothing left to do: a second prune removes nothing
    assert prune(s, "-f").stdout == "Total reclaimed space: 0B\n"


def test_prune_all(filled, subids):
    s = filled
    derived_own = set(layers_of(s, "derived:1")) - set(layers_of(s, "busybox"))
    did = image_id(s, "derived:1")
    res = prune(s, "-a", "-f")
    got = sections(res.stdout)
    assert sorted(got["Deleted Containers"]) == ["c-big", "c-priv"], dt.describe(res)
    assert got["Deleted Images"] == ["untagged: derived:1", f"deleted: sha256:{did}"], dt.describe(res)
    assert not any((s.data / "layers" / d).exists() for d in derived_own)
    # busybox stays: the running container was made from it
    assert [i["Repository"] for i in df(s, "-v")["Images"]] == ["busybox"]
    dt.assert_ok(s.diyc("rm", "-f", "c-run"))
    res = prune(s, "-a", "-f")
    got = sections(res.stdout)
    assert got["Deleted Images"][0] == "untagged: busybox:latest", dt.describe(res)
    assert store_layers(s) == [] and df(s, "-v")["Images"] == []


def test_prune_volumes(s, subids):
    if not have_volumes(s):
        pytest.skip(VOLUMES_MISSING)
    for name in ("pv-used", "pv-idle", "pv-stopped"):
        dt.assert_ok(s.diyc("volume", "create", name))
    dt.run_detached(s, "pv-run", "-v", "pv-used:/data", "busybox", "sleep", "1000")
    sh(s, "pv-exited", "dd if=/dev/urandom of=/data/f bs=1024 count=50 2>/dev/null", "-v", "pv-stopped:/data")
    # without --volumes, volumes stay
    got = sections(prune(s, "-f").stdout)
    assert got["Deleted Containers"] == ["pv-exited"] and "Deleted Volumes" not in got
    names = set(dt.assert_ok(s.diyc("volume", "ls", "-q")).stdout.split())
    assert {"pv-used", "pv-idle", "pv-stopped"} <= names
    size = {v["VolumeName"]: v["Size"] for v in df(s, "-v")["Volumes"]}
    got = sections(prune(s, "-f", "--volumes").stdout)
    # podman's rule: every volume no container uses, the one of the removed container too
    assert sorted(got["Deleted Volumes"]) == ["pv-idle", "pv-stopped"], got
    assert got["total"] == human(size["pv-idle"] + size["pv-stopped"]), (got, size)
    names = set(dt.assert_ok(s.diyc("volume", "ls", "-q")).stdout.split())
    assert "pv-used" in names and not names & {"pv-idle", "pv-stopped"}
    dt.assert_ok(s.diyc("rm", "-f", "pv-run"))
    s.diyc("volume", "rm", "pv-used")


def test_prune_prompt(filled):
    s = filled
    res = s.diyc("system", "prune", input="n\n")
    assert res.returncode == 125, dt.describe(res)
    assert res.stdout == ("WARNING! This will remove:\n"
                          "  - all stopped containers\n"
                          "  - all dangling images\n"
                          "\n"
                          "Are you sure you want to continue? [y/N] "), dt.describe(res)
    assert "cancelled" in res.stderr
    assert set(dt.assert_ok(s.diyc("ps", "-a", "-q")).stdout.split()) == {"c-big", "c-priv", "c-run"}
    # no answer at all (stdin at its end) is no
    res = s.diyc("system", "prune", "-a", "--volumes")
    assert res.returncode == 125 and "  - all images without at least one container associated to them\n" \
        in res.stdout and "  - all volumes not used by at least one container\n" in res.stdout, dt.describe(res)
    assert set(dt.assert_ok(s.diyc("ps", "-a", "-q")).stdout.split()) == {"c-big", "c-priv", "c-run"}
    res = dt.assert_ok(s.diyc("system", "prune", input="y\n"))
    assert "Deleted Containers:\nc-big\nc-priv\n" in res.stdout, dt.describe(res)
    assert dt.assert_ok(s.diyc("ps", "-a", "-q")).stdout.split() == ["c-run"]


# -- system info -------------------------------------------------------------------------------

def test_info_json(s, subids):
    dt.run_detached(s, "i-run", "busybox", "sleep", "1000")
    sh(s, "i-exited", "true")
    res = dt.assert_ok(s.diyc("system", "info", "--format", "json"))
    info = json.loads(res.stdout)
    st, host = info["store"], info["host"]
    assert st["graphRoot"] == str(s.data) and st["runRoot"] == str(s.run), st
    assert st["graphDriverName"] == "overlay" and st["volumePath"] == str(s.data / "volumes")
    assert isinstance(st["projectQuota"], bool) and st["graphStatus"]["Backing Filesystem"]
    assert st["imageStore"]["number"] == 1
    assert st["containerStore"] == {"number": 2, "running": 1, "stopped": 1}, st
    u = os.uname()
    assert host["kernel"] == u.release and host["arch"] == u.machine and host["os"] == "linux"
    with open("/proc/self/mountinfo") as f:
        cg2 = any(line.split()[4] == "/sys/fs/cgroup" and line.split(" - ")[1].split()[0] == "cgroup2"
                  for line in f)
    assert host["cgroupVersion"] == ("v2" if cg2 else "v1"), host
    assert host["cgroupManager"] == ("systemd" if os.path.exists("/run/systemd/system") else "cgroupfs")
    assert host["rootless"] is True and host["uid"] == os.getuid() and host["user"] == dt.user_name()
    assert [(r["start"], r["count"]) for r in host["subordinateIds"]["uids"]] == [tuple(r) for r in subids["uid"]]
    assert [(r["start"], r["count"]) for r in host["subordinateIds"]["gids"]] == [tuple(r) for r in subids["gid"]]
    m = host["idMappings"]["uidmap"]
    assert m[0] == {"container_id": 0, "host_id": os.getuid(), "size": 1}
    assert m[1] == {"container_id": 1, "host_id": subids["uid"][0][0], "size": subids["uid"][0][1]}
    net = host["network"]
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
        tun = True
    except OSError:
        tun = False
    assert net["tunUsable"] is tun and ("slirp" in net["modes"]) is tun, net
    assert net["modes"][:2] == ["none", "host"]
    helper = os.path.join(os.path.dirname(os.path.realpath(dt.diyc_bin())), "diyc-nethelper")
    assert net["nethelper"] == helper
    try:
        hs = os.stat(helper)
        setuid = bool(hs.st_mode & stat.S_ISUID) and hs.st_uid == 0
        installed = True
    except FileNotFoundError:
        setuid = installed = False
    assert (net["nethelperInstalled"], net["nethelperSetuid"]) == (installed, setuid), net
    bridge = os.path.exists("/sys/class/net/diyc0")
    assert net["bridgeExists"] is bridge and ("bridge" in net["modes"]) is (bridge and setuid), net
    assert info["version"]["Version"]


def test_info_table(s, subids):
    res = dt.assert_ok(s.diyc("system", "info"))
    lines = res.stdout.splitlines()
    for want in ("Storage Driver: overlay", f"Data Root: {s.data}", f"Run Root: {s.run}", "Images: 1",
                 f"Kernel Version: {os.uname().release}", "Rootless: true", "OSType: linux"):
        assert want in lines, f"missing {want!r}\n" + dt.describe(res)
    start, count = subids["uid"][0]
    assert any(line.startswith(" Subordinate UIDs: ") and f"{start}-{start + count - 1} ({count})" in line
               for line in lines), dt.describe(res)
    assert any(line.startswith("Network Modes: none host") for line in lines), dt.describe(res)


def test_info_makes_nothing(empty_store):
    dt.assert_ok(empty_store.diyc("system", "info", "--format", "json"))
    dt.assert_ok(empty_store.diyc("system", "df", "-v"))
    assert not empty_store.data.exists() or not any(empty_store.data.iterdir())


# -- the command line --------------------------------------------------------------------------

@pytest.mark.parametrize("args,needles", [
    (["system"], ["expected a command", "df"]),
    (["system", "frob"], ["unknown command `system frob`"]),
    (["system", "df", "--bogus"], ["unknown flag: --bogus"]),
    (["system", "df", "-x"], ["unknown flag: -x"]),
    (["system", "df", "--format", "yaml"], ["yaml"]),
    (["system", "df", "--format"], ["needs a value"]),
    (["system", "df", "extra"], ["unexpected argument `extra`"]),
    (["system", "prune", "--filter", "until=1h"], ["unknown flag: --filter"]),
    (["system", "prune", "-f", "extra"], ["unexpected argument `extra`"]),
    (["system", "info", "--format", "xml"], ["xml"]),
    (["system", "info", "extra"], ["unexpected argument `extra`"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] == "system" else None)
def test_bad_command_lines(empty_store, args, needles):
    res = empty_store.diyc(*args)
    dt.assert_error(res, *needles)
    assert not empty_store.data.exists() or not any(empty_store.data.iterdir())


@pytest.mark.parametrize("sub", ["df", "prune", "info"])
def test_help(empty_store, sub):
    res = dt.assert_ok(empty_store.diyc("system", sub, "--help"))
    assert res.stdout.startswith(f"Usage: diyc system {sub}") and res.stderr == ""
    res = dt.assert_ok(empty_store.diyc("system", "--help"))
    assert all(f"  {v} " in res.stdout for v in ("df", "prune", "info"))
    assert "system" in dt.assert_ok(empty_store.diyc("--help")).stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
