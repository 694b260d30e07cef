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
    from p4core.twin.build import twin_from_signature

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
    assert sorted(f.name for f in files) == ["benchmark.csv", "benchmark.json", "scores.parquet"]
    out = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    assert out["diseases"][0]["positives"] == e["positives"] and "_scores" not in out
    csv = pd.read_csv(tmp_path / "out" / "benchmark.csv")
    assert list(csv.columns) == ["disease", "method", "metric", "value"]
    assert len(csv) == 2 * len(B.METHODS) * len(B.METRICS)  # the disease and the overall mean
    assert not list((tmp_path / "out").glob("*.tmp"))
    # scores.parquet: every method's score of every candidate, from which the metrics follow
    sc = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    assert set(sc["method"]) == set(B.METHODS) - {"random"}
    for method, g in sc.groupby("method"):
        assert len(g) == e["n_candidates"] and g["positive"].sum() == e["n_positives"]
        assert B.auroc(g["positive"], g["score"]) == pytest.approx(e["metrics"][method]["auroc"])
        best = g["score"] == g["score"].max()  # ranks are 1 = best, tied drugs share the average rank
        assert np.allclose(g.loc[best, "rank"], (1 + best.sum()) / 2)


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
    assert {p.name for p in out.iterdir()} == {"benchmark.json", "benchmark.csv", "scores.parquet"}
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
    assert res["protocol"]["name"] == "fixed" and set(res["overall_ci95"]) == set(B.METHODS)
    assert set(res["paired_tests"]["p4core"]["direct"]) == set(B.METRICS)


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
        (["protocol=cv"], ["protocol"]),
        (["objective=auroc+foo"], ["objective"]),
        (["screen.marker_weight=2"], ["screen.marker_weight"]),
        (["ablate=[twin.n_twins=3]"], ["knowledge. or screen."]),
        (["fit.screen.nope=[1]"], ["nope"]),
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


# ---------------------------------------------------------------------------------------------
# statistics over diseases


def test_bootstrap_interval_and_paired_test_hand_cases():
    rng = np.random.default_rng(0)
    assert B.bootstrap_ci([0.7, 0.7, 0.7], 500, rng) == pytest.approx([0.7, 0.7])
    lo, hi = B.bootstrap_ci([0.0, 1.0], 2000, rng)
    assert 0.0 <= lo < 0.5 < hi <= 1.0
    t = B.paired_test([0.6, 0.7, 0.8], [0.5, 0.5, 0.5], 500, rng)
    assert (t["wins"], t["losses"], t["ties"]) == (3, 0, 0)
    assert t["mean_diff"] == pytest.approx(0.2)
    assert t["wilcoxon_p"] == pytest.approx(0.25)  # exact: 2 of the 2^3 sign patterns are this extreme
    assert t["bootstrap_p"] == 0.0 and t["ci"][0] > 0  # every resampled mean difference is positive
    same = B.paired_test([0.5, 0.6], [0.5, 0.6], 500, rng)
    assert same["wilcoxon_p"] == 1.0 and same["ties"] == 2 and same["mean_diff"] == 0
    mixed = B.paired_test([0.9, 0.1, 0.5, 0.6], [0.1, 0.9, 0.4, 0.7], 2000, rng)
    assert mixed["wins"] == 2 and mixed["losses"] == 2 and mixed["bootstrap_p"] > 0.5


def test_lodo_choice_never_reads_the_left_out_disease():
    # diseases 1 and 2 prefer grid point 0; disease 0 prefers point 1 so strongly that the mean over
    # all three prefers point 1: a fit that saw the left-out disease would choose 1
    obj = np.array([[0.5, 1.0], [0.6, 0.5], [0.6, 0.5]])
    assert B.lodo_choice(obj, None) == 1
    assert B.lodo_choice(obj, 0) == 0
    for row in (np.array([9.0, -9.0]), np.array([-9.0, 9.0]), np.full(2, np.nan)):
        changed = obj.copy()
        changed[0] = row
        assert B.lodo_choice(changed, 0) == 0  # whatever the left-out disease's metrics are
    assert B.lodo_choice(obj, 1) == 1  # (0 and 2 left: 0.55 vs 0.75)
    with pytest.raises(InputError, match="two evaluated diseases"):
        B.lodo_choice(obj[:1], 0)


