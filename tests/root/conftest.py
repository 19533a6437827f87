# SPDX-License-Identifier: MIT
# Fixtures of the root tests: root's store on the private tmpfs that tests/run-all mounts
# over /var/lib and /run.
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import diyctest as dt  # noqa: E402


@pytest.fixture(scope="module")
def root_store():
    """Root's store, /var/lib/diyc and /run/diyc, on run-all's private tmpfs, with busybox."""
    for d in ("/var/lib", "/run"):
        res = dt.run(["stat", "-f", "-c", "%T", d])
        assert res.stdout.strip() == "tmpfs", f"{d} is not a private tmpfs: run this through tests/run-all"
    store = dt.Store(os.environ)
    store.data, store.run = Path("/var/lib/diyc"), Path("/run/diyc")
    store.import_busybox("busybox")
    return store
