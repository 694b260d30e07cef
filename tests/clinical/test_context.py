"""Patient-context sources: the FHIR record plugin (fixture in ../shared/data/clinical)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import shared

from p4core.errors import InputError
from p4core.model import Context
from p4core.plugins.context_fhir import FhirConfig, load


def bundle(tmp_path, mutate=None, name="record.json"):
    data = json.loads(shared("clinical", "fhir_R4B_patient_context_bundle.json").read_text())
    if mutate:
        mutate(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def resource(data, kind):
    return next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind)


def test_fhir_fixture_gives_a_typed_context(tmp_path):
    ctx = load(FhirConfig(path=str(bundle(tmp_path)), index_date="2021-01-15"), Context(pseudonym="P-X"), "k")
    # born 1955-03-14, index 2021-01-15: 65 years (the exact age, not the difference of the years)
    assert ctx.sex == "male" and ctx.birth_year == 1955 and ctx.age == 65.0
    assert [d["code"] for d in ctx.diagnoses] == ["E11.9"] and ctx.diagnoses[0]["date"] == "2012-05-02"
    assert ctx.medication_records[0]["atc"] == "A10BA02"
    bmi = next(o for o in ctx.observations if o["loinc"] == "39156-5")
    assert bmi["value"] == 31.2 and bmi["unit"] == "kg/m2"
    from p4core.plugins.scores_builtin import charlson_score, four_c

    assert charlson_score(ctx)["conditions"] == ["diab"]
    assert four_c(ctx) is None  # the record lacks respiratory rate, SpO2, GCS, urea and CRP
    for loinc, name, value, unit in [("9279-1", "respiratory_rate", 31, "/min"), ("59408-5", "spo2", 90, "%"),
                                     ("9269-2", "gcs", 15, "1"), ("3094-0", "urea", 15, "mmol/L"),
                                     ("1988-5", "crp", 120, "mg/L")]:  # fmt: skip
        ctx.observations.append(
            {"loinc": loinc, "name": name, "value": value, "unit": unit, "date": "2021-01-14"}
        )
    fc = four_c(ctx)  # age 65 -> 4, male 1, diabetes + BMI 31.2 -> 2, RR 2, SpO2 2, GCS 0, urea 3, CRP 2
    assert fc["score"] == 16 and fc["risk_group"] == "Very high"
    assert fc["mortality_pct"] == 59.1 and fc["risk_group_mortality_pct"] == 61.5  # at 16; the group's
    cs = charlson_score(ctx)
    assert (
        cs["index"] == 0 and cs["age_points"] == 2 and cs["age_adjusted"] == 2
    )  # diabetes 0 (Quan 2011); 65: +2
    kinds = {e["kind"] for e in ctx.events}
    assert {"diagnosis", "treatment_start"} <= kinds
    diag = next(e for e in ctx.events if e["kind"] == "diagnosis")
    assert diag["time"] == (dt.date(2012, 5, 2) - dt.date(2021, 1, 15)).days  # days from the index date
    assert "123456" not in json.dumps(ctx.to_dict())  # the identifier only as a keyed pseudonym
    assert ctx.extra["record_pseudonym"].startswith("P-")


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda d: resource(d, "Observation")["valueQuantity"].update(code="lb/in2", unit="lb/in2"), "unit"),
        (lambda d: resource(d, "Condition")["code"]["coding"][0].update(code="E1X.9Q"), "ICD-10"),
        (lambda d: resource(d, "MedicationStatement")["medicationCodeableConcept"]["coding"][0].update(code="metformin"), "ATC"),
        (lambda d: resource(d, "Condition").update(onsetDateTime="2012-13-45"), "not a date"),
        (lambda d: resource(d, "Condition").update(onsetDateTime="2999-01-01"), "future"),
        (lambda d: d.update(resourceType="Patient"), "Bundle"),
    ],
)  # fmt: skip
def test_bad_records_are_clear_errors(tmp_path, mutate, needle):
    with pytest.raises(InputError, match=needle):
        load(FhirConfig(path=str(bundle(tmp_path, mutate))), Context(pseudonym="P-X"))


@pytest.mark.slow
def test_run_with_a_record_shows_the_context_and_never_the_identifier(tmp_path):
    raw = "LOPNR-9876543210"
    path = bundle(
        tmp_path, lambda d: resource(d, "Patient")["identifier"][0].update(value=raw), name="record.json"
    )
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run}", "context=[fhir]", f"context.fhir.path={path}",
           "context.fhir.index_date=2021-01-15", "twin.n_twins=4"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["patient"]["scores"]["charlson"]["conditions"] == ["rheumd", "diab"]  # demo RA + record
    assert "E11.9" in summary["patient"]["conditions"]
    for f in run.rglob("*"):
        if f.is_file():
            assert raw.encode() not in f.read_bytes(), f
    assert raw not in proc.stdout + proc.stderr


def test_ranking_flags_from_the_context(tmp_path):
    import pandas as pd

    from p4core.clinical.flags import flag_drugs, read_rules

    table = pd.DataFrame(
        {"drug": ["a", "b", "c", "d"], "atc": ["L04AB04", "A10BA02", "L04AX03|M01CX01", None]}
    )
    ctx = Context(pseudonym="P-X", conditions=["I50.9"], medications=["A10BA02"])
    ctx.medication_records.append({"atc": "M01CX01"})
    rules = tmp_path / "rules.tsv"
    rules.write_text(
        "# a test rule table\natc_prefix\ticd10_prefix\treason\nL04AB\tI50\tTNF inhibitor with heart failure\n"
    )
    out = flag_drugs(table, ctx, read_rules(rules))
    assert list(out["already_taken"]) == [False, True, True, False]
    assert list(out["avoid"]) == ["TNF inhibitor with heart failure (I50)", "", "", ""]
    assert list(flag_drugs(table, Context(pseudonym="P-Y"))["avoid"]) == ["", "", "", ""]
    (tmp_path / "bad.tsv").write_text("atc\tcode\n")
    with pytest.raises(InputError, match="missing columns"):
        read_rules(tmp_path / "bad.tsv")


VCF = """##fileformat=VCFv4.2
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tPATIENT_X
1\t4799428\t.\tG\tA\t.\tPASS\t.\tGT\t0/1
1\t5237785\t.\tA\tG\t.\tPASS\t.\tGT\t1/1
"""


def test_pgs_score_from_a_vcf(tmp_path):
    from p4core.plugins.context_pgs import PgsConfig, load, read_scoring_file, score

    vcf = tmp_path / "p.vcf"
    vcf.write_text(VCF)
    ctx = load(
        PgsConfig(scoring_file=str(shared("clinical", "pgs_custom_grch38_2variants.txt")), vcf=str(vcf)),
        Context(pseudonym="P"),
    )
    res = ctx.scores["pgs:custom"]
    # rs1: effect A = ALT, one copy; rs2: effect G = ALT, two copies
    assert res["score"] == pytest.approx(1 * -0.0504139458332669 + 2 * 0.040436175688854)
    assert res["matched"] == 2 and res["n_variants"] == 2
    assert "PATIENT_X" not in json.dumps(ctx.to_dict())
    _, variants = read_scoring_file(shared("clinical", "pgs_custom_grch38_2variants.txt"))
    ref_side = {
        ("1", 4799428): ("A", ["G"], 1.0),
        ("1", 5237785): ("C", ["T"], 2.0),
    }  # effect as REF / other strand
    r = score(variants, ref_side)
    assert r["matched"] == 2 and r["flipped"] == 1
    assert r["score"] == pytest.approx((2 - 1) * -0.0504139458332669 + (2 - 2) * 0.040436175688854)
    amb = variants.assign(effect_allele=["A", "C"], other_allele=["T", "G"])
    both = {("1", 4799428): ("T", ["A"], 1.0), ("1", 5237785): ("G", ["C"], 1.0)}
    r = score(amb, both)
    assert r["ambiguous"] == 2 and r["matched"] == 0 and r["score"] == 0
    r = score(variants, {("1", 4799428): ("G", ["A"], None)})
    assert r["missing_genotype"] == 1 and r["not_in_vcf"] == 1 and r["matched"] == 0


def test_pgs_refuses_non_additive_and_wrong_builds(tmp_path):
    from p4core.plugins.context_pgs import PgsConfig, load

    vcf = tmp_path / "p.vcf"
    vcf.write_text(VCF)
    with pytest.raises(InputError, match="non-additive"):
        load(
            PgsConfig(
                scoring_file=str(shared("clinical", "PGS000802_hmPOS_GRCh37.txt")),
                vcf=str(vcf),
                build="GRCh37",
            ),
            Context(pseudonym="P"),
        )
    with pytest.raises(InputError, match="GRCh37"):
        load(
            PgsConfig(
                scoring_file=str(shared("clinical", "pgs_custom_minimal_1variant.txt")),
                vcf=str(vcf),
                build="GRCh38",
            ),
            Context(pseudonym="P"),
        )
    two = tmp_path / "two.vcf"
    two.write_text(VCF.replace("PATIENT_X", "A\tB").replace("0/1", "0/1\t0/0").replace("1/1", "1/1\t0/0"))
    with pytest.raises(InputError, match="context.pgs.sample"):
        load(
            PgsConfig(scoring_file=str(shared("clinical", "pgs_custom_grch38_2variants.txt")), vcf=str(two)),
            Context(pseudonym="P"),
        )


NPR = """LopNr,INDATUM,UTDATUM,HDIA,DIA1,DIA2
77001234,2019-03-02,20190310,I50.9,E11.9,
77001234,19950401,,4019,,
77001234,20200115,,K703,R18,
88009999,20200101,,C78.0,,
"""
LMED = """LopNr;EDATUM;ATC;ANTAL
77001234;2020-02-01;L04AX03;2
77001234;2020-03-01;A10BA02;1
77001234;2020-03-04;A10BA02;-1
77001234;2020-05-01;A10BA02;3
88009999;2020-01-01;L04AB04;1
"""


def test_registers_extracts(tmp_path):
    from p4core.plugins.context_registers import RegistersConfig, load

    (tmp_path / "par.csv").write_text(NPR)
    (tmp_path / "lmed.csv").write_text(LMED)
    cfg = RegistersConfig(
        npr=str(tmp_path / "par.csv"),
        lmed=str(tmp_path / "lmed.csv"),
        lopnr="77001234",
        index_date="2021-01-01",
    )
    ctx = load(cfg, Context(pseudonym="P"), "key")
    versions = {d["code"]: d["version"] for d in ctx.diagnoses}
    assert versions["I509"] == "ICD-10-SE" and versions["4019"] == "ICD-9-SE"  # the version follows the date
    assert "C780" not in versions  # another person's contact
    sw = ctx.scores["charlson_swedish2021"]
    # heart failure 1, diabetes 1, mild liver disease + ascites -> severe liver disease 3
    assert set(sw["conditions"]) == {
        "Congestive_heart_failure",
        "Diabetes_without_chronic_complication",
        "moderate severe liver disease",
    }
    assert sw["index"] == 1 + 1 + 3
    meds = [(m["atc"], m["start"], m["packages"]) for m in ctx.medication_records]
    assert meds == [
        ("L04AX03", "2020-02-01", 2.0),
        ("A10BA02", "2020-05-01", 3.0),
    ]  # the corrected dispensation is gone
    assert ctx.extra["register_report"]["lmed_dispensations_netted_out"] == 1
    diag = next(e for e in ctx.events if e["label"].startswith("diagnosis I509"))
    assert diag["time"] == (dt.date(2019, 3, 10) - dt.date(2021, 1, 1)).days  # UTDATUM for the code's date
    assert "77001234" not in json.dumps(ctx.to_dict())
    (tmp_path / "bad.csv").write_text(NPR.replace("20190310", "20191340"))
    with pytest.raises(InputError, match="impossible date"):
        load(RegistersConfig(npr=str(tmp_path / "bad.csv"), lopnr="77001234"), Context(pseudonym="P"))


@pytest.mark.slow
def test_run_with_registers_never_writes_the_lopnr(tmp_path):
    (tmp_path / "par.csv").write_text(NPR)
    (tmp_path / "lmed.csv").write_text(LMED)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run}", "context=[registers]",
           f"context.registers.npr={tmp_path / 'par.csv'}", f"context.registers.lmed={tmp_path / 'lmed.csv'}",
           "context.registers.lopnr=77001234", "context.registers.index_date=2021-01-01", "twin.n_twins=4"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["patient"]["scores"]["charlson_swedish2021"]["index"] == 5
    drugs = (run / "drugs.csv").read_text()
    assert "True" in drugs  # methotrexate (L04AX03) is flagged as already taken
    # as a token: the digits may occur by chance inside a float of the numeric tables (0.857700123...)
    lopnr = re.compile(rb"(?<![0-9.])77001234(?![0-9])")
    for f in run.rglob("*"):
        if f.is_file():
            assert not lopnr.search(f.read_bytes()), f
    assert "77001234" not in proc.stdout + proc.stderr


def _wheel_dicom(*parts):
    pydicom = pytest.importorskip("pydicom")
    from pathlib import Path

    path = Path(pydicom.__file__).parent / "data" / "test_files" / Path(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not in the pydicom wheel")
    return path


def test_dicom_hu_conversion_and_slice_order(tmp_path):
    import pydicom

    from p4core.plugins.context_imaging import read_dicom_series

    ct = _wheel_dicom("CT_small.dcm")
    ds = pydicom.dcmread(ct)
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.dcm").write_bytes(ct.read_bytes())
    vol, date, _ = read_dicom_series(one)
    assert date == dt.date(2004, 1, 19)
    assert np.array_equal(vol[0], ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept))
    series = _wheel_dicom("dicomdirtests", "98892001", "CT5N")
    vol, _, _ = read_dicom_series(series)
    positions = sorted(float(pydicom.dcmread(f).ImagePositionPatient[2]) for f in series.iterdir())
    assert vol.shape[0] == 5 and len(positions) == 5
    first = min(series.iterdir(), key=lambda f: float(pydicom.dcmread(f).ImagePositionPatient[2]))
    d0 = pydicom.dcmread(first)
    assert np.array_equal(vol[0], d0.pixel_array * float(d0.RescaleSlope) + float(d0.RescaleIntercept))
    broken = tmp_path / "broken"
    broken.mkdir()
    d0 = pydicom.dcmread(ct)
    del d0.ImagePositionPatient
    d0.save_as(broken / "x.dcm")
    with pytest.raises(InputError, match="ImagePositionPatient"):
        read_dicom_series(broken)


def phantom(gg: int, cons: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """A chest phantom: air outside, soft-tissue body, two lungs at -850 HU with ``gg`` ground-glass
    (-550 HU) and ``cons`` consolidated (-50 HU) voxels placed inside the right lung."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[0:24, 0:64, 0:64]
    vol = np.full((24, 64, 64), -1000.0)
    body = ((y - 32) / 28) ** 2 + ((x - 32) / 30) ** 2 < 1
    vol[body] = 40.0
    lungs = body & (
        (((y - 32) / 16) ** 2 + ((x - 20) / 8) ** 2 < 1) | (((y - 32) / 16) ** 2 + ((x - 44) / 8) ** 2 < 1)
    )
    lungs &= (z > 1) & (z < 22)
    vol[lungs] = -850.0
    from scipy import ndimage

    interior = ndimage.binary_erosion(lungs, iterations=2)  # lesions inside the lung (not juxtapleural)
    right = np.flatnonzero((interior & (x > 32)).ravel())
    pick = rng.choice(right, size=gg + cons, replace=False)
    vol.ravel()[pick[:gg]] = -550.0
    vol.ravel()[pick[gg:]] = -50.0
    return vol, int(lungs.sum())


