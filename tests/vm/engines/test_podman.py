# SPDX-License-Identifier: MIT
# podman drives diyc-oci (`podman --runtime PATH`, through conmon) as root and, in the run
# as tester, rootless: podman then calls the runtime inside its own user namespace, and
# the systemd cgroup manager puts the container in a scope of tester's user manager.
# Podman passes --log-format json only to runtimes it knows by name, so a containers.conf
# (CONTAINERS_CONF) lists diyc-oci in runtime_supports_json, the line a user adds:
#     [engine]
#     runtime_supports_json = ["diyc-oci"]
# Storage (graphroot, runroot) and podman's temporary directory are private to the test
# file. The offline docker archive is loaded, then: run --rm, -it on a pty, a detached
# container with --memory that exec, logs, top, pause/unpause (its cgroup frozen and
# thawed) and stop see, and the wrapper's log shows each went through diyc-oci.
import os
import re
import secrets
import subprocess

import pytest

import engtest as et

pytestmark = [pytest.mark.engine("podman"), pytest.mark.engine("conmon")]


class Podman:
    def __init__(self, d, runtime):
        self.d, self.runtime = d, runtime
        self.env = dict(os.environ, CONTAINERS_CONF=str(d / "containers.conf"),
                        CONTAINERS_STORAGE_CONF=str(d / "storage.conf"),
                        CONTAINERS_REGISTRIES_CONF=str(d / "registries.conf"))
        self.made = []

    def argv(self, *args):
        # rootless podman calls the runtime inside its user namespace (euid 0) without
        # --root: diyc-oci keeps its state in $XDG_RUNTIME_DIR/diyc-oci there, as runc does
        return ["podman", "--runtime", str(self.runtime.path), *map(str, args)]

    def podman(self, *args, timeout=et.TIMEOUT, **kw):
        return et.run(self.argv(*args), timeout=timeout, env=self.env, **kw)

    def name(self):
        n = f"pm-{secrets.token_hex(4)}"
        self.made.append(n)
        return n

    def inspect(self, name, fmt):
        res = self.podman("inspect", "--format", fmt, name)
        assert res.returncode == 0, et.describe(res)
        return res.stdout.strip()

    def explain(self):
        return "\n" + self.runtime.tail()


RUN = ("--network", "none")


@pytest.fixture(scope="module")
def pm(tmp_path_factory, runtime, archives):
    d = tmp_path_factory.mktemp("podman")
    k = Podman(d, runtime)
    if et.ROOT:
        subprocess.run(["modprobe", "overlay"], capture_output=True)
    (d / "containers.conf").write_text(f"""[containers]
log_driver = "k8s-file"

[engine]
runtime_supports_json = ["diyc-oci"]
cgroup_manager = "systemd"
events_logger = "file"
tmp_dir = "{d}/tmp"
static_dir = "{d}/storage/libpod"
volume_path = "{d}/storage/volumes"
""")
    (d / "storage.conf").write_text(f"""[storage]
driver = "overlay"
graphroot = "{d}/storage"
runroot = "{d}/run"
""")
    (d / "registries.conf").write_text('unqualified-search-registries = []\nshort-name-mode = "permissive"\n')
    try:
        res = k.podman("load", "-i", archives[1], timeout=180)
        assert res.returncode == 0, et.describe(res)
        res = k.podman("images", "--format", "{{.Repository}}:{{.Tag}}")
        assert et.IMAGE_REF in res.stdout.split(), et.describe(res)
        yield k
    finally:
        if k.made:
            k.podman("rm", "-f", "-t", "0", *k.made, timeout=120)
        k.podman("rmi", "-f", et.IMAGE_REF, timeout=60)
        pause = d / "tmp" / "pause.pid"  # the rootless pause process holding the user namespace
        if pause.exists():
            try:
                os.kill(int(pause.read_text()), 9)
            except (OSError, ValueError):
                pass
        if et.ROOT:
            et.unmount_under(d)
            subprocess.run(["rm", "-rf", "--one-file-system", str(d)])
        else:  # files of subordinate ids: removed inside the user namespace
            k.podman("unshare", "rm", "-rf", str(d / "storage"), str(d / "run"), timeout=120)
            subprocess.run(["rm", "-rf", str(d)])
        assert not d.exists(), f"{d} could not be removed"


