# SPDX-License-Identifier: MIT
# Image layers with device nodes imported by root (tests/integration/test_image_devices.py
# has the images and the checks): root keeps the nodes, as its root filesystem import
# does, with no warning; the image runs with diyc's own /dev and keeps its digests and
# id. tests/run-all runs this file as root with a tmpfs over /var/lib and /run.
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import test_image_devices as tid  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root (tests/run-all does that)")


@pytest.mark.parametrize("fmt", tid.FORMATS)
def test_root_layer_with_device_nodes(root_store, tmp_path, fmt):
    before = {p.name for p in root_store.layers()} if (root_store.data / "layers").is_dir() else set()
    img = tid.check_import(root_store, fmt, tmp_path, root=True)
    # image rm took its layers, nodes and all
    left = {p.name for p in root_store.layers()} - before
    assert not left & {d.split(":")[1] for d in img.diff_ids}, left
