"""One patient against a reference cohort (data.patient), and every patient side by side (data.patient=all)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import p4core_in_process

import p4core
from p4core.clinical.privacy import pseudonymise
from p4core.twin.signature import prior_variance, single_vs_reference


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cohort") / "cohort.h5ad"
    p4core.datasets.demo_cohort(n_cells=40).write_h5ad(path)
    return path


COHORT = ["data=h5ad", "data.donor_key=donor", "data.sample_key=donor", "data.reference=healthy"]


@pytest.fixture(scope="module")
def cohort_run(cohort_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort_run")
    cfg = p4core.compose(
        [
            *COHORT,
            f"data.path={cohort_file}",
            "data.patient=all",
            "twin.n_twins=3",
            "render=[table,json,html]",
            "screen.n_null=200",
            "simulate.n_drugs=1",
            "simulate.pair=false",
        ]  # fmt: skip
    )
    result, files = p4core.run(cfg, out)
    return out, result, files


@pytest.mark.slow  # in the full suite; left out of the quick subset (pytest -m "not slow")
def test_three_patients_rank_the_drugs_of_their_own_pathway(cohort_run):
    out, cohort, _ = cohort_run
    name = {pseudonymise(d): d for d in ("P1", "P2", "P3")}
    assert sorted(name[p] for p in cohort.patients) == ["P1", "P2", "P3"]
    expected = {
        "P1": {
            "baricitinib",
            "ruxolitinib",
            "tofacitinib",
            "upadacitinib",
            "abrocitinib",
            "filgotinib",
        },  # JAK-STAT
        "P2": {"adalimumab", "infliximab", "etanercept", "certolizumab pegol", "golimumab"},  # TNF
        "P3": {"tocilizumab", "sarilumab", "sarilimumab", "satralizumab", "siltuximab"},  # IL-6
    }
    ranks = cohort.table.pivot_table(index="drug", columns="patient", values="rank").rename(columns=name)
    for patient, drugs in expected.items():
        best = ranks.loc[ranks.index.intersection(sorted(drugs))].min()
        # each patient's own pathway is among its best five drugs, and ranks lower in the two others
        assert best[patient] <= 5, (patient, best.to_dict())
        assert all(best[other] > best[patient] for other in expected if other != patient), (
            patient,
            best.to_dict(),
        )
    assert ranks.loc["adalimumab", "P2"] < 10 < ranks.loc["adalimumab", "P1"]
    assert len(cohort.differing) and set(cohort.differing.columns) >= {"drug", "spread", "best_in"}


@pytest.mark.slow  # in the full suite; left out of the quick subset (pytest -m "not slow")
def test_cohort_files_each_patient_and_no_raw_id(cohort_run, cohort_file):
    out, cohort, files = cohort_run
    names = {f.relative_to(out).as_posix() for f in files}
    assert {"cohort.csv", "cohort.parquet", "cohort_programmes.csv", "cohort.json", "cohort.html"} <= names
    for p in cohort.patients:
        assert f"patients/{p}/drugs.csv" in names and f"patients/{p}/report.html" in names
    long = pd.read_csv(out / "cohort.csv")
    assert {"patient", "drug", "rank", "score", "fdr"} <= set(long.columns)
    assert set(long["patient"]) == set(cohort.patients)
    prog = pd.read_csv(out / "cohort_programmes.csv")
    assert {"patient", "celltype", "programme", "score"} <= set(prog.columns)
    # the donors' own ids never reach a file name or a table (H1, P1, ... are short: look for them as cells)
    for f in out.rglob("*.csv"):
        cells = set(pd.read_csv(f).astype(str).to_numpy().ravel())
        assert not cells & {"P1", "P2", "P3", "H1", "H2"}, f
    assert not any(part in {"P1", "P2", "P3"} for f in files for part in f.relative_to(out).parts)
    html = (out / "cohort.html").read_text()
    assert "Where the patients differ" in html and "What sets them apart" in html


def test_one_patient_is_compared_with_every_reference_sample(cohort_file, tmp_path):
    cfg = p4core.compose([*COHORT, f"data.path={cohort_file}", "data.patient=P2"])
    patient = p4core.load_patient(cfg.data)
    obs = patient.adata.obs
    assert set(obs.loc[obs["p4_condition"] == "disease", "p4_sample"]) == {"P2"}
    assert set(obs.loc[obs["p4_condition"] == "reference", "p4_sample"]) == {"H1", "H2"}
    ens = p4core.build_twins(patient, p4core.datasets.curated_knowledge(), p4core.TwinParams(n_twins=1))
    assert set(ens.params["signature_tests"].values()) == {"pseudobulk_single"}


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("P9", "no cell has donor='P9'"),
        ("H1", "is in the reference group"),
    ],
)
def test_bad_patient_values_are_one_line(cohort_file, tmp_path, value, needle):
    proc = p4core_in_process(
        f"hydra.run.dir={tmp_path / 'run'}", *COHORT, f"data.path={cohort_file}", f"data.patient={value}"
    )
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert not list((tmp_path / "run").glob("*.csv"))


def test_a_patient_with_too_few_cells_is_named(tmp_path):
    a = p4core.datasets.demo_cohort(n_cells=40)
    keep = ~((a.obs["donor"] == "P3") & (np.arange(a.n_obs) % 20 != 0))  # P3 keeps 1 cell in 20
    path = tmp_path / "small.h5ad"
    a[keep].copy().write_h5ad(path)
    proc = p4core_in_process(
        f"hydra.run.dir={tmp_path / 'run'}", *COHORT, f"data.path={path}", "data.patient=P3"
    )
    assert proc.returncode == 2 and "data.patient=P3 has 12 disease cell(s); at least 20" in proc.stderr


def test_a_cohort_with_a_patient_record_is_refused(cohort_file, tmp_path):
    proc = p4core_in_process(
        f"hydra.run.dir={tmp_path / 'run'}",
        *COHORT,
        f"data.path={cohort_file}",
        "data.patient=all",
        "context=[demo]",
    )
    assert proc.returncode == 2 and "describes one patient" in proc.stderr


def test_single_patient_test_by_hand():
    """Crawford-Howell with a moderated variance, on pseudo-bulks built to known log2-CPM values."""
    # three reference samples and one patient, 400 genes, 1 cell each (a pseudo-bulk of one cell); the
    # patient has 10 genes four times higher
    rng = np.random.default_rng(0)
    base = rng.uniform(50, 500, size=400)
    ref = base * rng.lognormal(0.0, 0.1, size=(3, 400))
    patient = base * rng.lognormal(0.0, 0.1, size=400) * np.r_[np.full(10, 4.0), np.ones(390)]
    counts = np.vstack([ref, patient])
    lib = counts.sum(1)
    samples = np.array(["r1", "r2", "r3", "p"])
    is_dis = np.array([False, False, False, True])
    logfc, t, p = single_vs_reference(counts, lib, is_dis, samples)
    logcpm = np.log2(counts / lib[:, None] * 1e6 + 1)
    want_lfc = logcpm[3] - logcpm[:3].mean(0)
    assert np.allclose(logfc, want_lfc)
    var = logcpm[:3].var(0, ddof=1)
    d0, prior = prior_variance(var, 2, logcpm[:3].mean(0))
    post = (d0 * prior + 2 * var) / (d0 + 2) if np.isfinite(d0) else prior
    assert np.allclose(t, want_lfc / np.sqrt(post * (1 + 1 / 3)))
    assert (p[:10] < 0.01).all() and (p[10:] < 0.01).mean() < 0.05  # the changed genes, and few others
