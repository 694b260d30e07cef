"""The count matrix read a window of rows at a time: in memory or backed, the same float32 CSR."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.io import read_rows
from p4core.io.counts import gene_symbols


def _matrix(seed: int = 0, n: int = 503, g: int = 40) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.poisson(0.4, (n, g)).astype(np.float32))


@pytest.mark.parametrize("chunk", [7, 64, 10_000])
def test_rows_in_memory_and_backed_are_the_same(tmp_path, chunk):
    x = _matrix()
    rows = np.sort(np.random.default_rng(1).choice(x.shape[0], 300, replace=False))
    want = x[rows].toarray()
    mem = read_rows(x, rows, None, "m", chunk_rows=chunk)
    path = tmp_path / "a.h5ad"
    ad.AnnData(X=x, var=pd.DataFrame(index=[f"G{i}" for i in range(x.shape[1])])).write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    try:
        disk = read_rows(backed.X, rows, None, "d", chunk_rows=chunk)
    finally:
        backed.file.close()
    for got in (mem, disk):
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.array_equal(got.toarray(), want)


def test_symbols_merge_while_reading_and_bad_chunks_are_named():
    x = _matrix(2)
    var = pd.DataFrame({"SYMBOL": ["A", "B"] * 20}, index=[f"ENSG{i:011d}" for i in range(40)])
    names, agg, info = gene_symbols(var, None, "f")
    assert list(names) == ["A", "B"] and info["merged_duplicates"] == 38
    got = read_rows(x, np.arange(x.shape[0]), agg, "f", chunk_rows=50)
    assert np.allclose(got.toarray(), np.stack([x.toarray()[:, ::2].sum(1), x.toarray()[:, 1::2].sum(1)], 1))
    bad = x.copy().astype(np.float64)
    bad.data[-1] = 0.5  # in the last window only
    with pytest.raises(InputError, match="non-integer"):
        read_rows(bad, np.arange(bad.shape[0]), None, "f.h5ad (X)", chunk_rows=50)
    with pytest.raises(InputError, match="empty"):
        read_rows(sp.csr_matrix((5, 3)), np.arange(5), None, "f")
