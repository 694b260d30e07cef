"""The evidence stage on a demo patient (Python API), and its failures on the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import p4core_in_process, shared

import p4core
from p4core.evidence import EvidenceParams, evidence, rank_by_evidence, resolve_diagnosis


@pytest.fixture(scope="module")
def arthritis(knowledge):
    patient = p4core.datasets.demo_patient("arthritis", n_cells=60)
    ens = p4core.build_twins(patient, knowledge, p4core.TwinParams(n_twins=3))
    res = p4core.screen(ens, knowledge.drugs, p4core.ScreenParams(n_null=200, pairs_top=0))
    return patient, ens, res


def test_lines_present_with_a_diagnosis(arthritis, knowledge):
    patient, ens, res = arthritis
    dx, _ = resolve_diagnosis(patient.diagnosis, knowledge.diseases, patient.context)
    ev = evidence(ens, res, knowledge, dx, EvidenceParams(n_null=100))
    assert (
        ev.present("genetics")
        and ev.present("precedent")
        and ev.model["pattern"] == "mechanism+genetics+precedent"
    )
    ranked = rank_by_evidence(res, ev)
    t = ranked.table
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    assert t["probability"].is_monotonic_decreasing
    # the arrays follow the table
    pos = {d: i for i, d in enumerate(res.drugs)}
    for k in (0, 5, len(t) - 1):
        d = t["drug"].iloc[k]
        assert np.array_equal(ranked.scores[:, k], res.scores[:, pos[d]]) and ranked.drugs[k] == d
    # every drug indicated for rheumatoid arthritis in the library's labels is standard (tier I, S or X)
    std = set(t.loc[t["precedent_standard"], "drug"])
    assert {"adalimumab", "tocilizumab", "methotrexate"} <= std
    assert set(t.loc[t["drug"].isin(std), "tier"]) <= {"I", "S", "X"}
    assert (
        t.loc[t["drug"] == "adalimumab", "tier"].item() == "I"
    )  # standard, and the twin reverses the TNF programme


def test_without_a_diagnosis_the_lines_are_absent_and_the_ranking_is_the_twin(arthritis, knowledge):
    _, ens, res = arthritis
    ev = evidence(ens, res, knowledge, None, EvidenceParams(n_null=100))
    assert not ev.present("genetics") and not ev.present("precedent")
    assert ev.lines["genetics"]["reason"] == "no diagnosis"
    assert not any(c.startswith(("genetics", "precedent")) for c in ev.table.columns)  # absent, not zero
    ranked = rank_by_evidence(res, ev)
    assert list(ranked.table["drug"]) == list(res.table["drug"])  # the twin's order
    assert set(ranked.table["tier"]) <= {"IV", ""}


def test_a_disease_without_gwas_genes_has_no_genetics_line(arthritis, knowledge):
    _, ens, res = arthritis
    dk = knowledge.diseases
    without = sorted(set(dk.diseases["doid"]) - set(dk.gwas_genes["doid"]))[0]
    dx, _ = resolve_diagnosis(without, dk)
    ev = evidence(ens, res, knowledge, dx, EvidenceParams(n_null=100))
    assert not ev.present("genetics") and "no confident GWAS risk genes" in ev.lines["genetics"]["reason"]
    assert ev.present("precedent") and ev.model["pattern"] == "mechanism+precedent"
    assert "genetics_score" not in ev.table.columns


def test_unknown_diagnosis_is_one_line_before_the_twins(tmp_path):
    proc = p4core_in_process(f"hydra.run.dir={tmp_path / 'run'}", "data.diagnosis=rheumatoid artritis")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        "data.diagnosis='rheumatoid artritis'" in proc.stderr
        and "closest: 'rheumatoid arthritis'" in proc.stderr
    )
    assert "build twins" not in proc.stderr and not (tmp_path / "run").exists()


def test_a_code_that_maps_to_nothing_is_one_line(tmp_path):
    proc = p4core_in_process(f"hydra.run.dir={tmp_path / 'run'}", "data.diagnosis=ICD10:Z99.9")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "ICD-10 code Z99.9" in proc.stderr and "map to no Disease Ontology term" in proc.stderr
    assert not list((tmp_path / "run").glob("*.csv"))


def test_a_genetics_file_without_its_columns_is_one_line(tmp_path):
    data = shared()
    root = tmp_path / "root"
    root.mkdir()
    for part in ("knowledge", "drugs", "ontology"):
        (root / part).symlink_to(data / part)
    gwas = root / "genetics" / "gwas_catalog_2015"
    gwas.mkdir(parents=True)
    (gwas / "gene-associations.tsv").write_text(
        "doid_code\tlocus\thigh_confidence\tprimary\tgene\nDOID:7148\t1\t1\t1\t3586\n"
    )
    proc = p4core_in_process(
        f"hydra.run.dir={tmp_path / 'run'}", "knowledge=public", f"knowledge.root={root}"
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "gene-associations" in proc.stderr and "missing column(s) ['symbol']" in proc.stderr
    assert not list((tmp_path / "run").glob("*.csv"))


@pytest.mark.slow
def test_demo_run_shows_the_tiers_in_the_table_the_summary_and_the_report(tmp_path):
    import subprocess
    import sys

    import pandas as pd

    run = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "p4core",
            f"hydra.run.dir={run}",
            "twin.n_twins=4",
            "render=[table,json,html]",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "diagnosis: rheumatoid arthritis (DOID:7148); lines: twin, genetics (" in proc.stdout
    assert " P(DM) tier" in proc.stdout
    drugs = pd.read_csv(run / "drugs.csv")
    assert {
        "probability",
        "tier",
        "tier_text",
        "genetics_score",
        "genetics_fdr",
        "precedent",
        "rank_mechanism",
    } <= set(drugs.columns)
    assert drugs["probability"].is_monotonic_decreasing
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["diagnosis"]["doid"] == "DOID:7148" and summary["evidence"]["lines"]["precedent"]["present"]
    )
    assert "I" in summary["evidence"]["tiers"]
    html = (run / "report.html").read_text()
    assert "Standard options for rheumatoid arthritis, ranked by how well they fit this patient" in html
    assert "Candidates to discuss with the care team" in html
