# SPDX-License-Identifier: MIT
# `diyc run` as a normal user: what the command sees inside (ids and their map, PIDs,
# hostname, /etc files, /dev, /sys, network) and where its writes land on the host.
import os
import re
from pathlib import Path

import pytest

import diyctest as dt


def host_resolv_conf():
    """What a container with a network namespace of its own but no slirp sees: the host's
    resolv.conf (the servers behind a systemd-resolved stub), loopback servers dropped."""
    text = Path("/etc/resolv.conf").read_text()
    if re.search(r"^\s*nameserver\s+127\.0\.0\.53\s*$", text, re.M):
        text = Path("/run/systemd/resolve/resolv.conf").read_text()
    return "".join(line for line in text.splitlines(keepends=True)
                   if not re.match(r"\s*nameserver\s+(127\.|::1\s*$)", line))


def run_ok(store, *args, **kw):
    res = dt.assert_ok(store.diyc("run", "--rm", *args, **kw))
    return res


def test_hello(store, busybox):
    res = run_ok(store, "busybox", "echo", "hello")
    assert res.stdout == "hello\n", dt.describe(res)
    assert res.stderr == "", dt.describe(res)


def test_default_command_is_sh(store, busybox):
    res = dt.assert_ok(store.diyc("run", "--rm", "-i", "busybox", input="echo from-default-sh $((6*7))\n"))
    assert res.stdout == "from-default-sh 42\n", dt.describe(res)


def test_uid_is_root(store, busybox):
    res = run_ok(store, "busybox", "sh", "-c", "id -u; id -g; grep -E '^(Uid|Gid):' /proc/self/status")
    lines = res.stdout.splitlines()
    assert lines[:2] == ["0", "0"], dt.describe(res)
    assert lines[2].split()[1:] == ["0"] * 4, dt.describe(res)
    assert lines[3].split()[1:] == ["0"] * 4, dt.describe(res)


def test_uid_map_shows_subordinate_range(store, busybox, subids):
    res = run_ok(store, "busybox", "sh", "-c", "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map")
    umap, gmap = res.stdout.split("--\n")
    assert dt.parse_idmap(umap) == dt.expected_map(os.getuid(), subids["uid"]), dt.describe(res)
    assert dt.parse_idmap(gmap) == dt.expected_map(os.getgid(), subids["gid"]), dt.describe(res)
    assert res.stderr == "", "no warning expected when the ranges and helpers exist\n" + dt.describe(res)


# the glob is expanded by the shell before `cat` starts: it lists the processes that
# existed then, which in a fresh PID namespace and /proc are init (if any) and the shell
PS = "echo $$; cat /proc/[0-9]*/stat; true"


@pytest.mark.parametrize("opt", [[], ["--init"]], ids=["default", "--init"])
def test_command_is_only_child_of_init(store, busybox, opt):
    res = run_ok(store, *opt, "busybox", "sh", "-c", PS)
    first, rest = res.stdout.split("\n", 1)
    assert first == "2", "the command should be PID 2 under diyc's init\n" + dt.describe(res)
    procs = dt.proc_stat(rest)
    assert sorted(procs) == [1, 2], "only init and the command should be visible\n" + dt.describe(res)
    assert procs[1][1] == 0 and procs[1][0] != "sh", "PID 1 should be diyc's init\n" + dt.describe(res)
    assert procs[2] == ("sh", 1), dt.describe(res)


@pytest.mark.parametrize("opt", [["--no-init"], ["--init=false"]])
def test_command_is_pid1_without_init(store, busybox, opt):
    res = run_ok(store, *opt, "busybox", "sh", "-c", PS)
    first, rest = res.stdout.split("\n", 1)
    assert first == "1", dt.describe(res)
    assert dt.proc_stat(rest) == {1: ("sh", 0)}, dt.describe(res)


def test_zombies_are_reaped_by_init(store, busybox):
    # an orphan that exits is reaped by PID 1: no process in state Z remains
    script = "(sleep 0.2 &) ; sleep 1; cat /proc/[0-9]*/stat; true"
    res = run_ok(store, "busybox", "sh", "-c", script)
    states = re.findall(r"^\d+ \(.*\) (\S) ", res.stdout, re.M)
    assert states and "Z" not in states, dt.describe(res)


