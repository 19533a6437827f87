# SPDX-License-Identifier: MIT
# Fixtures of the registry tests: the three real registries (anonymous http, htpasswd over
# https, token auth over https) and the token server, started once per session (per
# pytest-xdist worker) and seeded with skopeo; the test images built as OCI layouts; a
# scripted hostile registry per test; a private empty store per test; and the leak check
# after every test (no mounts, nothing in the store's tmp/, no half-made layer, no
# temporary files, no processes left behind).
#
# diyctest (the integration tests' helpers) is imported from ../integration: tests/run-all
# copies both directories side by side into its test tree, as they are in the repository.
import ctypes
import os
import signal
import sys
import tempfile
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "integration"))

import diyctest as dt  # noqa: E402
import diycreg as dr  # noqa: E402
import hostile as hs  # noqa: E402
import regtest as rt  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


def pytest_configure(config):
    config.addinivalue_line("markers", "infra: checks the test infrastructure itself (no diyc), may run as root")
    # under pytest-xdist each worker gets a HOME, XDG_RUNTIME_DIR and TMPDIR of its own, as in
    # tests/integration/conftest.py
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        for var, mode in (("HOME", 0o755), ("XDG_RUNTIME_DIR", 0o700), ("TMPDIR", 0o755)):
            base = os.environ.get(var)
            if base and base.startswith("/"):
                own = os.path.join(base, worker)
                os.makedirs(own, mode=mode, exist_ok=True)
                os.chmod(own, mode)
                os.environ[var] = own
        os.environ["XDG_DATA_HOME"] = os.path.join(os.environ["HOME"], ".local", "share")
        tempfile.tempdir = None
    # what the user's environment may hold must not steer the tests: each test says where
    # its credentials and registries.conf are
    for var in ("REGISTRY_AUTH_FILE", "CONTAINERS_REGISTRIES_CONF", "DOCKER_CONFIG", "XDG_CONFIG_HOME"):
        os.environ.pop(var, None)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.geteuid() == 0:
        reason = ("running as root: these tests need an unprivileged user with a subordinate id range "
                  "(tests/run-all creates one)")
    elif not os.path.exists(dt.diyc_bin()):
        reason = f"no diyc binary at {dt.diyc_bin()}: build it or set DIYC"
    if reason:
        for item in items:
            if not item.get_closest_marker("infra"):
                item.add_marker(pytest.mark.skip(reason=reason))


# -- session: registries and images -------------------------------------------------------

@pytest.fixture(scope="session")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("registries")
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="session")
def ca(work):
    c = rt.CA(work / "ca")
    return c


@pytest.fixture(scope="session")
def token_server(work, ca):
    t = rt.TokenServer(work / "token", ca).start()
    yield t
    t.stop()


def _start(reg):
    reg.start()
    return reg


@pytest.fixture(scope="session")
def reg_http(work):
    """Anonymous http: every client needs --tls-verify=false or `insecure = true`."""
    r = _start(rt.Registry(work / "reg-http", "http"))
    yield r
    r.stop()


@pytest.fixture(scope="session")
def reg_basic(work, ca):
    """https with htpasswd users (alice, bob); the CA in $HOME's certs.d."""
    r = _start(rt.Registry(work / "reg-basic", "htpasswd", ca=ca))
    ca.install_certs_d(os.environ["HOME"], r.host)
    yield r
    r.stop()


@pytest.fixture(scope="session")
def reg_token(work, ca, token_server):
    """https with token auth: alice pulls and pushes, bob pulls, anonymous pulls public/*."""
    r = _start(rt.Registry(work / "reg-token", "token", ca=ca, token_server=token_server))
    ca.install_certs_d(os.environ["HOME"], r.host)
    yield r
    r.stop()


@pytest.fixture(scope="session")
def busybox_images(work):
    """{"amd64", "arm64": Image, "index": (desc, index), "layout": Layout}."""
    return rt.build_busybox(work / "layout-busybox")


@pytest.fixture(scope="session")
def debian_images(work):
    """{"gzip", "zstd": Image}: the Debian rootfs in 3 layers (about 7 s to build)."""
    return rt.build_debian(work / "layout-debian")


