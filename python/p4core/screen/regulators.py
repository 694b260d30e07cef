"""Upstream regulators (docs/design.md, "The model"); the controls are in :mod:`p4core.screen.controls`.

* **Regulators**: the screen's machinery with single-gene perturbations: every candidate gene is
  switched up in every cell type where it is active and propagated; the reversal score says
  whether raising it (direction ``up``) or lowering it (``down``, the negated response: the
  model is linear) moves the twin back towards the reference. Candidate targets and early
  regulators.
* **Activation statistic**: a signed upstream-regulator z per gene from its direct targets in the
  network: ``z = sum_t sign(R -> t) s_t / (sd(s) sqrt(n))`` per cell type, pooled over cell types
  (an open alternative to commercial upstream-regulator analysis; z > 0: the regulator looks
  activated in the disease).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.model import Knowledge, TwinEnsemble
from p4core.numerics import norm_sf, rankdata
from p4core.progress import progress
from p4core.screen import (
    VIEWS,
    Combos,
    Plan,
    ScreenParams,
    Terms,
    combine,
    drivers,
    null_pool,
    terms,
    view_parts,
    view_scales,
)
from p4core.screen.params import RegulatorParams
from p4core.twin.signature import bh_fdr

log = logging.getLogger("p4core")


def activation_statistic(ensemble: TwinEnsemble, knowledge: Knowledge) -> pd.DataFrame:
    """Signed activation z of every regulator from the signature of its direct targets."""
    e = knowledge.network.edges
    gi = {g: i for i, g in enumerate(ensemble.genes)}
    src = e["source"].map(gi).to_numpy()
    tgt = e["target"].map(gi).to_numpy()
    sign = e["sign"].to_numpy(float)
    keep = ensemble.measured[tgt]
    src, tgt, sign = src[keep], tgt[keep], sign[keep]
    n_g, n_c = len(ensemble.genes), len(ensemble.celltypes)
    # the point estimate: signature on all cells
    de = (
        ensemble.de.pivot_table(index="celltype", columns="gene", values="signature")
        .reindex(index=ensemble.celltypes, columns=ensemble.genes)
        .fillna(0.0)
    )
    s = de.to_numpy()
    sd = np.array([s[c, ensemble.measured].std() or 1.0 for c in range(n_c)])
    n_t = np.bincount(src, minlength=n_g).astype(float)
    num = np.stack([np.bincount(src, weights=sign * s[c, tgt] / sd[c], minlength=n_g) for c in range(n_c)])
    with np.errstate(divide="ignore", invalid="ignore"):
        z_ct = np.where(n_t > 0, num / np.sqrt(n_t), np.nan)
        z = np.where(n_t > 0, num.sum(0) / np.sqrt(n_t * n_c), np.nan)
    p = 2 * norm_sf(np.abs(z))
    out = pd.DataFrame(
        {"gene": ensemble.genes, "activation_z": z, "activation_p": p, "n_measured_targets": n_t.astype(int)}
    )
    for c, ct in enumerate(ensemble.celltypes):
        out[f"activation_z:{ct}"] = z_ct[c]
    out["activation_fdr"] = bh_fdr(out["activation_p"].to_numpy())
    return out


def regulators(
    ensemble: TwinEnsemble,
    knowledge: Knowledge,
    params: RegulatorParams | None = None,
    screen_params: ScreenParams | None = None,
    scales: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Rank genes by how well changing them (up or down) reverses the disease, with their activation z.

    Every candidate gets the screen's three views (``marker``: its own change against its own
    signature; ``programme``: what it drives, its own nodes left out; ``combined``); ``params.ranking``
    chooses the one that ranks. ``scales`` are the views' units (the screen's, ``result.scales``;
    computed from the screen's null pool on the first twin when not given).

    Returns
    -------
    DataFrame, one row per candidate gene, ranked: ``gene``, ``direction`` (up/down: the change
    that reverses the disease in the ranking view), ``score_mean`` (reversal score of that change),
    ``ci_low``, ``ci_high``, ``p_top<k>``, ``score_<view>`` and ``rank_<view>`` for every view (same
    direction), ``drivers`` (cell types), ``measured``, ``activation_z`` (and per cell type),
    ``activation_p``, ``activation_fdr``, ``n_measured_targets``.
    """
    p = params or RegulatorParams()
    sp_ = screen_params or ScreenParams()
    e = knowledge.network.edges
    gi = {g: i for i, g in enumerate(ensemble.genes)}
    has_out = np.zeros(len(ensemble.genes), dtype=bool)
    has_out[e["source"].map(gi).to_numpy()] = True
    tf = np.zeros_like(has_out)
    tf[e.loc[e["kind"] == "transcriptional", "source"].map(gi).to_numpy()] = True
    cand = has_out & ((tf | ensemble.measured) if p.candidates == "tf_or_measured" else True)
    genes = np.flatnonzero(cand)
    reps = ensemble.replicates[: p.n_twins]
    n_c = len(ensemble.celltypes)
    plan = Plan.of(ensemble, genes, sp_)
    no_tiles = np.zeros((0, 2), dtype=np.int64)
    if scales is None:
        pool, _ = null_pool(ensemble, sp_)
        scales = view_scales([terms(plan.layout, reps[0], pool, plan.w, sp_, no_tiles)])
    mk = np.zeros((len(reps), len(genes), n_c))
    pg = np.zeros((len(reps), len(genes), n_c))
    for t, rep in enumerate(progress(reps, "ranking regulators")):
        for b0 in range(0, len(genes), p.block):  # single genes: products and norms, no Gram entries
            block = genes[b0 : b0 + p.block]
            tt = terms(plan.layout, rep, block, plan.w, sp_, no_tiles)
            mk[t, b0 : b0 + len(block)], pg[t, b0 : b0 + len(block)] = view_parts_single(tt)
    parts = {
        "marker": mk,
        "programme": pg,
        "combined": combine(mk, pg, scales, sp_.marker_weight, sp_.marker_gate, parts=True),
    }
    views = {v: parts[v].sum(2) for v in VIEWS}
    scores = views[p.ranking]
    # direction: the sign of the ensemble-mean score of raising the gene
    direction = np.where(scores.mean(0) >= 0, 1.0, -1.0)
    signed = scores * direction
    ranks = rankdata(-signed, axis=1, method="min")
    mean_parts = (parts[p.ranking] * direction[None, :, None]).mean(0)
    table = pd.DataFrame(
        {
            "gene": np.array(ensemble.genes)[genes],
            "direction": np.where(direction > 0, "up", "down"),
            "score_mean": signed.mean(0),
            "ci_low": np.quantile(signed, 0.025, axis=0),
            "ci_high": np.quantile(signed, 0.975, axis=0),
            f"p_top{p.top_k}": (ranks <= p.top_k).mean(0),
            **{f"score_{v}": (views[v] * direction).mean(0) for v in VIEWS},
            "drivers": [drivers(mp, ensemble.celltypes, sp_.driver_share) for mp in mean_parts],
            "measured": ensemble.measured[genes],
        }
    )
    for v in VIEWS:
        order = np.lexsort((table["gene"].to_numpy(), -table[f"score_{v}"].to_numpy()))
        rk = np.empty(len(table), dtype=int)
        rk[order] = np.arange(1, len(table) + 1)
        table[f"rank_{v}"] = rk
    table = table.merge(activation_statistic(ensemble, knowledge), on="gene", how="left")
    table = table.sort_values(["score_mean", "gene"], ascending=[False, True], kind="mergesort").reset_index(
        drop=True
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def view_parts_single(tt: Terms) -> tuple[np.ndarray, np.ndarray]:
    """Marker and programme parts (genes x cell types) of single-gene perturbations (+1 each)."""
    return view_parts(tt, Combos(sp.identity(tt.num.shape[1], format="csc")))