def test_lung_involvement_on_phantoms_with_known_fractions(tmp_path):
    nib = pytest.importorskip("nibabel")
    from p4core.plugins.context_imaging import ImagingConfig, involvement, load, lung_mask

    vol, n_lung = phantom(gg=600, cons=300)
    mask = lung_mask(vol)
    assert mask.sum() == n_lung  # the threshold segmentation finds the lungs, consolidation included
    res = involvement(vol, mask, {"ground_glass": [-750, -300], "consolidation": [-300, 50]})
    assert res["ground_glass_pct"] == pytest.approx(100 * 600 / n_lung)
    assert res["consolidation_pct"] == pytest.approx(100 * 300 / n_lung)
    paths = []
    for k, (gg, cons) in enumerate([(200, 0), (900, 400), (100, 0)]):
        v, _ = phantom(gg, cons, seed=k)
        p = tmp_path / f"ct{k}.nii.gz"
        nib.save(nib.Nifti1Image(v.transpose(2, 1, 0), np.eye(4)), p)
        paths.append(str(p))
    cfg = ImagingConfig(
        series=paths, dates=["2024-03-01", "2024-04-01", "2024-09-01"], index_date="2024-03-01"
    )
    ctx = load(cfg, Context(pseudonym="P"))
    course = [round(s["involvement_pct"], 3) for s in ctx.imaging]
    assert course[1] > course[0] > course[2]  # worse, then resolving: the imaging course
    assert [e["time"] for e in ctx.events] == [0.0, 31.0, 184.0]
    nonhu = tmp_path / "raw.nii.gz"
    nib.save(nib.Nifti1Image((vol + 1024).transpose(2, 1, 0) * 10, np.eye(4)), nonhu)
    with pytest.raises(InputError, match="Hounsfield"):
        load(ImagingConfig(series=[str(nonhu)]), Context(pseudonym="P"))


