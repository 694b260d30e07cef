"""Explaining a rank: gene contributions that add up to the score, the CLI on a finished run, the
evidence flags (marker-driven, same on a shuffled network)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import activating_network

import p4core
from p4core.datasets import demo_patient
from p4core.model import DrugLibrary, Knowledge
from p4core.screen.controls import evidence_flags, shuffled_network_control
from p4core.screen.explain import contributions, explain_table, main
from p4core.twin.build import twin_from_signature


@pytest.fixture(scope="module")
def demo(knowledge):
    patient = demo_patient("arthritis", n_cells=60, knowledge=knowledge)
    ens = p4core.build_twins(patient, knowledge, p4core.TwinParams(n_twins=2))
    res = p4core.screen(ens, knowledge.drugs, p4core.ScreenParams(n_null=100, pairs_top=0))
    return ens, res


def test_contributions_add_up_to_the_score_on_twin_0(demo, knowledge):
    ens, res = demo
    names = list(res.table["drug"].head(12))
    per = contributions(ens, knowledge.drugs, names, p4core.ScreenParams(), res.scales)
    for d in names:
        total = per[d]["contribution"].sum()
        assert total == pytest.approx(res.views["combined"][0, res.drugs.index(d)], rel=1e-4, abs=1e-6), d
        df = per[d]
        assert df.loc[df["is_target"], "programme"].abs().max() == 0  # own target nodes: marker only
        assert df["marker"].sum() == pytest.approx(
            res.views["marker"][0, res.drugs.index(d)], rel=1e-4, abs=1e-7
        )
    table = explain_table(ens, knowledge.drugs, res, p4core.ScreenParams(), top=5, n_genes=6)
    assert list(dict.fromkeys(table["drug"])) == names[:5]
    assert {"carries", "opposes"} >= set(table["role"]) and (table.groupby("drug").size() <= 6 + 2).all()


def _chain_knowledge():
    """TF drives 8 genes that are up in the disease; MARK (the most changed gene) drives nothing."""
    outs = [f"G{i}" for i in range(8)]
    net = activating_network(
        ["TF"] * 8 + ["U"] + outs[:4] + ["MARK"],
        outs + ["TF"] + [f"H{i}" for i in range(4)] + ["H9"],
        "chain",
    )
    lib = DrugLibrary(
        pd.DataFrame(
            {
                "drug": ["anti-marker", "anti-tf"],
                "target": ["MARK", "TF"],
                "action": "inhibitor",
                "sign": -1,
                "strength": 1.0,
            }
        )
    )
    sig = pd.Series({**{o: 1.0 for o in outs}, "MARK": 4.0, "TF": 0.2})
    return Knowledge(net, lib), sig


def test_a_drug_on_a_marker_is_flagged_and_one_on_the_programme_is_not():
    kn, sig = _chain_knowledge()
    twin = twin_from_signature(sig, kn)
    res = p4core.screen(twin, kn.drugs, p4core.ScreenParams(n_null=0, pairs_top=0))
    shuffled_network_control(twin, kn, res)
    t = res.table.set_index("drug")
    assert t.loc["anti-marker", "score_marker"] > t.loc["anti-tf", "score_marker"]
    assert t.loc["anti-tf", "score_programme"] > 0 and abs(t.loc["anti-marker", "score_programme"]) < 1e-9
    assert t.loc["anti-marker", "marker_driven"] and not t.loc["anti-tf", "marker_driven"]
    assert "marker-driven" in t.loc["anti-marker", "evidence_flags"]
    assert t.loc["anti-marker", "network_independent"]  # the marker view does not use the network


def test_network_independent_compares_with_the_shuffle():
    kn, sig = _chain_knowledge()
    twin = twin_from_signature(sig, kn)
    res = p4core.screen(twin, kn.drugs, p4core.ScreenParams(n_null=0, pairs_top=0))
    t = res.table
    col = {d: i for i, d in enumerate(res.drugs)}
    real0 = res.scores[0][t["drug"].map(col).to_numpy()]
    t["score_shuffled_network"] = real0 * 0.1  # the shuffle destroys 90% of every score
    evidence_flags(res)
    assert not t["network_independent"].any()
    t["score_shuffled_network"] = real0  # the shuffle changes nothing
    evidence_flags(res)
    assert t.loc[t["score_mean"] > 0, "network_independent"].all()


@pytest.mark.slow
def test_explain_command_on_a_finished_run(tmp_path, capsys):
    cfg = p4core.compose(
        ["render=[table]", "twin.n_twins=3", "screen.n_null=100", "explain.top=5", "regulators.enabled=false"]
    )
    result, files = p4core.run(cfg, tmp_path)
    assert (tmp_path / "twin.h5ad").is_file() and (tmp_path / "explain.csv").is_file()
    ex = pd.read_csv(tmp_path / "explain.csv")
    assert list(dict.fromkeys(ex["drug"])) == list(result.screen.table["drug"].head(5))
    drug = result.screen.table["drug"].iloc[6]  # beyond explain.top: from twin.h5ad
    assert main([f"run={tmp_path}", f"drug={drug.upper()}", "genes=5", f"csv={tmp_path / 'one.csv'}"]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith(f"{drug}: rank 7")
        and "targets:" in out
        and "neighbours:" in out
        and "views: combined" in out
    )
    assert "at percentile " in out and not re.search(r"\dth percentile", out)  # no "87.2th"
    genes = pd.read_csv(tmp_path / "one.csv")
    assert len(genes) <= 5 + 1 and {"gene", "celltype", "contribution", "is_target"} <= set(genes.columns)
    # the same numbers as the run's own explanation of a top drug
    top = result.screen.table["drug"].iloc[0]
    assert main([f"run={tmp_path}", f"drug={top}", "genes=3", f"csv={tmp_path / 'top.csv'}"]) == 0
    mine = pd.read_csv(tmp_path / "top.csv")
    theirs = ex[ex["drug"] == top].head(3)
    assert np.allclose(mine["contribution"].head(3), theirs["contribution"], rtol=1e-5)  # 6 digits in the CSV


def test_explain_command_errors(tmp_path, capsys):
    assert main([f"run={tmp_path}", "drug=x"]) == 2
    assert "no drugs.csv" in capsys.readouterr().err
    pd.DataFrame({"drug": ["tocilizumab"], "rank": [1]}).to_csv(tmp_path / "drugs.csv", index=False)
    (tmp_path / "twin.h5ad").write_text("")
    assert main([f"run={tmp_path}", "drug=tocilizumib"]) == 2
    assert "did you mean tocilizumab" in capsys.readouterr().err
    assert main(["drug=x"]) == 2 and "missing run=" in capsys.readouterr().err
    assert main([f"run={tmp_path}", "drug=x", "genes=0"]) == 2
    assert main(["nokey"]) == 2 and "not key=value" in capsys.readouterr().err
