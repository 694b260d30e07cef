from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("P4CORE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_configure(config):
    # parsed-knowledge cache: private to the test session, never the user's ~/.cache/p4core
    os.environ.setdefault("P4CORE_CACHE_DIR", tempfile.mkdtemp(prefix="p4core-test-cache-"))


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set P4CORE_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def knowledge():
    from p4core.datasets import curated_knowledge

    return curated_knowledge()


@pytest.fixture(scope="session")
def kang_path() -> Path:
    return shared("scrna", "kang2018_ifnb_pbmc.h5ad")


def activating_network(sources: list[str], targets: list[str], name: str = "test"):
    """A small network of activating transcriptional edges ``sources[i] -> targets[i]``."""
    import pandas as pd

    from p4core.model import Network

    return Network(
        pd.DataFrame(
            {
                "source": sources,
                "target": targets,
                "sign": 1,
                "weight": 1.0,
                "kind": "transcriptional",
                "reference": name,
            }
        ),
        name=name,
    )