@pytest.mark.slow
def test_demo_patient_with_the_whole_context(tmp_path):
    """python -m p4core context=[demo]: record + registers + imaging + PRS flow into the outputs."""
    import mido

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run}", "context=[demo]", "twin.n_twins=4"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    p = json.loads((run / "summary.json").read_text())["patient"]
    assert p["birth_year"] == 1970 and p["index_date"] == "2024-03-01"
    assert set(p["scores"]["charlson"]["conditions"]) == {"copd", "rheumd", "diab"}  # record + NPR
    assert p["scores"]["charlson_swedish2021"]["index"] == 3
    assert p["scores"]["pgs:p4core_demo"]["matched"] == 3
    assert p["scores"]["pgs:p4core_demo"]["score"] == pytest.approx(0.41 * 1 + 0.52 * 2 + 0.11 * 0)
    course = [s["involvement_pct"] for s in p["imaging"]]
    assert len(course) == 3 and course[1] > course[0] and course[1] > course[2]
    cues = [m.text for m in mido.MidiFile(run / "course.mid").tracks[0] if m.type == "cue_marker"]
    ct = {c for c in cues if c.startswith("CT: lung involvement")}
    assert len(ct) == 3  # the imaging course, cued in every scenario's segment
    drugs = (run / "drugs.csv").read_text()
    assert "already_taken" in drugs
    for f in run.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            for raw in (b"DEMO-MRN-0042", b"5550001", b"DEMO_SAMPLE"):
                # as a token: a digit-only identifier must not match inside a float (0.35550001...)
                assert not re.search(rb"(?<![0-9.])" + re.escape(raw) + rb"(?![0-9])", data), (f, raw)