def test_lodo_weight_picks_the_best_weight_on_the_training_diseases():
    y = np.array([1, 0, 0, 0])
    base = [np.array([1.0, 1.0, 0.0, 0.0])]  # a tie between the positive and a negative
    extra = [np.array([1.0, 0.0, 0.0, 0.0])]  # breaks it the right way
    score = lambda yy, ss: B.auroc(yy, ss)  # noqa: E731
    assert B.lodo_weight(base, [-e for e in extra], [y], [0.0, 0.1], score) == 0.0
    assert B.lodo_weight(base, extra, [y], [0.0, 0.1, 10.0], score) == 0.1  # first of the best


def test_grid_settings_pins_leave_the_grid():
    grid = {"screen": {"marker_weight": [0.0, 0.5, 1.0]}, "knowledge": {"mechanism_share": [0.3, 0.5]}}
    assert len(B.grid_settings(grid, B.Setting())) == 6
    pinned = B.Setting.of(screen={"marker_weight": 1.0})
    got = B.grid_settings(grid, pinned)
    assert len(got) == 2 and all(dict(s.screen) == {"marker_weight": 1.0} for s in got)
    assert {dict(s.knowledge)["mechanism_share"] for s in got} == {0.3, 0.5}


def test_degree_and_popularity_baselines():
    from p4core.model import DrugLibrary

    edges = pd.DataFrame({"source": ["A", "A", "A", "B", "B"], "target": ["B", "C", "D", "A", "B"]})
    deg = B.undirected_degree(edges)
    assert deg.to_dict() == {"A": 3, "B": 1, "C": 1, "D": 1}  # B<->A counted once, B->B left out
    lib = DrugLibrary(
        pd.DataFrame(
            {
                "drug": ["hub", "hub", "leaf", "unsigned"],
                "target": ["A", "C", "D", "A"],
                "action": ["inhibitor", "inhibitor", "agonist", "modulator"],
                "sign": [-1, -1, 1, 0],
                "strength": 1.0,
            }
        )
    )
    assert list(B.degree_scores(lib, ["hub", "leaf", "unsigned"], deg)) == [3.0, 1.0, 0.0]
    dm = {"D1": {"hub", "leaf"}, "D2": {"hub"}, "D3": {"other"}}
    assert list(B.popularity_scores(["hub", "leaf", "none"], dm, ["D1"])) == [1.0, 0.0, 0.0]
    assert list(B.popularity_scores(["hub", "leaf", "none"], dm, [])) == [2.0, 1.0, 0.0]
    assert list(B.popularity_scores(["hub"], dm, ["D1", "D2"])) == [0.0]


# ---------------------------------------------------------------------------------------------
# inputs: FDR where p_adjusted is missing, skipped diseases counted with their reason


def _sig_file(tmp_path: Path, rows: list[tuple]) -> Path:
    df = pd.DataFrame(
        rows, columns=["doid", "disease", "gene_symbol", "effect_size_random", "pval_random", "p_adjusted"]
    )
    path = tmp_path / "sig.tsv"
    df.to_csv(path, sep="\t", index=False)
    return path


def test_signatures_without_p_adjusted_use_bh_over_pval_random(tmp_path):
    path = _sig_file(
        tmp_path,
        [
            ("DOID:1", "a", "TNF", 1.0, 0.001, 0.01),
            ("DOID:1", "a", "IL6", 1.0, 0.04, 0.20),
            ("DOID:2", "b", "TNF", 1.0, 0.001, ""),  # BH over 0.001, 0.02, 0.9: 0.003, 0.03, 0.9
            ("DOID:2", "b", "IL6", -1.0, 0.02, ""),
            ("DOID:2", "b", "JAK1", 1.0, 0.9, ""),
            ("DOID:3", "c", "TNF", 1.0, "", ""),  # nothing to compute an FDR from
        ],
    )
    table = B.read_signature_table(path, 0.05)
    assert [d for d, _ in table.diseases] == ["DOID:1", "DOID:2", "DOID:3"]
    kept = table.rows.groupby("doid")["gene_symbol"].agg(sorted).to_dict()
    assert kept == {"DOID:1": ["TNF"], "DOID:2": ["IL6", "TNF"]}
    assert table.fdr_source["DOID:1"]["fdr_source"] == "p_adjusted"
    assert "Benjamini-Hochberg over pval_random" in table.fdr_source["DOID:2"]["fdr_source"]
    assert "3 of 3" in table.fdr_source["DOID:2"]["fdr_source"]
    assert (
        table.fdr_source["DOID:3"]["fdr_source"].startswith("none")
        and table.fdr_source["DOID:3"]["n_kept"] == 0
    )
    all_rows = B.read_signature_table(path, 1.0)
    assert len(all_rows.rows) == 6 and all_rows.fdr_source["DOID:3"]["fdr_source"] == "not filtered (fdr=1)"


