"""The weighted rank tests: a twin's bootstrap as cell weights gives the test on the resampled cells."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from p4core import kernel
from p4core.twin.ranktests import lognorm_sparse, mannwhitney, stratified_rank_test


def _cells(seed: int, n: int = 240, g: int = 40) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dis = rng.random(n) < 0.45
    mu = np.full((n, g), 0.6)
    mu[dis, :5] *= 3.0  # five genes up in the disease cells
    counts = rng.poisson(mu).astype(float)
    lib = counts.sum(1) + rng.integers(50, 80, n)
    return lognorm_sparse(sp.csr_array(counts), lib), dis, rng.integers(0, 3, n)


def _draws(seed: int, n: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(k)]).astype(float)


def test_mannwhitney_equals_scipy_on_all_cells_and_on_each_resample():
    x, dis, _ = _cells(0)
    dense = x.toarray()
    logfc, z, p = mannwhitney(x, dis)
    ref = stats.mannwhitneyu(dense[dis], dense[~dis], axis=0, method="asymptotic")
    assert np.allclose(p, ref.pvalue, rtol=1e-9, atol=1e-14)
    assert np.allclose(logfc, (dense[dis].mean(0) - dense[~dis].mean(0)) / np.log(2))
    assert (z[:5] > 3).all() and p[:5].max() < 1e-4
    w = _draws(1, len(dis), 3)
    _, _, pw = mannwhitney(x, dis, w)
    for t in range(3):
        idx = np.repeat(np.arange(len(dis)), w[:, t].astype(int))  # the resampled cells themselves
        rt = stats.mannwhitneyu(dense[idx][dis[idx]], dense[idx][~dis[idx]], axis=0, method="asymptotic")
        assert np.allclose(pw[t], rt.pvalue, rtol=1e-9, atol=1e-14)


def test_stratified_rank_test_with_weights_equals_the_test_on_resampled_cells():
    x, dis, strata = _cells(3)
    w = _draws(4, len(dis), 2)
    lfc, z, p = stratified_rank_test(x, dis, strata, w)
    for t in range(2):
        idx = np.repeat(np.arange(len(dis)), w[:, t].astype(int))
        lt, zt, pt = stratified_rank_test(sp.csr_array(x.toarray()[idx]), dis[idx], strata[idx])
        assert np.allclose(z[t], zt) and np.allclose(p[t], pt) and np.allclose(lfc[t], lt)


def test_rank_sums_do_not_depend_on_the_thread_count():
    x, dis, _ = _cells(5, n=400, g=300)
    w = _draws(6, 400, 4)
    one = kernel.rank_sums(sp.csc_array(x), w, dis, n_threads=1)
    two = kernel.rank_sums(sp.csc_array(x), w, dis, n_threads=2)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)


def test_rank_sums_refuse_what_they_cannot_rank():
    x, dis, _ = _cells(7)
    neg = sp.csc_array(-x)
    with pytest.raises(ValueError, match="vals must be > 0"):
        kernel.rank_sums(neg, np.ones((x.shape[0], 1)), dis)
    with pytest.raises(ValueError, match="group must have one entry per row"):
        kernel.rank_sums(sp.csc_array(x), np.ones((x.shape[0], 1)), dis[:-1])
    with pytest.raises(ValueError, match="weights must be >= 0"):
        kernel.rank_sums(sp.csc_array(x), -np.ones((x.shape[0], 1)), dis)
