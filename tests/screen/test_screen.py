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


def materialised_views(ens, rep_index, coef, rows_of):
    """Marker and programme view of drugs from dense responses: ``coef`` (targets x drugs) over the
    targets ``rows_of`` (gene indices); the programme leaves every node of the drug's own targets out."""
    rep = ens.replicates[rep_index]
    u = unit_perturbations(ens, rep.active, rows_of, np.dtype(np.float64))
    x = kernel.propagate(rep.operator, u, 0.8, 8) - u  # k >= 1
    w = ens.node_weights.astype(float)
    s = rep.signature.astype(float)
    s_norm = np.sqrt(np.sum(w * s**2))
    n_g = len(ens.genes)
    marker, programme = [], []
    for d in range(coef.shape[1]):
        a = coef[:, d]
        xd, ud = x @ a, u @ a
        own = np.zeros(len(s), dtype=bool)
        for g in rows_of[a != 0]:
            own[g::n_g] = True
        xd[own] = 0.0
        norm = np.sqrt(np.sum(w * xd**2))
        marker.append(-np.sum(w * s * ud) / s_norm)
        programme.append(-np.sum(w * s * xd) / (norm * s_norm) if norm > 1e-12 else 0.0)
    return np.array(marker), np.array(programme)


def test_views_from_inner_products_equal_materialised_views(setup, knowledge):
    """marker, programme (own target nodes left out, exactly) and their combination, every twin."""
    ens, res = setup
    genes, m, names = drug_matrix(ens, knowledge.drugs)
    col = [res.drugs.index(d) for d in names]
    p = p4core.ScreenParams()
    for t in range(len(ens)):
        mk, pg = materialised_views(ens, t, m, genes)
        assert np.allclose(res.views["marker"][t, col], mk, atol=1e-9)
        assert np.allclose(res.views["programme"][t, col], pg, atol=1e-9)
        comb = (
            p.marker_weight * mk / res.scales["marker"] + (1 - p.marker_weight) * pg / res.scales["programme"]
        )
        assert np.allclose(res.views["combined"][t, col], comb, atol=1e-9)
        assert np.array_equal(res.scores[t], res.views[p.ranking][t])
    t = res.table.set_index("drug")
    for v in ("combined", "marker", "programme"):
        assert np.allclose(t.loc[res.drugs, f"score_{v}"], res.views[v].mean(0))
    assert (res.table["rank_marker"].sort_values().to_numpy() == np.arange(1, len(res.table) + 1)).all()


def test_programme_leaves_every_own_target_node_out(knowledge):
    """A drug on two targets where one drives the other: the driven target's node is left out of the
    programme (a per-column exclusion would keep it), and a dead-end target has no programme."""
    import pandas as pd

    from p4core.model import DrugLibrary
    from p4core.twin.build import twin_from_signature

    e = knowledge.network.edges
    pair = e[(e["source"] != e["target"])].iloc[0]
    src, tgt = pair["source"], pair["target"]
    lib = DrugLibrary(
        pd.DataFrame(
            {
                "drug": ["both", "both", "source only"],
                "target": [src, tgt, src],
                "action": "inhibitor",
                "sign": -1,
                "strength": 1.0,
            }
        ),
        name="two",
    )
    rng = np.random.default_rng(0)
    sig = pd.Series(rng.normal(size=len(knowledge.network.genes)), index=knowledge.network.genes)
    twin = twin_from_signature(sig, knowledge, dtype="float64")
    res = p4core.screen(twin, lib, p4core.ScreenParams(n_null=0, pairs_top=0))
    genes, m, names = drug_matrix(twin, lib)
    mk, pg = materialised_views(twin, 0, m, genes)
    col = [res.drugs.index(d) for d in names]
    assert np.allclose(res.views["programme"][0, col], pg, atol=1e-9)
    assert np.allclose(res.views["marker"][0, col], mk, atol=1e-9)
    # the source's own response reaches the target node: leaving it out changes the score
    u = unit_perturbations(twin, twin.replicates[0].active, genes, np.dtype(np.float64))
    x = kernel.propagate(twin.replicates[0].operator, u, 0.8, 8) - u
    assert abs(x[twin.genes.index(tgt), list(genes).index(twin.genes.index(src))]) > 0


