"""The cell-level rank tests of a cell type, for all its cells or every twin's bootstrap at once.

A bootstrap draws a cell k times; its k copies tie with each other, so a twin's Wilcoxon-Mann-Whitney test
is the test on the cells weighted by k. The compiled :func:`p4core.kernel.rank_sums` sorts each gene's
stored values once and returns, for every weighting (all cells: ones; twin t: its draw), the rank sum of
the disease cells, the tie term and the weighted sums of the values — the whole test from one pass over the
sparse matrix, never a dense copy of the cells or a resampled one. The values must be > 0 where stored
(log-normalised counts); the zeros are one tie group below them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from p4core import kernel
from p4core.numerics import norm_sf

LN2 = np.log(2.0)


def lognorm_sparse(
    counts: sp.sparray | sp.spmatrix, library_size: np.ndarray, scale: float = 1e4
) -> sp.csr_array:
    """``log1p(counts / library_size * scale)`` of a sparse (cells x genes) count matrix, still sparse."""
    x = sp.csr_array(counts, dtype=np.float64, copy=True)
    x.eliminate_zeros()
    lib = np.where(library_size > 0, library_size, 1.0).astype(float)
    x.data = np.log1p(x.data * np.repeat(scale / lib, np.diff(x.indptr)))
    return x


def _weights(n: int, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones((n, 1)) if weights is None else np.asarray(weights, dtype=float)
    return w[:, None] if w.ndim == 1 else w


def _shape(out: tuple[np.ndarray, ...], weights: np.ndarray | None) -> tuple[np.ndarray, ...]:
    return tuple(o[0] if weights is None or np.ndim(weights) == 1 else o for o in out)


def mannwhitney(
    x: sp.sparray | sp.spmatrix, is_disease: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided Mann-Whitney U test of disease against reference cells, per gene, on log-normalised ``x``
    (cells x genes, sparse), with the tie correction and continuity correction of
    ``scipy.stats.mannwhitneyu(method="asymptotic")``.

    ``weights``: None (every cell once), a vector (cells) or a matrix (cells x twins) of how often each cell
    counts. Returns (log2 fold change of the means, z without continuity, p), each genes or twins x genes.
    """
    dis = np.asarray(is_disease, dtype=bool)
    w = _weights(x.shape[0], weights)
    rank1, ties, sum1, sum0 = kernel.rank_sums(sp.csc_array(x), w, dis)
    n1 = w[dis].sum(0)[:, None]
    n2 = w[~dis].sum(0)[:, None]
    n = n1 + n2
    u1 = rank1 - n1 * (n1 + 1) / 2
    mu = n1 * n2 / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
        z = (np.maximum(u1, n1 * n2 - u1) - mu - 0.5) / s
        pval = np.clip(2 * norm_sf(z), 0, 1)
        stat = (u1 - mu) / np.sqrt(n1 * n2 * (n + 1) / 12)
        logfc = (sum1 / n1 - sum0 / n2) / LN2
    return _shape((logfc, stat, pval), weights)  # type: ignore[return-value]


def stratified_rank_test(
    x: sp.sparray | sp.spmatrix,
    is_disease: np.ndarray,
    strata: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """van Elteren's stratified Wilcoxon test, disease vs reference cells within each stratum (donor).

    Per stratum h: the rank sum ``W_h`` of the disease cells (mid-ranks), its mean ``n1 (N + 1) / 2`` and
    its exact variance under permutation within the stratum, ``n1 n2 (N^3 - N - sum (t^3 - t)) / (12 N (N -
    1))`` (tie-corrected); the strata are combined with van Elteren's weights ``1 / (N_h + 1)``. Returns (log2
    fold change averaged over the strata, z, two-sided normal p), weighted as in :func:`mannwhitney`."""
    dis = np.asarray(is_disease, dtype=bool)
    strata = np.asarray(strata)
    w = _weights(x.shape[0], weights)
    x = sp.csr_array(x)
    n_g = x.shape[1]
    num = np.zeros((w.shape[1], n_g))
    var = np.zeros_like(num)
    lfc = np.zeros_like(num)
    n_strata = np.zeros((w.shape[1], 1))
    for h in np.unique(strata):
        at = np.flatnonzero(strata == h)
        dh, wh = dis[at], w[at]
        rank1, ties, sum1, sum0 = kernel.rank_sums(sp.csc_array(x[at]), wh, dh)
        n1 = wh[dh].sum(0)[:, None]
        n2 = wh[~dh].sum(0)[:, None]
        ok = (n1 > 0) & (n2 > 0)
        n = np.where(ok, n1 + n2, 2.0)
        vw = 1.0 / (n + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            num += np.where(ok, vw * (rank1 - n1 * (n + 1) / 2), 0.0)
            var += np.where(ok, vw**2 * n1 * n2 * (n**3 - n - ties) / (12 * n * (n - 1)), 0.0)
            lfc += np.where(ok, (sum1 / np.where(ok, n1, 1) - sum0 / np.where(ok, n2, 1)) / LN2, 0.0)
        n_strata += ok
    z = np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    return _shape((lfc / np.maximum(n_strata, 1), z, 2 * norm_sf(np.abs(z))), weights)  # type: ignore[return-value]