RECORD = """identifier: MRN-77-SECRET
sex: female
birth_year: 1970
index_date: 2024-03-01
diagnoses: [{code: M05.79, date: 2023-12-01}, {code: I50.9, date: 2022-01-10}]
medications: [{atc: L04AX03, start: 2024-01-02, end: 2024-02-20}]
observations: [{loinc: 1988-5, value: 38, unit: mg/L, date: 2024-02-28}]
events: [{date: 2024-02-10, kind: flare, label: flare of both wrists}]
"""


def test_yaml_record(tmp_path):
    from p4core.plugins.context_record import RecordConfig, load

    path = tmp_path / "r.yaml"
    path.write_text(RECORD)
    ctx = load(RecordConfig(path=str(path)), Context(pseudonym="P"), "k")
    assert ctx.age == 54.0 and ctx.conditions == ["M05.79", "I50.9"]
    kinds = [(e["kind"], e["time"]) for e in ctx.events]
    assert ("flare", -20.0) in kinds and ("treatment_stop", -10.0) in kinds
    assert ctx.observations[0]["name"] == "crp"
    assert "MRN-77-SECRET" not in json.dumps(ctx.to_dict())
    for bad, needle in [
        ("code: M05.79", "code: 5M0"),
        ("unit: mg/L", "unit: g/dL"),
        ("end: 2024-02-20", "end: 2023-02-20"),
        ("sex: female", "sex: x"),
    ]:
        path.write_text(RECORD.replace(bad, needle))
        with pytest.raises((InputError, ValueError)):
            load(RecordConfig(path=str(path)), Context(pseudonym="P"))


