# SPDX-License-Identifier: MIT
"""diyc-oci's cgroups in the guest (systemd, pure cgroup v2), as root and as the lingering
user: resources written where linux.cgroupsPath says (a path, or a systemd scope with
--systemd-cgroup), the device controller's BPF program stopping a root container with
CAP_MKNOD from making and opening the guest's disk, pause and resume, update, ps, kill
--all after init exited, and delete removing the cgroup."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

import cgtest as ct

MIB = 1 << 20


def oci_bin():
    return os.path.join(os.path.dirname(ct.diyc_bin()), "diyc-oci")


@pytest.fixture
def oci(tmp_path):
    """diyc-oci with a state root of the test's own; every container left is deleted."""
    root = tmp_path / "state"
    made = []

    def call(*args, timeout=ct.TIMEOUT, systemd=False, input=None):
        """diyc-oci ARGS, its output through files: a container it starts keeps them open
        (an engine's pipes are the container's stdio), and a pipe would not end before it."""
        argv = [str(a) for a in [oci_bin(), "--root", root] + (["--systemd-cgroup"] if systemd else []) + list(args)]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            r = subprocess.run(argv, input=input.encode() if input is not None else None,
                               stdin=None if input is not None else subprocess.DEVNULL, stdout=out, stderr=err,
                               timeout=timeout)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, r.returncode, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    call.made = made
    yield call
    for cid in made:
        call("delete", "--force", cid, systemd=True)


def bundle(tmp_path, args, *, resources=None, cgroups_path=None, devices=None, caps=None, pidns=True,
           dev_tmpfs_nodev=True):
    """A busybox bundle (the guest's busybox-static) for the caller: as a normal user with a
    user namespace mapping its own ids."""
    b = tmp_path / "bundle"
    rootfs = b / "rootfs"
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/busybox", rootfs / "bin/busybox")
    for applet in ("sh", "sleep", "cat", "mknod", "echo", "true", "stat"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    spec = ct.run([oci_bin(), "spec", "--bundle", b] + ([] if ct.ROOT else ["--rootless"]))
    assert spec.returncode == 0, ct.describe(spec)
    c = json.loads((b / "config.json").read_text())
    c["process"].update(terminal=False, args=args)
    c["root"]["readonly"] = False
    lin = c["linux"]
    if not pidns:
        lin["namespaces"] = [n for n in lin["namespaces"] if n["type"] != "pid"]
    if resources is not None or devices is not None:
        lin["resources"] = dict(resources or {})
        if devices is not None:
            lin["resources"]["devices"] = devices
    if cgroups_path:
        lin["cgroupsPath"] = cgroups_path
    if caps:
        for s in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][s] = sorted(set(c["process"]["capabilities"][s]) | set(caps))
    if not dev_tmpfs_nodev:
        # containerd's /dev: a tmpfs without nodev
        for m in c["mounts"]:
            if m["destination"] == "/dev":
                m["options"] = [o for o in m["options"] if o != "nodev"]
    (b / "config.json").write_text(json.dumps(c))
    return b


def container_cgroup(oci, cid):
    st = json.loads(ct.assert_ok(oci("state", cid)).stdout)
    return ct.proc_cgroup(st["pid"]), st


def start_sleeper(oci, tmp_path, cid, **kw):
    b = bundle(tmp_path, ["sleep", "600"], **kw)
    oci.made.append(cid)
    ct.assert_ok(oci("run", "--detach", "--bundle", b, cid))
    return b


@pytest.mark.skipif(not ct.ROOT, reason="a cgroupsPath below the root of the tree needs root")
def test_resources_written_where_cgroups_path_says(oci, tmp_path):
    cid = ct.unique_name("oci-res")
    b = bundle(tmp_path, ["sleep", "600"], cgroups_path=f"/diyc-oci-test/{cid}",
               resources={"memory": {"limit": 64 * MIB}, "pids": {"limit": 42}, "cpu": {"quota": 50000, "period": 100000}})
    oci.made.append(cid)
    ct.assert_ok(oci("run", "--detach", "--bundle", b, cid))
    cg, _ = container_cgroup(oci, cid)
    assert cg == f"/diyc-oci-test/{cid}"
    assert ct.read_cg(cg, "memory.max") == str(64 * MIB)
    assert ct.read_cg(cg, "pids.max") == "42"
    assert ct.read_cg(cg, "cpu.max") == "50000 100000"
    ct.assert_ok(oci("delete", "--force", cid))
    assert not ct.cgdir(cg).exists(), "delete must remove the container's cgroup"
    os.rmdir(ct.cgdir("/diyc-oci-test"))


def test_systemd_scope_with_limits(oci, tmp_path):
    cid = ct.unique_name("oci-sd")
    slice_ = "system.slice" if ct.ROOT else "user.slice"
    b = bundle(tmp_path, ["sleep", "600"], cgroups_path=f"{slice_}:diyc-oci:{cid}",
               resources={"memory": {"limit": 48 * MIB}, "pids": {"limit": 17}})
    oci.made.append(cid)
    ct.assert_ok(oci("run", "--detach", "--bundle", b, cid, systemd=True))
    cg, _ = container_cgroup(oci, cid)
    assert cg.endswith(f"/diyc-oci-{cid}.scope"), cg
    assert ct.unit_active(f"diyc-oci-{cid}.scope") == "active"
    assert ct.read_cg(cg, "memory.max") == str(48 * MIB)
    assert ct.read_cg(cg, "pids.max") == "17"
    ct.assert_ok(oci("delete", "--force", cid, systemd=True))
    ct.wait_until(lambda: not ct.cgdir(cg).exists(), timeout=ct.GONE_TIMEOUT, what="the scope's cgroup to go")


