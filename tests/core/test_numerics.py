"""p4core.numerics gives the same bits as the scipy.stats functions it stands in for."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from p4core import numerics

values = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=30),
    elements=st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6, allow_nan=False)),
)


@settings(max_examples=200, deadline=None)
@given(values, st.sampled_from(["average", "min"]))
def test_rankdata_is_scipys(a, method):
    for axis in (None, *range(a.ndim)):
        ours, theirs = numerics.rankdata(a, method, axis=axis), stats.rankdata(a, method=method, axis=axis)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1)), st.integers(0, 5))
def test_bh_is_scipys(p, ties):
    p[: min(ties, len(p))] = p[0]  # ties keep their adjusted value whatever the sort's order
    np.testing.assert_array_equal(numerics.bh_adjust(p), stats.false_discovery_control(p, method="bh"))


def test_tails_are_scipys():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(500) * 6, [0.0, np.inf, -np.inf, np.nan]])
    df = np.concatenate([rng.integers(1, 40, 500).astype(float), [3.0, 3.0, 3.0, 3.0]])
    np.testing.assert_array_equal(numerics.norm_sf(x), stats.norm.sf(x))
    np.testing.assert_array_equal(numerics.t_sf(x, df), stats.t.sf(x, df))
    np.testing.assert_array_equal(numerics.t_sf(x, 7), stats.t.sf(x, 7))
    assert np.isnan(numerics.t_sf(1.0, 0.0))  # no degrees of freedom: undefined, as scipy says


@pytest.mark.parametrize("case", ["random", "ties", "constant", "nan", "single"])
def test_spearman_is_scipys(case):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(40), rng.standard_normal(40)
    if case == "ties":
        a, b = np.round(a), np.round(a + b)
    elif case == "constant":
        b[:] = 2.0
    elif case == "nan":
        a[3] = np.nan
    elif case == "single":
        a, b = a[:1], b[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = stats.spearmanr(a, b).statistic
    ours = numerics.spearman(a, b)
    assert (np.isnan(ours) and np.isnan(theirs)) or ours == theirs


def test_rankdata_with_a_nan_is_scipys():
    a = np.array([[3.0, np.nan, 1.0], [2.0, 2.0, 5.0]])
    for method in ("average", "min"):
        np.testing.assert_array_equal(
            numerics.rankdata(a, method, axis=1), stats.rankdata(a, method=method, axis=1)
        )


def test_a_run_does_not_import_scipy_stats():
    import subprocess
    import sys

    code = "import sys, p4core.cli.run, p4core.pipeline; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
