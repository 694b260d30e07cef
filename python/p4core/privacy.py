"""Compatibility: pseudonymisation lives in :mod:`p4core.clinical.privacy` (this name keeps working)."""

from p4core.clinical.privacy import DEFAULT_KEY, pseudonymise, set_mapping  # noqa: F401
