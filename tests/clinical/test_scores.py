"""Comorbidity indices and the ISARIC 4C score reproduce the published tables (../shared/data/clinical)."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import shared

from p4core.clinical.scores import charlson, elixhauser, isaric4c, table
from p4core.errors import InputError


def test_shipped_charlson_table_equals_the_published_one():
    pub = pd.read_csv(shared("clinical", "charlson_quan2005_icd10.csv"), dtype=str, keep_default_na=False)
    ours = table("charlson_quan2005")
    assert list(ours["key"]) == list(pub["key_comorbidipy"])
    assert list(ours["icd10_prefixes"]) == list(pub["icd10_prefixes_nodot"])
    assert list(ours["weight_quan2011"]) == list(pub["weight_quan2011"])
    assert list(ours["weight_charlson1987"]) == list(pub["weight_charlson1987"])
    assert dict(zip(ours["key"], ours["weight_quan2011"], strict=True))["aids"] == "4"  # not 2


@pytest.mark.parametrize("weights", ["charlson1987", "quan2011"])
def test_each_condition_alone_scores_its_published_weight(weights):
    pub = pd.read_csv(shared("clinical", "charlson_quan2005_icd10.csv"), dtype=str)
    for key, prefixes, w in zip(
        pub["key_comorbidipy"], pub["icd10_prefixes_nodot"], pub[f"weight_{weights}"], strict=True
    ):
        for p in prefixes.split(";"):
            code = p[:3] + "." + p[3:] + ("9" if len(p) < 5 else "")  # a dotted, longer code
            res = charlson([code], weights=weights)
            assert res.present == [key], (code, res.present)
            assert res.index == int(w)


def test_charlson_hierarchy_and_sums():
    res = charlson(["K70.3", "I85.0"], weights="quan2011")  # mild + moderate/severe liver disease
    assert res.present == ["msld"] and res.index == 4
    res = charlson(["E11.9", "E11.2", "C18.0", "C78.0", "I21.0"], weights="charlson1987")
    assert set(res.present) == {"diabwc", "metacanc", "ami"} and res.index == 2 + 6 + 1
    assert charlson([]).index == 0
    near = charlson(["I25.1"])  # I252 is old MI; I251 is not
    assert near.present == []


def test_malformed_codes_are_reported_not_matched():
    res = charlson(["I21.0", "21I", "", "E11.999999"])
    assert res.present == ["ami"]
    assert res.malformed == ["21I", "", "E11.999999"]
    with pytest.raises(InputError, match="weights"):
        charlson(["I21"], weights="quan2005")


def test_swedish_adaptation():
    pub = pd.read_csv(shared("clinical", "charlson_swedish_ludvigsson2021_icd10_v4.csv"), dtype=str)
    weights = dict(zip(pub["category_as_in_script"], pub["weight_in_script_CCIw"], strict=True))
    res = charlson(["J44.1"], scheme="swedish2021")
    assert res.present == ["Chronic_obstructive_pulmonary_disease"] and res.index == int(
        weights["Chronic_obstructive_pulmonary_disease"]
    )
    mild = charlson(["K70.3"], scheme="swedish2021")
    assert mild.present == ["Mild_liver_disease"] and mild.index == 1
    ascites = charlson(["K70.3", "R18"], scheme="swedish2021")  # mild + ascites = severe
    assert ascites.present == ["moderate severe liver disease"] and ascites.index == 3
    assert charlson(["R18"], scheme="swedish2021").index == 0


def test_elixhauser_van_walraven():
    res = elixhauser(["I50.9", "E66.0", "C78.0", "C18.0"])
    assert set(res.present) == {"chf", "obes", "metacanc"}  # solid tumour not counted with metastases
    assert res.index == 7 - 4 + 12


BASE = dict(
    age=40,
    sex_at_birth="female",
    n_comorbidities=0,
    respiratory_rate=15,
    spo2_room_air=98,
    gcs=15,
    urea=5,
    crp=10,
)


@pytest.mark.parametrize(
    "variable, value, points",
    [
        ("age", 49.99, 0), ("age", 50, 2), ("age", 59.9, 2), ("age", 60, 4), ("age", 69, 4), ("age", 70, 6),
        ("age", 79.9, 6), ("age", 80, 7),
        ("sex_at_birth", "male", 1), ("sex_at_birth", "female", 0),
        ("n_comorbidities", 0, 0), ("n_comorbidities", 1, 1), ("n_comorbidities", 2, 2), ("n_comorbidities", 5, 2),
        ("respiratory_rate", 19, 0), ("respiratory_rate", 20, 1), ("respiratory_rate", 29, 1), ("respiratory_rate", 30, 2),
        ("spo2_room_air", 92, 0), ("spo2_room_air", 91.9, 2),
        ("gcs", 15, 0), ("gcs", 14, 2),
        ("urea", 6.99, 0), ("urea", 7, 1), ("urea", 14, 1), ("urea", 14.01, 3),
        ("crp", 49.9, 0), ("crp", 50, 1), ("crp", 99.9, 1), ("crp", 100, 2),
    ],
)  # fmt: skip
def test_4c_points_at_every_category_boundary(variable, value, points):
    res = isaric4c(**{**BASE, variable: value})
    assert res.points[variable] == points
    assert res.score == points


def test_4c_maximum_and_risk_groups():
    top = isaric4c(85, "male", 3, 35, 85, 9, 20, 150)
    assert top.score == 21 and top.risk_group == "Very high"
    assert top.mortality_pct == 87.5 and top.risk_group_mortality_pct == 61.5  # observed at 21; the group's
    groups = pd.read_csv(shared("clinical", "isaric4c_risk_groups.csv"))
    for g in groups.itertuples():
        for s in (g.score_min, g.score_max):
            # find inputs with this score: age points (0/2/4/6/7) + others
            res = _with_score(int(s))
            assert (
                res.score == s
                and res.risk_group == g.risk_group
                and res.risk_group_mortality_pct == g.mortality_pct_official_calculator
            )


def test_4c_mortality_is_the_observed_one_at_every_score():
    """Every score 0-21: the mortality is the published per-score figure (Knight 2020), not the group's."""
    pub = pd.read_csv(shared("clinical", "isaric4c_mortality_by_score.csv"))
    ours = table("isaric4c_mortality_by_score")
    assert list(ours["score"].astype(int)) == list(pub["score"]) == list(range(22))
    assert list(ours["risk_group"]) == list(pub["risk_group"])
    for row in pub.itertuples():
        res = _with_score(int(row.score))
        assert res.score == row.score and res.risk_group == row.risk_group
        assert res.mortality_pct == row.mortality_pct_rounded_as_displayed, row.score
    low, high = _with_score(3), _with_score(4)  # the two sides of the Low/Intermediate boundary
    assert (low.mortality_pct, high.mortality_pct) == (2.3, 4.8)
    assert (low.risk_group_mortality_pct, high.risk_group_mortality_pct) == (1.2, 9.9)


