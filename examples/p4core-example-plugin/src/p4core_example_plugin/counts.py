"""Data source ``counts_csv``: a counts table (genes in rows, cells in columns) and a cells table.

Many studies share their single-cell data as two plain tables (GEO supplementary files): the counts,
one row per gene and one column per cell barcode, and the cells, one row per barcode with its cell type
and condition. Reading them into an AnnData is the only format-specific part; the checks (raw counts,
gene names, conditions, donors) and the pseudonymisation are p4core's :func:`patient_from_anndata`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import pandas as pd
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.hooks import identifying
from p4core.io import patient_from_anndata
from p4core.model import Patient


@dataclass
class CountsCsvConfig:
    source: str = "counts_csv"
    #: counts table: first column the gene symbol, then one column per cell barcode (.csv, .tsv, .gz)
    counts: str = identifying("???")
    #: cells table: one row per barcode with its cell type and condition (.csv, .tsv)
    cells: str = identifying("???")
    #: column of the cells table with the barcode (the counts table's column names)
    barcode_column: str = "barcode"
    cell_type_key: str = "cell_type"
    condition_key: str = "condition"
    #: value of condition_key for the reference cells
    reference: str = "???"
    #: value of condition_key for the disease cells (null: every other value)
    disease: str | None = None
    #: column of the cells table with the sample (optional)
    sample_key: str | None = None
    #: the patient's identifier (pseudonymised before any output); null: the counts file's name
    patient_id: str | None = identifying(None, kind="patient_id")


def read_table(path: Path, option: str, **kwargs) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{option}: file not found: {path}")
    sep = "\t" if ".tsv" in path.suffixes or ".txt" in path.suffixes else ","
    try:
        return pd.read_csv(path, sep=sep, **kwargs)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{option}: {path} could not be read as a table: {exc}") from None


def load_counts_csv(cfg: CountsCsvConfig, pseudonym_key: str | None = None) -> Patient:
    counts_path, cells_path = Path(cfg.counts), Path(cfg.cells)
    counts = read_table(counts_path, "data.counts", index_col=0)
    cells = read_table(cells_path, "data.cells", dtype=str)
    if cfg.barcode_column not in cells.columns:
        raise InputError(
            f"data.cells: {cells_path.name} has no column {cfg.barcode_column!r} (data.barcode_column); "
            f"columns: {list(cells.columns)}"
        )
    cells = cells.set_index(cfg.barcode_column)
    barcodes = counts.columns.astype(str)
    missing = barcodes.difference(cells.index)
    if len(missing):
        raise InputError(
            f"data.cells: {len(missing)} barcode(s) of {counts_path.name} are not in {cells_path.name} "
            f"(e.g. {missing[0]!r}); every counts column needs a row in the cells table"
        )
    numeric = counts.apply(pd.to_numeric, errors="coerce")
    if numeric.isna().to_numpy().any():
        raise InputError(f"data.counts: {counts_path.name} has values that are not numbers")
    adata = ad.AnnData(
        X=sp.csr_matrix(numeric.to_numpy().T),
        obs=cells.loc[barcodes],
        var=pd.DataFrame(index=counts.index.astype(str)),
    )
    return patient_from_anndata(
        adata,
        cell_type_key=cfg.cell_type_key,
        condition_key=cfg.condition_key,
        reference=cfg.reference,
        disease=cfg.disease,
        sample_key=cfg.sample_key,
        patient_id=cfg.patient_id or counts_path.name.split(".")[0],
        pseudonym_key=pseudonym_key,
        where=counts_path.name,
        source="counts_csv",
        description="counts and cells tables (CSV)",
    )
