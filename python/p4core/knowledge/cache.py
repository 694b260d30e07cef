"""The on-disk cache of parsed knowledge: Parquet under ``$P4CORE_CACHE_DIR``, keyed by the files'\nSHA-256, the loader, its version and its parameters."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from p4core.io.files import atomic_path, file_digest

log = logging.getLogger("p4core")


LOADER_VERSION = "2"


def cache_dir() -> Path:
    return Path(os.environ.get("P4CORE_CACHE_DIR") or Path.home() / ".cache" / "p4core")


def cached(
    name: str, paths: Sequence[Path], params: dict, parse: Callable[[], pd.DataFrame], use_cache: bool = True
) -> pd.DataFrame:
    """``parse()`` once per (file contents, loader, params); later calls read the Parquet copy."""
    if not use_cache:
        return parse()
    key = hashlib.sha256(
        json.dumps([name, LOADER_VERSION, file_digest(paths), params], sort_keys=True).encode()
    ).hexdigest()[:24]
    path = cache_dir() / f"{name}-{key}.parquet"
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            log.warning("cache entry %s is unreadable; parsing again", path)
    df = parse()
    try:
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
    except OSError as exc:
        log.warning("could not write the knowledge cache %s: %s", path, exc)
    return df