@pytest.mark.parametrize(
    "age,points",
    [(0, 0), (49.99, 0), (50, 1), (59.99, 1), (60, 2), (69.99, 2), (70, 3), (79.99, 3), (80, 4), (104, 4)],
)
def test_charlson_age_adjusted_at_every_decade_boundary(age, points):
    """Charlson 1994: +1 per decade from 50, up to +4 at 80 and over, added to the index."""
    res = charlson(["I50.9", "E11.9"], weights="charlson1987", age=age)
    assert res.index == 2 and res.age_points == points and res.age_adjusted == 2 + points
    assert charlson(["I50.9"]).age_adjusted is None  # no age given


def test_charlson_age_must_be_an_age():
    with pytest.raises(InputError, match="charlson: age"):
        charlson(["I50.9"], age=-1)


def _with_score(s: int):
    parts = [("age", [(0, 40), (2, 55), (4, 65), (6, 75), (7, 85)]), ("crp", [(0, 10), (1, 60), (2, 150)]),
             ("urea", [(0, 5), (1, 10), (3, 20)]), ("gcs", [(0, 15), (2, 10)]), ("spo2_room_air", [(0, 98), (2, 85)]),
             ("respiratory_rate", [(0, 15), (1, 25), (2, 35)]), ("n_comorbidities", [(0, 0), (1, 1), (2, 2)]),
             ("sex_at_birth", [(0, "female"), (1, "male")])]  # fmt: skip
    kw, left = dict(BASE), s
    for var, options in parts:
        pts, val = max(((p, v) for p, v in options if p <= left), key=lambda x: x[0])
        kw[var], left = val, left - pts
    assert left == 0
    return isaric4c(**kw)


def test_4c_bad_values_are_clear():
    with pytest.raises(InputError, match="gcs"):
        isaric4c(**{**BASE, "gcs": 16})
    with pytest.raises(InputError, match="sex_at_birth"):
        isaric4c(**{**BASE, "sex_at_birth": "unknown"})
    with pytest.raises(InputError, match="spo2"):
        isaric4c(**{**BASE, "spo2_room_air": 140})


def test_swedish_table_each_category_alone():
    """Every code of the published lists lands in its category with its weight. The lists overlap once:
    F024 (dementia in HIV disease) is in both Dementia (F02) and AIDS, and counts for both, as in the
    authors' script."""
    pub = pd.read_csv(shared("clinical", "charlson_swedish_ludvigsson2021_icd10_v4.csv"), dtype=str)
    lists = {
        c: p.split(";")
        for c, p in zip(pub["category_as_in_script"], pub["icd10_prefixes_nodot"], strict=True)
    }
    weight = dict(zip(pub["category_as_in_script"], pub["weight_in_script_CCIw"].astype(int), strict=True))
    for cat, prefixes in lists.items():
        if cat == "liver special":
            continue
        for p in prefixes:
            code = p + "0" if len(p) == 3 else p
            expected = {c for c, ps in lists.items() if c != "liver special" and code.startswith(tuple(ps))}
            res = charlson([code], scheme="swedish2021")
            assert set(res.present) == expected and cat in expected, (code, res.present)
            assert res.index == sum(weight[c] for c in expected)
    assert set(charlson(["F024"], scheme="swedish2021").present) == {"Dementia", "Aids"}


def test_shipped_elixhauser_table_equals_the_published_one():
    pub = pd.read_csv(
        shared("clinical", "elixhauser_quan2005_icd10_vanwalraven.csv"), dtype=str, keep_default_na=False
    )
    ours = table("elixhauser_quan2005")
    assert list(ours["key"]) == list(pub["key"])
    assert list(ours["icd10_prefixes"]) == list(pub["icd10_prefixes_nodot"])
    assert list(ours["weight"]) == list(pub["weight_van_walraven2009"])
