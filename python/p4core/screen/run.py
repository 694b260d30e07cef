"""The screen: every drug in every twin, tasks run by an engine, the table assembled."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from p4core.engine.base import Engine, LocalEngine
from p4core.model import DrugLibrary, ScreenResult, TwinEnsemble, TwinReplicate
from p4core.screen.design import DrugBlock, Plan, ordered_drug_matrix
from p4core.screen.null import null_pool, null_task, null_test, view_scales
from p4core.screen.pairs import pair_screen
from p4core.screen.params import VIEWS, ScreenParams
from p4core.screen.summary import drivers, ensemble_summary, rank_positions
from p4core.screen.terms import Terms, combine, terms, view_parts
from p4core.settings import deterministic_blas

log = logging.getLogger("p4core")


def screen(
    ensemble: TwinEnsemble,
    drugs: DrugLibrary,
    params: ScreenParams | None = None,
    engine: Engine | None = None,
    engine_cfg: Any = None,
) -> ScreenResult:
    """Score every drug in every twin (three views), test it against a degree-matched null, rank,
    and pair the best.

    Each distinct target gene (and a pool of random genes) is propagated once per twin; every drug,
    null draw and pair is then scored from inner products of those responses (linearity). The work
    is cut into tasks of (twin block x drug block) that ``engine`` (an :class:`~p4core.engine.Engine`)
    runs and sizes (default: this process, all drugs per task; :class:`~p4core.engine.DaskEngine` for a
    cluster; ``engine_cfg``, anything with ``drug_block``/``twin_block``, overrides its block sizes); the
    numbers do not depend on the engine, the blocks or the thread count.

    Returns
    -------
    :class:`~p4core.model.ScreenResult` whose ``table`` has, per drug: ``rank``, ``score_mean`` (the
    ``ranking`` view), ``ci_low``/``ci_high`` (95% over twins), ``p_top<k>`` (share of twins where
    the drug is in the top k), ``rank_low``/``rank_high`` (95% rank interval), ``z``, ``p_value``
    and ``fdr`` (null of random target sets matched in size, degree bin and action; BH over drugs);
    for every view ``score_<view>``, ``rank_<view>``, ``z_<view>``, ``p_<view>``, ``fdr_<view>``;
    ``marker_share`` (share of the combined score carried by the marker view), ``drivers`` (cell
    types carrying the score), ``part:<cell type>``, ``n_targets_in_model`` and the library's
    annotation columns; ``pairs`` has the pair scores, the gain over the better drug and complementarity.
    """
    p = params or ScreenParams()
    engine = engine or LocalEngine()
    target_genes, m, names = ordered_drug_matrix(ensemble, drugs)
    n_tw, n_d, n_c = len(ensemble), len(names), len(ensemble.celltypes)
    pool, bins = null_pool(ensemble, p)
    plan = engine.put(Plan.of(ensemble, target_genes, p))
    blocks = engine_cfg if engine_cfg is not None else engine
    d_block = getattr(blocks, "drug_block", None) or n_d
    t_block = (getattr(blocks, "twin_block", 1) or 1) if engine.name != "local" else 1
    drug_blocks = [DrugBlock.of(m, np.arange(i, min(n_d, i + d_block))) for i in range(0, n_d, d_block)]
    twin_blocks = [list(range(i, min(n_tw, i + t_block))) for i in range(0, n_tw, t_block)]
    reps = [engine.put([ensemble.replicates[t] for t in tb]) for tb in twin_blocks]
    tasks = [(plan, r, db) for r in reps for db in drug_blocks]
    marker = np.zeros((n_tw, n_d, n_c))
    programme = np.zeros((n_tw, n_d, n_c))
    for (tb, db), (mk, pg) in zip(
        [(tb, db) for tb in twin_blocks for db in drug_blocks],
        engine.map(screen_task, tasks, "screening twins"),
        strict=True,
    ):
        at = np.ix_(np.asarray(tb), db.cols)
        marker[at], programme[at] = mk, pg
    # the pool: random single genes in the null twins, for the null test and the views' scales
    n_null_twins = (min(n_tw, p.null_twins) if p.null_twins else n_tw) if p.n_null else 1
    null_terms: list[Terms] = []
    null_tasks = [(plan, r, pool) for r, tb in zip(reps, twin_blocks, strict=True) if tb[0] < n_null_twins]
    label = "null model" if p.n_null else "scaling the views"
    for tb, block in zip(twin_blocks, engine.map(null_task, null_tasks, label), strict=False):
        null_terms += [tt for t, tt in zip(tb, block, strict=True) if t < n_null_twins]
    scales = view_scales(null_terms)
    parts = {
        "marker": marker,
        "programme": programme,
        "combined": combine(marker, programme, scales, p.marker_weight, p.marker_gate, parts=True),
    }
    views = {v: parts[v].sum(2) for v in VIEWS}
    rank_by = p.ranking
    table = ensemble_summary(views[rank_by], names, p.top_k)
    for v in VIEWS:
        table[f"score_{v}"] = views[v].mean(0)
    if p.n_null:
        table = pd.concat(
            [
                table,
                null_test(
                    null_terms,
                    m,
                    target_genes,
                    bins[target_genes],
                    pool,
                    bins[pool],
                    {v: views[v][:n_null_twins].mean(0) for v in VIEWS},
                    p,
                    scales,
                ),
            ],
            axis=1,
        )
        table["z"], table["p_value"], table["fdr"] = (table[f"{k}_{rank_by}"] for k in ("z", "p", "fdr"))
    mean_parts = parts[rank_by].mean(0)
    cp = ((1 - p.marker_weight) * views["programme"] / scales["programme"]).mean(0)
    cm = views["combined"].mean(0) - cp  # the marker term as it counts (after the gate)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["marker_share"] = np.where(
            np.abs(cm) + np.abs(cp) > 0, np.abs(cm) / (np.abs(cm) + np.abs(cp)), 0.0
        )
    table["drivers"] = [drivers(mp, ensemble.celltypes, p.driver_share) for mp in mean_parts]
    table["n_targets_in_model"] = (m != 0).sum(0)
    for c, ct in enumerate(ensemble.celltypes):
        table[f"part:{ct}"] = mean_parts[:, c]
    table = table.join(drugs.info(), on="drug")
    for v in VIEWS:
        table[f"rank_{v}"] = rank_positions(table[f"score_{v}"].to_numpy(), table["drug"].to_numpy())
    table = table.sort_values(["score_mean", "drug"], ascending=[False, True], kind="mergesort")
    table.insert(0, "rank", np.arange(1, n_d + 1))
    table = table.reset_index(drop=True)
    order = table["drug"].map({d: i for i, d in enumerate(names)}).to_numpy()
    no_target = int((table["n_targets_in_model"] == 0).sum())
    if no_target:
        log.info("%d drug(s) have no signed target in the model and score 0", no_target)
    result = ScreenResult(
        table=table,
        scores=views[rank_by][:, order],
        parts=mean_parts[order],
        drugs=list(table["drug"]),
        celltypes=list(ensemble.celltypes),
        params=dict(vars(p)),
        views={v: views[v][:, order] for v in VIEWS},
        scales=scales,
    )
    if p.pairs_top:
        result.pairs = pair_screen(
            engine, plan, reps, twin_blocks, n_tw, m[:, order], result, drugs, p.pairs_top, scales
        )
    return result


def screen_task(plan: Plan, reps: list[TwinReplicate], block: DrugBlock) -> tuple[np.ndarray, np.ndarray]:
    """Cell-type parts of the marker and the programme view (twins x drugs x cell types) of one
    block of drugs in one block of twins."""
    d, c = len(block.cols), plan.layout.n_celltypes
    mk, pg = np.zeros((len(reps), d, c)), np.zeros((len(reps), d, c))
    genes = plan.target_genes[block.rows]
    for t, rep in enumerate(reps):
        tt = terms(plan.layout, rep, genes, plan.w, plan.p, block.tiles)
        with deterministic_blas():
            mk[t], pg[t] = view_parts(tt, block.combos)
    return mk, pg
