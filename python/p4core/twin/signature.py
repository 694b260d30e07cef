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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.numerics import bh_adjust, t_sf
from p4core.twin.ranktests import lognorm_sparse, mannwhitney, stratified_rank_test

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
        out[ok] = bh_adjust(p[ok])
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
        Counts (cells x genes) of the cell type, dense or sparse.
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
    counts = sp.csr_array(counts)
    detected = (counts > 0).astype(np.float64)
    frac_ref = np.asarray(detected[np.flatnonzero(~is_disease)].mean(axis=0)).ravel()
    frac_dis = np.asarray(detected[np.flatnonzero(is_disease)].mean(axis=0)).ravel()
    sample_dis = _sample_condition(samples, is_disease)
    sample_donor = _sample_donor(samples, donors)
    method = choose_design(sample_dis, sample_donor, covariates is not None, min_samples, min_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method.startswith("pseudobulk"):
            ss = SampleSums.of(counts, library_size, samples, is_disease, donors, covariates)
            method, logfc, stat, pval = pseudobulk_de(ss, method)
        elif method == "cell_stratified_rank":
            assert donors is not None  # choose_design gives this test only with donors
            paired = paired_donors(donors, is_disease)
            keep = np.isin(donors, paired)
            x = lognorm_sparse(counts[np.flatnonzero(keep)], library_size[keep])
            logfc, stat, pval = stratified_rank_test(x, is_disease[keep], np.asarray(donors)[keep])
        else:
            if covariates is not None:
                warn_once(
                    f"covariates {list(covariates.columns)} are not used: they need pseudo-bulk signatures "
                    "(at least 2 samples per condition; set data.sample_key)"
                )
            logfc, stat, pval = mannwhitney(lognorm_sparse(counts, library_size), is_disease)
    return de_table(logfc, stat, pval, frac_ref, frac_dis, method)


def de_table(
    logfc: Any, stat: Any, pval: Any, frac_ref: np.ndarray, frac_dis: np.ndarray, method: str
) -> pd.DataFrame:
    """One row per gene: ``logfc``, ``stat``, ``pval`` (NaN -> 1), ``fdr``, the detection fractions, the
    signature ``logfc * (1 - p)`` and the test's name."""
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
    return single_vs_reference_logcpm(
        patient, pseudobulk_logcpm(counts, library_size, samples, list(ref)), n_bins
    )


def single_vs_reference_logcpm(
    patient: np.ndarray, r: np.ndarray, n_bins: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`single_vs_reference` on log2-CPM: the patient's profile against the reference samples' rows."""
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
    return logfc, t, 2 * t_sf(np.abs(t), df)


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


def _sample_condition(samples: np.ndarray, is_disease: np.ndarray) -> dict[str, bool]:
    """Sample -> disease (a sample's cells are all of one condition)."""
    return {str(smp): bool(d) for smp, d in zip(samples, is_disease, strict=True)}


def _sample_donor(samples: np.ndarray, donors: np.ndarray | None) -> dict[str, str] | None:
    if donors is None:
        return None
    return {str(smp): str(d) for smp, d in zip(samples, donors, strict=True)}


def choose_design(
    sample_dis: dict[str, bool],
    sample_donor: dict[str, str] | None,
    has_covariates: bool,
    min_samples: int = 2,
    min_pairs: int = 3,
) -> str:
    """The test a cell type's design allows (module docstring): ``pseudobulk_paired`` (>= ``min_pairs`` donors
    in both conditions, no covariates), ``cell_stratified_rank`` (2 such donors), ``pseudobulk_single`` (one
    disease sample, >= ``min_samples`` reference samples, no covariates), ``pseudobulk_welch`` (>=
    ``min_samples`` samples per condition; ``pseudobulk_ols`` with covariates) or ``cell_mannwhitney``."""
    n_dis = sum(sample_dis.values())
    n_ref = len(sample_dis) - n_dis
    if sample_donor is not None and not has_covariates:
        dis_d = {sample_donor[s] for s, d in sample_dis.items() if d}
        ref_d = {sample_donor[s] for s, d in sample_dis.items() if not d}
        both = len(dis_d & ref_d)
        if both >= min_pairs:
            return "pseudobulk_paired"
        if both >= 2:
            return "cell_stratified_rank"
    if n_dis == 1 and n_ref >= min_samples and not has_covariates:
        return "pseudobulk_single"
    if n_dis >= min_samples and n_ref >= min_samples:
        return "pseudobulk_welch"
    return "cell_mannwhitney"


@dataclass
class SampleSums:
    """One cell type's counts summed per sample: the sufficient statistics of every pseudo-bulk test. A twin's
    bootstrap needs only these sums under its cell weights (:func:`p4core.twin.resample.weighted_sums`)."""

    sums: np.ndarray  # samples x genes
    libs: np.ndarray  # samples: total counts over all genes
    samples: list[str]
    is_disease: np.ndarray  # samples
    donors: list[str] | None = None
    covariates: pd.DataFrame | None = None  # one row per sample

    @classmethod
    def of(
        cls,
        counts: Any,
        library_size: np.ndarray,
        samples: np.ndarray,
        is_disease: np.ndarray,
        donors: np.ndarray | None = None,
        covariates: pd.DataFrame | None = None,
    ) -> SampleSums:
        labels = list(dict.fromkeys(str(x) for x in samples))
        samples = np.asarray(samples).astype(str)
        rows = [np.flatnonzero(samples == lab) for lab in labels]
        sums = np.stack([np.asarray(counts[r].sum(axis=0)).ravel() for r in rows]).astype(float)
        libs = np.array([float(library_size[r].sum()) for r in rows])
        dis = np.array([bool(is_disease[r[0]]) for r in rows])
        don = [str(donors[r[0]]) for r in rows] if donors is not None else None
        cov = (
            covariates.reset_index(drop=True).groupby(samples, sort=False).first().reindex(labels)
            if covariates is not None
            else None
        )
        return cls(sums, libs, labels, dis, don, cov)

    def logcpm(self) -> np.ndarray:
        return np.log2(self.sums / np.where(self.libs > 0, self.libs, 1.0)[:, None] * 1e6 + 1.0)


def pseudobulk_de(ss: SampleSums, method: str) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """The pseudo-bulk test ``method`` (:func:`choose_design`) on sample sums: (method, log2 fold change, t, p);
    ``pseudobulk_welch`` becomes ``pseudobulk_ols`` with covariates that leave a residual degree of freedom."""
    logcpm = ss.logcpm()
    dis = ss.is_disease
    if method == "pseudobulk_paired":
        assert ss.donors is not None
        donors = np.array(ss.donors)
        paired = sorted(set(donors[dis]) & set(donors[~dis]))
        diffs = []
        for d in paired:
            sides = []
            for cond in (True, False):
                at = (donors == d) & (dis == cond)
                lib = float(ss.libs[at].sum())
                sides.append(np.log2(ss.sums[at].sum(0) / (lib if lib > 0 else 1.0) * 1e6 + 1.0))
            diffs.append(sides[0] - sides[1])
        diff = np.stack(diffs)
        n = diff.shape[0]
        mean, sd = diff.mean(0), diff.std(0, ddof=1)
        t = np.where(sd > 0, mean / (sd / np.sqrt(n)), 0.0)
        return method, mean, t, 2 * t_sf(np.abs(t), n - 1)
    if method == "pseudobulk_single":
        return (method, *single_vs_reference_logcpm(logcpm[dis].mean(0), logcpm[~dis]))
    ref, dis_ = logcpm[~dis], logcpm[dis]
    if ss.covariates is not None:
        labels = [lab for lab, d in zip(ss.samples, dis, strict=True) if not d]
        labels += [lab for lab, d in zip(ss.samples, dis, strict=True) if d]
        order = [ss.samples.index(lab) for lab in labels]
        design = _design(
            ss.covariates.iloc[order].reset_index(drop=True),
            np.arange(len(labels)),
            list(range(len(labels))),
            int((~dis).sum()),
        )
        if design is not None:
            return ("pseudobulk_ols", *_ols_disease_effect(logcpm[order], design))
    from scipy import stats  # here only: importing scipy.stats costs ~0.4 s (p4core.numerics)

    res = stats.ttest_ind(dis_, ref, axis=0, equal_var=False)
    return "pseudobulk_welch", dis_.mean(0) - ref.mean(0), res.statistic, res.pvalue


def paired_donors(donors: np.ndarray, is_disease: np.ndarray) -> list:
    """Donors with cells in both conditions (sorted)."""
    d = np.asarray(donors)
    return sorted(set(d[is_disease]) & set(d[~is_disease]))


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
    return beta[1], t, 2 * t_sf(np.abs(t), df)
