"""Compatibility: the plain numpy/scipy reference moved to :mod:`p4core.testing.reference`."""

from p4core.testing.reference import *  # noqa: F403
from p4core.testing.reference import drug_views, fit_ridge_signed, propagate, reversal_scores, simulate  # noqa: F401
