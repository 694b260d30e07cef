"""Clinical scores from a patient's context: comorbidity indices and the ISARIC 4C Mortality Score.

* **Charlson comorbidity index** by the Quan 2005 ICD-10 coding, weighted as Charlson 1987 or as
  Quan 2011, with the hierarchy rules (mild liver disease not counted with moderate/severe liver
  disease, diabetes without complications not with complications, any malignancy not with a
  metastatic solid tumour); and the **Swedish adaptation** (Ludvigsson 2021: its own code lists and
  weights; ascites with mild liver disease counts as severe liver disease).
* **Elixhauser** categories (Quan 2005 coding) with van Walraven 2009 weights.
* **Age-adjusted Charlson** (Charlson 1994): the index plus one point per decade of age from 50 (50-59: 1,
  60-69: 2, 70-79: 3, 80 and over: 4). Charlson 1994 validated it with the original Charlson 1987 weights;
  with the Quan 2011 weights (the default here) it is the usual practice, not a validated score.
* **ISARIC 4C Mortality Score** (Knight 2020): points per variable, the observed in-hospital mortality at
  that score (the published per-score table), and its risk group with the group's pooled mortality.

The code lists and point tables ship in ``p4core/data/comorbidity/`` (sources in each file's
header). ICD-10 codes are matched by prefix after removing dots and spaces; malformed codes are
reported, never matched silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from p4core.clinical.codes import ICD10
from p4core.errors import InputError


@cache
def table(name: str) -> pd.DataFrame:
    """A shipped table (``charlson_quan2005``, ``charlson_ludvigsson2021``, ``elixhauser_quan2005``,
    ``isaric4c_points``, ``isaric4c_risk_groups``, ``isaric4c_mortality_by_score``)."""
    path = resources.files("p4core") / "data" / "comorbidity" / f"{name}.tsv"
    with path.open(encoding="utf-8") as f:
        return pd.read_csv(f, sep="\t", comment="#", dtype=str, keep_default_na=False)


def normalise_icd10(codes: Iterable[str]) -> tuple[list[str], list[str]]:
    """(valid codes without dots or spaces, upper case; malformed inputs as given)."""
    good: list[str] = []
    bad: list[str] = []
    for c in codes:
        k = re.sub(r"[\s.]", "", str(c)).upper()
        if ICD10.match(k):
            good.append(k)
        else:
            bad.append(str(c))
    return good, bad


def comorbidity_name(code: str) -> str | None:
    """The comorbidity group an ICD-10 code falls in (Elixhauser, then Charlson, Quan 2005 coding), e.g.
    ``J44.1`` -> "Chronic pulmonary disease": a readable name where the Disease Ontology has none."""
    good, _ = normalise_icd10([code])
    if not good:
        return None
    for name in ("elixhauser_quan2005", "charlson_quan2005"):
        found = [c for c, hit in _flags(good, table(name), "condition").items() if hit]
        if found:
            return str(found[0])
    return None


def _flags(codes: list[str], tab: pd.DataFrame, key: str = "key") -> dict[str, bool]:
    out = {}
    for k, prefixes in zip(tab[key], tab["icd10_prefixes"], strict=True):
        pre = tuple(p for p in prefixes.split(";") if p)
        out[k] = any(c.startswith(pre) for c in codes)
    return out


@dataclass
class Comorbidity:
    """A comorbidity index: its value, the conditions found, and the codes that could not be read;
    ``age_adjusted``: the index plus the age points (Charlson 1994), when the age was given."""

    index: int
    conditions: dict[str, bool]
    weights: dict[str, int]
    scheme: str
    malformed: list[str]
    age: float | None = None
    age_points: int | None = None
    age_adjusted: int | None = None

    @property
    def present(self) -> list[str]:
        return [k for k, v in self.conditions.items() if v]


def charlson_age_points(age: float) -> int:
    """Charlson 1994's age points: 0 below 50, then one per decade (50-59: 1, 60-69: 2, 70-79: 3),
    4 at 80 and over."""
    a = float(age)
    if not np.isfinite(a) or a < 0:
        raise InputError(f"charlson: age must be a number of years >= 0, got {age!r}")
    return 0 if a < 50 else min(4, int((a - 40) // 10))


def charlson(
    codes: Iterable[str], weights: str = "quan2011", scheme: str = "quan2005", age: float | None = None
) -> Comorbidity:
    """Charlson comorbidity index of the ICD-10 ``codes``; with ``age`` (years) also the age-adjusted
    index (:func:`charlson_age_points` added; Charlson 1994, validated with ``charlson1987`` weights).

    ``scheme``: ``quan2005`` (with ``weights`` ``charlson1987`` or ``quan2011``) or ``swedish2021``
    (Ludvigsson 2021, its own weights). Malformed codes are listed in ``malformed`` and not matched.
    """
    good, bad = normalise_icd10(codes)
    if scheme == "quan2005":
        tab = table("charlson_quan2005")
        col = {"charlson1987": "weight_charlson1987", "quan2011": "weight_quan2011"}.get(weights)
        if col is None:
            raise InputError(f"charlson: weights must be charlson1987 or quan2011, got {weights!r}")
        flags = _flags(good, tab)
        for lower, upper in (("mld", "msld"), ("diab", "diabwc"), ("canc", "metacanc")):  # hierarchy
            if flags[upper]:
                flags[lower] = False
        w = dict(zip(tab["key"], tab[col].astype(int), strict=True))
    elif scheme == "swedish2021":
        tab = table("charlson_ludvigsson2021")
        flags = _flags(good, tab)
        ascites = flags.pop("liver special")
        if flags["Mild_liver_disease"] and ascites:
            flags["moderate severe liver disease"] = True
        if flags["moderate severe liver disease"]:
            flags["Mild_liver_disease"] = False
        w = {k: int(v) for k, v in zip(tab["key"], tab["weight"], strict=True) if k != "liver special"}
        weights = "ludvigsson2021"
    else:
        raise InputError(f"charlson: scheme must be quan2005 or swedish2021, got {scheme!r}")
    index = sum(w[k] for k, v in flags.items() if v)
    out = Comorbidity(index, flags, w, f"{scheme}/{weights}", bad)
    if age is not None:
        out.age, out.age_points = float(age), charlson_age_points(age)
        out.age_adjusted = index + out.age_points
    return out


def elixhauser(codes: Iterable[str]) -> Comorbidity:
    """Elixhauser categories (Quan 2005) and the van Walraven 2009 index (weights can be negative)."""
    good, bad = normalise_icd10(codes)
    tab = table("elixhauser_quan2005")
    flags = _flags(good, tab)
    for lower, upper in (("hypunc", "hypc"), ("diabunc", "diabc"), ("solidtum", "metacanc")):
        if flags[upper]:
            flags[lower] = False
    w = dict(zip(tab["key"], tab["weight"].astype(int), strict=True))
    return Comorbidity(sum(w[k] for k, v in flags.items() if v), flags, w, "elixhauser/vanwalraven2009", bad)


# --- ISARIC 4C Mortality Score ---------------------------------------------------------------

FOUR_C_VARIABLES = (
    "age",
    "sex_at_birth",
    "n_comorbidities",
    "respiratory_rate",
    "spo2_room_air",
    "gcs",
    "urea",
    "crp",
)


def _points(variable: str, value: float | str) -> int:
    tab = table("isaric4c_points")
    rows = tab[tab["variable"] == variable]
    if variable == "sex_at_birth":
        sex = str(value).lower()
        hit = rows[rows["category"] == sex]
        if hit.empty:
            raise InputError(f"4C score: sex_at_birth must be female or male, got {value!r}")
        return int(hit["points"].iloc[0])
    v = float(value)
    if not np.isfinite(v):
        raise InputError(f"4C score: {variable} is not a number ({value!r})")
    if variable == "urea":  # published: <7, 7-14 (14 included), >14 mmol/L
        return 0 if v < 7 else (1 if v <= 14 else 3)
    for lo, hi, pts in zip(rows["lower_inclusive"], rows["upper_exclusive"], rows["points"], strict=True):
        if (lo == "" or v >= float(lo)) and (hi == "" or v < float(hi)):
            return int(pts)
    raise InputError(f"4C score: {variable}={value} is outside every published category")


@dataclass
class FourC:
    """The 4C score, its points per variable, the observed in-hospital mortality at this score
    (``mortality_pct``, Knight 2020's per-score table) and its risk group with the group's pooled
    mortality (``risk_group_mortality_pct``, as the official calculator shows it)."""

    score: int
    points: dict[str, int]
    risk_group: str
    mortality_pct: float
    risk_group_mortality_pct: float


def isaric4c(
    age: float,
    sex_at_birth: str,
    n_comorbidities: int,
    respiratory_rate: float,
    spo2_room_air: float,
    gcs: float,
    urea: float,
    crp: float,
) -> FourC:
    """ISARIC 4C Mortality Score (Knight et al., BMJ 2020): age (years), sex at birth, number of
    comorbidities (Charlson conditions + obesity), respiratory rate (/min), SpO2 on room air (%),
    Glasgow coma scale, urea (mmol/L), CRP (mg/L)."""
    values: dict[str, float | str] = {
        "age": age,
        "sex_at_birth": sex_at_birth,
        "n_comorbidities": n_comorbidities,
        "respiratory_rate": respiratory_rate,
        "spo2_room_air": spo2_room_air,
        "gcs": gcs,
        "urea": urea,
        "crp": crp,
    }
    if not 3 <= float(gcs) <= 15:
        raise InputError(f"4C score: gcs must be 3-15, got {gcs}")
    if not 0 <= float(spo2_room_air) <= 100:
        raise InputError(f"4C score: spo2_room_air must be a percentage, got {spo2_room_air}")
    pts = {k: _points(k, v) for k, v in values.items()}
    score = sum(pts.values())
    groups = table("isaric4c_risk_groups")
    row = groups[
        (groups["score_min"].astype(int) <= score) & (groups["score_max"].astype(int) >= score)
    ].iloc[0]
    by_score = table("isaric4c_mortality_by_score")
    observed = by_score.loc[by_score["score"].astype(int) == score, "observed_mortality_pct"]
    return FourC(
        score,
        pts,
        str(row["risk_group"]),
        round(float(observed.iloc[0]), 1),
        float(row["mortality_pct_official_calculator"]),
    )
