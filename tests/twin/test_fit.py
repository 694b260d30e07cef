"""Fitted edge strengths: kernel vs reference, sign constraint, recovery of a known network."""

from __future__ import annotations

import numpy as np
import pytest

from p4core import kernel
from p4core.testing import reference


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = labels[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def simulate_sem(seed: int, n_genes=80, n_edges=240, n_cells=600, low=0.4, high=1.2):
    """Cells from a known linear network: a DAG whose edges are half real, half decoys."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_genes - 1, n_edges)
    tgt = np.array([rng.integers(s + 1, n_genes) for s in src])
    pairs = np.unique(np.stack([src, tgt], 1), axis=0)
    src, tgt = pairs[:, 0], pairs[:, 1]
    sign = rng.choice([-1.0, 1.0], len(src))
    real = rng.random(len(src)) < 0.5
    weight = np.where(real, sign * rng.uniform(low, high, len(src)), 0.0)
    x = np.zeros((n_genes, n_cells))
    for g in range(n_genes):  # topological order: sources have smaller indices
        inc = tgt == g
        x[g] = weight[inc] @ x[src[inc]] + rng.normal(size=n_cells)
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    order = np.lexsort((src, tgt))
    src, tgt, sign, real, weight = src[order], tgt[order], sign[order], real[order], weight[order]
    targets, starts = np.unique(tgt, return_index=True)
    indptr = np.append(starts, len(tgt))
    return x, targets, indptr, src, sign, real, weight


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_reference(dtype):
    x, targets, indptr, src, sign, _, _ = simulate_sem(1, n_genes=30, n_edges=60, n_cells=200)
    got = kernel.fit_ridge_signed(x.astype(dtype), targets, indptr, src, sign, 0.05)
    want = reference.fit_ridge_signed(x.astype(dtype), targets, indptr, src, sign, 0.05)
    assert np.allclose(got, want, atol=1e-4 if dtype == np.float32 else 1e-10)
    assert np.all(got * sign >= 0), "every coefficient agrees with its prior sign or is 0"


def test_identical_for_any_thread_count():
    x, targets, indptr, src, sign, _, _ = simulate_sem(2)
    one = kernel.fit_ridge_signed(x, targets, indptr, src, sign, 0.05, n_threads=1)
    two = kernel.fit_ridge_signed(x, targets, indptr, src, sign, 0.05, n_threads=2)
    assert np.array_equal(one, two)


def test_recovers_the_true_network():
    """Weak edges (|w| 0.1-0.5) and few cells (150): fitted |coefficients| rank real edges above decoys."""
    from scipy import stats

    fitted, random = [], []
    for seed in range(3):
        x, targets, indptr, src, sign, real, weight = simulate_sem(seed, n_cells=150, low=0.1, high=0.5)
        coef = kernel.fit_ridge_signed(x, targets, indptr, src, sign, 0.01)
        fitted.append(auprc(real, np.abs(coef)))
        random.append(auprc(real, np.random.default_rng(seed).random(len(real))))
        # and the strengths of the real edges follow the true ones
        assert stats.spearmanr(np.abs(coef[real]), np.abs(weight[real])).statistic > 0.3
    assert np.mean(fitted) > np.mean(random) + 0.25, (fitted, random)


def test_boundary_errors():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(IndexError, match="indices out of range"):
        kernel.fit_ridge_signed(x, np.array([0]), np.array([0, 1]), np.array([7]), np.array([1.0]), 0.1)
    with pytest.raises(TypeError, match="expr must have dtype float32 or float64"):
        kernel.fit_ridge_signed(
            x.astype(np.int32), np.array([0]), np.array([0, 1]), np.array([1]), np.array([1.0]), 0.1
        )
