# SPDX-License-Identifier: MIT
# Ten containers at once from the same image: all succeed, all are distinct (names,
# hostnames, root filesystems), and `--rm` leaves nothing behind.
import diyctest as dt

N = 10
# each container writes its hostname to the same path of its root filesystem, waits for
# the others to do the same, and reads it back: a shared upper dir would mix them up
SCRIPT = "hostname > /mark; sleep 1.5; cat /mark; echo $$; ls /proc | grep -c '^[0-9]'"


def test_ten_at_once(store, busybox):
    names = [dt.unique_name(f"conc{i}") for i in range(N // 2)]
    procs = []
    try:
        for i in range(N):
            opt = ["--name", names[i]] if i < len(names) else []
            procs.append(store.popen("run", "--rm", *opt, "busybox", "sh", "-c", SCRIPT))
        results = [p.finish(timeout=90) for p in procs]
    finally:
        for p in procs:
            p.kill()
    hosts = []
    for i, res in enumerate(results):
        assert res.returncode == 0, dt.describe(res)
        assert res.stderr == "", dt.describe(res)
        lines = res.stdout.split()
        assert len(lines) == 3, dt.describe(res)
        host = lines[0]
        if i < len(names):
            assert host == names[i], dt.describe(res)
        assert dt.NAME_RE.fullmatch(host), dt.describe(res)
        assert lines[1] == "2", dt.describe(res)
        assert int(lines[2]) <= 5, "another container's processes are visible\n" + dt.describe(res)
        hosts.append(host)
    assert len(set(hosts)) == N, f"hostnames are not distinct: {hosts}"
    left = {n for n in store.containers() if n in hosts}
    assert not left, f"--rm left container directories: {left}"


def test_ten_at_once_same_output(store, busybox):
    before = store.containers()
    procs = [store.popen("run", "--rm", "busybox", "echo", f"c{i}") for i in range(N)]
    try:
        results = [p.finish(timeout=90) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for i, res in enumerate(results):
        assert res.returncode == 0 and res.stdout == f"c{i}\n", dt.describe(res)
    assert store.containers() == before, "--rm left container directories"
