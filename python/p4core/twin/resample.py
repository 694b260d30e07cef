"""What every twin of a patient shares, and a twin as a cheap resample of it.

A twin is a bootstrap of the patient's cells within each (cell type, condition, sample) group. For the
pseudo-bulk designs every test needs only the counts summed per sample (:class:`SampleSums`), so a twin is
a vector of bootstrap weights on the cells (how many times each cell is drawn) and its sums are one sparse
product with the cells' counts — for all twins at once — instead of a resampled copy of the cells. The
cells are never densified (cells x genes). The cell-level rank tests of small designs (two donors in both
conditions, one sample per condition) weight the cells the same way (:mod:`p4core.twin.ranktests`).

The detection fractions that gate a gene's activity and the ridge fit of the prior network's strengths
are computed once, on all of a cell type's cells (the fit on at most ``twin.fit_cells`` of them, drawn
with a fixed seed); each twin keeps them and jitters the edge weights (``twin.edge_noise``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core import kernel
from p4core.twin.operator import PriorEdges
from p4core.twin.params import TwinParams
from p4core.twin.ranktests import lognorm_sparse, mannwhitney, stratified_rank_test
from p4core.twin.signature import (
    SampleSums,
    choose_design,
    de_table,
    lognorm,
    paired_donors,
    pseudobulk_de,
    warn_once,
)


@dataclass
class CellTypeData:
    """One cell type of the twin: its cells (disease cells and the reference cells it is compared with),
    their counts of the measured knowledge genes (sparse), library sizes, conditions, samples and donors,
    the design of its test and the genes' detection fractions."""

    name: str
    cells: np.ndarray
    counts: sp.csr_array
    library: np.ndarray
    is_dis: np.ndarray
    samples: np.ndarray
    donors: np.ndarray | None
    covariates: pd.DataFrame | None
    method: str
    frac_ref: np.ndarray
    frac_dis: np.ndarray
    groups: list[np.ndarray]

    @classmethod
    def of(
        cls,
        name: str,
        cells: np.ndarray,
        x: sp.csr_array,
        to_measured: sp.csr_array,
        library: np.ndarray,
        is_dis: np.ndarray,
        samples: np.ndarray,
        donors: np.ndarray | None,
        covariates: pd.DataFrame | None,
    ) -> CellTypeData:
        counts = sp.csr_array(sp.csr_array(x[cells]) @ to_measured, dtype=np.float32)
        dis, smp = is_dis[cells], samples[cells]
        don = donors[cells] if donors is not None else None
        cov = covariates.iloc[cells].reset_index(drop=True) if covariates is not None else None
        sample_dis = {str(s): bool(d) for s, d in zip(smp, dis, strict=True)}
        sample_donor = {str(s): str(d) for s, d in zip(smp, don, strict=True)} if don is not None else None
        method = choose_design(sample_dis, sample_donor, cov is not None)
        detected = counts.copy()
        detected.data = (detected.data > 0).astype(np.float64)
        frac_dis = np.asarray(detected[np.flatnonzero(dis)].mean(axis=0)).ravel()
        frac_ref = np.asarray(detected[np.flatnonzero(~dis)].mean(axis=0)).ravel()
        groups = [
            np.flatnonzero((dis == d) & (smp == s)) for d in (False, True) for s in sorted(set(smp[dis == d]))
        ]
        return cls(
            name, cells, counts, library[cells], dis, smp, don, cov, method, frac_ref, frac_dis, groups
        )

    @property
    def pseudobulk(self) -> bool:
        return self.method.startswith("pseudobulk")

    def bootstrap(self, rng: np.random.Generator) -> np.ndarray:
        """How many times each cell is drawn: a bootstrap within each (condition, sample) group."""
        w = np.zeros(len(self.cells))
        for g in self.groups:
            w[g] = np.bincount(rng.integers(0, len(g), size=len(g)), minlength=len(g))
        return w

    def sums(self, weights: np.ndarray) -> list[SampleSums]:
        """The per-sample sums under each column of ``weights`` (cells x twins): one sparse product per sample."""
        labels = list(dict.fromkeys(self.samples.tolist()))
        rows = [np.flatnonzero(self.samples == lab) for lab in labels]
        per_sample = [np.asarray(self.counts[r].T @ weights[r]).T for r in rows]  # each: twins x genes
        libs = [self.library[r] @ weights[r] for r in rows]  # each: twins
        dis = np.array([bool(self.is_dis[r[0]]) for r in rows])
        don = [str(self.donors[r[0]]) for r in rows] if self.donors is not None else None
        cov = (
            self.covariates.groupby(self.samples, sort=False).first().reindex(labels)
            if self.covariates is not None
            else None
        )
        return [
            SampleSums(
                np.stack([ps[t] for ps in per_sample]),
                np.array([lb[t] for lb in libs]),
                labels,
                dis,
                don,
                cov,
            )
            for t in range(weights.shape[1])
        ]

    def differential_expression(self, weights: np.ndarray | None) -> pd.DataFrame:
        """The test of the cell type's design on all its cells (``weights`` None) or one bootstrap of them."""
        method, logfc, stat, pval = self.tests(None if weights is None else weights[:, None])
        return de_table(logfc[0], stat[0], pval[0], self.frac_ref, self.frac_dis, method)

    def tests(self, weights: np.ndarray | None) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
        """(the test used, log2 fold change, statistic, p), each twins x genes, under every column of
        ``weights`` (cells x twins; None: all cells once): the pseudo-bulk designs from the weighted sample
        sums, the cell-level rank tests from one weighted pass over the log-normalised cells
        (:mod:`p4core.twin.ranktests`)."""
        w = np.ones((len(self.cells), 1)) if weights is None else weights
        if self.pseudobulk:
            out, method = [], self.method
            for ss in self.sums(w):
                with np.errstate(invalid="ignore", divide="ignore"):
                    method, logfc, stat, pval = pseudobulk_de(ss, self.method)
                out.append((logfc, stat, pval))
            return (method, *(np.stack(o) for o in zip(*out, strict=True)))  # type: ignore[return-value]
        if self.covariates is not None:
            warn_once(
                f"covariates {list(self.covariates.columns)} are not used: they need pseudo-bulk signatures "
                "(at least 2 samples per condition; set data.sample_key)"
            )
        if self.method == "cell_stratified_rank":
            assert self.donors is not None
            keep = np.flatnonzero(np.isin(self.donors, paired_donors(self.donors, self.is_dis)))
            x = lognorm_sparse(self.counts[keep], self.library[keep])
            return (self.method, *stratified_rank_test(x, self.is_dis[keep], self.donors[keep], w[keep]))
        return (self.method, *mannwhitney(lognorm_sparse(self.counts, self.library), self.is_dis, w))

    def twin_signatures(self, draws: list[np.ndarray | None]) -> list[np.ndarray]:
        """Every twin's signature ``logfc * (1 - p)`` from its bootstrap weights (None: all cells once), all
        twins from one pass (:meth:`tests`)."""
        if not draws:
            return []
        w = np.column_stack([np.ones(len(self.cells)) if d is None else d for d in draws])
        _, logfc, _, pval = self.tests(w)
        logfc = np.nan_to_num(logfc)
        return list(logfc * (1.0 - np.where(np.isfinite(pval), pval, 1.0)))


