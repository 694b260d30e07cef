"""Per-cell-type disease signatures: patient (disease) cells against reference cells.

The test follows the design of each cell type:

* **paired** (donors measured in both conditions: ``data.donor_key``, or sample names that pair up):
  with at least three donors, a pseudo-bulk paired t-test of the per-donor log2-CPM differences
  (``pseudobulk_paired``); with fewer, a cell-level rank test stratified by donor — van Elteren's
  test, Wilcoxon rank sums within each donor combined with weights ``1/(n_donor + 1)``
  (``cell_stratified_rank``) — so a donor's own baseline never counts as a disease effect;
* **one patient against a reference cohort** (one disease sample, at least two reference samples:
  ``data.patient``): the patient's pseudo-bulk against the spread of the reference samples, Crawford and
  Howell's single-case t-test with the variance moderated as in limma (``pseudobulk_single``);
* **pseudo-bulk** when each condition has at least two samples: counts summed per sample,
  log2-CPM, Welch t-test across samples (the sample, not the cell, is the unit of replication;
  ``pseudobulk_welch``, or OLS with ``twin.covariates``: ``pseudobulk_ols``);
* **rank test** otherwise: a two-sided Mann-Whitney U test over cells on log-normalised values
  (``cell_mannwhitney``).

The signature is the log2 fold change weighted by its evidence, ``s = logfc * (1 - p)``: genes
with no evidence of change shrink to zero, clear changes keep their size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

LN2 = np.log(2.0)
log = logging.getLogger("p4core")


def lognorm(counts: np.ndarray, library_size: np.ndarray, scale: float = 1e4) -> np.ndarray:
    """``log1p(counts / library_size * scale)`` for a dense (cells x genes) count block."""
    lib = np.where(library_size > 0, library_size, 1.0)
    return np.log1p(counts * (scale / lib)[:, None]).astype(np.float32)


def bh_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN-safe)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def differential_expression(
    counts: np.ndarray,
    library_size: np.ndarray,
    is_disease: np.ndarray,
    samples: np.ndarray,
    min_samples: int = 2,
    covariates: pd.DataFrame | None = None,
    donors: np.ndarray | None = None,
    min_pairs: int = 3,
) -> pd.DataFrame:
    """Disease vs reference for one cell type.

    Parameters
    ----------
    counts
        Dense counts (cells x genes) of the cell type.
    library_size
        Total counts of every cell over *all* genes.
    is_disease
        Boolean per cell.
    samples
        Sample label per cell.
    covariates
        Per-cell covariates (obs columns, constant within a sample) adjusted for in the
        pseudo-bulk design ``log2CPM ~ disease + covariates`` (OLS; the disease coefficient is
        the log fold change). Ignored by the cell-level rank tests; they take precedence over a
        paired design (put the donor among them to model it).
    donors, min_pairs
        Donor label per cell. When at least two donors have cells in both conditions, the design
        is paired: ``min_pairs`` or more such donors give the pseudo-bulk paired t-test, fewer the
        donor-stratified rank test (cells of donors seen in one condition only are left out).

    Returns
    -------
    DataFrame with one row per gene: ``logfc`` (log2), ``stat``, ``pval``, ``fdr``, ``frac_ref``,
    ``frac_dis`` (fraction of cells detecting the gene), ``signature`` and ``method``.
    """
    is_disease = np.asarray(is_disease, dtype=bool)
    dis_samples = np.unique(samples[is_disease])
    ref_samples = np.unique(samples[~is_disease])
    detected = counts > 0
    frac_ref = detected[~is_disease].mean(0)
    frac_dis = detected[is_disease].mean(0)
    paired = _paired_donors(donors, is_disease) if donors is not None and covariates is None else []
    with np.errstate(invalid="ignore", divide="ignore"):
        if donors is not None and len(paired) >= 2:
            keep = np.isin(donors, paired)
            if len(paired) >= min_pairs:
                method = "pseudobulk_paired"
                logfc, stat, pval = _paired_pseudobulk(
                    counts[keep], library_size[keep], is_disease[keep], np.asarray(donors)[keep], paired
                )
            else:
                method = "cell_stratified_rank"
                x = lognorm(counts[keep], library_size[keep])
                logfc, stat, pval = stratified_rank_test(x, is_disease[keep], np.asarray(donors)[keep])
        elif len(dis_samples) == 1 and len(ref_samples) >= min_samples and covariates is None:
            method = "pseudobulk_single"
            logfc, stat, pval = single_vs_reference(counts, library_size, is_disease, samples)
        elif len(dis_samples) >= min_samples and len(ref_samples) >= min_samples:
            method = "pseudobulk_welch"
            labels = list(ref_samples) + list(dis_samples)
            bulk = np.stack([counts[samples == s].sum(0) for s in labels])
            lib = np.array([library_size[samples == s].sum() for s in labels], dtype=float)
            logcpm = np.log2(bulk / lib[:, None] * 1e6 + 1.0)
            ref, dis = logcpm[: len(ref_samples)], logcpm[len(ref_samples) :]
            design = (
                _design(covariates, samples, labels, len(ref_samples)) if covariates is not None else None
            )
            if design is not None:
                method = "pseudobulk_ols"
                logfc, stat, pval = _ols_disease_effect(logcpm, design)
            else:
                logfc = dis.mean(0) - ref.mean(0)
                res = stats.ttest_ind(dis, ref, axis=0, equal_var=False)
                stat, pval = res.statistic, res.pvalue
        else:
            method = "cell_mannwhitney"
            if covariates is not None:
                warn_once(
                    f"covariates {list(covariates.columns)} are not used: they need pseudo-bulk signatures "
                    "(at least 2 samples per condition; set data.sample_key)"
                )
            x = lognorm(counts, library_size)
            dis, ref = x[is_disease], x[~is_disease]
            logfc = (dis.mean(0) - ref.mean(0)) / LN2
            res = stats.mannwhitneyu(dis, ref, axis=0, alternative="two-sided", method="asymptotic")
            n1, n2 = len(dis), len(ref)
            stat = (res.statistic - n1 * n2 / 2) / np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
            pval = res.pvalue
    stat = np.nan_to_num(np.asarray(stat, dtype=float))
    pval = np.where(np.isfinite(pval), pval, 1.0)
    logfc = np.nan_to_num(np.asarray(logfc, dtype=float))
    return pd.DataFrame(
        {
            "logfc": logfc,
            "stat": stat,
            "pval": pval,
            "fdr": bh_fdr(pval),
            "frac_ref": frac_ref,
            "frac_dis": frac_dis,
            "signature": logfc * (1.0 - pval),
            "method": method,
        }
    )


def pseudobulk_logcpm(
    counts: np.ndarray, library_size: np.ndarray, samples: np.ndarray, labels: Sequence[str]
) -> np.ndarray:
    """log2-CPM (+1) of the counts summed per sample (rows in the order of ``labels``)."""
    bulk = np.stack([counts[samples == s].sum(0) for s in labels])
    lib = np.array([library_size[samples == s].sum() for s in labels], dtype=float)
    return np.log2(bulk / np.where(lib > 0, lib, 1.0)[:, None] * 1e6 + 1.0)


def single_vs_reference(
    counts: np.ndarray,
    library_size: np.ndarray,
    is_disease: np.ndarray,
    samples: np.ndarray,
    n_bins: int = 20,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One patient against a reference cohort: the patient's pseudo-bulk log2-CPM ``p`` against the
    reference samples' ``r_1..r_k`` (k >= 2), with the spread of the reference samples as the null.

    The test is Crawford and Howell's for a single case against a small control sample (Neuropsychologia
    1998): ``t = (p - mean r) / (s * sqrt(1 + 1/k))`` with ``k - 1`` degrees of freedom, the variance ``s^2``
    moderated as in limma (Smyth, Stat Appl Genet Mol Biol 2004): shrunk towards a prior variance that
    follows the mean expression (``n_bins`` quantile bins of the reference mean), with prior degrees of
    freedom ``d0`` estimated from all genes, ``s~^2 = (d0 s0^2 + (k-1) s^2) / (d0 + k - 1)`` and ``k - 1 + d0``
    degrees of freedom. With two reference donors (one degree of freedom) the moderation is what makes the
    test usable. Returns (log2 fold change ``p - mean r``, t, two-sided p)."""
    dis = np.unique(samples[is_disease])
    ref = np.unique(samples[~is_disease])
    patient = pseudobulk_logcpm(counts, library_size, samples, list(dis)).mean(0)
    r = pseudobulk_logcpm(counts, library_size, samples, list(ref))
    k = r.shape[0]
    d = k - 1
    mean = r.mean(0)
    var = r.var(0, ddof=1)
    d0, prior = prior_variance(var, d, mean, n_bins)
    post = (d0 * prior + d * var) / (d0 + d) if np.isfinite(d0) else prior
    df = d + (d0 if np.isfinite(d0) else 1e6)
    se = np.sqrt(np.maximum(post, 1e-12) * (1.0 + 1.0 / k))
    logfc = patient - mean
    t = logfc / se
    return logfc, t, 2 * stats.t.sf(np.abs(t), df)