def test_run_rm(pm):
    n = pm.name()
    res = pm.podman("run", "--rm", "--name", n, *RUN, et.IMAGE_REF,
                    "sh", "-c", "echo hello from pid $$ as $(id -u); exit 3")
    assert res.returncode == 3, et.describe(res) + pm.explain()
    assert "hello from pid 1 as 0" in res.stdout, et.describe(res)
    assert n not in pm.podman("ps", "-a", "--format", "{{.Names}}").stdout.split(), "--rm left the container"
    calls = [c for c in pm.runtime.calls()
             if " argv: " in c and ("--log-format json" in c or "--log-format=json" in c) and " create " in c]
    assert calls, "podman did not call diyc-oci create with --log-format json (runtime_supports_json)" + pm.explain()


def test_run_it(pm):
    n = pm.name()
    rc, out = et.run_pty(pm.argv("run", "--rm", "-it", "--name", n, *RUN, et.IMAGE_REF,
                                 "sh", "-c", "echo ready; read x; echo got:$x; tty; exit 4"),
                         answer="hello", env=pm.env)
    assert rc == 4, f"exit {rc}\n{out}{pm.explain()}"
    assert "got:hello" in out and re.search(r"^/dev/pts/\d+$", out, re.M), out


def test_detached_exec_logs_top_pause_stop(pm):
    n = pm.name()
    res = pm.podman("run", "-d", "--name", n, *RUN, "--memory", "64m", et.IMAGE_REF,
                    "sh", "-c", "echo first line; echo second line; exec sleep 1000")
    assert res.returncode == 0, et.describe(res) + pm.explain()
    cid = res.stdout.strip()
    assert "create" in pm.runtime.commands(cid), pm.explain()
    pid = int(pm.inspect(n, "{{.State.Pid}}"))
    cg = et.cgroup_of(pid)
    assert f"libpod-{cid}.scope" in cg, f"not podman's systemd scope: {cg}"
    assert et.cg_read(cg, "memory.max") == str(64 * et.MIB)

    et.wait_until(lambda: "second line" in pm.podman("logs", n).stdout, 30, "the container's output in podman logs")
    assert pm.podman("logs", n).stdout.splitlines() == ["first line", "second line"]

    res = pm.podman("exec", n, "sh", "-c", "echo in $(cat /proc/1/comm); exit 5")
    assert res.returncode == 5 and "in sleep" in res.stdout, et.describe(res) + pm.explain()
    assert "exec" in pm.runtime.commands(cid)

    res = pm.podman("top", n, "pid", "args")
    assert res.returncode == 0 and "sleep 1000" in res.stdout, et.describe(res) + pm.explain()

    res = pm.podman("pause", n)
    assert res.returncode == 0, et.describe(res) + pm.explain()
    assert pm.inspect(n, "{{.State.Status}}") == "paused"
    assert "frozen 1" in et.cg_read(cg, "cgroup.events")
    res = pm.podman("unpause", n)
    assert res.returncode == 0, et.describe(res) + pm.explain()
    assert pm.inspect(n, "{{.State.Status}}") == "running"
    assert "frozen 0" in et.cg_read(cg, "cgroup.events")
    assert {"pause", "resume"} <= set(pm.runtime.commands(cid))

    # sleep as the container's PID 1 ignores SIGTERM: stop sends SIGKILL after 1 s
    res = pm.podman("stop", "-t", "1", n)
    assert res.returncode == 0, et.describe(res) + pm.explain()
    assert pm.inspect(n, "{{.State.Status}}") == "exited"
    assert pm.inspect(n, "{{.State.ExitCode}}") == "137"
    assert not os.path.exists(f"/proc/{pid}")
    kills = [c for c in pm.runtime.calls() if " argv: " in c and f" kill {cid}" in c]
    assert any(c.rstrip().endswith(" 9") or c.rstrip().endswith("KILL") for c in kills), \
        f"podman stop did not send SIGKILL through diyc-oci: {kills}"
    res = pm.podman("rm", n)
    assert res.returncode == 0, et.describe(res) + pm.explain()
    assert "delete" in pm.runtime.commands(cid)
    et.wait_until(lambda: not et.cg_exists(cg), 15, f"{cg} to go")


@pytest.mark.rootless
def test_rootless_default_root(pm):
    res = et.run(["podman", "--runtime", pm.runtime.path, "run", "--rm", *RUN, et.IMAGE_REF, "true"], env=pm.env)
    assert res.returncode == 0, et.describe(res) + pm.explain()

