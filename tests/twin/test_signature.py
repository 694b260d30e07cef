"""Design-aware signatures: paired donors, the donor-stratified rank test, and sample names that pair up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats

from p4core.io import pair_samples
from p4core.twin.signature import differential_expression, stratified_rank_test


def _cells(rng, donors, n_cells, baseline, effect, genes=30):
    """Counts of cells per (donor, condition): donor baselines differ a lot, the disease adds ``effect``
    (log scale) to gene 0 in every donor."""
    rows, dis, don = [], [], []
    for d, base in zip(donors, baseline, strict=True):
        for is_dis, n in ((False, n_cells[d][0]), (True, n_cells[d][1])):
            mu = np.full(genes, 5.0)
            mu[0] = np.exp(base + (effect if is_dis else 0.0))
            rows.append(rng.poisson(mu, size=(n, genes)))
            dis += [is_dis] * n
            don += [d] * n
    x = np.vstack(rows).astype(float)
    return x, x.sum(1), np.array(dis), np.array(don)


def test_paired_pseudobulk_finds_what_the_unpaired_test_misses():
    """Five donors, each in both conditions: the donors' baselines differ far more than the disease
    effect, so the unpaired pseudo-bulk Welch test misses it; the paired test finds it."""
    rng = np.random.default_rng(0)
    donors = ["d1", "d2", "d3", "d4", "d5"]
    n = {d: (150, 150) for d in donors}
    x, lib, dis, don = _cells(rng, donors, n, baseline=[1.0, 1.5, 2.5, 3.0, 3.5], effect=0.6, genes=300)
    samples = np.array([f"{'stim' if a else 'ctrl'}_{d}" for a, d in zip(dis, don, strict=True)])
    unpaired = differential_expression(x, lib, dis, samples)
    paired = differential_expression(x, lib, dis, samples, donors=don)
    assert (
        unpaired["method"].iloc[0] == "pseudobulk_welch" and paired["method"].iloc[0] == "pseudobulk_paired"
    )
    assert unpaired.loc[0, "pval"] > 0.3
    assert paired.loc[0, "pval"] < 0.01 and paired.loc[0, "logfc"] > 0.3
    assert paired.loc[1:, "pval"].median() > 0.2  # the other genes do not change


def test_two_donors_use_the_donor_stratified_rank_test():
    """Two donors each in both conditions (as in Kang 2018): the unpaired 2-vs-2 pseudo-bulk test has
    no power against the donors' different baselines; the cell-level test with the donor as a block
    finds the effect. Pooling the cells without the donor (donor a gives most reference cells and has
    the higher baseline) even points the wrong way: Simpson's paradox."""
    rng = np.random.default_rng(1)
    n = {"a": (400, 40), "b": (40, 400)}
    x, lib, dis, don = _cells(rng, ["a", "b"], n, baseline=[3.0, 1.0], effect=0.5)
    samples = np.where(dis, "stim", "ctrl") + don
    unpaired = differential_expression(x, lib, dis, samples)
    strat = differential_expression(x, lib, dis, samples, donors=don)
    pooled = differential_expression(x, lib, dis, np.where(dis, "stim", "ctrl"))  # no samples at all
    assert unpaired["method"].iloc[0] == "pseudobulk_welch" and unpaired.loc[0, "pval"] > 0.05
    assert strat["method"].iloc[0] == "cell_stratified_rank"
    assert strat.loc[0, "logfc"] > 0.3 and strat.loc[0, "pval"] < 1e-6
    assert pooled["method"].iloc[0] == "cell_mannwhitney" and pooled.loc[0, "logfc"] < 0


def test_stratified_rank_test_matches_the_wilcoxon_test_in_one_stratum():
    rng = np.random.default_rng(2)
    x = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(0.8, 1, (25, 3))])
    x[:, 2] = np.round(x[:, 2])  # ties
    x = np.maximum(x + 1.0, 0.0)  # log-normalised values are >= 0; the zeros tie
    dis = np.r_[np.zeros(30, bool), np.ones(25, bool)]
    _, z, p = stratified_rank_test(sp.csr_array(x), dis, np.zeros(55))
    ref = stats.mannwhitneyu(x[dis], x[~dis], axis=0, method="asymptotic", use_continuity=False)
    assert np.allclose(p, ref.pvalue, rtol=1e-6)  # tie-corrected variance, no continuity correction
    assert (z > 0).all()


@pytest.mark.parametrize(
    ("samples", "labels", "ref", "want"),
    [
        (
            ["ctrl101", "ctrl107", "stim101", "stim107"],
            ["ctrl", "ctrl", "stim", "stim"],
            [1, 1, 0, 0],
            ["101", "107", "101", "107"],
        ),
        (
            ["P1_healthy", "P2_healthy", "P1_RA", "P2_RA"],
            ["healthy", "healthy", "RA", "RA"],
            [1, 1, 0, 0],
            ["P1", "P2", "P1", "P2"],
        ),
        (["A7", "A9", "B7", "B9"], ["pre", "pre", "post", "post"], [1, 1, 0, 0], ["7", "9", "7", "9"]),
    ],
)
def test_sample_names_that_pair_up(samples, labels, ref, want):
    got = pair_samples(pd.Series(samples), pd.Series(labels), pd.Series(np.array(ref, dtype=bool)))
    assert got is not None and [got[s] for s in samples] == want


@pytest.mark.parametrize(
    ("samples", "labels", "ref"),
    [
        (
            ["ctrl1", "ctrl2", "stim3", "stim4"],
            ["ctrl", "ctrl", "stim", "stim"],
            [1, 1, 0, 0],
        ),  # other donors
        (["ctrl1", "stim1"], ["ctrl", "stim"], [1, 0]),  # one donor is not a paired design
        (["s1", "s2", "s3"], ["ctrl", "ctrl", "stim"], [1, 1, 0]),  # unequal
    ],
)
def test_sample_names_that_do_not_pair_up(samples, labels, ref):
    assert pair_samples(pd.Series(samples), pd.Series(labels), pd.Series(np.array(ref, dtype=bool))) is None
