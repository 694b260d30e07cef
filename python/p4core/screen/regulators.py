"""Upstream regulators, cell-type ranking and the shuffled-network control (DESIGN §4).

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
from scipy import stats

from p4core.model import Knowledge, ScreenResult, TwinEnsemble
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
    screen,
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
    p = 2 * stats.norm.sf(np.abs(z))
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
    parts = {"marker": mk, "programme": pg, "combined": combine(mk, pg, scales, sp_.marker_weight)}
    views = {v: parts[v].sum(2) for v in VIEWS}
    scores = views[p.ranking]
    # direction: the sign of the ensemble-mean score of raising the gene
    direction = np.where(scores.mean(0) >= 0, 1.0, -1.0)
    signed = scores * direction
    ranks = stats.rankdata(-signed, axis=1, method="min")
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


#: a drug's score is marker-driven when its marker view carries more than this share of the combined
#: score and its programme view alone is not significant (FDR at least FLAG_FDR)
MARKER_DRIVEN = 0.5
FLAG_FDR = 0.25


def evidence_flags(result: ScreenResult) -> None:
    """Flag what a drug's score rests on (columns added to ``result.table``, in place):

    ``marker_driven``
        its marker view (acting on disease markers: its own targets are changed in the disease)
        carries more than half of the combined score, and nothing downstream backs it: its programme
        view has FDR >= 0.25 (without a null: a programme score <= 0);
    ``network_independent``
        on twin 0, the real network beats a degree-preserving shuffle of it by less than one SD of
        the drug's null (10% of its score when there is no null): the score does not come from the
        network's wiring;
    ``evidence_flags``
        both, in words (drugs with a positive score only).
    """
    t = result.table
    col = {d: i for i, d in enumerate(result.drugs)}
    real0 = result.scores[0][t["drug"].map(col).to_numpy()]
    rank_by = result.params.get("ranking", "combined")
    sd = t.get(f"null_sd_{rank_by}", pd.Series(np.nan, index=t.index)).to_numpy(dtype=float)
    margin = np.where(np.isfinite(sd), sd, 0.1 * np.abs(real0))
    positive = t["score_mean"].to_numpy() > 0
    if "fdr_programme" in t:
        weak = ~(t["fdr_programme"].to_numpy(dtype=float) < FLAG_FDR)
    else:
        weak = t["score_programme"].to_numpy(dtype=float) <= 0
    t["marker_driven"] = positive & (t["marker_share"].to_numpy() > MARKER_DRIVEN) & weak
    shuffled = t["score_shuffled_network"].to_numpy(dtype=float)
    t["network_independent"] = positive & np.isfinite(shuffled) & (real0 - shuffled < margin)
    words = [
        "; ".join(w for w, on in (("marker-driven", m), ("same on a shuffled network", n)) if on)
        for m, n in zip(t["marker_driven"], t["network_independent"], strict=True)
    ]
    t["evidence_flags"] = words


def celltype_ranking(ensemble: TwinEnsemble) -> pd.DataFrame:
    """How much each cell type drives the disease, and its place in the cell-type graph.

    ``signature_share``: share of the (weighted) signature energy; ``n_de``: genes with FDR < 0.05
    and |log2FC| >= 0.5; ``lr_out``/``lr_in``: share of ligand -> receptor coupling sent/received
    (off-diagonal blocks of the operator); ``pagerank`` of the cell-type graph.
    """
    n_c, n_g = len(ensemble.celltypes), len(ensemble.genes)
    s = np.stack([r.signature.astype(float) for r in ensemble.replicates]).reshape(len(ensemble), n_c, n_g)
    energy = (s**2).sum(2) * ensemble.celltype_weights.astype(float)
    share = (energy / energy.sum(1, keepdims=True)).mean(0)
    de = ensemble.de
    n_de = de[(de["fdr"] < 0.05) & (de["logfc"].abs() >= 0.5)].groupby("celltype").size()
    a = abs(ensemble.replicates[0].operator).tocoo()
    cc = np.zeros((n_c, n_c))
    np.add.at(cc, (a.col // n_g, a.row // n_g), a.data)  # sender -> receiver
    np.fill_diagonal(cc, 0.0)
    total = cc.sum() or 1.0
    pr = np.full(n_c, 1.0 / n_c)
    trans = cc / np.where(cc.sum(1, keepdims=True) > 0, cc.sum(1, keepdims=True), 1.0)
    for _ in range(100):
        pr = 0.15 / n_c + 0.85 * (pr @ trans + pr[cc.sum(1) == 0].sum() / n_c)
    out = pd.DataFrame(
        {
            "celltype": ensemble.celltypes,
            "signature_share": share,
            "n_de": [int(n_de.get(c, 0)) for c in ensemble.celltypes],
            "lr_out": cc.sum(1) / total,
            "lr_in": cc.sum(0) / total,
            "pagerank": pr / pr.sum(),
        }
    )
    out = out.sort_values("signature_share", ascending=False, kind="mergesort").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, n_c + 1))
    return out


def shuffled_network_control(
    ensemble: TwinEnsemble,
    knowledge: Knowledge,
    result: ScreenResult,
    params: ScreenParams | None = None,
    seed: int = 0,
) -> dict:
    """Score every drug again on twin 0 with a degree-preserving shuffle of the prior network
    (targets permuted within each edge kind). A model whose ranking survives the shuffle is
    not using the network; adds ``score_shuffled_network`` to ``result.table``."""
    from p4core.model import TwinEnsemble as _Ens
    from p4core.model import TwinReplicate
    from p4core.twin.build import build_operator, prior_edges

    p = params or ScreenParams()
    rng = np.random.default_rng([seed, 99])
    gi = {g: i for i, g in enumerate(ensemble.genes)}
    edges = prior_edges(knowledge, gi)
    for kind_mask in (edges.lr, ~edges.lr):
        idx = np.flatnonzero(kind_mask)
        edges.tgt[idx] = edges.tgt[rng.permutation(idx)]
    rep = ensemble.replicates[0]
    n_c = len(ensemble.celltypes)
    op = build_operator(
        edges,
        rep.active.reshape(n_c, -1),
        lr_weight=float(ensemble.params.get("lr_weight", 1.0)),
        noise=None,
        dtype=rep.operator.dtype,
    )
    shuffled = _Ens(
        celltypes=ensemble.celltypes,
        genes=ensemble.genes,
        replicates=[TwinReplicate(op, rep.signature, rep.active)],
        celltype_weights=ensemble.celltype_weights,
        de=ensemble.de,
        measured=ensemble.measured,
    )
    alt = screen(shuffled, knowledge.drugs, ScreenParams(**{**vars(p), "n_null": 0, "pairs_top": 0}))
    alt_scores = alt.table.set_index("drug")["score_mean"]
    result.table["score_shuffled_network"] = result.table["drug"].map(alt_scores).to_numpy()
    evidence_flags(result)
    real = result.table.set_index("drug")["score_mean"]
    top = list(real.index[:10])
    rho = stats.spearmanr(real.to_numpy(), alt_scores.reindex(real.index).to_numpy()).statistic
    control = {
        "spearman_real_vs_shuffled": float(rho),
        "top10_overlap": len(set(top) & set(alt.table["drug"].head(10))),
        "top10_mean_score_real": float(real.head(10).mean()),
        "top10_mean_score_shuffled": float(alt_scores.reindex(top).mean()),
    }
    result.control["shuffled_network"] = control
    return control