def test_a_disease_left_without_genes_is_counted_as_skipped(knowledge, tmp_path):
    genes = sorted(knowledge.network.genes)[:40]
    rows = [("DOID:1", "kept", g, (-1) ** i, 0.001, "") for i, g in enumerate(genes)]
    rows += [("DOID:2", "empty", g, 1.0, 0.5, "") for g in genes]  # nothing passes FDR < 0.05
    path = _sig_file(tmp_path, rows)
    ind = pd.DataFrame(
        {
            "doid_id": ["DOID:1", "DOID:2"],
            "drugbank_id": "",
            "disease": ["kept", "empty"],
            "drug": ["Tofacitinib", "Tofacitinib"],
            "category": "DM",
        }
    )
    res = B.run_benchmark(
        B.BenchmarkConfig(n_random=20, n_boot=100),
        knowledge=knowledge,
        signatures=B.read_signature_table(path, 0.05),
        indications=ind,
    )
    assert res["n_evaluated"] == 1 and res["n_skipped"] == 1
    (skip,) = res["skipped"]
    assert skip["disease"] == "empty" and "no signature gene with FDR < 0.05" in skip["reason"]
    entry = next(e for e in res["diseases"] if e["disease"] == "empty")
    assert "Benjamini-Hochberg" in entry["fdr_source"] and entry["n_kept"] == 0


# ---------------------------------------------------------------------------------------------
# leave-one-disease-out end to end (synthetic, curated knowledge)


def _three_diseases(knowledge):
    """Three synthetic diseases: each signature is the opposite of one drug's propagated effect."""
    from p4core import kernel
    from p4core.screen import ScreenParams, drug_matrix, unit_perturbations
    from p4core.twin.build import twin_from_signature

    genes = sorted(set(knowledge.network.genes))
    twin = twin_from_signature(pd.Series(1.0, index=genes[:1]), knowledge)
    rep, p = twin.replicates[0], ScreenParams()
    tg, m, names = drug_matrix(twin, knowledge.drugs)
    u = unit_perturbations(twin, rep.active, tg, rep.operator.dtype)
    x = kernel.propagate(rep.operator, u, p.alpha, p.steps)
    frames = []
    for i, drug in enumerate(["tofacitinib", "adalimumab", "tocilizumab"]):
        sig = pd.Series(-(x @ m[:, names.index(drug)].astype(u.dtype)), index=twin.genes)
        sig = sig[np.abs(sig) > 1e-6]
        frames.append(
            pd.DataFrame(
                {
                    "doid": f"DOID:{i}",
                    "disease": drug + " disease",
                    "gene_symbol": sig.index,
                    "effect_size_random": sig.values,
                }
            )
        )
    ind = pd.DataFrame(
        {
            "doid_id": ["DOID:0", "DOID:0", "DOID:1", "DOID:1", "DOID:2", "DOID:2"],
            "drugbank_id": "",
            "disease": "",
            "drug": [
                "Tofacitinib",
                "Methotrexate",
                "Adalimumab",
                "Methotrexate",
                "Tocilizumab",
                "Adalimumab",
            ],
            "category": "DM",
        }
    )
    return pd.concat(frames, ignore_index=True), ind


