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
