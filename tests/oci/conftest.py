# SPDX-License-Identifier: MIT
# Fixtures of the diyc-oci tests. They run as root, through tests/run-all's oci stage, in
# a private mount namespace with a fresh tmpfs over /run (diyc-oci's default --root is
# /run/diyc-oci): the host's /run is never written. DIYC_OCI names the binary.
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ocitest as ot  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root (tests/run-all does that)")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="the diyc-oci tests run only as root (tests/run-all does that)")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def private_run():
    if os.geteuid() != 0:
        return
    fstype = subprocess.run(["stat", "-f", "-c", "%T", "/run"], capture_output=True, text=True).stdout.strip()
    assert fstype == "tmpfs", "/run is not a private tmpfs: run this through tests/run-all"
    assert os.access(ot.DIYC_OCI, os.X_OK), f"DIYC_OCI={ot.DIYC_OCI} is not an executable"


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory):
    return ot.make_rootfs(tmp_path_factory.mktemp("template") / "rootfs")


@pytest.fixture
def rt(tmp_path):
    """diyc-oci with a --root of this test's own; what a test leaves running is removed."""
    runtime = ot.Runtime(tmp_path / "state")
    yield runtime
    for cid in runtime.state_dirs():
        runtime("delete", "--force", cid)


@pytest.fixture
def make_bundle(tmp_path, rootfs_template):
    n = [0]

    def make(name=None):
        n[0] += 1
        return ot.Bundle(tmp_path / (name or f"bundle{n[0]}"), rootfs_template)
    return make


@pytest.fixture
def bundle(make_bundle):
    return make_bundle()
