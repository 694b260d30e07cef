from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from helpers import shared


def pytest_configure(config):
    # parsed-knowledge cache: private to the test session, never the user's ~/.cache/p4core
    os.environ.setdefault("P4CORE_CACHE_DIR", tempfile.mkdtemp(prefix="p4core-test-cache-"))


@pytest.fixture(scope="session")
def knowledge():
    from p4core.datasets import curated_knowledge

    return curated_knowledge()


@pytest.fixture(scope="session")
def kang_path() -> Path:
    return shared("scrna", "kang2018_ifnb_pbmc.h5ad")