def test_hostname_defaults_to_name(store, busybox, name):
    res = run_ok(store, "--name", name, "busybox", "sh", "-c", "hostname; cat /etc/hostname")
    assert res.stdout == f"{name}\n{name}\n", dt.describe(res)


@pytest.mark.parametrize("flag", ["-h", "--hostname"])
def test_hostname_option(store, busybox, name, flag):
    res = run_ok(store, "--name", name, flag, "other-host", "busybox", "sh", "-c",
                 "hostname; cat /etc/hostname; echo $HOSTNAME")
    assert res.stdout == "other-host\nother-host\nother-host\n", dt.describe(res)


def test_long_name_hostname_is_first_63_chars(store, busybox):
    long_name = "L" + dt.unique_name("long").replace("-", "x") + "y" * 120
    long_name = long_name[:128]
    res = run_ok(store, "--name", long_name, "busybox", "hostname")
    assert res.stdout == long_name[:63] + "\n", dt.describe(res)


def test_generated_name(store, busybox):
    res = run_ok(store, "busybox", "hostname")
    host = res.stdout.strip()
    assert dt.NAME_RE.fullmatch(host) and len(host) <= 63, dt.describe(res)


def hosts_entries(text):
    return [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("opt", [[], ["-h", "custom-host"]], ids=["name", "-h"])
def test_etc_hosts(store, busybox, name, opt):
    res = run_ok(store, "--name", name, *opt, "busybox", "cat", "/etc/hosts")
    host = opt[1] if opt else name
    entries = hosts_entries(res.stdout)
    assert any(e[0] == "127.0.0.1" and "localhost" in e[1:] for e in entries), dt.describe(res)
    assert any(host in e[1:] for e in entries), f"/etc/hosts does not name {host}\n" + dt.describe(res)


def test_resolv_conf_is_the_hosts(store, busybox):
    # without slirp's forwarder: the host's servers, those the container can reach
    res = run_ok(store, "--net=none", "busybox", "cat", "/etc/resolv.conf")
    assert res.stdout == host_resolv_conf(), dt.describe(res)
    assert "127.0.0.53" not in res.stdout, dt.describe(res)


def test_write_lands_in_upper_not_in_image(private_store, name):
    s = private_store
    layers = s.layers()
    assert layers, f"no layer in {s.data / 'layers'} after importing busybox"
    passwd_before = {layer: (layer / "diff" / "etc" / "passwd").read_bytes() for layer in layers}
    script = ("echo hello > /written-by-test && mkdir -p /var/newdir && echo x > /var/newdir/f && "
              "echo appended >> /etc/passwd && rm /bin/true")
    dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c", script))
    data_dir, run_dir = s.container_dirs(name)
    upper = data_dir / "upper"
    assert (upper / "written-by-test").read_text() == "hello\n"
    assert (upper / "var" / "newdir" / "f").read_text() == "x\n"
    assert (upper / "etc" / "passwd").read_text().endswith("appended\n")
    assert s.layers() == layers
    for layer in layers:
        diff = layer / "diff"
        assert not (diff / "written-by-test").exists(), f"the write reached the image: {diff}"
        assert not (diff / "var" / "newdir").exists(), f"the write reached the image: {diff}"
        assert (diff / "etc" / "passwd").read_bytes() == passwd_before[layer], f"the image changed: {diff}"
        assert os.path.lexists(diff / "bin" / "true"), f"the delete reached the image: {diff}"
    rootfs = run_dir / "rootfs"
    if rootfs.exists():
        assert os.listdir(rootfs) == [], f"{rootfs} is not empty on the host"
    # a second container from the same image sees the image, not the first one's writes
    res = dt.assert_ok(s.diyc("run", "--rm", "busybox", "sh", "-c",
                              "test ! -e /written-by-test && ! grep -q appended /etc/passwd && "
                              "test -e /bin/true && echo clean"))
    assert res.stdout == "clean\n", dt.describe(res)


def test_chown_to_mapped_id(private_store, name, subids):
    s = private_store
    script = ("touch /owned /rootfile && chown 1000:1000 /owned && mkdir /d && chown 1000:1000 /d && "
              "stat -c %u:%g /owned /d /rootfile")
    res = dt.assert_ok(s.diyc("run", "--name", name, "busybox", "sh", "-c", script))
    assert res.stdout == "1000:1000\n1000:1000\n0:0\n", dt.describe(res)
    upper = s.container_dirs(name)[0] / "upper"
    umap = dt.expected_map(os.getuid(), subids["uid"])
    gmap = dt.expected_map(os.getgid(), subids["gid"])
    for f in ("owned", "d"):
        st = os.lstat(upper / f)
        assert (st.st_uid, st.st_gid) == (dt.map_id(umap, 1000), dt.map_id(gmap, 1000)), \
            f"{upper / f} is owned by {st.st_uid}:{st.st_gid} on the host"
    st = os.lstat(upper / "rootfile")
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def parse_env(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_env_defaults(store, busybox, name):
    res = run_ok(store, "--name", name, "busybox", "env", env={"DIYC_TEST_HOST_SECRET": "leaked"})
    env = parse_env(res.stdout)
    path = env.get("PATH", "").split(":")
    assert "/bin" in path and "/usr/bin" in path and "/sbin" in path, dt.describe(res)
    assert env.get("HOME") == "/root", dt.describe(res)
    assert env.get("HOSTNAME") == name, dt.describe(res)
    assert "DIYC_TEST_HOST_SECRET" not in env, "the host environment leaked in\n" + dt.describe(res)
    assert "XDG_DATA_HOME" not in env, "the host environment leaked in\n" + dt.describe(res)


def test_env_option(store, busybox):
    res = run_ok(store, "-e", "FOO=bar", "--env", "WITH_EQ=a=b", "-e", "EMPTY=", "-e", "FROM_HOST",
                 "-e", "PATH=/bin:/usr/bin", "busybox", "env", env={"FROM_HOST": "host value"})
    env = parse_env(res.stdout)
    assert env.get("FOO") == "bar", dt.describe(res)
    assert env.get("WITH_EQ") == "a=b", dt.describe(res)
    assert env.get("EMPTY") == "", dt.describe(res)
    assert env.get("FROM_HOST") == "host value", dt.describe(res)
    assert env.get("PATH") == "/bin:/usr/bin", "-e overrides the default\n" + dt.describe(res)


@pytest.mark.parametrize("flag", ["-w", "--workdir"])
def test_workdir(store, busybox, flag):
    res = run_ok(store, flag, "/var/tmp", "busybox", "pwd")
    assert res.stdout == "/var/tmp\n", dt.describe(res)


@pytest.mark.parametrize("spec,ids", [("1000:1000", "1000 1000"), ("1000", "1000 0"),
                                      ("1000:100", "1000 100"), ("nobody", "65534 65534"),
                                      ("daemon:users", "1 100")])
def test_user(store, busybox, subids, spec, ids):
    res = run_ok(store, "-u", spec, "busybox", "sh", "-c", "echo $(id -u) $(id -g)")
    assert res.stdout == ids + "\n", dt.describe(res)


def test_user_long_option_and_files(store, busybox, subids):
    res = run_ok(store, "--user", "1000:1000", "-w", "/tmp", "busybox", "sh", "-c",
                 "touch f && stat -c %u:%g f && grep -E '^(Uid|Gid):' /proc/self/status")
    lines = res.stdout.splitlines()
    assert lines[0] == "1000:1000", dt.describe(res)
    assert lines[1].split()[1:] == ["1000"] * 4 and lines[2].split()[1:] == ["1000"] * 4, dt.describe(res)


def test_unknown_user(store, busybox):
    before = store.snapshot()
    dt.assert_error(store.diyc("run", "--rm", "-u", "no-such-user", "busybox", "true"), "no-such-user")
    assert store.snapshot() == before


def test_network_is_only_loopback(store, busybox):
    res = run_ok(store, "--net=none", "busybox", "sh", "-c", "cat /proc/net/dev; echo --; ip -o link")
    dev, links = res.stdout.split("--\n")
    names = [line.split(":")[0].strip() for line in dev.splitlines()[2:] if ":" in line]
    assert names == ["lo"], dt.describe(res)
    lines = links.splitlines()
    assert len(lines) == 1 and re.search(r"\blo\b.*<[^>]*\bUP\b", lines[0]), \
        "lo should be the only link, and up\n" + dt.describe(res)


def test_dev(store, busybox):
    script = ("for c in null zero full random urandom tty; do test -c /dev/$c || echo missing $c; done; "
              "test -d /dev/pts || echo missing pts; test -c /dev/ptmx || test -L /dev/ptmx || echo missing ptmx; "
              "test -d /dev/shm || echo missing shm; test -d /dev/mqueue || echo missing mqueue; "
              "for l in fd stdin stdout stderr; do test -L /dev/$l || echo missing $l; done; "
              "echo x > /dev/null || echo null not writable; head -c 8 /dev/urandom | wc -c; "
              "grep -E ' /dev/(pts|shm|mqueue) ' /proc/self/mounts | cut -d' ' -f2,3")
    res = run_ok(store, "busybox", "sh", "-c", script)
    lines = res.stdout.splitlines()
    assert lines[0].strip() == "8", dt.describe(res)
    assert sorted(lines[1:]) == ["/dev/mqueue mqueue", "/dev/pts devpts", "/dev/shm tmpfs"], dt.describe(res)


def test_sys_is_read_only(store, busybox):
    res = run_ok(store, "busybox", "sh", "-c", "grep ' /sys ' /proc/self/mounts; touch /sys/x 2>/dev/null && echo wrote; true")
    fields = res.stdout.split()
    assert len(fields) >= 4 and fields[2] == "sysfs", dt.describe(res)
    assert "ro" in fields[3].split(","), dt.describe(res)
    assert "wrote" not in res.stdout, dt.describe(res)


def test_proc_is_fresh(store, busybox):
    res = run_ok(store, "busybox", "sh", "-c", "grep ' /proc ' /proc/self/mounts | cut -d' ' -f3; ls /proc | grep -c '^[0-9]'")
    lines = res.stdout.split()
    assert lines[0] == "proc", dt.describe(res)
    assert int(lines[1]) <= 5, "host processes are visible\n" + dt.describe(res)


def test_verbose_keeps_stdout_clean(store, busybox):
    res = run_ok(store, "--verbose", "busybox", "echo", "out")
    assert res.stdout == "out\n", dt.describe(res)


@pytest.mark.parametrize("ns", ["user", "pid", "mnt", "uts", "ipc", "net", "cgroup"])
def test_namespace_is_new(store, busybox, ns):
    res = run_ok(store, "busybox", "readlink", f"/proc/self/ns/{ns}")
    inside = res.stdout.strip()
    assert inside.startswith(f"{ns}:["), dt.describe(res)
    assert inside != os.readlink(f"/proc/self/ns/{ns}"), f"the container shares the host's {ns} namespace"


def parse_mountinfo(text):
    """[(mount point, optional fields, fstype, source, super options)] of mountinfo lines."""
    out = []
    for line in text.splitlines():
        pre, _, post = line.partition(" - ")
        f, p = pre.split(), post.split()
        out.append((dt._unescape(f[4]), f[6:], p[0], p[1], p[2] if len(p) > 2 else ""))
    return out


def test_mounts_inside(private_store, name):
    s = private_store
    res = dt.assert_ok(s.diyc("run", "--rm", "--name", name, "busybox", "cat", "/proc/self/mountinfo"))
    mounts = parse_mountinfo(res.stdout)
    assert mounts and mounts[0][0] == "/" and mounts[0][2] == "overlay", dt.describe(res)
    opts = mounts[0][4].split(",")
    assert "userxattr" in opts, "the overlay is not mounted with userxattr\n" + dt.describe(res)
    lower = [o.split("=", 1)[1] for o in opts if o.startswith("lowerdir=")]
    upper = [o.split("=", 1)[1] for o in opts if o.startswith("upperdir=")]
    assert lower and all(p.startswith(str(s.data / "layers")) for p in lower[0].split(":")), dt.describe(res)
    assert upper == [str(s.container_dirs(name)[0] / "upper")], dt.describe(res)
    allowed = ("/", "/proc", "/sys", "/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf")
    for mp, optional, *_ in mounts:
        assert mp in allowed or mp.startswith(("/proc/", "/sys/", "/dev/")), \
            f"unexpected mount {mp!r} (is the old root detached?)\n" + dt.describe(res)
        assert not [o for o in optional if o.startswith(("shared:", "master:"))], \
            f"{mp} propagates to or from the host\n" + dt.describe(res)
