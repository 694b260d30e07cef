"""The built-in benchmark: metrics on hand-computed cases, a synthetic end-to-end run, the command
line on the real dev set, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import reversing_signatures

from p4core import evaluate as B
from p4core.errors import InputError

DEV = ("benchmark", "indications_dev")
TWO = "diseases=[rheumatoid arthritis,ulcerative colitis]"

# ---------------------------------------------------------------------------------------------
# metrics


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
    drugs = ["tofacitinib", "adalimumab", "tocilizumab"]
    frames = [
        pd.DataFrame(
            {
                "doid": f"DOID:{i}",
                "disease": drug + " disease",
                "gene_symbol": sig.index,
                "effect_size_random": sig.values,
            }
        )
        for i, (drug, sig) in enumerate(reversing_signatures(knowledge, drugs).items())
    ]
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
    res = B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=ind)
    assert res["protocol"]["name"] == "lodo" and res["n_evaluated"] == 3
    fold = res["fits"]["p4core:mechanism"]["per_fold"]
    combo = res["fits"]["p4core"]["per_fold"]
    assert set(fold) == {"tofacitinib disease", "adalimumab disease", "tocilizumab disease"}
    for e in res["diseases"]:
        assert e["fit"]["p4core:mechanism"] == fold[e["disease"]]
        assert e["fit"]["p4core"] == combo[e["disease"]]
    # give the first disease entirely different positives: its own fold's choices must not move
    changed = ind.copy()
    changed.loc[changed["doid_id"] == "DOID:0", "drug"] = ["Metformin", "Aspirin"]
    res2 = B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=changed)
    assert res2["fits"]["p4core:mechanism"]["per_fold"]["tofacitinib disease"] == fold["tofacitinib disease"]
    assert res2["fits"]["p4core"]["per_fold"]["tofacitinib disease"] == combo["tofacitinib disease"]
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
    assert "p4core:mechanism[screen.marker_weight=1]" in res["methods"]
    assert "p4core:mechanism[screen.ranking=programme&screen.alpha=0.5]" in res["methods"]
    e = res["diseases"][0]
    # marker_weight=1 is the marker view itself
    assert e["metrics"]["p4core:mechanism[screen.marker_weight=1]"] == pytest.approx(
        e["metrics"]["p4core:marker"]
    )
    tests = res["paired_tests"]["p4core"]
    assert set(tests) == set(res["methods"]) - {"p4core"}
    assert set(tests["direct"]) == set(B.METRICS)


def test_benchmark_p4core_equals_the_screen_of_a_bulk_twin(knowledge):
    """The benchmark's twin (p4core:mechanism) is the pipeline screen's combined score on a one-cell-type twin."""
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
    assert np.allclose(scores["p4core:mechanism"], want, atol=1e-9)