def seed_busybox(reg, images, user=None, prefix="library/busybox"):
    """PREFIX:latest (the index), :amd64, :arm64, :v2s2 (docker schema2), and public/busybox."""
    d = images["layout"].dir
    rt.skopeo_push(d, "latest", reg, f"{prefix}:latest", user=user, all=True)
    rt.skopeo_push(d, "amd64", reg, f"{prefix}:amd64", user=user)
    rt.skopeo_push(d, "arm64", reg, f"{prefix}:arm64", user=user)
    rt.skopeo_push(d, "amd64", reg, f"{prefix}:v2s2", user=user, fmt="v2s2")
    rt.skopeo_push(d, "amd64", reg, "public/busybox:amd64", user=user)
    rt.skopeo_push(d, "amd64", reg, "busybox:amd64", user=user)
    return reg


@pytest.fixture(scope="session")
def http_reg(reg_http, busybox_images):
    """The http registry with busybox in it (see seed_busybox)."""
    return seed_busybox(reg_http, busybox_images)


@pytest.fixture(scope="session")
def basic_reg(reg_basic, busybox_images):
    return seed_busybox(reg_basic, busybox_images, user="alice")


@pytest.fixture(scope="session")
def token_reg(reg_token, busybox_images):
    return seed_busybox(reg_token, busybox_images, user="alice")


@pytest.fixture(scope="session")
def debian_http(reg_http, debian_images):
    """library/debian:gzip and :zstd in the http registry."""
    for c, im in debian_images.items():
        rt.skopeo_push(im.layout.dir, c, reg_http, f"library/debian:{c}")
    return reg_http


# -- per test -------------------------------------------------------------------------------

@pytest.fixture
def empty_conf(tmp_path):
    p = tmp_path / "registries.conf"
    p.write_text("# empty: no search registries, no mirrors\n")
    return p


@pytest.fixture
def store(tmp_path, empty_conf):
    """A private empty store, whose diyc calls see an empty registries.conf and retry fast."""
    s = dt.Store.private(tmp_path / "store")
    s.env.update(CONTAINERS_REGISTRIES_CONF=str(empty_conf), DIYC_REGISTRY_RETRY_DELAY="0.1")
    return s


@pytest.fixture
def hostile():
    h = hs.Hostile().start()
    yield h
    h.stop()


@pytest.fixture
def hostile_tls(ca):
    h = hs.Hostile(ca=ca).start()
    ca.install_certs_d(os.environ["HOME"], h.host)
    yield h
    h.stop()


@pytest.fixture
def other_host():
    """A second scripted server on 127.0.0.2: "another host" for redirects."""
    h = hs.Hostile(host="127.0.0.2").start()
    yield h
    h.stop()


@pytest.fixture(autouse=True)
def leak_check(request, tmp_path):
    """After each test: no mount under the test's directories or HOME, nothing left in the
    store's tmp/ or half-made in layers/, no new temporary entry in /tmp or $TMPDIR, no
    process left over (the session's registries aside)."""
    watched = [tmp_path, os.environ.get("HOME"), os.environ.get("XDG_RUNTIME_DIR")]
    mounts_before = set(dt.mounts_under(watched))
    tmp_before = dt.tmp_entries()
    yield
    problems = []
    kids = dt.leftover_children(ignore=rt.SERVER_PIDS)
    if kids:
        problems.append("processes left running: " + "; ".join(f"{p}: {dt.proc_cmdline(p)}" for p in kids))
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    new_mounts = set(dt.mounts_under(watched)) - mounts_before
    if new_mounts:
        problems.append(f"mounts left in the host mount namespace: {sorted(new_mounts)}")
    # every private store of the test (tmp_path/NAME, see dt.Store.private)
    for data in sorted(tmp_path.glob("*/data/diyc")):
        left = dr.store_leftovers(types.SimpleNamespace(data=data))
        if left:
            problems.append(f"left in the store {data}: {left}")
    new_tmp = {p for p in dt.tmp_entries() - tmp_before if not os.path.basename(p).startswith("pytest-")}
    if new_tmp:
        problems.append(f"temporary files left: {sorted(new_tmp)}")
    assert not problems, "leak check: " + "\n".join(problems)