def prior_variance(var: np.ndarray, d: int, mean: np.ndarray, n_bins: int = 20) -> tuple[float, np.ndarray]:
    """limma's empirical-Bayes prior (method of moments on log variances, Smyth 2004): the prior degrees of
    freedom ``d0`` (inf when the variances are no more spread than chance) and, per gene, the prior variance
    ``s0^2`` of its bin of mean expression (the mean-variance trend)."""
    from scipy.special import digamma, polygamma

    ok = var > 0
    if ok.sum() < 3:
        return float("inf"), np.full(len(var), float(np.mean(var)) if len(var) else 0.0)
    z = np.log(var[ok])
    e = z - digamma(d / 2) + np.log(d / 2)
    edges = np.unique(np.quantile(mean[ok], np.linspace(0, 1, n_bins + 1)))
    b_ok = np.searchsorted(edges[1:-1], mean[ok], side="right")
    b_all = np.searchsorted(edges[1:-1], mean, side="right")
    centre = np.array(
        [e[b_ok == b].mean() if (b_ok == b).any() else e.mean() for b in range(len(edges) - 1 or 1)]
    )
    resid = e - centre[b_ok]
    excess = float(np.mean(resid**2) * len(resid) / max(len(resid) - 1, 1) - polygamma(1, d / 2))
    if excess > 0:
        d0 = 2 * _trigamma_inverse(excess)
        prior_log = centre + digamma(d0 / 2) - np.log(d0 / 2)
    else:
        d0 = float("inf")
        prior_log = centre
    return float(d0), np.exp(prior_log[np.minimum(b_all, len(centre) - 1)])


