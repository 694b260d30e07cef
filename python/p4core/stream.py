"""Compatibility: streaming screens live in :mod:`p4core.screen.stream` (this name keeps working)."""

from p4core.screen.stream import read_scores, screen_to_parquet  # noqa: F401
