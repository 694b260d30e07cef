"""Built-in clinical scores, registered through the same hook a third party would use
(``p4core_register_scores``): the Charlson comorbidity index (Quan 2011 weights) from every ICD-10
diagnosis in the context, with the age-adjusted index (Charlson 1994) when the age is known, and the
ISARIC 4C Mortality Score when the context holds all its inputs (latest observations; comorbidities =
Charlson conditions + obesity, BMI >= 30): the observed mortality at that score and its risk group."""

from __future__ import annotations

from p4core.clinical.scores import charlson, isaric4c
from p4core.hooks import hookimpl
from p4core.model import Context


def _icd10(context: Context) -> list[str]:
    codes = [
        d["code"]
        for d in context.diagnoses
        if str(d.get("version") or "ICD-10").upper().startswith("ICD-10")
        or str(d.get("system", "")).startswith("http")
    ]
    return list(dict.fromkeys([*context.conditions, *codes]))  # the conditions list holds ICD-10 codes too


def charlson_score(context: Context) -> dict | None:
    codes = _icd10(context)
    if not codes:
        return None
    c = charlson(codes, weights="quan2011", age=context.age)
    out = {"index": c.index, "weights": "quan2011", "conditions": c.present, "malformed": c.malformed}
    if c.age_adjusted is not None:
        out.update(age_adjusted=c.age_adjusted, age_points=c.age_points, age=c.age)
    return out


def four_c(context: Context) -> dict | None:
    latest: dict[str, float] = {}
    for o in sorted(context.observations, key=lambda o: o.get("date") or ""):
        latest[o["name"]] = o["value"]
    need = ("respiratory_rate", "spo2", "gcs", "urea", "crp")
    if context.age is None or context.sex not in ("male", "female") or not all(k in latest for k in need):
        return None
    n_com = len(charlson(_icd10(context)).present) + int(latest.get("bmi", 0) >= 30)
    fc = isaric4c(
        context.age,
        context.sex,
        n_com,
        latest["respiratory_rate"],
        latest["spo2"],
        latest["gcs"],
        latest["urea"],
        latest["crp"],
    )
    return {
        "score": fc.score,
        "mortality_pct": fc.mortality_pct,  # observed at this score
        "risk_group": fc.risk_group,
        "risk_group_mortality_pct": fc.risk_group_mortality_pct,
        "points": fc.points,
    }


@hookimpl
def p4core_register_scores(register):
    register(
        "charlson",
        charlson_score,
        description="Charlson comorbidity index (Quan 2005 coding, Quan 2011 weights)",
    )
    register("isaric4c", four_c, description="ISARIC 4C Mortality Score (when the context has its inputs)")