def test_vcf_without_genotypes_and_mixed_dicom_series(tmp_path):
    from p4core.plugins.context_pgs import read_vcf

    vcf = tmp_path / "nogt.vcf"
    vcf.write_text(VCF.replace("\tFORMAT\tPATIENT_X", "").replace("\tGT\t0/1", "").replace("\tGT\t1/1", ""))
    with pytest.raises(InputError, match="sample"):
        read_vcf(vcf)
    pydicom = pytest.importorskip("pydicom")
    from p4core.plugins.context_imaging import read_dicom_series

    ct = _wheel_dicom("CT_small.dcm")
    other = next(_wheel_dicom("dicomdirtests", "98892001", "CT5N").iterdir())
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.dcm").write_bytes(ct.read_bytes())
    (mixed / "b.dcm").write_bytes(other.read_bytes())
    assert (
        pydicom.dcmread(mixed / "a.dcm").SeriesInstanceUID
        != pydicom.dcmread(mixed / "b.dcm").SeriesInstanceUID
    )
    with pytest.raises(InputError, match="series mixed"):
        read_dicom_series(mixed)


def test_privacy_mapping_file(tmp_path):
    """A site's mapping file replaces the keyed hash; an identifier missing from it is an error
    that does not echo it."""
    from p4core.clinical.privacy import Pseudonymiser, pseudonyms
    from p4core.plugins.context_record import RecordConfig, load

    mapping = tmp_path / "map.csv"
    mapping.write_text("identifier,pseudonym\nMRN-77-SECRET,SITE-0001\n")
    path = tmp_path / "r.yaml"
    path.write_text(RECORD)
    with pseudonyms(Pseudonymiser.from_config(mapping=str(mapping))):
        ctx = load(RecordConfig(path=str(path)), Context(pseudonym="P"))
        assert ctx.extra["record_pseudonym"] == "SITE-0001"
        path.write_text(RECORD.replace("MRN-77-SECRET", "MRN-UNKNOWN-1"))
        with pytest.raises(InputError, match="not in the mapping file") as err:
            load(RecordConfig(path=str(path)), Context(pseudonym="P"))
        assert "MRN-UNKNOWN-1" not in str(err.value)
    path.write_text(RECORD)  # outside the block: the keyed hash again
    assert (
        load(RecordConfig(path=str(path)), Context(pseudonym="P")).extra["record_pseudonym"].startswith("P-")
    )
