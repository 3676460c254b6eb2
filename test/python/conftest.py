"""pytest configuration for NormLIR's Python execution tests.

Run: cd /work/main && /usr/bin/python3 -m pytest -q test/python
normlir-run is $NORMLIR_RUN, else build/bin/normlir-run of this checkout.
"""

import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import normlir_testing as nt  # noqa: E402


def pytest_report_header(config):
    return f"normlir-run: {nt.normlir_run_path()}"


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's file and name (not the
    rootdir-relative node id): the same data wherever pytest is run from."""
    key = f"{Path(str(request.node.fspath)).name}::{request.node.name}"
    seed = zlib.crc32(key.encode())
    return np.random.default_rng(seed)
