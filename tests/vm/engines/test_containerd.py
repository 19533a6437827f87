# SPDX-License-Identifier: MIT
# containerd (as root) drives diyc-oci through its runc shim (io.containerd.runc.v2, the
# shim's BinaryName set by `ctr run --runc-binary`): a private containerd with its own
# root, state and socket imports the offline OCI archive, then `ctr run` in the foreground
# with and without -t, detached with `ctr task exec`, `ps`, `pause`/`resume` (the cgroup's
# freezer really frozen) and `kill`, and a memory limit that the kernel enforces with an
# OOM kill that containerd reports as a /tasks/oom event. Every test checks in the
# wrapper's log that the commands went through diyc-oci.
import os
import re
import secrets
import subprocess
import time

import pytest

import engtest as et

pytestmark = [pytest.mark.root, pytest.mark.engine("containerd"), pytest.mark.engine("ctr")]
NS = "diyc-test"


class Containerd:
    def __init__(self, d, runtime):
        self.d, self.runtime = d, runtime
        self.sock = d / "containerd.sock"
        self.snapshotter = "overlayfs" if _have_overlay() else "native"
        self.made = []

    def ctr(self, *args, timeout=et.TIMEOUT, **kw):
        return et.run(["ctr", "--address", self.sock, "--namespace", NS, *args], timeout=timeout, **kw)

    def ctr_argv(self, *args):
        return ["ctr", "--address", str(self.sock), "--namespace", NS, *map(str, args)]

    def run_args(self):
        return ["--runc-binary", str(self.runtime.path), "--snapshotter", self.snapshotter]

    def name(self):
        n = f"ctr-{secrets.token_hex(4)}"
        self.made.append(n)
        return n

    def task(self, cid):
        """(pid, status) of CID's task from `ctr task ls`, or None."""
        res = self.ctr("task", "ls")
        for line in res.stdout.splitlines()[1:]:
            w = line.split()
            if w and w[0] == cid:
                return int(w[1]), w[2]
        return None

    def remove(self, cid):
        self.ctr("task", "kill", "--signal", "SIGKILL", cid, timeout=30)
        self.ctr("task", "rm", "--force", cid, timeout=60)
        self.ctr("container", "rm", cid, timeout=60)

    def explain(self):
        log = (self.d / "containerd.log").read_text(errors="replace")[-3000:]
        return f"{self.runtime.tail()}\n--- containerd.log (end)\n{log}"


def _have_overlay():
    subprocess.run(["modprobe", "overlay"], capture_output=True)
    return "overlay" in open("/proc/filesystems").read()