@pytest.mark.skipif(not ct.ROOT, reason="a device cgroup program is attached by root (a rootless container cannot mknod at all)")
def test_device_rules_stop_mknod_of_the_disk(oci, tmp_path):
    """A root container with CAP_MKNOD on a /dev without nodev (containerd's) can make a
    node of the guest's disk, but the device program denies opening it."""
    dev = os.stat("/").st_dev
    major, minor = os.major(dev), os.minor(dev)
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
             {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
             {"allow": True, "type": "c", "major": 136, "access": "rwm"},
             {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
             {"allow": True, "type": "b", "major": major, "minor": minor, "access": "m"}]
    cid = ct.unique_name("oci-dev")
    script = (f"mknod /dev/disk b {major} {minor} && echo made; "
              "cat /dev/disk >/dev/null 2>/tmp/err && echo READ-THE-DISK || cat /tmp/err; "
              "echo x > /dev/null && echo null-ok")
    b = bundle(tmp_path, ["sh", "-c", script], devices=rules, caps=["CAP_MKNOD"], dev_tmpfs_nodev=False,
               cgroups_path=f"/diyc-oci-dev-{cid}")
    res = oci("run", "--bundle", b, cid)
    out = res.stdout + res.stderr
    assert "made" in out, ct.describe(res)
    assert "READ-THE-DISK" not in out, ct.describe(res)
    assert "Operation not permitted" in out, ct.describe(res)
    assert "null-ok" in out, ct.describe(res)
    assert not ct.cgdir(f"/diyc-oci-dev-{cid}").exists()


@pytest.mark.skipif(not ct.ROOT, reason="uses a cgroupsPath below the root")
def test_pause_resume_update_ps(oci, tmp_path):
    cid = ct.unique_name("oci-pause")
    start_sleeper(oci, tmp_path, cid, cgroups_path=f"/diyc-oci-p-{cid}", resources={"memory": {"limit": 64 * MIB}})
    cg, st = container_cgroup(oci, cid)
    ct.assert_ok(oci("pause", cid))
    assert json.loads(oci("state", cid).stdout)["status"] == "paused"
    assert ct.read_cg(cg, "cgroup.freeze") == "1"
    assert ct.proc_state(st["pid"]) in ("S", "D", "T"), "a frozen process does not run"
    ct.assert_ok(oci("resume", cid))
    assert json.loads(oci("state", cid).stdout)["status"] == "running"
    ct.assert_ok(oci("update", "--resources", "-", cid, input=json.dumps({"memory": {"limit": 96 * MIB}})))
    assert ct.read_cg(cg, "memory.max") == str(96 * MIB)
    pids = json.loads(ct.assert_ok(oci("ps", "--format", "json", cid)).stdout)
    assert st["pid"] in pids
    ct.assert_ok(oci("delete", "--force", cid))
    assert not ct.cgdir(cg).exists()


@pytest.mark.skipif(not ct.ROOT, reason="uses a cgroupsPath below the root")
def test_kill_all_after_init_exited(oci, tmp_path):
    """Without a PID namespace of its own, init's children outlive it: kill --all reaches
    them through the cgroup."""
    cid = ct.unique_name("oci-killall")
    b = bundle(tmp_path, ["sh", "-c", "sleep 600 & echo $! > /tmp/child; exit 0"], pidns=False,
               cgroups_path=f"/diyc-oci-k-{cid}", resources={"pids": {"limit": 10}})
    oci.made.append(cid)
    ct.assert_ok(oci("run", "--detach", "--bundle", b, cid))
    cg = f"/diyc-oci-k-{cid}"
    ct.wait_until(lambda: json.loads(oci("state", cid).stdout)["status"] == "stopped", timeout=30,
                  what="init to exit")
    procs = ct.read_cg(cg, "cgroup.procs").split()
    assert procs, "the sleeper must still be in the cgroup"
    ct.assert_ok(oci("kill", "--all", cid, "KILL"))
    ct.wait_until(lambda: not ct.read_cg(cg, "cgroup.procs"), timeout=30, what="the cgroup to empty")
    ct.assert_ok(oci("delete", cid))
    assert not ct.cgdir(cg).exists()


def test_limits_refused_without_a_cgroup_to_hold_them(oci, tmp_path):
    """A cgroupsPath the caller may not write, with limits: a clear error, nothing left."""
    if ct.ROOT:
        pytest.skip("root may write every cgroup: the refusal is the normal user's case")
    cid = ct.unique_name("oci-nocg")
    b = bundle(tmp_path, ["true"], cgroups_path=f"/diyc-oci-denied-{cid}", resources={"memory": {"limit": 64 * MIB}})
    res = oci("create", "--bundle", b, cid)
    assert res.returncode == 1
    assert "cgroup" in res.stderr and "memory" in res.stderr, ct.describe(res)
    assert not (tmp_path / "state" / cid).exists()
