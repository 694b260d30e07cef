"""A twin's operator is the same, bit for bit, whether its structure is shared between twins or not."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from p4core.twin.operator import OperatorStructure, PriorEdges, build_operator


def random_edges(rng: np.random.Generator, n_g: int, n_e: int, repeats: int) -> PriorEdges:
    src, tgt = rng.integers(0, n_g, n_e), rng.integers(0, n_g, n_e)
    if repeats:  # the same edge listed again (as two resources may list it)
        src = np.concatenate([src, np.repeat(src[:5], repeats)])
        tgt = np.concatenate([tgt, np.repeat(tgt[:5], repeats)])
    n = len(src)
    share = np.full(n, np.nan)
    share[rng.choice(n, 4, replace=False)] = 0.3
    return PriorEdges(
        src=src,
        tgt=tgt,
        w=rng.choice([-1.0, 1.0], n) * rng.uniform(0.1, 1, n),
        lr=rng.uniform(size=n) < 0.2,
        share=share,
    )


@pytest.mark.parametrize("repeats", [0, 1, 2])
def test_shared_structure_gives_the_same_operator(repeats):
    rng = np.random.default_rng(repeats)
    n_ct, n_g = 3, 60
    edges = random_edges(rng, n_g, 400, repeats)
    active = rng.uniform(size=(n_ct, n_g)) < 0.8
    structure = OperatorStructure.of(edges, active)
    by_scipy = dataclasses.replace(structure, slot=None)  # the entries summed by scipy's COO -> CSR
    # an edge listed three times inside a cell type: the order of its sum matters, scipy assembles it
    assert (structure.slot is None) == (repeats >= 2)
    fitted = rng.normal(size=(n_ct, len(edges.w)))
    for weights in (None, fitted):
        for _ in range(3):
            noise = rng.lognormal(0.0, 0.2, len(edges.w))
            kw = {"lr_weight": 0.7, "noise": noise, "dtype": np.dtype(np.float32), "weights": weights}
            alone = build_operator(edges, active, **kw, structure=by_scipy)
            shared = build_operator(edges, active, **kw, structure=structure)
            np.testing.assert_array_equal(alone.indptr, shared.indptr)
            np.testing.assert_array_equal(alone.indices, shared.indices)
            np.testing.assert_array_equal(alone.data.view(np.uint32), shared.data.view(np.uint32))


def test_mean_operator_is_the_sparse_sum():
    import scipy.sparse as sp

    from p4core.runstate import mean_operator

    rng = np.random.default_rng(5)
    edges = random_edges(rng, 50, 300, 0)
    active = rng.uniform(size=(2, 50)) < 0.8
    structure = OperatorStructure.of(edges, active)
    kw = {"lr_weight": 1.0, "dtype": np.dtype(np.float32)}
    ops = [
        build_operator(edges, active, noise=rng.lognormal(0, 0.2, len(edges.w)), structure=structure, **kw)
        for _ in range(4)
    ]
    ops[2] = ops[2].copy()
    ops[2].data[:3] = -ops[1].data[:3] - ops[0].data[:3]  # partial sums of exactly zero on the way
    ops[2].data[3:5] = -(ops[0].data[3:5] + ops[1].data[3:5])
    ops[3] = ops[3].copy()
    ops[3].data[3:5] = 0.0  # and totals of exactly zero, dropped
    other = sp.csr_array(ops[3].toarray() * (rng.uniform(size=ops[3].shape) < 0.5))  # another structure
    for group in (ops, [*ops[:3], other]):
        total = group[0].copy()
        for op in group[1:]:
            total = total + op
        expected = (total / len(group)).astype(np.float32)
        got = mean_operator(group)
        np.testing.assert_array_equal(got.indptr, expected.indptr)
        np.testing.assert_array_equal(got.indices, expected.indices)
        np.testing.assert_array_equal(got.data.view(np.uint32), expected.data.view(np.uint32))
