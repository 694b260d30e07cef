"""Controls and context for the ranking: what a drug's score rests on (evidence flags), the
shuffled-network control and the cell-type ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd

from p4core.model import Knowledge, ScreenResult, TwinEnsemble, TwinReplicate
from p4core.numerics import spearman
from p4core.screen import ScreenParams, screen
from p4core.twin.operator import build_operator, prior_edges

#: a drug's score is marker-driven when its marker view carries more than this share of the combined
#: score and its programme view reverses less than a typical random gene does (programme / its scale < 1)
MARKER_DRIVEN = 0.5


def evidence_flags(result: ScreenResult) -> None:
    """Flag what a drug's score rests on (columns added to ``result.table``, in place):

    ``marker_driven``
        its marker view (acting on disease markers: its own targets are changed in the disease)
        carries more than half of the combined score, and nothing downstream backs it: its programme
        view reverses less than a typical random gene does (below the view's scale, the root mean square
        of single random genes' programme scores; a size, not a test: the null's power varies with the
        number of twins);
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
    weak = t["score_programme"].to_numpy(dtype=float) < result.scales.get("programme", 1.0)
    t["marker_driven"] = positive & (t["marker_share"].to_numpy() > MARKER_DRIVEN) & weak
    shuffled = t["score_shuffled_network"].to_numpy(dtype=float)
    t["network_independent"] = positive & np.isfinite(shuffled) & (real0 - shuffled < margin)
    words = [
        "; ".join(w for w, on in (("marker-driven", m), ("same on a shuffled network", n)) if on)
        for m, n in zip(t["marker_driven"], t["network_independent"], strict=True)
    ]
    t["evidence_flags"] = words


def rank_twin(result: ScreenResult, demote: bool = True) -> ScreenResult:
    """The patient's twin ranking: by score, except that a drug flagged marker-driven (:func:`evidence_flags`:
    its marker view carries most of its score and its programme reverses less than a typical random gene) is
    ranked by what it does downstream, its programme term alone (``screen.demote_marker_driven``). In a
    patient's cell types, a marker (a proliferation enzyme, an activation antigen) is more often a
    consequence of the disease than its cause: acting on it with nothing downstream reversed is weak
    evidence. The benchmark's bulk twins are not ranked this way (a tumour's markers can be the disease: the
    marker-gated ranking loses AUROC there, docs/benchmark.md). Adds ``ranking_score`` (the key of the
    order) and ``demoted``; returns the reordered result (the table, the scores and the parts follow)."""
    t = result.table
    key = t["score_mean"].to_numpy(dtype=float).copy()
    demoted = np.zeros(len(t), dtype=bool)
    if demote and "marker_driven" in t:
        demoted = t["marker_driven"].to_numpy(dtype=bool)
        w = float(result.params.get("marker_weight", 0.75))
        programme_term = (
            (1 - w) * t["score_programme"].to_numpy(dtype=float) / result.scales.get("programme", 1.0)
        )
        key[demoted] = np.minimum(key[demoted], programme_term[demoted])
    t["ranking_score"] = key
    t["demoted"] = demoted
    order = t.sort_values(["ranking_score", "drug"], ascending=[False, True], kind="mergesort")["drug"]
    return result.reordered(list(order))


def celltype_ranking(ensemble: TwinEnsemble) -> pd.DataFrame:
    """How much each cell type drives the disease, and its place in the cell-type graph.

    ``signature_share``: share of the (weighted) signature energy; ``n_de``: genes with FDR < 0.05
    and |log2FC| >= 0.5; ``lr_out``/``lr_in``: share of ligand -> receptor coupling sent/received
    (off-diagonal blocks of the operator); ``pagerank`` of the cell-type graph; from the twin's build
    (:func:`p4core.twin.celltypes.celltype_checks`): ``share_disease``, ``share_reference`` and
    ``composition_fold`` (a composition effect), ``flag`` (likely contaminant or doublet-like) and
    ``compared_with`` (the reference cell type a disease-only cell state is compared with).
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
    checks = pd.DataFrame(ensemble.params.get("celltype_checks") or [])
    if len(checks):
        out = out.merge(checks, on="celltype", how="left")
    ref_of = ensemble.params.get("reference_of") or {}
    out["compared_with"] = [ref_of.get(c, c) for c in out["celltype"]]
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
    shuffled = TwinEnsemble(
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
    rho = spearman(real.to_numpy(), alt_scores.reindex(real.index).to_numpy())
    control = {
        "spearman_real_vs_shuffled": float(rho),
        "top10_overlap": len(set(top) & set(alt.table["drug"].head(10))),
        "top10_mean_score_real": float(real.head(10).mean()),
        "top10_mean_score_shuffled": float(alt_scores.reindex(top).mean()),
    }
    result.control["shuffled_network"] = control
    return control