def test_pair_score_is_the_score_of_the_summed_response(setup, knowledge):
    ens, res = setup
    pair = res.pairs.iloc[0]
    genes, m, names = drug_matrix(ens, knowledge.drugs)
    coef = (m[:, names.index(pair.drug_a)] + m[:, names.index(pair.drug_b)])[:, None]
    p = p4core.ScreenParams()
    per_twin = []
    for t in range(len(ens)):
        mk, pg = materialised_views(ens, t, coef, genes)
        per_twin.append(
            p.marker_weight * mk[0] / res.scales["marker"]
            + (1 - p.marker_weight) * pg[0] / res.scales["programme"]
        )
    assert pair.score_mean == pytest.approx(np.mean(per_twin), abs=1e-9)
    singles = res.table.set_index("drug")["score_mean"]
    assert pair.gain_mean == pytest.approx(
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
    assert set(res.pairs.columns) >= {"gain_mean", "p_gain", "complementarity", "score_marker"}


def test_view_scales_are_the_pools_spread(setup):
    """The combined view's units: root mean square of each view over the pool's single genes."""
    from p4core.screen import Plan, null_pool, null_task, view_scales

    ens, res = setup
    p = p4core.ScreenParams(n_null=200, pairs_top=6)
    pool, _ = null_pool(ens, p)
    plan = Plan.of(ens, pool, p)
    terms = null_task(plan, ens.replicates, pool)
    assert view_scales(terms) == pytest.approx(res.scales)
    mk, pg = zip(*(materialised_views(ens, t, np.eye(len(pool)), pool) for t in range(len(ens))), strict=True)
    assert res.scales["marker"] == pytest.approx(np.sqrt(np.mean(np.square(mk))))
    assert res.scales["programme"] == pytest.approx(np.sqrt(np.mean(np.square(pg))))


def test_null_model_columns_and_calibration(setup):
    _, res = setup
    t = res.table
    scored = t[t["n_targets_in_model"] > 0]
    assert t.loc[t["n_targets_in_model"] == 0, "p_value"].isna().all()
    for v in ("combined", "marker", "programme"):
        assert scored[f"p_{v}"].between(0, 1).all() and scored[f"z_{v}"].notna().any()
        assert (scored[f"fdr_{v}"] >= scored[f"p_{v}"] - 1e-12).all()
    assert np.array_equal(scored["p_value"], scored["p_combined"])  # the ranking view's
    assert scored["z"].notna().all()
    # the true mechanism is significant, most of the library is not
    # beyond every draw (its own target, TNF, is left out of its null: a draw of TNF would tie with it)
    p_ada = t.loc[t["drug"] == "adalimumab", "p_value"].iloc[0]
    assert 1 / 2001 <= p_ada < 0.001  # 1 / (draws without TNF + 1)
    assert (scored["p_value"] < 0.05).mean() < 0.3


def test_null_is_calibrated_on_a_random_signature(knowledge):
    import pandas as pd

    from p4core.twin.build import twin_from_signature

    rng = np.random.default_rng(4)
    genes = knowledge.network.genes
    sig = pd.Series(rng.normal(size=len(genes)), index=genes)
    res = p4core.screen(twin_from_signature(sig, knowledge), knowledge.drugs, p4core.ScreenParams(n_null=300))
    p = res.table.loc[res.table["n_targets_in_model"] > 0, "p_value"]
    assert 0.0 < (p < 0.05).mean() < 0.15  # about 5% by chance


@pytest.mark.parametrize("score", ["cosine", "correlation"])
def test_null_draws_score_as_drugs_on_the_same_targets(setup, score):
    """The compiled null (kernel.null_views) scores a random target set exactly as the screen scores a
    drug with those targets and actions (view_parts, itself checked against materialised responses),
    a gene drawn twice included; and the same bits on 1 and 2 threads."""
    from p4core.screen import Combos, Plan, PoolTwin, null_pool, null_task, view_parts

    ens, _ = setup
    p = p4core.ScreenParams(n_null=200, score=score)
    pool, _ = null_pool(ens, p)
    plan = Plan.of(ens, pool, p)
    rng = np.random.default_rng(11)
    draws = rng.choice(len(pool), size=(300, 3))
    draws[:20, 2] = draws[:20, 0]  # the same gene twice: its coefficients add (1 + 0.5)
    coef = np.array([1.0, -1.0, 0.5])
    as_drugs = np.zeros((len(pool), len(draws)))
    for k in range(draws.shape[1]):
        np.add.at(as_drugs, (draws[:, k], np.arange(len(draws))), coef[k])
    for t in null_task(plan, ens.replicates, pool):
        mk, pg = view_parts(t, Combos(as_drugs))
        pt = PoolTwin(t, len(pool))
        got_mk, got_pg = pt.views(draws, coef)
        assert np.allclose(got_mk, mk.sum(1), atol=1e-12) and np.allclose(got_pg, pg.sum(1), atol=1e-10)
        assert np.abs(got_pg).max() > 0.01
        one = kernel.null_views(*_pool_args(pt), draws, coef, n_threads=1, **_centring(pt))
        two = kernel.null_views(*_pool_args(pt), draws, coef, n_threads=2, **_centring(pt))
        assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def _pool_args(pt):
    return pt.num, pt.seed, pt.gram, pt.q, pt.w, pt.ws, pt.t.s_norm


def _centring(pt):
    return {"wsum": pt.t.wsum, "w_ct": pt.t.w_ct} if pt.t.centred else {}
