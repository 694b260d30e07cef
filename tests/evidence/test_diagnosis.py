"""The diagnosis: resolved through the ontology by id, name, synonym or ICD-10 code, or from the record."""

from __future__ import annotations

import pandas as pd
import pytest

from p4core.errors import InputError
from p4core.evidence import describe, icd10_parents, map_icd10, resolve_diagnosis
from p4core.model import Context


@pytest.fixture(scope="module")
def dk(knowledge):
    return knowledge.diseases


def test_icd10_parents():
    assert icd10_parents("M05.79") == ["M05.79", "M05.7", "M05"]
    assert icd10_parents("k509") == ["K50.9", "K50"]
    assert icd10_parents("J45") == ["J45"]


def test_by_id_name_and_synonym(dk):
    for query in ("DOID:7148", "doid:7148", "Rheumatoid Arthritis", "rheumatoid  arthritis"):
        dx, rec = resolve_diagnosis(query, dk)
        assert dx is not None and dx.doid == "DOID:7148" and dx.disease == "DOID:7148", query
        assert dx.category == "immunologic" and dx.source == "config" and rec["status"] == "resolved"
    dx, _ = resolve_diagnosis("Crohn disease", dk)  # a synonym
    assert dx.doid == "DOID:8778" and dx.name == "Crohn's disease"


def test_a_specific_term_counts_for_the_disease_that_subsumes_it(dk):
    dx, _ = resolve_diagnosis("Crohn's colitis", dk)
    assert dx.doid == "DOID:0060192" and dx.disease == "DOID:8778" and dx.disease_name == "Crohn's disease"
    assert dx.label == "Crohn's colitis (Crohn's disease)"


def test_unknown_name_gives_the_closest(dk):
    with pytest.raises(InputError, match="closest: 'rheumatoid arthritis'") as err:
        resolve_diagnosis("rheumatoid artritis", dk)
    assert "data.diagnosis" in str(err.value)
    with pytest.raises(InputError, match="not a term"):
        resolve_diagnosis("DOID:999999999", dk)


def test_ambiguous_name_lists_the_terms(dk):
    terms = pd.concat(
        [dk.terms, pd.DataFrame({"doid": ["DOID:8577"], "name": ["Crohn disease"], "kind": ["synonym"]})]
    )
    import dataclasses

    twice = dataclasses.replace(dk, terms=terms)
    with pytest.raises(InputError, match="ambiguous.*DOID:8577|ambiguous.*DOID:8778"):
        resolve_diagnosis("Crohn disease", twice)


def test_icd10_code_maps_through_its_parents(dk):
    dx, rec = resolve_diagnosis("ICD10:K50.8", dk)  # K50.8 is not cross-referenced; its parent K50 is
    assert dx.doid == "DOID:8778" and rec["codes"] == [
        {"code": "K50.8", "doid": "DOID:8778", "name": "Crohn's disease"}
    ]
    assert map_icd10("Z99.9", dk) is None
    with pytest.raises(InputError, match="Z99.9.*map to no Disease Ontology term"):
        resolve_diagnosis("ICD10:Z99.9", dk)


def test_from_the_record_every_code_is_listed(dk):
    ctx = Context(pseudonym="P-1", conditions=["L27.0", "K50.9"])
    dx, rec = resolve_diagnosis(None, dk, ctx)
    assert dx.doid == "DOID:8778" and dx.source == "record" and dx.query == "K50.9"
    assert rec["codes"] == [
        {"code": "L27.0", "doid": None, "name": None},
        {"code": "K50.9", "doid": "DOID:8778", "name": "Crohn's disease"},
    ]
    line = describe(dx, rec)
    assert "L27.0 -> nothing" in line and "K50.9 -> Crohn's disease" in line


def test_no_diagnosis_is_absent_with_its_reason(dk):
    ctx = Context(pseudonym="P-1", conditions=["L27.0"])
    dx, rec = resolve_diagnosis(None, dk, ctx)
    assert dx is None and rec["status"] == "absent" and "L27.0" in rec["reason"]
    assert "absent" in describe(dx, rec)
    dx, rec = resolve_diagnosis("none", dk, ctx)
    assert dx is None and rec["status"] == "none"
    dx, rec = resolve_diagnosis(None, None)
    assert dx is None and "no disease ontology" in rec["reason"]
    with pytest.raises(InputError, match="no disease ontology"):
        resolve_diagnosis("rheumatoid arthritis", None)
