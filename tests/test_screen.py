"""The screen from inner products: equal to scoring materialised responses; null, pairs."""

from __future__ import annotations

import numpy as np
import pytest

import p4core
from p4core import kernel
from p4core.datasets import demo_patient
from p4core.screen import drug_matrix, unit_perturbations


@pytest.fixture(scope="module")
def setup(knowledge):
    patient = demo_patient("arthritis", n_cells=60, knowledge=knowledge)
    ens = p4core.build_twins(patient, knowledge, p4core.TwinParams(n_twins=3, dtype="float64"))
    res = p4core.screen(ens, knowledge.drugs, p4core.ScreenParams(n_null=200, pairs_top=6))
    return ens, res


def materialised(ens, knowledge, rep_index, coef):
    rep = ens.replicates[rep_index]
    genes, m, names = drug_matrix(ens, knowledge.drugs)
    x = kernel.propagate(
        rep.operator, unit_perturbations(ens, rep.active, genes, np.dtype(np.float64)), 0.8, 8
    )
    xd = np.ascontiguousarray(x @ coef(m, names))
    return kernel.reversal_scores(xd, rep.signature, ens.node_weights.astype(np.float64), ens.offsets)


def test_inner_product_scores_equal_materialised_scores(setup, knowledge):
    ens, res = setup
    for t in range(len(ens)):
        score, parts = materialised(ens, knowledge, t, lambda m, names: m)
        names = drug_matrix(ens, knowledge.drugs)[2]
        got = dict(zip(res.drugs, res.scores[t], strict=True))
        assert np.allclose([got[d] for d in names], score, atol=1e-9)


def test_pair_score_is_the_score_of_the_summed_response(setup, knowledge):
    ens, res = setup
    pair = res.pairs.iloc[0]

    def coef(m, names):
        return (m[:, names.index(pair.drug_a)] + m[:, names.index(pair.drug_b)])[:, None]

    per_twin = [materialised(ens, knowledge, t, coef)[0][0] for t in range(len(ens))]
    assert pair.score_mean == pytest.approx(np.mean(per_twin), abs=1e-9)
    singles = res.table.set_index("drug")["score_mean"]
    assert pair.synergy_mean == pytest.approx(
        np.mean(
            np.array(per_twin)
            - np.maximum(
                res.scores[:, res.drugs.index(pair.drug_a)], res.scores[:, res.drugs.index(pair.drug_b)]
            )
        ),
        abs=1e-9,
    )
    assert pair.score_mean > 0 and singles[pair.drug_a] > 0
    assert len(res.pairs) == 15  # 6 distinct-mechanism singles -> 15 pairs
    assert set(res.pairs.columns) >= {"synergy_mean", "p_synergy", "complementarity"}


def test_null_model_columns_and_calibration(setup):
    _, res = setup
    t = res.table
    assert t["p_value"].between(0, 1).all() or t["p_value"].isna().any()
    scored = t[t["n_targets_in_model"] > 0]
    assert scored["z"].notna().all()
    assert (scored["fdr"] >= scored["p_value"] - 1e-12).all()
    # the true mechanism is significant, most of the library is not
    # beyond every draw (its own target, TNF, is left out of its null: a draw of TNF would tie with it)
    p_ada = t.loc[t["drug"] == "adalimumab", "p_value"].iloc[0]
    assert 1 / 2001 <= p_ada < 0.001  # 1 / (draws without TNF + 1)
    assert (scored["p_value"] < 0.05).mean() < 0.3


def test_null_is_calibrated_on_a_random_signature(knowledge):
    import pandas as pd

    from p4core.twin import twin_from_signature

    rng = np.random.default_rng(4)
    genes = knowledge.network.genes
    sig = pd.Series(rng.normal(size=len(genes)), index=genes)
    res = p4core.screen(twin_from_signature(sig, knowledge), knowledge.drugs, p4core.ScreenParams(n_null=300))
    p = res.table.loc[res.table["n_targets_in_model"] > 0, "p_value"]
    assert 0.0 < (p < 0.05).mean() < 0.15  # about 5% by chance


def test_target_weight_scales_the_k0_term(setup, knowledge):
    """target_weight=0 scores only the propagated consequences: sum_{k>=1} (alpha A)^k u."""
    ens, _ = setup
    res = p4core.screen(ens, knowledge.drugs, p4core.ScreenParams(n_null=0, pairs_top=0, target_weight=0.0))
    rep = ens.replicates[0]
    genes, m, names = drug_matrix(ens, knowledge.drugs)
    u = unit_perturbations(ens, rep.active, genes, np.dtype(np.float64))
    x = kernel.propagate(rep.operator, u, 0.8, 8) - u
    score, _ = kernel.reversal_scores(
        np.ascontiguousarray(x @ m), rep.signature, ens.node_weights.astype(float), ens.offsets
    )
    got = dict(zip(res.drugs, res.scores[0], strict=True))
    assert np.allclose([got[d] for d in names], score, atol=1e-9)
