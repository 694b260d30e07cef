"""Pairs of the best distinct-mechanism drugs: pair scores, the gain over the better drug (additivity:
the score is linear, so this is not synergy; synergy is read on the nonlinear course, p4core.course) and
complementarity."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from p4core.engine.base import Engine
from p4core.model import DrugLibrary, ScreenResult, TwinReplicate
from p4core.screen.design import DrugBlock, Plan
from p4core.screen.params import VIEWS
from p4core.screen.summary import distinct_top
from p4core.screen.terms import Combos, combine, terms, view_parts
from p4core.settings import deterministic_blas

log = logging.getLogger("p4core")


def pairs_task(plan: Plan, reps: list[TwinReplicate], block: DrugBlock, combos: Combos) -> tuple:
    """Marker and programme parts of every pair (``combos``: the pairs' coefficients over the
    block's targets) in each twin."""
    n_pairs, c = combos.c.shape[1], plan.layout.n_celltypes
    mk, pg = np.zeros((len(reps), n_pairs, c)), np.zeros((len(reps), n_pairs, c))
    for t, rep in enumerate(reps):
        tt = terms(plan.layout, rep, plan.target_genes[block.rows], plan.w, plan.p, block.tiles)
        with deterministic_blas():
            mk[t], pg[t] = view_parts(tt, combos)
    return mk, pg


def pair_screen(
    engine: Engine,
    plan: Plan,
    reps: list,
    twin_blocks: list[list[int]],
    n_tw: int,
    m: np.ndarray,
    result: ScreenResult,
    drugs: DrugLibrary,
    top: int,
    scales: dict[str, float],
) -> pd.DataFrame:
    """Pairs of the ``top`` best drugs without a shared main target: x_pair = x_a + x_b.

    A second pass over the twins propagates only the targets of the chosen drugs and takes every
    Gram entry among them; each pair is then two inner products away."""
    index = {d: i for i, d in enumerate(result.drugs)}
    chosen = np.array([index[d] for d in distinct_top(result.table, drugs, top)], dtype=np.int64)
    if len(chosen) < 2:
        return pd.DataFrame()
    ia, ib = np.triu_indices(len(chosen), 1)
    block = DrugBlock.of(m, chosen, full_gram=True)
    c = block.combos.c.toarray()
    combos = Combos(c[:, ia] + c[:, ib])
    n_c = len(result.celltypes)
    mk, pg = np.zeros((n_tw, len(ia), n_c)), np.zeros((n_tw, len(ia), n_c))
    tasks = [(plan, r, block, combos) for r in reps]
    for tb, (a_, b_) in zip(twin_blocks, engine.map(pairs_task, tasks, "pairs"), strict=True):
        mk[tb], pg[tb] = a_, b_
    views = {"marker": mk.sum(2), "programme": pg.sum(2)}
    views["combined"] = combine(
        views["marker"],
        views["programme"],
        scales,
        result.params["marker_weight"],
        result.params.get("marker_gate", False),
    )
    pair_scores = views[result.params["ranking"]]
    scores = result.scores
    a, b = chosen[ia], chosen[ib]
    syn = pair_scores - np.maximum(scores[:, a], scores[:, b])
    pa, pb = np.clip(result.parts[a], 0, None), np.clip(result.parts[b], 0, None)
    den = np.linalg.norm(pa, axis=1) * np.linalg.norm(pb, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        complementarity = np.where(den > 0, 1 - (pa * pb).sum(1) / den, 0.0)
    rows = {
        "drug_a": [result.drugs[i] for i in a],
        "drug_b": [result.drugs[i] for i in b],
        "score_mean": pair_scores.mean(0),
        "ci_low": np.quantile(pair_scores, 0.025, axis=0),
        "ci_high": np.quantile(pair_scores, 0.975, axis=0),
        "gain_mean": syn.mean(0),
        "gain_ci_low": np.quantile(syn, 0.025, axis=0),
        "gain_ci_high": np.quantile(syn, 0.975, axis=0),
        "p_gain": (syn > 0).mean(0),
        "complementarity": complementarity,
    }
    for v in VIEWS:
        rows[f"score_{v}"] = views[v].mean(0)
    pairs = pd.DataFrame(rows)
    pairs = pairs.sort_values("score_mean", ascending=False, kind="mergesort").reset_index(drop=True)
    pairs.insert(0, "rank", np.arange(1, len(pairs) + 1))
    return pairs
