# SPDX-License-Identifier: MIT
# Volumes as root (issue 22): no user namespace, so a volume's data is root's. `volume create
# --opt size=` on stores with and without project quotas is in test_root_storage.py, with
# the other disk sizes.
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import diyctest as dt  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root (tests/run-all does that)")


def test_volumes_as_root(tmp_path):
    """Root's containers have no user namespace: a volume's data is root's, seeded with the
    image's owners, and goes with the container's --rm when anonymous."""
    store = dt.Store(os.environ)
    store.data, store.run = Path("/var/lib/diyc"), Path("/run/diyc")
    store.import_busybox("busybox")
    try:
        res = dt.assert_ok(store.diyc("run", "--rm", "--net=none", "-v", "rootvol:/etc", "-v", "/anon", "busybox",
                                      "sh", "-c", "cat /etc/passwd | head -1; echo x > /anon/f; stat -c %u /etc"))
        assert res.stdout == "root:x:0:0:root:/root:/bin/sh\n0\n", dt.describe(res)
        data = store.data / "volumes" / "rootvol" / "_data"
        assert (data / "passwd").read_text().startswith("root:x:0:0")
        assert os.stat(data).st_uid == 0
        assert dt.assert_ok(store.diyc("volume", "ls", "-q")).stdout == "rootvol\n", "the anonymous one went"
    finally:
        dt.remove_all(store)
        store.diyc("volume", "rm", "-f", "rootvol")