def _trigamma_inverse(x: float) -> float:
    """The y with trigamma(y) = x (Newton's method as in limma's trigammaInverse)."""
    from scipy.special import polygamma

    if x > 1e7:
        return 1.0 / np.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = float(polygamma(1, y))
        dif = tri * (1 - tri / x) / float(polygamma(2, y))
        y += dif
        if -dif / y < 1e-8:
            break
    return y


def _paired_donors(donors: np.ndarray, is_disease: np.ndarray) -> list:
    """Donors with cells in both conditions (sorted)."""
    d = np.asarray(donors)
    return sorted(set(d[is_disease]) & set(d[~is_disease]))


def _paired_pseudobulk(
    counts: np.ndarray, library_size: np.ndarray, is_disease: np.ndarray, donors: np.ndarray, paired: list
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired t-test over donors of log2-CPM(disease) - log2-CPM(reference), counts summed per
    donor and condition. Returns (mean difference, t, two-sided p)."""
    diffs = []
    for d in paired:
        sides = []
        for cond in (True, False):
            at = (donors == d) & (is_disease == cond)
            lib = float(library_size[at].sum())
            sides.append(np.log2(counts[at].sum(0) / (lib if lib > 0 else 1.0) * 1e6 + 1.0))
        diffs.append(sides[0] - sides[1])
    diff = np.stack(diffs)
    n = diff.shape[0]
    mean, sd = diff.mean(0), diff.std(0, ddof=1)
    t = np.where(sd > 0, mean / (sd / np.sqrt(n)), 0.0)
    return mean, t, 2 * stats.t.sf(np.abs(t), n - 1)


def stratified_rank_test(
    x: np.ndarray, is_disease: np.ndarray, strata: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """van Elteren's stratified Wilcoxon test, disease vs reference cells within each stratum.

    Per stratum h: the rank sum ``W_h`` of the disease cells (mid-ranks), its mean
    ``n1 (N + 1) / 2`` and its exact variance under permutation within the stratum,
    ``n1 n2 / (N (N - 1)) * sum_i (r_i - mean r)^2`` (which corrects for ties); the strata are
    combined with van Elteren's weights ``1 / (N_h + 1)``. Returns (log2 fold change averaged over
    the strata, z, two-sided normal p)."""
    num = np.zeros(x.shape[1])
    var = np.zeros(x.shape[1])
    lfc, n_strata = np.zeros(x.shape[1]), 0
    for h in np.unique(strata):
        at = strata == h
        xh, dh = x[at], is_disease[at]
        n1, n2 = int(dh.sum()), int((~dh).sum())
        if n1 == 0 or n2 == 0:
            continue
        n = n1 + n2
        r = stats.rankdata(xh, axis=0)
        w = 1.0 / (n + 1)
        num += w * (r[dh].sum(0) - n1 * (n + 1) / 2)
        var += w**2 * n1 * n2 / (n * (n - 1)) * ((r - r.mean(0)) ** 2).sum(0)
        lfc += (xh[dh].mean(0) - xh[~dh].mean(0)) / LN2
        n_strata += 1
    z = np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    return lfc / max(n_strata, 1), z, 2 * stats.norm.sf(np.abs(z))


_WARNED: set[str] = set()


def warn_once(message: str) -> None:
    """Log a warning once per process (the same condition recurs for every twin and cell type)."""
    if message not in _WARNED:
        _WARNED.add(message)
        log.warning("%s", message)


def _design(covariates: pd.DataFrame, samples: np.ndarray, labels: list, n_ref: int) -> np.ndarray | None:
    """Sample-level design [1, disease, covariates]; None when it leaves no residual degree of
    freedom (then the Welch test without covariates is used, with a warning)."""
    per_sample = covariates.groupby(samples, sort=False).first().reindex(labels)
    cols = [np.ones(len(labels)), (np.arange(len(labels)) >= n_ref).astype(float)]
    for _, col in per_sample.items():
        if pd.api.types.is_numeric_dtype(col):
            cols.append(col.to_numpy(float) - col.to_numpy(float).mean())
        else:
            dummies = pd.get_dummies(col.astype(str), drop_first=True, dtype=float)
            cols += [dummies[c].to_numpy() for c in dummies.columns]
    x = np.column_stack(cols)
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1] or len(labels) - x.shape[1] < 1:
        warn_once(
            f"covariates {list(covariates.columns)} leave no residual degree of freedom with {len(labels)} "
            "samples (or are confounded with the condition); using the test without them"
        )
        return None
    return x


def _ols_disease_effect(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS of every gene (columns of y) on the design x; t-test of the disease coefficient."""
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    df = x.shape[0] - x.shape[1]
    sigma2 = (resid**2).sum(0) / df
    se = np.sqrt(sigma2 * xtx_inv[1, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta[1] / se
    return beta[1], t, 2 * stats.t.sf(np.abs(t), df)