@pytest.fixture(scope="module")
def cd(tmp_path_factory, runtime, archives):
    d = tmp_path_factory.mktemp("containerd")
    c = Containerd(d, runtime)
    (d / "config.toml").write_text(f"""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{c.sock}"
[ttrpc]
  address = "{c.sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
""")
    log = open(d / "containerd.log", "w")
    p = subprocess.Popen(["containerd", "--config", d / "config.toml", "--log-level", "warn"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        et.wait_until(lambda: p.poll() is not None or c.ctr("version", timeout=10).returncode == 0,
                      60, "containerd to answer")
        assert p.poll() is None, "containerd exited:\n" + c.explain()
        res = c.ctr("images", "import", "--snapshotter", c.snapshotter, archives[0], timeout=180)
        assert res.returncode == 0, et.describe(res)
        res = c.ctr("images", "ls", "-q")
        assert et.IMAGE_REF in res.stdout.split(), et.describe(res)
        yield c
    finally:
        for cid in c.made:
            if c.ctr("container", "info", cid, timeout=30).returncode == 0:
                c.remove(cid)
        c.ctr("images", "rm", et.IMAGE_REF, timeout=60)
        rc = et.stop_process(p)
        log.close()
        et.unmount_under(d)
        leftover = [cg for cg in (f"/{NS}",) if et.cg_exists(cg)]
        for cg in leftover:  # the namespace's parent cgroup, which runc leaves too
            left = [x for x in os.listdir(et.CGROOT / cg.lstrip("/")) if (et.CGROOT / cg.lstrip("/") / x).is_dir()]
            assert not left, f"container cgroups left under {cg}: {left}"
            os.rmdir(et.CGROOT / cg.lstrip("/"))
        subprocess.run(["rm", "-rf", "--one-file-system", str(d)])
        assert rc in (0, -15), f"containerd exited with {rc}:\n" + (c.explain() if d.exists() else "")


@pytest.fixture
def ctr_id(cd):
    cid = cd.name()
    yield cid
    if cd.ctr("container", "info", cid, timeout=30).returncode == 0:
        cd.remove(cid)


def assert_through_diyc(cd, cid, *commands):
    seen = cd.runtime.commands(cid)
    for c in commands:
        assert c in seen, f"containerd did not call `diyc-oci {c}` for {cid} (calls: {seen})\n{cd.explain()}"


def test_run_foreground(cd, ctr_id):
    res = cd.ctr("run", "--rm", *cd.run_args(), et.IMAGE_REF, ctr_id,
                 "sh", "-c", "echo hello from pid $$; exit 3")
    assert res.returncode == 3, et.describe(res) + cd.explain()
    assert "hello from pid 1" in res.stdout, et.describe(res)
    assert_through_diyc(cd, ctr_id, "create", "start", "delete")
    assert cd.ctr("container", "info", ctr_id).returncode != 0, "--rm left the container"
    assert not et.cg_exists(f"/{NS}/{ctr_id}"), "the container's cgroup is left"


def test_run_tty(cd, ctr_id):
    rc, out = et.run_pty(cd.ctr_argv("run", "--rm", "-t", *cd.run_args(), et.IMAGE_REF, ctr_id,
                                     "sh", "-c", "echo ready; read x; echo got:$x; tty; exit 4"),
                         answer="hello")
    assert rc == 4, f"exit {rc}\n{out}\n{cd.explain()}"
    assert "got:hello" in out and re.search(r"^/dev/pts/\d+$", out, re.M), out
    assert_through_diyc(cd, ctr_id, "create", "start", "delete")


def test_detached_exec_ps_pause_kill(cd, ctr_id):
    res = cd.ctr("run", "-d", *cd.run_args(), et.IMAGE_REF, ctr_id, "sleep", "1000")
    assert res.returncode == 0, et.describe(res) + cd.explain()
    pid, status = et.wait_until(lambda: cd.task(ctr_id), 30, "the task to be listed")
    assert status == "RUNNING", (pid, status)
    cg = et.cgroup_of(pid)
    assert cg.endswith(f"/{ctr_id}"), cg

    res = cd.ctr("task", "exec", "--exec-id", "e1", ctr_id, "sh", "-c", "echo in $(cat /proc/1/comm); exit 5")
    assert res.returncode == 5 and "in sleep" in res.stdout, et.describe(res) + cd.explain()
    assert "exec" in cd.runtime.commands(ctr_id)

    res = cd.ctr("task", "ps", ctr_id)
    assert res.returncode == 0, et.describe(res) + cd.explain()
    assert str(pid) in res.stdout.split(), et.describe(res)
    assert "ps" in cd.runtime.commands(ctr_id)

    res = cd.ctr("task", "pause", ctr_id)
    assert res.returncode == 0, et.describe(res) + cd.explain()
    assert cd.task(ctr_id)[1] == "PAUSED"
    assert "frozen 1" in et.cg_read(cg, "cgroup.events"), et.cg_read(cg, "cgroup.events")
    assert et.run(["grep", "State", f"/proc/{pid}/status"]).stdout.split()[1] in ("S", "D")
    res = cd.ctr("task", "resume", ctr_id)
    assert res.returncode == 0, et.describe(res) + cd.explain()
    assert cd.task(ctr_id)[1] == "RUNNING"
    assert "frozen 0" in et.cg_read(cg, "cgroup.events")
    assert_through_diyc(cd, ctr_id, "pause", "resume")

    res = cd.ctr("task", "kill", "--signal", "SIGKILL", ctr_id)
    assert res.returncode == 0, et.describe(res) + cd.explain()
    et.wait_until(lambda: cd.task(ctr_id)[1] == "STOPPED", 30, "the task to stop")
    assert "kill" in cd.runtime.commands(ctr_id)
    assert not os.path.exists(f"/proc/{pid}"), f"the container's process {pid} is still there"
    res = cd.ctr("task", "rm", ctr_id)
    assert res.returncode == 0, et.describe(res) + cd.explain()
    assert "delete" in cd.runtime.commands(ctr_id)
    assert not et.cg_exists(cg), f"{cg} is left after ctr task rm"
    assert cd.ctr("container", "rm", ctr_id).returncode == 0


def test_memory_limit_oom(cd, ctr_id):
    limit = 32 * et.MIB
    res = cd.ctr("run", "-d", "--memory-limit", limit, *cd.run_args(), et.IMAGE_REF, ctr_id, "sleep", "1000")
    assert res.returncode == 0, et.describe(res) + cd.explain()
    pid, _ = et.wait_until(lambda: cd.task(ctr_id), 30, "the task to be listed")
    cg = et.cgroup_of(pid)
    assert et.cg_read(cg, "memory.max") == str(limit)
    events = subprocess.Popen(cd.ctr_argv("events"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    try:
        time.sleep(1)  # `ctr events` has subscribed
        # busybox dd allocates its 100 MiB block and read() from /dev/zero touches every page
        res = cd.ctr("task", "exec", "--exec-id", "dd", ctr_id,
                     "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
        assert res.returncode == 137, "a 100 MiB block in a 32 MiB container should be OOM-killed\n" + \
            et.describe(res) + cd.explain()
        assert et.memory_events(cg)["oom_kill"] >= 1, et.cg_read(cg, "memory.events")
        time.sleep(2)
    finally:
        os.killpg(events.pid, 9)
        seen = events.communicate()[0]
    assert "/tasks/oom" in seen, f"containerd published no /tasks/oom event:\n{seen}"
