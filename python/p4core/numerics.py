"""The few ``scipy.stats`` functions a run needs, on ``scipy.special`` and numpy.

Importing ``scipy.stats`` costs ~0.4 s of every run's start-up (it pulls in ``scipy.optimize``,
``scipy.spatial``, ``scipy.integrate``, ...), more than all of a small run's statistics. These are the
same computations as ``scipy.stats``'s (``t.sf`` is ``special.stdtr(df, -x)``, ``norm.sf`` is
``special.ndtr(-x)``, the BH adjustment and the ranks are the same array operations), so they give the
same bits; ``tests/core/test_numerics.py`` checks them against ``scipy.stats``.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def t_sf(x: np.ndarray | float, df: np.ndarray | float) -> np.ndarray:
    """Survival function of Student's t with ``df`` degrees of freedom (``scipy.stats.t.sf``)."""
    x, df = np.asarray(x, dtype=float), np.asarray(df, dtype=float)
    return np.where(df > 0, special.stdtr(np.where(df > 0, df, 1.0), -x), np.nan)


def norm_sf(x: np.ndarray | float) -> np.ndarray:
    """Survival function of the standard normal (``scipy.stats.norm.sf``)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of finite ``p`` (``scipy.stats.false_discovery_control``,
    ``method="bh"``)."""
    p = np.asarray(p, dtype=float)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ps = np.take_along_axis(p, order, axis=-1)
    ps *= m / np.arange(1, m + 1, dtype=ps.dtype)
    np.minimum.accumulate(ps[..., ::-1], out=ps[..., ::-1], axis=-1)
    out = np.empty_like(ps)
    np.put_along_axis(out, order, ps, axis=-1)
    return np.clip(out, 0.0, 1.0)


def rankdata(a: np.ndarray, method: str = "average", axis: int | None = None) -> np.ndarray:
    """Ranks from 1 (``scipy.stats.rankdata`` for ``method`` ``average``, floats, or ``min``, integers;
    input with a NaN goes to ``scipy.stats.rankdata`` itself)."""
    if method not in ("average", "min"):
        raise ValueError(f"rankdata: method must be 'average' or 'min', got {method!r}")
    a = np.asarray(a)
    if a.dtype.kind == "f" and np.isnan(a).any():  # scipy's NaN handling, from scipy itself (rare)
        from scipy import stats

        return np.asarray(stats.rankdata(a, method=method, axis=axis))
    if axis is None:
        return rankdata(a.ravel(), method, axis=0)
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    order = np.argsort(a, axis=-1, kind="mergesort")
    sorted_ = np.take_along_axis(a, order, axis=-1)
    new = np.ones(a.shape, dtype=bool)
    new[..., 1:] = sorted_[..., 1:] != sorted_[..., :-1]
    pos = np.broadcast_to(np.arange(n), a.shape)
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=-1)  # where each run of ties starts
    if method == "min":
        r_sorted = first + 1  # integers, as scipy gives them
    else:
        ends = np.ones(a.shape, dtype=bool)  # where each run of ties ends
        ends[..., :-1] = new[..., 1:]
        last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, n), -1), axis=-1), -1)
        r_sorted = 0.5 * (first + last) + 1.0
    out = np.empty(a.shape, dtype=r_sorted.dtype)
    np.put_along_axis(out, order, r_sorted, axis=-1)
    return np.moveaxis(out, -1, axis)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two vectors (``scipy.stats.spearmanr(a, b).statistic``): NaN when
    either is constant, holds a NaN, or has fewer than two values."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) <= 1 or (a[0] == a).all() or (b[0] == b).all() or np.isnan(a).any() or np.isnan(b).any():
        return float("nan")
    ranked = np.column_stack((rankdata(a), rankdata(b)))
    return float(np.corrcoef(ranked, rowvar=False)[1, 0])
