# SPDX-License-Identifier: MIT
# A hostile bundle author: symlinks in the root filesystem that would take a mount out of
# the root if the runtime followed them on the host. Each symlink's target is a path that
# also exists in the rootfs at the host's spelling (B/rootfs/x) and at the in-root spelling
# (rootfs/B/rootfs/x), so the container itself shows which one was used: a path resolved
# on the host lands on rootfs/x, which the container sees as /x.
import os

import ocitest as ot


def run_out(rt, bundle, cid):
    res = rt("run", "--bundle", bundle.path, cid)
    return res


def test_proc_symlink_to_etc_is_not_followed(rt, bundle):
    proc = bundle.rootfs / "proc"
    proc.rmdir()
    proc.symlink_to("/etc")
    (bundle.rootfs / "etc" / "marker").write_text("etc-file\n")
    bundle.sh("stat -f -c %T /etc; cat /etc/marker").write()
    with open("/proc/self/mountinfo") as f:
        before = [l for l in f if l.split()[4] == "/etc"]
    res = run_out(rt, bundle, "att1")
    if res.returncode == 0:
        out = res.stdout.splitlines()
        assert out[0] != "proc" and out[1] == "etc-file", "proc was mounted over the rootfs's /etc\n" + ot.describe(res)
    else:
        ot.assert_fails(res, "proc")
    with open("/proc/self/mountinfo") as f:
        assert [l for l in f if l.split()[4] == "/etc"] == before, "a mount on the host's /etc"
    assert (bundle.rootfs / "etc" / "marker").read_text() == "etc-file\n"
    assert os.path.islink(proc)
    ot.assert_nothing_left(rt, bundle)


def dual_target(bundle, name, kind):
    """rootfs/NAME (what a host-side lookup reaches) and rootfs/B/rootfs/NAME (the in-root
    lookup of the same absolute path); returns the absolute path (host spelling)."""
    host_spelling = bundle.rootfs / name
    in_root = bundle.rootfs / str(host_spelling).lstrip("/")
    for p in (host_spelling, in_root):
        if kind == "dir":
            p.mkdir(parents=True, exist_ok=True)
            (p / "content").write_text("original\n")
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("original\n")
    return host_spelling


def test_mount_destination_through_symlink_lands_inside(rt, bundle):
    target = dual_target(bundle, "hostview", "dir")
    (bundle.rootfs / "evil").symlink_to(target)
    bundle.config["mounts"].append(
        {"destination": "/evil", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    bundle.sh(f"stat -f -c %T /hostview; cat /hostview/content; stat -f -c %T {target}").write()
    res = run_out(rt, bundle, "att2")
    if res.returncode == 0:
        out = res.stdout.splitlines()
        assert out[0] != "tmpfs" and out[1] == "original", \
            "the mount followed the symlink on the host (rootfs/hostview)\n" + ot.describe(res)
        assert out[2] == "tmpfs", "the mount should land on the link's target inside the root\n" + ot.describe(res)
    else:
        ot.assert_fails(res, "evil")
    assert (target / "content").read_text() == "original\n"
    ot.assert_nothing_left(rt, bundle)


def climbing_link(bundle, tmp_path, in_root_exists):
    """rootfs/evil2 -> ../../..(30 times)/OUTSIDE, a host directory next to the bundle."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (bundle.rootfs / "evil2").symlink_to("../" * 30 + str(outside).lstrip("/"))
    if in_root_exists:
        (bundle.rootfs / str(outside).lstrip("/")).mkdir(parents=True)
    bundle.config["mounts"].append(
        {"destination": "/evil2", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    bundle.sh(f"touch /evil2/written && stat -f -c %T {outside}").write()
    return outside


def check_climbing_link(rt, bundle, outside, res):
    if res.returncode == 0:
        assert res.stdout == "tmpfs\n", ot.describe(res)
    else:
        ot.assert_fails(res, "evil2")
    assert os.listdir(outside) == [], "a file was written outside the root"
    assert ot.mounts_mentioning(outside) == []
    ot.assert_nothing_left(rt, bundle)


def test_mount_destination_climbing_out_lands_inside(rt, bundle, tmp_path):
    outside = climbing_link(bundle, tmp_path, in_root_exists=True)
    res = run_out(rt, bundle, "att2b")
    # the link's target exists inside the root: nothing to refuse
    ot.assert_ok(res)
    check_climbing_link(rt, bundle, outside, res)


def test_mount_destination_climbing_out_to_nothing(rt, bundle, tmp_path):
    outside = climbing_link(bundle, tmp_path, in_root_exists=False)
    check_climbing_link(rt, bundle, outside, run_out(rt, bundle, "att2c"))


def test_masked_path_symlink_out_of_root(rt, bundle, tmp_path):
    target = dual_target(bundle, "etc/secret-file", "file")
    (bundle.rootfs / "etc" / "masked").symlink_to(target)
    host_file = tmp_path / "host-secret"
    host_file.write_text("host\n")
    (bundle.rootfs / "etc" / "masked2").symlink_to("../" * 30 + str(host_file).lstrip("/"))
    bundle.config["linux"]["maskedPaths"] += ["/etc/masked", "/etc/masked2"]
    bundle.config["linux"]["readonlyPaths"] += ["/etc/masked"]
    bundle.sh("cat /etc/secret-file; echo ---; cat /etc/masked 2>&1; echo ---; "
              "echo overwrite > /etc/secret-file && echo wrote").write()
    res = run_out(rt, bundle, "att3")
    if res.returncode == 0:
        parts = res.stdout.split("---\n")
        assert parts[0] == "original\n", "the mask landed on rootfs/etc/secret-file, a host-side lookup\n" + \
            ot.describe(res)
        assert "original" not in parts[1], "the masked path is readable\n" + ot.describe(res)
        assert parts[2] == "wrote\n", ot.describe(res)
    else:
        ot.assert_fails(res, "masked")
    assert host_file.read_text() == "host\n"
    assert ot.mounts_mentioning(host_file) == []
    ot.assert_nothing_left(rt, bundle)


def test_bind_source_is_the_hosts_but_destination_stays_inside(rt, bundle, tmp_path):
    """A bind mount's source is a host path by design; its destination, a symlink to `/`,
    must not put it over the host's root in the container's namespace before pivot_root."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("bound\n")
    (bundle.rootfs / "up").symlink_to("/")
    bundle.config["mounts"].append({"destination": "/up/mnt-here", "type": "bind", "source": str(src),
                                    "options": ["rbind", "ro"]})
    bundle.sh("cat /mnt-here/f; ls /").write()
    res = run_out(rt, bundle, "att4")
    if res.returncode == 0:
        assert res.stdout.startswith("bound\n"), ot.describe(res)
        assert (bundle.rootfs / "mnt-here").is_dir(), "the destination was made inside the root"
    else:
        ot.assert_fails(res, "mnt-here")
    assert not os.path.exists("/mnt-here")
    ot.assert_nothing_left(rt, bundle)
