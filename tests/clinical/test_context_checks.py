"""Context sources refuse impossible data, naming the file and field (never an identifier)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from test_context import LMED, NPR, RECORD, bundle, resource

from p4core.clinical.checks import MAX_AGE, check_birth
from p4core.errors import InputError
from p4core.model import Context

NEXT_YEAR = dt.date.today().year + 1


@pytest.mark.parametrize(
    "year,index,birth,age",
    [
        (1970, dt.date(2024, 3, 1), None, 54.0),
        (2024, dt.date(2024, 3, 1), None, 0.0),  # born in the sampling year
        (None, dt.date(2024, 3, 1), dt.date(1970, 3, 1), 54.0),  # the birthday itself
        (None, dt.date(2024, 3, 1), dt.date(1970, 3, 2), 53.0),  # one day before it
        (2024 - MAX_AGE, dt.date(2024, 3, 1), None, float(MAX_AGE)),  # the oldest accepted
        (1970, None, None, None),  # no index date: no age
    ],
)
def test_age_at_the_boundaries(year, index, birth, age):
    assert check_birth(year, index, "f", birth) == age


@pytest.mark.parametrize(
    "year,index,birth,needle",
    [
        (2029, dt.date(2024, 3, 1), None, "after the index date"),
        (None, dt.date(2024, 3, 1), dt.date(2024, 3, 2), "after the index date"),
        (2024 - MAX_AGE - 1, dt.date(2024, 3, 1), None, "outside 0-120"),
        (NEXT_YEAR, None, None, "in the future"),
    ],
)
def test_impossible_births(year, index, birth, needle):
    with pytest.raises(InputError, match=needle):
        check_birth(year, index, "record.yaml: birth_year", birth)


@pytest.mark.parametrize(
    "old,new,needle",
    [
        ("birth_year: 1970", "birth_year: 2029", "birth_year: born 2029, after the index date 2024-03-01"),
        ("birth_year: 1970", "birth_year: 1890", "birth_year: an age of 134 years"),
        ("birth_year: 1970", "birth_year: nineteen", "birth_year must be a year"),
        ("index_date: 2024-03-01", f"index_date: {NEXT_YEAR}-01-01", "index_date: .* is in the future"),
        (
            "{code: I50.9, date: 2022-01-10}",
            f"{{code: I50.9, date: {NEXT_YEAR}-01-10}}",
            r"diagnoses\[1\]: .* future",
        ),
        ("date: 2024-02-28}", f"date: {NEXT_YEAR}-02-28}}", r"observations\[0\]: .* future"),
    ],
)
def test_record_refuses_impossible_dates(tmp_path, old, new, needle):
    from p4core.plugins.context_record import RecordConfig, load

    path = tmp_path / "r.yaml"
    assert old in RECORD
    path.write_text(RECORD.replace(old, new))
    with pytest.raises(InputError, match=needle) as err:
        load(RecordConfig(path=str(path)), Context(pseudonym="P"), "k")
    assert str(path) in str(err.value) and "MRN-77-SECRET" not in str(err.value)


def test_fhir_refuses_birth_after_index_and_two_people(tmp_path):
    from p4core.plugins.context_fhir import FhirConfig, load

    def born_late(data):
        resource(data, "Patient")["birthDate"] = "2022-06-01"

    with pytest.raises(
        InputError, match="Patient.birthDate: born 2022-06-01, after the index date 2021-01-15"
    ):
        load(
            FhirConfig(path=str(bundle(tmp_path, born_late)), index_date="2021-01-15"), Context(pseudonym="P")
        )

    def twin_patient(data, birth):
        p = json.loads(json.dumps(resource(data, "Patient")))
        p["id"], p["birthDate"] = "other", birth
        data["entry"].append({"resource": p})

    path = bundle(tmp_path, lambda d: twin_patient(d, "1961-01-01"), "two.json")
    with pytest.raises(InputError, match="share an identifier but differ in birth date or gender") as err:
        load(FhirConfig(path=str(path), index_date="2021-01-15"), Context(pseudonym="P"))
    ids = [i["value"] for i in resource(json.loads(path.read_text()), "Patient").get("identifier", [])]
    assert ids and not any(i in str(err.value) for i in ids)
    # the same Patient twice (a duplicated entry) is one person
    same = bundle(tmp_path, lambda d: twin_patient(d, resource(d, "Patient")["birthDate"]), "same.json")
    data = json.loads(same.read_text())
    data["entry"][-1]["resource"]["id"] = resource(data, "Patient")["id"]
    same.write_text(json.dumps(data))
    assert load(FhirConfig(path=str(same), index_date="2021-01-15"), Context(pseudonym="P")).age == 65.0


def test_registers_refuse_two_people_under_one_lopnr_and_impossible_births(tmp_path):
    from p4core.plugins.context_registers import RegistersConfig, load

    def extract(text):
        path = tmp_path / "npr.csv"
        path.write_text(text)
        return RegistersConfig(npr=str(path), lopnr="77001234", index_date="2021-01-01")

    lines = NPR.strip().splitlines()
    with_sex = [lines[0] + ",KON"] + [ln + ("," + ("1" if i != 2 else "2")) for i, ln in enumerate(lines[1:])]
    with pytest.raises(
        InputError, match=r"1 identifier\(s\) with more than one KON .* data rows \[1, 2"
    ) as err:
        load(extract("\n".join(with_sex) + "\n"), Context(pseudonym="P"))
    assert "77001234" not in str(err.value)
    with_birth = [lines[0] + ",FODAR"] + [ln + ",1950" for ln in lines[1:]]
    ctx = load(extract("\n".join(with_birth) + "\n"), Context(pseudonym="P"))
    assert ctx.birth_year == 1950 and ctx.age == 71.0
    late = [lines[0] + ",FODAR"] + [ln + ",2022" for ln in lines[1:]]
    with pytest.raises(InputError, match="born 2022, after the index date 2021-01-01"):
        load(extract("\n".join(late) + "\n"), Context(pseudonym="P"))
    future = LMED.replace("2020-05-01", f"{NEXT_YEAR}-05-01")
    (tmp_path / "lmed.csv").write_text(future)
    with pytest.raises(InputError, match="EDATUM: .* is in the future"):
        load(RegistersConfig(lmed=str(tmp_path / "lmed.csv"), lopnr="77001234"), Context(pseudonym="P"))


def test_imaging_refuses_bad_and_future_study_dates(tmp_path):
    nib = pytest.importorskip("nibabel")
    from test_context import phantom

    from p4core.plugins.context_imaging import ImagingConfig, load

    v, _ = phantom(200, 0)
    p = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(v.transpose(2, 1, 0), np.eye(4)), p)
    with pytest.raises(InputError, match=r"context.imaging.dates\[0\]: '2024-13-01' is not a date"):
        ImagingConfig(series=[str(p)], dates=["2024-13-01"])
    with pytest.raises(InputError, match="study date: .* is in the future"):
        load(ImagingConfig(series=[str(p)], dates=[f"{NEXT_YEAR}-01-01"]), Context(pseudonym="P"))


def test_cli_record_with_birth_after_index_fails_cleanly(tmp_path):
    """The case from the field: a record born after its index date used to give "age": -5.0."""
    import subprocess
    import sys

    rec = tmp_path / "r.yaml"
    rec.write_text(RECORD.replace("birth_year: 1970", "birth_year: 2029"))
    cmd = [
        sys.executable,
        "-m",
        "p4core",
        f"hydra.run.dir={tmp_path / 'run'}",
        "twin.n_twins=2",
        "data.n_cells=60",
        "render=[json]",
        "context=[record]",
        f"context.record.path={rec}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "birth_year: born 2029, after the index date 2024-03-01" in proc.stderr
    assert not (tmp_path / "run" / "summary.json").exists()