def test_lodo_end_to_end_fold_choice_ignores_the_left_out_positives(knowledge):
    sig, ind = _three_diseases(knowledge)
    cfg = B.BenchmarkConfig(protocol="lodo", n_random=20, n_boot=100)
    cfg.fit.screen = {"marker_weight": [0.0, 0.5, 1.0]}
    cfg.fit.popularity_weight = [0.01, 1.0]
    res = B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=ind)
    assert res["protocol"]["name"] == "lodo" and res["n_evaluated"] == 3
    fold = res["fits"]["p4core"]["per_fold"]
    pop = res["fits"]["p4core+popularity"]["per_fold"]
    assert set(fold) == {"tofacitinib disease", "adalimumab disease", "tocilizumab disease"}
    for e in res["diseases"]:
        assert e["fit"]["p4core"] == fold[e["disease"]]
    # give the first disease entirely different positives: its own fold's choices must not move
    changed = ind.copy()
    changed.loc[changed["doid_id"] == "DOID:0", "drug"] = ["Metformin", "Aspirin"]
    res2 = B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=changed)
    assert res2["fits"]["p4core"]["per_fold"]["tofacitinib disease"] == fold["tofacitinib disease"]
    assert res2["fits"]["p4core+popularity"]["per_fold"]["tofacitinib disease"] == pop["tofacitinib disease"]
    assert res2["diseases"][0]["positives"] == ["aspirin", "metformin"]


def test_fixed_knowledge_refuses_knowledge_overrides(knowledge):
    sig, ind = _three_diseases(knowledge)
    cfg = B.BenchmarkConfig(n_random=20, n_boot=100, ablate=["knowledge.mechanisms=false"])
    with pytest.raises(InputError, match="need knowledge_root"):
        B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=ind)


def test_ablation_adds_a_named_method(knowledge):
    sig, ind = _three_diseases(knowledge)
    cfg = B.parse_args(
        [
            "n_random=20",
            "n_boot=100",
            "screen.marker_weight=1",
            "ablate=[screen.ranking=programme&screen.alpha=0.5]",
        ]
    )
    assert cfg.ablate == ["screen.ranking=programme&screen.alpha=0.5", "screen.marker_weight=1"]
    res = B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=ind)
    assert "p4core[screen.marker_weight=1]" in res["methods"]
    assert "p4core[screen.ranking=programme&screen.alpha=0.5]" in res["methods"]
    e = res["diseases"][0]
    # marker_weight=1 is the marker view itself
    assert e["metrics"]["p4core[screen.marker_weight=1]"] == pytest.approx(e["metrics"]["p4core:marker"])
    tests = res["paired_tests"]["p4core"]
    assert set(tests) == set(res["methods"]) - {"p4core"}
    assert set(tests["direct"]) == set(B.METRICS)


def test_benchmark_p4core_equals_the_screen_of_a_bulk_twin(knowledge):
    """The benchmark's p4core score is the pipeline screen's combined score on a one-cell-type twin."""
    import p4core
    from p4core.twin.build import twin_from_signature

    sig, ind = _three_diseases(knowledge)
    res = B.run_benchmark(
        B.BenchmarkConfig(n_random=20, n_boot=100), knowledge=knowledge, signatures=sig, indications=ind
    )
    name, cands, _, scores = res["_scores"]["DOID:1"]
    s = sig[sig["doid"] == "DOID:1"].set_index("gene_symbol")["effect_size_random"]
    screen = p4core.screen(
        twin_from_signature(s, knowledge), knowledge.drugs, p4core.ScreenParams(n_null=0, pairs_top=0)
    )
    want = screen.table.set_index("drug")["score_mean"].reindex(cands).to_numpy()
    assert np.allclose(scores["p4core"], want, atol=1e-9)


@pytest.mark.slow
def test_dev_lodo_refit_is_what_p4core_ships(tmp_path):
    """The shipped defaults are what leave-one-disease-out on the dev split chose, refitted on all
    dev diseases (docs/benchmark.md); and LODO never lets a disease's own positives into its fit."""
    from p4core.evaluate.settings import BenchmarkConfig
    from p4core.screen import ScreenParams

    proc = bench(tmp_path, *dev_args(tmp_path), "protocol=lodo", "n_random=100")
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    refit = res["fits"]["p4core"]["refit_on_all"]
    assert refit == {"screen.marker_weight": ScreenParams().marker_weight}
    assert res["fits"]["p4core+popularity"]["refit_on_all"] == BenchmarkConfig().popularity_weight
    assert res["protocol"]["name"] == "lodo" and res["n_evaluated"] == 10 and res["n_skipped"] == 1
    for e in res["diseases"]:
        if "metrics" in e:
            assert e["fit"]["p4core"] == res["fits"]["p4core"]["per_fold"][e["disease"]]
