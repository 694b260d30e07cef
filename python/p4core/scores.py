"""Compatibility: clinical scores live in :mod:`p4core.clinical.scores` (this name keeps working)."""

from p4core.clinical.scores import *  # noqa: F403
from p4core.clinical.scores import (  # noqa: F401
    FOUR_C_VARIABLES,
    Comorbidity,
    FourC,
    charlson,
    charlson_age_points,
    elixhauser,
    isaric4c,
    normalise_icd10,
    table,
)
