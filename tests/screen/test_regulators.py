"""Regulators, activation statistic, cell-type ranking and the shuffled-network control."""

from __future__ import annotations

import numpy as np
import pytest

import p4core
from p4core.datasets import demo_patient
from p4core.screen.controls import celltype_ranking, shuffled_network_control
from p4core.screen.params import RegulatorParams
from p4core.screen.regulators import regulators


@pytest.fixture(scope="module")
def arthritis(knowledge):
    patient = demo_patient("arthritis", n_cells=80, knowledge=knowledge)
    ens = p4core.build_twins(patient, knowledge, p4core.TwinParams(n_twins=4))
    return ens, p4core.screen(ens, knowledge.drugs, p4core.ScreenParams(n_null=100, pairs_top=0))


def test_regulators_find_the_disease_drivers(arthritis, knowledge):
    ens, _ = arthritis
    reg = regulators(ens, knowledge, RegulatorParams(n_twins=4))
    top = reg.head(10).set_index("gene")
    # the programme was driven by TNF, IL6 and IL1B (biology of the demo): lowering them reverses it
    assert {"TNF", "IL6"} & set(top.index)
    assert (top.loc[list({"TNF", "IL6"} & set(top.index)), "direction"] == "down").all()
    assert reg["score_mean"].is_monotonic_decreasing
    assert (reg["ci_low"] <= reg["score_mean"] + 1e-12).all()


def test_regulator_score_of_down_is_the_negated_up(arthritis, knowledge):
    """Linearity: lowering a gene is the negated response of raising it, in every view."""
    ens, _ = arthritis
    res = p4core.screen(ens, knowledge.drugs, p4core.ScreenParams(n_null=0, pairs_top=0))
    reg = regulators(ens, knowledge, RegulatorParams(n_twins=2), scales=res.scales).set_index("gene")
    drugs = knowledge.drugs.targets
    # a single-target inhibitor of TNF scores exactly the 'down' regulator scores of TNF
    assert drugs.loc[drugs["drug"] == "adalimumab", "target"].tolist() == ["TNF"]
    assert reg.loc["TNF", "direction"] == "down"
    i = res.drugs.index("adalimumab")
    for view in ("combined", "marker", "programme"):
        ada = np.mean(res.views[view][:2, i])
        assert reg.loc["TNF", f"score_{view}"] == pytest.approx(ada, abs=1e-5), view
    assert reg.loc["TNF", "score_mean"] == reg.loc["TNF", "score_programme"]  # ranked by the programme


def test_regulators_rank_upstream_of_their_outputs(knowledge):
    """A regulator chain R -> T -> {outputs}: raising R drives the outputs, the outputs drive nothing.
    Ranked by what they drive (the programme), R and T come before the output genes themselves, even
    when the outputs are the most changed genes."""
    import pandas as pd
    from helpers import activating_network

    from p4core.model import DrugLibrary, Knowledge
    from p4core.twin.build import twin_from_signature

    outputs = [f"OUT{i}" for i in range(12)]  # each also feeds an unchanged gene (so it is a candidate)
    net = activating_network(
        ["R", "T", *["T"] * len(outputs), *outputs, "X", "Y"],
        ["T", "T2", *outputs, *["SINK"] * len(outputs), "Y", "X"],
        "chain",
    )
    lib = DrugLibrary(
        pd.DataFrame(
            {"drug": ["d"], "target": ["R"], "action": ["inhibitor"], "sign": [-1], "strength": [1.0]}
        )
    )
    kn = Knowledge(net, lib)
    sig = pd.Series({**{o: 2.0 for o in outputs}, "R": 0.1, "T": 0.3, "X": 0.05})
    twin = twin_from_signature(sig, kn)
    reg = regulators(twin, kn, RegulatorParams(n_twins=1, candidates="all")).set_index("gene")
    assert reg.loc["T", "rank"] < min(reg.loc[o, "rank"] for o in outputs)
    assert reg.loc["R", "rank"] < min(reg.loc[o, "rank"] for o in outputs)
    assert (reg.loc[["R", "T"], "direction"] == "down").all()
    # the outputs are the most changed genes, but they drive nothing the signature measures
    assert all(abs(reg.loc[o, "score_programme"]) < 1e-9 for o in outputs)
    assert all(abs(reg.loc[o, "score_marker"]) > abs(reg.loc["T", "score_marker"]) for o in outputs)


def test_activation_statistic_sign(arthritis, knowledge):
    ens, _ = arthritis
    reg = regulators(ens, knowledge, RegulatorParams(n_twins=1)).set_index("gene")
    # RELA drives the inflammatory programme's targets up in the demo: activated
    assert reg.loc["RELA", "activation_z"] > 2


def test_celltype_ranking(arthritis):
    ens, _ = arthritis
    ct = celltype_ranking(ens)
    assert set(ct["celltype"]) == set(ens.celltypes)
    assert ct["signature_share"].sum() == pytest.approx(1)
    assert ct["pagerank"].sum() == pytest.approx(1)
    rank = ct.set_index("celltype")["rank"]
    # macrophages carry the TNF/IL-6/IL-1B drivers, endothelial cells none
    assert rank["macrophages"] < rank["endothelial cells"]


def test_shuffled_network_control(arthritis, knowledge):
    ens, res = arthritis
    control = shuffled_network_control(ens, knowledge, res)
    assert "score_shuffled_network" in res.table.columns
    assert control["top10_mean_score_shuffled"] < control["top10_mean_score_real"]
    assert -1 <= control["spearman_real_vs_shuffled"] <= 1