def fit_celltype(
    edges: PriorEdges, active: np.ndarray, t: CellTypeData, c: int, mcol: np.ndarray, p: TwinParams
) -> tuple[np.ndarray, float | None]:
    """Cell type ``c``'s signed edge weights, shared by every twin: ridge-fitted (sign-constrained, in the
    kernel) where both genes are measured and ``active``, on at most ``p.fit_cells`` of its cells (drawn with
    ``default_rng([seed, 7919, c])``), else the prior's; and the share of the fitted edges the cells support
    (None when nothing is fittable)."""
    weights = edges.w.copy()
    fittable = ~edges.lr & ~np.isfinite(edges.share) & (mcol[edges.src] >= 0) & (mcol[edges.tgt] >= 0)
    e = np.flatnonzero(fittable & active[edges.src] & active[edges.tgt])
    if not len(e):
        return weights, None
    cells = np.arange(len(t.cells))
    if len(cells) > p.fit_cells:
        cells = np.sort(np.random.default_rng([p.seed, 7919, c]).choice(cells, p.fit_cells, replace=False))
    used = np.unique(np.concatenate([mcol[edges.src[e]], mcol[edges.tgt[e]]]))
    col = np.full(int((mcol >= 0).sum()), -1)
    col[used] = np.arange(len(used))
    x = lognorm(t.counts[cells][:, used].toarray(), t.library[cells]).T  # used genes x cells
    sd = x.std(1, keepdims=True)
    x = np.ascontiguousarray((x - x.mean(1, keepdims=True)) / np.where(sd > 0, sd, 1.0), dtype=np.float32)
    src, tgt = col[mcol[edges.src[e]]], col[mcol[edges.tgt[e]]]
    order = np.lexsort((src, tgt))
    e, src, tgt = e[order], src[order], tgt[order]
    targets, starts = np.unique(tgt, return_index=True)
    coef = kernel.fit_ridge_signed(
        x, targets, np.append(starts, len(e)), src, np.sign(edges.w[e]), p.ridge_lambda
    )
    mag = np.abs(coef)
    scale = mag[mag > 0].mean() if (mag > 0).any() else 1.0
    weights[e] = np.sign(edges.w[e]) * np.abs(edges.w[e]) * np.maximum(p.fit_floor, mag / scale)
    return weights, float((mag > 0).mean())
