"""In-silico treatment of every twin with every drug (DESIGN §4, "Performance shape").

The model is linear in the perturbation, so each distinct drug target is propagated once per
twin (one column per target gene, set in every cell type where the gene is active), and every
drug's response is a signed, weighted sum of its targets' responses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from . import kernel
from .errors import require
from .model import DrugLibrary, ScreenResult, TwinEnsemble
from .progress import progress

log = logging.getLogger("p4core")


@dataclass
class ScreenParams:
    """Config group ``screen``: propagation and ranking."""

    #: damping of the propagation series sum_k (alpha A)^k u; in (0, 1) keeps it stable
    alpha: float = 0.8
    #: propagation steps K
    steps: int = 8
    #: k of P(top k)
    top_k: int = 10
    #: a cell type is listed as a driver when it carries at least this share of the positive score
    driver_share: float = 0.15
    #: weight of latent (unmeasured) genes in the norm of a response (their signature is unknown: 0)
    latent_weight: float = 1.0

    def __post_init__(self) -> None:
        require(
            0 < self.alpha < 1,
            "screen.alpha",
            f"must be in (0, 1) for a stable propagation, got {self.alpha}",
        )
        require(0 <= self.steps <= 100, "screen.steps", f"must be in [0, 100], got {self.steps}")
        require(self.top_k >= 1, "screen.top_k", f"must be >= 1, got {self.top_k}")
        require(
            0 <= self.driver_share <= 1, "screen.driver_share", f"must be in [0, 1], got {self.driver_share}"
        )


def drug_matrix(ensemble: TwinEnsemble, drugs: DrugLibrary) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Target genes (indices into ``ensemble.genes``) and the targets x drugs action matrix."""
    gi = {g: i for i, g in enumerate(ensemble.genes)}
    t = drugs.targets[drugs.targets["target"].isin(gi)]
    targets = sorted(set(t["target"]))
    ti = {g: j for j, g in enumerate(targets)}
    names = drugs.drugs
    di = {d: k for k, d in enumerate(names)}
    m = np.zeros((len(targets), len(names)))
    for d, g, s, a in zip(t["drug"], t["target"], t["sign"], t["strength"], strict=True):
        m[ti[g], di[d]] += float(s) * float(a)
    return np.array([gi[g] for g in targets], dtype=np.int64), m, names


def unit_perturbations(
    ensemble: TwinEnsemble, active: np.ndarray, target_genes: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """N x n_targets block: column j is 1 at gene j in every cell type where it is active."""
    n_g = len(ensemble.genes)
    u = np.zeros((ensemble.n_nodes, len(target_genes)), dtype=dtype)
    cols = np.arange(len(target_genes))
    for c in range(len(ensemble.celltypes)):
        rows = c * n_g + target_genes
        u[rows, cols] = active[rows]
    return u


def screen(ensemble: TwinEnsemble, drugs: DrugLibrary, params: ScreenParams | None = None) -> ScreenResult:
    """Score every drug in every twin and rank the drugs.

    Returns
    -------
    :class:`~p4core.model.ScreenResult` whose ``table`` has, per drug: ``rank``, ``score_mean``,
    ``ci_low``/``ci_high`` (95% over twins), ``p_topk`` (share of twins where the drug is in the
    top k), ``rank_low``/``rank_high`` (95% rank interval), ``drivers`` (cell types carrying the
    score), ``n_targets_in_model`` and the library's annotation columns.
    """
    p = params or ScreenParams()
    target_genes, m, names = drug_matrix(ensemble, drugs)
    n_t, n_d, n_c = len(ensemble), len(names), len(ensemble.celltypes)
    scores = np.zeros((n_t, n_d))
    parts = np.zeros((n_t, n_d, n_c))
    w = ensemble.node_weights * np.where(
        np.tile(ensemble.measured, len(ensemble.celltypes)), 1.0, p.latent_weight
    )
    offsets = ensemble.offsets
    for t, rep in enumerate(progress(ensemble.replicates, "screening twins")):
        dtype = rep.operator.dtype
        u = unit_perturbations(ensemble, rep.active, target_genes, dtype)
        xt = kernel.propagate(rep.operator, u, p.alpha, p.steps)
        xd = np.ascontiguousarray(xt @ m.astype(dtype))
        scores[t], parts[t] = kernel.reversal_scores(xd, rep.signature, w.astype(dtype), offsets)

    ranks = stats.rankdata(-scores, axis=1, method="min")
    mean_parts = parts.mean(0)
    table = pd.DataFrame(
        {
            "drug": names,
            "score_mean": scores.mean(0),
            "ci_low": np.quantile(scores, 0.025, axis=0),
            "ci_high": np.quantile(scores, 0.975, axis=0),
            f"p_top{p.top_k}": (ranks <= p.top_k).mean(0),
            "rank_low": np.quantile(ranks, 0.025, axis=0, method="lower").astype(int),
            "rank_high": np.quantile(ranks, 0.975, axis=0, method="higher").astype(int),
            "drivers": [_drivers(mp, ensemble.celltypes, p.driver_share) for mp in mean_parts],
            "n_targets_in_model": (m != 0).sum(0),
        }
    )
    for c, ct in enumerate(ensemble.celltypes):
        table[f"part:{ct}"] = mean_parts[:, c]
    info = drugs.info()
    table = table.join(info, on="drug")
    table = table.sort_values(["score_mean", "drug"], ascending=[False, True], kind="mergesort")
    table.insert(0, "rank", np.arange(1, n_d + 1))
    table = table.reset_index(drop=True)
    order = table["drug"].map({d: i for i, d in enumerate(names)}).to_numpy()
    no_target = int((table["n_targets_in_model"] == 0).sum())
    if no_target:
        log.info("%d drug(s) have no target in the model and score 0", no_target)
    return ScreenResult(
        table=table,
        scores=scores[:, order],
        parts=mean_parts[order],
        drugs=list(table["drug"]),
        celltypes=list(ensemble.celltypes),
        params=dict(vars(p)),
    )


def _drivers(parts: np.ndarray, celltypes: list[str], share: float) -> str:
    total = parts[parts > 0].sum()
    if total <= 0:
        return ""
    order = np.argsort(-parts, kind="stable")
    return ", ".join(celltypes[c] for c in order if parts[c] > 0 and parts[c] >= share * total)
