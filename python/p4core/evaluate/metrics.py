"""Ranking metrics (tie-aware, numpy), the random baseline, and statistics over diseases.

All ranking metrics equal the expectation over random orders of tied drugs (AUPRC: the usual step
rule), so no figure depends on an arbitrary order of drugs with the same score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

PRECISION_KS = (10, 20, 50)
EF_FPR = 0.01
METRICS = ("auroc", "auprc", *(f"p@{k}" for k in PRECISION_KS), "enrich@1%fpr")


def _check(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length ({y.size} vs {s.size})")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if y.all() or not y.any():
        raise ValueError("ranking metrics need at least one positive and one negative")
    return y, s


def roc_points(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true and false positives at every distinct score, highest score first.

    Returns ``(tp, fp, fpr, tpr)``; tied scores form one step (no arbitrary order among them).
    """
    y, s = _check(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s) - 1]  # last index of each tie group
    tp = np.cumsum(y_sorted)[last].astype(float)
    fp = (last + 1) - tp
    return tp, fp, fp / fp[-1], tp / tp[-1]


def auroc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks: a tie counts one half)."""
    y, s = _check(labels, scores)
    ranks = stats.rankdata(s, method="average")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: Any, scores: Any) -> float:
    """AUPRC as average precision: sum over distinct scores of (recall step) x (precision there)."""
    tp, fp, _, _ = roc_points(labels, scores)
    recall_step = np.diff(np.r_[0.0, tp]) / tp[-1]
    return float(np.sum(recall_step * tp / (tp + fp)))


def precision_at_k(labels: Any, scores: Any, k: int) -> float:
    """Share of positives among the top ``k`` (``k`` capped at the number of drugs).

    A tie group straddling the cut-off contributes its positives in proportion to the places it
    gets (the expectation over random orders of the tied drugs).
    """
    y, s = _check(labels, scores)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(int(k), len(s))
    cut = np.sort(s)[::-1][k - 1]
    above, tied = s > cut, s == cut
    hits = y[above].sum() + y[tied].sum() * (k - above.sum()) / tied.sum()
    return float(hits / k)


def enrichment_at_fpr(labels: Any, scores: Any, fpr: float = EF_FPR) -> float:
    """TPR where the FPR first reaches ``fpr``, divided by ``fpr`` (1 = random, 1/fpr = perfect).

    Within a tie group the ROC curve is the straight line between its ends (the expectation over
    orders of the tied drugs), so the TPR is read on it at exactly ``fpr``; without ties this is
    the TPR at the score threshold where the FPR first reaches ``fpr``.
    """
    if not 0 < fpr <= 1:
        raise ValueError(f"fpr must be in (0, 1], got {fpr}")
    _, _, fprs, tprs = roc_points(labels, scores)
    fprs, tprs = np.r_[0.0, fprs], np.r_[0.0, tprs]
    i = int(np.argmax(fprs >= fpr - 1e-12))
    f0, f1, t0, t1 = fprs[i - 1], fprs[i], tprs[i - 1], tprs[i]
    tpr = t1 if f1 <= f0 else t0 + (t1 - t0) * (fpr - f0) / (f1 - f0)
    return float(tpr / fpr)


def ranking_metrics(labels: Any, scores: Any) -> dict[str, float]:
    """All benchmark metrics of one ranking (higher score = ranked higher)."""
    out = {"auroc": auroc(labels, scores), "auprc": average_precision(labels, scores)}
    for k in PRECISION_KS:
        out[f"p@{k}"] = precision_at_k(labels, scores, k)
    out["enrich@1%fpr"] = enrichment_at_fpr(labels, scores, EF_FPR)
    return out


def random_metrics(labels: Any, n_random: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Metrics of ``n_random`` random rankings (permutations), one array per metric."""
    y = np.asarray(labels).astype(bool)
    draws: dict[str, list[float]] = {m: [] for m in METRICS}
    base = np.arange(len(y), dtype=float)
    for _ in range(n_random):
        for m, v in ranking_metrics(y, rng.permutation(base)).items():
            draws[m].append(v)
    return {m: np.asarray(v) for m, v in draws.items()}


def objective(metrics: dict[str, float], spec: str) -> float:
    """The value of an objective such as ``auroc+p@20`` (a sum of metric names) for one disease."""
    return float(sum(metrics[m] for m in parse_objective(spec)))


def parse_objective(spec: str) -> list[str]:
    """The metric names of an objective ``a+b+...``; unknown names raise ValueError."""
    names = [m.strip() for m in str(spec).split("+") if m.strip()]
    bad = [m for m in names if m not in METRICS]
    if not names or bad:
        raise ValueError(f"objective {spec!r}: metrics must be {'+'.join(METRICS)} joined by '+'")
    return names


def bootstrap_ci(values: Any, n_boot: int, rng: np.random.Generator, level: float = 0.95) -> list[float]:
    """Percentile interval of the mean of ``values`` over ``n_boot`` resamples (with replacement)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return [float(v.mean()), float(v.mean())] if len(v) else [float("nan")] * 2
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    a = (1 - level) / 2
    return [float(np.quantile(means, a)), float(np.quantile(means, 1 - a))]


def paired_test(a: Any, b: Any, n_boot: int, rng: np.random.Generator) -> dict[str, Any]:
    """Method ``a`` against ``b`` over the same diseases (paired).

    ``mean_diff`` (a - b) with its 95% paired-bootstrap interval and two-sided bootstrap p
    (twice the smaller share of resampled mean differences on either side of 0), the Wilcoxon
    signed-rank two-sided p (exact for small samples; 1 when every difference is 0), and the counts
    of diseases where a wins, loses or ties.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = x - y
    out: dict[str, Any] = {
        "n": int(len(d)),
        "mean_diff": float(d.mean()) if len(d) else float("nan"),
        "wins": int((d > 0).sum()),
        "losses": int((d < 0).sum()),
        "ties": int((d == 0).sum()),
    }
    if len(d) >= 2:
        means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(1)
        out["ci"] = [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]
        out["bootstrap_p"] = float(min(1.0, 2 * min((means <= 0).mean(), (means >= 0).mean())))
    else:
        out["ci"], out["bootstrap_p"] = [out["mean_diff"]] * 2, 1.0
    out["wilcoxon_p"] = wilcoxon_p(x, y)
    return out


def wilcoxon_p(x: Any, y: Any) -> float:
    """Two-sided Wilcoxon signed-rank p of ``x - y`` (zero differences dropped, ties given mid-ranks):
    exact by enumerating every sign pattern for up to 16 non-zero differences (the same numbers as
    scipy's exact and permutation versions, in milliseconds), scipy's otherwise; 1 when all are 0."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return 1.0
    if n > 16:
        return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
    r = stats.rankdata(np.abs(d))
    observed = r[d > 0].sum()
    signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)
    t = signs @ r
    tail = min(np.mean(t >= observed - 1e-9), np.mean(t <= observed + 1e-9))
    return float(min(1.0, 2 * tail))
