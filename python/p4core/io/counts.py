"""The count matrix of a patient, read a chunk of rows at a time: checked, gene symbols merged, float32 CSR.

A file of a million cells holds about 10^9 non-zeros; reading it whole and then selecting and converting
rows would hold it two or three times. :func:`read_rows` never does: it takes the matrix in memory or
*backed* (an ``.h5ad`` opened with ``backed="r"``: only the rows asked for are read from disk), counts the
kept rows' non-zeros first when the matrix can tell (CSR), allocates the result once and fills it chunk by
chunk, checking every chunk for raw counts (:func:`check_counts`) and merging the columns that share a gene
symbol (:func:`gene_symbols`' aggregation) as it goes. Peak memory: the result plus one chunk.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.errors import InputError

log = logging.getLogger("p4core")

#: rows read at a time
CHUNK_ROWS = 50_000

ENSEMBL_ID = r"^ENS[A-Z]*G\d{6,}(\.\d+)?$"
#: a mouse-style symbol (Cd3e, Gapdh): a capital, then lower case and digits; human symbols are upper case
MOUSE_LIKE = r"^[A-Z][a-z][a-z0-9]*$"
SYMBOL_COLUMNS = ("SYMBOL", "symbol", "Symbol", "gene_symbols", "gene_symbol", "feature_name", "gene_name")


def check_counts(x: Any, where: str) -> None:
    """Raise if ``x`` (dense or sparse, or a chunk of rows of it) is not raw counts: finite, non-negative,
    integer-valued."""
    values = np.asarray(x.data if sp.issparse(x) else x).ravel()
    if values.size == 0:
        return
    if not np.all(np.isfinite(values)):
        raise InputError(f"{where}: the matrix contains NaN or infinite values; p4core needs raw counts")
    if values.min() < 0:
        raise InputError(
            f"{where}: the matrix has negative values (min {values.min():.3g}), so it looks scaled or centred; "
            "p4core needs raw counts: point data.layer at a counts layer, or use data.use_raw=true"
        )
    sample = values[:: max(1, values.size // 200_000)]
    frac = np.abs(sample - np.round(sample))
    if frac.max() > 1e-3:
        raise InputError(
            f"{where}: the matrix has non-integer values (e.g. {sample[frac.argmax()]:.4g}), so it looks "
            "log-normalised; p4core needs raw counts: point data.layer at a counts layer, or use data.use_raw=true"
        )


def gene_symbols(
    var: pd.DataFrame, symbol_column: str | None, where: str
) -> tuple[np.ndarray, sp.csr_array | None, dict[str, Any]]:
    """Gene symbols (upper case) for the columns of a matrix with ``var``: (symbols, aggregation or None,
    report). ``var_names`` are used unless ``symbol_column`` names a ``var`` column; when ``var_names`` look
    like Ensembl IDs, a usual symbol column (SYMBOL, gene_symbols, feature_name, ...) is used by itself.
    With a symbol column, genes without a symbol are dropped and genes sharing a symbol are summed: the
    aggregation (var x symbols, 0/1) does both; duplicated ``var_names`` are an error."""
    ids = pd.Index(var.index.astype(str))
    ensembl_share = float(ids.str.match(ENSEMBL_ID).mean()) if len(ids) else 0.0
    if symbol_column is None and ensembl_share >= 0.5:
        found = [c for c in SYMBOL_COLUMNS if c in var.columns]
        if not found:
            raise InputError(
                f"{where}: var_names are Ensembl IDs (e.g. {ids[0]!r}) and no symbol column was found; set "
                f"data.gene_symbols to the var column with gene symbols (var columns: {list(var.columns)})"
            )
        symbol_column = found[0]
        log.info("var_names are Ensembl IDs: using var[%r] for gene symbols", symbol_column)
    info: dict[str, Any] = {"n_var": int(len(ids)), "ensembl_var_names": ensembl_share >= 0.5}
    raw = var[symbol_column].astype(str) if symbol_column in var.columns else pd.Series(ids)
    info["mouse_like_share"] = float(raw.str.match(MOUSE_LIKE).mean()) if len(raw) else 0.0
    if symbol_column is None:
        names = ids.str.strip().str.upper()
        dup = names[names.duplicated()]
        if len(dup):
            raise InputError(
                f"{where}: {dup.nunique()} duplicated gene name(s) in var (e.g. {dup[0]!r}); make them unique "
                "(adata.var_names_make_unique()) or choose a unique symbol column with data.gene_symbols"
            )
        info.update(symbols_from="var_names", dropped_without_symbol=0, merged_duplicates=0)
        return names.to_numpy(), None, info
    if symbol_column not in var.columns:
        raise InputError(
            f"{where}: var has no column {symbol_column!r} (data.gene_symbols); available: {list(var.columns)}"
        )
    sym = var[symbol_column].astype(str).str.strip().str.upper().to_numpy()
    keep = ~pd.Series(sym).isin(["", "NAN", "NONE", "NA"]).to_numpy()
    uniq, inverse = np.unique(sym[keep], return_inverse=True)
    agg = sp.csr_array(
        (np.ones(int(keep.sum()), dtype=np.float32), (np.flatnonzero(keep), inverse)),
        shape=(len(sym), len(uniq)),
    )
    info.update(
        symbols_from=f"var[{symbol_column!r}]",
        dropped_without_symbol=int((~keep).sum()),
        merged_duplicates=int(keep.sum() - len(uniq)),
    )
    return uniq, agg, info


def _chunk(x: Any, rows: np.ndarray) -> sp.csr_array:
    """Rows ``rows`` (ascending, within one window of the matrix) of ``x`` (in memory or backed) as CSR; a
    backed matrix reads the contiguous range they span and selects from it."""
    if len(rows) == 0:
        return sp.csr_array((0, x.shape[1]), dtype=np.float32)
    if isinstance(x, np.ndarray) or sp.issparse(x):
        part = x[rows]
    else:  # backed (anndata's sparse dataset or an h5py dataset): one contiguous read
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        part = x[lo:hi]
        part = part[rows - lo] if len(rows) != hi - lo else part
    return sp.csr_array(part)


def _row_nnz(x: Any, rows: np.ndarray) -> np.ndarray | None:
    """Non-zeros of every row in ``rows`` when ``x`` is CSR (in memory or backed: its indptr), else None."""
    if sp.issparse(x) and x.format == "csr":
        ptr = np.asarray(x.indptr)
    elif getattr(x, "format", None) == "csr" and hasattr(x, "group"):  # anndata's backed CSR dataset
        ptr = np.asarray(x.group["indptr"][()])
    else:
        return None
    return (ptr[rows + 1] - ptr[rows]).astype(np.int64)


def read_rows(
    x: Any, rows: np.ndarray, agg: sp.csr_array | None, where: str, chunk_rows: int = CHUNK_ROWS
) -> sp.csr_array:
    """The rows ``rows`` of the count matrix ``x`` (cells x var; in memory or backed) as float32 CSR (cells x
    symbols after ``agg``), read a window of ``chunk_rows`` rows at a time, each chunk checked for raw
    counts."""
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    n_cols = x.shape[1] if agg is None else agg.shape[1]
    bound = _row_nnz(x, rows) if agg is None else None  # merging symbols can only lower a row's count
    if bound is not None:
        total = int(bound.sum())
        idx_t = np.int32 if total < 2**31 - 1 else np.int64
        data = np.empty(total, dtype=np.float32)
        indices = np.empty(total, dtype=idx_t)
    parts, indptr, filled = [], [np.zeros(1, dtype=np.int64)], 0
    # windows of chunk_rows rows of the matrix (a backed read is one contiguous range of at most that)
    cuts = np.searchsorted(rows, np.arange(0, int(x.shape[0]) + chunk_rows, chunk_rows))
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        if hi == lo:
            continue
        part = _chunk(x, rows[lo:hi])
        check_counts(part, where)
        if agg is not None:
            part = sp.csr_array(part @ agg)
        part = sp.csr_array(part, dtype=np.float32)
        part.sum_duplicates()
        indptr.append(filled + np.asarray(part.indptr[1:], dtype=np.int64))
        if bound is not None:
            data[filled : filled + part.nnz] = part.data
            indices[filled : filled + part.nnz] = part.indices
        else:
            parts.append(part)
        filled += part.nnz
    if filled == 0:
        raise InputError(f"{where}: the count matrix is empty (no non-zero count in the cells used)")
    if bound is None:
        return sp.csr_array(sp.vstack(parts, format="csr"), dtype=np.float32)
    ptr = np.concatenate(indptr).astype(indices.dtype)
    return sp.csr_array((data[:filled], indices[:filled], ptr), shape=(len(rows), n_cols))
