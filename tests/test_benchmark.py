"""The built-in benchmark: metrics on hand-computed cases, a synthetic end-to-end run, the command
line on the real dev set, and bad input."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared

from p4core import benchmark as B
from p4core.errors import InputError

DEV = ("benchmark", "indications_dev")
TWO = "diseases=[rheumatoid arthritis,ulcerative colitis]"

# ---------------------------------------------------------------------------------------------
# metrics


def test_metrics_hand_computed_no_ties():
    y = [1, 0, 1, 0, 0]
    s = [5, 4, 3, 2, 1]
    # positives at ranks 1 and 3: 5 of the 6 (positive, negative) pairs are ordered right
    assert B.auroc(y, s) == pytest.approx(5 / 6)
    # precision at the two positives: 1/1 and 2/3
    assert B.average_precision(y, s) == pytest.approx((1 + 2 / 3) / 2)
    assert B.precision_at_k(y, s, 1) == 1.0
    assert B.precision_at_k(y, s, 2) == 0.5
    assert B.precision_at_k(y, s, 3) == pytest.approx(2 / 3)
    assert B.precision_at_k(y, s, 10) == pytest.approx(2 / 5)  # k capped at the number of drugs
    # 3 negatives: the first one already passes 1% FPR; TPR there is 1/2 -> 0.5 / 0.01
    assert B.enrichment_at_fpr(y, s, 0.01) == pytest.approx(50.0)
    # FPR first reaches 1/2 at the third negative (2/3), where TPR = 1 -> 1 / 0.5
    assert B.enrichment_at_fpr(y, s, 0.5) == pytest.approx(2.0)
    m = B.ranking_metrics(y, s)
    assert list(m) == list(B.METRICS)
    assert m["p@10"] == m["p@20"] == m["p@50"] == pytest.approx(0.4)


def test_metrics_hand_computed_with_ties():
    y = [1, 0, 0, 1]
    s = [1, 1, 0, 0]
    # pairs: (p1, n2) tie 1/2, (p1, n3) 1, (p4, n2) 0, (p4, n3) tie 1/2 -> 2/4
    assert B.auroc(y, s) == pytest.approx(0.5)
    # two steps of recall 1/2, each at precision 1/2
    assert B.average_precision(y, s) == pytest.approx(0.5)
    # the top place goes to one of two tied drugs, one of them positive
    assert B.precision_at_k(y, s, 1) == pytest.approx(0.5)
    assert B.precision_at_k(y, s, 3) == pytest.approx(1.5 / 3)

    y = [1, 1, 0, 0, 0]
    s = [2, 1, 1, 0, 0]
    assert B.auroc(y, s) == pytest.approx((3 + 2.5) / 6)
    assert B.average_precision(y, s) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert B.precision_at_k(y, s, 2) == pytest.approx((1 + 0.5) / 2)
    # ROC: (0, 0) (0, 1/2) (1/3, 1) (1, 1); at FPR 1/6 the tie segment gives TPR 3/4
    assert B.enrichment_at_fpr(y, s, 1 / 6) == pytest.approx(0.75 * 6)
    assert B.enrichment_at_fpr(y, s, 0.5) == pytest.approx(2.0)
    # the order of tied drugs does not matter
    perm = [4, 2, 0, 3, 1]
    yp, sp_ = np.asarray(y)[perm], np.asarray(s)[perm]
    assert B.ranking_metrics(yp, sp_) == pytest.approx(B.ranking_metrics(y, s))


def test_metrics_extremes_and_constant_scores():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    s = -np.arange(10.0)
    assert B.auroc(y, s) == 1.0 and B.average_precision(y, s) == 1.0
    assert B.enrichment_at_fpr(y, s, 0.01) == pytest.approx(100.0)
    assert B.auroc(y, -s) == 0.0
    flat = np.zeros(10)
    assert B.auroc(y, flat) == 0.5
    assert B.average_precision(y, flat) == pytest.approx(0.2)
    assert B.precision_at_k(y, flat, 3) == pytest.approx(0.2)
    assert B.enrichment_at_fpr(y, flat, 0.01) == pytest.approx(1.0)


def test_auroc_matches_pair_counting():
    rng = np.random.default_rng(1)
    y = rng.random(60) < 0.3
    s = rng.integers(0, 8, 60).astype(float)  # many ties
    pairs = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(s[y], s[~y])]
    assert B.auroc(y, s) == pytest.approx(np.mean(pairs))


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="positive and one negative"):
        B.auroc([1, 1], [0.2, 0.1])
    with pytest.raises(ValueError, match="finite"):
        B.average_precision([1, 0], [np.nan, 0.1])
    with pytest.raises(ValueError, match="length"):
        B.precision_at_k([1, 0, 0], [0.1, 0.2], 1)


def test_random_metrics_expectation():
    y = np.zeros(400, dtype=bool)
    y[:20] = True
    draws = B.random_metrics(y, 300, np.random.default_rng(0))
    assert draws["auroc"].mean() == pytest.approx(0.5, abs=0.02)
    assert draws["p@50"].mean() == pytest.approx(0.05, abs=0.01)
    assert draws["enrich@1%fpr"].mean() == pytest.approx(1.0, abs=0.5)


# ---------------------------------------------------------------------------------------------
# pieces


def test_proximity_distances_and_null():
    edges = pd.DataFrame(
        {"source": ["A", "B", "C", "D", "F"], "target": ["B", "C", "D", "E", "G"]}
    )  # path A-B-C-D-E and a separate F-G
    prox = B.NetworkProximity(edges, {"near": ["A", "B"], "far": ["E"], "off": ["G"]}, n_random=50)
    d = dict(zip(prox.genes, prox.distances(["A"]), strict=True))
    assert [d[g] for g in "ABCDE"] == [0, 1, 2, 3, 4] and np.isinf(d["F"])
    z = prox.scores(["A"])
    assert z.loc["near", "d"] == 0.5 and z.loc["far", "d"] == 4
    assert z.loc["off", "d"] == 5  # unreachable: largest finite distance + 1
    assert z.loc["near", "z"] < z.loc["far", "z"]


def test_dm_positives_one_per_indication():
    dm = pd.DataFrame(
        {
            "drug": ["Prednisolone", "Mesalazine"],
            "library_drugs": [["prednisolone", "prednisolone acetate"], ["mesalamine"]],
        }
    )
    cands = {"prednisolone", "prednisolone acetate", "mesalamine", "other"}
    assert B.dm_positives(dm, cands) == (["mesalamine", "prednisolone"], ["prednisolone acetate"])
    assert B.dm_positives(dm, cands, collapse=False) == (
        ["mesalamine", "prednisolone", "prednisolone acetate"],
        [],
    )


def test_map_indications_through_drugbank_ids(knowledge):
    from p4core.model import DrugLibrary

    t = knowledge.drugs.targets.copy()
    t["drugbank_id"] = np.where(t["drug"] == "tofacitinib", "DB08895;DB00000", "")
    lib = DrugLibrary(t, name="with ids")
    ind = pd.DataFrame({"drugbank_id": ["DB08895", "DB99999"], "drug": ["Tofacitinib", "X"]})
    out = B.map_indications(ind, lib)
    assert out["library_drugs"].tolist() == [["tofacitinib"], []]
    with pytest.raises(InputError, match="none of its 1 drugs"):
        B.map_indications(ind.iloc[1:], lib, "ind.tsv")


# ---------------------------------------------------------------------------------------------
# synthetic end to end on the curated knowledge


def test_synthetic_counteracting_drug_ranks_first(knowledge, tmp_path):
    from p4core import kernel
    from p4core.screen import ScreenParams, drug_matrix, unit_perturbations
    from p4core.twin import twin_from_signature

    drug = "tofacitinib"  # JAK1/2/3 inhibitor; no other drug of the library has its target profile
    t = knowledge.drugs.targets
    profile = t.groupby("drug").apply(
        lambda g: tuple(sorted(zip(g.target, g.sign, strict=True))), include_groups=False
    )
    assert (profile == profile[drug]).sum() == 1

    # the signature is exactly the opposite of the drug's propagated effect
    genes = sorted(set(knowledge.network.genes))
    twin = twin_from_signature(pd.Series(1.0, index=genes[:1]), knowledge)
    rep, p = twin.replicates[0], ScreenParams()
    tg, m, names = drug_matrix(twin, knowledge.drugs)
    u = unit_perturbations(twin, rep.active, tg, rep.operator.dtype)
    x = kernel.propagate(rep.operator, u, p.alpha, p.steps) @ m[:, names.index(drug)].astype(u.dtype)
    sig = pd.Series(-x, index=twin.genes)
    sig = sig[np.abs(sig) > 1e-6]
    signatures = pd.DataFrame(
        {"doid": "DOID:1", "disease": "synthetic", "gene_symbol": sig.index, "effect_size_random": sig.values}
    )
    indications = pd.DataFrame(
        {
            "doid_id": "DOID:1",
            "drugbank_id": "",
            "disease": "synthetic",
            "drug": ["Tofacitinib", "Aspirin", "Adalimumab", "Metformin"],
            "category": ["DM", "DM", "DM", "SYM"],
        }
    )
    cfg = B.BenchmarkConfig(n_random=50)
    lines: list[str] = []
    res = B.run_benchmark(
        cfg, knowledge=knowledge, signatures=signatures, indications=indications, report=lines.append
    )
    (e,) = res["diseases"]
    assert e["positives"] == ["adalimumab", "aspirin", "tofacitinib"]  # matched by name (no drugbank_id)
    assert e["match_rate"] == 1.0 and e["n_candidates"] == len(B.candidate_drugs(knowledge))
    for method in ("p4core", "direct"):
        assert e["positive_ranks"][method]["tofacitinib"] == 1.0, method
        assert e["top10"][method][0] == drug
        assert e["metrics"][method]["p@10"] >= 0.1
    assert set(e["metrics"]) == set(B.METHODS)
    assert res["n_evaluated"] == 1 and res["overall"]["p4core"] == e["metrics"]["p4core"]
    assert len(lines) == 1 and "synthetic" in lines[0]

    files = B.write_outputs(res, tmp_path / "out")
    assert sorted(f.name for f in files) == ["benchmark.csv", "benchmark.json"]
    assert json.loads(files[1].read_text())["diseases"][0]["positives"] == e["positives"]
    csv = pd.read_csv(files[0])
    assert list(csv.columns) == ["disease", "method", "metric", "value"]
    assert len(csv) == 2 * len(B.METHODS) * len(B.METRICS)  # the disease and the overall mean
    assert not list((tmp_path / "out").glob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# command line


def bench(tmp_path: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "p4core", "benchmark", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def dev_args(tmp_path: Path, signatures: Path | None = None, indications: Path | None = None) -> list[str]:
    return [
        f"signatures={signatures or shared(*DEV, 'disease_signatures.tsv.gz')}",
        f"indications={indications or shared(*DEV, 'indications.tsv')}",
        f"knowledge_root={shared()}",
        f"out={tmp_path / 'out'}",
    ]


@pytest.mark.slow
def test_cli_dev_set_two_diseases(tmp_path):
    proc = bench(tmp_path, *dev_args(tmp_path), TWO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"benchmark.json", "benchmark.csv"}
    res = json.loads((out / "benchmark.json").read_text())
    assert [e["disease"] for e in res["diseases"]] == ["rheumatoid arthritis", "ulcerative colitis"]
    assert res["n_evaluated"] == 2 and res["n_skipped"] == 0
    for e in res["diseases"]:
        assert e["n_positives"] >= 5 and e["n_candidates"] > 1000
        assert 0.3 < e["match_rate"] <= 1 and e["n_matched"] <= e["n_signature_genes"]
        for method, vals in e["metrics"].items():
            assert set(vals) == set(B.METRICS), method
            for metric, v in vals.items():
                assert (0 <= v <= 1) if metric != "enrich@1%fpr" else (0 <= v <= 100), (method, metric, v)
        assert e["metrics"]["random"]["auroc"] == pytest.approx(0.5, abs=0.05)
    assert any("DrugCentral" in c and "CC BY 4.0" in c for c in res["credits"])
    assert any("PharmacotherapyDB" in c for c in res["credits"]) and any(
        "STARGEO" in c for c in res["credits"]
    )
    csv = pd.read_csv(out / "benchmark.csv")
    assert list(csv.columns) == ["disease", "method", "metric", "value"]
    assert set(csv["method"]) == set(B.METHODS) and "overall" in set(csv["disease"])
    # progress per disease on stderr, the table and the path on stdout
    assert "[1/2] rheumatoid arthritis" in proc.stderr and "[2/2] ulcerative colitis" in proc.stderr
    assert "proximity_direction" in proc.stdout and str(out / "benchmark.json") in proc.stdout


@pytest.mark.slow
def test_cli_disease_with_unknown_genes_is_skipped(tmp_path):
    sig = pd.read_csv(shared(*DEV, "disease_signatures.tsv.gz"), sep="\t")
    sig = sig[sig["disease"].isin(["rheumatoid arthritis", "ulcerative colitis"])].copy()
    uc = sig["disease"] == "ulcerative colitis"
    sig.loc[uc, "gene_symbol"] = [f"NOTAGENE{i}" for i in range(uc.sum())]
    path = tmp_path / "sig.tsv.gz"
    with gzip.open(path, "wt") as fh:
        sig.to_csv(fh, sep="\t", index=False)
    proc = bench(tmp_path, *dev_args(tmp_path, signatures=path), "n_random=50")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipping ulcerative colitis" in proc.stderr and "Traceback" not in proc.stderr
    res = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    uc_entry = next(e for e in res["diseases"] if e["disease"] == "ulcerative colitis")
    assert uc_entry["match_rate"] == 0 and "skipped" in uc_entry and "metrics" not in uc_entry
    assert res["n_evaluated"] == 1 and res["n_skipped"] == 1


def assert_clean_error(proc: subprocess.CompletedProcess, tmp_path: Path, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "p4core benchmark: error:" in proc.stderr and "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr, (w, proc.stderr)
    assert not (tmp_path / "out" / "benchmark.json").exists()


@pytest.mark.slow
def test_cli_indications_without_library_drugs(tmp_path):
    ind = pd.read_csv(shared(*DEV, "indications.tsv"), sep="\t")
    ind["drugbank_id"] = [f"DB9{i:04d}" for i in range(len(ind))]
    path = tmp_path / "ind.tsv"
    ind.to_csv(path, sep="\t", index=False)
    proc = bench(tmp_path, *dev_args(tmp_path, indications=path), TWO)
    assert_clean_error(proc, tmp_path, str(path), "drug library")


def test_cli_missing_columns(tmp_path):
    sig = tmp_path / "sig.tsv"
    sig.write_text("doid\tdisease\tgene_symbol\nDOID:1\tx\tTNF\n")
    proc = bench(tmp_path, *dev_args(tmp_path, signatures=sig))
    assert_clean_error(proc, tmp_path, str(sig), "effect_size_random", "expected columns")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["foo=1"], ["unknown key 'foo'"]),
        (["seed=abc"], ["'seed'"]),
        (["n_random=0"], ["n_random"]),
        (["alpha=2"], ["screen.alpha"]),
        (["signatures"], ["key=value"]),
        ([], ["signatures="]),
    ],
)
def test_main_bad_arguments(tmp_path, capsys, args, words):
    argv = [*args, f"out={tmp_path / 'out'}"]
    if args and args[0] != "signatures":
        argv += ["signatures=s.tsv", "indications=i.tsv", "knowledge_root=."]
    assert B.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("p4core benchmark: error:") and err.count("\n") == 1
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "out").exists()


def test_main_unknown_disease(tmp_path, capsys):
    argv = [*dev_args(tmp_path), "diseases=[no such disease]"]
    assert B.main(argv) == 2
    err = capsys.readouterr().err
    assert "no such disease" in err and "rheumatoid arthritis" in err
